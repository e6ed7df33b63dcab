// Reload-safe transactions in the demo page: a reload in the middle of a transaction resumes it
// from the page's journal (IndexedDB) — finished steps are not run again, a compensation that
// had started goes on to its end — and two tabs never run one transaction at once. Judged by
// the services' own state and request log, not only by what the page shows.
//
// The tests reload at a chosen point: while the payment processor holds its confirmation back
// (`holdPaymentConfirmations`), while a service holds its answer (a `hang` fault), or once a
// given notification was shown — each a condition waited for, never a guess of timing.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  useE2e, openDemo, placeOrder, finished, timeline, feed, feedReaches, publishedSince,
  serviceState, injectFault, screenshot, assertClean, assertNothingLeft, requestCounts, undoOrder, reload, watch,
  ready, STEPS,
} from './harness.mjs';
import { eventually } from '../js/waits.mjs';

const e2e = useE2e();

const stepState = (page, step, state) =>
  page.waitForSelector(`#steps li[data-step="${step}"][data-state="${state}"]`, { timeout: 15_000 });

test('reload while waiting for payment.processed: the resumed run waits again and commits; each step ran once', async () => {
  const { demo, browser } = e2e;
  const { context, page, report } = await openDemo(browser, demo);
  const release = demo.orders.holdPaymentConfirmations();
  try {
    const from = demo.published.length;
    await placeOrder(page);
    await stepState(page, 'payment_processed', 'running');
    await reload(page, report);
    // Resumed: the journal says the await step was in flight, so it waits again.
    await stepState(page, 'payment_processed', 'running');
    release();

    assert.equal(await finished(page), 'committed');
    const shown = await timeline(page);
    await feedReaches(page, demo);
    const notifications = (await feed(page)).notifications;
    await screenshot(page, 'reload-while-waiting');

    assert.match(shown.note, /resumed from the journal/);
    assert.deepEqual(shown.steps.map((s) => [s.name, s.state]), STEPS.map((name) => [name, 'succeeded']));
    assert.ok(shown.journal.includes('step.succeeded'), 'what ran before the reload is shown from the journal');
    assert.deepEqual(shown.events.filter((t) => t === 'step.started'), ['step.started', 'step.started'],
      'after the reload: the await step again, then create_order');
    // The services: each forward request once — the reload ran nothing again — and one order.
    const state = await serviceState(demo);
    assert.deepEqual(requestCounts(state), { reserve: 1, charge: 1, create: 1 });
    assert.deepEqual(state.orders.map((o) => [o.status, o.paymentId]), [['created', state.payments[0].id]]);
    assert.deepEqual(state.payments.map((p) => p.status), ['charged']);
    // The feed across the reload: each notification once.
    assert.deepEqual(notifications, publishedSince(demo, from));
    assertClean(report);
  } finally {
    release();
    await context.close();
  }
});

test('reload while the charge has no answer yet, after payment.processed arrived: the charge is sent again under its key, the await step finds the notification the page already had', async () => {
  const { demo, browser } = e2e;
  const { context, page, report } = await openDemo(browser, demo);
  try {
    const from = demo.published.length;
    // The payment is taken, its answer lost: the charge step stays in flight (up to its 1.5 s timeout)...
    await injectFault(demo, { target: 'charge', mode: 'hang', afterHandler: true, times: 1 });
    await placeOrder(page);
    // ...while the processor confirms it, and the page's feed records the confirmation.
    await page.waitForSelector('#feed li[data-type="payment.processed"]', { timeout: 15_000 });
    await reload(page, report);

    assert.equal(await finished(page), 'committed');
    const shown = await timeline(page);
    await feedReaches(page, demo);
    const notifications = (await feed(page)).notifications;
    await screenshot(page, 'reload-charge-in-flight');

    assert.deepEqual(shown.steps.map((s) => [s.name, s.state]), STEPS.map((name) => [name, 'succeeded']));
    const state = await serviceState(demo);
    // One payment: the second charge request (same attempt, same key) got the first one's answer.
    assert.equal(state.payments.length, 1);
    const charges = state.log.filter((e) => e.target === 'charge');
    assert.deepEqual(charges.map((e) => [e.outcome, e.answerLost ?? false]), [['ok', true], ['replayed', false]]);
    assert.equal(charges[0].key, charges[1].key);
    assert.deepEqual(requestCounts(state), { reserve: 1, charge: 2, create: 1 });
    assert.deepEqual(state.orders.map((o) => [o.status, o.paymentId]), [['created', state.payments[0].id]]);
    // payment.processed was published once, before the reload, and shown once.
    assert.deepEqual(notifications, publishedSince(demo, from));
    assert.equal(notifications.filter((n) => n.type === 'payment.processed').length, 1);
    assertClean(report);
  } finally {
    await context.close();
  }
});

