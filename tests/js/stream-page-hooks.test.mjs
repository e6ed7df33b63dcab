// NotificationStream's `pauseWhenHidden` page hook in headless Chromium, against the real SSE
// server (sse-server.mjs) behind the same-origin front (stream-browser-server.mjs): no
// connection while `document.visibilityState` is 'hidden' (the live one is closed, none is
// opened), one reconnect with Last-Event-ID as soon as the page is visible again, without
// waiting out a backoff. `reconnectOnOnline`, both hooks together and neither are in
// stream-page-hooks-online.test.mjs; the setup both files share is page-hooks-setup.mjs.
//
// Headless Chromium never hides a page (see setVisibility in stream-browser-page.mjs), so
// visibility is faked on the document. Reconnect delays are exact (the page's jitter is
// pinned, see page-hooks-setup.mjs); everything else is judged by the server's connection log.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sleep, range } from './waits.mjs';
import { lightweight } from './sse-server.mjs';
import {
  usePageHooks, QUIET_MS, PROMPT_MS, LONG_BACKOFF, eventually, assertCleanPage,
  start, snapshot, setVisibility, seqs, waitSeen, delays,
} from './page-hooks-setup.mjs';

let sse;
const { openPage, closeStream } = usePageHooks((started) => ({ sse } = started));

