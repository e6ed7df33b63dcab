// Declarative transactions in the Worker (worker/transactions.js) under real workerd, against
// the real local order service: what the Worker answers, and what the service saw — the order of
// requests, the idempotency keys, what is left reserved or charged. Includes a restart of the
// runtime while a step is in flight, and an await step resolved through the hub.

import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startOrderService, INITIAL_STOCK } from '../../demo/order-service.mjs';
import { eventually, startWorker, client } from './worker-harness.mjs';

const CONTEXT = { orderId: 'order-w', items: [{ sku: 'sku-apple', qty: 2 }], amount: 30 };
const FORWARD = { reserve_inventory: 'reserve', charge_payment: 'charge', create_order: 'create' };
const STEPS = Object.keys(FORWARD);

let service;
let worker;
before(async () => {
  service = await startOrderService();
  worker = await startWorker();
});
after(async () => {
  await worker?.mf.dispose();
  await service?.close();
});
beforeEach(() => service.reset());

/** The order saga as the JSON a client posts; `extra` steps go before create_order. */
function orderDefinition(extra = []) {
  const base = service.url;
  return {
    name: 'place-order',
    retry: { maxAttempts: 2, initialDelayMs: 10 },
    steps: [
      {
        name: 'reserve_inventory',
        request: { method: 'POST', url: `${base}/inventory/reservations`, body: { orderId: '{{context.orderId}}', items: '{{context.items}}' } },
        compensate: { method: 'DELETE', url: `${base}/inventory/reservations/{{results.reserve_inventory.id}}` },
      },
      {
        name: 'charge_payment',
        timeoutMs: 5000,
        request: { method: 'POST', url: `${base}/payments`, body: { orderId: '{{context.orderId}}', amount: '{{context.amount}}' } },
        compensate: { method: 'POST', url: `${base}/payments/{{results.charge_payment.id}}/refund`, body: {} },
      },
      ...extra,
      {
        name: 'create_order',
        request: {
          method: 'POST',
          url: `${base}/orders`,
          body: { orderId: '{{context.orderId}}', reservationId: '{{results.reserve_inventory.id}}', paymentId: '{{results.charge_payment.id}}' },
        },
      },
    ],
  };
}

