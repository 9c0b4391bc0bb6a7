// The service worker's push and tap rules (static/js/lib/notifications.js): generic words, and
// a tap that only ever opens a page of this app.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import '../../static/js/lib/notifications.js';

const { fromPush, safePath, tapAction } = globalThis.KapNotifications;
const ORIGIN = 'https://kap.example';

test('a path of the app is kept, with its query', () => {
  assert.equal(safePath('/patient/sessions/12/ride', ORIGIN), '/patient/sessions/12/ride');
  assert.equal(safePath('/patient/checkins/phq9?from=push', ORIGIN), '/patient/checkins/phq9?from=push');
});

test('anything that could lead to another site opens the home page instead', () => {
  for (const path of [
    '//evil.example/phish',
    '/\\evil.example',
    '\\\\evil.example',
    '/\t/evil.example',
    '/\n/evil.example',
    'https://evil.example/',
    'javascript:alert(1)',
    'patient/home',
    '',
    null,
    undefined,
    42,
    { path: '/x' },
  ]) {
    assert.equal(safePath(path, ORIGIN), '/', JSON.stringify(path));
  }
});

test('a push becomes a generic notice; odd payloads still show one', () => {
  const push = fromPush({ title: 'Demo Clinic', body: 'You have a reminder', path: '/patient/' }, ORIGIN, '/i.png');
  assert.deepEqual(push, {
    title: 'Demo Clinic',
    options: { body: 'You have a reminder', tag: 'kap-reminder', icon: '/i.png', data: { path: '/patient/' } },
  });
  for (const data of [null, 'text', [], { title: 7, body: '', path: '//evil.example' }]) {
    const { title, options } = fromPush(data, ORIGIN, '/i.png');
    assert.equal(title, 'KAP Companion');
    assert.equal(options.body, 'You have a reminder');
    assert.equal(options.data.path, '/');
  }
  assert.equal(fromPush({ tag: 'ride:s12' }, ORIGIN).options.tag, 'ride:s12');
});

test('a tap focuses the window already there, else brings another one, never session mode', () => {
  const at = (path) => ({ url: ORIGIN + path });
  const target = `${ORIGIN}/patient/sessions/12/ride`;
  const there = at('/patient/sessions/12/ride');
  const home = at('/patient/');
  const session = at('/patient/sessions/11/mode');
  const foreign = { url: 'https://other.example/patient/' };
  assert.deepEqual(tapAction([home, there], target), { action: 'focus', client: there });
  assert.deepEqual(tapAction([session, home], target), { action: 'navigate', client: home });
  assert.deepEqual(tapAction([session], target), { action: 'open', client: null });
  assert.deepEqual(tapAction([foreign], target), { action: 'open', client: null });
  assert.deepEqual(tapAction([], target), { action: 'open', client: null });
});
