// Session readiness: the next session's data and every audio track, stored on the phone, so
// session mode runs from start to journal with no signal. "Ready offline" is shown only when all
// of it is stored and the service worker holds the app itself.

import {
  core,
  keepPrompts,
  keepTrack,
  promptBlob,
  storeCrisisContacts,
  storedSession,
  storeSessionData,
  trackBlob,
} from './device.js';

export const READY_LABEL = 'Ready offline';
const SW_WAIT_MS = 15000;

async function getJson(url) {
  const response = await fetch(url, {
    credentials: 'same-origin',
    headers: { Accept: 'application/json' },
    cache: 'no-store',
  });
  if (!response.ok)
    throw Object.assign(new Error(`The server answered ${response.status}.`), { status: response.status });
  return response.json();
}

/** The tracks the phone must hold: none once the music is over (integration needs only text). */
const neededTracks = (data) => (['integration', 'complete'].includes(data.status) ? [] : (data.playlist ?? []));

/** The prompt track the phone must hold (null: none, or the music is over). */
const neededPrompts = (data) =>
  ['integration', 'complete'].includes(data.status) ? null : (data.prompt_audio ?? null);

async function downloadPrompts(info) {
  const response = await fetch(info.url, { credentials: 'same-origin' });
  if (!response.ok) throw new Error(`The spoken prompts could not be downloaded (${response.status}).`);
  return response.blob();
}

/** Drops everything stored for sessions other than `keepId` (only the next one stays). */
async function keepOnly(userId, keepId) {
  for (const row of await core.store.all(userId, 'sessions')) {
    if (row.id !== Number(keepId)) await core.forgetSession(userId, row.id);
  }
}

/** Forgets every stored session except `keepId` (null: all of them). */
export const forgetOtherSessions = (userId, keepId) => keepOnly(userId, keepId ?? -1);

async function renderTrack(track) {
  const { renderSoundscape } = await import('./session/soundscape.js');
  return renderSoundscape(track.soundscape, { durationSeconds: track.duration_seconds });
}

async function downloadTrack(track) {
  const response = await fetch(track.url, { credentials: 'same-origin' });
  if (!response.ok) throw new Error(`Track "${track.title}" could not be downloaded (${response.status}).`);
  return response.blob();
}

/** The active service worker, once its precache (the app shell) is complete. */
async function shellReady() {
  if (!navigator.serviceWorker) throw new Error('This browser cannot keep the app for offline use.');
  const timeout = new Promise((_, reject) =>
    setTimeout(() => reject(new Error('The app is still being stored for offline use.')), SW_WAIT_MS),
  );
  return Promise.race([navigator.serviceWorker.ready, timeout]);
}

/**
 * Makes session `sessionId` ready offline. `onProgress({stored, total})` reports tracks.
 * Resolves with the stored record; rejects with a message a patient can act on.
 */
export async function prepareSession(userId, sessionId, { onProgress = () => {} } = {}) {
  const data = await getJson(`/api/v1/sessions/${sessionId}`);
  await keepOnly(userId, sessionId);
  await storeSessionData(userId, data);
  navigator.storage?.persist?.().catch(() => {});

  const playlist = neededTracks(data);
  let stored = 0;
  onProgress({ stored, total: playlist.length });
  for (const track of playlist) {
    if (!(await trackBlob(userId, data.id, track.id))) {
      const blob = track.kind === 'soundscape' ? await renderTrack(track) : await downloadTrack(track);
      await keepTrack(userId, data.id, track.id, blob);
    }
    stored += 1;
    onProgress({ stored, total: playlist.length });
  }
  // The prompts are part of "ready": without them a session offline would have no spoken prompts.
  const prompts = neededPrompts(data);
  if (prompts && !(await promptBlob(userId, data.id, prompts))) {
    onProgress({ stored, total: playlist.length, prompts: true });
    await keepPrompts(userId, data.id, prompts, await downloadPrompts(prompts));
  }
  await storeCrisisContacts(userId).catch(() => {}); // best effort: the offline page has defaults
  await shellReady();
  const record = await storedSession(userId, data.id);
  const ready = { ...record, ready: true };
  await core.store.put(userId, 'sessions', ready);
  return ready;
}

/** Whether every part of the session is stored: {ready, stored, total}. */
export async function readiness(userId, sessionId) {
  const record = await storedSession(userId, sessionId).catch(() => null);
  if (!record) return { ready: false, stored: 0, total: 0 };
  const playlist = neededTracks(record.data);
  let stored = 0;
  for (const track of playlist) if (await trackBlob(userId, sessionId, track.id).catch(() => null)) stored += 1;
  const prompts = neededPrompts(record.data);
  const promptsStored = !prompts || Boolean(await promptBlob(userId, sessionId, prompts).catch(() => null));
  return { ready: record.ready && stored === playlist.length && promptsStored, stored, total: playlist.length };
}

/**
 * Drives a readiness line: `element` gets the text and a data-state of
 * pending / ready / failed; a Try again button appears on failure.
 */
export function showReadiness(element, userId, sessionId) {
  const text = element.querySelector('[data-offline-text]') ?? element;
  const again = element.querySelector('[data-offline-retry]');
  const set = (state, message) => {
    element.dataset.state = state;
    text.textContent = message;
    if (again) again.hidden = state !== 'failed';
  };
  const run = async () => {
    // Short enough for one line on a 320 px phone (the CSS cuts a longer one short): the
    // line's height must not change while the patient may be tapping below it.
    set('pending', 'Saving for offline use…');
    try {
      await prepareSession(userId, sessionId, {
        onProgress: ({ stored, total, prompts }) =>
          prompts
            ? set('pending', 'Storing the spoken prompts…')
            : total && set('pending', `Storing music ${stored} of ${total}…`),
      });
      set('ready', READY_LABEL);
    } catch (error) {
      const offline = !navigator.onLine || error instanceof TypeError;
      set(
        'failed',
        offline
          ? 'Not ready offline yet: it needs a connection to store the music.'
          : `Not ready offline: ${error.message}`,
      );
    }
  };
  again?.addEventListener('click', run);
  element.hidden = false;
  return run();
}
