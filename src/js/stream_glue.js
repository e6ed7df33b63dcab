// I/O for NotificationStream: fetch-stream and EventSource transports. Only I/O lives here;
// what to do with the bytes (parsing, dedupe, routing, reconnect policy) is Rust's.

// Opens one fetch-stream connection. Resolves to [status, contentType, reader] (reader is null
// when there is no body), rejects on a network error or an abort.
// `fetchFn`: the `fetch` option (a Durable Object stub's or a service binding's), else the global.
export async function openFetch(url, method, headers, body, credentials, lastEventId, signal, fetchFn) {
  const h = new Headers(headers ?? undefined);
  h.set('Accept', 'text/event-stream');
  h.set('Cache-Control', 'no-cache');
  if (lastEventId) h.set('Last-Event-ID', lastEventId);
  const init = { method: method ?? 'GET', headers: h, signal, cache: 'no-store' };
  if (body !== undefined && body !== null) init.body = body;
  if (credentials) init.credentials = credentials;
  const response = await (fetchFn ?? fetch)(url, init);
  const reader = response.body ? response.body.getReader() : null;
  return [response.status, response.headers.get('content-type') ?? '', reader];
}

// The next chunk, or null at the end of the body.
export async function readChunk(reader) {
  const { done, value } = await reader.read();
  return done ? null : value;
}

export function cancelReader(reader) {
  // Cancelling may reject when the stream already errored; nothing is left to clean up then.
  reader.cancel().catch(() => {});
}

// Calls a headers provider (sync or async) or returns the static headers.
export async function resolveHeaders(headers) {
  return typeof headers === 'function' ? await headers() : headers;
}

// The browser's own EventSource (opt-in transport). Events arrive already parsed; each one is
// handed to Rust in a single call. Returns the EventSource, closed by Rust on drop.
export function openEventSource(url, withCredentials, onEvent, onOpen, onError, eventTypes) {
  const source = new EventSource(url, { withCredentials });
  const forward = (e) => onEvent(e.type, e.data, e.lastEventId);
  source.addEventListener('message', forward);
  for (const type of eventTypes) source.addEventListener(type, forward);
  source.onopen = () => onOpen();
  source.onerror = () => onError(source.readyState);
  return source;
}

export function hasEventSource() {
  return typeof globalThis.EventSource === 'function';
}

// Page visibility and connectivity hooks (opt-in); no-ops where there is no document/window.
export function watchPage(onHidden, onVisible, onOnline) {
  const doc = globalThis.document;
  const visibility = () => (doc.visibilityState === 'hidden' ? onHidden() : onVisible());
  if (onHidden && doc && typeof doc.addEventListener === 'function') doc.addEventListener('visibilitychange', visibility);
  if (onOnline && typeof globalThis.addEventListener === 'function') globalThis.addEventListener('online', onOnline);
  return () => {
    if (onHidden && doc && typeof doc.removeEventListener === 'function') doc.removeEventListener('visibilitychange', visibility);
    if (onOnline && typeof globalThis.removeEventListener === 'function') globalThis.removeEventListener('online', onOnline);
  };
}

// The page's visibility when the stream starts: `visibilitychange` only reports changes.
export function pageHidden() {
  return globalThis.document?.visibilityState === 'hidden';
}

