// SessionPlayer with stand-in <audio> elements: order, seeking, cross-fades, iOS, errors, cleanup.

import assert from 'node:assert/strict';
import { afterEach, beforeEach, mock, test } from 'node:test';
import { SessionPlayer, silentClip, volumeIsWritable } from '../../static/js/lib/session/player.js';
import { FakeAudio } from './fake-audio.mjs';

const fakeClock = () => ({
  t: 0,
  isPaused: false,
  elapsed() {
    return this.t;
  },
  pause() {
    this.isPaused = true;
  },
  resume() {
    this.isPaused = false;
  },
});

const fakeMediaSession = () => ({
  metadata: null,
  playbackState: 'none',
  handlers: {},
  setActionHandler(action, fn) {
    this.handlers[action] = fn;
  },
});

const soundscape = (id, duration_seconds) => ({
  id,
  title: `Scape ${id}`,
  duration_seconds,
  kind: 'soundscape',
  soundscape: { key: 'D', texture: 'drone', seed: id },
});
const upload = (id, duration_seconds) => ({
  id,
  title: `Upload ${id}`,
  duration_seconds,
  kind: 'upload',
  url: `/media/tracks/${id}`,
});
const DATA = {
  template_name: 'Walkthrough (3 minutes)',
  crossfade_seconds: 8,
  playlist: [soundscape(1, 60), upload(2, 100), soundscape(3, 40)],
};
const flush = () => new Promise((r) => setImmediate(r));

let rendered;
const fakeRender = async (params, { durationSeconds }) => {
  rendered.push([params.seed, durationSeconds]);
  return new Blob(['RIFF'], { type: 'audio/wav' });
};

function setup({ data = DATA, elements = [new FakeAudio(), new FakeAudio()], ...options } = {}) {
  const clock = fakeClock();
  const media = fakeMediaSession();
  const player = new SessionPlayer({
    data,
    clock,
    audioElements: elements,
    renderSoundscape: fakeRender,
    mediaSession: media,
    ...options,
  });
  const events = [];
  for (const type of ['trackchange', 'ended', 'error', 'statechange'])
    player.addEventListener(type, (e) => events.push([type, e.detail]));
  return { clock, media, player, events, a: elements[0], b: elements[1] };
}

/** Advances fake time: clock elapsed and Date/intervals together, letting loads settle. */
async function advance(ctx, seconds, stepMs = 100) {
  for (let ms = 0; ms < seconds * 1000; ms += stepMs) {
    ctx.clock.t += stepMs / 1000;
    mock.timers.tick(stepMs);
    await flush();
  }
}

beforeEach(() => {
  rendered = [];
  mock.timers.enable({ apis: ['setInterval', 'Date'], now: 1_000_000 });
});
afterEach(() => mock.timers.reset());

test('plays the first track on the first element, looping the soundscape, with metadata', async () => {
  const ctx = setup();
  ctx.player.start();
  await advance(ctx, 0.5);
  assert.equal(ctx.a.paused, false);
  assert.equal(ctx.a.loop, true);
  assert.match(ctx.a.src, /^blob:/);
  assert.deepEqual(rendered[0], [1, 60]);
  assert.deepEqual(
    ctx.events.find(([t]) => t === 'trackchange'),
    ['trackchange', { index: 0, track: DATA.playlist[0] }],
  );
  assert.equal(ctx.media.playbackState, 'playing');
  assert.equal(typeof ctx.media.handlers.play, 'function');
  assert.equal(typeof ctx.media.handlers.pause, 'function');
  // the idle element has the next (uploaded) track buffered, paused
  assert.equal(ctx.b.src, '/media/tracks/2');
  assert.equal(ctx.b.paused, true);
  assert.equal(ctx.b.loop, false);
});

test('starting mid-track seeks into it (modulo the loop for soundscapes)', async () => {
  const elements = [new FakeAudio({ durationOf: () => 20 }), new FakeAudio()];
  const ctx = setup({ elements });
  ctx.clock.t = 45;
  ctx.player.start();
  await advance(ctx, 0.2);
  assert.ok(Math.abs(ctx.a.currentTime - 5.2) < 0.15, `seeked to ${ctx.a.currentTime}`);
  assert.equal(ctx.a.muted, false);
});

