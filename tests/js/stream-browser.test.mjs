// NotificationStream (pkg/) in headless Chromium, over both transports — the browser's native
// EventSource and the default fetch stream — against the real SSE server (sse-server.mjs)
// behind a same-origin proxy (stream-browser-server.mjs). The page loads the package as an app
// does (`await init()`), the server cuts connections mid-event and replays duplicates, and the
// tests check what the page's handlers saw against what the server published and logged.
// The page must also stay clean: no console error, no uncaught exception, no failed request
// other than the ones the test caused on purpose (connections the server cut, or close()).
//
// Each transport's scenario runs once (in `before`); the tests below it judge one aspect each.

import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { sleep, range, eventually } from './waits.mjs';
import { lightweight, envelope, POISON, UNICODE } from './sse-server.mjs';
import { useStreamBrowser } from './stream-browser-setup.mjs';

const RESULTS = new URL('../../test-results/', import.meta.url);
const TRANSPORTS = ['eventsource', 'fetch'];
// The errors Chromium gives a request the server cut mid-body, or that close() aborted.
const CUT_OR_ABORTED = /ERR_INCOMPLETE_CHUNKED_ENCODING|ERR_ABORTED|ERR_EMPTY_RESPONSE|ERR_CONNECTION_RESET/;


let sse;
let front;
const openStreamPage = useStreamBrowser((started) => ({ sse, front } = started));

/**
 * A fresh page on the front server with edgesaga loaded, and everything it reported:
 * console errors and warnings, uncaught exceptions, failed requests, HTTP errors.
 */
function openPage() {
  return openStreamPage({
    contextOptions: { viewport: { width: 1000, height: 900 } },
    watch(page, report) {
      report.failed = [];
      report.httpErrors = [];
      page.on('requestfailed', (request) => {
        report.failed.push({ path: new URL(request.url()).pathname, error: request.failure()?.errorText ?? null });
      });
      page.on('response', (response) => {
        if (response.status() >= 400) report.httpErrors.push(`${response.status()} ${response.url()}`);
      });
    },
  });
}

/**
 * What a clean page reported: no exception, no HTTP error, no failed request but on `paths`,
 * and those only cut or aborted on purpose. Chromium logs each connection a server cut
 * mid-body as a console error ("Failed to load resource: net::ERR_INCOMPLETE_CHUNKED_ENCODING");
 * up to `cuts` of those are the test's own doing, any other console error or warning is not.
 */
function assertCleanPage(report, { cuts = 0, paths = ['/events'] }) {
  assert.deepEqual(report.pageErrors, [], 'uncaught exceptions in the page');
  assert.deepEqual(report.httpErrors, [], 'HTTP errors');
  const cutLogged = report.console.filter((m) => m === 'error: Failed to load resource: net::ERR_INCOMPLETE_CHUNKED_ENCODING');
  assert.deepEqual(report.console.filter((m) => !cutLogged.includes(m)), [], 'console errors or warnings');
  assert.deepEqual(report.failed.filter((f) => !paths.includes(f.path)), [], 'failed requests');
  const onPurpose = report.failed.filter((f) => paths.includes(f.path));
  const cut = onPurpose.filter((f) => f.error === 'net::ERR_INCOMPLETE_CHUNKED_ENCODING');
  assert.ok(cut.length <= cuts, `${cut.length} requests cut, the server cut ${cuts}`);
  assert.equal(cutLogged.length, cut.length, 'console errors without a cut request');
  // close() aborts the last one.
  assert.ok(onPurpose.length - cut.length <= 1, `failed ${paths} requests: ${JSON.stringify(onPurpose)}`);
  for (const f of onPurpose) assert.match(f.error, CUT_OR_ABORTED, JSON.stringify(f));
}

const streamOptions = (transport) =>
  transport === 'fetch'
    ? { reconnect: { initialDelayMs: 1, maxDelayMs: 20 } } // the default transport
    : { transport: 'eventsource' };

/**
 * The scenario: 20 notifications (both wire forms) and one malformed payload, through 3
 * connections cut mid-event and reconnects that replay duplicates. Returns what the page and
 * the server saw.
 */
