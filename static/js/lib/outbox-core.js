// The outbox flush, shared by pages and the service worker: exactly once, nothing lost.
//
// A plain script with no import or export, so the same file loads as an ES module in pages
// (`import './outbox-core.js'`, after device-store.js) and through importScripts() in the
// service worker, where Background Sync (Chromium only) may flush while no page is open. It
// sets globalThis.KapOutbox. A record leaves the outbox only after the server's 2xx; a 4xx
// never drops one.

((global) => {
  'use strict';

  const { forgetSession, notify, store, uuid } = global.KapStore;
  const REQUEST_TIMEOUT_MS = 20000;
  const PHASE_RANK = { scheduled: 0, session: 1, downtime: 2, integration: 3, complete: 4 };
  const PHASE_TIMES = {
    session: 'started_at',
    downtime: 'downtime_started_at',
    integration: 'integration_started_at',
    complete: 'completed_at',
  };
  let localQueue = Promise.resolve(); // a lock where the Web Locks API is missing
  // Records the server has confirmed but this phone's storage failed to remove (the store
  // retries first; Safari's IndexedDB can still give up). Kept here, by record id, so the next
  // flush only removes them and never sends a check-in or a staff call a second time.
  const confirmed = new Map();

  /** Send order: Call staff first, then everything else in the order it happened. */
  function sendOrder(a, b) {
    return (a.priority ?? 1) - (b.priority ?? 1) || a.seq - b.seq;
  }

  async function records(userId) {
    return (await store.all(userId, 'outbox')).sort(sendOrder);
  }

  /** Adds a write; resolves (with its `seq`) once it is on disk. */
  async function enqueue(userId, spec) {
    const record = {
      id: uuid(),
      createdAt: new Date().toISOString(),
      priority: 1,
      ...spec,
      state: 'pending',
      attempts: 0,
    };
    delete record.seq;
    record.seq = await store.put(userId, 'outbox', record);
    notify(userId, { type: 'outbox' });
    return record;
  }

  async function update(userId, record) {
    await store.put(userId, 'outbox', record);
    notify(userId, { type: 'outbox' });
  }

  /** Removes a record the person chose to discard (never called by the flush on a 4xx). */
  async function discard(userId, seq) {
    await store.delete(userId, 'outbox', seq);
    notify(userId, { type: 'outbox' });
  }

  /**
   * What an answer means for a record:
   * done — the server has it; signed-out — 401, sign in again and resend;
   * csrf — a stale token, fetch a fresh one and resend; retry — try later (5xx, 429, timeouts,
   * something that is not our API answering); attention — the same request would fail again
   * (400, 403, 404, 409, 413 ...): kept, shown, and left to the person.
   */
  function classify(status, code) {
    if (status >= 200 && status < 300) return 'done';
    if (status === 401) return 'signed-out';
    if (status === 400 && code === 'csrf_failed') return 'csrf';
    if (status === 0 || status === 408 || status === 425 || status === 429 || status >= 500) return 'retry';
    return 'attention';
  }

  /**
   * A 2xx only counts when our API gave it: a hotel Wi-Fi login page answers 200 with HTML,
   * and deleting a journal entry on that would lose it.
   */
  function confirms(record, body) {
    if (!body || typeof body !== 'object') return false;
    if (record.kind === 'journal.create') return body.client_id === record.body.client_id;
    if (record.kind === 'journal.update') return body.id === record.entry;
    return true;
  }

  /** Applies a write to a stored copy of its session (what the server will have). */
  function applyToSession(data, record) {
    if (!data || Number(record.session) !== Number(data.id)) return data;
    const next = { ...data };
    if (record.kind === 'checklist') {
      next.checklist = (data.checklist ?? []).map((item) =>
        item.id === record.item ? { ...item, checked: Boolean(record.body.checked) } : item,
      );
    } else if (record.kind === 'intention') {
      next.intention = record.body.text;
    } else if (record.kind === 'phase') {
      const phase = record.body.phase;
      if ((PHASE_RANK[phase] ?? -1) > (PHASE_RANK[data.status] ?? -1)) {
        next.status = phase;
        next[PHASE_TIMES[phase]] = record.body.at ?? new Date().toISOString();
      }
    }
    return next;
  }

  async function fetchWithTimeout(url, options, fetchImpl) {
    const controller = typeof AbortController === 'function' ? new AbortController() : null;
    const timer = controller && setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
    try {
      return await fetchImpl(url, {
        credentials: 'same-origin',
        cache: 'no-store',
        redirect: 'manual',
        ...options,
        // A sync may run hours later with nobody at the phone: it must not keep a sign-in alive.
        headers: { ...options.headers, 'X-KAP-Passive': '1' },
        signal: controller?.signal,
      });
    } finally {
      clearTimeout(timer);
    }
  }

  async function readJson(response) {
    const type = response.headers.get('Content-Type') || '';
    if (!type.includes('json')) return null;
    return response.json().catch(() => null);
  }

  /** Who is signed in here, and a fresh CSRF token: {state: 'ok', userId, token} or why not. */
  async function whoIsSignedIn(fetchImpl) {
    let response;
    try {
      response = await fetchWithTimeout('/api/v1/me', { headers: { Accept: 'application/json' } }, fetchImpl);
    } catch {
      return { state: 'offline' };
    }
    if (response.status === 401) return { state: 'signed-out' };
    const body = await readJson(response);
    if (!response.ok || !body?.user) return { state: response.status >= 500 ? 'retry' : 'offline' };
    return { state: 'ok', userId: String(body.user.id), token: body.csrf_token };
  }

  async function send(record, token, fetchImpl) {
    let response;
    try {
      response = await fetchWithTimeout(
        record.url,
        {
          method: record.method,
          headers: { Accept: 'application/json', 'Content-Type': 'application/json', 'X-CSRFToken': token },
          body: JSON.stringify(record.body),
        },
        fetchImpl,
      );
    } catch {
      return { kind: 'offline' };
    }
    const body = await readJson(response);
    let kind = classify(response.type === 'opaqueredirect' ? 0 : response.status, body?.error?.code);
    if (kind === 'done' && !confirms(record, body)) kind = 'retry';
    if (kind === 'attention' && record.kind === 'phase' && response.status === 409) kind = 'check-phase';
    return {
      kind,
      status: response.status,
      body,
      error: body?.error ?? { code: `http_${response.status}`, message: `The server answered ${response.status}.` },
      retryAfter: Number(response.headers.get('Retry-After')) || 0,
    };
  }

  /** A refused phase change is moot when the session is already at or past it (another device). */
  async function checkPhase(record, outcome, fetchImpl) {
    let response;
    try {
      response = await fetchWithTimeout(
        `/api/v1/sessions/${record.session}`,
        { headers: { Accept: 'application/json' } },
        fetchImpl,
      );
    } catch {
      return { kind: 'offline' };
    }
    const body = await readJson(response);
    if (!response.ok || !body) return { kind: classify(response.status) === 'signed-out' ? 'signed-out' : 'retry' };
    const moot = (PHASE_RANK[body.status] ?? -1) >= (PHASE_RANK[record.body.phase] ?? 99);
    return moot ? { kind: 'done', body } : { ...outcome, kind: 'attention' };
  }

  /** What the server's answer means for what this phone keeps about the session. */
  async function afterSync(userId, record) {
    if (record.session == null || !['checklist', 'intention', 'phase'].includes(record.kind)) return;
    const stored = await store.get(userId, 'sessions', Number(record.session)).catch(() => null);
    if (!stored) return;
    if (record.kind === 'phase' && record.body.phase === 'complete') {
      await forgetSession(userId, stored.id); // over and confirmed: nothing of it stays here
    } else {
      await store.put(userId, 'sessions', { ...stored, data: applyToSession(stored.data, record) });
    }
  }

  /**
   * Removes a record the server has confirmed, then updates the stored session and tells the
   * pages. If storage gives up, this rejects (the flush reports it) and the record stays in
   * `confirmed`, so the next flush removes it without sending it again.
   */
  async function settleSent(userId, record, result) {
    await store.delete(userId, 'outbox', record.seq);
    confirmed.delete(record.id);
    await afterSync(userId, record).catch(() => {});
    notify(userId, { type: 'synced', record, result });
  }

  function withLock(name, task) {
    const locks = global.navigator?.locks;
    if (locks?.request) return locks.request(name, task);
    const run = localQueue.then(task, task);
    localQueue = run.catch(() => {});
    return run;
  }

  /**
   * Sends the patient's pending records in order, one at a time, each until the server has it.
   * Resolves with {state, sent, retryAfter?}: state is idle (all sent or only records needing
   * the person left), offline, retry, signed-out or other-user (someone else is signed in
   * here: their session must never carry this patient's writing). Rejects with the store's
   * StoreError when this phone's storage gives up; no record is lost or sent twice by that.
   */
  function flush(userId, { fetchImpl = global.fetch.bind(global) } = {}) {
    return withLock(`kap-outbox-${userId}`, async () => {
      const queue = (await records(userId)).filter((r) => r.state !== 'attention');
      if (!queue.length) return { state: 'idle', sent: 0 };
      const unsent = queue.filter((r) => !confirmed.has(r.id));
      let sent = 0;
      for (const record of queue.filter((r) => confirmed.has(r.id))) {
        await settleSent(userId, record, confirmed.get(record.id)); // the server has it already
        sent += 1;
      }
      if (!unsent.length) return { state: 'idle', sent };
      let me = await whoIsSignedIn(fetchImpl);
      if (me.state !== 'ok') return { state: me.state, sent };
      if (me.userId !== String(userId)) return { state: 'other-user', sent };
      for (const record of unsent) {
        let outcome = await send(record, me.token, fetchImpl);
        if (outcome.kind === 'csrf') {
          me = await whoIsSignedIn(fetchImpl);
          if (me.state !== 'ok' || me.userId !== String(userId))
            return { state: me.state === 'ok' ? 'other-user' : me.state, sent };
          outcome = await send(record, me.token, fetchImpl);
          if (outcome.kind === 'csrf') outcome = { ...outcome, kind: 'retry' };
        }
        if (outcome.kind === 'check-phase') outcome = await checkPhase(record, outcome, fetchImpl);
        if (outcome.kind === 'done') {
          confirmed.set(record.id, outcome.body);
          await settleSent(userId, record, outcome.body);
          sent += 1;
          continue;
        }
        if (outcome.kind === 'attention') {
          await update(userId, { ...record, state: 'attention', attempts: record.attempts + 1, error: outcome.error });
          continue; // later records may not depend on this one; each is tried
        }
        // Offline, busy or signed out: this record and all after it wait, in order.
        await store.put(userId, 'outbox', { ...record, attempts: record.attempts + 1 }).catch(() => {});
        return { state: outcome.kind, sent, retryAfter: outcome.retryAfter };
      }
      return { state: 'idle', sent };
    });
  }

  /** Flush for whoever is signed in (the service worker's Background Sync has no page). */
  async function flushSignedIn(options = {}) {
    const me = await whoIsSignedIn(options.fetchImpl ?? global.fetch.bind(global));
    if (me.state !== 'ok') return { state: me.state, sent: 0 };
    return flush(me.userId, options);
  }

  global.KapOutbox = Object.freeze({
    PHASE_RANK,
    applyToSession,
    classify,
    confirms,
    discard,
    enqueue,
    flush,
    flushSignedIn,
    records,
    sendOrder,
    update,
  });
})(globalThis);
