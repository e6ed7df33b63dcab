// The order saga against a real HTTP service: what edgesaga reports, and what the service
// actually saw (request order, idempotency keys, aborted connections, leftover state).

import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { initSync, TransactionCoordinator } from '../../pkg/edgesaga.js';
import { startOrderService, INITIAL_STOCK } from '../../demo/order-service.mjs';
import { placeOrder, orderTransaction, STEP_NAMES } from './order-example.mjs';

initSync({ module: readFileSync(new URL('../../pkg/edgesaga_bg.wasm', import.meta.url)) });

const ITEMS = [{ sku: 'sku-apple', qty: 2 }, { sku: 'sku-pear', qty: 1 }];
const AMOUNT = 42.5;
const STEP_TARGET = { reserve_inventory: 'reserve', charge_payment: 'charge', create_order: 'create' };

let service;
before(async () => {
  service = await startOrderService();
});
after(() => service.close());
beforeEach(() => service.reset());

const order = (options = {}) =>
  placeOrder({ TransactionCoordinator }, service.url, { orderId: 'order-1', items: ITEMS, amount: AMOUNT, ...options });

const targets = (state) => state.log.map((entry) => entry.target);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const label = (e) => (e.step ? `${e.type}:${e.step}` : e.type);

/** Polls the service until `check` stops throwing: connection closes arrive asynchronously. */
async function eventually(check, timeoutMs = 2000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = await service.state();
    try {
      check(state);
      return state;
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
    await sleep(20);
  }
}

/** Nothing left reserved, charged or ordered, and every unit of stock back. */
function assertNothingHeld(state) {
  assert.deepEqual(state.stock, INITIAL_STOCK);
  assert.deepEqual(state.reservations.filter((r) => r.status === 'held'), []);
  assert.deepEqual(state.payments.filter((p) => p.status === 'charged'), []);
  assert.deepEqual(state.orders, []);
}

function assertStepShape(step) {
  assert.ok(['pending', 'succeeded', 'failed'].includes(step.status), step.status);
  assert.equal(typeof step.attempts, 'number');
  if (step.status !== 'pending') {
    assert.equal(typeof step.startedAt, 'number');
    assert.ok(step.endedAt >= step.startedAt, `${step.name}: endedAt before startedAt`);
  }
}

test('happy path: committed, results in ctx, one reservation, one charge, one order', async () => {
  const result = await order();
  assert.equal(result.status, 'committed');
  assert.equal(result.success, true);
  assert.equal(result.error, null);
  assert.equal(typeof result.transactionId, 'string');
  assert.ok(result.transactionId.length > 0);
  assert.deepEqual(result.steps.map((s) => s.name), STEP_NAMES);
  for (const step of result.steps) {
    assertStepShape(step);
    assert.equal(step.status, 'succeeded');
    assert.equal(step.attempts, 1);
    assert.equal(step.error, null);
    assert.equal(step.compensation, null);
  }

  const state = await service.state();
  const { results } = result.context;
  assert.equal(result.context.orderId, 'order-1');
  assert.deepEqual(result.context.items, ITEMS);
  assert.equal(results.reserve_inventory.id, state.reservations[0].id);
  assert.equal(results.charge_payment.id, state.payments[0].id);
  assert.equal(results.create_order.id, state.orders[0].id);
  assert.deepEqual(result.result, results.create_order, 'result is the last step’s result');

  assert.equal(state.reservations.length, 1);
  assert.equal(state.reservations[0].status, 'held');
  assert.equal(state.payments.length, 1);
  assert.deepEqual([state.payments[0].status, state.payments[0].amount], ['charged', AMOUNT]);
  assert.equal(state.orders.length, 1);
  assert.equal(state.orders[0].paymentId, state.payments[0].id);
  assert.deepEqual(state.stock, { ...INITIAL_STOCK, 'sku-apple': 8, 'sku-pear': 4 });
  // Each request carried the deterministic key edgesaga documents.
  assert.deepEqual(state.log.map((e) => e.key), STEP_NAMES.map((name) => `${result.transactionId}:${name}`));
});

