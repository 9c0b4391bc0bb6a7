// What this phone keeps for the signed-in patient, and how all of it is removed.
//
// Signed-in pages name the patient in <meta name="kap-patient">; offline pages (served by the
// service worker, with no user in them) use the patient this phone was last signed in as.
// Sign-out removes every database, cache and storage key of the app (SECURITY.md).

import './device-store.js';
import './outbox-core.js';

/** The device store and the outbox (static/js/lib/device-store.js, static/js/lib/outbox-core.js). */
export const core = Object.freeze({ ...globalThis.KapStore, ...globalThis.KapOutbox });
const POINTER = 'kap:device-user';
let stopped = false; // set while signing out: nothing may write again on this page

const quietly = (call) => {
  try {
    return call();
  } catch {
    return null;
  }
};

/** The patient whose device store this page may use, or null. */
export function currentUser() {
  if (stopped) return null;
  const meta = document.querySelector('meta[name="kap-patient"]')?.content;
  if (meta) return meta;
  if (document.body?.dataset.shell) return quietly(() => localStorage.getItem(POINTER)) || null;
  return null;
}

/** True on an offline page (served from the service worker's cache). */
export const isShell = () => Boolean(document.body?.dataset.shell);

/**
 * Called on every signed-in patient page: this phone now belongs to `userId`. Another
 * patient's stored session data goes; their unsent writing (outbox, drafts) stays, unseen, until
 * they sign in here again — it is never sent under someone else's sign-in.
 */
export async function adopt(userId) {
  const previous = quietly(() => localStorage.getItem(POINTER));
  if (previous === userId) return;
  quietly(() => localStorage.setItem(POINTER, userId));
  for (const name of await core.databaseNames(previous).catch(() => [])) {
    const other = name.slice(core.DB_PREFIX.length);
    if (other === String(userId)) continue;
    const [outbox, drafts] = await Promise.all([
      core.store.all(other, 'outbox').catch(() => []),
      core.store.all(other, 'drafts').catch(() => []),
    ]);
    if (!outbox.length && !drafts.length) {
      await core.closeAll();
      await core.deleteDatabase(name);
    } else {
      for (const storeName of ['sessions', 'tracks', 'device']) {
        await core.store.clear(other, storeName).catch(() => {});
      }
    }
  }
}

/**
 * A page with no patient signed in (the sign-in page after an idle sign-out, say): nothing of a
 * patient may show on this phone any more. Unsent writing stays, unseen, for that patient's next
 * sign-in (it is theirs and must not be lost); their session data, audio and pointer go.
 */
export async function forgetSignedOut() {
  const previous = quietly(() => localStorage.getItem(POINTER));
  const keys = quietly(() => Object.keys(localStorage)) ?? [];
  for (const key of keys) if (key.startsWith('kap:')) quietly(() => localStorage.removeItem(key));
  const names = await core.databaseNames(previous).catch(() => []);
  for (const name of names) {
    const user = name.slice(core.DB_PREFIX.length);
    const [outbox, drafts] = await Promise.all([
      core.store.all(user, 'outbox').catch(() => []),
      core.store.all(user, 'drafts').catch(() => []),
    ]);
    if (!outbox.length && !drafts.length) {
      await core.closeAll();
      await core.deleteDatabase(name);
    } else {
      for (const storeName of ['sessions', 'tracks', 'device']) await core.store.clear(user, storeName).catch(() => {});
    }
  }
}

/** Removes everything the app keeps in this browser: databases, caches, local and session storage. */
export async function wipe() {
  stopped = true;
  const user = document.querySelector('meta[name="kap-patient"]')?.content;
  await core.closeAll();
  const names = await core.databaseNames(user).catch(() => (user ? [core.dbName(user)] : []));
  await Promise.all(names.map((name) => core.deleteDatabase(name)));
  if (globalThis.caches) {
    const keys = await caches.keys().catch(() => []);
    await Promise.all(keys.map((key) => caches.delete(key)));
  }
  quietly(() => localStorage.clear());
  quietly(() => sessionStorage.clear());
  core.notify(user ?? '0', { type: 'signed-out' });
}

// ---- Drafts.
export const drafts = {
  get: (userId, key) => core.store.get(userId, 'drafts', key),
  put: (userId, key, draft) => core.store.put(userId, 'drafts', { ...draft, key, savedAt: new Date().toISOString() }),
  delete: (userId, key) => core.store.delete(userId, 'drafts', key),
  all: (userId) => core.store.all(userId, 'drafts'),
};

// ---- The next session.

/** The stored session record {id, data, ready, storedAt}, or null. */
export async function storedSession(userId, sessionId) {
  return (await core.store.get(userId, 'sessions', Number(sessionId))) ?? null;
}

/** Stores fresh session data from the server, keeping what is already stored of its audio. */
export async function storeSessionData(userId, data) {
  const previous = await storedSession(userId, data.id);
  const { session: _duplicate, ...detail } = data; // the API repeats the fields under "session"
  await core.store.put(userId, 'sessions', {
    id: Number(data.id),
    data: detail,
    ready: previous?.ready ?? false,
    storedAt: new Date().toISOString(),
  });
}

