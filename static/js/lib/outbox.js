// The page side of the outbox: every patient write goes through here.
//
// enqueue() puts the write on disk first and only then tries the network, so a crash, a reload
// or a dead battery never loses it. The outbox is flushed on load, when the network returns,
// when the page becomes visible, periodically while anything waits, and on demand; Background
// Sync (Chromium only) is a bonus, never relied on.

import { core, currentUser } from './device.js';

export const SAVED_LABEL = 'Saved on this phone — will sync';
export const SYNCED_LABEL = 'Synced';
const PERIOD_MS = 30000;
const FIRST_BACKOFF_MS = 2000;
const MAX_BACKOFF_MS = 60000;

const events = new EventTarget();
let state = 'idle'; // of the last flush: idle, offline, retry, signed-out, other-user
let running = null;
let again = false;
let backoff = FIRST_BACKOFF_MS;
let retryTimer = null;
let started = false;

/** The state of the last flush. */
export const lastState = () => state;

/** Listen for 'change' (records changed), 'synced' ({record, result}) and 'state'. */
export function on(type, listener) {
  const wrapped = (event) => listener(event.detail);
  events.addEventListener(type, wrapped);
  return () => events.removeEventListener(type, wrapped);
}

const emit = (type, detail) => events.dispatchEvent(new CustomEvent(type, { detail }));

core.subscribe((message) => {
  if (message.userId !== String(currentUser())) return;
  if (message.type === 'synced') emit('synced', message);
  emit('change', message);
});

/** The current patient's records, in send order. */
export async function list() {
  const user = currentUser();
  return user ? core.records(user) : [];
}

/**
 * Adds a write ({kind, method, url, body, label, session?, item?, entry?, priority?}) and starts
 * sending it. Resolves with the stored record once it is safely on the phone.
 */
export async function enqueue(spec) {
  const user = currentUser();
  if (!user) throw new Error('No signed-in patient on this page.');
  const record = await core.enqueue(user, spec);
  persist();
  flushNow();
  return record;
}

/** Sends what waits now (ignoring any back-off). Resolves with the flush result. */
export function flushNow() {
  const user = currentUser();
  if (!user) return Promise.resolve({ state: 'idle', sent: 0 });
  if (running) {
    again = true;
    return running;
  }
  clearTimeout(retryTimer);
  running = (async () => {
    let result;
    do {
      again = false;
      result = await core.flush(user).catch((error) => {
        // Storage gave up after its retries (Safari's IndexedDB): nothing is lost, try later.
        console.warn(`Outbox flush failed: ${error?.message ?? error}`, error);
        return { state: 'retry', sent: 0, error };
      });
    } while (again && result.state === 'idle');
    return result;
  })().finally(() => (running = null));
  return running.then((result) => {
    settle(result);
    return result;
  });
}

function settle(result) {
  if (result.state !== state) {
    state = result.state;
    emit('state', { state });
  }
  if (result.state === 'offline' || result.state === 'retry') {
    const wait = Math.max(backoff, (result.retryAfter || 0) * 1000);
    backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    clearTimeout(retryTimer);
    retryTimer = setTimeout(flushNow, wait);
    // No network at all: let the browser send it when the network returns, even if the app is
    // closed by then (Chromium). With a network but no server, this page's back-off does it.
    if (navigator.onLine === false) registerBackgroundSync();
  } else {
    backoff = FIRST_BACKOFF_MS;
  }
}

/** Flush triggers for this page: load, network back, visible again, and a slow heartbeat. */
export function startSync() {
  if (started || !currentUser()) return;
  started = true;
  const now = () => {
    backoff = FIRST_BACKOFF_MS;
    flushNow();
  };
  addEventListener('online', now);
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') now();
    else counts().then(({ pending }) => pending && registerBackgroundSync()); // the app may be closed next
  });
  setInterval(() => {
    if (state !== 'signed-out' && state !== 'other-user') flushNow();
  }, PERIOD_MS);
  flushNow();
}

/** Puts a record that needed attention back in line and sends it. */
export async function retry(seq) {
  const user = currentUser();
  const record = (await core.records(user)).find((r) => r.seq === seq);
  if (!record) return;
  await core.update(user, { ...record, state: 'pending', error: null });
  flushNow();
}

/** Removes a record the patient chose to give up. */
export async function discard(seq) {
  await core.discard(currentUser(), seq);
}

/**
 * Resolves {state: 'synced', result} once the record is on the server, or earlier with state
 * 'pending' or 'attention' when a flush attempt ends without it (or after `timeoutMs`; at once
 * when the phone knows it is offline: the page must not act on a sync that lands later).
 */
export function outcome(record, timeoutMs = 6000) {
  const wait = navigator.onLine === false ? 0 : timeoutMs;
  return new Promise((resolve) => {
    let done = false;
    const finish = (state, result = null) => {
      if (done) return;
      done = true;
      stopSynced();
      clearTimeout(timer);
      resolve({ state, result });
    };
    const stopSynced = on('synced', ({ record: r, result }) => r.id === record.id && finish('synced', result));
    const timer = setTimeout(() => finish('pending'), wait);
    flushNow().then(async () => {
      await Promise.resolve(); // let a 'synced' notice of this flush arrive first (it has the result)
      const current = (await list()).find((r) => r.id === record.id);
      if (current) finish(current.state === 'attention' ? 'attention' : 'pending');
      else finish('synced');
    });
  });
}

let persistAsked = false;
/** Asks the browser not to evict the outbox under storage pressure (Safari evicts after days). */
export function persist() {
  if (persistAsked) return;
  persistAsked = true;
  navigator.storage?.persist?.().catch(() => {});
}

function registerBackgroundSync() {
  navigator.serviceWorker?.ready.then((registration) => registration.sync?.register('kap-outbox')).catch(() => {});
}

/** How a record reads in a list: "Journal entry", "Checklist tick" ... */
export const describe = (record) => record.label || 'Change';

/** Counts by state for the current patient: {pending, attention}. */
export async function counts() {
  const all = await list();
  return {
    pending: all.filter((r) => r.state !== 'attention').length,
    attention: all.filter((r) => r.state === 'attention').length,
  };
}