async function runScenario(transport) {
  sse.reset();
  const { page, context, report } = await openPage();
  try {
    // Every connection asks for a 25 ms retry and, on a reconnect, replays the last 2 events the
    // client already has. The first 3 connections are cut part-way through their 6th event, in
    // small random chunks (cuts inside CRLF and multibyte characters included).
    sse.configure({ retry: 25, duplicates: 2 });
    sse.configure({ dropAfter: 5, chunks: { min: 1, max: 16 } }, { next: 3 });
    const published = [];
    const ids = new Map();
    const pub = (seq) => {
      published.push(seq);
      ids.set(seq, sse.publish(seq % 2 ? lightweight(seq) : envelope(seq)));
    };
    for (let seq = 1; seq <= 10; seq++) pub(seq); // history, replayed by the first connection

    const initialReadyState = await page.evaluate(([o]) => window.streamTest.start('run', o), [streamOptions(transport)]);
    const waitCount = (n) =>
      page.waitForFunction((n) => window.streamTest.count('run') >= n, n, { timeout: 15_000, polling: 20 });
    await waitCount(10);
    // Live, with the malformed one after 15 (the last cut may fall among these).
    let poisonId;
    for (let seq = 11; seq <= 20; seq++) {
      pub(seq);
      if (seq === 15) poisonId = sse.publish(POISON.malformedJson);
      await sleep(15);
    }
    await waitCount(20);
    await sleep(150); // a late duplicate would land here

    const running = await page.evaluate(() => window.streamTest.snapshot('run'));
    await mkdir(RESULTS, { recursive: true });
    await page.screenshot({ path: new URL(`stream-browser-${transport}.png`, RESULTS).pathname, fullPage: true });
    const readyStateAfterClose = await page.evaluate(() => window.streamTest.close('run'));
    await eventually(async () => assert.equal((await page.evaluate(() => window.streamTest.snapshot('run'))).readyState, 2));
    await eventually(() => assert.equal(sse.openConnections, 0, 'connections left open after close()'));
    await sleep(200); // a reconnect after close() would land here
    const closed = await page.evaluate(() => window.streamTest.snapshot('run'));
    return {
      published, ids, poisonId, initialReadyState, running, readyStateAfterClose, closed, report,
      connections: structuredClone(sse.connections), drops: sse.drops,
    };
  } finally {
    await context.close();
  }
}

