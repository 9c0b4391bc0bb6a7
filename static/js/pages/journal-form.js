// Writing and editing a journal entry: a draft on the phone while typing, then the outbox.
//
// The entry's client_id (made by the server's page, or here offline) travels with the draft
// and the outbox record, so however often it is sent, the server keeps one entry. Once the
// server has it, the journal opens at the entry; until then the page says where it is.

import { localLabel } from '../lib/dates.js';
import { clinicZone, core, currentUser, drafts, isShell, storedSessions } from '../lib/device.js';
import { bindDraft } from '../lib/drafts.js';
import * as outbox from '../lib/outbox.js';

const MAX_LENGTH = 20000;
const form = document.querySelector('[data-journal-form]');
const user = currentUser();

const savedMessage = (shared) => (shared ? 'Saved and shared with your care team.' : 'Saved. Only you can read it.');

function showError(name, message) {
  const input = form.elements.namedItem(name);
  const field = input.closest('.field') ?? input.parentElement;
  field.classList.add('field--invalid');
  let error = field.querySelector(`[data-error-for="${name}"]`);
  if (!error) {
    error = document.createElement('p');
    error.className = 'field__error';
    error.id = `${name}-error`;
    error.dataset.errorFor = name;
    input.after(error);
    input.setAttribute('aria-describedby', `${input.getAttribute('aria-describedby') ?? ''} ${error.id}`.trim());
  }
  error.textContent = message;
  input.setAttribute('aria-invalid', 'true');
}

function clearErrors() {
  for (const error of form.querySelectorAll('[data-error-for]')) {
    const input = form.elements.namedItem(error.dataset.errorFor);
    input?.setAttribute('aria-invalid', 'false');
    error.closest('.field')?.classList.remove('field--invalid');
    error.remove();
  }
}

/** The form's fields as the API takes them, or null after showing what needs fixing. */
function read() {
  clearErrors();
  const f = form.elements;
  const body = f.body.value.replace(/\r\n/g, '\n');
  // The slider always has a value; it counts only once "Note my mood" is ticked.
  const mood = f.mood_given && !f.mood_given.checked ? '' : f.mood.value.trim();
  let ok = true;
  if (!body.trim()) {
    showError('body', 'Write something before saving.');
    ok = false;
  } else if (body.length > MAX_LENGTH) {
    showError(
      'body',
      `Entries can be up to 20,000 characters; this one has ${body.length.toLocaleString('en')}. Split it into two entries.`,
    );
    ok = false;
  }
  if (mood && !(/^\d{1,2}$/.test(mood) && Number(mood) <= 10)) {
    showError('mood', 'Choose a number from 0 to 10.');
    ok = false;
  }
  if (!ok) {
    form.querySelector('[aria-invalid="true"]')?.focus();
    return null;
  }
  const session = f.session_id?.value;
  return {
    body,
    mood: mood === '' ? null : Number(mood),
    shared: Boolean(f.shared?.checked),
    session_id: session ? Number(session) : null,
  };
}

/** A session an entry can be about has begun (the server's list offers past sessions only). */
const begun = (data) =>
  data.status !== 'cancelled' && (data.status !== 'scheduled' || new Date(data.scheduled_at) <= new Date());

/** Offline, the only session to choose is the one stored on the phone. */
async function fillSessionChoices() {
  const select = form.elements.namedItem('session_id');
  const wanted = new URLSearchParams(location.search).get('session_id') ?? '';
  const zone = await clinicZone(user);
  for (const { data } of await storedSessions(user).catch(() => [])) {
    if (!begun(data)) continue;
    const option = document.createElement('option');
    option.value = String(data.id);
    option.dataset.prompts = JSON.stringify(data.integration_prompts ?? []);
    option.textContent = `${localLabel(data.scheduled_at, 'date', zone)} · ${data.template_name}`;
    select.append(option);
  }
  select.value = wanted;
  if (select.value !== wanted) select.value = '';
}

