// Preparation: ticks and the intention go through the outbox (saved on the phone first), the
// session is kept on the phone for offline use, and Start session works without signal once it
// is. The same script runs on the server's page and on the offline page (pwa/prepare.html).

import { apiRequest } from '../lib/api.js';
import { currentUser, isShell, storedSessions } from '../lib/device.js';
import { bindDraft } from '../lib/drafts.js';
import { readiness, showReadiness } from '../lib/offline.js';
import * as outbox from '../lib/outbox.js';
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

  form.addEventListener('change', async (event) => {
    const box = event.target.closest('input[data-item-id]');
    if (!box) return;
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
  });

  // Ticks still on their way (made offline) show as ticked.
  pendingFor('checklist').then((records) => {
    for (const record of records) {
      const box = boxes.find((b) => Number(b.dataset.itemId) === record.item);
      if (box) box.checked = Boolean(record.body.checked);
    }
    if (records.length) status.textContent = outbox.SAVED_LABEL;
    refresh();
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
    const { ready } = await readiness(user, sessionId);
    if (!ready) {
      if (isShell()) return say('This session is not saved on this phone, so it cannot start without a connection.');
      await outbox.flushNow(); // ticks made a moment ago first: the server checks them
      return HTMLFormElement.prototype.submit.call(startForm); // the server starts it
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
    location.assign(state === 'synced' ? modeUrl : `${modeUrl}?device=1`);
  });

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
  if (await earlierSessionKept()) return; // the next session keeps its place on the phone
  showReadiness(line, user, sessionId);
}

if (form) {
  checklist();
  intention();
  startButton();
  offlineReadiness();
}
