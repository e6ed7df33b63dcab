// The notification hub (worker/index.js, worker/hub.js, worker/hub-object.js) under real
// workerd, through Miniflare (see worker-harness.mjs): what it stores and how it restores from
// it (ids and buffer across a restart, one storage value per event, an earlier version's
// state), and transaction lifecycle events published to it. wrangler.toml and the running
// hub's publish/subscribe, tenants, replay, auth and validation are in worker-hub.test.mjs.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { HEARTBEAT_MS, sleep, eventually, startWorker, client, note } from './worker-harness.mjs';

describe('workerd: the hub keeps its ids and buffer across a restart', { timeout: 90_000 }, () => {
  let dir;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'edgesaga-hub-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('ids keep increasing and Last-Event-ID still replays after the object restarts', async () => {
    const first = await startWorker({ persist: dir });
    const ids = [];
    try {
      const c = client(first.url);
      for (let i = 0; i < 3; i++) ids.push((await c.publish('pub-acme', note('order.paid', `p-${i}`))).body.id);
      ids.push((await c.publish('pub-globex', note('order.paid', 'g-0'))).body.id);
    } finally {
      await first.mf.dispose();
    }
    assert.deepEqual(ids, ['1', '2', '3', '1'], 'ids are per tenant object');

    const second = await startWorker({ persist: dir });
    const c = client(second.url);
    try {
      const next = await c.publish('pub-acme', note('order.paid', 'p-3'));
      assert.equal(next.body.id, '4');
      assert.equal((await c.publish('pub-globex', note('order.paid', 'g-1'))).body.id, '2');
      const replay = await c.subscribe('sub-acme', { lastEventId: '1' });
      await eventually(() => assert.equal(replay.events.length, 3));
      assert.deepEqual(replay.notifications().map((n) => [n.id, n.entityId]), [['2', 'p-1'], ['3', 'p-2'], ['4', 'p-3']]);
    } finally {
      await c.closeAll();
      await second.mf.dispose();
    }
  });
});

describe('workerd: the hub stores one value per event, and restores from them', { timeout: 90_000 }, () => {
  // The real hub with a 5-event buffer, plus an RPC that lists its storage (and one that writes
  // what an earlier version stored: one snapshot value and the counter).
  const script = `
    import entry, { HubObject as Hub, TransactionObject } from './index.js';
    export { TransactionObject };
    export class HubObject extends Hub {
      constructor(ctx, env) {
        super(ctx, { ...env, HUB_MAX_EVENTS: '5' });
      }
      async stored() {
        const decoder = new TextDecoder();
        return [...await this.ctx.storage.list()].map(([key, value]) => key.startsWith('e:')
          ? [key, value.tenant, decoder.decode(value.frame)]
          : [key, value.byteLength ?? value]);
      }
      async writeLegacy(lastId) {
        await this.ctx.storage.deleteAll();
        await this.ctx.storage.put({ 'hub:snapshot': new Uint8Array([69, 72, 66, 49]), 'hub:lastId': lastId });
      }
    }
    export default entry;`;
  let dir;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'edgesaga-hub-store-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const hubOf = async (worker, tenant) => {
    const ns = await worker.mf.getDurableObjectNamespace('HUB');
    return ns.get(ns.idFromName(`tenant:${tenant}`));
  };
  const key = (id) => `e:${String(id).padStart(20, '0')}`;

  test('each publish adds its event and deletes the evicted; a restart rebuilds ids, buffer and gaps', async () => {
    const first = await startWorker({ persist: dir, script });
    try {
      const c = client(first.url);
      const hub = await hubOf(first, 'acme');
      for (let i = 1; i <= 8; i++) {
        const res = await c.publish('pub-acme', note('order.paid', `s-${i}`));
        assert.equal(res.body.id, String(i));
        // Acknowledged: already stored, with what it evicted already gone.
        const stored = await hub.stored();
        const events = stored.filter(([k]) => k.startsWith('e:'));
        const ids = Array.from({ length: Math.min(i, 5) }, (_, n) => Math.max(i, 5) - 4 + n);
        assert.deepEqual(events.map(([k]) => k), ids.map(key), `after ${i}`);
        assert.deepEqual(stored.filter(([k]) => !k.startsWith('e:')).map(([k]) => k), ['hub:meta']);
        assert.ok(stored.find(([k]) => k === 'hub:meta')[1] < 100, 'the meta is small');
        const [, tenant, frame] = events.at(-1);
        assert.equal(tenant, 'acme');
        assert.ok(frame.startsWith(`id: ${i}\nevent: order.paid\ndata: {`) && frame.includes(`"s-${i}"`), frame);
      }
      // A hub an earlier version stored (one snapshot value): its counter is kept.
      await (await hubOf(first, 'globex')).writeLegacy('41');
    } finally {
      await first.mf.dispose();
    }

    const second = await startWorker({ persist: dir, script });
    const c = client(second.url);
    try {
      const hub = await hubOf(second, 'acme');
      const stats = await hub.stats();
      assert.deepEqual([stats.lastId, stats.size], ['8', 5]);
      const all = await c.subscribe('sub-acme', { lastEventId: '0' });
      assert.equal(all.headers.get('x-hub-gap'), '1', '1 to 3 were evicted');
      await eventually(() => assert.equal(all.events.length, 6));
      assert.deepEqual(all.notifications().map((n) => [n.id, n.entityId]), [4, 5, 6, 7, 8].map((i) => [String(i), `s-${i}`]));
      const after3 = await c.subscribe('sub-acme', { lastEventId: '3' });
      assert.equal(after3.headers.get('x-hub-gap'), null, 'nothing after 3 is missing');
      await eventually(() => assert.equal(after3.events.length, 5));
      assert.equal((await c.subscribe('sub-acme', { lastEventId: '2' })).headers.get('x-hub-gap'), '1');
      const next = await c.publish('pub-acme', note('order.paid', 's-9'));
      assert.equal(next.body.id, '9');
      assert.deepEqual((await hub.stored()).map(([k]) => k), [5, 6, 7, 8, 9].map(key).concat('hub:meta'));
      await eventually(() => assert.equal(after3.events.length, 6));

      const legacy = await hubOf(second, 'globex');
      assert.deepEqual((await legacy.stored()).map(([k]) => k), ['hub:meta'], 'the earlier state is replaced');
      assert.equal((await c.publish('pub-globex', note('order.paid', 'g'))).body.id, '42');
      const old = await c.subscribe('sub-globex', { lastEventId: '40' });
      assert.equal(old.headers.get('x-hub-gap'), '1', 'what came before the upgrade is flagged as lost');
      await eventually(() => assert.equal(old.events.length, 2));
    } finally {
      await c.closeAll();
      await second.mf.dispose();
    }
  });
});

