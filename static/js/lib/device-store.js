// The device store: what this phone keeps for a patient, shared by pages and the service worker.
//
// A plain script with no import or export, so the same file loads as an ES module in pages
// (`import './device-store.js'`) and through importScripts() in the service worker. It sets
// globalThis.KapStore; static/js/lib/outbox-core.js builds the outbox on it.
//
// Each signed-in patient has an IndexedDB database of their own, `kap-user-<id>`, holding
// only what SECURITY.md allows on a phone: the outbox, drafts, and the next session's data and
// audio (plus the clinic's crisis contacts, which are nobody's personal data).

((global) => {
  'use strict';

  const DB_PREFIX = 'kap-user-';
  const DB_VERSION = 1;
  const STORES = {
    outbox: { keyPath: 'seq', autoIncrement: true }, // writes waiting for the server, in order
    drafts: { keyPath: 'key' }, // text being typed, saved as it is typed
    sessions: { keyPath: 'id' }, // the next session's data (GET /api/v1/sessions/<id>)
    tracks: { keyPath: 'key' }, // its audio, as Blobs: `<session id>:<track id>`
    device: { keyPath: 'key' }, // the clinic's crisis contacts, for offline Crisis support
  };
  const CHANNEL = 'kap-device';

  const connections = new Map();
  const listeners = new Set();
  let channel = null;

  function validUser(userId) {
    return /^\d+$/.test(String(userId ?? ''));
  }

  function dbName(userId) {
    return DB_PREFIX + userId;
  }

  /** The patient's database, opened once per page (or worker) and closed when deleted. */
  function openDb(userId) {
    if (!validUser(userId)) return Promise.reject(new Error('No signed-in patient on this page.'));
    const key = String(userId);
    if (!connections.has(key)) {
      const opening = new Promise((resolve, reject) => {
        const request = indexedDB.open(dbName(key), DB_VERSION);
        request.onupgradeneeded = () => {
          const db = request.result;
          for (const [name, options] of Object.entries(STORES)) {
            if (!db.objectStoreNames.contains(name)) db.createObjectStore(name, options);
          }
        };
        request.onsuccess = () => {
          const db = request.result;
          // Another tab is deleting it (sign-out): let go at once so the delete can finish.
          const forget = () => connections.get(key) === opening && connections.delete(key);
          db.onversionchange = () => {
            db.close();
            forget();
          };
          db.onclose = forget; // the browser closed it (Safari: storage server lost)
          resolve(db);
        };
        request.onerror = () => {
          if (connections.get(key) === opening) connections.delete(key);
          reject(request.error);
        };
        // Another connection holds an older version open: the open waits, then goes on.
        request.onblocked = () => console.warn('IndexedDB open is waiting for another tab to let go');
      });
      connections.set(key, opening);
    }
    return connections.get(key);
  }

  /** Closes this context's connections (before the databases are deleted). */
  async function closeAll() {
    const open = [...connections.values()];
    connections.clear();
    await Promise.all(
      open.map((p) =>
        p.then(
          (db) => db.close(),
          () => {},
        ),
      ),
    );
  }

  // Safari's IndexedDB (and WebKitGTK's) sometimes fails a transaction for no reason of ours:
  // "UnknownError", "Connection to Indexed Database server lost", a connection that went stale
  // while the app slept (InvalidStateError, TransactionInactiveError). Such a failure is tried
  // again on a freshly opened connection after a short pause; an aborted transaction wrote
  // nothing, so a retry never writes a record twice. Other errors (a bad value, a full disk)
  // would fail the same way again and are reported at once.
  const ATTEMPTS = 4;
  const BACKOFF_MS = [50, 200, 600];
  const TRANSIENT = new Set([
    'InvalidStateError',
    'UnknownError',
    'TransactionInactiveError',
    'AbortError',
    'TimeoutError',
  ]);

  /**
   * WebKit in a private window (and WebDriver's ephemeral sessions) cannot store a Blob in
   * IndexedDB: "UnknownError: Error preparing Blob/File data to be stored in object store".
   * Retrying the same value fails the same way; storing its bytes works (see put below).
   */
  const refusesBlobs = (error) => /Blob\/File/.test(`${error?.message ?? ''} ${error?.cause?.message ?? ''}`);

  /** An error worth another try on a new connection. */
  function isTransient(error) {
    if (refusesBlobs(error)) return false;
    return !error?.name || error.name === 'Error' || TRANSIENT.has(error.name);
  }

  /** What a caller sees when storage gave up: says what failed, how often, and why. */
  class StoreError extends Error {
    constructor(storeName, attempts, cause) {
      const why = cause?.name && cause.name !== 'Error' ? `${cause.name}: ${cause.message}` : cause?.message;
      super(
        attempts > 1
          ? `this phone's storage failed ${attempts} times (${why || 'IndexedDB transaction failed'})`
          : `this phone's storage refused it (${why || 'IndexedDB transaction failed'})`,
        { cause },
      );
      this.name = 'StoreError';
      this.store = storeName;
      this.attempts = attempts;
    }
  }

  /**
   * Forgets a connection that failed, so the next attempt opens a new one. It is not closed
   * here: other transactions may still run on it, and WebKit leaves a transaction of a closed
   * connection hanging, blocking every later write to its store. It closes when a sign-out
   * deletes the database (versionchange) or when the page goes.
   */
  function dropConnection(userId) {
    connections.delete(String(userId));
  }

  const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  /** One attempt: the transaction's last request's result once it has committed. */
  async function attempt(userId, storeName, mode, body) {
    const db = await openDb(userId);
    const strict = mode === 'readwrite' && (storeName === 'outbox' || storeName === 'drafts');
    return new Promise((resolve, reject) => {
      const tx = db.transaction(storeName, mode, strict ? { durability: 'strict' } : undefined);
      let result;
      const request = body(tx.objectStore(storeName));
      if (request) request.onsuccess = () => (result = request.result);
      tx.oncomplete = () => resolve(result);
      tx.onerror = tx.onabort = () => reject(tx.error || request?.error || new Error('IndexedDB transaction failed'));
    });
  }

  /**
   * One transaction on one store. `body(store)` issues requests; the promise resolves with
   * the last request's result once the transaction has committed. Writes of writing (outbox,
   * drafts) ask for strict durability: on disk before "saved" is shown. A transient failure is
   * retried on a reopened database (ATTEMPTS in all); then it rejects with a StoreError.
   */
  async function transact(userId, storeName, mode, body) {
    for (let tries = 1; ; tries += 1) {
      try {
        return await attempt(userId, storeName, mode, body);
      } catch (error) {
        if (!validUser(userId)) throw error;
        if (!isTransient(error)) throw new StoreError(storeName, tries, error);
        dropConnection(userId);
        if (tries >= ATTEMPTS) throw new StoreError(storeName, tries, error);
        console.warn(`IndexedDB ${mode} on ${storeName} failed (${error?.name}); trying again`, error);
        await pause(BACKOFF_MS[tries - 1] ?? BACKOFF_MS.at(-1));
      }
    }
  }

  // ---- Blobs where IndexedDB refuses them: kept as {kapBlob: 1, bytes, type} and given back
  // as Blobs. Only after a refusal: elsewhere a stored Blob stays on disk until it is played,
  // while bytes are read whole into memory (a 60-minute session's music is large).
  let blobsRefused = false;
  const isBlob = (value) => typeof Blob !== 'undefined' && value instanceof Blob;
  const hasBlob = (value) => value && typeof value === 'object' && Object.values(value).some(isBlob);

  async function packBlobs(value) {
    const packed = { ...value };
    for (const [field, item] of Object.entries(value)) {
      if (isBlob(item)) packed[field] = { kapBlob: 1, bytes: await item.arrayBuffer(), type: item.type };
    }
    return packed;
  }

  // Parts of 256 KB, viewed, not copied: WebKitGTK's media player refuses (MEDIA_ERR 4) a
  // large Blob built from one ArrayBuffer, and plays the same bytes given in parts.
  function chunks(bytes) {
    const parts = [];
    for (let at = 0; at < bytes.byteLength; at += 262144) {
      parts.push(new Uint8Array(bytes, at, Math.min(262144, bytes.byteLength - at)));
    }
    return parts;
  }

  function unpackBlobs(value) {
    if (!value || typeof value !== 'object' || !Object.values(value).some((v) => v?.kapBlob === 1)) return value;
    const unpacked = { ...value };
    for (const [field, item] of Object.entries(value)) {
      if (item?.kapBlob === 1) unpacked[field] = new Blob(chunks(item.bytes), { type: item.type });
    }
    return unpacked;
  }

  async function putValue(userId, name, value) {
    if (!(blobsRefused && hasBlob(value))) {
      try {
        return await transact(userId, name, 'readwrite', (s) => s.put(value));
      } catch (error) {
        if (!hasBlob(value) || !refusesBlobs(error)) throw error;
        blobsRefused = true;
        console.warn('IndexedDB refuses Blobs here (private window?): storing their bytes instead');
      }
    }
    const packed = await packBlobs(value);
    return transact(userId, name, 'readwrite', (s) => s.put(packed));
  }

  const indexedDbStore = {
    get: async (userId, name, key) => unpackBlobs(await transact(userId, name, 'readonly', (s) => s.get(key))),
    all: async (userId, name) => (await transact(userId, name, 'readonly', (s) => s.getAll())).map(unpackBlobs),
    put: putValue,
    delete: (userId, name, key) => transact(userId, name, 'readwrite', (s) => s.delete(key)),
    clear: (userId, name) => transact(userId, name, 'readwrite', (s) => s.clear()),
  };
  // Every read and write goes through `store`; tests swap in a memory store (useStore).
  const store = { ...indexedDbStore };

  /** Replaces the storage (tests: same five calls, kept in memory); no argument restores IndexedDB. */
  function useStore(impl = indexedDbStore) {
    Object.assign(store, impl);
  }

  // ---- Change notices: to this context's listeners and, through a channel, to other tabs and
  // the service worker (a page learns that a background flush sent its entry).
  function openChannel() {
    const opened = new BroadcastChannel(CHANNEL);
    opened.unref?.(); // Node (tests): an open channel must not keep the process alive
    return opened;
  }

  function notify(userId, detail) {
    const message = { userId: String(userId), ...detail };
    for (const listener of listeners) {
      try {
        listener(message);
      } catch (error) {
        console.error(error);
      }
    }
    try {
      channel ??= openChannel();
      channel.postMessage(message);
    } catch {
      /* no BroadcastChannel: other tabs catch up on their next flush */
    }
  }

  /** Calls `listener(message)` for changes made here or in another tab or the worker. */
  function subscribe(listener) {
    listeners.add(listener);
    if (!subscribe.listening && typeof BroadcastChannel !== 'undefined') {
      subscribe.listening = true;
      channel ??= openChannel();
      channel.addEventListener('message', (event) => {
        for (const l of listeners) l(event.data);
      });
    }
    return () => listeners.delete(listener);
  }

  function uuid() {
    if (global.crypto?.randomUUID) return global.crypto.randomUUID();
    const bytes = global.crypto.getRandomValues(new Uint8Array(16));
    return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
  }

  /** Deletes a stored session and its audio. */
  async function forgetSession(userId, sessionId) {
    const tracks = await store.all(userId, 'tracks');
    for (const track of tracks) {
      if (Number(track.session) === Number(sessionId)) await store.delete(userId, 'tracks', track.key);
    }
    await store.delete(userId, 'sessions', Number(sessionId));
  }

  /** Names of this origin's patient databases (best effort where databases() is missing). */
  async function databaseNames(fallbackUser) {
    if (typeof indexedDB.databases === 'function') {
      const list = await indexedDB.databases();
      return list.map((d) => d.name).filter((name) => name?.startsWith(DB_PREFIX));
    }
    return validUser(fallbackUser) ? [dbName(fallbackUser)] : [];
  }

  /**
   * Deletes a database and waits until it is gone: a connection of another context (the
   * service worker, another tab) first gets versionchange and lets go, so "blocked" is only a
   * pause. A sign-out that went on at "blocked" reached the sign-in page with the database
   * still there, and that page's clean-up opened it again (an empty copy, for a moment).
   * After `waitMs` (a context that never lets go) it stops waiting; the delete still happens
   * when that context closes. Resolves true once the database is gone.
   */
  function deleteDatabase(name, waitMs = 5000) {
    return new Promise((resolve) => {
      const request = indexedDB.deleteDatabase(name);
      const timer = setTimeout(() => resolve(false), waitMs);
      const done = (gone) => () => {
        clearTimeout(timer);
        resolve(gone);
      };
      request.onsuccess = done(true);
      request.onerror = done(false);
      request.onblocked = () => console.warn(`Deleting ${name} waits for another tab to let go`);
    });
  }

  // A page kept in the back/forward cache keeps its connections, and WebKit freezes their
  // transactions with it: every later page then waits forever to write the outbox ("Saving…"
  // that never ends). So a page that is hidden lets go of the database; if it is shown again,
  // the next call opens a new connection.
  if (typeof global.addEventListener === 'function' && typeof global.document !== 'undefined') {
    global.addEventListener('pagehide', () => {
      closeAll();
    });
  }

  global.KapStore = Object.freeze({
    ATTEMPTS,
    DB_PREFIX,
    StoreError,
    closeAll,
    databaseNames,
    dbName,
    deleteDatabase,
    forgetSession,
    notify,
    store,
    subscribe,
    useStore,
    uuid,
    validUser,
  });
})(globalThis);
