// "On this phone": writing that has not reached the server yet, on the journal page (online and
// offline). Each item says where it is; one the server refused stays until the patient decides,
// with its text shown, so nothing is ever lost without them choosing it.

import { localLabel } from '../lib/dates.js';
import { clinicZone, core, currentUser } from '../lib/device.js';
import * as outbox from '../lib/outbox.js';

const section = document.querySelector('[data-outbox-list]');
const items = section?.querySelector('[data-outbox-items]');
const user = currentUser();
const syncedHere = new Map(); // sent while this page was open: shown as Synced until it reloads

const JOURNAL = new Set(['journal.create', 'journal.update']);
const INTENTION = 'intention';

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = text;
  return node;
}

const zone = await clinicZone(user); // as the entries the server listed above show their times

const when = (iso) => localLabel(iso, 'short', zone); // as the entries the server listed

function action(text, onClick, extra = '') {
  const button = el('button', `button ${extra}`.trim(), text);
  button.type = 'button';
  button.addEventListener('click', onClick);
  return button;
}

/** Writing that could not be sent as it was, saved again as a new private journal entry. */
async function saveAsNewEntry(record) {
  const text = record.kind === INTENTION ? `My intention: ${record.body.text}` : record.body.body;
  await outbox.enqueue({
    kind: 'journal.create',
    method: 'POST',
    url: '/api/v1/journal',
    label: 'Journal entry',
    body: { client_id: core.uuid(), body: text, mood: record.body.mood ?? null, shared: false, session_id: null },
  });
  await outbox.discard(record.seq);
}

function item(record) {
  const li = el('li', 'outbox-item');
  li.dataset.state = record.state;
  const meta = el('p', 'outbox-item__meta');
  meta.append(el('strong', null, outbox.describe(record)), ` · ${when(record.createdAt)} `);
  const labels = { attention: 'Not sent — needs you', synced: outbox.SYNCED_LABEL };
  const label = el('span', 'sync-label', labels[record.state] ?? outbox.SAVED_LABEL);
  label.dataset.syncLabel = '';
  label.dataset.state = record.state;
  meta.append(label);
  li.append(meta);
  const text = JOURNAL.has(record.kind) ? record.body.body : record.kind === INTENTION ? record.body.text : null;
  if (text) li.append(el('div', 'entry__body', text));
  if (record.state !== 'attention') return li;

  li.append(el('p', 'field__error', `The server refused it: ${record.error?.message ?? 'no reason given.'}`));
  const tools = el('p', 'toolbar');
  tools.append(action('Try again', () => outbox.retry(record.seq)));
  if (text) tools.append(action('Save as a new entry', () => saveAsNewEntry(record)));
  const what = text ? 'this text' : 'this change';
  tools.append(
    action(
      text ? 'Delete from this phone' : 'Dismiss',
      () =>
        confirm(`Delete ${what} from this phone for good? It never reached your clinic.`) && outbox.discard(record.seq),
      'button--danger',
    ),
  );
  li.append(tools);
  return li;
}

async function render() {
  const records = await outbox.list().catch(() => []);
  // Writing and anything refused; routine ticks that wait are counted in the status line instead.
  const shown = [
    ...records.filter((r) => JOURNAL.has(r.kind) || r.kind === INTENTION || r.state === 'attention'),
    ...syncedHere.values(),
  ];
  items.replaceChildren(...shown.map(item));
  section.hidden = shown.length === 0;
}

if (section && user) {
  outbox.on('synced', ({ record }) => {
    if (JOURNAL.has(record.kind) || record.kind === INTENTION)
      syncedHere.set(record.id, { ...record, state: 'synced' });
  });
  outbox.on('change', render);
  render();
}
