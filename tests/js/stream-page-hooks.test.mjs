// NotificationStream's opt-in page hooks in headless Chromium, against the real SSE server
// (sse-server.mjs) behind the same-origin front (stream-browser-server.mjs):
//
// - `pauseWhenHidden`: no connection while `document.visibilityState` is 'hidden' (the live one
//   is closed, none is opened), one reconnect with Last-Event-ID as soon as the page is
//   visible again, without waiting out a backoff;
// - `reconnectOnOnline`: while it waits to reconnect after a failure, the window's `online`
//   event makes the stream reconnect at once and forget its backoff.
//
// Headless Chromium never hides a page (see setVisibility in stream-browser-page.mjs), so
// visibility is faked on the document; going offline and back online is Chromium's own network
// emulation (context.setOffline), which fires the real `offline` and `online` events.
// Every reconnect delay is made exact by pinning the page's Math.random (the jitter's source)
// to just under 1: a delay is then exactly the server's retry plus initialDelayMs · 2^failures,
// so a test can tell a reset backoff from a doubled one, and a reconnect that comes at once
// from one that waited. Everything else is judged by the server's connection log.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sleep, range, eventually as poll } from './waits.mjs';
import { lightweight } from './sse-server.mjs';
import { useStreamBrowser } from './stream-browser-setup.mjs';

// How long to watch for a reconnect that must not happen: one that skips a pause or a
// backoff by mistake comes within milliseconds.
const QUIET_MS = 800;
// What "at once" means on a loaded 2-core machine: far below every delay it is compared with.
const PROMPT_MS = 10_000;

// Slow conditions here (a browser, reconnect delays): a longer default wait.
const eventually = (check, timeoutMs = 15_000) => poll(check, timeoutMs);

let sse;
const openStreamPage = useStreamBrowser((started) => ({ sse } = started));

/**
 * A fresh page with edgesaga loaded, the jitter pinned (see the top of the file) and a log of
 * the window's `online`/`offline` events; `report` collects uncaught exceptions and console
 * messages.
 */
function openPage() {
  return openStreamPage({
    prepare: (page) => page.evaluate(() => {
      Math.random = () => 1 - 2 ** -40;
      window.pageEvents = [];
      for (const type of ['online', 'offline']) {
        addEventListener(type, () => window.pageEvents.push({ type, onLine: navigator.onLine, at: performance.now() }));
      }
    }),
  });
}

/**
 * No uncaught exception, and no console message but Chromium's own "Failed to load resource"
 * for the requests the test failed on purpose (cut by the server, or made while offline).
 */
function assertCleanPage(report) {
  assert.deepEqual(report.pageErrors, [], 'uncaught exceptions in the page');
  const unexpected = report.console.filter((m) =>
    !/^error: Failed to load resource: net::(ERR_INCOMPLETE_CHUNKED_ENCODING|ERR_INTERNET_DISCONNECTED)$/.test(m));
  assert.deepEqual(unexpected, [], 'console errors or warnings');
}

const start = (page, name, options, extra = {}) =>
  page.evaluate(([n, o, x]) => window.streamTest.start(n, o, x), [name, options, extra]);
const snapshot = (page, name) => page.evaluate((n) => window.streamTest.snapshot(n), name);
const setVisibility = (page, state) => page.evaluate((s) => window.streamTest.setVisibility(s), state);
const seqs = (snap) => snap.seen.map((n) => n.seq);
const waitSeen = (page, name, count) =>
  page.waitForFunction(([n, c]) => window.streamTest.count(n) >= c, [name, count], { timeout: 15_000, polling: 20 });
/** The `connecting` states' delays: one per reconnect the stream scheduled after a failure. */
const delays = (snap) => snap.states.filter((s) => s.state === 'connecting').map((s) => s.delayMs);

/** Closes the stream and checks that it left no connection behind and did not reconnect. */
async function closeStream(page, name) {
  await page.evaluate((n) => window.streamTest.close(n), name);
  await eventually(() => assert.equal(sse.openConnections, 0, 'connections left open after close()'));
  const count = sse.connections.length;
  await sleep(100);
  assert.equal(sse.connections.length, count, 'a closed stream reconnected');
}

/** Network down and back up, as Chromium's network emulation does it: real events. */
async function offlineThenOnline(context, page) {
  await context.setOffline(true);
  await eventually(async () => assert.equal(await page.evaluate(() => navigator.onLine), false));
  const before = await page.evaluate(() => window.pageEvents.length);
  const at = Date.now();
  await context.setOffline(false);
  await eventually(async () =>
    assert.deepEqual((await page.evaluate(() => window.pageEvents)).slice(before).map((e) => e.type), ['online']));
  return at;
}

// A backoff no test waits out: with the jitter pinned, a reconnect after a failure waits
// exactly 60 s, so one that comes within PROMPT_MS did not wait for it.
const LONG_BACKOFF = { initialDelayMs: 60_000, maxDelayMs: 60_000 };

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
