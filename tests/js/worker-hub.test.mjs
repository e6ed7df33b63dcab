// The notification hub (worker/index.js, worker/hub.js, worker/hub-object.js) under real
// workerd, through Miniflare, configured from wrangler.toml (its Durable Object binding,
// migrations, compatibility date and flags; the vars are the file's with test tokens and a short
// heartbeat). Clients are Node's fetch, parsed with our SseParser, and our own NotificationStream.
//
// This file: wrangler.toml itself, and one running hub: publish and subscribe, tenant isolation,
// Last-Event-ID replay, auth, validation, heartbeats, disconnects, and NotificationStream as a
// client. The hub's storage across restarts and the transaction lifecycle events it publishes
// are in worker-hub-storage.test.mjs.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';

import { WRANGLER, HEARTBEAT_MS, pkg, sleep, eventually, startWorker, client, note } from './worker-harness.mjs';

const { NotificationStream } = pkg;

// ── tests ─────────────────────────────────────────────────────────────────────────────────

describe('wrangler.toml', () => {
  test('declares the entry, the hub object and its migration, no telemetry, and the hub vars', () => {
    assert.equal(WRANGLER.main, 'worker/index.js');
    assert.equal(WRANGLER.send_metrics, false);
    assert.match(WRANGLER.compatibility_date, /^\d{4}-\d{2}-\d{2}$/);
    assert.ok(WRANGLER.compatibility_date >= '2024-04-03', 'Durable Object RPC needs 2024-04-03 or later');
    assert.ok(WRANGLER.compatibility_flags.includes('enable_request_signal'));
    assert.deepEqual(WRANGLER.durable_objects.bindings, [
      { name: 'HUB', class_name: 'HubObject' },
      { name: 'TRANSACTIONS', class_name: 'TransactionObject' },
    ]);
    assert.deepEqual(WRANGLER.migrations, [
      { tag: 'v1', new_sqlite_classes: ['HubObject'] },
      { tag: 'v2', new_sqlite_classes: ['TransactionObject'] },
    ]);
    for (const v of ['HUB_HEARTBEAT_MS', 'HUB_MAX_EVENTS', 'HUB_MAX_BYTES']) assert.match(WRANGLER.vars[v], /^\d+$/, v);
    const tokens = JSON.parse(WRANGLER.vars.HUB_TOKENS);
    assert.ok(Object.values(tokens).every((t) => typeof t.tenant === 'string' && typeof t.publish === 'boolean'));
  });
});

