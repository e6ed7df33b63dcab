// Resuming from the journal against the real order service: the host stops (a reload, a
// restarted Worker) at every point of a transaction, a new coordinator resumes it from what the
// journal kept, and the service's own state and idempotency keys show that nothing ran twice
// and nothing was left half done.

import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { initSync, TransactionCoordinator } from '../../pkg/edgesaga.js';
import { startOrderService, INITIAL_STOCK } from '../../demo/order-service.mjs';
import { orderTransaction, STEP_NAMES } from './order-example.mjs';

initSync({ module: readFileSync(new URL('../../pkg/edgesaga_bg.wasm', import.meta.url)) });

const CONTEXT = { orderId: 'order-r', items: [{ sku: 'sku-apple', qty: 2 }], amount: 12 };
const TX = 'tx-resume';

let service;
before(async () => {
  service = await startOrderService();
});
after(() => service.close());
beforeEach(() => service.reset());

/**
 * A durable journal whose host stops at record `stopAt`: with `written`, right after that record
 * is stored; without, just before (the step's request went out, its outcome was never recorded).
 * Records are stored as structured clones, as IndexedDB or Durable Object storage would.
 */
function stoppingJournal(stopAt, written) {
  const records = [];
  let count = 0;
  let stop;
  const stopped = new Promise((resolve) => (stop = resolve));
  const journal = {
    append(_id, record) {
      const i = count++;
      if (i < stopAt || (i === stopAt && written)) records.push(structuredClone(record));
      if (i < stopAt) return undefined;
      if (i === stopAt) stop();
      return new Promise(() => {}); // the host is gone: nothing after this happens
    },
  };
  return { journal, records, stopped };
}

/** The journal as the next host finds it, with `load`. */
const reopened = (records) => ({
  append: (_id, record) => void records.push(structuredClone(record)),
  load: async () => records.map((r) => structuredClone(r)),
});

async function runUntilStopped(definition, stopAt, written) {
  const { journal, records, stopped } = stoppingJournal(stopAt, written);
  const coordinator = new TransactionCoordinator({ journal });
  const finished = coordinator.executeTransaction(definition, { transactionId: TX, context: CONTEXT });
  const outcome = await Promise.race([stopped.then(() => 'stopped'), finished.then(() => 'finished')]);
  return { outcome, records };
}

async function resume(definition, records) {
  const coordinator = new TransactionCoordinator({ journal: reopened(records) });
  try {
    return await coordinator.executeTransaction(definition, { transactionId: TX, context: CONTEXT });
  } finally {
    coordinator.free();
  }
}

/** How many records a run that never stops writes. */
async function recordCount(definition) {
  const records = [];
  const coordinator = new TransactionCoordinator({ journal: reopened(records) });
  await coordinator.executeTransaction(definition, { transactionId: 'tx-count', context: CONTEXT });
  coordinator.free();
  await service.reset();
  return records.length;
}

const effects = (state) => ({
  reservations: state.reservations.map((r) => r.status),
  payments: state.payments.map((p) => p.status),
  orders: state.orders.map((o) => o.status),
});

test('a committed order survives a stop at every record, before or after it is written', async () => {
  const definition = orderTransaction(service.url);
  const total = await recordCount(definition);
  assert.equal(total, 8, 'transaction + 3 × (started, succeeded) + finished');
  let replays = 0;
  for (const written of [true, false]) {
    for (let stopAt = 0; stopAt < total; stopAt++) {
      const where = `stop at record ${stopAt} (${written ? 'after' : 'before'} writing it)`;
      await service.reset();
      const first = await runUntilStopped(definition, stopAt, written);
      assert.equal(first.outcome, 'stopped', where);
      const result = await resume(definition, first.records);
      assert.equal(result.status, 'committed', where);
      assert.deepEqual(result.steps.map((s) => s.status), ['succeeded', 'succeeded', 'succeeded'], where);
      const state = await service.state();
      assert.deepEqual(effects(state), { reservations: ['held'], payments: ['charged'], orders: ['created'] }, where);
      // create_order used ctx.results of the steps before it, restored from the journal.
      const { results } = result.context;
      assert.equal(state.orders[0].paymentId, results.charge_payment.id, where);
      assert.equal(state.orders[0].reservationId, results.reserve_inventory.id, where);
      assert.deepEqual(state.stock, { ...INITIAL_STOCK, 'sku-apple': INITIAL_STOCK['sku-apple'] - 2 }, where);
      for (const [key, seen] of Object.entries(state.keys)) {
        // A repeat only for the step whose outcome was never recorded, under the same key.
        assert.ok(seen.seen <= 2, `${where}: ${key} seen ${seen.seen} times`);
      }
      const repeated = state.log.filter((e) => e.outcome === 'replayed').map((e) => e.key);
      assert.ok(repeated.length <= 1, `${where}: replayed ${repeated}`);
      assert.ok(repeated.every((k) => STEP_NAMES.some((n) => k === `${TX}:${n}`)), `${where}: ${repeated}`);
      replays += repeated.length;
    }
  }
  // Each step once caught between its request and its record: the service saw the repeat.
  assert.equal(replays, STEP_NAMES.length);
});

