// Call staff's words for each state of a call: never more than the server knows.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { callStatus, clockTime, telLink } from '../../static/js/lib/session/staff-call.js';

const ZONE = 'America/New_York';
const PHONE = '+1 212 555 0142';
const options = { zone: ZONE, phone: PHONE };

test('in flight: calling', () => {
  assert.deepEqual(callStatus({ status: 'calling' }, options), { state: 'calling', text: 'Calling staff…', phone: '' });
});

test('still in the outbox: not sent, call out loud or phone the clinic', () => {
  const { text, phone } = callStatus({ status: 'queued' }, options);
  assert.equal(text, 'Not sent yet — no connection. Call out loud, or phone the clinic:');
  assert.equal(phone, PHONE);
});

test('without a clinic phone the advice is to call out loud', () => {
  const { text, phone } = callStatus({ status: 'queued' }, { zone: ZONE });
  assert.equal(text, 'Not sent yet — no connection. Call out loud for help.');
  assert.equal(phone, '');
});

test('refused by the server: could not be called, with the phone', () => {
  const { text, phone } = callStatus({ status: 'failed' }, options);
  assert.match(text, /^Staff could not be called from here\. Call out loud, or phone the clinic:$/);
  assert.equal(phone, PHONE);
});

test('stored but not acknowledged: sent, waiting — nobody is said to be coming', () => {
  const { text } = callStatus({ status: 'sent', acknowledged_at: null, acknowledged_by: null }, options);
  assert.equal(text, 'Sent — waiting for staff');
  assert.doesNotMatch(text, /on the way/i);
});

test('acknowledged: who and when, in the clinic zone (summer and winter time)', () => {
  const summer = {
    status: 'acknowledged',
    acknowledged_by: 'Dr. Tess Rivera',
    acknowledged_at: '2026-07-01T18:32:00Z',
  };
  assert.equal(callStatus(summer, options).text, 'Staff have seen your call — Dr. Tess Rivera, 14:32');
  const winter = { ...summer, acknowledged_at: '2026-12-01T19:32:00Z' };
  assert.equal(callStatus(winter, options).text, 'Staff have seen your call — Dr. Tess Rivera, 14:32');
});

test('acknowledged by someone whose name is gone: the time alone', () => {
  const call = { status: 'acknowledged', acknowledged_by: null, acknowledged_at: '2026-12-01T19:32:00Z' };
  assert.equal(callStatus(call, options).text, 'Staff have seen your call — 14:32');
});

test('resolved: closed by staff at the clinic time', () => {
  const call = { status: 'resolved', acknowledged_by: 'Dr. Tess Rivera', resolved_at: '2026-12-01T19:40:00Z' };
  assert.equal(callStatus(call, options).text, 'Your call was closed by staff at 14:40');
});

test('no call: nothing to say', () => {
  assert.deepEqual(callStatus(null, options), { state: '', text: '', phone: '' });
});

test('times: 24-hour; an unknown zone falls back to the device zone; junk is empty', () => {
  assert.equal(clockTime('2026-12-01T09:05:00Z', 'UTC'), '09:05');
  assert.match(clockTime('2026-12-01T09:05:00Z', 'Not/AZone'), /^\d\d:\d\d$/);
  assert.equal(clockTime('not a time', ZONE), '');
  assert.equal(clockTime(null, ZONE), '');
});

test('tel: links keep the plus and the digits', () => {
  assert.equal(telLink(PHONE), 'tel:+12125550142');
  assert.equal(telLink('(212) 555-0142'), 'tel:2125550142');
});