for (const transport of TRANSPORTS) {
  describe(`Chromium, ${transport} transport`, { timeout: 45_000 }, () => {
    let r;
    before(async () => {
      r = await runScenario(transport);
    });

    test('3 forced disconnects and duplicate replays: every notification delivered once, in order, intact', () => {
      const { running, published, ids } = r;
      assert.deepEqual(published, range(1, 20));
      assert.deepEqual(running.seen.map((n) => n.seq), published, 'delivered once each, in order');
      assert.deepEqual(running.seen.map((n) => n.id), published.map((s) => ids.get(s)));
      assert.deepEqual(running.seen.map((n) => n.type),
        published.map((s) => (s % 2 ? 'order.status_changed' : 'payment.processed')));
      assert.deepEqual(running.seen.map((n) => n.entityId), published.map((s) => `order-${s}`));
      assert.ok(running.seen.every((n) => n.note === UNICODE), 'multibyte text survived the chunk cuts');
      assert.ok(running.seen.every((n) => n.readyState === 1), 'handlers ran while OPEN');
      assert.equal(r.drops, 3, 'connections cut mid-event');
      assert.ok(running.reconnects >= 3, `reconnects = ${running.reconnects}`);
    });

    test('malformed JSON is dead-lettered with a NotificationSchemaError; the stream goes on', () => {
      const { running, poisonId } = r;
      assert.deepEqual(running.deadLetters.map((d) => [d.reason, d.id, d.errorName, d.errorIsError, d.raw]),
        [['schema', poisonId, 'NotificationSchemaError', true, POISON.malformedJson]]);
      // onError hears of the dead letter too, and of nothing else (no SseProtocolError).
      assert.deepEqual(running.errors.map((e) => e.name), ['NotificationSchemaError'], 'onError');
      assert.equal(running.protocolErrors, 0);
      assert.deepEqual(running.seen.map((n) => n.seq).slice(14, 16), [15, 16], 'delivery went on past it');
    });

    test('each reconnect sends Last-Event-ID: the last event delivered, never the cut one; duplicates follow', () => {
      const conns = r.connections;
      const reconnects = r.running.states.filter((s) => s.state === 'connecting');
      assert.equal(conns.length, 4, `connections: ${conns.length}`);
      assert.ok(conns.every((c) => c.headers.accept === 'text/event-stream'), 'Accept: text/event-stream');
      assert.equal(conns[0].headers.lastEventId, null);
      for (let i = 1; i < conns.length; i++) {
        const [prev, conn] = [conns[i - 1], conns[i]];
        const id = conn.headers.lastEventId;
        // What the page had delivered when the connection dropped (a later reconnect attempt
        // that never reached the server can shift this pairing under load, hence `>=`)...
        assert.ok(Number(id ?? 0) <= Number(reconnects.at(-1).lastIdSeen ?? 0), `Last-Event-ID of connection ${i}`);
        // ...and always an event the server wrote whole, never the cut one, even when its `id:`
        // line had arrived. Not always the last one written whole: when the socket is cut,
        // Chromium errors the response at once and drops the bytes it had not handed to the
        // page yet (a fetch body's queued chunks go with error(), as the Streams spec says;
        // EventSource does the same under load), so the page resumes from an earlier event.
        const possible = [prev.headers.lastEventId, ...prev.events];
        assert.ok(possible.includes(id), `Last-Event-ID ${id} of connection ${i}: not one of ${possible}`);
        assert.notEqual(id, prev.partial, 'the id of the event cut short');
        const firstReplayed = id === null ? 1 : Math.max(1, Number(id) - 1); // from the start without an id
        assert.equal(conn.replayed[0], String(firstReplayed), 'duplicates replayed');
      }
    });

    test('stream.lastEventId follows the delivered events', {
    }, () => {
      assert.equal(r.running.lastEventId, r.ids.get(20));
    });

    test('readyState: CONNECTING at first, OPEN, back through CONNECTING once per cut, CLOSED after close()', () => {
      const { running, closed } = r;
      assert.equal(r.initialReadyState, 0, 'readyState right after new');
      assert.equal(running.readyState, 1);
      assert.deepEqual(running.states.map((s) => s.state),
        ['open', 'connecting', 'open', 'connecting', 'open', 'connecting', 'open']);
      assert.deepEqual(running.states.map((s) => s.readyState), [1, 0, 1, 0, 1, 0, 1], 'readyState inside onStateChange');
      if (transport === 'fetch') {
        // The fetch transport schedules its reconnects: never sooner than the server's retry,
        // once it has seen it (it comes first on every connection, before any event).
        const afterFirstEvent = running.states.filter((s) => s.state === 'connecting' && running.seen[0]?.at < s.at);
        assert.ok(afterFirstEvent.length >= 1, 'no reconnect came after the first event');
        for (const s of afterFirstEvent) {
          assert.ok(s.delayMs >= 25, `reconnect delay ${s.delayMs} ms < the server's retry: 25`);
        }
      }
      assert.equal(closed.readyState, 2);
      assert.deepEqual(closed.states.slice(running.states.length).map((s) => [s.state, s.readyState]), [['closed', 2]]);
    });

    test('readyState is CLOSED as soon as close() returns (as EventSource.close() does)', {
    }, () => {
      assert.equal(r.readyStateAfterClose, 2);
    });

    test('close() ends the connection for good: no reconnect, ended by the client', () => {
      assert.equal(r.connections.length, 4, 'a closed stream reconnected');
      assert.equal(r.connections.at(-1).endedBy, 'client');
      assert.equal(r.closed.seen.length, 20);
    });

    test('the page stayed clean: no console error, no exception, only the cut /events requests failed', (t) => {
      assertCleanPage(r.report, { cuts: r.drops });
      t.diagnostic(`failed on purpose: ${JSON.stringify(r.report.failed.map((f) => `${f.path} ${f.error}`))}`);
    });
  });
}

