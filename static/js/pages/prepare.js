// Preparation: ticks and the intention go through the outbox (saved on the phone first), the
// session is kept on the phone for offline use, and Start session works without signal once it
// is. The same script runs on the server's page and on the offline page (pwa/prepare.html).

import { apiRequest } from '../lib/api.js';
import { currentUser, isShell, storedSessions } from '../lib/device.js';
import { bindDraft } from '../lib/drafts.js';
import { readiness, showReadiness } from '../lib/offline.js';
import * as outbox from '../lib/outbox.js';
import { unlockSessionAudio } from '../lib/session/unlock.js';
import { startGate } from '../lib/start-card.js';

const form = document.querySelector('[data-checklist]');
const user = currentUser();
const sessionId = Number(form?.dataset.sessionId);

/** Into the outbox (or, where the phone cannot store anything, straight to the API). */
async function send(spec) {
  if (user) {
    try {
      const record = await outbox.enqueue(spec);
      return { record, ...(await outbox.outcome(record, 5000)) };
    } catch (error) {
      console.warn('Not stored on this phone; sending directly.', error);
    }
  }
  try {
    return { state: 'synced', result: await apiRequest(spec.method, spec.url, spec.body) };
  } catch (error) {
    return { state: 'attention', error };
  }
}

const pendingFor = async (kind) =>
  (await outbox.list()).filter((r) => r.kind === kind && Number(r.session) === sessionId && r.state === 'pending');

const gate = form ? startGate({ form, sessionId, user }) : null;

// ---- Checklist.
function checklist() {
  const status = form.querySelector('[data-checklist-status]');
  const progress = document.querySelector('[data-progress]');
  const missingBox = document.querySelector('[data-missing]');
  const boxes = [...form.querySelectorAll('input[data-item-id]')];
  form.querySelector('[data-checklist-save]')?.setAttribute('hidden', ''); // saving is immediate now
  // Boxes ticked (or unticked) before this script ran, on a slow phone: no change listener
  // heard them, so they are saved below as if ticked now.
  const early = boxes.filter((box) => box.checked !== box.defaultChecked);
  let latest = null;

  const refresh = () => {
    const done = boxes.filter((box) => box.checked).length;
    if (progress) progress.textContent = `${done} of ${boxes.length} done`;
    const missing = boxes.filter((box) => box.dataset.required === 'y' && !box.checked);
    gate.update(missing.length);
    if (missingBox) {
      missingBox.hidden = missing.length === 0;
      missingBox.querySelectorAll('[data-missing-item]').forEach((li) => {
        li.hidden = !missing.some((box) => box.dataset.itemId === li.dataset.missingItem);
      });
    }
  };

  const save = async (box) => {
    refresh();
    const itemId = Number(box.dataset.itemId);
    const mine = {};
    latest = mine;
    status.textContent = 'Saving…';
    const answer = await send({
      kind: 'checklist',
      session: sessionId,
      item: itemId,
      method: 'PUT',
      url: `/api/v1/sessions/${sessionId}/checklist/${itemId}`,
      body: { checked: box.checked },
      label: 'Checklist tick',
    });
    if (latest !== mine) return; // a later tick speaks now
    if (answer.state === 'synced') status.textContent = 'Saved.';
    else if (answer.state === 'pending') status.textContent = outbox.SAVED_LABEL;
    else {
      box.checked = !box.checked;
      refresh();
      status.textContent = `Not saved: ${answer.error?.message ?? 'the server refused it.'}`;
    }
    if (answer.state === 'pending') {
      const stop = outbox.on('synced', ({ record }) => {
        if (record.id !== answer.record.id) return;
        stop();
        if (latest === mine) status.textContent = 'Saved.';
      });
    }
  };

  form.addEventListener('change', (event) => {
    const box = event.target.closest('input[data-item-id]');
    if (box) save(box);
  });

  // Ticks still on their way (made offline) show as ticked, unless the patient has just
  // changed that box; then the early changes are saved (after them in the outbox).
  pendingFor('checklist').then((records) => {
    for (const record of records) {
      const box = boxes.find((b) => Number(b.dataset.itemId) === record.item);
      if (box && !early.includes(box)) box.checked = Boolean(record.body.checked);
    }
    if (records.length) status.textContent = outbox.SAVED_LABEL;
    refresh();
    for (const box of early) save(box);
  });
  refresh();
}

