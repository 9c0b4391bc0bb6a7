// The outbox flush: in order, exactly once, never dropping a record on a 4xx.

import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import '../../static/js/lib/device-store.js';
import '../../static/js/lib/outbox-core.js';

const core = { ...globalThis.KapStore, ...globalThis.KapOutbox };
const USER = '7';

/** The five store calls, in memory (one map per store, auto-increment for the outbox). */
function memoryStore() {
  const stores = new Map();
  let seq = 0;
  const of = (name) => stores.get(name) ?? stores.set(name, new Map()).get(name);
  const keyOf = (name, value) => (name === 'outbox' ? (value.seq ?? ++seq) : value[name === 'sessions' ? 'id' : 'key']);
  return {
    get: async (user, name, key) => structuredClone(of(`${user}/${name}`).get(key)),
    all: async (user, name) => [...of(`${user}/${name}`).values()].map((v) => structuredClone(v)),
    put: async (user, name, value) => {
      const key = keyOf(name, value);
      of(`${user}/${name}`).set(key, structuredClone({ ...value, ...(name === 'outbox' ? { seq: key } : {}) }));
      return key;
    },
    delete: async (user, name, key) => void of(`${user}/${name}`).delete(key),
    clear: async (user, name) => void of(`${user}/${name}`).clear(),
  };
}

const json = (status, body, headers = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } });

/**
 * A fake server: `routes` maps "METHOD path" to a function (request, body) => Response or a
 * thrown TypeError (no network). Records every call.
 */
function fakeServer(routes) {
  const calls = [];
  const fetchImpl = async (url, options = {}) => {
    const method = options.method ?? 'GET';
    const body = options.body ? JSON.parse(options.body) : undefined;
    calls.push({ method, url, body, token: options.headers?.['X-CSRFToken'] });
    const handler = routes[`${method} ${url}`] ?? routes[`${method} *`];
    if (!handler) return json(404, { error: { code: 'not_found', message: 'Not found.' } });
    return handler(body, calls);
  };
  return { fetchImpl, calls };
}

const me =
  (id = USER, token = 'token-1') =>
  () =>
    json(200, { user: { id: Number(id) }, csrf_token: token });
const created = (body) => json(201, { id: 100, client_id: body.client_id, body: body.body });
const offline = () => {
  throw new TypeError('Failed to fetch');
};

function entry(text, extra = {}) {
  return {
    kind: 'journal.create',
    method: 'POST',
    url: '/api/v1/journal',
    label: 'Journal entry',
    body: { client_id: `c-${text}`, body: text, mood: null, shared: false, session_id: null },
    ...extra,
  };
}

beforeEach(() => core.useStore(memoryStore()));

test('records are sent in order and deleted only after the server confirms', async () => {
  await core.enqueue(USER, entry('one'));
  await core.enqueue(USER, entry('two'));
  const server = fakeServer({ 'GET /api/v1/me': me(), 'POST /api/v1/journal': created });
  const result = await core.flush(USER, { fetchImpl: server.fetchImpl });
  assert.deepEqual(result, { state: 'idle', sent: 2 });
  assert.deepEqual(
    server.calls.filter((c) => c.method === 'POST').map((c) => c.body.body),
    ['one', 'two'],
  );
  assert.equal(server.calls.at(-1).token, 'token-1', 'a fresh CSRF token from /me');
  assert.deepEqual(await core.records(USER), []);
});

test('no network: everything stays, in order, for the next try', async () => {
  await core.enqueue(USER, entry('one'));
  await core.enqueue(USER, entry('two'));
  const result = await core.flush(USER, { fetchImpl: fakeServer({ 'GET /api/v1/me': offline }).fetchImpl });
  assert.equal(result.state, 'offline');
  assert.deepEqual(
    (await core.records(USER)).map((r) => r.body.body),
    ['one', 'two'],
  );
});