// Events without an `id:` line keep the previous id as their lastEventId; they are not
// duplicates of the event that set it, and their Notification.id is null (entityId too, for a
// payload without one). The SSE server always
// writes ids, so this uses the front server's fixed /static-events body.
for (const transport of TRANSPORTS) {
  describe(`Chromium, ${transport} transport: events without their own id`, { timeout: 20_000 }, () => {
    const body = [
      `id: a1\ndata: ${JSON.stringify(lightweight(1))}\n\n`,
      `data: ${JSON.stringify(lightweight(2))}\n\n`,
      `id: a3\ndata: ${JSON.stringify(lightweight(3))}\n\n`,
      `data: ${JSON.stringify(lightweight(4))}\n\n`,
      `id: a5\ndata: ${JSON.stringify({ type: 'system.ping', metadata: { seq: 5, note: UNICODE } })}\n\n`, // no entityId
    ].join('');
    let snap;
    let report;
    before(async () => {
      front.setStaticBody(body);
      const opened = await openPage();
      report = opened.report;
      const { page, context } = opened;
      try {
        await page.evaluate(([o]) => window.streamTest.start('static', o, { path: '/static-events' }), [streamOptions(transport)]);
        await page.waitForFunction(() => window.streamTest.snapshot('static').seen.some((n) => n.seq === 5), null,
          { timeout: 10_000, polling: 20 });
        await sleep(100);
        snap = await page.evaluate(() => window.streamTest.snapshot('static'));
        await page.evaluate(() => window.streamTest.close('static'));
        await sleep(50);
      } finally {
        await context.close();
      }
    });

    test('all five are delivered, in order', {
    }, () => {
      assert.deepEqual(snap.seen.map((n) => n.seq), [1, 2, 3, 4, 5]);
      assert.deepEqual(snap.deadLetters, []);
    });

    test('Notification.id is the event\'s own id, null without one', {
    }, () => {
      assert.deepEqual(snap.seen.map((n) => [n.seq, n.id]), [[1, 'a1'], [2, null], [3, 'a3'], [4, null], [5, 'a5']]);
    });

    test('Notification.entityId is null when the payload has none', {
    }, () => {
      const ping = snap.seen.find((n) => n.seq === 5);
      assert.deepEqual([ping.type, ping.entityId], ['system.ping', null]);
    });

    test('the page stayed clean', () => assertCleanPage(report, { paths: ['/static-events'] }));
  });
}

// A store seeded with a resume point: the first request must carry it as Last-Event-ID, so a
// reload resumes instead of replaying what the handlers already had.
describe('Chromium: a stored lastEventId resumes the stream', () => {
  test('eventsource transport refuses a store (EventSource cannot send Last-Event-ID first)', { timeout: 20_000 }, async () => {
    const { page, context } = await openPage();
    try {
      await assert.rejects(
        page.evaluate(([o]) => window.streamTest.start('stored', o, { stored: { feed: '5' } }),
          [{ ...streamOptions('eventsource'), storeKey: 'feed' }]),
        /options\.transport: 'eventsource' cannot resume/);
    } finally {
      await context.close();
    }
  });
  for (const transport of TRANSPORTS.filter((t) => t !== 'eventsource')) {
    test(`${transport} transport`, {
      timeout: 20_000,
    }, async () => {
      sse.reset();
      for (let seq = 1; seq <= 7; seq++) sse.publish(lightweight(seq));
      const { page, context, report } = await openPage();
      try {
        await page.evaluate(([o]) => window.streamTest.start('stored', o, { stored: { feed: '5' } }),
          [{ ...streamOptions(transport), storeKey: 'feed' }]);
        await page.waitForFunction(() => window.streamTest.count('stored') >= 2, null, { timeout: 10_000, polling: 20 });
        await sleep(200);
        const s = await page.evaluate(() => window.streamTest.snapshot('stored'));
        await page.evaluate(() => window.streamTest.close('stored'));
        assert.deepEqual(s.seen.map((n) => n.seq), [6, 7]);
        assert.equal(sse.connections[0].headers.lastEventId, '5');
        assert.deepEqual(s.storeWrites.at(-1), ['feed', '7']);
        await eventually(() => assert.equal(sse.openConnections, 0));
        assertCleanPage(report, {});
      } finally {
        await context.close();
      }
    });
  }
});
