// WAV encoder: Float32 samples to a 16-bit PCM RIFF file, so generated audio can play in <audio>.
//
// A soundscape loop is millions of samples: encodeWavInSlices() does the work in slices and lets
// the page handle taps and paint in between, so session mode never freezes while it prepares music.

/** Samples handled between two pauses: a few milliseconds of work even on a slow phone. */
export const SLICE = 1 << 13;

/**
 * Resolves in a later task. Not setTimeout: timers of a hidden page (a locked screen) are
 * throttled to one a second, and the next track is often rendered with the screen locked.
 */
export function nextTask() {
  if (globalThis.scheduler?.yield) return globalThis.scheduler.yield();
  return new Promise((resolve) => {
    const { port1, port2 } = new MessageChannel();
    port1.onmessage = () => {
      port1.close();
      resolve();
    };
    port2.postMessage(null);
  });
}

/**
 * Runs `work(from, to)` over [0, length) in slices of `slice`, awaiting `pause()` between them.
 * @param {number} length @param {(from: number, to: number) => void} work
 */
export async function inSlices(length, work, { slice = SLICE, pause = nextTask } = {}) {
  for (let from = 0; from < length; from += slice) {
    if (from) await pause();
    work(from, Math.min(length, from + slice));
  }
}

/** An empty file for `frames` frames of `channels` (checked): bytes, a view, the header written. */
function startFile(channels, sampleRate) {
  const count = channels.length;
  if (!count) throw new RangeError('encodeWav needs at least one channel');
  const frames = channels[0].length;
  if (channels.some((c) => c.length !== frames)) throw new RangeError('channels differ in length');
  const dataBytes = frames * count * 2;
  const bytes = new Uint8Array(44 + dataBytes);
  const view = new DataView(bytes.buffer);
  const ascii = (at, text) => {
    for (const [i, ch] of [...text].entries()) view.setUint8(at + i, ch.charCodeAt(0));
  };

  ascii(0, 'RIFF');
  view.setUint32(4, 36 + dataBytes, true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  view.setUint32(16, 16, true); // fmt chunk size
  view.setUint16(20, 1, true); // PCM
  view.setUint16(22, count, true);
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * count * 2, true); // byte rate
  view.setUint16(32, count * 2, true); // block align
  view.setUint16(34, 16, true); // bits per sample
  ascii(36, 'data');
  view.setUint32(40, dataBytes, true);
  return { bytes, view, frames };
}

/** Writes frames [from, to) times `gain`, clipped to -1..1, after the header. */
function writeFrames(view, channels, from, to, gain) {
  const count = channels.length;
  let at = 44 + from * count * 2;
  for (let f = from; f < to; f++) {
    for (let c = 0; c < count; c++) {
      const s = Math.max(-1, Math.min(1, channels[c][f] * gain || 0)); // NaN becomes silence
      view.setInt16(at, Math.round(s < 0 ? s * 0x8000 : s * 0x7fff), true);
      at += 2;
    }
  }
}

/**
 * Encodes channels of samples (-1..1, clipped) as a 16-bit little-endian PCM WAV file.
 * @param {Float32Array[]} channels  one array per channel, all the same length
 * @param {number} sampleRate  frames per second
 * @returns {Uint8Array}  the complete file: 44-byte header then interleaved samples
 */
export function encodeWavBytes(channels, sampleRate) {
  const { bytes, view, frames } = startFile(channels, sampleRate);
  writeFrames(view, channels, 0, frames, 1);
  return bytes;
}

/**
 * Encodes channels as a WAV Blob (type audio/wav) ready for URL.createObjectURL.
 * @param {Float32Array[]} channels
 * @param {number} sampleRate
 * @returns {Blob}
 */
export function encodeWav(channels, sampleRate) {
  return new Blob([encodeWavBytes(channels, sampleRate)], { type: 'audio/wav' });
}

/**
 * The same file as encodeWav of the samples times `gain`, written a slice at a time.
 * @param {Float32Array[]} channels @param {number} sampleRate
 * @param {{gain?: number, slice?: number, pause?: () => Promise<void>}} [options]
 * @returns {Promise<Blob>}
 */
export async function encodeWavInSlices(channels, sampleRate, { gain = 1, ...slicing } = {}) {
  const { bytes, view, frames } = startFile(channels, sampleRate);
  await inSlices(frames, (from, to) => writeFrames(view, channels, from, to, gain), slicing);
  return new Blob([bytes], { type: 'audio/wav' });
}
