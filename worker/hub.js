// The notification hub: `/events` on the Worker, one Durable Object per tenant.
//
//   POST /events   Authorization: Bearer <publisher token>, body: one notification (JSON)
//                  201 { id, delivered } · 400 { error } (NotificationSchemaError: reason, field)
//                  401 no or unknown token · 403 a subscribe-only token · 413 over HUB_MAX_BYTES
//   GET  /events   Authorization: Bearer <any token>; Last-Event-ID (or ?lastEventId=) resumes
//                  200 text/event-stream: the replay, then live frames, heartbeats every
//                  HUB_HEARTBEAT_MS · 401 no or unknown token
//
// Tokens: HUB_TOKENS = JSON { "<token>": { "tenant": "acme", "publish": true } }. The tenant of
// everything — what a subscriber sees, where a notification is published — is the token's,
// never the request's: a body naming another tenant (`tenantId`, `metadata.tenantId`) is
// refused with 400 (reason `tenant_mismatch`); a body naming none gets the publisher's tenant
// added as `tenantId`. Each tenant has its own HubObject (`idFromName('tenant:' + tenant)`), and
// the hub inside also keys every event by tenant, so one tenant's stream can never carry
// another's events.
//
// Ids: strictly increasing per tenant, kept across restarts, with the replay buffer. Storage is
// incremental: one value per buffered event, `e:<id, 20 digits>` -> { tenant, frame } (listed
// in id order), and `hub:meta` (the hub's id counter and eviction marks, a few dozen bytes). A
// publish puts its event and the meta and deletes the events it evicted — one small write, not
// awaited: the Durable Object's output gate holds the publish's response (and every other
// message out of the object) until it is durable, so a publish is acknowledged only once it is
// stored. Live subscribers get it only then too (`storage.sync()`, shared by the publishes that
// arrive meanwhile). On start the hub is rebuilt from `hub:meta` and the `e:` values.
//
// Replay: a fresh subscriber (no Last-Event-ID) gets live events only; `lastEventId=0` replays
// everything buffered. An id older than the buffer replays what is left after it; an id the hub
// never issued (garbage, or from lost state) replays everything buffered; both are preceded by a
// `hub.gap` event (no id) and flagged by the response header `x-hub-gap: 1`.
//
// Transaction code publishes lifecycle events with `lifecyclePublisher(env, tenant, ctx)` or
// `publishLifecycle(env, tenant, event)` (below): only the public lifecycle events, and of an
// error only its name and message.

import { DurableObject } from 'cloudflare:workers';
import wasm from '../pkg/edgesaga_bg.wasm';
import { initSync, NotificationHub } from '../pkg/edgesaga.js';

initSync({ module: wasm }); // a no-op when the entry did it first

const EVENT_PREFIX = 'e:';
const META_KEY = 'hub:meta';
/** Before events were stored one by one: the whole state in one value, and the counter. */
const LEGACY_KEYS = ['hub:snapshot', 'hub:lastId'];
/** At most this many keys per `storage.put` / `storage.delete` call. */
const PUT_BATCH = 128;
const DELETE_BATCH = 128;
const TENANT_HEADER = 'x-edgesaga-hub-tenant';
const SUBSCRIPTION_HEADER = 'x-edgesaga-hub-subscription';
const HEARTBEAT = NotificationHub.heartbeatFrame();
const GAP = NotificationHub.gapFrame();
/** Bytes queued for one subscriber before it is dropped as too slow (it reconnects and replays). */
const MAX_QUEUED_BYTES = 1 << 20;
/** The largest HUB_MAX_BYTES honoured: one event (at most HUB_MAX_BYTES) must fit one storage value. */
const MAX_VALUE_BYTES = 1_900_000;

/** The storage key of event `id` (its decimal text): zero-padded, so keys list in id order. */
const eventKey = (id) => EVENT_PREFIX + String(id).padStart(20, '0');

// ── the Worker side: authentication and routing ────────────────────────────────────────────

/** Handles `/events`: authenticates, then hands over to the tenant's HubObject (`ctx`: the
 *  fetch handler's, to tell the object when a subscriber goes away). */