test('the network fails mid-sync: the sent one is confirmed by its client_id on the retry', async () => {
  await core.enqueue(USER, entry('one'));
  await core.enqueue(USER, entry('two'));
  const stored = new Map();
  let dropAnswer = true;
  const server = fakeServer({
    'GET /api/v1/me': me(),
    'POST /api/v1/journal': (body) => {
      const known = stored.has(body.client_id);
      stored.set(body.client_id, body.body);
      if (dropAnswer) {
        dropAnswer = false;
        offline(); // stored on the server, but the answer never arrives
      }
      return known ? json(200, { id: 1, client_id: body.client_id }) : created(body);
    },
  });
  assert.equal((await core.flush(USER, { fetchImpl: server.fetchImpl })).state, 'offline');
  assert.equal((await core.records(USER)).length, 2, 'nothing is deleted without an answer');
  assert.equal((await core.flush(USER, { fetchImpl: server.fetchImpl })).state, 'idle');
  assert.deepEqual([...stored.values()], ['one', 'two'], 'one entry per client_id');
  assert.deepEqual(await core.records(USER), []);
});

test('a 4xx never drops a record: it waits for the person, and later ones still go', async () => {
  await core.enqueue(USER, entry('refused'));
  await core.enqueue(USER, entry('fine'));
  const server = fakeServer({
    'GET /api/v1/me': me(),
    'POST /api/v1/journal': (body) =>
      body.body === 'refused'
        ? json(409, { error: { code: 'conflict', message: 'This entry was deleted.' } })
        : created(body),
  });
  assert.deepEqual(await core.flush(USER, { fetchImpl: server.fetchImpl }), { state: 'idle', sent: 1 });
  const [kept] = await core.records(USER);
  assert.equal(kept.body.body, 'refused');
  assert.equal(kept.state, 'attention');
  assert.equal(kept.error.message, 'This entry was deleted.');
  server.calls.length = 0;
  await core.flush(USER, { fetchImpl: server.fetchImpl });
  assert.equal(server.calls.length, 0, 'not retried in a loop: the person decides');
});

test('a stale CSRF token is refreshed once and the record resent', async () => {
  await core.enqueue(USER, entry('one'));
  let tokens = 0;
  const server = fakeServer({
    'GET /api/v1/me': () => json(200, { user: { id: 7 }, csrf_token: `token-${++tokens}` }),
    'POST /api/v1/journal': (body, calls) =>
      calls.at(-1).token === 'token-1'
        ? json(400, { error: { code: 'csrf_failed', message: 'expired' } })
        : created(body),
  });
  assert.deepEqual(await core.flush(USER, { fetchImpl: server.fetchImpl }), { state: 'idle', sent: 1 });
  assert.equal(tokens, 2);
});

test('signed out (401) or someone else signed in: nothing is sent or dropped', async () => {
  await core.enqueue(USER, entry('private words'));
  const signedOut = fakeServer({ 'GET /api/v1/me': () => json(401, { error: { code: 'unauthenticated' } }) });
  assert.equal((await core.flush(USER, { fetchImpl: signedOut.fetchImpl })).state, 'signed-out');
  const otherPatient = fakeServer({ 'GET /api/v1/me': me('8'), 'POST *': created });
  assert.equal((await core.flush(USER, { fetchImpl: otherPatient.fetchImpl })).state, 'other-user');
  assert.equal(otherPatient.calls.filter((c) => c.method === 'POST').length, 0, "never under someone else's sign-in");
  const expired = fakeServer({ 'GET /api/v1/me': me(), 'POST /api/v1/journal': () => json(401, { error: {} }) });
  assert.equal((await core.flush(USER, { fetchImpl: expired.fetchImpl })).state, 'signed-out');
  assert.equal((await core.records(USER)).length, 1);
});

test('a 2xx that is not our API (a Wi-Fi login page) does not count as sent', async () => {
  await core.enqueue(USER, entry('one'));
  const portal = fakeServer({
    'GET /api/v1/me': me(),
    'POST /api/v1/journal': () =>
      new Response('<html>Sign in to Hotel Wi-Fi</html>', { status: 200, headers: { 'Content-Type': 'text/html' } }),
  });
  assert.equal((await core.flush(USER, { fetchImpl: portal.fetchImpl })).state, 'retry');
  assert.equal((await core.records(USER)).length, 1);
});