/** Every stored session (there is at most the next one). */
export const storedSessions = (userId) => core.store.all(userId, 'sessions');

/** The session as this phone will have it once its outbox is sent. */
export async function sessionWithPending(userId, data) {
  const pending = (await core.records(userId)).filter((r) => r.state === 'pending');
  return pending.reduce((acc, record) => core.applyToSession(acc, record), data);
}

export const trackKey = (sessionId, trackId) => `${sessionId}:${trackId}`;

/** A stored track's audio, or null. */
export async function trackBlob(userId, sessionId, trackId) {
  const row = await core.store.get(userId, 'tracks', trackKey(sessionId, trackId));
  return row?.blob ?? null;
}

/** Keeps a track's audio, but only for the session this phone is keeping. */
export async function keepTrack(userId, sessionId, trackId, blob) {
  if (!(await storedSession(userId, sessionId))) return;
  await core.store.put(userId, 'tracks', { key: trackKey(sessionId, trackId), session: Number(sessionId), blob });
}

// ---- The prompt track (interfaces: session JSON `prompt_audio`), kept like a track under
// `${sessionId}:prompts`; its `key` changes with the cues, so a stale copy is never played.

export const promptsKey = (sessionId) => `${sessionId}:prompts`;

/** The stored prompt track if it is the one `info` describes (same key), else null. */
export async function promptBlob(userId, sessionId, info) {
  if (!info) return null;
  const row = await core.store.get(userId, 'tracks', promptsKey(sessionId));
  return row?.promptKey === info.key ? (row.blob ?? null) : null;
}

/** Keeps (or replaces) the prompt track, only for the session this phone is keeping. */
export async function keepPrompts(userId, sessionId, info, blob) {
  if (!(await storedSession(userId, sessionId))) return;
  await core.store.put(userId, 'tracks', {
    key: promptsKey(sessionId),
    session: Number(sessionId),
    promptKey: info.key,
    blob,
  });
}

// ---- The clinic's time zone: offline pages show times as the server's pages do.

const ZONE_META = 'meta[name="kap-clinic-zone"]';

/** Keeps the clinic's zone from an online page (its meta tag) for the offline pages. */
export async function keepClinicZone(userId) {
  const zone = document.querySelector(ZONE_META)?.content;
  if (zone) await core.store.put(userId, 'device', { key: 'zone', zone });
}

/** The clinic's time zone: this page's, or as last seen online; undefined = the phone's. */
export async function clinicZone(userId) {
  const here = document.querySelector(ZONE_META)?.content;
  if (here) return here;
  return (await core.store.get(userId, 'device', 'zone').catch(() => null))?.zone;
}

/** ``Intl`` options in ``zone`` when the browser knows it (else the phone's own zone). */
export function inZone(options, zone) {
  if (!zone) return options;
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return { ...options, timeZone: zone };
  } catch {
    return options;
  }
}

// ---- Crisis contacts (every patient page keeps them fresh, for the offline Crisis support page).

/** The clinic's crisis contacts as last seen online, or []. */
export async function crisisContacts(userId) {
  return (await core.store.get(userId, 'device', 'crisis').catch(() => null))?.contacts ?? [];
}

/** The clinic's own line {name, phone, tel} as last seen online, or null. */
export async function clinicLine(userId) {
  return (await core.store.get(userId, 'device', 'crisis').catch(() => null))?.clinic ?? null;
}

const CRISIS_FRESH_MS = 24 * 60 * 60 * 1000;

/** The crisis contacts from the Crisis support page (the clinic's, not the patient's), kept offline. */
export async function storeCrisisContacts(userId) {
  const here = document.getElementById('crisis-data'); // on that page already: no request
  let block = here;
  if (!block) {
    const response = await fetch('/patient/crisis-support', {
      credentials: 'same-origin',
      cache: 'no-store',
      headers: { 'X-KAP-Passive': '1' }, // background: not the person's activity
    });
    if (!response.ok) return;
    block = new DOMParser().parseFromString(await response.text(), 'text/html').getElementById('crisis-data');
  }
  if (!block) return;
  const data = JSON.parse(block.textContent); // {clinic, contacts}; a bare list before the clinic's line
  const contacts = Array.isArray(data) ? data : (data.contacts ?? []);
  const clinic = Array.isArray(data) ? null : (data.clinic ?? null);
  await core.store.put(userId, 'device', { key: 'crisis', contacts, clinic, storedAt: Date.now() });
}

/** Keeps the crisis contacts on the phone (refreshed daily), so Crisis support works offline. */
export async function keepCrisisContacts(userId) {
  const kept = await core.store.get(userId, 'device', 'crisis').catch(() => null);
  const fresh = kept && 'clinic' in kept && Date.now() - (kept.storedAt ?? 0) < CRISIS_FRESH_MS;
  if (fresh && !document.getElementById('crisis-data')) return;
  await storeCrisisContacts(userId);
}