export async function handleEvents(request, env, ctx) {
  let auth;
  try {
    auth = authenticate(request, env);
  } catch (error) {
    console.error('edgesaga hub: HUB_TOKENS is invalid:', error.message);
    return problem(500, 'HubConfigError', 'the hub is misconfigured');
  }
  if (request.method === 'GET') {
    if (auth === null) return unauthorized();
    const url = new URL(request.url);
    // An empty id is no id (SSE resets the last event ID to empty).
    const lastEventId = request.headers.get('last-event-id') || url.searchParams.get('lastEventId') || null;
    const subscription = crypto.randomUUID();
    const headers = { [TENANT_HEADER]: auth.tenant, [SUBSCRIPTION_HEADER]: subscription };
    if (lastEventId !== null) headers['last-event-id'] = lastEventId;
    const stub = hubStub(env, auth.tenant);
    // A new request: nothing the client sent but Last-Event-ID reaches the object.
    const response = await stub.fetch('https://hub.internal/subscribe', { headers });
    if (!response.ok || response.body === null) return response;
    // workerd tells the object nothing when the client goes away (its writes keep succeeding),
    // nor a Worker that passes the body straight through; the Worker's own request.signal does
    // (compatibility flag enable_request_signal) when the Worker relays the body itself. Then
    // the object drops the subscriber.
    const { readable, writable } = new TransformStream();
    const relay = new AbortController();
    response.body.pipeTo(writable, { signal: relay.signal }).catch(() => {});
    request.signal?.addEventListener('abort', () => {
      relay.abort();
      // Outside waitUntil the call would never leave: the request's I/O is over.
      ctx?.waitUntil(stub.unsubscribe(subscription).catch(() => {}));
    }, { once: true });
    return new Response(readable, response);
  }
  if (request.method === 'POST') {
    if (auth === null) return unauthorized();
    if (!auth.publish) return problem(403, 'Forbidden', 'this token may subscribe but not publish');
    const maxBytes = positiveInt(env.HUB_MAX_BYTES) ?? 1 << 20;
    const text = await readBody(request, maxBytes);
    if (text === null) return tooLarge(maxBytes);
    const result = await hubStub(env, auth.tenant).publish(auth.tenant, text);
    if (!result.ok) {
      const status = result.error.reason === 'too_large' ? 413 : 400;
      return Response.json({ error: result.error }, { status });
    }
    return Response.json({ id: result.id, delivered: result.delivered }, { status: 201 });
  }
  return new Response(null, { status: 405, headers: { allow: 'GET, POST' } });
}

/**
 * A lifecycle listener for one request: `new TransactionCoordinator({ onEvent:
 * lifecyclePublisher(env, tenant, ctx) })` publishes each public lifecycle event to `tenant`'s
 * subscribers, in order. One call to the hub at a time, each kept alive with `ctx.waitUntil`:
 * the events emitted together (in one microtask: a step's outcome and the progress), or while
 * the call before is under way, go in the next call, stored by the hub in one write. Returns,
 * per event, what `publishLifecycle` resolves with.
 */
export function lifecyclePublisher(env, tenant, ctx) {
  const stub = hubStub(env, tenant);
  let queued = null; // { texts, sent }: the next call, while it gathers events
  let inFlight = Promise.resolve();
  return (event) => {
    const text = lifecycleNotification(event);
    if (text === null) return Promise.resolve(null);
    if (queued === null) {
      const texts = [];
      // After the call before it (so in order), with whatever was emitted meanwhile.
      const sent = inFlight.then(() => {
        if (queued?.texts === texts) queued = null;
        return stub.publishMany(tenant, texts);
      });
      inFlight = sent.catch(() => {});
      queued = { texts, sent };
      ctx?.waitUntil(sent.catch((error) => console.error('edgesaga hub: lifecycle events were not published', error)));
    }
    const at = queued.texts.push(text) - 1;
    return queued.sent.then((results) => published(results[at]));
  };
}

/** `{ id, delivered }` out of a hub's answer; throws its error. */
function published(result) {
  if (!result.ok) throw Object.assign(new Error(result.error.message), result.error);
  return { id: result.id, delivered: result.delivered };
}

/**
 * Publishes a transaction lifecycle event (what a `TransactionCoordinator`'s `onEvent` or `'*'`
 * listener receives) to `tenant`'s subscribers, as the notification built by
 * `lifecycleNotification`. Anything else — journal checkpoints, arbitrary objects — is not
 * published: resolves with null. Resolves with `{ id, delivered }`. Separate calls may use
 * separate stubs and arrive in any order: for a transaction's events, `lifecyclePublisher`.
 */
export async function publishLifecycle(env, tenant, event, stub = hubStub(env, tenant)) {
  const text = lifecycleNotification(event);
  if (text === null) return null;
  return published(await stub.publish(tenant, text));
}