async function post(url, body, { token = 'pub-acme', query = '' } = {}) {
  const res = await fetch(new URL(`/transactions${query}`, url), {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json().catch(() => null) };
}

async function get(url, id, token = 'pub-acme') {
  const res = await fetch(new URL(`/transactions/${id}`, url), { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: await res.json() };
}

const finished = (url, id) =>
  eventually(async () => {
    const { body } = await get(url, id);
    assert.notEqual(body.status, 'running', JSON.stringify(body.steps));
    return body;
  }, 20_000);

test('a transaction commits in the Worker; the service saw each step once, with its key', async () => {
  const { status, body } = await post(worker.url, { definition: orderDefinition(), context: CONTEXT, transactionId: 'w-ok' });
  assert.equal(status, 200);
  assert.equal(body.status, 'committed', JSON.stringify(body.error));
  assert.equal(body.transactionId, 'w-ok');
  const state = await service.state();
  assert.deepEqual(state.log.map((e) => [e.target, e.key]), STEPS.map((s) => [FORWARD[s], `w-ok:${s}`]));
  assert.equal(state.orders[0].paymentId, body.context.results.charge_payment.id);
  // The same id again is the same transaction: its outcome, and nothing sent.
  const again = await post(worker.url, { definition: orderDefinition(), context: CONTEXT, transactionId: 'w-ok' });
  assert.equal(again.body.status, 'committed');
  assert.equal((await service.state()).log.length, 3);
});

for (const [i, failing] of STEPS.entries()) {
  test(`a failure at ${failing} is compensated in reverse order, as the service's log shows`, async () => {
    await service.inject({ target: FORWARD[failing], mode: 'decline' });
    const id = `w-fail-${i}`;
    const { body } = await post(worker.url, { definition: orderDefinition(), context: CONTEXT, transactionId: id });
    assert.equal(body.status, 'compensated');
    assert.equal(body.error.name, 'StepFailedError');
    assert.equal(body.error.step, failing);
    const state = await service.state();
    const undo = state.log.filter((e) => ['release', 'refund'].includes(e.target)).map((e) => [e.target, e.key]);
    assert.deepEqual(undo, [['refund', `${id}:charge_payment:compensate`], ['release', `${id}:reserve_inventory:compensate`]].slice(2 - i));
    assert.deepEqual(state.stock, INITIAL_STOCK);
  });
}

test('bad definitions and bad tokens are refused before anything is sent', async () => {
  const good = orderDefinition();
  const cases = [
    [{ definition: { ...good, steps: [{ name: 'a', request: { url: `${service.url}/x/{{results.b.id}}` } }] } }, 'steps[0].request.url'],
    [{ definition: { ...good, steps: [{ name: 'a', request: { url: 'ftp://x' } }] } }, 'steps[0].request.url'],
    [{ definition: { ...good, steps: [{ name: 'a', kind: 'sleep' }] } }, 'steps[0].kind'],
    [{ definition: { ...good, steps: [{ name: 'a' }] } }, 'steps[0]'],
    [{ definition: good, context: { orderId: 'o' } }, /^context\./],
    ['{ nope', 'body'],
    [{ definition: good, context: CONTEXT, transactionId: 'has space' }, 'transactionId'],
  ];
  for (const [body, field] of cases) {
    const res = await post(worker.url, body);
    assert.equal(res.status, 400, JSON.stringify(res.body));
    if (field instanceof RegExp) assert.match(res.body.error.field, field);
    else assert.equal(res.body.error.field, field);
  }
  assert.equal((await post(worker.url, { definition: good, context: CONTEXT }, { token: null })).status, 401);
  assert.equal((await post(worker.url, { definition: good, context: CONTEXT }, { token: 'stolen' })).status, 401);
  assert.equal((await service.state()).log.length, 0, 'nothing was sent');
});

test('?async=1 answers 202; GET reports progress, then the outcome, to its own tenant only', async () => {
  await service.inject({ target: 'charge', mode: 'transient', status: 503, times: 1, retryAfterMs: 300 });
  const { status, body } = await post(worker.url, { definition: orderDefinition(), context: CONTEXT, transactionId: 'w-async' }, { query: '?async=1' });
  assert.equal(status, 202);
  assert.deepEqual(body, { transactionId: 'w-async', status: 'running' });
  const running = await get(worker.url, 'w-async');
  assert.equal(running.body.status, 'running');
  assert.deepEqual(running.body.steps.map((s) => s.name), STEPS);
  assert.equal((await get(worker.url, 'w-async', 'pub-globex')).status, 404, 'another tenant cannot see it');
  const done = await finished(worker.url, 'w-async');
  assert.equal(done.status, 'committed');
  assert.equal(done.steps[1].attempts, 2);
});

test('lifecycle events reach the tenant hub, never another tenant, never checkpoints', async () => {
  const c = client(worker.url);
  try {
    const acme = await c.subscribe('sub-acme');
    const globex = await c.subscribe('sub-globex');
    const { body } = await post(worker.url, { definition: orderDefinition(), context: CONTEXT, transactionId: 'w-events' });
    assert.equal(body.status, 'committed');
    await eventually(() => assert.ok(acme.notifications().some((n) => n.type === 'transaction.committed')));
    const types = acme.notifications().map((n) => n.type);
    assert.ok(types.includes('step.started') && types.includes('step.succeeded'), types.join());
    assert.ok(!acme.raw.includes('journal') && !acme.raw.includes('checkpoint') && !acme.raw.includes('stack'));
    assert.equal(globex.notifications().length, 0);
  } finally {
    await c.closeAll();
  }
});

test('an await step is resolved by a notification published to the hub', async () => {
  const wait = {
    name: 'payment_processed',
    await: { type: 'payment.processed', match: { entityId: '{{results.charge_payment.id}}' }, timeoutMs: 15_000 },
  };
  const definition = orderDefinition([wait]);
  await post(worker.url, { definition, context: CONTEXT, transactionId: 'w-await' }, { query: '?async=1' });
  const payment = await eventually(async () => {
    const [p] = (await service.state()).payments;
    assert.ok(p, 'charged');
    return p.id;
  });
  const c = client(worker.url);
  assert.equal((await c.publish('pub-globex', { type: 'payment.processed', entityId: payment })).status, 201, 'another tenant');
  assert.equal((await c.publish('pub-acme', { type: 'payment.processed', entityId: 'pay_other' })).status, 201);
  assert.equal((await get(worker.url, 'w-await')).body.status, 'running', 'neither resolves it');
  assert.equal((await c.publish('pub-acme', { type: 'payment.processed', entityId: payment })).status, 201);
  const done = await finished(worker.url, 'w-await');
  assert.equal(done.status, 'committed', JSON.stringify(done.error));
  assert.equal(done.context.results.payment_processed.entityId, payment);
});

test('a restart of the runtime mid-step resumes the transaction; no step runs twice', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgesaga-tx-'));
  let first;
  let second;
  try {
    first = await startWorker({ persist: dir });
    await service.inject({ target: 'charge', mode: 'hang', times: 1 });
    await post(first.url, { definition: orderDefinition(), context: CONTEXT, transactionId: 'w-restart' }, { query: '?async=1' });
    await eventually(async () => assert.ok((await service.state()).log.some((e) => e.target === 'charge' && e.outcome === 'hang')));
    await first.mf.dispose(); // the runtime stops with the charge in flight
    first = null;
    second = await startWorker({ persist: dir });
    const done = await finished(second.url, 'w-restart');
    assert.equal(done.status, 'committed', JSON.stringify(done.error));
    const state = await service.state();
    const seen = Object.fromEntries(Object.entries(state.keys).map(([k, v]) => [k, v.seen]));
    assert.deepEqual(seen, { 'w-restart:reserve_inventory': 1, 'w-restart:charge_payment': 2, 'w-restart:create_order': 1 },
      'the in-flight charge is retried under its key; finished steps are not run again');
    assert.equal(state.reservations.length, 1);
    assert.equal(state.payments.length, 1);
    assert.equal(state.orders.length, 1);
  } finally {
    await first?.mf.dispose();
    await second?.mf.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});
