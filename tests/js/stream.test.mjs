// NotificationStream (pkg/) delivery against the real local SSE server: the normalised
// Notification, dead letters, handler failures, routing and filters, ordering, the store,
// waitFor, the async iterator and close(). What handlers saw is checked against what the
// server published and logged.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lightweight, envelope, UNICODE } from './sse-server.mjs';
import { setup, sleep, eventually, seqOf, range } from './stream-harness.mjs';

/** Fails instead of hanging the file when a promise never settles. */
const within = (promise, ms) =>
  Promise.race([promise, sleep(ms).then(() => assert.fail(`still pending after ${ms} ms`))]);

const ctx = setup();
const { open, seen, answered } = ctx;

test('both wire forms normalise to one Notification; the request is what SSE asks for', async () => {
  ctx.server.publish(lightweight(1));
  ctx.server.publish(envelope(2));
  const log = open();
  assert.equal(log.stream.readyState, 0);
  await seen(log, 2);
  assert.equal(log.stream.readyState, 1);
  const [a, b] = log.seen;
  assert.deepEqual(
    { id: a.id, type: a.type, resource: a.resource, action: a.action, entityId: a.entityId, timestamp: a.timestamp },
    { id: '1', type: 'order.status_changed', resource: 'order', action: 'status_changed', entityId: 'order-1',
      timestamp: lightweight(1).timestamp });
  assert.equal(a.metadata.triggeredBy, 'user-7');
  assert.equal(a.metadata.tenantId, 'tenant-a');
  assert.equal(a.metadata.note, UNICODE);
  assert.deepEqual(
    { id: b.id, type: b.type, resource: b.resource, action: b.action, entityId: b.entityId, version: b.version },
    { id: '2', type: 'payment.processed', resource: 'payment', action: 'processed', entityId: 'order-2', version: '1.0' });
  assert.deepEqual(b.data, envelope(2).data);
  for (const key of ['tenantId', 'source', 'correlationId', 'userId', 'traceId']) {
    assert.equal(b.metadata[key], envelope(2).metadata[key], key);
  }
  assert.equal(log.stream.lastEventId, '2');
  const [conn] = ctx.server.connections;
  assert.equal(conn.headers.accept, 'text/event-stream');
  assert.equal(conn.headers.lastEventId, null);
  assert.equal(conn.method, 'GET');
  assert.deepEqual(log.states.map((s) => s.state).filter((s) => s !== 'connecting'), ['open']);
  assert.deepEqual(log.errors, []);
});

test('malformed JSON, a missing type and an incompatible version are dead-lettered; the stream goes on', async () => {
  const ids = ['malformedJson', 'missingType', 'incompatibleVersion'].map((kind) => ctx.server.publishPoison(kind));
  ctx.server.publish(lightweight(4));
  const log = open();
  await seen(log, 1);
  assert.deepEqual(log.seen.map(seqOf), [4]);
  assert.equal(log.stream.readyState, 1);
  const dead = log.stream.deadLetters;
  assert.equal(dead.length, 3);
  assert.deepEqual(dead.map((d) => d.id), ids);
  assert.deepEqual(dead.map((d) => d.reason), ['schema', 'schema', 'schema']);
  assert.deepEqual(dead.map((d) => d.error.name), Array(3).fill('NotificationSchemaError'));
  assert.ok(dead.every((d) => d.error instanceof Error));
  assert.deepEqual(dead.map((d) => d.raw), ids.map((id) => ctx.server.history.find((e) => e.id === id).data));
});

test('the dead-letter list is bounded by deadLetterLimit and keeps the newest', async () => {
  for (let i = 1; i <= 4; i++) ctx.server.publish(`{"broken":${i}`);
  ctx.server.publish(lightweight(5));
  const log = open({ deadLetterLimit: 2 });
  await seen(log, 1);
  assert.deepEqual(log.stream.deadLetters.map((d) => d.id), ['3', '4']);
});

