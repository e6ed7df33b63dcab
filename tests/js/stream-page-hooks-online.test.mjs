// NotificationStream's `reconnectOnOnline` page hook in headless Chromium, against the real SSE
// server (sse-server.mjs) behind the same-origin front (stream-browser-server.mjs): while it
// waits to reconnect after a failure, the window's `online` event makes the stream reconnect at
// once and forget its backoff. Also both hooks together (with `pauseWhenHidden`) and neither
// (a hidden page keeps its connection; `online` changes nothing). `pauseWhenHidden` alone is in
// stream-page-hooks.test.mjs; the setup both files share is page-hooks-setup.mjs.
//
// Going offline and back online is Chromium's own network emulation (context.setOffline), which
// fires the real `offline` and `online` events; visibility is faked on the document (headless
// Chromium never hides a page). Reconnect delays are exact (the page's jitter is pinned, see
// page-hooks-setup.mjs); everything else is judged by the server's connection log.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sleep } from './waits.mjs';
import { lightweight } from './sse-server.mjs';
import {
  usePageHooks, QUIET_MS, PROMPT_MS, LONG_BACKOFF, eventually, assertCleanPage,
  start, snapshot, setVisibility, seqs, waitSeen, delays, offlineThenOnline,
} from './page-hooks-setup.mjs';

let sse;
const { openPage, closeStream } = usePageHooks((started) => ({ sse } = started));

describe('reconnectOnOnline (fetch transport)', { timeout: 90_000 }, () => {
  test('back online while waiting out a 60 s server retry: reconnects at once, from Last-Event-ID, nothing lost', async () => {
    sse.reset();
    sse.configure({ retry: 60_000 });
    // The first connection is cut part-way through event 3, once the page has 1 and 2 (a cut
    // right behind them could make Chromium drop them unread, retry line included).
    sse.configure({ dropAfter: 2 }, { next: 1 });
    for (let seq = 1; seq <= 2; seq++) sse.publish(lightweight(seq));
    const { page, context, report } = await openPage();
    try {
      await start(page, 'online', { reconnectOnOnline: true, heartbeatTimeoutMs: 0, reconnect: { initialDelayMs: 1000, maxDelayMs: 1000 } });
      await waitSeen(page, 'online', 2);
      sse.publish(lightweight(3));
      await eventually(async () => assert.deepEqual(delays(await snapshot(page, 'online')), [61_000]));
      assert.equal(sse.connections[0].partial, '3');
      assert.deepEqual(seqs(await snapshot(page, 'online')), [1, 2]);

      const onlineAt = await offlineThenOnline(context, page);
      await eventually(() => assert.equal(sse.connections.length, 2, 'no reconnect when back online'), PROMPT_MS);
      const conn = sse.connections[1];
      assert.ok(conn.startedAt - onlineAt < PROMPT_MS, `reconnected ${conn.startedAt - onlineAt} ms after online`);
      assert.equal(conn.headers.lastEventId, '2');
      assert.deepEqual(conn.replayed, ['3']);
      sse.publish(lightweight(4));
      await waitSeen(page, 'online', 4);
      await sleep(150);

      const snap = await snapshot(page, 'online');
      assert.deepEqual(seqs(snap), [1, 2, 3, 4]);
      assert.deepEqual(snap.states.map((s) => s.state), ['open', 'connecting', 'open']);
      // In the page: offline, online, then the stream was open again.
      const events = await page.evaluate(() => window.pageEvents);
      assert.deepEqual(events.map((e) => [e.type, e.onLine]), [['offline', false], ['online', true]]);
      assert.ok(events[1].at < snap.states[2].at, 'open again only after online');
      assert.equal(snap.reconnects, 1);
      assert.equal(sse.connections.length, 2, 'exactly one reconnect');
      await closeStream(page, 'online');
      assertCleanPage(report);
    } finally {
      await context.close();
    }
  });

  test('online resets the backoff: the next failure waits the first delay again, not twice as long', async () => {
    sse.reset();
    // The first two connections end (cleanly) after one event; the third stays.
    sse.configure({ endAfter: 1 }, { next: 2 });
    for (let seq = 1; seq <= 3; seq++) sse.publish(lightweight(seq));
    const { page, context, report } = await openPage();
    try {
      await start(page, 'reset', { reconnectOnOnline: true, heartbeatTimeoutMs: 0, reconnect: { initialDelayMs: 30_000, maxDelayMs: 240_000 } });
      for (let conn = 1; conn <= 2; conn++) {
        await eventually(async () => assert.equal(delays(await snapshot(page, 'reset')).length, conn));
        await sleep(QUIET_MS);
        assert.equal(sse.connections.length, conn, 'reconnected before online');
        const onlineAt = await offlineThenOnline(context, page);
        await eventually(() => assert.equal(sse.connections.length, conn + 1, 'no reconnect when back online'), PROMPT_MS);
        assert.ok(sse.connections[conn].startedAt - onlineAt < PROMPT_MS);
        assert.equal(sse.connections[conn].headers.lastEventId, String(conn));
      }
      await waitSeen(page, 'reset', 3);
      const snap = await snapshot(page, 'reset');
      // Without the reset the second would be 60 000 (see the next describe: the delay doubles).
      assert.deepEqual(delays(snap), [30_000, 30_000]);
      assert.deepEqual(seqs(snap), [1, 2, 3]);
      assert.equal(sse.connections.length, 3);
      await closeStream(page, 'reset');
      assertCleanPage(report);
    } finally {
      await context.close();
    }
  });

  test('an online event while connected does not cut short the backoff of a later failure', async () => {
    sse.reset();
    sse.configure({ dropAfter: 1 }, { next: 1 });
    sse.publish(lightweight(1));
    const { page, context, report } = await openPage();
    try {
      await start(page, 'stale', { reconnectOnOnline: true, heartbeatTimeoutMs: 0, reconnect: LONG_BACKOFF });
      await waitSeen(page, 'stale', 1);
      // An `online` while the connection is fine (the network blinked, or another tab's doing)...
      await page.evaluate(() => window.dispatchEvent(new Event('online')));
      await sleep(100);
      // ...then the connection fails: the stream must wait its backoff, not reconnect at once.
      sse.publish(lightweight(2)); // the server cuts the connection part-way through it
      await eventually(async () => assert.deepEqual(delays(await snapshot(page, 'stale')), [60_000]));
      await sleep(QUIET_MS);
      assert.equal(sse.connections.length, 1, 'reconnected at once: an old online event cut the backoff short');
      // A fresh online does reconnect.
      await offlineThenOnline(context, page);
      await eventually(() => assert.equal(sse.connections.length, 2), PROMPT_MS);
      await waitSeen(page, 'stale', 2);
      assert.deepEqual(seqs(await snapshot(page, 'stale')), [1, 2]);
      await closeStream(page, 'stale');
      assertCleanPage(report);
    } finally {
      await context.close();
    }
  });
});