// Reads NotificationStream options in one call, checking each field's JS type and naming it.
// Returns [normalized, null] or [null, [field, reason]].
export function readStreamOptions(url, o) {
  const fail = (field, reason) => [null, [field, reason]];
  if (typeof url !== 'string' && !(url instanceof URL)) return fail('url', `must be a string or a URL, got ${typeof url}`);
  let href;
  try {
    href = new URL(String(url), globalThis.location?.href).href;
  } catch {
    return fail('url', `is not a valid URL: ${String(url)}`);
  }
  if (o === undefined || o === null) o = {};
  if (typeof o !== 'object') return fail('options', `must be an object, got ${typeof o}`);
  const out = { url: href };
  const check = (key, ok, want) => {
    const v = o[key];
    if (v === undefined || v === null) return true;
    if (!ok(v)) return false;
    out[key] = v;
    return true;
  };
  const isCount = (v) => Number.isInteger(v) && v >= 0;
  const specs = [
    ['transport', (v) => v === 'fetch' || v === 'eventsource', "'fetch' or 'eventsource'"],
    ['method', (v) => typeof v === 'string' && v.length > 0, 'a non-empty string'],
    ['body', (v) => typeof v === 'string', 'a string'],
    ['credentials', (v) => v === 'omit' || v === 'same-origin' || v === 'include', "'omit', 'same-origin' or 'include'"],
    ['headers', (v) => typeof v === 'function' || (typeof v === 'object' && !Array.isArray(v)), 'an object or a function returning one'],
    ['signal', (v) => typeof AbortSignal === 'function' && v instanceof AbortSignal, 'an AbortSignal'],
    ['fetch', (v) => typeof v === 'function', 'a function (url, init) => Promise<Response>'],
    ['lastEventId', (v) => typeof v === 'string', 'a string'],
    ['store', (v) => typeof v === 'object' && typeof v.get === 'function' && typeof v.set === 'function', 'an object with get(key) and set(key, value)'],
    ['storeKey', (v) => typeof v === 'string' && v.length > 0, 'a non-empty string'],
    ['storeRecent', (v) => typeof v === 'boolean', 'a boolean'],
    ['heartbeatTimeoutMs', isCount, 'a non-negative integer (0 disables the watchdog)'],
    ['dedupeWindow', isCount, 'a non-negative integer'],
    ['deadLetterLimit', isCount, 'a non-negative integer'],
    ['recentWindowMs', isCount, 'a non-negative integer'],
    ['bufferSize', (v) => Number.isInteger(v) && v > 0, 'a positive integer'],
    ['maxLineBytes', (v) => Number.isInteger(v) && v > 0, 'a positive integer'],
    ['maxEventBytes', (v) => Number.isInteger(v) && v > 0, 'a positive integer'],
    ['supportedMajorVersion', isCount, 'a non-negative integer'],
    ['pauseWhenHidden', (v) => typeof v === 'boolean', 'a boolean'],
    ['reconnectOnOnline', (v) => typeof v === 'boolean', 'a boolean'],
    ['onStateChange', (v) => typeof v === 'function', 'a function'],
    ['onError', (v) => typeof v === 'function', 'a function'],
    ['eventTypes', (v) => Array.isArray(v) && v.every((t) => typeof t === 'string'), 'an array of event type names'],
  ];
  for (const [key, ok, want] of specs) {
    if (!check(key, ok, want)) return fail(`options.${key}`, `must be ${want}`);
  }
  for (const [group, keys] of [['reconnect', ['initialDelayMs', 'maxDelayMs', 'healthyAfterMs']], ['handlerRetry', ['maxAttempts', 'delayMs']], ['filter', []]]) {
    const g = o[group];
    if (g === undefined || g === null) continue;
    if (typeof g !== 'object' || Array.isArray(g)) return fail(`options.${group}`, 'must be an object');
    for (const k of keys) {
      const v = g[k];
      if (v !== undefined && v !== null && !isCount(v)) return fail(`options.${group}.${k}`, 'must be a non-negative integer');
    }
    out[group] = g;
  }
  if (out.filter) {
    for (const k of Object.keys(out.filter)) {
      if (k !== 'tenantId' && k !== 'entityId') return fail(`options.filter.${k}`, "is not a filter (use 'tenantId' or 'entityId')");
      if (typeof out.filter[k] !== 'string') return fail(`options.filter.${k}`, 'must be a string');
    }
  }
  if (out.transport === 'eventsource' && (out.method || out.body || out.headers || out.fetch)) {
    return fail('options.transport', "'eventsource' cannot send custom headers, a method or a body, nor use options.fetch; use 'fetch'");
  }
  // A new EventSource cannot send Last-Event-ID, so pausing it while hidden would lose what was
  // published meanwhile; and it reconnects on its own, so `online` has nothing to add.
  if (out.transport === 'eventsource' && (out.pauseWhenHidden || out.reconnectOnOnline)) {
    return fail(out.pauseWhenHidden ? 'options.pauseWhenHidden' : 'options.reconnectOnOnline', "works with the 'fetch' transport only");
  }
  // For the same reason a silent EventSource cannot be replaced without loss, and the browser
  // schedules its reconnects itself: no watchdog and no backoff of ours (0 = no watchdog is fine).
  if (out.transport === 'eventsource' && (out.heartbeatTimeoutMs || out.reconnect)) {
    return fail(out.heartbeatTimeoutMs ? 'options.heartbeatTimeoutMs' : 'options.reconnect', "works with the 'fetch' transport only");
  }
  if (out.storeRecent && !out.store) return fail('options.storeRecent', 'needs options.store');
  // EventSource cannot send Last-Event-ID on its first request, so it cannot resume a stored
  // position: refuse rather than silently redeliver everything.
  if (out.transport === 'eventsource' && (out.store || out.lastEventId)) {
    return fail('options.transport', "'eventsource' cannot resume from a stored or given lastEventId; use 'fetch'");
  }
  return [out, null];
}