test('a throwing handler does not stop the others; it is retried, then dead-lettered', async () => {
  const log = open({ handlerRetry: { maxAttempts: 3, delayMs: 5 } });
  const calls = { broken: 0, flaky: [], ok: [] };
  const boom = new Error('handler exploded');
  log.stream.on('order.*', () => {
    calls.broken++;
    throw boom;
  });
  let flakyFailed = false;
  log.stream.on('order.*', async (n) => {
    calls.flaky.push(seqOf(n));
    if (!flakyFailed) {
      flakyFailed = true;
      throw new Error('once');
    }
  });
  log.stream.on('order.*', (n) => void calls.ok.push(seqOf(n)));
  ctx.server.publish(lightweight(1));
  ctx.server.publish(lightweight(2));
  await eventually(() => assert.equal(log.stream.deadLetters.length, 2));
  await sleep(50);
  assert.deepEqual(calls.ok, [1, 2], 'a healthy handler ran once per notification');
  assert.deepEqual(calls.flaky, [1, 1, 2], 'only the failing handler is retried');
  assert.equal(calls.broken, 6, '3 attempts per notification');
  const dead = log.stream.deadLetters;
  assert.deepEqual(dead.map((d) => [d.reason, d.id, d.error?.message]), [
    ['handler', '1', 'handler exploded'], ['handler', '2', 'handler exploded']]);
  assert.equal(seqOf(dead[0].notification), 1);
  assert.deepEqual(log.seen.map(seqOf), [1, 2]);
  assert.equal(log.stream.readyState, 1);
});

test('routing by exact type, resource.*, * and filters; unsubscribe stops delivery', async () => {
  const log = open();
  const got = {};
  const track = (name, pattern, filter) => {
    got[name] = [];
    return log.stream.on(pattern, (n) => void got[name].push(seqOf(n)), filter);
  };
  track('exact', 'order.status_changed');
  const offOrders = track('orders', 'order.*');
  track('payments', 'payment.*');
  track('payment-2', 'payment.processed', { entityId: 'order-2' });
  track('tenant-b', '*', { tenantId: 'tenant-b' });
  ctx.server.publish(lightweight(1));
  ctx.server.publish(envelope(2));
  ctx.server.publish(lightweight(3, { type: 'order.created' }));
  ctx.server.publish(envelope(4));
  ctx.server.publish(lightweight(5, { metadata: { seq: 5, tenantId: 'tenant-b' } }));
  await seen(log, 5);
  offOrders();
  ctx.server.publish(lightweight(6));
  await seen(log, 6);
  assert.deepEqual(got, {
    exact: [1, 5, 6], orders: [1, 3, 5], payments: [2, 4], 'payment-2': [2], 'tenant-b': [5],
  });
  assert.deepEqual(log.seen.map(seqOf), range(1, 6));

  const scoped = open({ filter: { tenantId: 'tenant-a' } });
  await eventually(() => assert.ok(scoped.seen.some((n) => seqOf(n) === 6)));
  assert.deepEqual(scoped.seen.map(seqOf), [1, 2, 3, 4, 6], 'the stream filter keeps tenant-b out');
});

test('handlers run one notification at a time, in arrival order, even when async', async () => {
  const log = open();
  const trace = [];
  let running = 0;
  let maxRunning = 0;
  log.stream.on('*', async (n) => {
    running++;
    maxRunning = Math.max(maxRunning, running);
    trace.push(seqOf(n));
    await sleep(Math.floor(Math.random() * 6)); // later notifications may finish sooner if run in parallel
    running--;
  });
  log.stream.on('order.*', (n) => void trace.push(`second:${seqOf(n)}`));
  for (let i = 1; i <= 10; i++) ctx.server.publish(i % 2 ? lightweight(i) : envelope(i));
  await eventually(() => assert.equal(trace.filter((t) => typeof t === 'number').length, 10));
  await sleep(30);
  assert.equal(maxRunning, 1, 'handlers of one stream overlapped');
  const expected = range(1, 10).flatMap((i) => (i % 2 ? [i, `second:${i}`] : [i]));
  assert.deepEqual(trace, expected);
});

test('store: lastEventId persisted only after the handlers succeeded; a new stream resumes', async () => {
  const saved = new Map();
  const store = {
    get: async (key) => saved.get(key),
    set: async (key, value) => void saved.set(key, value),
  };
  const storeKey = 'orders-feed';
  for (let i = 1; i <= 5; i++) ctx.server.publish(lightweight(i));
  const first = open({ store, storeKey });
  let duringThird;
  first.stream.on('*', async (n) => {
    if (seqOf(n) !== 3) return;
    await sleep(100);
    duringThird = saved.get(storeKey);
  });
  await seen(first, 5);
  await eventually(() => assert.equal(saved.get(storeKey), '5'));
  assert.equal(duringThird, '2', 'the id of 3 was stored before its handlers finished');
  first.stream.close();

  for (let i = 6; i <= 8; i++) ctx.server.publish(lightweight(i));
  const second = open({ store, storeKey });
  await seen(second, 3);
  await sleep(100);
  assert.deepEqual(second.seen.map(seqOf), [6, 7, 8]);
  assert.equal(ctx.server.connections.at(-1).headers.lastEventId, '5');
  await eventually(() => assert.equal(saved.get(storeKey), '8'));
});

