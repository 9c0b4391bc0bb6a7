// CueRunner and its helpers: each cue once, in order, no replay burst after a reload; calm speech.

import assert from 'node:assert/strict';
import { afterEach, mock, test } from 'node:test';
import {
  announceCue,
  CueRunner,
  pickVoice,
  playChime,
  prepareChime,
  primeSpeech,
  releaseChime,
  STALE_CUE_SECONDS,
  speak,
} from '../../static/js/lib/session/cues.js';

const CUES = [
  { at_seconds: 0, text: 'Welcome.' },
  { at_seconds: 5, text: 'Settle in. Let your breath slow.', chime: true },
  { at_seconds: 90, text: 'Notice your body.' },
  { at_seconds: 300, text: 'Rest.' },
];
const clockAt = (t) => ({
  t,
  elapsed() {
    return this.t;
  },
});
const memory = () => {
  const map = new Map();
  return {
    getItem: (k) => map.get(k) ?? null,
    setItem: (k, v) => map.set(k, String(v)),
    removeItem: (k) => map.delete(k),
    map,
  };
};
const texts = (cues) => cues.map((c) => c.text);

test('the first tick of a fresh session fires a cue at 0 s', () => {
  const fired = [];
  const runner = new CueRunner({ cues: CUES, clock: clockAt(0), onCue: (c) => fired.push(c) });
  assert.deepEqual(texts(runner.tick()), ['Welcome.']);
  assert.deepEqual(texts(fired), ['Welcome.']);
});

test('each cue fires once, in order, as time passes', () => {
  const clock = clockAt(0);
  const fired = [];
  const runner = new CueRunner({ cues: CUES, clock, onCue: (c) => fired.push(c.text) });
  runner.tick();
  clock.t = 4.9;
  assert.deepEqual(runner.tick(), []);
  clock.t = 5;
  assert.deepEqual(texts(runner.tick()), ['Settle in. Let your breath slow.']);
  assert.deepEqual(runner.tick(), [], 'not twice');
  clock.t = 400; // a long throttled gap fires everything it skipped, in order
  assert.deepEqual(texts(runner.tick()), ['Notice your body.', 'Rest.']);
  assert.deepEqual(fired, texts(CUES));
});

test(`cues more than ${STALE_CUE_SECONDS} s old at start-up are skipped`, () => {
  const runner = new CueRunner({ cues: CUES, clock: clockAt(120), onCue: () => {} });
  assert.deepEqual(texts(runner.tick()), ['Notice your body.'], 'the 90 s cue is recent, 0 and 5 are stale');
});

test('a reload with storage never fires a cue twice', () => {
  const storage = memory();
  const clock = clockAt(6);
  const first = new CueRunner({ cues: CUES, clock, onCue: () => {}, sessionId: 12, storage });
  assert.deepEqual(texts(first.tick()), ['Welcome.', 'Settle in. Let your breath slow.']);
  assert.ok(storage.map.has('kap:session-cues:12'));
  clock.t = 20;
  const reloaded = new CueRunner({ cues: CUES, clock, onCue: () => {}, sessionId: 12, storage });
  assert.deepEqual(reloaded.tick(), []);
  reloaded.clear();
  assert.equal(storage.map.size, 0);
});

test('corrupt or throwing storage falls back to the stale-cue window', () => {
  const storage = memory();
  storage.setItem('kap:session-cues:12', 'garbage');
  const runner = new CueRunner({ cues: CUES, clock: clockAt(6), onCue: () => {}, sessionId: 12, storage });
  assert.equal(runner.tick().length, 2);
  const angry = {
    getItem() {
      throw new Error('blocked');
    },
    setItem() {
      throw new Error('full');
    },
  };
  const again = new CueRunner({ cues: CUES, clock: clockAt(6), onCue: () => {}, sessionId: 12, storage: angry });
  assert.equal(again.tick().length, 2);
});

test('a paused clock fires nothing; a failing onCue does not stop the others', () => {
  const reported = [];
  const original = globalThis.reportError;
  globalThis.reportError = (e) => reported.push(e.message);
  try {
    const clock = clockAt(0);
    const seen = [];
    const runner = new CueRunner({
      cues: CUES,
      clock,
      onCue: (c) => {
        seen.push(c.text);
        if (c.at_seconds === 0) throw new Error('boom');
      },
    });
    clock.t = 6;
    assert.equal(runner.tick().length, 2);
    assert.deepEqual(seen, ['Welcome.', 'Settle in. Let your breath slow.']);
    assert.deepEqual(reported, ['boom']);
    assert.deepEqual(runner.tick(), [], 'time standing still fires nothing');
  } finally {
    globalThis.reportError = original;
  }
});