describe('pauseWhenHidden (fetch transport)', { timeout: 90_000 }, () => {
  test('hidden: the connection closes and none opens; visible: one reconnect from Last-Event-ID, no backoff, nothing lost or duplicated', async () => {
    sse.reset();
    // Every reconnect also replays the 2 events before Last-Event-ID: the stream must drop them.
    sse.configure({ duplicates: 2 });
    for (let seq = 1; seq <= 3; seq++) sse.publish(lightweight(seq));
    const { page, context, report } = await openPage();
    try {
      await start(page, 'pause', { pauseWhenHidden: true, heartbeatTimeoutMs: 0, reconnect: LONG_BACKOFF });
      await waitSeen(page, 'pause', 3);
      assert.equal(sse.connections.length, 1);
      let seq = 3;
      for (let cycle = 1; cycle <= 2; cycle++) {
        const lastBefore = (await snapshot(page, 'pause')).lastEventId;
        assert.equal(lastBefore, String(seq));
        assert.equal(await setVisibility(page, 'hidden'), 'hidden');
        await eventually(() => assert.equal(sse.openConnections, 0, 'still connected while hidden'));
        assert.equal(sse.connections.at(-1).endedBy, 'client', 'closed by the page');
        // Published while hidden: kept by the server for the next connection.
        for (let i = 0; i < 3; i++) sse.publish(lightweight(++seq));
        await sleep(QUIET_MS);
        assert.equal(sse.connections.length, cycle, 'reconnected while hidden');
        assert.equal(await page.evaluate(() => window.streamTest.count('pause')), seq - 3, 'delivered while hidden');

        const shownAt = Date.now();
        await setVisibility(page, 'visible');
        await eventually(() => assert.equal(sse.connections.length, cycle + 1, 'no reconnect when visible'), PROMPT_MS);
        const conn = sse.connections.at(-1);
        assert.ok(conn.startedAt - shownAt < PROMPT_MS, `reconnected ${conn.startedAt - shownAt} ms after visible`);
        assert.equal(conn.headers.lastEventId, lastBefore, 'Last-Event-ID of the reconnect');
        assert.deepEqual(conn.replayed, range(seq - 4, seq).map(String), '2 duplicates, then the 3 missed');
        await waitSeen(page, 'pause', seq);
      }
      sse.publish(lightweight(++seq)); // live, on the last connection
      await waitSeen(page, 'pause', seq);
      await sleep(150); // a late duplicate would land here

      const snap = await snapshot(page, 'pause');
      assert.deepEqual(seqs(snap), range(1, seq), 'every notification once, in order');
      assert.deepEqual(snap.seen.map((n) => n.id), range(1, seq).map(String));
      assert.equal(snap.lastEventId, String(seq));
      assert.deepEqual(snap.errors, []);
      assert.deepEqual(snap.deadLetters, []);
      assert.equal(snap.readyState, 1);
      // A pause is no failure: no backoff was scheduled for it (it would have said 60 000 ms).
      assert.deepEqual(delays(snap).filter((ms) => ms > 0), [], 'backoff delays');
      assert.equal(sse.connections.length, 3, 'one connection per visible period');
      await closeStream(page, 'pause');
      assertCleanPage(report);
    } finally {
      await context.close();
    }
  });

  test('a page already hidden when the stream opens does not connect until it is visible', async () => {
    sse.reset();
    for (let seq = 1; seq <= 2; seq++) sse.publish(lightweight(seq));
    const { page, context, report } = await openPage();
    try {
      await setVisibility(page, 'hidden');
      assert.equal(await start(page, 'hidden-first', { pauseWhenHidden: true, heartbeatTimeoutMs: 0, reconnect: LONG_BACKOFF }), 0);
      await sleep(QUIET_MS);
      assert.equal(sse.connections.length, 0, 'connected while hidden');
      let snap = await snapshot(page, 'hidden-first');
      assert.equal(snap.readyState, 0, 'CONNECTING while it waits to be visible');
      assert.deepEqual(snap.seen, []);

      const shownAt = Date.now();
      await setVisibility(page, 'visible');
      await eventually(() => assert.equal(sse.connections.length, 1, 'no connection when visible'), PROMPT_MS);
      assert.ok(sse.connections[0].startedAt - shownAt < PROMPT_MS);
      assert.equal(sse.connections[0].headers.lastEventId, null);
      await waitSeen(page, 'hidden-first', 2);

      // And the hooks work from there on as for a page that started visible.
      await setVisibility(page, 'hidden');
      await eventually(() => assert.equal(sse.openConnections, 0, 'still connected while hidden'));
      sse.publish(lightweight(3));
      await sleep(QUIET_MS);
      assert.equal(sse.connections.length, 1, 'reconnected while hidden');
      await setVisibility(page, 'visible');
      await waitSeen(page, 'hidden-first', 3);
      assert.equal(sse.connections.length, 2);
      assert.equal(sse.connections[1].headers.lastEventId, '2');

      snap = await snapshot(page, 'hidden-first');
      assert.deepEqual(seqs(snap), [1, 2, 3]);
      assert.deepEqual(snap.errors, []);
      await closeStream(page, 'hidden-first');
      assertCleanPage(report);
    } finally {
      await context.close();
    }
  });

  test('hidden while an async headers provider runs: the connection it was about to open is not opened', async () => {
    sse.reset();
    sse.publish(lightweight(1));
    const { page, context, report } = await openPage();
    try {
      await start(page, 'headers', { pauseWhenHidden: true, heartbeatTimeoutMs: 0, reconnect: LONG_BACKOFF }, { headersDelayMs: 600 });
      await setVisibility(page, 'hidden'); // the provider is still running
      await sleep(600 + QUIET_MS);
      // The fetch is aborted as soon as it starts, but its request often reaches the server
      // all the same; when the abort lands just as the response headers arrive, Chromium keeps
      // the socket for up to 5 s (measured) before it closes it. The page never sees a byte.
      await eventually(() => assert.equal(sse.openConnections, 0, 'connected while hidden'), 10_000);
      assert.ok(sse.connections.length <= 1, `${sse.connections.length} requests while hidden`);
      assert.ok(sse.connections.every((c) => c.endedBy === 'client'), JSON.stringify(sse.connections));
      const count = sse.connections.length;
      await sleep(QUIET_MS);
      assert.equal(sse.connections.length, count, 'reconnected while hidden');
      let snap = await snapshot(page, 'headers');
      assert.deepEqual(snap.seen, [], 'delivered while hidden');
      assert.equal(snap.readyState, 0, 'never open');
      assert.deepEqual(snap.errors, [], 'a pause is no error');

      await setVisibility(page, 'visible');
      await waitSeen(page, 'headers', 1);
      assert.equal(sse.connections.length, count + 1);
      assert.equal(sse.openConnections, 1);
      snap = await snapshot(page, 'headers');
      assert.deepEqual(seqs(snap), [1]);
      assert.deepEqual(delays(snap).filter((ms) => ms > 0), [], 'backoff delays');
      await closeStream(page, 'headers');
      assertCleanPage(report);
    } finally {
      await context.close();
    }
  });

  test('hidden and visible again while a handler is still busy: the pause ends in a reconnect at once, not a backoff', async () => {
    sse.reset();
    sse.publish(lightweight(1));
    const { page, context, report } = await openPage();
    try {
      await start(page, 'busy', { pauseWhenHidden: true, heartbeatTimeoutMs: 0, reconnect: LONG_BACKOFF }, { handlerDelayMs: 4000 });
      await waitSeen(page, 'busy', 1); // the slow handler has 4 s to go
      await setVisibility(page, 'hidden');
      await eventually(() => assert.equal(sse.openConnections, 0, 'still connected while hidden'));
      await setVisibility(page, 'visible');
      // The stream only learns that its connection ended once the handler is done: the page is
      // visible by then, yet that end was the pause's doing, not a failure to back off from.
      assert.equal(await page.evaluate(() => window.slowHandlerBusy), true, 'the handler was done too soon');
      await eventually(() => assert.equal(sse.connections.length, 2, 'no reconnect'), 4000 + PROMPT_MS);
      assert.equal(sse.connections[1].headers.lastEventId, '1');
      sse.publish(lightweight(2));
      await waitSeen(page, 'busy', 2);
      const snap = await snapshot(page, 'busy');
      assert.deepEqual(seqs(snap), [1, 2]);
      assert.deepEqual(delays(snap).filter((ms) => ms > 0), [], 'backoff delays');
      await closeStream(page, 'busy');
      assertCleanPage(report);
    } finally {
      await context.close();
    }
  });
});