test('store: an id-only block naming where a fresh connection starts is a resume point before any notification', async () => {
  const saved = new Map();
  const store = { get: async (key) => saved.get(key), set: async (key, value) => void saved.set(key, value) };
  for (let i = 1; i <= 3; i++) ctx.server.publish(lightweight(i)); // before the subscription: not replayed
  ctx.server.configure({ headId: true });
  const first = open({ store, storeKey: 'feed' });
  await eventually(() => assert.equal(saved.get('feed'), '3'));
  assert.equal(ctx.server.connections[0].headId, '3');
  first.stream.close();
  // Published while no stream was open (a page reloading).
  ctx.server.publish(lightweight(4));
  ctx.server.publish(lightweight(5));
  const second = open({ store, storeKey: 'feed' });
  await seen(second, 2);
  await sleep(100);
  assert.deepEqual(first.seen, []);
  assert.deepEqual(second.seen.map(seqOf), [4, 5]);
  assert.equal(ctx.server.connections.at(-1).headers.lastEventId, '3');
  await eventually(() => assert.equal(saved.get('feed'), '5'));
});

test('storeRecent: a waitFor after a reload still finds a notification from just before it', async () => {
  const saved = new Map();
  const store = { get: async (key) => saved.get(key), set: async (key, value) => void saved.set(key, value) };
  ctx.server.publish(envelope(1));
  ctx.server.publish(envelope(2));
  const before = open({ store, storeKey: 'feed', storeRecent: true, recentWindowMs: 60_000 });
  await seen(before, 2);
  await eventually(() => assert.equal(JSON.parse(saved.get('feed:recent') ?? '[]').length, 2));
  before.stream.close();
  // The page reloads: a new stream on the same store resumes after 2, and has 1 and 2 for waitFor.
  const after = open({ store, storeKey: 'feed', storeRecent: true, recentWindowMs: 60_000 });
  const got = await after.stream.waitFor('payment.processed', (n) => n.entityId === 'order-1', { timeoutMs: 1000 });
  assert.deepEqual([got.id, seqOf(got), got.entityId], ['1', 1, 'order-1']);
  await sleep(100);
  assert.deepEqual(after.seen, [], 'not delivered to handlers again');
  assert.equal(ctx.server.connections.at(-1).headers.lastEventId, '2');
  // Without storeRecent, nothing is kept for waitFor.
  const plain = open({ store, storeKey: 'feed', recentWindowMs: 60_000 });
  await assert.rejects(plain.stream.waitFor('payment.processed', undefined, { timeoutMs: 200 }), { name: 'TimeoutError' });
  assert.throws(() => open({ storeRecent: true }), (e) => e.field === 'options.storeRecent');
});

test('waitFor: after the call, shortly before it, timeout, abort, and close', async () => {
  const log = open({ recentWindowMs: 2000 });
  const later = log.stream.waitFor('payment.processed', (n) => n.entityId === 'order-7', { timeoutMs: 5000 });
  ctx.server.publish(envelope(6));
  ctx.server.publish(envelope(7));
  assert.equal(seqOf(await later), 7);

  ctx.server.publish(envelope(8));
  await seen(log, 3);
  const earlier = await log.stream.waitFor('payment.*', (n) => n.entityId === 'order-8', { timeoutMs: 1000 });
  assert.equal(seqOf(earlier), 8, 'a notification from just before the wait resolves it');

  await assert.rejects(log.stream.waitFor('payment.refunded', undefined, { timeoutMs: 50 }), { name: 'TimeoutError' });
  // Aborted later, and aborted in the same tick as the call (before any await).
  const controller = new AbortController();
  const abortedLater = log.stream.waitFor('payment.refunded', undefined, { signal: controller.signal });
  await sleep(20);
  controller.abort();
  await assert.rejects(within(abortedLater, 2000), { name: 'AbortError' });
  const sameTick = new AbortController();
  const abortedAtOnce = log.stream.waitFor('payment.refunded', undefined, { signal: sameTick.signal });
  sameTick.abort();
  await assert.rejects(within(abortedAtOnce, 2000), { name: 'AbortError' }, 'aborted in the same tick as waitFor()');
  const pending = log.stream.waitFor('payment.refunded');
  log.stream.close();
  await assert.rejects(within(pending, 2000), { name: 'AbortError' });
});

