// SessionClock: elapsed time from the recorded start, pauses, and persistence across reloads.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SessionClock } from '../../static/js/lib/session/clock.js';

class MemoryStorage {
  constructor(entries = {}) {
    this.map = new Map(Object.entries(entries));
  }
  getItem(k) {
    return this.map.has(k) ? this.map.get(k) : null;
  }
  setItem(k, v) {
    this.map.set(k, String(v));
  }
  removeItem(k) {
    this.map.delete(k);
  }
}

const START = Date.parse('2026-11-22T14:00:05Z');
const KEY = 'kap:session-clock:12';

test('elapsed counts from the recorded start', () => {
  const clock = new SessionClock({ sessionId: 12, startedAt: '2026-11-22T14:00:05Z', storage: new MemoryStorage() });
  assert.equal(clock.startedAt, START);
  assert.equal(clock.elapsed(START + 90_500), 90.5);
  assert.equal(clock.elapsed(START - 5000), 0, 'never negative');
  assert.equal(clock.isPaused, false);
});

test('pauses are subtracted and elapsed freezes while paused', () => {
  const clock = new SessionClock({ sessionId: 12, startedAt: START, storage: new MemoryStorage() });
  clock.pause(START + 10_000);
  assert.equal(clock.isPaused, true);
  assert.equal(clock.elapsed(START + 50_000), 10);
  clock.pause(START + 60_000); // second pause is a no-op
  clock.resume(START + 40_000);
  assert.equal(clock.isPaused, false);
  assert.equal(clock.elapsed(START + 45_000), 15);
  clock.resume(START + 46_000); // resume while running is a no-op
  clock.pause(START + 50_000);
  clock.resume(START + 70_000);
  assert.equal(clock.elapsed(START + 80_000), 30);
});

test('resuming with a clock set backwards adds no pause time', () => {
  const clock = new SessionClock({ sessionId: 1, startedAt: START, storage: null });
  clock.pause(START + 10_000);
  clock.resume(START + 5_000);
  assert.equal(clock.elapsed(START + 20_000), 20);
});

test('pause state survives a reload through storage', () => {
  const storage = new MemoryStorage();
  const first = new SessionClock({ sessionId: 12, startedAt: START, storage });
  first.pause(START + 10_000);
  first.resume(START + 30_000);
  first.pause(START + 40_000);
  assert.ok(storage.getItem(KEY));
  const reloaded = new SessionClock({ sessionId: 12, startedAt: START, storage });
  assert.equal(reloaded.isPaused, true);
  assert.equal(reloaded.elapsed(START + 100_000), 20);
  reloaded.resume(START + 50_000);
  const again = new SessionClock({ sessionId: 12, startedAt: START, storage });
  assert.equal(again.elapsed(START + 60_000), 30);
});

test('without a recorded start, a stored start is used, else now', () => {
  const storage = new MemoryStorage();
  const fresh = new SessionClock({ sessionId: 5, startedAt: null, storage, now: START });
  assert.equal(fresh.startedAt, START);
  const reloaded = new SessionClock({ sessionId: 5, startedAt: null, storage, now: START + 99_000 });
  assert.equal(reloaded.startedAt, START);
  assert.equal(reloaded.elapsed(START + 99_000), 99);
  const serverWins = new SessionClock({ sessionId: 5, startedAt: START + 2000, storage });
  assert.equal(serverWins.startedAt, START + 2000);
});

test('each session has its own key', () => {
  const storage = new MemoryStorage();
  new SessionClock({ sessionId: 1, startedAt: START, storage }).pause(START + 1000);
  assert.equal(new SessionClock({ sessionId: 2, startedAt: START, storage }).isPaused, false);
});

for (const [name, raw] of [
  ['not JSON', '{oops'],
  ['null', 'null'],
  ['a number', '42'],
  ['missing fields', '{"startedAt": 1}'],
  ['negative pause total', JSON.stringify({ startedAt: START, pausedMs: -5, pausedAt: null })],
  ['pause before start', JSON.stringify({ startedAt: START, pausedMs: 0, pausedAt: START - 1 })],
  ['strings for numbers', JSON.stringify({ startedAt: String(START), pausedMs: '0', pausedAt: null })],
]) {
  test(`corrupt stored state (${name}) is ignored and replaced`, () => {
    const storage = new MemoryStorage({ [KEY]: raw });
    const clock = new SessionClock({ sessionId: 12, startedAt: START, storage });
    assert.equal(clock.isPaused, false);
    assert.equal(clock.elapsed(START + 7000), 7);
    assert.deepEqual(JSON.parse(storage.getItem(KEY)), { startedAt: START, pausedMs: 0, pausedAt: null });
  });
}

test('storage that throws does not break the clock', () => {
  const angry = {
    getItem() {
      throw new Error('SecurityError');
    },
    setItem() {
      throw new Error('QuotaExceededError');
    },
    removeItem() {
      throw new Error('nope');
    },
  };
  const clock = new SessionClock({ sessionId: 12, startedAt: START, storage: angry });
  clock.pause(START + 3000);
  assert.equal(clock.elapsed(START + 9000), 3);
  clock.clear();
});

test('an invalid recorded start falls back to now', () => {
  const clock = new SessionClock({ sessionId: 3, startedAt: 'not a date', storage: null, now: START });
  assert.equal(clock.startedAt, START);
});

test('clear removes the stored state', () => {
  const storage = new MemoryStorage();
  const clock = new SessionClock({ sessionId: 12, startedAt: START, storage });
  clock.clear();
  assert.equal(storage.getItem(KEY), null);
});

test('default storage is absent in node and the clock still works', () => {
  const clock = new SessionClock({ sessionId: 9, startedAt: START });
  assert.equal(clock.elapsed(START + 1000), 1);
});