test('cross-fades with equal power and hands over track changes', async () => {
  const ctx = setup();
  ctx.player.start();
  await advance(ctx, 2);
  ctx.clock.t = 55.9; // 4 s into the 8 s cross-fade once advanced
  await advance(ctx, 0.1);
  assert.equal(ctx.a.paused, false);
  assert.equal(ctx.b.paused, false);
  const power = ctx.a.volume ** 2 + ctx.b.volume ** 2;
  assert.ok(Math.abs(power - 1) < 0.02, `power ${power}`);
  assert.ok(Math.abs(ctx.a.volume - Math.SQRT1_2) < 0.02);
  assert.deepEqual(
    ctx.events.filter(([t]) => t === 'trackchange').map(([, d]) => d.index),
    [0, 1],
  );
  await advance(ctx, 4.5);
  assert.equal(ctx.a.paused, true, 'first element now buffers track 3, paused until its start');
  assert.match(ctx.a.src, /^blob:/);
  assert.deepEqual(
    rendered.map(([seed]) => seed),
    [1, 3],
  );
});

test('master volume scales every element', async () => {
  const ctx = setup({ volume: 0.5 });
  ctx.player.start();
  await advance(ctx, 20);
  assert.ok(Math.abs(ctx.a.volume - 0.5) < 0.01);
  ctx.player.volume = 2;
  assert.equal(ctx.player.volume, 1);
});

test('where volume is read-only (iOS) tracks overlap at full level instead of ramping', async () => {
  assert.equal(volumeIsWritable(new FakeAudio({ readOnlyVolume: true })), false);
  assert.equal(volumeIsWritable(new FakeAudio()), true);
  const elements = [new FakeAudio({ readOnlyVolume: true }), new FakeAudio({ readOnlyVolume: true })];
  const ctx = setup({ elements });
  ctx.player.start();
  ctx.clock.t = 54;
  await advance(ctx, 0.3);
  assert.equal(ctx.a.paused, false);
  assert.equal(ctx.b.paused, false);
  assert.equal(ctx.a.volume, 1);
  assert.equal(ctx.b.volume, 1);
});

test('pause and resume stop the elements and the clock together; media keys work', async () => {
  const ctx = setup();
  ctx.player.start();
  await advance(ctx, 1);
  ctx.media.handlers.pause();
  assert.equal(ctx.clock.isPaused, true);
  assert.equal(ctx.a.paused, true);
  assert.equal(ctx.media.playbackState, 'paused');
  await advance(ctx, 1);
  assert.equal(ctx.a.paused, true, 'ticks while paused do not restart playback');
  ctx.media.handlers.play();
  await advance(ctx, 0.2);
  assert.equal(ctx.clock.isPaused, false);
  assert.equal(ctx.a.paused, false);
  assert.ok(ctx.a.volume < 0.5, 'fades back in after a pause');
  assert.deepEqual(
    ctx.events.filter(([t]) => t === 'statechange').map(([, d]) => d.paused),
    [false, true, false],
  );
});

test('emits ended once when the playlist is over, and at once when started after it', async () => {
  const ctx = setup();
  ctx.player.start();
  ctx.clock.t = 183.5;
  await advance(ctx, 1);
  assert.equal(ctx.events.filter(([t]) => t === 'ended').length, 1);
  assert.equal(ctx.a.paused && ctx.b.paused, true);
  assert.equal(ctx.media.playbackState, 'none');
  const late = setup();
  late.clock.t = 500;
  late.player.start();
  assert.deepEqual(late.events.at(-1), ['ended', {}]);
});

test('autoplay refusal is reported once and retried only after start()', async () => {
  const elements = [new FakeAudio({ refuse: 'NotAllowedError' }), new FakeAudio()];
  const ctx = setup({ elements });
  ctx.player.start();
  await advance(ctx, 1);
  const errors = ctx.events.filter(([t]) => t === 'error');
  assert.equal(errors.length, 1);
  assert.equal(errors[0][1].needsGesture, true);
  const plays = ctx.a.plays;
  await advance(ctx, 1);
  assert.equal(ctx.a.plays, plays, 'no retry storm');
  ctx.a.refuse = null;
  ctx.player.start();
  await advance(ctx, 0.2);
  assert.equal(ctx.a.paused, false);
});

test('a track that fails is loaded again once, then reported once and skipped', async () => {
  const ctx = setup();
  ctx.player.start();
  ctx.clock.t = 61;
  await advance(ctx, 0.2);
  const firstPlays = ctx.b.plays;
  ctx.b.dispatchEvent(new Event('error'));
  await advance(ctx, 1);
  assert.equal(ctx.events.filter(([t]) => t === 'error').length, 0, 'the first failure is retried');
  assert.ok(ctx.b.plays > firstPlays, 'and the track plays again');
  ctx.b.dispatchEvent(new Event('error'));
  await advance(ctx, 1);
  const errors = ctx.events.filter(([t]) => t === 'error');
  assert.equal(errors.length, 1);
  assert.equal(errors[0][1].index, 1);
  const plays = ctx.b.plays;
  await advance(ctx, 1);
  assert.equal(ctx.b.plays, plays);
});

