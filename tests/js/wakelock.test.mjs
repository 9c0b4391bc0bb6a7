// ScreenWakeLock: held while running, re-acquired when the page is visible again, released on stop.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ScreenWakeLock } from '../../static/js/lib/session/wakelock.js';

class FakeSentinel extends EventTarget {
  released = false;
  async release() {
    this.released = true;
    this.dispatchEvent(new Event('release'));
  }
}
function env({ refuse = false } = {}) {
  const document = Object.assign(new EventTarget(), { visibilityState: 'visible' });
  const sentinels = [];
  const navigator = {
    wakeLock: {
      async request(type) {
        assert.equal(type, 'screen');
        if (refuse) throw new Error('NotAllowedError');
        const s = new FakeSentinel();
        sentinels.push(s);
        return s;
      },
    },
  };
  return { document, navigator, sentinels };
}
const flush = () => new Promise((r) => setImmediate(r));

test('holds the lock while running and releases it on stop', async () => {
  const e = env();
  const lock = new ScreenWakeLock(e);
  assert.equal(lock.supported, true);
  await lock.start();
  assert.equal(lock.active, true);
  await lock.start(); // idempotent
  assert.equal(e.sentinels.length, 1);
  await lock.stop();
  assert.equal(lock.active, false);
  assert.equal(e.sentinels[0].released, true);
});

test('re-acquires when the page becomes visible again, but not after stop', async () => {
  const e = env();
  const lock = new ScreenWakeLock(e);
  await lock.start();
  // the browser drops the lock when the page is hidden
  e.document.visibilityState = 'hidden';
  await e.sentinels[0].release();
  e.document.dispatchEvent(new Event('visibilitychange'));
  await flush();
  assert.equal(lock.active, false, 'not requested while hidden');
  e.document.visibilityState = 'visible';
  e.document.dispatchEvent(new Event('visibilitychange'));
  await flush();
  assert.equal(lock.active, true);
  assert.equal(e.sentinels.length, 2);
  await lock.stop();
  e.document.dispatchEvent(new Event('visibilitychange'));
  await flush();
  assert.equal(e.sentinels.length, 2);
});

test('is a quiet no-op where unsupported or refused', async () => {
  const none = new ScreenWakeLock({ navigator: {}, document: new EventTarget() });
  assert.equal(none.supported, false);
  await none.start();
  await none.stop();
  assert.equal(none.active, false);
  const refused = new ScreenWakeLock(env({ refuse: true }));
  await refused.start();
  assert.equal(refused.active, false);
  await refused.stop();
  const bare = new ScreenWakeLock({ navigator: undefined, document: undefined });
  await bare.start();
});
