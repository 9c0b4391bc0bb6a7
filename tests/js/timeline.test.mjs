// Timeline maths: the cross-fade rule the server shares, positions, fades, phases and cues.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  cuesBetween,
  downtimeRemaining,
  effectiveCrossfade,
  fadeGain,
  phaseAt,
  playlistLength,
  positionAt,
  trackStarts,
} from '../../static/js/lib/session/timeline.js';

const track = (duration_seconds) => ({ duration_seconds });
const three = [track(60), track(100), track(40)];

test('effective crossfade is the smallest of the setting and half of each track', () => {
  assert.equal(effectiveCrossfade(track(60), track(100), 8), 8);
  assert.equal(effectiveCrossfade(track(10), track(100), 8), 5);
  assert.equal(effectiveCrossfade(track(100), track(6), 8), 3);
  assert.equal(effectiveCrossfade(track(60), track(60), 0), 0);
  assert.equal(effectiveCrossfade(track(60), track(60), -3), 0, 'negative setting counts as none');
  assert.equal(effectiveCrossfade(track(60), track(60), null), 0);
});

test('track starts overlap by the effective crossfade', () => {
  assert.deepEqual(trackStarts(three, 8), [0, 52, 144]);
  assert.deepEqual(trackStarts(three, 0), [0, 60, 160]);
  // short middle track: fades on both sides limited to half of it (2 s)
  assert.deepEqual(trackStarts([track(60), track(4), track(60)], 8), [0, 58, 60]);
  assert.deepEqual(trackStarts([], 8), []);
  assert.deepEqual(trackStarts([track(245.3)], 8), [0]);
});

test('playlist length is the last start plus its duration', () => {
  assert.equal(playlistLength(three, 8), 184);
  assert.equal(playlistLength(three, 0), 200);
  assert.equal(playlistLength([track(30)], 8), 30);
  assert.equal(playlistLength([], 8), 0);
  assert.equal(playlistLength([track(60), track(4), track(60)], 8), 120);
});

test('positionAt reports the sounding track, its offset and the incoming track', () => {
  assert.deepEqual(positionAt(0, three, 8), { index: 0, offset: 0, fadingTo: null });
  assert.deepEqual(positionAt(51.5, three, 8), { index: 0, offset: 51.5, fadingTo: null });
  assert.deepEqual(positionAt(52, three, 8), { index: 0, offset: 52, fadingTo: 1 }, 'fade starts at the next start');
  assert.deepEqual(positionAt(59.9, three, 8).fadingTo, 1);
  assert.deepEqual(positionAt(60, three, 8), { index: 1, offset: 8, fadingTo: null }, 'outgoing track ends');
  assert.deepEqual(positionAt(183.9, three, 8).index, 2);
  assert.equal(positionAt(184, three, 8), null, 'null at the end');
  assert.equal(positionAt(1e6, three, 8), null);
  assert.deepEqual(positionAt(-5, three, 8), { index: 0, offset: 0, fadingTo: null }, 'before start counts as 0');
  assert.equal(positionAt(0, [], 8), null);
});

test('positionAt with no crossfade switches exactly at the boundary', () => {
  assert.deepEqual(positionAt(59.999, three, 0), { index: 0, offset: 59.999, fadingTo: null });
  assert.deepEqual(positionAt(60, three, 0), { index: 1, offset: 0, fadingTo: null });
});

test('fade gains are equal-power through a crossfade and fade the edges', () => {
  assert.equal(fadeGain(0, 0, three, 8), 0);
  assert.equal(fadeGain(0, 30, three, 8), 1);
  for (const into of [0, 2, 4, 6, 8]) {
    const out = fadeGain(0, 52 + into, three, 8);
    const incoming = fadeGain(1, into, three, 8);
    assert.ok(Math.abs(out ** 2 + incoming ** 2 - 1) < 1e-9, `power constant at ${into}s`);
  }
  assert.ok(Math.abs(fadeGain(2, 40, three, 8)) < 1e-9, 'last track fades out to silence');
  assert.equal(fadeGain(0, 10, three, 0), 1, 'no fades without a crossfade');
  assert.equal(fadeGain(5, 0, three, 8), 0, 'unknown track is silent');
});

const data = { playlist: three, crossfade_seconds: 8, downtime_minutes: 1 };

test('phases run session, downtime, integration', () => {
  assert.equal(phaseAt(0, data), 'session');
  assert.equal(phaseAt(183.99, data), 'session');
  assert.equal(phaseAt(184, data), 'downtime');
  assert.equal(phaseAt(243.99, data), 'downtime');
  assert.equal(phaseAt(244, data), 'integration');
  const empty = { playlist: [], crossfade_seconds: 8, downtime_minutes: 1 };
  assert.equal(phaseAt(0, empty), 'downtime', 'an empty playlist goes straight to downtime');
  assert.equal(phaseAt(60, empty), 'integration');
  assert.equal(phaseAt(0, { playlist: [], crossfade_seconds: 0, downtime_minutes: 0 }), 'integration');
});

test('downtime remaining counts down only during downtime', () => {
  assert.equal(downtimeRemaining(0, data), 60);
  assert.equal(downtimeRemaining(184, data), 60);
  assert.equal(downtimeRemaining(214, data), 30);
  assert.equal(downtimeRemaining(244, data), 0);
  assert.equal(downtimeRemaining(999, data), 0);
});

test('cuesBetween takes from < at <= to, sorted', () => {
  const cues = [
    { at_seconds: 30, text: 'b' },
    { at_seconds: 0, text: 'a' },
    { at_seconds: 30, text: 'c' },
    { at_seconds: 90, text: 'd' },
  ];
  assert.deepEqual(
    cuesBetween(cues, -1, 0).map((c) => c.text),
    ['a'],
    'first tick includes a cue at 0',
  );
  assert.deepEqual(
    cuesBetween(cues, 0, 30).map((c) => c.text),
    ['b', 'c'],
    'equal times keep order',
  );
  assert.deepEqual(cuesBetween(cues, 30, 89.9), []);
  assert.deepEqual(
    cuesBetween(cues, -60, 1000).map((c) => c.text),
    ['a', 'b', 'c', 'd'],
  );
  assert.deepEqual(cuesBetween([], 0, 10), []);
  assert.deepEqual(cuesBetween(undefined, 0, 10), []);
  assert.equal(cues[0].text, 'b', 'input is not reordered');
});