test('busy or failing server (429, 5xx): stop and keep order, with Retry-After', async () => {
  await core.enqueue(USER, entry('one'));
  await core.enqueue(USER, entry('two'));
  const busy = fakeServer({
    'GET /api/v1/me': me(),
    'POST /api/v1/journal': () => json(429, { error: { code: 'rate_limited' } }, { 'Retry-After': '30' }),
  });
  assert.deepEqual(await core.flush(USER, { fetchImpl: busy.fetchImpl }), { state: 'retry', sent: 0, retryAfter: 30 });
  assert.equal(busy.calls.filter((c) => c.method === 'POST').length, 1, 'the second waits behind the first');
  const [first] = await core.records(USER);
  assert.equal(first.attempts, 1);
});

test('the server cannot save (503, e.g. a full disk): the record is kept, then lands once', async () => {
  await core.enqueue(USER, entry('written while the disk was full'));
  await core.enqueue(USER, entry('written after it'));
  const saved = new Map();
  let diskFull = true;
  const server = fakeServer({
    'GET /api/v1/me': me(),
    'POST /api/v1/journal': (body) => {
      if (diskFull) return json(503, { error: { code: 'unavailable', message: 'Nothing was saved.' } });
      const known = saved.has(body.client_id);
      saved.set(body.client_id, body.body);
      return json(known ? 200 : 201, { id: saved.size, client_id: body.client_id, body: body.body });
    },
  });
  assert.deepEqual(await core.flush(USER, { fetchImpl: server.fetchImpl }), { state: 'retry', sent: 0, retryAfter: 0 });
  const kept = await core.records(USER);
  assert.deepEqual(
    kept.map((r) => r.body.body),
    ['written while the disk was full', 'written after it'],
  );
  assert.notEqual(kept[0].state, 'attention', 'a 503 is retried by the phone, not handed to the person');
  assert.equal(kept[0].attempts, 1);
  assert.equal(server.calls.filter((c) => c.method === 'POST').length, 1, 'the second waits behind the first');

  diskFull = false;
  assert.deepEqual(await core.flush(USER, { fetchImpl: server.fetchImpl }), { state: 'idle', sent: 2 });
  assert.deepEqual([...saved.values()], ['written while the disk was full', 'written after it']);
  assert.deepEqual(await core.records(USER), []);
});

test('Call staff goes first, whatever waited before it', async () => {
  await core.enqueue(USER, entry('written earlier'));
  await core.enqueue(USER, {
    kind: 'call-staff',
    priority: 0,
    session: 3,
    method: 'POST',
    url: '/api/v1/sessions/3/call-staff',
    body: { client_id: 'call-1' },
    label: 'Call staff',
  });
  const server = fakeServer({ 'GET /api/v1/me': me(), 'POST *': (body) => json(201, { client_id: body.client_id }) });
  await core.flush(USER, { fetchImpl: server.fetchImpl });
  assert.deepEqual(
    server.calls.filter((c) => c.method === 'POST').map((c) => c.url),
    ['/api/v1/sessions/3/call-staff', '/api/v1/journal'],
  );
});

test('a refused phase is done when the session is already past it, kept when it is not', async () => {
  const phase = (name) => ({
    kind: 'phase',
    session: 3,
    method: 'POST',
    url: '/api/v1/sessions/3/phase',
    body: { phase: name, at: '2026-11-22T10:00:00Z' },
  });
  await core.enqueue(USER, phase('downtime'));
  const past = fakeServer({
    'GET /api/v1/me': me(),
    'POST /api/v1/sessions/3/phase': () => json(409, { error: { code: 'conflict', message: 'out of order' } }),
    'GET /api/v1/sessions/3': () => json(200, { id: 3, status: 'integration' }),
  });
  assert.deepEqual(await core.flush(USER, { fetchImpl: past.fetchImpl }), { state: 'idle', sent: 1 });

  await core.enqueue(USER, phase('session'));
  const refused = fakeServer({
    'GET /api/v1/me': me(),
    'POST /api/v1/sessions/3/phase': () =>
      json(409, { error: { code: 'conflict', message: 'Some required preparation is not ticked' } }),
    'GET /api/v1/sessions/3': () => json(200, { id: 3, status: 'scheduled' }),
  });
  await core.flush(USER, { fetchImpl: refused.fetchImpl });
  const [kept] = await core.records(USER);
  assert.equal(kept.state, 'attention');
  assert.match(kept.error.message, /required preparation/);
});