for (const [index, failing] of STEP_NAMES.entries()) {
  test(`a permanent failure at ${failing} compensates the completed steps in reverse order`, async () => {
    await service.inject({ target: STEP_TARGET[failing], mode: 'fail', status: 500 });
    const result = await order();

    assert.equal(result.status, 'compensated');
    assert.equal(result.success, false);
    assert.equal(result.error.name, 'StepFailedError');
    assert.equal(result.error.step, failing);
    assert.equal(result.error.cause.name, 'ServiceError', 'cause is what the step threw');
    assert.equal(result.error.cause.status, 500);

    result.steps.forEach(assertStepShape);
    const failed = result.steps[index];
    assert.equal(failed.status, 'failed');
    assert.equal(failed.attempts, 3, 'a 500 is retryable: every attempt was used');
    assert.equal(failed.error.name, 'StepFailedError');
    assert.equal(failed.compensation, null, 'a step that never succeeded is not compensated');
    for (const done of result.steps.slice(0, index)) {
      assert.equal(done.status, 'succeeded');
      assert.equal(done.compensation?.status, 'compensated', `${done.name} compensated`);
      assert.equal(done.compensation.attempts, 1);
    }
    for (const later of result.steps.slice(index + 1)) assert.equal(later.status, 'pending');

    // The service's own log: forward steps, the retried failure, then undo in reverse.
    const state = await service.state();
    const forward = STEP_NAMES.slice(0, index).map((name) => STEP_TARGET[name]);
    const undo = ['release', 'refund'].slice(0, index).reverse();
    assert.deepEqual(targets(state), [...forward, ...Array(3).fill(STEP_TARGET[failing]), ...undo]);
    const compensations = state.log.filter((e) => undo.includes(e.target));
    assert.ok(compensations.every((e) => e.key.endsWith(':compensate') && e.status === 200));
    assertNothingHeld(state);
  });
}

test('a transient 503 at charge is retried with the same key and charges once', async () => {
  await service.inject({ target: 'charge', mode: 'transient', status: 503, times: 1, retryAfterMs: 35 });
  const events = [];
  const result = await order({ onEvent: (e) => events.push(e) });

  assert.equal(result.status, 'committed');
  assert.equal(result.steps[1].attempts, 2);
  assert.equal(result.steps[1].error, null);
  const retrying = events.filter((e) => e.type === 'step.retrying');
  assert.equal(retrying.length, 1);
  assert.equal(retrying[0].step, 'charge_payment');
  assert.equal(retrying[0].attempt, 1);
  assert.equal(retrying[0].delayMs, 35, 'the Retry-After the service sent decides the delay');

  const state = await service.state();
  const key = `${result.transactionId}:charge_payment`;
  assert.equal(state.keys[key].seen, 2);
  assert.deepEqual(state.log.filter((e) => e.key === key).map((e) => e.status), [503, 201]);
  assert.equal(state.payments.length, 1);
  assert.equal(state.payments[0].status, 'charged');
});

test('a declined payment (402) is not retried and the reservation is released', async () => {
  await service.inject({ target: 'charge', mode: 'decline' });
  const events = [];
  const result = await order({ onEvent: (e) => events.push(label(e)) });

  assert.equal(result.status, 'compensated');
  assert.equal(result.steps[1].attempts, 1);
  assert.equal(result.error.name, 'StepFailedError');
  assert.equal(result.error.step, 'charge_payment');
  assert.equal(result.error.cause.name, 'PaymentDeclinedError');
  assert.equal(result.error.cause.retryable, false);
  assert.equal(result.steps[1].error.cause.status, 402);
  assert.deepEqual(events.slice(-4), [
    'step.failed:charge_payment',
    'compensation.started:reserve_inventory',
    'compensation.succeeded:reserve_inventory',
    'transaction.compensated',
  ]);

  const state = await service.state();
  assert.deepEqual(targets(state), ['reserve', 'charge', 'release']);
  assertNothingHeld(state);
});

