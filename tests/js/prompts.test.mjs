// The prompt track's element on the session clock: drift, pause, seek, failure; ducking; the
// Start session tap's hand-off of unlocked elements.

import assert from 'node:assert/strict';
import { afterEach, beforeEach, mock, test } from 'node:test';
import {
  DUCK_GAIN,
  DUCK_SECONDS,
  duckGain,
  PROMPT_RESYNC_SECONDS,
  PromptTrack,
} from '../../static/js/lib/session/prompts.js';
import { takeSessionAudio, unlockSessionAudio } from '../../static/js/lib/session/unlock.js';
import { FakeAudio } from './fake-audio.mjs';

/** The prompt track's element: a five-minute file unless a test says otherwise. */
const promptAudio = (options = {}) => new FakeAudio({ durationOf: () => 300, ...options });

// Seeks are counted through a setter on the instance's currentTime.
function countSeeks(el) {
  let time = el.currentTime;
  Object.defineProperty(el, 'currentTime', {
    get: () => time,
    set: (t) => {
      time = t;
      el.seeks++;
    },
  });
  return el;
}

const clockAt = (t = 0) => ({
  t,
  isPaused: false,
  elapsed() {
    return this.t;
  },
});
const INFO = {
  url: '/patient/sessions/7/prompts.m4a',
  key: '0123456789abcdef',
  duration_seconds: 120,
  type: 'audio/mp4',
};
const flush = () => new Promise((resolve) => setImmediate(resolve));

let tracks = [];
beforeEach(() => {
  mock.method(URL, 'createObjectURL', () => 'blob:prompts');
  mock.method(URL, 'revokeObjectURL', () => {});
});
afterEach(() => {
  for (const t of tracks) t.destroy();
  tracks = [];
  mock.restoreAll();
});

async function started({ t = 0, el = countSeeks(promptAudio()), loadBlob } = {}) {
  const clock = clockAt(t);
  const track = new PromptTrack({ element: el, clock, info: INFO, loadBlob });
  tracks.push(track);
  track.start();
  await flush();
  await flush();
  return { track, clock, el };
}

test('plays from the clock position, from the network URL when nothing is stored', async () => {
  const { el } = await started({ t: 42 });
  assert.equal(el.src, INFO.url);
  assert.equal(el.currentTime, 42);
  assert.equal(el.paused, false);
  assert.equal(el.muted, false);
});

test('a stored copy is played first, through a blob URL', async () => {
  const blob = { size: 10 };
  const { el } = await started({ loadBlob: async () => blob });
  assert.equal(el.src, 'blob:prompts');
  assert.equal(URL.createObjectURL.mock.calls[0].arguments[0], blob);
});

test('a failing store falls back to the network', async () => {
  const { el } = await started({
    loadBlob: async () => {
      throw new Error('IndexedDB transaction failed');
    },
  });
  assert.equal(el.src, INFO.url);
});

test('small drift is left alone, drift beyond half a second is re-seeked', async () => {
  const { track, clock, el } = await started({ t: 10 });
  const seeks = el.seeks;
  clock.t = 20;
  el.currentTime = 20 - PROMPT_RESYNC_SECONDS + 0.1; // the element played on, a little behind
  el.seeks = seeks;
  track.sync();
  assert.equal(el.seeks, seeks, 'no seek within the allowance');
  clock.t = 30;
  track.sync();
  assert.equal(el.currentTime, 30);
  assert.equal(el.seeks, seeks + 1);
});

test('pauses and resumes with the clock, at the clock position', async () => {
  const { track, clock, el } = await started({ t: 5 });
  clock.isPaused = true;
  track.sync();
  assert.equal(el.paused, true);
  clock.t = 5; // a paused clock does not move
  clock.isPaused = false;
  clock.t = 5.2;
  el.currentTime = 5;
  track.sync();
  await flush();
  assert.equal(el.paused, false);
  assert.equal(el.currentTime, 5, 'within the allowance: no seek on resume');
});

test('follows timeupdate when timers are throttled', async () => {
  const { clock, el } = await started({ t: 1 });
  clock.t = 61; // a minute of throttled timers: no tick ran, only the media event comes
  const later = Date.now() + 60_000;
  mock.method(Date, 'now', () => later);
  el.dispatchEvent(new Event('timeupdate'));
  assert.equal(el.currentTime, 61);
});

test('stops after the end of the track', async () => {
  const { track, clock, el } = await started({ t: 10 });
  clock.t = 400;
  track.sync();
  assert.equal(el.paused, true);
});

test('an error event marks the track failed, once, so cues fall back to chime and speech', async () => {
  const { track, el } = await started({ t: 10 });
  const errors = [];
  track.addEventListener('error', () => errors.push(1));
  assert.equal(track.active, true);
  el.dispatchEvent(new Event('error'));
  el.dispatchEvent(new Event('error'));
  assert.equal(track.active, false);
  assert.equal(track.failed, true);
  assert.equal(errors.length, 1);
  assert.equal(el.paused, true);
});

test('a refused play() asks for a tap instead of failing; start() tries again', async () => {
  const el = promptAudio({ refuse: 'NotAllowedError' });
  const blocked = [];
  const clock = clockAt(3);
  const track = new PromptTrack({ element: el, clock, info: INFO });
  tracks.push(track);
  track.addEventListener('blocked', () => blocked.push(1));
  track.start();
  await flush();
  await flush();
  assert.equal(blocked.length, 1);
  assert.equal(track.active, true);
  const plays = el.plays;
  track.sync();
  await flush();
  assert.equal(el.plays, plays, 'no retry loop without a tap');
  el.refuse = null;
  track.start();
  await flush();
  assert.equal(el.paused, false);
});

test('destroy frees the element and revokes its own blob URL', async () => {
  const { track, el } = await started({ loadBlob: async () => ({ size: 1 }) });
  track.destroy();
  assert.equal(el.getAttribute('src'), null);
  assert.equal(URL.revokeObjectURL.mock.calls[0].arguments[0], 'blob:prompts');
});

test('the music is lowered under each prompt and comes back between them', () => {
  const cues = [{ at_seconds: 5 }, { at_seconds: 70 }];
  assert.equal(duckGain(0, cues), 1);
  assert.equal(duckGain(5, cues), DUCK_GAIN);
  assert.equal(duckGain(5 + DUCK_SECONDS, cues), DUCK_GAIN);
  assert.ok(duckGain(4.8, cues) > DUCK_GAIN && duckGain(4.8, cues) < 1, 'ramped in');
  assert.equal(duckGain(30, cues), 1);
  assert.equal(duckGain(72, cues), DUCK_GAIN);
  assert.equal(duckGain(72, []), 1);
});

test('the Start session tap unlocks four elements and hands them over once', () => {
  const made = [];
  const create = () => {
    const el = promptAudio();
    made.push(el);
    return el;
  };
  mock.method(URL, 'createObjectURL', () => 'blob:silent');
  const set = unlockSessionAudio({ create, speech: false });
  assert.equal(made.length, 4);
  for (const el of made) {
    assert.equal(el.plays, 1, 'played inside the tap');
    assert.equal(el.dataset.kapUnlocked, '1');
  }
  assert.deepEqual(takeSessionAudio(), set);
  assert.equal(takeSessionAudio(), null, 'a reload of session mode gets none');
  assert.equal(set.music.length, 2);
});
