// WAV encoder: RIFF header fields, 16-bit sample conversion with clipping, lengths, slices.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeWav, encodeWavBytes, encodeWavInSlices, inSlices, nextTask } from '../../static/js/lib/session/wav.js';

const text = (bytes, at, n) => String.fromCharCode(...bytes.slice(at, at + n));

test('mono header fields are a proper 16-bit PCM RIFF header', () => {
  const bytes = encodeWavBytes([new Float32Array(100)], 22050);
  const view = new DataView(bytes.buffer);
  assert.equal(bytes.length, 44 + 200);
  assert.equal(text(bytes, 0, 4), 'RIFF');
  assert.equal(view.getUint32(4, true), bytes.length - 8);
  assert.equal(text(bytes, 8, 4), 'WAVE');
  assert.equal(text(bytes, 12, 4), 'fmt ');
  assert.equal(view.getUint32(16, true), 16);
  assert.equal(view.getUint16(20, true), 1, 'PCM');
  assert.equal(view.getUint16(22, true), 1, 'channels');
  assert.equal(view.getUint32(24, true), 22050);
  assert.equal(view.getUint32(28, true), 44100, 'byte rate');
  assert.equal(view.getUint16(32, true), 2, 'block align');
  assert.equal(view.getUint16(34, true), 16);
  assert.equal(text(bytes, 36, 4), 'data');
  assert.equal(view.getUint32(40, true), 200);
});

test('stereo interleaves channels and doubles rates', () => {
  const left = Float32Array.from([1, 0]);
  const right = Float32Array.from([-1, 0.5]);
  const bytes = encodeWavBytes([left, right], 44100);
  const view = new DataView(bytes.buffer);
  assert.equal(view.getUint16(22, true), 2);
  assert.equal(view.getUint32(28, true), 44100 * 4);
  assert.equal(view.getUint16(32, true), 4);
  assert.equal(view.getUint32(40, true), 8);
  assert.deepEqual(
    [0, 1, 2, 3].map((i) => view.getInt16(44 + i * 2, true)),
    [32767, -32768, 0, 16384],
  );
});

test('samples are clipped to the 16-bit range and NaN becomes silence', () => {
  const bytes = encodeWavBytes([Float32Array.from([2, -3, 0.25, -0.25, NaN, Infinity, -Infinity])], 8000);
  const view = new DataView(bytes.buffer);
  const samples = [...Array(7)].map((_, i) => view.getInt16(44 + i * 2, true));
  assert.deepEqual(samples, [32767, -32768, 8192, -8192, 0, 32767, -32768]);
});

test('empty input still makes a valid, empty file', () => {
  const bytes = encodeWavBytes([new Float32Array(0)], 22050);
  assert.equal(bytes.length, 44);
  assert.equal(new DataView(bytes.buffer).getUint32(40, true), 0);
});

test('mismatched or missing channels are refused', () => {
  assert.throws(() => encodeWavBytes([], 22050), RangeError);
  assert.throws(() => encodeWavBytes([new Float32Array(2), new Float32Array(3)], 22050), RangeError);
});

test('encodeWav returns an audio/wav Blob of the same bytes', async () => {
  const samples = [Float32Array.from([0, 0.5, -0.5])];
  const blob = encodeWav(samples, 22050);
  assert.equal(blob.type, 'audio/wav');
  assert.deepEqual(new Uint8Array(await blob.arrayBuffer()), encodeWavBytes(samples, 22050));
});

test('encodeWavInSlices writes the file encodeWav makes of the samples times the gain', async () => {
  const samples = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i / 10) * 0.9);
  let pauses = 0;
  const pause = async () => {
    pauses += 1;
  };
  const blob = await encodeWavInSlices([samples], 8000, { gain: 0.5, slice: 128, pause });
  assert.equal(blob.type, 'audio/wav');
  const halved = samples.map((s) => s * 0.5); // exact in float32: the same samples either way
  assert.deepEqual(new Uint8Array(await blob.arrayBuffer()), encodeWavBytes([halved], 8000));
  assert.equal(pauses, Math.ceil(1000 / 128) - 1, 'a pause between slices, none before or after');
});

test('inSlices covers the range once, in order, in slices of the given size', async () => {
  const seen = [];
  await inSlices(10, (from, to) => seen.push([from, to]), { slice: 4, pause: async () => {} });
  assert.deepEqual(seen, [
    [0, 4],
    [4, 8],
    [8, 10],
  ]);
  await inSlices(0, () => assert.fail('nothing to do'));
});

test('nextTask resolves after the current task, not within it', async () => {
  const order = [];
  const waited = nextTask().then(() => order.push('next task'));
  await Promise.resolve();
  order.push('same task');
  await waited;
  assert.deepEqual(order, ['same task', 'next task']);
});