/** The mood slider's number and the "Note my mood" tick follow each other. */
function bindMood() {
  const f = form.elements;
  if (!f.mood_given) return () => {};
  const output = form.querySelector('[data-mood-value]');
  const off = form.querySelector('[data-mood-off]');
  const show = () => {
    output.textContent = f.mood.value;
    off.hidden = f.mood_given.checked;
  };
  f.mood.addEventListener('input', () => {
    f.mood_given.checked = true;
    show();
  });
  f.mood_given.addEventListener('change', show);
  return show;
}

/** The clinic's integration questions of the session the entry is about, above the text. */
function bindPrompts() {
  const select = form.elements.namedItem('session_id');
  const card = form.querySelector('[data-entry-prompts]');
  const list = form.querySelector('[data-entry-prompt-list]');
  const body = form.elements.namedItem('body');
  if (!select || !card) return () => {};
  const show = () => {
    let prompts = [];
    try {
      prompts = JSON.parse(select.selectedOptions[0]?.dataset.prompts ?? '[]');
    } catch {
      prompts = [];
    }
    list.replaceChildren(
      ...prompts.map((text) => {
        const item = document.createElement('li');
        item.dir = 'auto';
        item.textContent = text;
        return item;
      }),
    );
    card.hidden = prompts.length === 0;
    const described = (body.getAttribute('aria-describedby') ?? '').split(' ').filter((id) => id && id !== list.id);
    if (prompts.length) described.push(list.id);
    body.setAttribute('aria-describedby', described.join(' '));
  };
  select.addEventListener('change', show);
  return show;
}

/**
 * Unsaved writing from an earlier new entry (one that never reached the outbox) is offered,
 * not poured into this one: a new entry starts empty, and the older text stays in its own
 * draft until the patient restores or discards it.
 */
async function offerOlderDraft(key, waiting, refresh) {
  const older = (await drafts.all(user).catch(() => []))
    .filter((d) => d.key !== key && String(d.key).startsWith('journal-new'))
    .sort((a, b) => String(b.savedAt).localeCompare(String(a.savedAt)));
  const offer = document.querySelector('[data-draft-offer]');
  for (const stale of older.filter((d) => waiting.has(d.fields?.body) || !d.fields?.body?.trim())) {
    await drafts.delete(user, stale.key).catch(() => {}); // its text is in the outbox already
  }
  const kept = older.find((d) => !waiting.has(d.fields?.body) && d.fields?.body?.trim());
  if (!kept || !offer) return;
  const text = kept.fields.body.trim();
  offer.querySelector('[data-draft-offer-text]').textContent = text.length > 80 ? `${text.slice(0, 80)}…` : text;
  offer.hidden = false;
  offer.querySelector('[data-draft-restore]').addEventListener('click', async () => {
    const f = form.elements;
    for (const [name, value] of Object.entries(kept.fields)) {
      const el = f.namedItem(name);
      if (!el || name === 'client_id') continue; // this entry keeps its own client_id
      if (el.type === 'checkbox') el.checked = Boolean(value);
      else el.value = value;
    }
    form.dispatchEvent(new Event('change')); // saved as this entry's draft
    await drafts.delete(user, kept.key).catch(() => {});
    offer.hidden = true;
    refresh();
    say('Your unsaved draft is back.');
    f.body.focus();
  });
  offer.querySelector('[data-draft-discard]').addEventListener('click', async () => {
    await drafts.delete(user, kept.key).catch(() => {});
    offer.hidden = true;
    say('The old draft is deleted.');
  });
}

function savedPanel(record, values) {
  const panel = document.querySelector('[data-journal-saved]');
  const label = panel.querySelector('[data-sync-label]');
  const detail = panel.querySelector('[data-saved-detail]');
  const show = (state, text) => {
    label.dataset.state = state;
    label.textContent = text;
  };
  form.hidden = true;
  panel.hidden = false;
  show('pending', outbox.SAVED_LABEL);
  panel.focus();
  const stop = outbox.on('synced', ({ record: sent }) => {
    if (sent.id !== record.id) return;
    stop();
    show('synced', outbox.SYNCED_LABEL);
    detail.textContent = savedMessage(values.shared);
  });
  return { show, detail };
}

