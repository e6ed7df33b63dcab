// The demo page in Chromium, one order per test: the happy path, then each fault toggle. The
// page runs the transaction with the wasm package (built by Vite); each test checks what the
// page shows (the timeline, the feed) against what the services themselves recorded.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  useE2e, openDemo, placeOrder, finished, timeline, feed, feedReaches, publishedSince,
  serviceState, screenshot, assertClean, assertNothingLeft, requestCounts, undoOrder, STEPS, INITIAL_STOCK,
} from './harness.mjs';

const e2e = useE2e();

/** Opens the page, places an order with `faults`, waits for the outcome. */
async function order(name, faults = []) {
  const { demo, browser } = e2e;
  const { context, page, report } = await openDemo(browser, demo);
  const from = demo.published.length; // the feed is live from here on (no stored position yet)
  try {
    await placeOrder(page, faults);
    const status = await finished(page);
    const state = await serviceState(demo);
    await demo.orders.published();
    if (demo.published.length > from) await feedReaches(page, demo);
    const shown = { timeline: await timeline(page), feed: await feed(page) };
    await screenshot(page, name);
    return { status, state, shown, published: publishedSince(demo, from), report };
  } finally {
    await context.close();
  }
}

const pick = (steps, ...fields) => steps.map((s) => Object.fromEntries(fields.map((f) => [f, s[f]])));

test('happy path: the four steps succeed once each, the order exists, the feed shows every notification', async () => {
  const r = await order('happy-path');
  assert.equal(r.status, 'committed', r.shown.timeline.note);
  assert.deepEqual(pick(r.shown.timeline.steps, 'name', 'state', 'attempts', 'retries', 'compensation'),
    STEPS.map((name) => ({ name, state: 'succeeded', attempts: 1, retries: 0, compensation: null })));
  assert.deepEqual(r.shown.timeline.compensations, []);
  assert.deepEqual(r.shown.timeline.events.filter((t) => t.startsWith('transaction.')), ['transaction.started', 'transaction.committed']);

  // The services: one of each, held / charged / created, nothing undone.
  assert.deepEqual(requestCounts(r.state), { reserve: 1, charge: 1, create: 1 });
  assert.deepEqual(r.state.reservations.map((x) => x.status), ['held']);
  assert.deepEqual(r.state.payments.map((x) => x.status), ['charged']);
  assert.deepEqual(r.state.orders.map((x) => [x.status, x.paymentId, x.reservationId]),
    [['created', r.state.payments[0].id, r.state.reservations[0].id]]);
  assert.equal(r.state.stock['sku-apple'], INITIAL_STOCK['sku-apple'] - 2);

  // The feed: exactly what the hub published, once each, in order; the await step's notification among them.
  assert.deepEqual(r.published.map((n) => n.type), ['inventory.reserved', 'payment.processed', 'order.created']);
  assert.deepEqual(r.shown.feed.notifications, r.published);
  assert.equal(r.shown.feed.lastEventId, r.published.at(-1).id);
  assert.deepEqual([r.shown.feed.state, r.shown.feed.reconnects], ['open', 0]);
  assertClean(r.report);
});

test('payment declined: 402 is not retried; the reservation is released', async () => {
  const r = await order('payment-declined', ['decline']);
  assert.equal(r.status, 'compensated');
  assert.deepEqual(pick(r.shown.timeline.steps, 'name', 'state', 'attempts', 'compensation'), [
    { name: 'reserve_inventory', state: 'succeeded', attempts: 1, compensation: 'compensated' },
    { name: 'charge_payment', state: 'failed', attempts: 1, compensation: null },
    { name: 'payment_processed', state: 'pending', attempts: 0, compensation: null },
    { name: 'create_order', state: 'pending', attempts: 0, compensation: null },
  ]);
  assert.match(r.shown.timeline.steps[1].error, /answered 402/);
  assert.deepEqual(r.shown.timeline.compensations, [['reserve_inventory', 'compensated']]);

  assertNothingLeft(r.state);
  assert.deepEqual(requestCounts(r.state), { reserve: 1, charge: 1, release: 1 });
  assert.deepEqual(r.shown.feed.notifications, r.published);
  assert.deepEqual(r.published.map((n) => n.type), ['inventory.reserved', 'inventory.released']);
  assertClean(r.report, { httpErrors: { '402 POST /api/payments': 1 } });
});