describe('workerd: the notification hub', { timeout: 90_000 }, () => {
  let worker;
  let c;
  before(async () => {
    worker = await startWorker();
    c = client(worker.url);
  });
  after(async () => {
    await c?.closeAll();
    await worker?.mf.dispose();
  });

  test('a published notification reaches a subscriber of its tenant, with its id', async () => {
    const sub = await c.subscribe('sub-acme');
    assert.equal(sub.status, 200);
    assert.match(sub.headers.get('content-type'), /^text\/event-stream/);
    const res = await c.publish('pub-acme', note('order.paid', 'o-1', { total: 12 }));
    assert.equal(res.status, 201);
    assert.match(res.body.id, /^\d+$/);
    assert.equal(res.body.delivered, 1);
    await eventually(() => assert.equal(sub.events.length, 1));
    const [event] = sub.events;
    assert.deepEqual([event.type, event.lastEventId], ['order.paid', res.body.id]);
    assert.deepEqual(JSON.parse(event.data), { type: 'order.paid', entityId: 'o-1', total: 12, tenantId: 'acme' });
    assert.ok(sub.raw.includes(`id: ${res.body.id}\nevent: order.paid\ndata: {`), sub.raw);
    await c.closeAll();
  });

  test('tenant isolation: a subscriber never sees another tenant\'s notifications, either way', async () => {
    const [a, b, a2] = [await c.subscribe('sub-acme'), await c.subscribe('sub-globex'), await c.subscribe('pub-acme')];
    const sent = { acme: [], globex: [] };
    for (let i = 0; i < 12; i++) {
      const [token, tenant] = i % 3 === 0 ? ['pub-globex', 'globex'] : i % 3 === 1 ? ['pub-acme', 'acme'] : ['pub-globex', 'globex'];
      const res = await c.publish(token, note('order.status_changed', `${tenant}-${i}`, { metadata: { seq: i } }));
      assert.equal(res.status, 201);
      sent[tenant].push(res.body.id);
      // A body claiming the other tenant is refused, whichever field claims it.
      const other = tenant === 'acme' ? 'globex' : 'acme';
      const claim = i % 2 ? { tenantId: other } : { metadata: { tenantId: other } };
      const refused = await c.publish(token, note('order.paid', `${tenant}-claim-${i}`, claim));
      assert.equal(refused.status, 400);
      assert.equal(refused.body.error.reason, 'tenant_mismatch');
      assert.equal(refused.body.error.field, i % 2 ? 'tenantId' : 'metadata.tenantId');
    }
    await eventually(() => {
      assert.equal(a.events.length, sent.acme.length);
      assert.equal(a2.events.length, sent.acme.length);
      assert.equal(b.events.length, sent.globex.length);
    });
    await sleep(3 * HEARTBEAT_MS); // anything else would have arrived by now
    for (const [sub, tenant, other] of [[a, 'acme', 'globex'], [a2, 'acme', 'globex'], [b, 'globex', 'acme']]) {
      const seen = sub.notifications();
      assert.deepEqual(seen.map((n) => n.id), sent[tenant]);
      assert.ok(seen.every((n) => n.tenantId === tenant && n.entityId.startsWith(`${tenant}-`)), JSON.stringify(seen));
      assert.ok(!sub.raw.includes(other), `${tenant}'s stream mentions ${other}`);
      // The ids of one tenant strictly increase.
      assert.ok(seen.every((n, i) => i === 0 || Number(n.id) > Number(seen[i - 1].id)));
    }
    // Replaying everything buffered is isolated too.
    for (const [token, tenant, other] of [['sub-acme', 'acme', 'globex'], ['sub-globex', 'globex', 'acme']]) {
      const replay = await c.subscribe(token, { query: '?lastEventId=0' });
      await eventually(() => assert.ok(replay.notifications().length >= sent[tenant].length));
      assert.ok(replay.notifications().every((n) => n.tenantId === tenant));
      assert.ok(!replay.raw.includes(other));
    }
    await c.closeAll();
  });

  test('a reconnect with Last-Event-ID replays what was missed, then goes live', async () => {
    const first = await c.subscribe('sub-acme');
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await c.publish('pub-acme', note('order.paid', `r-${i}`))).body.id);
    await eventually(() => assert.equal(first.events.length, 3));
    const last = first.events.at(-1).lastEventId;
    assert.equal(last, ids[2]);
    first.close();
    await first.done;

    for (let i = 3; i < 6; i++) ids.push((await c.publish('pub-acme', note('order.paid', `r-${i}`))).body.id);
    const again = await c.subscribe('sub-acme', { lastEventId: last });
    assert.equal(again.headers.get('x-hub-gap'), null);
    await eventually(() => assert.equal(again.events.length, 3));
    assert.deepEqual(again.notifications().map((n) => [n.id, n.entityId]), [[ids[3], 'r-3'], [ids[4], 'r-4'], [ids[5], 'r-5']]);
    const live = await c.publish('pub-acme', note('order.paid', 'r-live'));
    await eventually(() => assert.equal(again.events.length, 4));
    assert.equal(again.events[3].lastEventId, live.body.id);

    // The same through the query parameter (EventSource cannot set headers); the header wins.
    const byQuery = await c.subscribe('sub-acme', { query: `?lastEventId=${ids[4]}` });
    await eventually(() => assert.equal(byQuery.events.length, 2));
    assert.deepEqual(byQuery.notifications().map((n) => n.id), [ids[5], live.body.id]);
    const both = await c.subscribe('sub-acme', { lastEventId: ids[5], query: `?lastEventId=${ids[0]}` });
    await eventually(() => assert.equal(both.events.length, 1));

    // An empty id is no id: live events only.
    const empty = await c.subscribe('sub-acme', { lastEventId: '' });
    const after = await c.publish('pub-acme', note('order.paid', 'r-after'));
    await eventually(() => assert.equal(empty.events.length, 1));
    assert.equal(empty.events[0].lastEventId, after.body.id);
    ids.push(live.body.id, after.body.id);

    // An id the hub never issued: everything buffered, after a hub.gap notice.
    const garbage = await c.subscribe('sub-acme', { lastEventId: 'not-an-id' });
    assert.equal(garbage.headers.get('x-hub-gap'), '1');
    await eventually(() => assert.ok(garbage.events.length >= 8));
    assert.deepEqual([garbage.events[0].type, JSON.parse(garbage.events[0].data)], ['hub.gap', { type: 'hub.gap' }]);
    assert.ok(garbage.notifications().map((n) => n.id).join().endsWith(ids.join()));
    await c.closeAll();
  });

  test('bad or missing tokens are refused: 401; a subscribe-only token publishing: 403', async () => {
    const watcher = await c.subscribe('sub-acme');
    for (const headers of [{}, { authorization: 'Bearer nope' }, { authorization: 'Basic cHViLWFjbWU6' },
      { authorization: 'Bearer' }, { authorization: 'Bearer pub-acme extra' }, { authorization: 'pub-acme' }]) {
      const get = await c.subscribe(null, { headers });
      assert.equal(get.status, 401, JSON.stringify(headers));
      assert.equal(get.headers.get('www-authenticate'), 'Bearer realm="edgesaga"');
      assert.equal(get.body.error.name, 'Unauthorized');
      const post = await c.publish(null, note('order.paid', 'x'), headers);
      assert.equal(post.status, 401, JSON.stringify(headers));
    }
    for (const token of ['sub-acme', 'sub-globex']) {
      const post = await c.publish(token, note('order.paid', 'x'));
      assert.equal(post.status, 403);
      assert.equal(post.body.error.name, 'Forbidden');
    }
    const put = await fetch(new URL('/events', worker.url), { method: 'PUT', headers: { authorization: 'Bearer pub-acme' } });
    assert.equal(put.status, 405);
    await sleep(3 * HEARTBEAT_MS);
    assert.equal(watcher.events.length, 0, 'nothing refused was published');
    await c.closeAll();
  });

  test('an invalid notification is refused with 400 naming the field (413 when too large)', async () => {
    const cases = [
      [{ entityId: 'o-1' }, 'missing_type', 'type'],
      [{ type: 'Order.Paid' }, 'invalid_type', 'type'],
      [{ type: 'order.paid\nid: 999' }, 'invalid_type', 'type'],
      [{ eventType: 'order', data: {} }, 'invalid_type', 'eventType'],
      [{ type: 'order.paid', entityId: { nested: true } }, 'invalid_field', 'entityId'],
      [{ type: 'order.paid', metadata: 'x' }, 'invalid_field', 'metadata'],
      [{ eventType: 'order.paid', version: '2.0' }, 'incompatible_version', 'version'],
      ['{"type":"order.paid"', 'malformed_json', null],
      ['[1]', 'not_an_object', null],
    ];
    for (const [body, reason, field] of cases) {
      const res = await c.publish('pub-acme', body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.deepEqual([res.body.error.name, res.body.error.reason, res.body.error.field], ['NotificationSchemaError', reason, field]);
      if (field) assert.ok(res.body.error.message.includes(field), res.body.error.message);
    }
    const max = Number(WRANGLER.vars.HUB_MAX_BYTES);
    const huge = await c.publish('pub-acme', note('order.paid', 'big', { pad: 'x'.repeat(max) }));
    assert.equal(huge.status, 413);
    assert.equal(huge.body.error.reason, 'too_large');
    // Under the bound as sent, over it once framed (id, event, tenant stamp, overhead): the hub's call.
    const framed = await c.publish('pub-acme', note('order.paid', 'big', { pad: 'x'.repeat(max - 100) }));
    assert.equal(framed.status, 413);
    assert.equal(framed.body.error.reason, 'too_large');
    assert.match(framed.body.error.message, /maxBytes/);
  });

  test('heartbeats keep an idle stream alive', async () => {
    const sub = await c.subscribe('sub-globex');
    await sleep(HEARTBEAT_MS * 3.5);
    const beats = sub.raw.split(': heartbeat\n\n').length - 1;
    assert.ok(beats >= 3, `${beats} heartbeats in ${HEARTBEAT_MS * 3.5} ms`);
    assert.equal(sub.events.length, 0, 'heartbeats are comments, not events');
    await c.closeAll();
  });

  test('a subscriber that disconnects is removed', async () => {
    const ns = await worker.mf.getDurableObjectNamespace('HUB');
    const hub = ns.get(ns.idFromName('tenant:globex'));
    const before = (await hub.stats()).subscribers;
    // A raw socket, destroyed: what a closed browser tab looks like.
    const req = http.get(new URL('/events', worker.url), { headers: { authorization: 'Bearer sub-globex' } });
    const res = await new Promise((resolve, reject) => req.on('response', resolve).on('error', reject));
    assert.equal(res.statusCode, 200);
    await eventually(async () => assert.equal((await hub.stats()).subscribers, before + 1));
    req.destroy();
    await eventually(async () => assert.equal((await hub.stats()).subscribers, before));
    const published = await c.publish('pub-globex', note('order.paid', 'after-disconnect'));
    assert.equal(published.body.delivered, before);
  });

  test('a fresh subscription opens with an id-only block naming the newest id: a store resumes from it', async () => {
    const head = (await c.publish('pub-acme', note('order.paid', 'head-0'))).body.id;
    const sub = await c.subscribe('sub-acme');
    await eventually(() => assert.match(sub.raw, new RegExp(`(^|\\n)id: ${head}\\n\\n`)));
    await sleep(2 * HEARTBEAT_MS);
    assert.deepEqual(sub.events, [], 'live only: the id-only block dispatches nothing');
    sub.close();
    // A NotificationStream with a store has its resume point before any notification came...
    const saved = new Map();
    const options = {
      headers: { authorization: 'Bearer sub-acme' },
      store: { get: (key) => saved.get(key) ?? null, set: (key, value) => void saved.set(key, value) },
      storeKey: 'feed',
      reconnect: { initialDelayMs: 1, maxDelayMs: 20 },
    };
    const first = new NotificationStream(new URL('/events', worker.url), options);
    await eventually(() => assert.equal(saved.get('feed'), head));
    first.close();
    // ...so a notification published before the next stream opens (a reload) still arrives.
    const missed = (await c.publish('pub-acme', note('order.paid', 'head-1'))).body.id;
    const second = new NotificationStream(new URL('/events', worker.url), options);
    try {
      const got = [];
      second.on('*', (n) => got.push(n.id));
      await eventually(() => assert.deepEqual(got, [missed]));
      await eventually(() => assert.equal(saved.get('feed'), missed));
    } finally {
      second.close();
    }
  });

  test('our NotificationStream consumes the hub from Node: filtered, in order, resuming by id', async () => {
    const seen = [];
    const errors = [];
    const stream = new NotificationStream(new URL('/events', worker.url), {
      headers: async () => ({ authorization: 'Bearer sub-acme' }),
      filter: { tenantId: 'acme' },
      heartbeatTimeoutMs: HEARTBEAT_MS * 10,
      reconnect: { initialDelayMs: 1, maxDelayMs: 20 },
      onError: (e) => errors.push(e),
    });
    try {
      stream.on('order.*', (n) => seen.push(n));
      await eventually(() => assert.equal(stream.readyState, 1));
      const ids = [];
      for (let i = 0; i < 5; i++) ids.push((await c.publish('pub-acme', note(i % 2 ? 'order.shipped' : 'order.paid', `ns-${i}`))).body.id);
      const waited = await stream.waitFor('order.paid', (n) => n.entityId === 'ns-4', { timeoutMs: 5000 });
      assert.equal(waited.id, ids[4]);
      await eventually(() => assert.equal(seen.length, 5));
      assert.deepEqual(seen.map((n) => [n.id, n.type, n.entityId]), ids.map((id, i) => [id, i % 2 ? 'order.shipped' : 'order.paid', `ns-${i}`]));
      assert.equal(stream.lastEventId, ids[4]);
      assert.deepEqual(errors, []);
      assert.deepEqual(stream.deadLetters, [], 'nothing the hub sends is dead-lettered');
    } finally {
      stream.close();
    }
    // A new stream resuming from the last id gets exactly what it missed.
    const missed = [];
    for (let i = 5; i < 7; i++) missed.push((await c.publish('pub-acme', note('order.paid', `ns-${i}`))).body.id);
    const resumed = new NotificationStream(new URL('/events', worker.url), {
      headers: { authorization: 'Bearer sub-acme' },
      lastEventId: stream.lastEventId,
      reconnect: { initialDelayMs: 1, maxDelayMs: 20 },
    });
    try {
      const got = [];
      resumed.on('*', (n) => got.push(n.id));
      await eventually(() => assert.deepEqual(got, missed));
      await sleep(3 * HEARTBEAT_MS);
      assert.deepEqual(got, missed, 'and nothing from before');
    } finally {
      resumed.close();
    }
  });
});