test('a declined payment is compensated to the end whatever the stop', async () => {
  const definition = orderTransaction(service.url);
  await service.inject({ target: 'charge', mode: 'decline' });
  const total = await recordCount(definition);
  for (const written of [true, false]) {
    for (let stopAt = 0; stopAt < total; stopAt++) {
      const where = `stop at record ${stopAt} (${written ? 'after' : 'before'} writing it)`;
      await service.reset();
      await service.inject({ target: 'charge', mode: 'decline' });
      const first = await runUntilStopped(definition, stopAt, written);
      assert.equal(first.outcome, 'stopped', where);
      const result = await resume(definition, first.records);
      assert.equal(result.status, 'compensated', where);
      assert.equal(result.steps[0].compensation.status, 'compensated', where);
      const state = await service.state();
      assert.deepEqual(state.stock, INITIAL_STOCK, `${where}: everything released`);
      assert.deepEqual(effects(state), { reservations: ['released'], payments: [], orders: [] }, where);
      const releases = state.log.filter((e) => e.target === 'release' && e.outcome === 'ok');
      assert.equal(releases.length, 1, `${where}: released once`);
    }
  }
});

test('a compensateOnFailure step caught in flight is compensated, with the steps before it', async () => {
  const definition = orderTransaction(service.url);
  const post = async (path, body, key) => {
    const response = await fetch(new URL(path, service.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': key },
      body: JSON.stringify(body),
    });
    return response.json();
  };
  definition.steps[1] = {
    ...definition.steps[1],
    compensateOnFailure: true,
    // Its result may never have been recorded: replaying the charge under its own key asks the
    // service what it did, then the refund undoes it.
    compensate: async (ctx, info) => {
      const charge = ctx.results.charge_payment ?? (await post('/payments', { orderId: ctx.orderId, amount: ctx.amount }, `${TX}:charge_payment`));
      return post(`/payments/${charge.id}/refund`, {}, info.idempotencyKey);
    },
  };
  // Records: started, reserve started/succeeded, charge started, [charge succeeded: not written].
  const first = await runUntilStopped(definition, 4, false);
  assert.equal(first.outcome, 'stopped');
  assert.equal((await service.state()).payments.length, 1, 'the charge went through before the stop');
  const result = await resume(definition, first.records);
  assert.equal(result.status, 'compensated');
  assert.equal(result.error.name, 'InterruptedError');
  assert.match(result.error.message, /in flight/);
  assert.deepEqual(result.steps.map((s) => s.compensation?.status), ['compensated', 'compensated', undefined]);
  const state = await service.state();
  assert.deepEqual(effects(state), { reservations: ['released'], payments: ['refunded'], orders: [] });
  assert.deepEqual(state.stock, INITIAL_STOCK);
});

test('a journal written for another definition is refused before anything runs', async () => {
  const definition = orderTransaction(service.url);
  const first = await runUntilStopped(definition, 3, true);
  const other = { ...definition, steps: [{ ...definition.steps[0], name: 'renamed' }, ...definition.steps.slice(1)] };
  await assert.rejects(resume(other, first.records), (e) => e.name === 'JournalError' && /another/.test(e.message));
  const state = await service.state();
  assert.equal(state.log.length, 1, 'only the first run reserved');
});

test('a finished transaction resumes to its recorded outcome without calling the service', async () => {
  const definition = orderTransaction(service.url);
  const records = [];
  const coordinator = new TransactionCoordinator({ journal: reopened(records) });
  await coordinator.executeTransaction(definition, { transactionId: TX, context: CONTEXT });
  const before = (await service.state()).log.length;
  const again = await resume(definition, records);
  assert.equal(again.status, 'committed');
  assert.equal((await service.state()).log.length, before);
  assert.equal(records.at(-1).kind, 'transaction.finished', 'nothing journaled after the end');
});