const LIFECYCLE_TYPES = new Set([
  'transaction.started', 'step.started', 'step.retrying', 'step.succeeded', 'step.failed',
  'compensation.started', 'compensation.succeeded', 'compensation.failed',
  'transaction.committed', 'transaction.compensated', 'transaction.compensation_failed', 'progress',
]);
const MAX_TEXT = 1024;

/**
 * The notification (JSON text) for a public lifecycle event, or null for anything else:
 * `{ type, entityId: transactionId, timestamp, data: { transactionId, transactionName, step?,
 * attempt?, delayMs?, completedSteps, totalSteps, error?: { name, message } } }`, with `progress`
 * typed `transaction.progress`. Fields are copied one by one, by type: never a stack, a cause,
 * the step's result or the context. Checkpoints (`{ kind, at, … }`) have no `type`: null.
 */
export function lifecycleNotification(event) {
  if (event === null || typeof event !== 'object') return null;
  const { type, transactionId } = event;
  if (typeof type !== 'string' || !LIFECYCLE_TYPES.has(type) || typeof transactionId !== 'string') return null;
  const text = (v) => (typeof v === 'string' ? v.slice(0, MAX_TEXT) : undefined);
  const count = (v) => (Number.isFinite(v) ? v : undefined);
  const error = event.error;
  const data = {
    transactionId,
    transactionName: text(event.transactionName),
    step: text(event.step),
    attempt: count(event.attempt),
    delayMs: count(event.delayMs),
    completedSteps: count(event.completedSteps),
    totalSteps: count(event.totalSteps),
    error: error === null || error === undefined ? undefined
      : { name: text(error.name) ?? 'Error', message: text(error.message) ?? '' },
  };
  return JSON.stringify({
    type: type === 'progress' ? 'transaction.progress' : type,
    entityId: transactionId,
    timestamp: count(event.timestamp) ?? Date.now(),
    data,
  });
}

/**
 * A subscription to `tenant`'s notifications from inside the Worker (a transaction's `await`
 * steps): `fetch` opens the hub object's stream directly (no token: the caller already knows the
 * tenant), for `new NotificationStream(url, { fetch })`, and `close` drops every subscriber it
 * opened — workerd never tells the object when a reader goes away.
 */
export function hubSubscription(env, tenant) {
  const stub = hubStub(env, tenant);
  const opened = new Set();
  return {
    fetch(_url, init = {}) {
      const subscription = crypto.randomUUID();
      opened.add(subscription);
      const headers = new Headers(init.headers);
      headers.set(TENANT_HEADER, tenant);
      headers.set(SUBSCRIPTION_HEADER, subscription);
      return stub.fetch('https://hub.internal/subscribe', { headers, signal: init.signal });
    },
    close() {
      const gone = [...opened].map((id) => stub.unsubscribe(id).catch(() => {}));
      opened.clear();
      return Promise.all(gone);
    },
  };
}

/** The tenant's hub object. */
export function hubStub(env, tenant) {
  return env.HUB.get(env.HUB.idFromName(`tenant:${tenant}`));
}

let tokenCache = { source: undefined, map: new Map() };

/** `{ tenant, publish }` for the request's bearer token, or null. Throws on a bad HUB_TOKENS. */
export function authenticate(request, env) {
  const match = /^Bearer[ \t]+([^\s]+)[ \t]*$/i.exec(request.headers.get('authorization') ?? '');
  if (match === null) return null;
  if (tokenCache.source !== env.HUB_TOKENS) tokenCache = { source: env.HUB_TOKENS, map: parseTokens(env.HUB_TOKENS) };
  return tokenCache.map.get(match[1]) ?? null;
}

function parseTokens(source) {
  const map = new Map();
  if (source === undefined) return map; // no tokens configured: every request is refused
  const parsed = typeof source === 'string' ? JSON.parse(source) : source;
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('must be a JSON object');
  for (const [token, grant] of Object.entries(parsed)) {
    if (typeof grant?.tenant !== 'string' || grant.tenant === '') throw new Error('every token needs a non-empty tenant');
    map.set(token, Object.freeze({ tenant: grant.tenant, publish: grant.publish === true }));
  }
  return map;
}

/** The body as text, or null past `maxBytes` bytes (read no further). */
async function readBody(request, maxBytes) {
  if (Number(request.headers.get('content-length') ?? 0) > maxBytes) return null;
  if (request.body === null) return '';
  const chunks = [];
  let size = 0;
  for await (const chunk of request.body) {
    size += chunk.byteLength;
    if (size > maxBytes) return null; // leaving the loop cancels the body
    chunks.push(chunk);
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes);
}