test('start() ticks on an interval until stop()', () => {
  mock.timers.enable({ apis: ['setInterval'] });
  try {
    const clock = clockAt(0);
    const fired = [];
    const runner = new CueRunner({ cues: CUES, clock, onCue: (c) => fired.push(c.at_seconds) });
    runner.start(250);
    assert.deepEqual(fired, [0]);
    clock.t = 5;
    mock.timers.tick(250);
    assert.deepEqual(fired, [0, 5]);
    runner.stop();
    clock.t = 100;
    mock.timers.tick(1000);
    assert.deepEqual(fired, [0, 5]);
  } finally {
    mock.timers.reset();
  }
});

// --- speech -----------------------------------------------------------------------------
class FakeUtterance {
  constructor(text) {
    this.text = text;
  }
}
const voice = (lang, extra = {}) => ({ lang, name: lang, localService: false, default: false, ...extra });
const fakeSynth = (voices) => ({
  spoken: [],
  cancelled: 0,
  getVoices: () => voices,
  speak(u) {
    this.spoken.push(u);
  },
  cancel() {
    this.cancelled++;
  },
});

afterEach(() => {
  delete globalThis.SpeechSynthesisUtterance;
  releaseChime();
});

test('pickVoice matches the language and prefers offline voices', () => {
  const voices = [voice('fr-FR'), voice('en-US'), voice('en_GB', { localService: true })];
  assert.equal(pickVoice(voices, 'en').lang, 'en_GB');
  assert.equal(pickVoice(voices, 'fr-CA').lang, 'fr-FR');
  assert.equal(pickVoice(voices, 'de'), null);
  assert.equal(pickVoice([], 'en'), null);
});

test('speak uses a slow, calm rate and replaces any prompt still speaking', () => {
  globalThis.SpeechSynthesisUtterance = FakeUtterance;
  const synth = fakeSynth([voice('en-US')]);
  assert.equal(speak('Let your breath slow.', { synth, lang: 'en' }), true);
  const [u] = synth.spoken;
  assert.equal(u.text, 'Let your breath slow.');
  assert.equal(u.rate, 0.85);
  assert.equal(u.lang, 'en-US');
  assert.equal(synth.cancelled, 1);
});

test('speak does nothing without a voice, support or text, and never throws', () => {
  globalThis.SpeechSynthesisUtterance = FakeUtterance;
  assert.equal(speak('Hello', { synth: fakeSynth([]) }), false);
  assert.equal(speak('Hello', { synth: undefined }), false);
  assert.equal(speak('', { synth: fakeSynth([voice('en')]) }), false);
  const broken = {
    getVoices() {
      throw new Error('broken');
    },
  };
  assert.equal(speak('Hello', { synth: broken }), false);
  delete globalThis.SpeechSynthesisUtterance;
  assert.equal(speak('Hello', { synth: fakeSynth([voice('en')]) }), false, 'no Utterance constructor');
  assert.doesNotThrow(() => primeSpeech(undefined));
});

// --- chime ------------------------------------------------------------------------------
class FakeAudio {
  constructor() {
    Object.assign(this, { dataset: {}, src: '', plays: 0, paused: true, currentTime: 3, volume: 1 });
  }
  getAttribute() {
    return this.src || null;
  }
  play() {
    this.plays++;
    this.paused = false;
    return Promise.resolve();
  }
  pause() {
    this.paused = true;
  }
}

test('the chime renders once and plays from the start through an <audio> element', async () => {
  let renders = 0;
  const audio = new FakeAudio();
  const render = async () => {
    renders++;
    return new Blob(['RIFF'], { type: 'audio/wav' });
  };
  assert.equal(await prepareChime({ audio, render }), true);
  assert.equal(audio.plays, 1, 'unlocked with a silent clip inside the gesture');
  assert.equal(await playChime(), true);
  assert.equal(await playChime(), true);
  assert.equal(renders, 1);
  assert.match(audio.src, /^blob:/);
  assert.equal(audio.currentTime, 0);
  assert.equal(audio.plays, 3);
});

test('a chime that cannot render reports false and is retried later', async () => {
  const audio = new FakeAudio();
  let attempts = 0;
  const failing = async () => {
    attempts++;
    throw new Error('no OfflineAudioContext');
  };
  assert.equal(await prepareChime({ audio, render: failing }), false);
  assert.equal(await prepareChime({ audio, render: failing }), false);
  assert.equal(attempts, 2);
});

test('announceCue chimes first when asked, then speaks', async () => {
  globalThis.SpeechSynthesisUtterance = FakeUtterance;
  const synth = fakeSynth([voice('en-US')]);
  const original = globalThis.speechSynthesis;
  Object.defineProperty(globalThis, 'speechSynthesis', { value: synth, configurable: true });
  try {
    const audio = new FakeAudio();
    await prepareChime({ audio, render: async () => new Blob(['x']) });
    assert.equal(await announceCue(CUES[1], { speakDelayMs: 0 }), true);
    assert.equal(audio.plays, 2);
    assert.equal(synth.spoken[0].text, CUES[1].text);
  } finally {
    Object.defineProperty(globalThis, 'speechSynthesis', { value: original, configurable: true });
  }
});
