// The notification hub's Durable Object: one tenant's hub — its ids, its replay buffer in
// storage and its live subscribers. The Worker side (worker/hub.js) authenticates `/events` and
// hands each publish and subscription over to it; the tenant it passes is the token's.
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
// Replay: a fresh subscriber (no Last-Event-ID) gets live events only, after an id-only block
// naming the newest id (`id: 41`; `id: 0` before the first), so a client that reconnects, or
// reloads with a stored resume point, before any event came still gets what was published
// meanwhile; `lastEventId=0` replays everything buffered. An id older than the buffer replays
// what is left after it; an id the hub never issued (garbage, or from lost state) replays
// everything buffered; both are preceded by a `hub.gap` event (no id) and flagged by the
// response header `x-hub-gap: 1`.

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
/** The tenant and subscription id of a subscription the Worker side opens (the id, to drop it
 *  when the client goes away): set on a request the Worker builds, never taken from a client's. */
export const TENANT_HEADER = 'x-edgesaga-hub-tenant';
export const SUBSCRIPTION_HEADER = 'x-edgesaga-hub-subscription';
const HEARTBEAT = NotificationHub.heartbeatFrame();
const GAP = NotificationHub.gapFrame();
const encoder = new TextEncoder();
/** Bytes queued for one subscriber before it is dropped as too slow (it reconnects and replays). */
const MAX_QUEUED_BYTES = 1 << 20;
/** The largest HUB_MAX_BYTES honoured: one event (at most HUB_MAX_BYTES) must fit one storage value. */
const MAX_VALUE_BYTES = 1_900_000;

/** The storage key of event `id` (its decimal text): zero-padded, so keys list in id order. */
const eventKey = (id) => EVENT_PREFIX + String(id).padStart(20, '0');

/** An env var's positive integer, or undefined (unset, or not one): the default applies. */
export function positiveInt(value) {
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
    if (lastEventId === null) {
      this.send(sub, encoder.encode(`id: ${this.hub.lastId}\n\n`));
    } else {
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