export function unauthorized() {
  const response = problem(401, 'Unauthorized', 'a valid bearer token is required');
  response.headers.set('www-authenticate', 'Bearer realm="edgesaga"');
  return response;
}

function tooLarge(maxBytes) {
  return problem(413, 'NotificationSchemaError', `the notification is over the hub's maxBytes (${maxBytes})`, 'too_large');
}

export function problem(status, name, message, reason) {
  return Response.json({ error: { name, message, reason: reason ?? null, field: null } }, { status });
}

function positiveInt(value) {
  const n = Number(value);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

// ── the Durable Object: one tenant's hub ────────────────────────────────────────────────────

export class HubObject extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    // Each event is one storage value (at most 2 MB with its key): keep an event under that.
    const maxBytes = Math.min(positiveInt(env.HUB_MAX_BYTES) ?? 1 << 20, MAX_VALUE_BYTES);
    this.hub = new NotificationHub({ maxEvents: positiveInt(env.HUB_MAX_EVENTS), maxBytes });
    this.heartbeatMs = positiveInt(env.HUB_HEARTBEAT_MS) ?? 15_000;
    this.subscribers = new Set();
    this.byId = new Map(); // subscription id -> subscriber
    this.timer = null;
    // Published, written, not yet known durable: sent to subscribers once it is.
    this.pending = [];
    this.generation = 0; // publishes so far
    this.synced = 0; // publishes known durable (and sent)
    this.syncing = null;
    ctx.blockConcurrencyWhile(() => this.load());
  }

  async load() {
    const storage = this.ctx.storage;
    const [meta, stored] = await Promise.all([storage.get(META_KEY), storage.list({ prefix: EVENT_PREFIX })]);
    if (meta === undefined && stored.size === 0) return this.migrate();
    const keys = [...stored.keys()];
    const events = [...stored.values()];
    let dropped;
    try {
      dropped = this.hub.restore(meta, events);
    } catch (error) {
      // The events still hold the ids: the counter goes on from the highest.
      console.error('edgesaga hub: the stored meta is unreadable; replays before the buffer are flagged as gaps', error);
      dropped = this.hub.restore(undefined, events);
    }
    // Beyond the bounds (smaller than before), or unreadable: no longer part of the buffer.
    if (dropped.length > 0) this.remove(Array.from(dropped, (at) => keys[at]));
    if (dropped.length > 0 || meta === undefined) storage.put(META_KEY, this.hub.meta());
  }

  /** A hub stored by an earlier version (one snapshot value): keep its counter, so that no id is
   *  ever reused; its buffer is not carried over (a replay from before it is flagged as a gap). */
  async migrate() {
    const storage = this.ctx.storage;
    const legacy = await storage.get(LEGACY_KEYS);
    if (legacy.size === 0) return; // a new hub
    const lastId = legacy.get(LEGACY_KEYS[1]);
    if (typeof lastId === 'string' && /^\d+$/.test(lastId)) this.hub.restoreCounter(lastId);
    else console.error('edgesaga hub: an earlier version\'s state has no readable counter; ids restart');
    storage.put(META_KEY, this.hub.meta());
    storage.delete(LEGACY_KEYS);
  }

  /** Deletes keys, `DELETE_BATCH` at a time (not awaited: the output gate covers them). */
  remove(keys) {
    for (let at = 0; at < keys.length; at += DELETE_BATCH) this.ctx.storage.delete(keys.slice(at, at + DELETE_BATCH));
  }

  /** RPC: `{ ok: true, id, delivered }` or `{ ok: false, error: { name, message, reason, field } }`. */
  async publish(tenant, text) {
    const item = this.accept(tenant, text);
    if (!item.ok) return item;
    this.store([item]);
    await this.durable();
    return { ok: true, id: item.id, delivered: item.delivered };
  }

  /** RPC: `publish` for several notifications, in order, stored in one write; one result each. */
  async publishMany(tenant, texts) {
    const items = texts.map((text) => this.accept(tenant, text));
    const accepted = items.filter((item) => item.ok);
    if (accepted.length === 0) return items;
    this.store(accepted);
    await this.durable();
    return items.map((item) => (item.ok ? { ok: true, id: item.id, delivered: item.delivered } : item));
  }

  /** Buffers one notification: the item to store and send, or `{ ok: false, error }`. */
  accept(tenant, text) {
    let published;
    try {
      published = this.hub.publish(tenant, text);
    } catch (error) {
      if (error?.name !== 'NotificationSchemaError') throw error;
      const { name, message, reason, field } = error;
      return { ok: false, error: { name, message, reason, field } };
    }
    const { id, frame, evicted } = published;
    return { ok: true, id, tenant, frame, evicted, delivered: 0 };
  }

  /**
   * Writes accepted items (their events, the meta; deletes what they evicted) and queues them
   * for the subscribers. Not awaited: these writes (one transaction: nothing is awaited between
   * them) hold the caller's response at the output gate until they are durable; a failed write
   * breaks the object, and the caller sees an error, never an acknowledgement.
   */
  store(items) {
    let entries = {};
    let count = 0;
    const evicted = [];
    for (const item of items) {
      entries[eventKey(item.id)] = { tenant: item.tenant, frame: item.frame };
      if (++count === PUT_BATCH - 1) { // room left for the meta
        this.ctx.storage.put(entries);
        entries = {};
        count = 0;
      }
      for (const id of item.evicted) evicted.push(eventKey(id));
    }
    entries[META_KEY] = this.hub.meta();
    this.ctx.storage.put(entries);
    // After the puts: an event evicted by a later item of the same batch is put, then deleted.
    if (evicted.length > 0) this.remove(evicted);
    for (const item of items) {
      item.evicted = null;
      this.pending.push(item);
    }
    this.generation++;
  }

  /** Resolves once every publish so far is durable (and was sent to subscribers). */
  async durable() {
    while (this.synced < this.generation) {
      this.syncing ??= this.sync().finally(() => (this.syncing = null));
      await this.syncing;
    }
  }

  /** Waits for the writes so far, then sends what they stored to the live subscribers. */
  async sync() {
    const generation = this.generation;
    const batch = this.pending.splice(0);
    try {
      await this.ctx.storage.sync();
    } catch (error) {
      this.pending.unshift(...batch);
      throw error;
    }
    this.synced = generation;
    for (const item of batch) {
      const id = Number(item.id);
      for (const sub of this.subscribers) {
        // One tenant per object, but never trust that alone: a frame goes to its tenant only.
        if (sub.tenant === item.tenant && id > sub.after && this.send(sub, item.frame)) item.delivered++;
      }
    }
  }

  /** The subscription, from `handleEvents` (GET only; the tenant was authenticated there). */
  async fetch(request) {
    const tenant = request.headers.get(TENANT_HEADER);
    if (!tenant) return new Response('not a hub request', { status: 400 });
    const lastEventId = request.headers.get('last-event-id') || null;
    // What is replayed must already be in storage: wait, then replay and register at once.
    await this.durable();
    const { readable, writable } = new TransformStream(undefined, { highWaterMark: 64 * 1024, size: (chunk) => chunk.byteLength });
    const id = request.headers.get(SUBSCRIPTION_HEADER) ?? crypto.randomUUID();
    const sub = { id, tenant, writer: writable.getWriter(), after: Number(this.hub.lastId) };
    const headers = {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
    };
    this.subscribers.add(sub);
    this.byId.set(id, sub);
    sub.writer.closed.catch(() => this.drop(sub)); // the client went away
    this.send(sub, HEARTBEAT); // something to read at once
    if (lastEventId !== null) {
      const { frames, gap } = this.hub.replay(tenant, lastEventId);
      if (gap) {
        headers['x-hub-gap'] = '1';
        this.send(sub, GAP);
      }
      if (frames.byteLength > 0) this.send(sub, frames);
    }
    this.timer ??= setInterval(() => this.heartbeat(), this.heartbeatMs);
    return new Response(readable, { headers });
  }

  heartbeat() {
    for (const sub of this.subscribers) this.send(sub, HEARTBEAT);
  }

  /** Queues bytes for a subscriber; false (and the subscriber dropped) when it is gone or too slow. */
  send(sub, bytes) {
    if (!this.subscribers.has(sub)) return false;
    const desired = sub.writer.desiredSize;
    if (desired === null || desired < -MAX_QUEUED_BYTES) {
      this.drop(sub);
      return false;
    }
    sub.writer.write(bytes).catch(() => this.drop(sub));
    return true;
  }

  /** RPC, from `handleEvents` when the client went away. */
  async unsubscribe(id) {
    const sub = this.byId.get(id);
    if (sub !== undefined) this.drop(sub);
  }

  drop(sub) {
    if (!this.subscribers.delete(sub)) return;
    this.byId.delete(sub.id);
    sub.writer.abort().catch(() => {});
    if (this.subscribers.size === 0 && this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  /** RPC, for tests and monitoring: live subscribers and buffer state. */
  async stats() {
    return { subscribers: this.subscribers.size, lastId: this.hub.lastId, size: this.hub.size, bytes: this.hub.bytes };
  }
}
