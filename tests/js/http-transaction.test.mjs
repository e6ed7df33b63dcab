// Declarative transactions (executeHttpTransaction) against the real order service and the real
// SSE server: each step a request rendered from the context and earlier results, a failure at
// each step undone in reverse order (as the service's own log shows), an await step resolved by
// a published notification, and bad definitions refused before anything is sent.

import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { initSync, TransactionCoordinator, NotificationStream } from '../../pkg/edgesaga.js';
import { startOrderService, INITIAL_STOCK } from '../../demo/order-service.mjs';
import { startSseServer } from './sse-server.mjs';
import { sleep } from './waits.mjs';

initSync({ module: readFileSync(new URL('../../pkg/edgesaga_bg.wasm', import.meta.url)) });

const CONTEXT = { orderId: 'order-h', items: [{ sku: 'sku-apple', qty: 2 }], amount: 30 };
const STEPS = ['reserve_inventory', 'charge_payment', 'create_order'];
const FORWARD = { reserve_inventory: 'reserve', charge_payment: 'charge', create_order: 'create' };

let service;
let sse;
before(async () => {
  service = await startOrderService();
  sse = await startSseServer({ heartbeatMs: 0 });
});
after(async () => {
  await service.close();
  await sse.close();
});
beforeEach(async () => {
  await service.reset();
  sse.reset();
});

/** The order saga as JSON: the same shape a Worker receives in `POST /transactions`. */
function orderDefinition(base, extraSteps = []) {
  const retry = { maxAttempts: 2, initialDelayMs: 10 };
  return {
    name: 'place-order',
    retry,
    steps: [
      {
        name: 'reserve_inventory',
        request: { method: 'POST', url: `${base}/inventory/reservations`, body: { orderId: '{{context.orderId}}', items: '{{context.items}}' } },
        compensate: { method: 'DELETE', url: `${base}/inventory/reservations/{{results.reserve_inventory.id}}` },
      },
      {
        name: 'charge_payment',
        request: { method: 'POST', url: `${base}/payments`, body: { orderId: '{{context.orderId}}', amount: '{{context.amount}}' } },
        compensate: { method: 'POST', url: `${base}/payments/{{results.charge_payment.id}}/refund`, body: {} },
      },
      ...extraSteps,
      {
        name: 'create_order',
        request: {
          method: 'POST',
          url: `${base}/orders`,
          body: {
            orderId: '{{context.orderId}}',
            reservationId: '{{results.reserve_inventory.id}}',
            paymentId: '{{results.charge_payment.id}}',
          },
          success: [201],
        },
      },
    ],
  };
}

const run = (definition, options = {}) =>
  new TransactionCoordinator().executeHttpTransaction(definition, { transactionId: 'tx-h', context: CONTEXT, ...options });

test('a declarative order commits; requests are rendered from context and results, with idempotency keys', async () => {
  const result = await run(orderDefinition(service.url));
  assert.equal(result.status, 'committed', result.error?.message);
  const state = await service.state();
  assert.deepEqual(state.log.map((e) => [e.target, e.key]), STEPS.map((s) => [FORWARD[s], `tx-h:${s}`]));
  const [order] = state.orders;
  assert.equal(order.reservationId, result.context.results.reserve_inventory.id);
  assert.equal(order.paymentId, result.context.results.charge_payment.id);
  assert.equal(state.payments[0].amount, 30, 'a whole-template body value keeps its type');
  assert.deepEqual(result.result, { id: order.id, orderId: 'order-h', status: 'created' });
});

for (const [i, failing] of STEPS.entries()) {
  test(`a failure at ${failing} compensates the steps before it in reverse order`, async () => {
    await service.inject({ target: FORWARD[failing], mode: 'fail', status: 500 });
    const result = await run(orderDefinition(service.url));
    assert.equal(result.status, 'compensated');
    assert.equal(result.error.name, 'StepFailedError');
    assert.match(result.error.message, /answered 500/);
    const state = await service.state();
    const undo = state.log.filter((e) => ['release', 'refund'].includes(e.target));
    const expected = [['refund', 'tx-h:charge_payment:compensate'], ['release', 'tx-h:reserve_inventory:compensate']].slice(2 - i);
    assert.deepEqual(undo.map((e) => [e.target, e.key]), expected);
    assert.equal(state.log.filter((e) => e.target === FORWARD[failing]).length, 2, '500 is retried (maxAttempts 2)');
    assert.deepEqual(state.stock, INITIAL_STOCK, 'nothing left reserved');
    assert.ok(state.payments.every((p) => p.status === 'refunded'), 'nothing left charged');
  });
}

test('a 402 is not retried and is reported with the service answer', async () => {
  await service.inject({ target: 'charge', mode: 'decline' });
  const result = await run(orderDefinition(service.url));
  assert.equal(result.status, 'compensated');
  assert.equal(result.steps[1].attempts, 1);
  assert.match(result.error.message, /POST .*\/payments answered 402/);
});