test('a hung create_order times out, aborts its fetch, and is compensated', async () => {
  await service.inject({ target: 'create', mode: 'hang' });
  const startedAt = Date.now();
  const result = await order({ timeoutMs: 150, retry: { maxAttempts: 2 } });

  assert.equal(result.status, 'compensated');
  assert.equal(result.error.name, 'TimeoutError');
  const create = result.steps[2];
  assert.equal(create.status, 'failed');
  assert.equal(create.attempts, 2, 'a timed-out attempt is retried');
  assert.equal(create.error.name, 'TimeoutError');
  assert.ok(Date.now() - startedAt < 1500, 'the timeout, not the hang, ended the step');
  assert.deepEqual(result.steps.slice(0, 2).map((s) => s.compensation?.status), ['compensated', 'compensated']);

  // Each timed-out attempt's request was really cancelled: the service saw its connection close.
  const state = await eventually((s) => {
    const creates = s.log.filter((e) => e.target === 'create');
    assert.deepEqual(creates.map((e) => e.outcome), ['aborted', 'aborted']);
  });
  assert.deepEqual(targets(state), ['reserve', 'charge', 'create', 'create', 'refund', 'release']);
  assertNothingHeld(state);
});

test('a failing refund ends compensation_failed, and the reservation is still released', async () => {
  await service.inject({ target: 'create', mode: 'fail', status: 500 });
  await service.inject({ target: 'refund', mode: 'fail', status: 500 });
  const result = await order({ retry: { maxAttempts: 1 } });

  assert.equal(result.status, 'compensation_failed');
  assert.equal(result.success, false);
  assert.equal(result.error.name, 'CompensationFailedError');
  assert.deepEqual(result.error.steps, ['charge_payment']);
  assert.match(result.error.message, /charge_payment/);
  assert.equal(result.error.cause.name, 'StepFailedError', 'cause is the original failure');
  assert.equal(result.error.cause.step, 'create_order');

  const charge = result.steps[1].compensation;
  assert.equal(charge.status, 'failed');
  assert.equal(charge.attempts, 3, 'compensationRetry was used up');
  assert.equal(charge.error.cause.status, 500);
  assert.equal(result.steps[0].compensation.status, 'compensated', "policy 'continue' goes on");

  const state = await service.state();
  assert.deepEqual(targets(state), ['reserve', 'charge', 'create', 'refund', 'refund', 'refund', 'release']);
  assert.deepEqual(state.payments.map((p) => p.status), ['charged'], 'the charge really is still there');
  assert.deepEqual(state.reservations.map((r) => r.status), ['released']);
  assert.deepEqual(state.stock, INITIAL_STOCK);
  assert.deepEqual(state.orders, []);
});

test('cancelling through AbortController mid-transaction aborts the request and compensates', async () => {
  await service.inject({ target: 'create', mode: 'hang' });
  const controller = new AbortController();
  const result = await order({
    signal: controller.signal,
    // Cancel shortly after create_order's request is in flight, as a user leaving the page would.
    onEvent: (e) => {
      if (e.type === 'step.started' && e.step === 'create_order') setTimeout(() => controller.abort(), 40);
    },
  });

  assert.equal(result.status, 'compensated');
  assert.equal(result.error.name, 'AbortError');
  assert.equal(result.steps[2].status, 'failed');
  assert.equal(result.steps[2].attempts, 1, 'a cancelled step is not retried');
  assert.deepEqual(result.steps.map((s) => s.compensation?.status ?? null), ['compensated', 'compensated', null]);

  const state = await eventually((s) => {
    assert.equal(s.log.find((e) => e.target === 'create')?.outcome, 'aborted');
  });
  assert.deepEqual(targets(state), ['reserve', 'charge', 'create', 'refund', 'release']);
  assertNothingHeld(state);
});

