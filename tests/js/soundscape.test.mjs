// Soundscape helpers: keys, seeded randomness, whole-cycle loops, seamless levels, and rendering.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  createRng,
  keyFrequencies,
  lfoValue,
  loopFrames,
  MAX_LOOP_SECONDS,
  midiToHz,
  normalizationGain,
  planLevel,
  planSoundscape,
  quantizeFrequency,
  renderChime,
  renderSoundscape,
  rootFrequency,
  SOUNDSCAPE_KEYS,
  SOUNDSCAPE_TEXTURES,
  strikeEnvelope,
  strikeRepeats,
  WARMUP_SECONDS,
} from '../../static/js/lib/session/soundscape.js';

const close = (a, b, eps = 1e-6) => assert.ok(Math.abs(a - b) <= eps, `${a} ≈ ${b}`);

test('the exported lists match the data contract', () => {
  assert.deepEqual([...SOUNDSCAPE_TEXTURES], ['drone', 'pad', 'waves', 'bells']);
  assert.deepEqual([...SOUNDSCAPE_KEYS], ['C', 'D', 'E', 'F', 'G', 'A', 'Bb']);
  assert.ok(Object.isFrozen(SOUNDSCAPE_KEYS));
});

test('key roots are equal-tempered and sit in a warm low register', () => {
  close(midiToHz(69), 440);
  close(rootFrequency('A'), 110);
  close(rootFrequency('C'), 130.8128, 1e-3);
  close(rootFrequency('D'), 146.8324, 1e-3);
  close(rootFrequency('G'), 97.9989, 1e-3);
  close(rootFrequency('Bb'), 116.5409, 1e-3);
  for (const key of SOUNDSCAPE_KEYS) {
    const f = rootFrequency(key);
    assert.ok(f >= 97 && f < 180, `${key} root ${f}`);
  }
  assert.throws(() => rootFrequency('H'), RangeError);
});

test('key frequencies are the major pentatonic over the requested octaves', () => {
  const a = keyFrequencies('A');
  assert.equal(a.length, 10);
  const semis = a.map((f) => Math.round(12 * Math.log2(f / 110)));
  assert.deepEqual(semis, [0, 2, 4, 7, 9, 12, 14, 16, 19, 21]);
  assert.equal(keyFrequencies('C', 3).length, 15);
});

test('the PRNG is deterministic per seed, uniform-ish and in [0, 1)', () => {
  const a = createRng(7);
  const b = createRng(7);
  const first = Array.from({ length: 1000 }, a);
  assert.deepEqual(Array.from({ length: 1000 }, b), first);
  assert.notDeepEqual(Array.from({ length: 10 }, createRng(8)), first.slice(0, 10));
  assert.ok(first.every((x) => x >= 0 && x < 1));
  const mean = first.reduce((s, x) => s + x, 0) / first.length;
  assert.ok(Math.abs(mean - 0.5) < 0.05, `mean ${mean}`);
  assert.deepEqual(Array.from({ length: 3 }, createRng(0)), Array.from({ length: 3 }, createRng(0)));
});

test('loop length is min(duration, 120 s), whole frames, a multiple of its noise segments', () => {
  assert.deepEqual(loopFrames(60, 22050), { frames: 60 * 22050, segments: 4 });
  assert.equal(loopFrames(245.3, 22050).frames, MAX_LOOP_SECONDS * 22050);
  const odd = loopFrames(61.37, 22050);
  assert.equal(odd.frames % odd.segments, 0);
  assert.ok(Math.abs(odd.frames - 61.37 * 22050) <= odd.segments);
  assert.deepEqual(loopFrames(0, 22050), { frames: 22050, segments: 1 }, 'at least a second');
});

test('quantized frequencies complete whole cycles per loop and stay within half a cycle', () => {
  for (const L of [3, 7.5, 60, 120]) {
    for (const hz of [0.01, 49.3, 146.83, 1000.1]) {
      const q = quantizeFrequency(hz, L);
      close((q * L) % 1, 0, 1e-6);
      assert.ok(q * L >= 1);
      if (hz * L >= 1) assert.ok(Math.abs(q - hz) <= 0.5 / L + 1e-12);
    }
  }
});

test('strike envelope rises, decays to a thousandth, then is silent', () => {
  assert.equal(strikeEnvelope(-0.1, 1, 0.05, 4), 0);
  close(strikeEnvelope(0.025, 1, 0.05, 4), 0.5);
  close(strikeEnvelope(0.05, 1, 0.05, 4), 1);
  close(strikeEnvelope(2.05, 1, 0.05, 4), Math.sqrt(0.001));
  assert.equal(strikeEnvelope(4.05, 1, 0.05, 4), 0);
  assert.ok(strikeEnvelope(4.0499, 1, 0.05, 4) < 0.0011);
});

