// The notification hub's Worker side: `/events` (authentication, then the tenant's HubObject,
// worker/hub-object.js, which keeps the ids, the replay buffer and the subscribers), and the
// helpers transaction code uses to publish and subscribe from inside the Worker.
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
// Ids are strictly increasing per tenant and kept across restarts; a subscriber resumes with
// Last-Event-ID, and a replay that cannot be complete is flagged (`hub.gap`, `x-hub-gap: 1`):
// see worker/hub-object.js.
//
// Transaction code publishes lifecycle events with `lifecyclePublisher(env, tenant, ctx)` or
// `publishLifecycle(env, tenant, event)` (below): only the public lifecycle events, and of an
// error only its name and message.

import { SUBSCRIPTION_HEADER, TENANT_HEADER, positiveInt } from './hub-object.js';

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