test('lifecycle events arrive in order through onEvent and coordinator.on/once/off', async () => {
  const events = [];
  const coordinator = new TransactionCoordinator({ onEvent: (e) => events.push(e) });
  const started = [];
  const firstSuccess = [];
  const removed = [];
  const removedListener = (e) => removed.push(e);
  coordinator.on('step.started', (e) => started.push(e.step));
  coordinator.once('step.succeeded', (e) => firstSuccess.push(e.step));
  coordinator.on('progress', removedListener);
  coordinator.off('progress', removedListener);

  const result = await coordinator.executeTransaction(orderTransaction(service.url), {
    context: { orderId: 'order-events', items: ITEMS, amount: AMOUNT },
    transactionId: 'tx-events-1',
  });

  assert.equal(result.status, 'committed');
  assert.equal(result.transactionId, 'tx-events-1');
  const stepEvents = (name) => [`step.started:${name}`, `step.succeeded:${name}`, `progress:${name}`];
  assert.deepEqual(events.map(label), [
    'transaction.started',
    ...STEP_NAMES.flatMap(stepEvents),
    'transaction.committed',
  ]);
  for (const e of events) {
    assert.equal(e.transactionId, 'tx-events-1');
    assert.equal(e.transactionName, 'place-order');
    assert.equal(e.totalSteps, 3);
    assert.equal(typeof e.timestamp, 'number');
  }
  assert.ok(events.every((e, i) => i === 0 || e.timestamp >= events[i - 1].timestamp), 'timestamps ascend');
  assert.deepEqual(events.filter((e) => e.type === 'progress').map((e) => e.completedSteps), [1, 2, 3]);
  assert.equal(events.at(-1).completedSteps, 3);
  assert.ok(events.filter((e) => e.type === 'step.started').every((e) => e.attempt === 1));

  assert.deepEqual(started, STEP_NAMES);
  assert.deepEqual(firstSuccess, ['reserve_inventory'], 'once fires a single time');
  assert.deepEqual(removed, [], 'off removes the listener');
  // The idempotency key is built from the caller's transactionId.
  assert.equal((await service.state()).log[0].key, 'tx-events-1:reserve_inventory');
});

test('an invalid definition is rejected before any request reaches the service', async () => {
  const coordinator = new TransactionCoordinator({});
  const { steps, ...rest } = orderTransaction(service.url);
  const { name: _dropped, ...unnamed } = steps[1];
  await assert.rejects(
    coordinator.executeTransaction({ ...rest, steps: [steps[0], unnamed, steps[2]] }, { context: {} }),
    (error) => {
      assert.equal(error.name, 'DefinitionError');
      assert.match(error.message, /steps\[1\]\.name/);
      return true;
    },
  );
  assert.deepEqual((await service.state()).log, []);
});

test('requiresVersionCheck: a matching version commits, a stale one undoes the step', async () => {
  const coordinator = new TransactionCoordinator({});
  const withVersion = (expectedVersion) => {
    const definition = orderTransaction(service.url);
    definition.steps[0] = { ...definition.steps[0], requiresVersionCheck: true, expectedVersion };
    return coordinator.executeTransaction(definition, {
      context: { orderId: 'order-v', items: ITEMS, amount: AMOUNT },
    });
  };

  // After a reset the first reservation moves the inventory to version 1.
  assert.equal((await withVersion(1)).status, 'committed');

  await service.reset();
  const stale = await withVersion(7);
  assert.equal(stale.status, 'compensated');
  assert.equal(stale.error.name, 'OptimisticLockError');
  assert.equal(stale.steps[0].status, 'failed');
  assert.equal(stale.steps[0].attempts, 1, 'a version conflict is never retried');
  assert.equal(stale.steps[0].compensation?.status, 'compensated', 'the reservation happened, so it is undone');
  const state = await service.state();
  assert.deepEqual(targets(state), ['reserve', 'release']);
  assertNothingHeld(state);
});

test('the service replays a repeated Idempotency-Key and changes nothing', async () => {
  const charge = (key, path = '/payments') =>
    fetch(service.url + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': key },
      body: JSON.stringify({ orderId: 'order-idem', amount: 10 }),
    }).then(async (res) => ({ status: res.status, body: await res.json() }));

  const first = await charge('key-1');
  const again = await charge('key-1');
  assert.equal(first.status, 201);
  assert.deepEqual(again, first);
  assert.equal((await charge('key-1', '/orders')).status, 422, 'a key is bound to its request');

  const state = await service.state();
  assert.equal(state.payments.length, 1);
  assert.equal(state.keys['key-1'].seen, 3);
  assert.deepEqual(state.log.map((e) => e.outcome), ['ok', 'replayed', 'rejected']);
});
