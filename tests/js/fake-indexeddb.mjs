// A small in-memory IndexedDB for node tests: the calls device-store.js makes, and faults.
//
// Enough of the real API's shape (open with upgradeneeded, one-store transactions that commit
// all their requests or nothing, auto-increment keys, closed connections that throw
// InvalidStateError) to test how the store survives Safari's IndexedDB failures. Faults are
// injected per transaction: `fail({times, name, when})` aborts the next `times` transactions
// for which `when({store, mode})` is true with a DOMException called `name`.

const later = (fn) => setTimeout(fn, 0);

export function fakeIndexedDB() {
  const databases = new Map(); // name -> Map(store name -> {options, rows: Map, seq})
  const connections = [];
  const faults = [];
  const counts = { opens: 0, transactions: 0, aborted: 0 };
  let deleteHold = 0;

  function takeFault(store, mode) {
    const fault = faults.find((f) => f.times > 0 && f.when({ store, mode }));
    if (!fault) return null;
    fault.times -= 1;
    return new DOMException(`Injected ${fault.name}`, fault.name);
  }

  function objectStoreOf(ops) {
    const request = (run) => {
      const req = { result: undefined, error: null, onsuccess: null };
      ops.push({ req, run });
      return req;
    };
    return {
      get: (key) => request((rows) => structuredClone(rows.get(key))),
      getAll: () => request((rows) => [...rows.values()].map((v) => structuredClone(v))),
      put: (value) =>
        request((rows, meta) => {
          const { keyPath, autoIncrement } = meta.options;
          let key = value[keyPath];
          if (key === undefined && autoIncrement) key = ++meta.seq;
          if (typeof key === 'number' && autoIncrement) meta.seq = Math.max(meta.seq, key);
          rows.set(key, structuredClone({ ...value, [keyPath]: key }));
          return key;
        }),
      delete: (key) => request((rows) => void rows.delete(key)),
      clear: () => request((rows) => void rows.clear()),
    };
  }

  function connect(name) {
    const stores = databases.get(name);
    const db = {
      closed: false,
      onversionchange: null,
      onclose: null,
      objectStoreNames: { contains: (store) => stores.has(store) },
      createObjectStore(store, options = {}) {
        stores.set(store, {
          options: { keyPath: options.keyPath, autoIncrement: !!options.autoIncrement },
          rows: new Map(),
          seq: 0,
        });
      },
      close() {
        db.closed = true;
      },
      transaction(store, mode = 'readonly') {
        if (db.closed) throw new DOMException('The database connection is closing.', 'InvalidStateError');
        if (!stores.has(store)) throw new DOMException(`No store ${store}`, 'NotFoundError');
        counts.transactions += 1;
        const ops = [];
        const tx = { error: null, oncomplete: null, onerror: null, onabort: null };
        tx.objectStore = () => objectStoreOf(ops);
        later(() => {
          const fault = takeFault(store, mode);
          if (fault) {
            counts.aborted += 1;
            tx.error = fault;
            tx.onabort?.({ target: tx });
            return;
          }
          const meta = stores.get(store);
          const staged = new Map([...meta.rows].map(([k, v]) => [k, structuredClone(v)]));
          const stagedMeta = { ...meta, rows: staged };
          for (const { req, run } of ops) {
            req.result = run(staged, stagedMeta);
            req.onsuccess?.({ target: req });
          }
          if (mode === 'readwrite') Object.assign(meta, { rows: staged, seq: stagedMeta.seq });
          tx.oncomplete?.({ target: tx });
        });
        return tx;
      },
    };
    connections.push(db);
    return db;
  }

  return {
    counts,
    /** Abort the next `times` matching transactions with a DOMException named `name`. */
    fail({ times = 1, name = 'UnknownError', when = () => true } = {}) {
      faults.push({ times, name, when });
    },
    heal() {
      faults.length = 0;
    },
    /** What a store holds now (committed rows only). */
    rows(dbName, store) {
      return [...(databases.get(dbName)?.get(store)?.rows.values() ?? [])];
    },
    /** The browser drops every connection behind the page's back (Safari: server lost). */
    loseConnections() {
      for (const db of connections) db.closed = true;
    },
    open(name) {
      counts.opens += 1;
      const request = { result: null, error: null, onsuccess: null, onerror: null, onupgradeneeded: null };
      later(() => {
        const fresh = !databases.has(name);
        if (fresh) databases.set(name, new Map());
        request.result = connect(name);
        if (fresh) request.onupgradeneeded?.({ target: request });
        request.onsuccess?.({ target: request });
      });
      return request;
    },
    /** The next deletes wait `ms` for another context (the service worker) to let go,
     * firing "blocked" first; Infinity: it never does. */
    blockDeletes(ms) {
      deleteHold = ms;
    },
    deleteDatabase(name) {
      const request = { onsuccess: null, onblocked: null };
      const remove = () => {
        databases.delete(name);
        request.onsuccess?.({ target: request });
      };
      later(() => {
        if (!deleteHold) return remove();
        request.onblocked?.({ target: request });
        if (deleteHold !== Infinity) setTimeout(remove, deleteHold);
      });
      return request;
    },
    databases: async () => [...databases.keys()].map((name) => ({ name, version: 1 })),
  };
}