test('the stored session follows what the server confirmed; complete forgets it', async () => {
  await core.store.put(USER, 'sessions', {
    id: 3,
    ready: true,
    data: {
      id: 3,
      status: 'scheduled',
      intention: '',
      checklist: [
        { id: 1, checked: false },
        { id: 2, checked: false },
      ],
    },
  });
  await core.store.put(USER, 'tracks', { key: '3:10', session: 3, blob: 'audio' });
  await core.enqueue(USER, {
    kind: 'checklist',
    session: 3,
    item: 2,
    method: 'PUT',
    url: '/api/v1/sessions/3/checklist/2',
    body: { checked: true },
  });
  await core.enqueue(USER, {
    kind: 'phase',
    session: 3,
    method: 'POST',
    url: '/api/v1/sessions/3/phase',
    body: { phase: 'session', at: '2026-11-22T10:00:00Z' },
  });
  const server = fakeServer({ 'GET /api/v1/me': me(), 'PUT *': () => json(200, {}), 'POST *': () => json(200, {}) });
  await core.flush(USER, { fetchImpl: server.fetchImpl });
  const { data } = await core.store.get(USER, 'sessions', 3);
  assert.deepEqual(
    data.checklist.map((i) => i.checked),
    [false, true],
  );
  assert.equal(data.status, 'session');
  assert.equal(data.started_at, '2026-11-22T10:00:00Z');

  await core.enqueue(USER, {
    kind: 'phase',
    session: 3,
    method: 'POST',
    url: '/api/v1/sessions/3/phase',
    body: { phase: 'complete' },
  });
  await core.flush(USER, { fetchImpl: server.fetchImpl });
  assert.equal(await core.store.get(USER, 'sessions', 3), undefined);
  assert.deepEqual(await core.store.all(USER, 'tracks'), []);
});

test('applyToSession: pending writes shown as the server will have them', () => {
  const data = { id: 3, status: 'scheduled', intention: 'old', checklist: [{ id: 1, checked: false }] };
  const tick = core.applyToSession(data, { kind: 'checklist', session: 3, item: 1, body: { checked: true } });
  assert.equal(tick.checklist[0].checked, true);
  assert.equal(data.checklist[0].checked, false, 'the original is not changed');
  assert.equal(core.applyToSession(data, { kind: 'intention', session: 3, body: { text: 'new' } }).intention, 'new');
  const started = core.applyToSession(data, { kind: 'phase', session: 3, body: { phase: 'session', at: 'T' } });
  assert.equal(started.status, 'session');
  assert.equal(started.started_at, 'T');
  const back = core.applyToSession(
    { ...data, status: 'downtime' },
    { kind: 'phase', session: 3, body: { phase: 'session' } },
  );
  assert.equal(back.status, 'downtime', 'phases never go backwards');
  assert.equal(core.applyToSession(data, { kind: 'checklist', session: 4, item: 1, body: { checked: true } }), data);
});

test('classify: what each answer means', () => {
  assert.equal(core.classify(201), 'done');
  assert.equal(core.classify(200), 'done');
  assert.equal(core.classify(401), 'signed-out');
  assert.equal(core.classify(400, 'csrf_failed'), 'csrf');
  for (const status of [0, 408, 429, 500, 502, 503]) assert.equal(core.classify(status), 'retry', status);
  for (const status of [400, 403, 404, 409, 413, 415, 422])
    assert.equal(core.classify(status, 'x'), 'attention', status);
});