/** Restores a draft and keeps saving one; resolves with the draft handle. */
async function prepareForm() {
  const f = form.elements;
  const entryId = Number(form.dataset.entryId) || null;
  if (isShell()) await fillSessionChoices();
  if (!entryId && !f.client_id.value) f.client_id.value = core.uuid();
  // A restored draft is new writing with a client_id of its own: were it to share one with an
  // entry already sent (a crash between "sent to the outbox" and "draft deleted"), the server
  // would answer with that entry and the draft's text would be lost. A draft whose text already
  // waits in the outbox is simply done.
  const waiting = new Set((await outbox.list().catch(() => [])).map((r) => r.body?.body));
  const showMood = bindMood();
  const showPrompts = bindPrompts();
  const refresh = () => {
    showMood();
    showPrompts();
  };
  const key = entryId ? `journal-edit:${entryId}` : `journal-new:${f.client_id.value}`;
  const draft = bindDraft(form, key, {
    fields: ['body', 'mood', 'mood_given', 'shared', 'session_id'],
    extra: () => (entryId ? { base_revision: f.base_revision.value } : {}),
    accept: (saved) => !waiting.has(saved.fields?.body),
    onRestore: (saved) => {
      if (saved.base_revision) f.base_revision.value = saved.base_revision; // edited from there
      refresh();
      say('Your unsaved draft is back.');
    },
    onStatus: say,
  });
  await draft.ready;
  refresh();
  if (!entryId) await offerOlderDraft(key, waiting, refresh);
  return draft;
}

function say(text) {
  const status = form.querySelector('[data-draft-status]');
  if (status) status.textContent = text;
}

async function save(ready) {
  const draft = await ready; // a tap during start-up waits for the draft to be in place
  const f = form.elements;
  const entryId = Number(form.dataset.entryId) || null;
  const values = read();
  if (!values) return;
  const spec = entryId
    ? {
        kind: 'journal.update',
        entry: entryId,
        method: 'PATCH',
        url: `/api/v1/journal/${entryId}`,
        body: { ...values, base_revision: Number(f.base_revision.value) || null },
        label: 'Edited journal entry',
      }
    : {
        kind: 'journal.create',
        method: 'POST',
        url: '/api/v1/journal',
        body: { client_id: f.client_id.value, ...values },
        label: 'Journal entry',
      };
  let record;
  try {
    await draft.saveNow();
    record = await outbox.enqueue(spec);
  } catch (error) {
    console.warn('The outbox could not store the entry', error);
    if (!isShell()) return HTMLFormElement.prototype.submit.call(form); // the server's form post
    return say('This phone could not store your entry. Please keep this page open and try again when online.');
  }
  // Asked before anything is shown: whether the page moves on is decided now, not by a sync
  // that lands while the person is already elsewhere.
  const sent = outbox.outcome(record, 6000);
  await draft.clear();
  const panel = savedPanel(record, values);
  const { state, result } = await sent;
  if (state === 'synced') {
    // Say it on the journal page, where the entry now is (the server's list).
    try {
      sessionStorage.setItem(
        'kap:flash',
        JSON.stringify({ message: savedMessage(values.shared), label: outbox.SYNCED_LABEL }),
      );
    } catch {
      /* the journal still shows the entry */
    }
    location.assign(`/patient/journal${result?.id ? `#entry-${result.id}` : ''}`);
  } else if (state === 'attention') {
    panel.show('attention', 'Not sent — kept on this phone');
    panel.detail.textContent =
      'The server refused this entry. Open your journal to see why and what you can do; your text is safe.';
  }
}

if (form && user) {
  const ready = prepareForm();
  let saving = false;
  // Listening from the first moment: a submit must never fall through to a plain form post
  // (offline there is no server, and the text would end up in a URL).
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (saving) return;
    saving = true;
    save(ready).finally(() => (saving = false));
  });
  ready.then(() => form.querySelector('[type="submit"]')?.removeAttribute('disabled'));
}