test('strikes are repeated one loop earlier during the warm-up', () => {
  assert.deepEqual(strikeRepeats(5, 60, 10), [15], 'render time is loop time plus the warm-up');
  assert.deepEqual(strikeRepeats(55, 60, 10), [5, 65], 'a late strike also rings into the loop start');
  assert.deepEqual(strikeRepeats(1, 4, 10), [3, 7, 11], 'short loops repeat several times');
});

test('lfo values swing around the base and repeat each loop', () => {
  const lfo = { cycles: 3, depth: 0.5, phase: 1 };
  close(lfoValue(2, lfo, 0, 60), lfoValue(2, lfo, 60, 60));
  assert.equal(lfoValue(2, undefined, 5, 60), 2);
  close(lfoValue(2, { cycles: 1, depth: 0.5, phase: Math.PI / 2 }, 0, 60), 3);
});

const PARAMS = SOUNDSCAPE_TEXTURES.flatMap((texture) =>
  SOUNDSCAPE_KEYS.map((key, i) => ({ texture, key, seed: i * 31 + 7 })),
);

test('plans are deterministic from their parameters', () => {
  for (const p of PARAMS) assert.deepEqual(planSoundscape(p, 60), planSoundscape({ ...p }, 60));
  assert.notDeepEqual(
    planSoundscape({ texture: 'bells', key: 'D', seed: 1 }, 60),
    planSoundscape({ texture: 'bells', key: 'D', seed: 2 }, 60),
  );
});

test('plans reject unknown textures and keys', () => {
  assert.throws(() => planSoundscape({ texture: 'noise', key: 'D', seed: 1 }, 60), RangeError);
  assert.throws(() => planSoundscape({ texture: 'drone', key: 'C#', seed: 1 }, 60), RangeError);
});

test('every continuous part completes whole cycles in the loop', () => {
  for (const L of [4, 60, 120]) {
    for (const p of PARAMS) {
      const plan = planSoundscape(p, L);
      for (const v of plan.voices) {
        const cycles = v.freq * L;
        close(cycles, Math.round(cycles), 1e-6);
        assert.ok(Number.isInteger(v.lfo.cycles) && v.lfo.cycles >= 1);
      }
      for (const layer of plan.noise) assert.ok(Number.isInteger(layer.lfo.cycles));
      if (plan.filter.lfo) assert.ok(Number.isInteger(plan.filter.lfo.cycles));
    }
  }
});

test('the loop starts and ends at the same level for every texture', () => {
  for (const L of [5, 37, 60, 120]) {
    for (const p of PARAMS) {
      const plan = planSoundscape(p, L);
      close(planLevel(plan, 0), planLevel(plan, L), 1e-9);
      // and it moves smoothly across the seam: no jump bigger than elsewhere in the loop
      const step = 1 / 22050;
      close(planLevel(plan, L - step), planLevel(plan, 0) - (planLevel(plan, step) - planLevel(plan, 0)), 1e-3);
      assert.ok(planLevel(plan, 0) > 0, 'never silent at the seam');
    }
  }
});

test('bells are gentle: pentatonic, spaced out, no repeated note, and a relaxed seam gap', () => {
  for (const key of SOUNDSCAPE_KEYS) {
    const plan = planSoundscape({ texture: 'bells', key, seed: 11 }, 120);
    const scale = keyFrequencies(key, 3);
    assert.ok(plan.events.length >= 8);
    plan.events.forEach((ev, i) => {
      assert.ok(scale.some((f) => Math.abs(f - ev.freq) < 1e-9));
      assert.ok(ev.attack >= 0.02 && ev.decay + ev.attack < WARMUP_SECONDS);
      if (i) {
        assert.ok(ev.time - plan.events[i - 1].time >= 4);
        assert.notEqual(ev.freq, plan.events[i - 1].freq);
      }
    });
    assert.ok(120 - plan.events.at(-1).time + plan.events[0].time >= 4);
  }
});

test('normalization aims at a calm loudness without clipping', () => {
  const quiet = Float32Array.from({ length: 1000 }, (_, i) => 0.01 * Math.sin(i / 10));
  const g = normalizationGain(quiet);
  const peak = Math.max(...quiet.map((s) => Math.abs(s * g)));
  assert.ok(peak <= 0.89 + 1e-6);
  const spiky = new Float32Array(1000);
  spiky[500] = 1;
  close(normalizationGain(spiky), 0.89);
  assert.equal(normalizationGain(new Float32Array(10)), 1, 'silence stays silence');
});

