// Generative soundscapes and the cue chime: seeded, gentle textures rendered offline to WAV.
//
// Rendered offline to a WAV Blob because playback must go through <audio> (iOS suspends live
// Web Audio when the screen locks). A track is a seamless loop of min(duration, 120) s: every
// sound repeats exactly once per loop (whole oscillator cycles, whole noise periods, strikes
// also scheduled a loop earlier), and the loop is cut after a warm-up in which filters, bell
// tails and reverb settle, so its last sample runs straight into its first. The rendering runs
// off the main thread (OfflineAudioContext); loudness and encoding go in slices (./wav.js), so
// preparing a loop never blocks the page.

import { encodeWav, encodeWavInSlices, inSlices, nextTask } from './wav.js';

export const SOUNDSCAPE_TEXTURES = Object.freeze(['drone', 'pad', 'waves', 'bells']);
export const SOUNDSCAPE_KEYS = Object.freeze(['C', 'D', 'E', 'F', 'G', 'A', 'Bb']);
export const MAX_LOOP_SECONDS = 120;
/** Seconds rendered before the loop starts: longer than the longest bell tail plus reverb. */
export const WARMUP_SECONDS = 10;

// Roots sit in the warm G2–F3 range (98–175 Hz): low enough to soothe, high enough for earbuds.
const ROOT_MIDI = { C: 48, D: 50, E: 52, F: 53, G: 43, A: 45, Bb: 46 };
const PENTATONIC = [0, 2, 4, 7, 9]; // no semitones, so no note ever clashes with another
const CHORDS = [
  [0, 4, 7, 12],
  [0, 7, 12, 16],
  [0, 2, 7, 12],
  [0, 5, 7, 12],
  [0, 7, 9, 16],
];
// Bell partials: [frequency ratio, relative gain, relative decay]; upper partials fade first.
const PARTIALS = [
  [1, 1, 1],
  [2, 0.3, 0.55],
  [3, 0.12, 0.35],
  [4.16, 0.05, 0.2],
];
const TAU = 2 * Math.PI;

/** Frequency in Hz of a MIDI note number (A4 = 69 = 440 Hz). @param {number} midi */
export const midiToHz = (midi) => 440 * 2 ** ((midi - 69) / 12);

/** Root frequency (Hz) of a key in SOUNDSCAPE_KEYS. @param {string} key */
export function rootFrequency(key) {
  if (!SOUNDSCAPE_KEYS.includes(key)) throw new RangeError(`unknown soundscape key: ${key}`);
  return midiToHz(ROOT_MIDI[key]);
}

/** Major-pentatonic scale of a key (Hz), rising from the root over `octaves` octaves. */
export function keyFrequencies(key, octaves = 2) {
  const root = rootFrequency(key);
  const out = [];
  for (let o = 0; o < octaves; o++) for (const s of PENTATONIC) out.push(root * 2 ** (o + s / 12));
  return out;
}

