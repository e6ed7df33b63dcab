// The demo's notification feed in Chromium: the SSE stream from the Worker's hub dropped in the
// middle of an order, and the page gone and back, with every notification the hub published
// shown exactly once, in order.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  useE2e, openDemo, placeOrder, finished, timeline, feed, feedReaches, publishedSince,
  serviceState, screenshot, assertClean, reload, ready, STEPS,
} from './harness.mjs';

const e2e = useE2e();

const unique = (list) => new Set(list).size === list.length;

test('dropped SSE connection: the stream reconnects with Last-Event-ID and gets payment.processed by replay; nothing lost or repeated', async () => {
  const { demo, browser } = e2e;
  const { context, page, report } = await openDemo(browser, demo);
  try {
    const from = demo.published.length;
    const sse = demo.sse.state();
    const [connectionsBefore, dropsBefore] = [sse.connections.length, sse.drops];

    await placeOrder(page, ['sseDrop']);
    assert.equal(await finished(page), 'committed');
    await feedReaches(page, demo);
    const shown = await feed(page);
    const steps = (await timeline(page)).steps;
    await screenshot(page, 'sse-drop');

    // What the hub published: reserved (live), processed (while the page was disconnected), created.
    const published = publishedSince(demo, from);
    assert.deepEqual(published.map((n) => n.type), ['inventory.reserved', 'payment.processed', 'order.created']);
    assert.deepEqual(shown.notifications, published, 'the feed shows each published notification once, in order');
    assert.ok(unique(shown.notifications.map((n) => n.id)));
    assert.equal(shown.lastEventId, published.at(-1).id);
    assert.deepEqual([shown.state, shown.reconnects], ['open', 1]);
    assert.deepEqual(shown.connection, ['open', 'connecting', 'open'], 'the feed shows the drop and the reconnect');

    // The source's side: one drop, then one reconnection, asking to resume after the last
    // notification the page had, and relayed to the hub only once payment.processed was
    // published (it was held if it came sooner): replay is the only way that one came through.
    const after = demo.sse.state();
    assert.equal(after.drops - dropsBefore, 1);
    const reconnections = after.connections.slice(connectionsBefore);
    assert.deepEqual(reconnections.map((c) => [c.lastEventId, c.status]), [[published[0].id, 200]]);
    assert.ok(Number(reconnections[0].publishedBefore) >= Number(published[1].id), JSON.stringify(reconnections));

    // The transaction waited through the drop and committed once.
    assert.deepEqual(steps.map((s) => [s.name, s.state, s.attempts]), STEPS.map((name) => [name, 'succeeded', 1]));
    const state = await serviceState(demo);
    assert.deepEqual(state.orders.map((o) => o.status), ['created']);
    assert.deepEqual(state.payments.map((p) => p.status), ['charged']);
    assertClean(report); // the drop ended the response cleanly: no failed request, no console error
  } finally {
    await context.close();
  }
});

test('the page gone and back: the stream resumes from the stored last event id; nothing lost or repeated', async () => {
  const { demo, browser } = e2e;
  const { context, page, report } = await openDemo(browser, demo);
  const api = (method, path, body) => fetch(new URL(`api${path}`, demo.url), {
    method, headers: { 'content-type': 'application/json' }, body: body && JSON.stringify(body),
  }).then(async (res) => [res.status, await res.json()]);
  try {
    const from = demo.published.length;
    // Three notifications while the page is there...
    const [status, reservation] = await api('POST', '/inventory/reservations', { orderId: 'o-away', items: [{ sku: 'sku-plum', qty: 1 }] });
    assert.equal(status, 201);
    assert.equal((await api('DELETE', `/inventory/reservations/${reservation.id}`))[0], 200);
    assert.equal((await api('POST', '/payments', { orderId: 'o-away', amount: 5 }))[0], 201);
    await feedReaches(page, demo);
    const seenBefore = (await feed(page)).notifications;
    assert.deepEqual(seenBefore, publishedSince(demo, from));

    // ...three while it is not...
    const connectionsBefore = demo.sse.state().connections.length;
    await reload(page, report, 'about:blank');
    const [, charged] = await api('POST', '/payments', { orderId: 'o-away-2', amount: 7 });
    assert.equal((await api('POST', `/payments/${charged.id}/refund`, {}))[0], 200);
    assert.equal((await api('POST', '/inventory/reservations', { orderId: 'o-away-2', items: [{ sku: 'sku-pear', qty: 1 }] }))[0], 201);
    await demo.orders.published();
    const whileAway = publishedSince(demo, from + seenBefore.length);
    // (payment.processed comes a little after the charge: its place among them varies.)
    assert.deepEqual(whileAway.map((n) => n.type).sort(), ['inventory.reserved', 'payment.processed', 'payment.refunded']);

    // ...and back: the missed ones by replay from the stored id, the earlier ones from storage.
    await page.goto(demo.url);
    await ready(page);
    await feedReaches(page, demo);
    const shown = await feed(page);
    await screenshot(page, 'sse-page-back');
    assert.deepEqual(shown.notifications, publishedSince(demo, from), 'every notification once, in order, across the reload');
    assert.ok(unique(shown.notifications.map((n) => n.id)));
    const [resumed] = demo.sse.state().connections.slice(connectionsBefore);
    assert.equal(resumed.lastEventId, seenBefore.at(-1).id, 'the new stream resumed after the last notification handled');
    assert.equal(shown.reconnects, 0, 'a new stream, not a reconnect');
    assertClean(report);
  } finally {
    await context.close();
  }
});
