// The phone's copy of the start-window rule (static/js/lib/start-window.js): states, wording, day-of.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  clockLabel,
  dayLabel,
  notTodayMessage,
  notYetTickable,
  tooEarlyMessage,
  windowState,
} from '../../static/js/lib/start-window.js';

const ZONE = 'America/New_York';
// Thursday 10 December 2026, 10:00 EST booked, 120 minutes: open 08:00 until Friday 00:00.
const WINDOW = { opens_at: '2026-12-10T13:00:00Z', closes_at: '2026-12-11T05:00:00Z' };
const at = (iso) => Date.parse(iso);

test('the window is open from its opening until just before local midnight', () => {
  assert.equal(windowState(WINDOW, at('2026-12-10T12:59:59Z')), 'before');
  assert.equal(windowState(WINDOW, at('2026-12-10T13:00:00Z')), 'open');
  assert.equal(windowState(WINDOW, at('2026-12-11T04:59:59Z')), 'open');
  assert.equal(windowState(WINDOW, at('2026-12-11T05:00:00Z')), 'after');
  assert.equal(windowState({}, at('2026-12-11T05:00:00Z')), 'open', 'no window known: the server decides');
});

test('the wording matches the server, in the clinic zone', () => {
  assert.equal(
    notTodayMessage(WINDOW, at('2026-12-03T15:00:00Z'), ZONE),
    'This session can start from 08:00 on Thursday 10 December.',
  );
  assert.equal(notTodayMessage(WINDOW, at('2026-12-10T15:00:00Z'), ZONE), '');
  assert.equal(
    notTodayMessage(WINDOW, at('2026-12-11T05:00:00Z'), ZONE),
    'This session was booked for Thursday 10 December; it can no longer be started. Please contact the clinic.',
  );
  assert.equal(clockLabel('2026-12-11T05:00:00Z', ZONE), '00:00');
  assert.equal(dayLabel('2026-11-01T04:30:00Z', ZONE), 'Sunday 1 November');
});

test('day-of items wait for their day unless already ticked', () => {
  const item = { tickable_from: '2026-12-09T05:00:00Z', checked: false };
  assert.equal(notYetTickable(item, at('2026-12-09T04:59:59Z')), true);
  assert.equal(notYetTickable(item, at('2026-12-09T05:00:00Z')), false);
  assert.equal(notYetTickable({ ...item, checked: true }, at('2026-12-01T00:00:00Z')), false, 'can be unticked');
  assert.equal(notYetTickable({ tickable_from: null, checked: false }, 0), false);
  assert.equal(tooEarlyMessage(item.tickable_from, ZONE), 'You can tick this from Wednesday 9 December.');
});