test('reload during compensation: it goes on to its end after the reload; nothing is left reserved or charged', async () => {
  const { demo, browser } = e2e;
  const { context, page, report } = await openDemo(browser, demo);
  try {
    // The order service is too slow (create_order fails), and the first refund hangs: the
    // transaction is mid-compensation, create_order's already undone, when the page reloads.
    await injectFault(demo, { target: 'refund', mode: 'hang', times: 1 });
    await placeOrder(page, ['slow']);
    await eventually(async () => {
      const { log } = await serviceState(demo);
      assert.ok(log.some((e) => e.target === 'refund' && e.outcome === 'hang'), 'the refund is hanging');
    }, 15_000);
    await reload(page, report);

    assert.equal(await finished(page), 'compensated');
    const shown = await timeline(page);
    await screenshot(page, 'reload-during-compensation');
    assert.match(shown.note, /resumed from the journal/);
    assert.deepEqual(shown.compensations,
      [['create_order', 'compensated'], ['charge_payment', 'compensated'], ['reserve_inventory', 'compensated']]);
    assert.deepEqual(shown.steps.map((s) => [s.name, s.state, s.compensation]), [
      ['reserve_inventory', 'succeeded', 'compensated'],
      ['charge_payment', 'succeeded', 'compensated'],
      ['payment_processed', 'succeeded', null],
      ['create_order', 'failed', 'compensated'],
    ]);

    const state = await serviceState(demo);
    assertNothingLeft(state);
    // The cancel finished before the reload and is not sent again; the refund cut by the reload
    // is sent again under the same key; then the release.
    assert.deepEqual(undoOrder(state), ['cancel_order', 'refund', 'refund', 'release']);
    const refunds = state.log.filter((e) => e.target === 'refund');
    assert.deepEqual(refunds.map((e) => e.outcome), ['aborted', 'ok']);
    assert.equal(refunds[0].key, refunds[1].key);
    assert.deepEqual(requestCounts(state), { reserve: 1, charge: 1, create: 2, cancel_order: 1, refund: 2, release: 1 });
    assertClean(report, { aborted: { 'POST /api/orders': 2 } });
  } finally {
    await context.close();
  }
});

test('two tabs: the second waits for the first (Web Lock), then finds the transaction finished; nothing runs twice', async () => {
  const { demo, browser } = e2e;
  const first = await openDemo(browser, demo);
  const release = demo.orders.holdPaymentConfirmations();
  try {
    await placeOrder(first.page);
    await stepState(first.page, 'payment_processed', 'running');

    // A second tab of the same origin (same storage) finds the transaction unfinished, and
    // waits for the first tab's lock.
    const page = await first.context.newPage();
    const report = watch(page);
    await page.goto(demo.url);
    await ready(page);
    await page.waitForSelector('#tx-note:has-text("another tab is running this transaction")', { timeout: 15_000 });
    release();

    assert.equal(await finished(first.page), 'committed');
    assert.equal(await finished(page), 'committed');
    const [a, b] = [await timeline(first.page), await timeline(page)];
    await screenshot(first.page, 'two-tabs-first');
    await screenshot(page, 'two-tabs-second');
    assert.match(b.note, /finished by another tab/);
    assert.deepEqual(b.steps.map((s) => [s.name, s.state, s.attempts]), a.steps.map((s) => [s.name, s.state, s.attempts]));
    // (The coordinator still reports the transaction's start and outcome to the second tab.)
    assert.deepEqual(b.events.filter((t) => !t.startsWith('transaction.')), [], 'the second tab ran no step');

    const state = await serviceState(demo);
    assert.deepEqual(requestCounts(state), { reserve: 1, charge: 1, create: 1 });
    assert.deepEqual(state.orders.map((o) => o.status), ['created']);
    assertClean(first.report);
    assertClean(report);
  } finally {
    release();
    await first.context.close();
  }
});
