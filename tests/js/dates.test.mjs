// localLabel writes dates exactly as the server's `local` filter (kap/web/templating.py).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { localLabel } from '../../static/js/lib/dates.js';

const AT = '2026-09-07T08:05:00Z'; // a Monday in September (en-GB would say "Sept")

test('the four styles match the server', () => {
  assert.equal(localLabel(AT, 'full', 'Europe/London'), 'Mon 7 Sep 2026, 09:05');
  assert.equal(localLabel(AT, 'date', 'Europe/London'), 'Mon 7 Sep 2026');
  assert.equal(localLabel(AT, 'short', 'Europe/London'), 'Mon 7 Sep, 09:05');
  assert.equal(localLabel(AT, 'time', 'Europe/London'), '09:05');
});

test('the clinic zone decides the day and the hour', () => {
  assert.equal(localLabel('2026-11-23T23:30:00Z', 'full', 'America/New_York'), 'Mon 23 Nov 2026, 18:30');
  assert.equal(localLabel('2026-11-23T23:30:00Z', 'full', 'Asia/Tokyo'), 'Tue 24 Nov 2026, 08:30');
});

test('midnight is 00, never 24', () => {
  assert.equal(localLabel('2026-01-01T00:00:00Z', 'time', 'UTC'), '00:00');
});

test('an unknown zone or a bad time does not throw', () => {
  assert.equal(typeof localLabel(AT, 'full', 'Not/AZone'), 'string');
  assert.equal(localLabel('not a time', 'full', 'UTC'), '');
});