test('inventory timeout: both attempts time out; the reservation they made is undone (compensateOnFailure)', async () => {
  const r = await order('inventory-timeout', ['inventoryTimeout']);
  assert.equal(r.status, 'compensated');
  const [reserve, ...rest] = r.shown.timeline.steps;
  assert.deepEqual(pick([reserve], 'state', 'attempts', 'retries', 'compensation'),
    [{ state: 'failed', attempts: 2, retries: 1, compensation: 'compensated' }]);
  assert.match(reserve.error, /TimeoutError/);
  assert.ok(rest.every((s) => s.state === 'pending'));
  assert.deepEqual(r.shown.timeline.compensations, [['reserve_inventory', 'compensated']]);
  assert.ok(r.shown.timeline.events.includes('step.retrying'));

  // The inventory did reserve (the answer was what got lost), once: the retry had the same key.
  assert.equal(r.state.reservations.length, 1);
  assertNothingLeft(r.state);
  const reserves = r.state.log.filter((e) => e.target === 'reserve');
  assert.deepEqual(reserves.map((e) => [e.outcome, e.answerLost, e.callerGaveUp]), [['ok', true, true], ['replayed', true, true]]);
  assert.equal(new Set(reserves.map((e) => e.key)).size, 1, 'one idempotency key for both attempts');
  assert.deepEqual(undoOrder(r.state), ['release']);
  assert.deepEqual(r.shown.feed.notifications, r.published);
  assertClean(r.report, { aborted: { 'POST /api/inventory/reservations': 2 } });
});

test('slow service: create_order times out twice; the order, the charge and the reservation are undone in reverse order', async () => {
  const r = await order('slow-service', ['slow']);
  assert.equal(r.status, 'compensated');
  assert.deepEqual(pick(r.shown.timeline.steps, 'name', 'state', 'attempts', 'retries', 'compensation'), [
    { name: 'reserve_inventory', state: 'succeeded', attempts: 1, retries: 0, compensation: 'compensated' },
    { name: 'charge_payment', state: 'succeeded', attempts: 1, retries: 0, compensation: 'compensated' },
    { name: 'payment_processed', state: 'succeeded', attempts: 1, retries: 0, compensation: null },
    { name: 'create_order', state: 'failed', attempts: 2, retries: 1, compensation: 'compensated' },
  ]);
  assert.match(r.shown.timeline.steps[3].error, /TimeoutError/);
  // Reverse order of the steps (the await step has nothing to undo).
  assert.deepEqual(r.shown.timeline.compensations,
    [['create_order', 'compensated'], ['charge_payment', 'compensated'], ['reserve_inventory', 'compensated']]);

  // The slow service did create the order, once; it was cancelled, and the rest undone, in that order.
  assertNothingLeft(r.state);
  assert.deepEqual(r.state.orders.map((o) => o.status), ['cancelled']);
  assert.deepEqual(r.state.log.filter((e) => e.target === 'create').map((e) => [e.outcome, e.delayedMs, e.callerGaveUp]),
    [['ok', 1500, true], ['replayed', 1500, true]]);
  assert.deepEqual(undoOrder(r.state), ['cancel_order', 'refund', 'release']);
  assert.deepEqual(r.shown.feed.notifications, r.published);
  assert.deepEqual(r.published.map((n) => n.type).slice(-3), ['order.cancelled', 'payment.refunded', 'inventory.released']);
  assertClean(r.report, { aborted: { 'POST /api/orders': 2 } });
});