test('an await step is resolved by the matching notification, not by others', async () => {
  const stream = new NotificationStream(sse.url, { initialDelayMs: 10 });
  try {
    const wait = {
      name: 'payment_processed',
      await: { type: 'payment.processed', match: { entityId: '{{results.charge_payment.id}}' }, timeoutMs: 10_000 },
    };
    const events = [];
    const coordinator = new TransactionCoordinator({ onEvent: (e) => events.push(e) });
    const running = coordinator.executeHttpTransaction(orderDefinition(service.url, [wait]), {
      transactionId: 'tx-h', context: CONTEXT, notifications: stream,
    });
    // Publish once the step waits: another payment's notification first, then this one's.
    for (let i = 0; i < 200 && !events.some((e) => e.type === 'step.started' && e.step === 'payment_processed'); i++) await sleep(10);
    const payment = (await service.state()).payments[0].id;
    sse.publish({ type: 'payment.processed', entityId: 'pay_other', timestamp: Date.now() });
    sse.publish({ type: 'payment.processed', entityId: payment, timestamp: Date.now(), metadata: { tenantId: 't' } });
    const result = await running;
    assert.equal(result.status, 'committed', result.error?.message);
    assert.equal(result.context.results.payment_processed.entityId, payment);
    assert.equal((await service.state()).orders.length, 1);
  } finally {
    stream.close();
  }
});

test('an await step that times out fails the transaction and compensates', async () => {
  const stream = new NotificationStream(sse.url, { initialDelayMs: 10 });
  try {
    const wait = { name: 'payment_processed', await: { type: 'payment.processed', timeoutMs: 50 } };
    const definition = orderDefinition(service.url, [{ ...wait, retry: { maxAttempts: 1 } }]);
    const result = await run(definition, { notifications: stream });
    assert.equal(result.status, 'compensated');
    assert.equal(result.failedStep ?? result.steps.findIndex((s) => s.status === 'failed'), 2);
    assert.deepEqual((await service.state()).stock, INITIAL_STOCK);
  } finally {
    stream.close();
  }
});

test('bad definitions are refused before anything is sent, naming the field', async () => {
  const base = service.url;
  const good = orderDefinition(base);
  const cases = [
    [{ ...good, steps: [{ name: 'a', request: { url: `${base}/x/{{results.nope.id}}` } }] }, 'steps[0].request.url'],
    [{ ...good, steps: [{ name: 'a', request: { url: 'not a url' } }] }, 'steps[0].request.url'],
    [{ ...good, steps: [{ name: 'a', request: { method: 'POST' } }] }, 'steps[0].request.url'],
    [{ ...good, steps: [{ name: 'a', kind: 'sleep' }] }, 'steps[0].kind'],
    [{ ...good, steps: [{ name: 'a', request: { url: `${base}/x` }, retyr: {} }] }, 'steps[0].retyr'],
    ['{ "steps": [', 'definition'],
  ];
  for (const [definition, field] of cases) {
    await assert.rejects(run(definition), (e) => e.name === 'DefinitionError' && e.field === field, `field ${field}`);
  }
  // A context without a value the definition uses.
  await assert.rejects(run(good, { context: { orderId: 'o' } }), (e) => e.name === 'DefinitionError' && /context\.(items|amount)/.test(e.field));
  // An await step without a notification source fails at run time, as a step.
  assert.equal((await service.state()).log.length, 0, 'nothing was sent');
});

test('the same definition as JSON text runs the same', async () => {
  const result = await run(JSON.stringify(orderDefinition(service.url)));
  assert.equal(result.status, 'committed');
});

test('a declarative transaction resumes from its journal without repeating a step', async () => {
  const records = [];
  let stop;
  const stopped = new Promise((resolve) => (stop = resolve));
  const journal = {
    append(_id, record) {
      records.push(structuredClone(record));
      if (record.kind === 'step.succeeded' && record.step === 'charge_payment') {
        stop();
        return new Promise(() => {}); // the host is gone
      }
      return undefined;
    },
  };
  const definition = orderDefinition(service.url);
  void new TransactionCoordinator({ journal }).executeHttpTransaction(definition, { transactionId: 'tx-h', context: CONTEXT });
  await stopped;
  const reopened = { append: (_id, r) => void records.push(structuredClone(r)), load: () => records.slice() };
  const result = await new TransactionCoordinator({ journal: reopened }).executeHttpTransaction(definition, {
    transactionId: 'tx-h', context: CONTEXT,
  });
  assert.equal(result.status, 'committed', result.error?.message);
  const state = await service.state();
  assert.deepEqual(state.log.map((e) => e.target), ['reserve', 'charge', 'create'], 'each step once');
  assert.equal(state.orders[0].paymentId, state.payments[0].id, 'results restored from the journal feed the templates');
});