describe('workerd: transaction lifecycle events published to the hub', { timeout: 90_000 }, () => {
  // A Worker wrapping the real entry with one extra route that runs a transaction whose
  // onEvent AND journal both call publishLifecycle: only the public events may come out.
  const script = `
    import entry, { HubObject } from './index.js';
    import { lifecyclePublisher, lifecycleNotification } from './hub.js';
    import { TransactionCoordinator } from '../pkg/edgesaga.js';
    export { HubObject };
    export default {
      async fetch(request, env, ctx) {
        if (new URL(request.url).pathname !== '/run') return entry.fetch(request, env, ctx);
        const pending = [];
        const publisher = lifecyclePublisher(env, 'acme', ctx);
        const publish = (e) => pending.push(publisher(e));
        const coordinator = new TransactionCoordinator({ onEvent: publish, journal: { append: (id, record) => publish(record) } });
        const secret = new Error('card declined');
        secret.stack = 'Error: card declined\\n    at SECRET_FRAME (internal.js:1:1)';
        const result = await coordinator.executeTransaction({
          name: 'place-order',
          steps: [
            { name: 'reserve', execute: () => ({ id: 'res-1' }), compensate: () => {} },
            { name: 'charge', execute: () => { throw secret; } },
          ],
        }, { transactionId: 'tx-1', context: { card: 'SECRET_CONTEXT' } });
        const published = await Promise.all(pending);
        const rejected = [{ kind: 'step.started', at: 1 }, { type: 'internal.checkpoint', transactionId: 'tx-1' }, null, 'x']
          .map((e) => lifecycleNotification(e));
        return Response.json({ status: result.status, published: published.filter(Boolean).length, ids: published.filter(Boolean).map((p) => p.id), skipped: published.filter((p) => p === null).length, rejected });
      },
    };`;
  let worker;
  before(async () => {
    worker = await startWorker({ script });
  });
  after(() => worker?.mf.dispose());

  test('lifecycle events reach the tenant\'s subscribers; checkpoints and stacks never do', async () => {
    const c = client(worker.url);
    const acme = await c.subscribe('sub-acme');
    const globex = await c.subscribe('sub-globex');
    try {
      const run = await (await fetch(new URL('/run', worker.url))).json();
      assert.equal(run.status, 'compensated');
      assert.ok(run.skipped > 0, 'the journal\'s checkpoints were offered and not published');
      assert.deepEqual(run.rejected, [null, null, null, null]);
      await eventually(() => assert.equal(acme.events.length, run.published));
      const types = acme.notifications().map((n) => n.type);
      assert.deepEqual(types, [
        'transaction.started', 'step.started', 'step.succeeded', 'transaction.progress', 'step.started', 'step.failed',
        'compensation.started', 'compensation.succeeded', 'transaction.compensated',
      ]);
      assert.ok(acme.notifications().every((n) => n.entityId === 'tx-1' && n.data.transactionId === 'tx-1' && n.tenantId === 'acme'));
      // Events emitted together go in one call to the hub: each still resolves with its own id.
      assert.deepEqual(run.ids, acme.notifications().map((n) => n.id));
      assert.ok(run.ids.every((id, i) => i === 0 || Number(id) === Number(run.ids[i - 1]) + 1), run.ids.join());
      const failed = acme.notifications().find((n) => n.type === 'step.failed');
      assert.deepEqual(Object.keys(failed.data.error).sort(), ['message', 'name']);
      assert.equal(failed.data.error.name, 'StepFailedError');
      for (const secret of ['SECRET_FRAME', 'SECRET_CONTEXT', 'stack', 'cause', 'res-1', 'at SECRET']) {
        assert.ok(!acme.raw.includes(secret), `the stream carries ${secret}`);
      }
      await sleep(3 * HEARTBEAT_MS);
      assert.equal(globex.events.length, 0, 'another tenant sees none of it');
    } finally {
      await c.closeAll();
    }
  });
});