// The async iterator behind `for await (const n of stream)`: a bounded queue. `offer` returns
// null when the value was queued, or a promise that resolves once there is room again (so
// delivery waits for a slow consumer instead of dropping notifications).
export class NotificationQueue {
  constructor(limit) {
    this.limit = limit;
    this.items = [];
    this.takers = [];
    this.room = null;
    this.done = false;
  }

  offer(value) {
    if (this.done) return null;
    const taker = this.takers.shift();
    if (taker) {
      taker({ value, done: false });
      return null;
    }
    this.items.push(value);
    if (this.items.length < this.limit) return null;
    if (this.room === null) {
      let release;
      const promise = new Promise((r) => { release = r; });
      this.room = { promise, release };
    }
    return this.room.promise;
  }

  close() {
    this.done = true;
    for (const taker of this.takers.splice(0)) taker({ value: undefined, done: true });
    this.freeRoom();
  }

  freeRoom() {
    if (this.room !== null) {
      this.room.release();
      this.room = null;
    }
  }

  next() {
    if (this.items.length > 0) {
      const value = this.items.shift();
      if (this.items.length < this.limit) this.freeRoom();
      return Promise.resolve({ value, done: false });
    }
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => this.takers.push(resolve));
  }

  return() {
    this.items.length = 0;
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator]() {
    return this;
  }
}

// Makes instances of a wasm-bindgen class async-iterable (wasm-bindgen cannot export a
// symbol-named method): `for await (const n of stream)` calls `stream.iterate()`.
export function installAsyncIterator(instance) {
  const proto = Object.getPrototypeOf(instance);
  if (!Object.prototype.hasOwnProperty.call(proto, Symbol.asyncIterator)) {
    Object.defineProperty(proto, Symbol.asyncIterator, {
      value() { return this.iterate(); },
      configurable: true,
      writable: true,
    });
  }
}

// The user's Notification object, built once per delivery from the JSON Rust validated.
// `form` 1 is the envelope. Fields routing needed (type, entityId) come from Rust as extracted.
export function makeNotification(raw, id, type, dot, entityId, form) {
  const payload = JSON.parse(raw);
  const metadata = payload.metadata !== null && typeof payload.metadata === 'object' ? { ...payload.metadata } : {};
  const n = {
    id: id ?? null,
    type,
    resource: type.slice(0, dot),
    action: type.slice(dot + 1),
    entityId: entityId ?? null,
    timestamp: payload.timestamp ?? null,
    version: null,
    data: payload,
    metadata,
  };
  if (form === 1) {
    n.version = payload.version === undefined || payload.version === null ? null : String(payload.version);
    n.data = payload.data;
  } else if (payload.triggeredBy !== undefined) {
    metadata.triggeredBy = payload.triggeredBy;
  }
  return n;
}

// Calls a handler; 0: done (value), 1: pending (a promise to await), 2: threw (value = error).
export function callHandler(handler, notification) {
  try {
    const v = handler(notification);
    if (v !== null && (typeof v === 'object' || typeof v === 'function') && typeof v.then === 'function') {
      return [1, Promise.resolve(v)];
    }
    return [0, v];
  } catch (e) {
    return [2, e];
  }
}

export function callStore(store, method, key, value) {
  try {
    return Promise.resolve(method === 'get' ? store.get(key) : store.set(key, value));
  } catch (e) {
    return Promise.reject(e);
  }
}
