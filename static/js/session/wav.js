// WAV encoder: Float32 samples to a 16-bit PCM RIFF file, so generated audio can play in <audio>.

/**
 * Encodes channels of samples (-1..1, clipped) as a 16-bit little-endian PCM WAV file.
 * @param {Float32Array[]} channels  one array per channel, all the same length
 * @param {number} sampleRate  frames per second
 * @returns {Uint8Array}  the complete file: 44-byte header then interleaved samples
 */
export function encodeWavBytes(channels, sampleRate) {
  const count = channels.length;
  if (!count) throw new RangeError('encodeWav needs at least one channel');
  const frames = channels[0].length;
  if (channels.some((c) => c.length !== frames)) throw new RangeError('channels differ in length');
  const dataBytes = frames * count * 2;
  const bytes = new Uint8Array(44 + dataBytes);
  const view = new DataView(bytes.buffer);
  const ascii = (at, text) => [...text].forEach((ch, i) => view.setUint8(at + i, ch.charCodeAt(0)));

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

  let at = 44;
  for (let f = 0; f < frames; f++) {
    for (let c = 0; c < count; c++) {
      const s = Math.max(-1, Math.min(1, channels[c][f] || 0)); // NaN becomes silence
      view.setInt16(at, Math.round(s < 0 ? s * 0x8000 : s * 0x7fff), true);
      at += 2;
    }
  }
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