test('waitFor: of two recent matches, the older resolves it (what a wait begun earlier would have had)', async () => {
  const log = open({ recentWindowMs: 5000 });
  ctx.server.publish(envelope(1));
  ctx.server.publish(envelope(2));
  await seen(log, 2);
  const first = await log.stream.waitFor('payment.processed', undefined, { timeoutMs: 1000 });
  assert.equal(seqOf(first), 1);
  const second = await log.stream.waitFor('payment.processed', (n) => n.entityId !== 'order-1', { timeoutMs: 1000 });
  assert.equal(seqOf(second), 2);
});

test('waitFor ignores notifications older than recentWindowMs', async () => {
  const log = open({ recentWindowMs: 50 });
  ctx.server.publish(envelope(1));
  await seen(log, 1);
  await sleep(300);
  await assert.rejects(log.stream.waitFor('payment.processed', undefined, { timeoutMs: 100 }), { name: 'TimeoutError' });
});

test('async iterator: for await yields in order and ends on close(); its buffer is bounded', async () => {
  const log = open({ bufferSize: 2 }, { record: false });
  const iterated = [];
  const loop = (async () => {
    for await (const n of log.stream) {
      iterated.push(seqOf(n));
      if (iterated.length === 3) log.stream.close();
    }
  })();
  for (let i = 1; i <= 3; i++) ctx.server.publish(lightweight(i));
  await loop; // ends: close() finishes the iteration
  assert.deepEqual(iterated, [1, 2, 3]);
  assert.equal(log.stream.readyState, 2);

  // A consumer that does not read: delivery waits at the bound instead of buffering everything.
  ctx.server.reset();
  const slow = open({ bufferSize: 2 });
  const iterator = slow.stream[Symbol.asyncIterator]();
  for (let i = 1; i <= 8; i++) ctx.server.publish(lightweight(i));
  await sleep(300);
  assert.ok(slow.seen.length < 8, `all ${slow.seen.length} delivered past a full iterator buffer`);
  const drained = [];
  while (drained.length < 8) drained.push(seqOf((await iterator.next()).value));
  assert.deepEqual(drained, range(1, 8));
  await seen(slow, 8);
  await iterator.return?.();
});

test('close() and an aborted signal end the stream and its connection for good', async () => {
  const controller = new AbortController();
  const viaSignal = open({ signal: controller.signal });
  const viaClose = open();
  await answered(2);
  controller.abort();
  viaClose.stream.close();
  await eventually(() => assert.equal(viaSignal.stream.readyState, 2));
  assert.equal(viaClose.stream.readyState, 2);
  await eventually(() => assert.ok(ctx.server.connections.every((c) => c.endedBy === 'client')));
  await sleep(200);
  assert.equal(ctx.server.connections.length, 2, 'a closed stream reconnected');
  assert.equal(viaClose.states.at(-1).state, 'closed');
});

test('options.fetch replaces the global fetch, for every connection (a Worker binding, a proxy)', async () => {
  ctx.server.publish(lightweight(1));
  const calls = [];
  const viaProxy = (url, init) => {
    calls.push({ url, accept: new Headers(init.headers).get('accept'), lastEventId: new Headers(init.headers).get('last-event-id') });
    const headers = new Headers(init.headers);
    headers.set('authorization', 'Bearer via-proxy');
    return fetch(url, { ...init, headers });
  };
  const log = open({ fetch: viaProxy });
  await seen(log, 1);
  assert.ok(calls.length >= 1);
  assert.equal(calls[0].url, ctx.server.url);
  assert.equal(calls[0].accept, 'text/event-stream');
  assert.equal(ctx.server.connections[0].headers.authorization, 'Bearer via-proxy', 'the server saw the proxy, not the global fetch');
  assert.throws(() => open({ fetch: 'nope' }), (e) => e.field === 'options.fetch');
  assert.throws(() => open({ fetch: viaProxy, transport: 'eventsource' }), (e) => e.field === 'options.transport');
});

test('the page hooks, the watchdog and the backoff are refused with the eventsource transport, naming the option', () => {
  // A new EventSource cannot send Last-Event-ID (a pause, or replacing a silent one, would lose
  // events) and reconnects by itself, on its own schedule.
  const refused = (options, field) =>
    assert.throws(() => open({ transport: 'eventsource', ...options }), (e) => e.name === 'TypeError' && e.field === field
      && /'fetch' transport only/.test(e.message));
  refused({ pauseWhenHidden: true }, 'options.pauseWhenHidden');
  refused({ reconnectOnOnline: true }, 'options.reconnectOnOnline');
  refused({ heartbeatTimeoutMs: 30_000 }, 'options.heartbeatTimeoutMs');
  refused({ reconnect: { initialDelayMs: 10 } }, 'options.reconnect');
});