// ---- Intention.
function intention() {
  const intentionForm = document.querySelector('[data-intention-form]');
  if (!intentionForm) return;
  const field = intentionForm.elements.namedItem('text');
  const status = intentionForm.querySelector('[data-intention-status]');
  const label = (text, synced) => {
    status.replaceChildren(text);
    if (synced) {
      const tag = document.createElement('span');
      tag.className = 'sync-label sync-label--synced';
      tag.textContent = outbox.SYNCED_LABEL;
      status.append(' ', tag);
    }
  };
  const draft = user
    ? bindDraft(intentionForm, `intention:${sessionId}`, {
        fields: ['text'],
        onRestore: () => label('Your unsaved draft is back.'),
        onStatus: (text) => label(text),
      })
    : null;
  pendingFor('intention').then((records) => {
    const last = records.at(-1);
    if (last && !draft) field.value = last.body.text;
    if (last) label(outbox.SAVED_LABEL);
  });

  intentionForm.addEventListener('submit', async (event) => {
    if (!user) return; // the plain form post
    event.preventDefault();
    label('Saving…');
    const pending = send({
      kind: 'intention',
      session: sessionId,
      method: 'PUT',
      url: `/api/v1/sessions/${sessionId}/intention`,
      body: { text: field.value },
      label: 'Intention',
    });
    await draft?.clear();
    const answer = await pending;
    if (answer.state === 'synced') label('Intention saved. Your care team can read it.', true);
    else if (answer.state === 'pending') label(outbox.SAVED_LABEL);
    else label(`Not saved: ${answer.error?.message ?? 'see your journal page.'} Your text is kept on this phone.`);
    if (answer.state === 'pending') {
      const stop = outbox.on('synced', ({ record }) => {
        if (record.id !== answer.record.id) return;
        stop();
        label('Intention saved. Your care team can read it.', true);
      });
    }
  });
}

// ---- Start session: recorded in the outbox, so it starts with no signal once the phone is ready.
function startButton() {
  const startForm = document.querySelector('[data-start-form]');
  const start = document.querySelector('[data-start]');
  if (!startForm || !user) return;
  const modeUrl = `/patient/sessions/${sessionId}/mode`;
  startForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const blocked = gate.reason();
    if (blocked) return say(blocked);
    // Inside the tap, before the first await: the elements session mode will play are unlocked
    // now, so the music starts with this one tap (iOS and WebKit allow no play() later otherwise).
    unlockSessionAudio();
    const { ready } = await readiness(user, sessionId);
    if (!ready) {
      if (isShell()) return say('This session is not saved on this phone, so it cannot start without a connection.');
      await outbox.flushNow(); // ticks made a moment ago first: the server checks them
      return startOnServer(); // the server starts it
    }
    start.dataset.starting = 'y';
    start.disabled = true;
    const record = await outbox.enqueue({
      kind: 'phase',
      session: sessionId,
      method: 'POST',
      url: `/api/v1/sessions/${sessionId}/phase`,
      body: { phase: 'session', at: new Date().toISOString() },
      label: 'Session start',
    });
    const { state } = await outbox.outcome(record, 4000);
    if (state === 'attention') {
      // Refused (not today, no check-in yet, a required item, cancelled): the person sees why.
      const refused = (await outbox.list()).find((r) => r.id === record.id);
      await outbox.discard(record.seq).catch(() => {});
      start.dataset.starting = '';
      gate.update();
      return say(`The session could not start: ${refused?.error?.message ?? 'the server refused it.'}`);
    }
    // Synced: the server's page. Not yet: this phone's copy, straight from the cache.
    if (state === 'synced') enterSessionMode(modeUrl);
    else enterSessionMode(`${modeUrl}?device=1`, { from: startForm.dataset.shellUrl });
  });

  /** The form's own post, read here: on success the server's session mode opens in this page. */
  async function startOnServer() {
    start.dataset.starting = 'y';
    start.disabled = true;
    let response;
    try {
      response = await fetch(startForm.action, {
        method: 'POST',
        body: new FormData(startForm),
        credentials: 'same-origin',
      });
    } catch {
      return HTMLFormElement.prototype.submit.call(startForm);
    }
    const html = response.ok ? await response.text().catch(() => '') : '';
    if (html.includes('id="session-data"')) return enterSessionMode(modeUrl, { html }); // started
    // Refused: the server's answer says why (a flashed message on the preparation page).
    if (response.redirected) return location.assign(response.url);
    return HTMLFormElement.prototype.submit.call(startForm);
  }

  function say(text) {
    let note = startForm.querySelector('[data-start-note]');
    if (!note) {
      note = document.createElement('p');
      note.className = 'field__error';
      note.dataset.startNote = '';
      note.setAttribute('role', 'alert');
      startForm.append(note);
    }
    note.textContent = text;
  }
}