/** Seeded PRNG (mulberry32), uniform in [0, 1): a seed always gives the same soundscape. */
export function createRng(seed) {
  let a = Number(seed) >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Loop length in frames: min(duration, 120) s, a multiple of `segments` so the noise buffer
 * (one segment, ≤ 15 s) repeats exactly within it. @returns {{frames: number, segments: number}}
 */
export function loopFrames(durationSeconds, sampleRate) {
  const seconds = Math.min(Math.max(Number(durationSeconds) || 0, 1), MAX_LOOP_SECONDS);
  const segments = Math.ceil(seconds / 15);
  return { frames: segments * Math.max(1, Math.round((seconds * sampleRate) / segments)), segments };
}

/** Nearest frequency with whole cycles per loop (off by ≤ 1/(2·loop) Hz: inaudible). */
export function quantizeFrequency(hz, loopSeconds) {
  return Math.max(1, Math.round(hz * loopSeconds)) / loopSeconds;
}

/** Strike envelope `t` s after it begins: linear attack, fall to peak/1000 over `decay`, silence. */
export function strikeEnvelope(t, peak, attack, decay) {
  if (t < 0 || t >= attack + decay) return 0;
  if (t < attack) return (peak * t) / attack;
  return peak * 0.001 ** ((t - attack) / decay);
}

/** Value of a slow modulator {cycles, depth, phase} on `base` at `t` seconds into a loop. */
export function lfoValue(base, lfo, t, loopSeconds) {
  if (!lfo) return base;
  return base * (1 + lfo.depth * Math.sin((TAU * lfo.cycles * t) / loopSeconds + lfo.phase));
}

/**
 * Deterministic recipe of a loop: voices, noise layers, bell strikes, filter and reverb.
 * @param {{key: string, texture: string, seed: number}} params @param {number} loopSeconds
 */
export function planSoundscape({ key, texture, seed }, loopSeconds) {
  if (!SOUNDSCAPE_TEXTURES.includes(texture)) throw new RangeError(`unknown texture: ${texture}`);
  const L = loopSeconds;
  const rng = createRng(seed);
  const f0 = rootFrequency(key);
  const q = (hz) => quantizeFrequency(hz, L);
  // A slow swell of roughly `min`–`max` seconds, rounded to whole cycles per loop.
  const lfo = (min, max, depth) => ({
    cycles: Math.max(1, Math.round(L / (min + rng() * (max - min)))),
    depth,
    phase: rng() * TAU,
  });
  const beat = () => Math.max(1, Math.round((0.08 + rng() * 0.1) * L)) / L; // slow chorus beating
  const voice = (wave, freq, gain, mod) => ({ wave, freq, gain, lfo: mod });
  const plan = { loopSeconds: L, voices: [], noise: [], events: [], seed: rng() * 2 ** 31 };

  if (texture === 'drone') {
    plan.voices.push(
      voice('sine', q(f0), 0.3, lfo(20, 40, 0.25)),
      voice('sine', q(f0) + beat(), 0.22, lfo(20, 40, 0.3)),
      voice('sine', q(f0 / 2), 0.15, lfo(30, 60, 0.2)),
      voice('sine', q(f0 * 1.5), 0.14, lfo(25, 50, 0.5)),
      voice('triangle', q(f0 * 2), 0.06, lfo(15, 35, 0.6)),
    );
    plan.filter = { freq: 700, q: 0.5, lfo: lfo(30, 60, 0.3) };
    plan.reverb = { seconds: 2.5, wet: 0.25 };
  } else if (texture === 'pad') {
    for (const semis of CHORDS[Math.floor(rng() * CHORDS.length)]) {
      const f = q(f0 * 2 ** (semis / 12));
      plan.voices.push(voice('sawtooth', f, 0.045, lfo(15, 35, 0.4)));
      plan.voices.push(voice('sawtooth', f + beat(), 0.045, lfo(15, 35, 0.4)));
    }
    plan.voices.push(voice('sine', q(f0), 0.12, lfo(30, 60, 0.2)));
    plan.filter = { freq: 600 + rng() * 400, q: 0.7, lfo: lfo(20, 45, 0.45) };
    plan.reverb = { seconds: 3, wet: 0.35 };
  } else if (texture === 'waves') {
    // Each layer is a wash of filtered noise; the filter opens as the swell rises, like surf.
    for (const [gain, freq, min, max] of [
      [1.2, 500, 7, 12],
      [0.7, 900, 11, 17],
    ]) {
      const swell = lfo(min, max, 0.85);
      plan.noise.push({ gain, start: rng(), lfo: swell, filter: { freq, q: 0.3, lfo: { ...swell, depth: 0.6 } } });
    }
    plan.voices.push(voice('sine', q(f0), 0.08, lfo(30, 60, 0.3)), voice('sine', q(f0 * 1.5), 0.04, lfo(30, 60, 0.4)));
    plan.filter = { freq: 2500, q: 0.5 };
    plan.reverb = { seconds: 2.5, wet: 0.2 };
  } else {
    plan.voices.push(
      voice('sine', q(f0), 0.1, lfo(30, 60, 0.3)),
      voice('sine', q(f0 * 1.5), 0.05, lfo(25, 50, 0.4)),
      voice('sine', q(f0 * 2), 0.03, lfo(20, 40, 0.5)),
    );
    const notes = keyFrequencies(key, 3).slice(5); // one and two octaves above the root
    let last = -1;
    for (let t = rng() * 3; t < L; t += 4 + rng() * 6) {
      let n;
      do n = Math.floor(rng() * notes.length);
      while (n === last);
      last = n;
      plan.events.push({ time: t, freq: notes[n], gain: 0.16 + rng() * 0.08, attack: 0.03, decay: 4 + rng() * 3 });
    }
    // Keep the gap across the loop seam as unhurried as the others.
    while (plan.events.length > 1 && L - plan.events[plan.events.length - 1].time + plan.events[0].time < 4)
      plan.events.pop();
    plan.filter = { freq: 3000, q: 0.5 };
    plan.reverb = { seconds: 3, wet: 0.4 };
  }
  return plan;
}

/** Render times of a strike (loop time + warm-up + k·loop, k ≤ 0), so tails ring over the seam. */
export function strikeRepeats(time, loopSeconds, warmupSeconds) {
  const out = [];
  for (let k = -Math.ceil(warmupSeconds / loopSeconds); k <= 0; k++) {
    const at = warmupSeconds + time + k * loopSeconds;
    if (at >= 0) out.push(at);
  }
  return out;
}

/** Planned loudness (not the waveform) `t` s into the loop; equal at 0 and the loop's end. */
export function planLevel(plan, t) {
  const L = plan.loopSeconds;
  let level = 0;
  for (const part of [...plan.voices, ...plan.noise]) level += lfoValue(part.gain, part.lfo, t, L);
  for (const ev of plan.events) {
    for (const at of strikeRepeats(ev.time, L, WARMUP_SECONDS)) {
      level += strikeEnvelope(t + WARMUP_SECONDS - at, ev.gain, ev.attack, ev.decay);
    }
  }
  return level;
}

/** Adds the sum of squares and the peak of samples[from, to) to `level`. */
function measure(samples, from, to, level) {
  for (let i = from; i < to; i++) {
    const s = samples[i];
    level.sum += s * s;
    if (Math.abs(s) > level.peak) level.peak = Math.abs(s);
  }
  return level;
}

function gainFor({ sum, peak }, length, { targetRms = 0.12, maxPeak = 0.89 } = {}) {
  if (!peak) return 1;
  return Math.min(targetRms / Math.sqrt(sum / length), maxPeak / peak);
}

/** Gain bringing samples to a calm, even loudness without letting peaks clip. */
export function normalizationGain(samples, options) {
  return gainFor(measure(samples, 0, samples.length, { sum: 0, peak: 0 }), samples.length, options);
}

function defaultOfflineContext() {
  return globalThis.OfflineAudioContext ?? globalThis.webkitOfflineAudioContext;
}

async function render(ctx) {
  // Older Safari's startRendering returns nothing and reports through oncomplete.
  const done = new Promise((resolve) => (ctx.oncomplete = (e) => resolve(e.renderedBuffer)));
  return (await ctx.startRendering()) ?? done;
}

/** A modulator whose sine starts at `phase`, as a one-harmonic PeriodicWave. */
function phasedWave(ctx, phase) {
  const real = new Float32Array([0, Math.sin(phase)]);
  const imag = new Float32Array([0, Math.cos(phase)]);
  return ctx.createPeriodicWave(real, imag, { disableNormalization: true });
}

/** Sets `param` to `base`, swaying by the plan's modulator, phase-aligned to the loop start. */
function modulate(ctx, param, base, lfo, L) {
  param.value = base;
  if (!lfo) return;
  const osc = ctx.createOscillator();
  osc.setPeriodicWave(phasedWave(ctx, lfo.phase - (TAU * lfo.cycles * WARMUP_SECONDS) / L));
  osc.frequency.value = lfo.cycles / L;
  const depth = ctx.createGain();
  depth.gain.value = base * lfo.depth;
  osc.connect(depth).connect(param);
  osc.start(0);
}

function strike(ctx, dest, at, freq, peak, attack, decay) {
  for (const [ratio, gain, decayShare] of PARTIALS) {
    const end = at + attack + decay * decayShare;
    const osc = ctx.createOscillator();
    const env = ctx.createGain();
    osc.frequency.value = freq * ratio;
    env.gain.setValueAtTime(0, at);
    env.gain.linearRampToValueAtTime(peak * gain, at + attack);
    env.gain.exponentialRampToValueAtTime(peak * gain * 0.001, end);
    env.gain.setValueAtTime(0, end);
    osc.connect(env).connect(dest);
    osc.start(at);
    osc.stop(end + 0.01);
  }
}

/** `frames` of seeded white noise, times `envelope(i)` when given, filled a slice at a time. */
async function noiseBuffer(ctx, frames, rng, envelope = null) {
  const buffer = ctx.createBuffer(1, frames, ctx.sampleRate);
  const data = buffer.getChannelData(0);
  await inSlices(frames, (from, to) => {
    for (let i = from; i < to; i++) data[i] = rng() * 2 - 1;
    if (envelope) for (let i = from; i < to; i++) data[i] *= envelope(i);
  });
  return buffer;
}

async function reverb(ctx, seconds, rng) {
  const frames = Math.round(seconds * ctx.sampleRate);
  const impulse = await noiseBuffer(ctx, frames, rng, (i) => (1 - i / frames) ** 3); // smooth tail
  await nextTask(); // preparing the convolution is one long step: it gets a task of its own
  const node = ctx.createConvolver();
  node.buffer = impulse;
  return node;
}

/**
 * Renders a soundscape as a seamless mono WAV loop of min(durationSeconds, 120) s.
 * @param {{key: string, texture: string, seed: number}} params
 * @param {{durationSeconds: number, sampleRate?: number, OfflineAudioContextImpl?: Function}} options
 * @returns {Promise<Blob>}
 */
export async function renderSoundscape(
  params,
  { durationSeconds, sampleRate = 22050, OfflineAudioContextImpl = defaultOfflineContext() } = {},
) {
  if (!OfflineAudioContextImpl) throw new Error('OfflineAudioContext is not available');
  const { frames, segments } = loopFrames(durationSeconds, sampleRate);
  const L = frames / sampleRate;
  const plan = planSoundscape(params, L);
  const rng = createRng(plan.seed);
  const warm = Math.round(WARMUP_SECONDS * sampleRate);
  const ctx = new OfflineAudioContextImpl(1, warm + frames, sampleRate);

  const mix = ctx.createBiquadFilter(); // everything passes one soft low-pass: warm, never harsh
  mix.type = 'lowpass';
  mix.Q.value = plan.filter.q;
  modulate(ctx, mix.frequency, plan.filter.freq, plan.filter.lfo, L);
  mix.connect(ctx.destination);
  const wet = ctx.createGain();
  wet.gain.value = plan.reverb.wet;
  mix
    .connect(await reverb(ctx, plan.reverb.seconds, rng))
    .connect(wet)
    .connect(ctx.destination);
  await nextTask(); // the rest of the graph in a task after the convolver's

  for (const v of plan.voices) {
    const osc = ctx.createOscillator();
    osc.type = v.wave;
    osc.frequency.value = v.freq;
    const gain = ctx.createGain();
    modulate(ctx, gain.gain, v.gain, v.lfo, L);
    osc.connect(gain).connect(mix);
    osc.start(0);
  }
  if (plan.noise.length) {
    const buffer = await noiseBuffer(ctx, frames / segments, rng);
    for (const layer of plan.noise) {
      const src = ctx.createBufferSource();
      src.buffer = buffer;
      src.loop = true;
      const filter = ctx.createBiquadFilter();
      filter.Q.value = layer.filter.q;
      modulate(ctx, filter.frequency, layer.filter.freq, layer.filter.lfo, L);
      const gain = ctx.createGain();
      modulate(ctx, gain.gain, layer.gain, layer.lfo, L);
      src.connect(filter).connect(gain).connect(mix);
      src.start(0, layer.start * buffer.duration);
    }
  }
  for (const ev of plan.events) {
    for (const at of strikeRepeats(ev.time, L, WARMUP_SECONDS)) {
      strike(ctx, mix, at, ev.freq, ev.gain, ev.attack, ev.decay);
    }
  }

  const loop = (await render(ctx)).getChannelData(0).subarray(warm, warm + frames);
  const level = { sum: 0, peak: 0 };
  await inSlices(loop.length, (from, to) => measure(loop, from, to, level));
  return encodeWavInSlices([loop], sampleRate, { gain: gainFor(level, loop.length) });
}

/** Renders the cue chime, a soft 2.5 s bell (C5): gentle attack, long decay. @returns {Promise<Blob>} */
export async function renderChime({ sampleRate = 22050, OfflineAudioContextImpl = defaultOfflineContext() } = {}) {
  if (!OfflineAudioContextImpl) throw new Error('OfflineAudioContext is not available');
  const ctx = new OfflineAudioContextImpl(1, Math.round(2.5 * sampleRate), sampleRate);
  const soft = ctx.createBiquadFilter();
  soft.frequency.value = 3000;
  soft.connect(ctx.destination);
  strike(ctx, soft, 0, midiToHz(72), 1, 0.05, 2.4);
  const samples = (await render(ctx)).getChannelData(0);
  const gain = normalizationGain(samples, { targetRms: 1, maxPeak: 0.5 }); // a chime should not startle
  for (let i = 0; i < samples.length; i++) samples[i] *= gain;
  return encodeWav([samples], sampleRate);
}