// A stand-in OfflineAudioContext: records the graph and "renders" a ramp, so the encoding,
// warm-up cropping and scheduling can be checked without a browser.
class FakeParam {
  constructor() {
    this.value = 0;
    this.events = [];
  }
  setValueAtTime(v, t) {
    this.events.push(['set', v, t]);
  }
  linearRampToValueAtTime(v, t) {
    this.events.push(['linear', v, t]);
  }
  exponentialRampToValueAtTime(v, t) {
    assert.ok(v > 0, 'exponential ramps need a positive target');
    this.events.push(['exp', v, t]);
  }
}
class FakeNode {
  constructor(ctx, kind) {
    Object.assign(this, { ctx, kind, gain: new FakeParam(), frequency: new FakeParam(), Q: new FakeParam() });
    ctx.nodes.push(this);
  }
  connect(target) {
    assert.ok(target instanceof FakeNode || target instanceof FakeParam || target === this.ctx.destination);
    return target;
  }
  start(at = 0) {
    this.started = at;
  }
  stop(at) {
    this.stopped = at;
  }
  setPeriodicWave(w) {
    this.wave = w;
  }
}
class FakeOfflineAudioContext {
  static last;
  constructor(channels, length, sampleRate) {
    Object.assign(this, { channels, length, sampleRate, nodes: [], destination: {} });
    FakeOfflineAudioContext.last = this;
  }
  createBuffer(_channels, length, sampleRate) {
    const data = new Float32Array(length);
    return { length, sampleRate, duration: length / sampleRate, getChannelData: () => data };
  }
  createPeriodicWave(real, imag) {
    return { real, imag };
  }
  async startRendering() {
    const data = Float32Array.from({ length: this.length }, (_, i) => i / this.length);
    return { getChannelData: () => data };
  }
}
for (const method of ['Oscillator', 'Gain', 'BiquadFilter', 'BufferSource', 'Convolver']) {
  FakeOfflineAudioContext.prototype[`create${method}`] = function create() {
    return new FakeNode(this, method);
  };
}

async function decode(blob) {
  const view = new DataView(await blob.arrayBuffer());
  return {
    rate: view.getUint32(24, true),
    channels: view.getUint16(22, true),
    frames: view.getUint32(40, true) / 2,
    view,
  };
}

test('renderSoundscape renders warm-up plus loop and encodes only the loop, mono', async () => {
  for (const texture of SOUNDSCAPE_TEXTURES) {
    const blob = await renderSoundscape(
      { texture, key: 'D', seed: 7 },
      { durationSeconds: 60, OfflineAudioContextImpl: FakeOfflineAudioContext },
    );
    const ctx = FakeOfflineAudioContext.last;
    assert.equal(ctx.channels, 1);
    assert.equal(ctx.sampleRate, 22050);
    assert.equal(ctx.length, (WARMUP_SECONDS + 60) * 22050);
    const wav = await decode(blob);
    assert.deepEqual([wav.rate, wav.channels, wav.frames], [22050, 1, 60 * 22050]);
    // the fake ramp proves the crop: the first encoded sample comes from after the warm-up
    assert.ok(wav.view.getInt16(44, true) > 0);
    const oscillators = ctx.nodes.filter((n) => n.kind === 'Oscillator');
    assert.ok(oscillators.length > 0);
    if (texture === 'waves') assert.ok(ctx.nodes.some((n) => n.kind === 'BufferSource' && n.loop));
    if (texture === 'bells') assert.ok(oscillators.some((n) => n.stopped !== undefined));
  }
});

test('renderSoundscape caps the loop at 120 s and honours the sample rate', async () => {
  const blob = await renderSoundscape(
    { texture: 'pad', key: 'A', seed: 3 },
    { durationSeconds: 245.3, sampleRate: 8000, OfflineAudioContextImpl: FakeOfflineAudioContext },
  );
  const wav = await decode(blob);
  assert.deepEqual([wav.rate, wav.frames], [8000, 120 * 8000]);
});

test('rendering without OfflineAudioContext fails clearly', async () => {
  await assert.rejects(
    renderSoundscape({ texture: 'drone', key: 'C', seed: 1 }, { durationSeconds: 10, OfflineAudioContextImpl: null }),
    /OfflineAudioContext/,
  );
  await assert.rejects(renderChime({ OfflineAudioContextImpl: null }), /OfflineAudioContext/);
});

test('renderChime is a 2.5 s mono WAV with a gentle attack', async () => {
  const wav = await decode(await renderChime({ OfflineAudioContextImpl: FakeOfflineAudioContext }));
  assert.deepEqual([wav.rate, wav.channels, wav.frames], [22050, 1, 2.5 * 22050]);
  const env = FakeOfflineAudioContext.last.nodes.find((n) => n.kind === 'Gain').gain.events;
  assert.deepEqual(env[0], ['set', 0, 0]);
  assert.ok(env[1][0] === 'linear' && env[1][2] >= 0.03, 'attack is not a click');
  assert.ok(env.at(-1)[2] <= 2.5, 'fully decayed within the clip');
});