// ---- Session mode in this same document. A new document would have to be tapped again before
// it may play; this one was tapped (Start session), and its audio elements are unlocked
// (lib/session/unlock.js hands them to session-mode.js). A reload of the mode URL is an
// ordinary page load again (with its "Tap to begin the music" fallback).

/** Adds the page's stylesheets not yet here, resolving once they apply (or after a moment). */
function adoptStylesheets(doc) {
  const have = new Set([...document.querySelectorAll('link[rel="stylesheet"]')].map((l) => l.href));
  const loads = [];
  for (const link of doc.querySelectorAll('link[rel="stylesheet"]')) {
    const href = new URL(link.getAttribute('href'), location.href).href;
    if (have.has(href)) continue;
    const added = document.createElement('link');
    added.rel = 'stylesheet';
    added.href = href;
    loads.push(
      new Promise((resolve) => {
        added.addEventListener('load', resolve, { once: true });
        added.addEventListener('error', resolve, { once: true }); // unstyled beats no session
      }),
    );
    document.head.append(added);
  }
  return Promise.race([Promise.all(loads), new Promise((resolve) => setTimeout(resolve, 2000))]);
}

/**
 * Swaps this page for session mode at `url` (its HTML fetched from `from`, default the URL
 * itself, unless given) and runs session-mode.js here; any failure loads the page the plain way.
 */
async function enterSessionMode(url, { html, from = url } = {}) {
  try {
    if (html === undefined) {
      const response = await fetch(from, { credentials: 'same-origin', headers: { Accept: 'text/html' } });
      if (!response.ok) throw new Error(`session mode answered ${response.status}`);
      html = await response.text();
    }
    const doc = new DOMParser().parseFromString(html, 'text/html');
    const header = doc.querySelector('.site-header');
    const main = doc.getElementById('main');
    if (!header || !main || !doc.getElementById('sm')) throw new Error('not the session mode page');
    // Scripts are run by import below; <noscript> parsed without scripting would show its text.
    for (const el of doc.querySelectorAll('noscript, script:not([type="application/json"])')) el.remove();
    await adoptStylesheets(doc);
    document.title = doc.title;
    for (const { name } of [...document.body.attributes]) document.body.removeAttribute(name);
    for (const { name, value } of doc.body.attributes) document.body.setAttribute(name, value);
    document.querySelector('.site-header')?.replaceWith(document.adoptNode(header));
    document.getElementById('main').replaceWith(document.adoptNode(main));
    history.pushState({ kapSessionMode: true }, '', url);
    // Back leaves session mode for the preparation page: load it for real.
    addEventListener('popstate', () => location.reload(), { once: true });
    await import('./session-mode.js');
    document.getElementById('main')?.focus({ preventScroll: true });
  } catch (error) {
    console.warn('Opening session mode as a new page.', error);
    location.assign(url);
  }
}

// ---- Ready offline (only the next session is kept: a later one opened to look at is not).
const startOfToday = () => new Date(new Date().toDateString()).getTime();

/** A stored session that comes before this one and is not over: it stays, this one does not. */
async function earlierSessionKept() {
  const here = Date.parse(document.querySelector('[data-scheduled-at]')?.dataset.scheduledAt ?? '');
  for (const { id, data } of await storedSessions(user).catch(() => [])) {
    if (id === sessionId) continue;
    const when = Date.parse(data.scheduled_at);
    const running = ['session', 'downtime', 'integration'].includes(data.status);
    const upcoming = data.status === 'scheduled' && when >= startOfToday();
    if ((running || upcoming) && !(when > here)) return true;
  }
  return false;
}

async function offlineReadiness() {
  const line = document.querySelector('[data-offline-ready]');
  if (!line || !user) return;
  if (isShell()) {
    const { ready } = await readiness(user, sessionId);
    line.hidden = !ready;
    return;
  }
  if (await earlierSessionKept()) {
    line.hidden = true; // the next session keeps its place on the phone
    return;
  }
  showReadiness(line, user, sessionId);
}

if (form) {
  checklist();
  intention();
  startButton();
  offlineReadiness();
}
