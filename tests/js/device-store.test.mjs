// IndexedDB as Safari gives it: transactions that fail now and then. The device store retries
// them on a reopened database, never writes a record twice, and says clearly when it gives up;
// the outbox never loses a record or sends one twice because of it.

import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import '../../static/js/lib/device-store.js';
import '../../static/js/lib/outbox-core.js';
import { fakeIndexedDB } from './fake-indexeddb.mjs';

const core = { ...globalThis.KapStore, ...globalThis.KapOutbox };
const USER = '7';
const DB = core.dbName(USER);
let idb;
let warnings;

beforeEach(async () => {
  await core.closeAll();
  idb = fakeIndexedDB();
  globalThis.indexedDB = idb;
  warnings = [];
  console.warn = (message) => warnings.push(message); // each retry is logged, not thrown
});

const outboxWrites = ({ store, mode }) => store === 'outbox' && mode === 'readwrite';
const outboxReads = ({ store, mode }) => store === 'outbox' && mode === 'readonly';

const json = (status, body) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

/** A server that counts POSTs of check-ins (a write the server cannot recognise twice). */
function server() {
  const posts = [];
  const fetchImpl = async (url, options = {}) => {
    if (url === '/api/v1/me') return json(200, { user: { id: Number(USER) }, csrf_token: 't' });
    posts.push(JSON.parse(options.body));
    return json(201, { id: posts.length, instrument: 'phq9', score: 3 });
  };
  return { fetchImpl, posts };
}

const checkin = () => ({
  kind: 'measure',
  method: 'POST',
  url: '/api/v1/measures',
  body: { instrument: 'phq9', answers: [0, 1, 0, 0, 1, 0, 1, 0, 0] },
  label: 'Check-in',
});

test('a write that fails twice (UnknownError) is retried on a reopened database and stored once', async () => {
  await core.enqueue(USER, checkin()); // opens the database
  const opensBefore = idb.counts.opens;
  idb.fail({ times: 2, name: 'UnknownError', when: outboxWrites });
  const record = await core.enqueue(USER, { ...checkin(), label: 'Second' });
  assert.equal(idb.counts.aborted, 2);
  assert.equal(idb.counts.opens, opensBefore + 2, 'each failure drops the connection; a new one is opened');
  const rows = idb.rows(DB, 'outbox');
  assert.deepEqual(
    rows.map((r) => r.label),
    ['Check-in', 'Second'],
    'the retried record is there exactly once',
  );
  assert.equal(rows[1].seq, record.seq);
  assert.equal(warnings.length, 2);
  assert.match(warnings[0], /IndexedDB readwrite on outbox failed \(UnknownError\); trying again/);
});

test('a connection the browser closed (InvalidStateError) is reopened, not reported', async () => {
  await core.store.put(USER, 'drafts', { key: 'journal:new', text: 'first' });
  idb.loseConnections();
  await core.store.put(USER, 'drafts', { key: 'journal:new', text: 'after the loss' });
  assert.deepEqual(idb.rows(DB, 'drafts'), [{ key: 'journal:new', text: 'after the loss' }]);
});

test('a stale transaction (TransactionInactiveError) on a read is retried too', async () => {
  await core.store.put(USER, 'sessions', { id: 4, data: { id: 4 } });
  idb.fail({ times: 3, name: 'TransactionInactiveError', when: ({ store }) => store === 'sessions' });
  assert.deepEqual(await core.store.get(USER, 'sessions', 4), { id: 4, data: { id: 4 } });
});