describe('both hooks together (fetch transport)', { timeout: 90_000 }, () => {
  test('online while hidden does not reconnect; visible does, once', async () => {
    sse.reset();
    for (let seq = 1; seq <= 2; seq++) sse.publish(lightweight(seq));
    const { page, context, report } = await openPage();
    try {
      await start(page, 'both', { pauseWhenHidden: true, reconnectOnOnline: true, heartbeatTimeoutMs: 0, reconnect: LONG_BACKOFF });
      await waitSeen(page, 'both', 2);
      await setVisibility(page, 'hidden');
      await eventually(() => assert.equal(sse.openConnections, 0, 'still connected while hidden'));
      sse.publish(lightweight(3));
      await offlineThenOnline(context, page);
      await sleep(QUIET_MS);
      assert.equal(sse.connections.length, 1, 'online reconnected a hidden page');
      await setVisibility(page, 'visible');
      await waitSeen(page, 'both', 3);
      await sleep(QUIET_MS);
      assert.equal(sse.connections.length, 2, 'one reconnect when visible');
      assert.equal(sse.connections[1].headers.lastEventId, '2');
      const snap = await snapshot(page, 'both');
      assert.deepEqual(seqs(snap), [1, 2, 3]);
      assert.deepEqual(delays(snap).filter((ms) => ms > 0), [], 'backoff delays');
      await closeStream(page, 'both');
      assertCleanPage(report);
    } finally {
      await context.close();
    }
  });
});

describe('without the options (fetch transport)', { timeout: 90_000 }, () => {
  test('a hidden page keeps its connection and its notifications', async () => {
    sse.reset();
    sse.publish(lightweight(1));
    const { page, context, report } = await openPage();
    try {
      await setVisibility(page, 'hidden'); // hidden from the start...
      await start(page, 'plain', { heartbeatTimeoutMs: 0, reconnect: LONG_BACKOFF });
      await waitSeen(page, 'plain', 1);
      sse.publish(lightweight(2));
      await waitSeen(page, 'plain', 2);
      await setVisibility(page, 'visible'); // ...and hidden again later
      await setVisibility(page, 'hidden');
      sse.publish(lightweight(3));
      await waitSeen(page, 'plain', 3);
      await sleep(QUIET_MS);
      assert.equal(sse.connections.length, 1, 'one connection throughout');
      assert.equal(sse.openConnections, 1, 'still connected while hidden');
      const snap = await snapshot(page, 'plain');
      assert.deepEqual(seqs(snap), [1, 2, 3]);
      assert.deepEqual(snap.states.map((s) => s.state), ['open']);
      await closeStream(page, 'plain');
      assertCleanPage(report);
    } finally {
      await context.close();
    }
  });

  test('back online changes nothing: the stream waits out its backoff, which doubles per failure', async () => {
    sse.reset();
    // Two connections end after one event; the third asks for a 60 s retry and ends too.
    sse.configure({ endAfter: 1 }, { next: 2 });
    sse.configure({ endAfter: 1, retry: 60_000 }, { next: 1 });
    for (let seq = 1; seq <= 4; seq++) sse.publish(lightweight(seq));
    const { page, context, report } = await openPage();
    try {
      await start(page, 'no-online', { heartbeatTimeoutMs: 0, reconnect: { initialDelayMs: 300, maxDelayMs: 240_000 } });
      await eventually(async () => assert.equal(delays(await snapshot(page, 'no-online')).length, 3));
      await offlineThenOnline(context, page);
      await sleep(QUIET_MS);
      assert.equal(sse.connections.length, 3, 'reconnected on online without reconnectOnOnline');
      const snap = await snapshot(page, 'no-online');
      // initialDelayMs · 2^n, then the server's retry on top.
      assert.deepEqual(delays(snap), [300, 600, 60_000 + 1_200]);
      assert.deepEqual(seqs(snap), [1, 2, 3]);
      assert.deepEqual(sse.connections.map((c) => c.headers.lastEventId), [null, '1', '2']);
      await closeStream(page, 'no-online');
      assertCleanPage(report);
    } finally {
      await context.close();
    }
  });
});
