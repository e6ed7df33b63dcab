// BrowserStorage: durable storage for a page — a JournalStore for TransactionCoordinator and a
// key-value store for NotificationStream's `store` — in IndexedDB, or localStorage where
// IndexedDB is missing (or refuses to open: some private modes). See browser_storage.rs.

const JOURNAL = 'journal'; // key [transactionId, seq] -> record
const TRANSACTIONS = 'transactions'; // key transactionId -> { finished }
const KV = 'kv'; // key -> string
const WEEK_MS = 7 * 24 * 3600 * 1000;

export async function openBrowserStorage(name) {
  if (typeof name !== 'string' || name === '') throw invalid('name', 'must be a non-empty string');
  const idb = globalThis.indexedDB;
  if (idb) {
    try {
      return new IdbStorage(await openDb(idb, name));
    } catch (error) {
      if (!globalThis.localStorage) throw error;
    }
  }
  if (globalThis.localStorage) return new LocalStorage(globalThis.localStorage, name);
  throw invalid('name', 'no IndexedDB or localStorage here: use another JournalStore');
}

function openDb(idb, name) {
  return new Promise((resolve, reject) => {
    const request = idb.open(name, 1);
    request.onupgradeneeded = () => {
      const db = request.result;
      db.createObjectStore(JOURNAL);
      db.createObjectStore(TRANSACTIONS);
      db.createObjectStore(KV);
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
    request.onblocked = () => reject(new Error(`IndexedDB "${name}" is blocked by another tab's older version`));
  });
}

// Resolves when the IndexedDB transaction has committed (durably, where the browser offers it).
function done(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
  });
}

const result = (request) =>
  new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });

const range = (id) => IDBKeyRange.bound([id, 0], [id, Infinity]);

class IdbStorage {
  constructor(db) {
    this.db = db;
    this.kind = 'indexeddb';
    this.next = new Map(); // transactionId -> next seq
  }

  async append(transactionId, record) {
    const tx = this.db.transaction([JOURNAL, TRANSACTIONS], 'readwrite', { durability: 'strict' });
    const journal = tx.objectStore(JOURNAL);
    let seq = this.next.get(transactionId);
    if (seq === undefined) seq = await result(journal.count(range(transactionId)));
    journal.put(record, [transactionId, seq]);
    this.next.set(transactionId, seq + 1);
    if (record.kind === 'transaction.started' || record.kind === 'transaction.finished') {
      tx.objectStore(TRANSACTIONS).put({ finished: record.kind === 'transaction.finished', at: record.at }, transactionId);
    }
    await done(tx);
  }

  async load(transactionId) {
    const tx = this.db.transaction(JOURNAL, 'readonly');
    const records = await result(tx.objectStore(JOURNAL).getAll(range(transactionId)));
    this.next.set(transactionId, records.length);
    return records;
  }

  async forget(transactionId) {
    const tx = this.db.transaction([JOURNAL, TRANSACTIONS], 'readwrite');
    tx.objectStore(JOURNAL).delete(range(transactionId));
    tx.objectStore(TRANSACTIONS).delete(transactionId);
    this.next.delete(transactionId);
    await done(tx);
  }

  async unfinished() {
    return (await this.transactions()).filter(([, t]) => !t.finished).map(([id]) => id);
  }

  async pruneFinished(olderThanMs = WEEK_MS) {
    return pruneFinished(this, await this.transactions(), olderThanMs);
  }

  async transactions() {
    const tx = this.db.transaction(TRANSACTIONS, 'readonly');
    const store = tx.objectStore(TRANSACTIONS);
    const [keys, values] = await Promise.all([result(store.getAllKeys()), result(store.getAll())]);
    return keys.map((id, i) => [id, values[i]]);
  }

  async get(key) {
    const tx = this.db.transaction(KV, 'readonly');
    return (await result(tx.objectStore(KV).get(key))) ?? null;
  }

  async set(key, value) {
    const tx = this.db.transaction(KV, 'readwrite', { durability: 'strict' });
    tx.objectStore(KV).put(value, key);
    await done(tx);
  }

  close() {
    this.db.close();
  }
}

// localStorage: synchronous and string-only, so records must survive JSON (a step result that
// does not makes `append` throw, and the coordinator reports a JournalError).
class LocalStorage {
  constructor(storage, name) {
    this.storage = storage;
    this.prefix = `${name}:`;
    this.kind = 'localstorage';
  }

  key(kind, id) {
    return `${this.prefix}${kind}:${id}`;
  }

  read(kind, id, fallback) {
    const text = this.storage.getItem(this.key(kind, id));
    return text === null ? fallback : JSON.parse(text);
  }

  async append(transactionId, record) {
    const records = this.read(JOURNAL, transactionId, []);
    records.push(record);
    this.storage.setItem(this.key(JOURNAL, transactionId), JSON.stringify(records));
    if (record.kind === 'transaction.started' || record.kind === 'transaction.finished') {
      const all = this.read(TRANSACTIONS, '', {});
      all[transactionId] = { finished: record.kind === 'transaction.finished', at: record.at };
      this.storage.setItem(this.key(TRANSACTIONS, ''), JSON.stringify(all));
    }
  }

  async load(transactionId) {
    return this.read(JOURNAL, transactionId, []);
  }

  async forget(transactionId) {
    this.storage.removeItem(this.key(JOURNAL, transactionId));
    const all = this.read(TRANSACTIONS, '', {});
    delete all[transactionId];
    this.storage.setItem(this.key(TRANSACTIONS, ''), JSON.stringify(all));
  }

  async unfinished() {
    return Object.entries(this.read(TRANSACTIONS, '', {})).filter(([, t]) => !t.finished).map(([id]) => id);
  }

  async pruneFinished(olderThanMs = WEEK_MS) {
    return pruneFinished(this, Object.entries(this.read(TRANSACTIONS, '', {})), olderThanMs);
  }

  async get(key) {
    return this.storage.getItem(this.key(KV, key));
  }

  async set(key, value) {
    this.storage.setItem(this.key(KV, key), value);
  }

  close() {}
}

// Journals of transactions that finished more than `olderThanMs` ago are dropped (a waiting tab
// reads the outcome from the journal, so the recent ones stay); unfinished ones never are.
async function pruneFinished(storage, transactions, olderThanMs) {
  if (typeof olderThanMs !== 'number' || !(olderThanMs >= 0)) throw invalid('olderThanMs', 'must be a non-negative number');
  const cutoff = Date.now() - olderThanMs;
  const old = transactions.filter(([, t]) => t.finished && t.at <= cutoff).map(([id]) => id);
  for (const id of old) await storage.forget(id);
  return old.length;
}

// Web Locks: resolves once this page holds `edgesaga:tx:<id>` with a function that releases it,
// or with null where the API is missing (Workers, Node: one host runs each transaction there).
export async function lockTransaction(transactionId) {
  const locks = globalThis.navigator?.locks;
  if (!locks || typeof locks.request !== 'function') return null;
  let release;
  const held = new Promise((resolve) => (release = resolve));
  await new Promise((acquired, failed) => {
    locks.request(`edgesaga:tx:${transactionId}`, () => {
      acquired();
      return held;
    }).catch(failed);
  });
  return release;
}

function invalid(field, reason) {
  const error = new TypeError(`edgesaga: ${field}: ${reason}`);
  error.field = field;
  return error;
}