test('a soundscape that fails to render is reported and playback continues', async () => {
  const failing = async () => {
    throw new Error('render failed');
  };
  const ctx = setup({ renderSoundscape: failing });
  ctx.player.start();
  await advance(ctx, 0.5);
  assert.equal(ctx.events.find(([t]) => t === 'error')[1].index, 0);
  ctx.clock.t = 60;
  await advance(ctx, 0.5);
  assert.equal(ctx.b.paused, false, 'the upload after it still plays');
});

test('loadBlob supplies cached blobs first; store receives generated ones', async () => {
  const stored = [];
  const cached = new Map([[3, new Blob(['cached'])]]);
  const ctx = setup({
    loadBlob: async (track) => cached.get(track.id) ?? null,
    store: (track, blob) => stored.push([track.id, blob.size]),
  });
  ctx.player.start();
  ctx.clock.t = 150;
  await advance(ctx, 0.5);
  assert.deepEqual(
    rendered.map(([seed]) => seed),
    [1],
    'track 3 came from the cache',
  );
  assert.deepEqual(stored, [[1, 4]]);
});

test('a loadBlob that throws falls back to rendering', async () => {
  const ctx = setup({
    loadBlob: () => {
      throw new Error('IndexedDB unavailable');
    },
  });
  ctx.player.start();
  await advance(ctx, 0.3);
  assert.deepEqual(rendered[0], [1, 60]);
  assert.equal(ctx.a.paused, false);
  assert.equal(ctx.events.filter(([t]) => t === 'error').length, 0);
});

test('prepare() renders the current track before start', async () => {
  const ctx = setup();
  await ctx.player.prepare();
  assert.deepEqual(rendered[0], [1, 60]);
  assert.equal(ctx.a.paused, true, 'nothing plays before start()');
});

test('destroy revokes generated URLs, clears sources and media handlers', async () => {
  const revoked = [];
  const original = URL.revokeObjectURL;
  URL.revokeObjectURL = (url) => {
    revoked.push(url);
    original(url);
  };
  try {
    const ctx = setup();
    ctx.player.start();
    await advance(ctx, 0.5);
    const url = ctx.a.src;
    ctx.player.destroy();
    assert.ok(revoked.includes(url));
    assert.equal(ctx.a.getAttribute('src'), null);
    assert.equal(ctx.media.handlers.play, null);
    assert.equal(ctx.media.metadata, null);
    assert.throws(() => ctx.player.start());
  } finally {
    URL.revokeObjectURL = original;
  }
});

test('the silent clip is one blob URL for the page, which destroy never revokes', async () => {
  const url = silentClip();
  assert.match(url, /^blob:/);
  assert.equal(silentClip(), url, 'made once');
  const revoked = [];
  const original = URL.revokeObjectURL;
  URL.revokeObjectURL = (u) => revoked.push(u);
  try {
    const ctx = setup();
    ctx.player.start();
    await advance(ctx, 0.5);
    ctx.player.destroy();
  } finally {
    URL.revokeObjectURL = original;
  }
  assert.ok(!revoked.includes(url), 'an element may still be loading it');
});

test('lock-screen metadata has title, artist, album and artwork, and is re-applied on playing', async () => {
  globalThis.MediaMetadata = class {
    constructor(init) {
      Object.assign(this, init);
    }
  };
  try {
    const ctx = setup();
    ctx.player.start();
    await advance(ctx, 0.5);
    const first = ctx.media.metadata;
    assert.equal(first.title, 'Scape 1');
    assert.equal(first.artist, 'KAP Companion');
    assert.equal(first.album, DATA.template_name);
    assert.deepEqual(
      first.artwork.map((a) => [a.src, a.sizes, a.type]),
      [
        ['/static/icons/icon-192.png', '192x192', 'image/png'],
        ['/static/icons/icon-512.png', '512x512', 'image/png'],
      ],
    );
    ctx.media.metadata = null; // what iOS does when an element (re)starts
    ctx.a.dispatchEvent(new Event('playing'));
    assert.equal(ctx.media.metadata.title, 'Scape 1');
    assert.notEqual(ctx.media.metadata, first, 'a fresh object, set again');
  } finally {
    delete globalThis.MediaMetadata;
  }
});

test('duck() lowers the music where volume is writable', async () => {
  let duck = 1;
  const ctx = setup({ volume: 1, duck: () => duck });
  ctx.player.start();
  await advance(ctx, 20);
  assert.ok(Math.abs(ctx.a.volume - 1) < 0.01);
  duck = 0.4;
  await advance(ctx, 0.2);
  assert.ok(Math.abs(ctx.a.volume - 0.4) < 0.01, `volume ${ctx.a.volume}`);
});