test('storage that keeps failing gives up after a few tries with an error saying so', async () => {
  await core.store.all(USER, 'outbox');
  idb.fail({ times: Number.POSITIVE_INFINITY, name: 'UnknownError', when: outboxWrites });
  await assert.rejects(core.enqueue(USER, checkin()), (error) => {
    assert.equal(error.name, 'StoreError');
    assert.equal(error.attempts, core.ATTEMPTS);
    assert.equal(error.cause.name, 'UnknownError');
    assert.match(error.message, /storage failed 4 times \(UnknownError: /);
    return true;
  });
  assert.equal(idb.counts.aborted, core.ATTEMPTS);
  assert.deepEqual(idb.rows(DB, 'outbox'), [], 'nothing half-written: the caller knows it was not saved');
});

test('an error a retry cannot fix (a full disk) is reported at once', async () => {
  await core.store.all(USER, 'outbox');
  idb.fail({ times: 1, name: 'QuotaExceededError', when: outboxWrites });
  await assert.rejects(core.enqueue(USER, checkin()), { name: 'StoreError', attempts: 1 });
  assert.equal(idb.counts.aborted, 1);
});

test('when storage cannot remove a sent record, the flush reports it, keeps it, and never sends it twice', async () => {
  const { fetchImpl, posts } = server();
  await core.enqueue(USER, checkin());
  idb.fail({ times: Number.POSITIVE_INFINITY, name: 'UnknownError', when: outboxWrites });

  await assert.rejects(core.flush(USER, { fetchImpl }), { name: 'StoreError' });
  assert.equal(posts.length, 1, 'the server has it');
  assert.equal(idb.rows(DB, 'outbox').length, 1, 'still on the phone: storage refused the delete');

  await assert.rejects(core.flush(USER, { fetchImpl }), { name: 'StoreError' });
  assert.equal(posts.length, 1, 'a second flush does not send it again');

  idb.heal();
  assert.deepEqual(await core.flush(USER, { fetchImpl }), { state: 'idle', sent: 1 });
  assert.equal(posts.length, 1);
  assert.deepEqual(idb.rows(DB, 'outbox'), []);
});

test('a flush whose outbox cannot be read fails loudly; the record waits and is sent once later', async () => {
  const { fetchImpl, posts } = server();
  await core.enqueue(USER, checkin());
  idb.fail({ times: Number.POSITIVE_INFINITY, name: 'UnknownError', when: outboxReads });
  await assert.rejects(core.flush(USER, { fetchImpl }), /storage failed 4 times/);
  assert.equal(posts.length, 0);
  idb.heal();
  assert.deepEqual(await core.flush(USER, { fetchImpl }), { state: 'idle', sent: 1 });
  assert.equal(posts.length, 1);
  assert.deepEqual(idb.rows(DB, 'outbox'), []);
});

test('a flush that meets a couple of failures on the way still sends everything once, in order', async () => {
  const { fetchImpl, posts } = server();
  for (const n of [1, 2, 3]) await core.enqueue(USER, { ...checkin(), body: { instrument: 'phq9', n } });
  idb.fail({ times: 2, name: 'UnknownError', when: outboxWrites });
  idb.fail({ times: 1, name: 'InvalidStateError', when: outboxReads });
  assert.deepEqual(await core.flush(USER, { fetchImpl }), { state: 'idle', sent: 3 });
  assert.deepEqual(
    posts.map((p) => p.n),
    [1, 2, 3],
  );
  assert.deepEqual(idb.rows(DB, 'outbox'), []);
});

test('a delete another context holds up for a moment finishes before it resolves', async () => {
  await core.store.put(USER, 'drafts', { key: 'journal:new', text: 'x' });
  await core.closeAll();
  idb.blockDeletes(60);
  assert.equal(await core.deleteDatabase(DB), true);
  assert.deepEqual(
    (await idb.databases()).map((d) => d.name),
    [],
  ); // gone, not pending
  assert.match(warnings.join(' '), /waits for another tab/);
});

test('a delete held up for good stops waiting and says so (false)', async () => {
  await core.store.put(USER, 'drafts', { key: 'journal:new', text: 'x' });
  await core.closeAll();
  idb.blockDeletes(Infinity);
  assert.equal(await core.deleteDatabase(DB, 30), false);
});
