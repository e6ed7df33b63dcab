// Replays that begin with the very event the client had last. The browser's EventSource hands an
// event over with the *last event ID*, not saying whether the event carried an `id:` line of its
// own, so the stream has to tell a replayed event from an id-less one that merely inherits the id.
// A reconnect whose replay starts at Last-Event-ID itself (an at-least-once server does this)
// once slipped through as a second delivery; these tests pin it down for both transports, over
// the real SSE server and in headless Chromium.

import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { sleep, range, eventually } from './waits.mjs';
import { lightweight } from './sse-server.mjs';
import { useStreamBrowser } from './stream-browser-setup.mjs';

const TRANSPORTS = ['eventsource', 'fetch'];
const streamOptions = (transport) =>
  transport === 'fetch' ? { reconnect: { initialDelayMs: 1, maxDelayMs: 20 } } : { transport: 'eventsource' };

let sse;
let front;
const openPage = useStreamBrowser((started) => ({ sse, front } = started));

/** Runs `start` in a fresh page until `count` notifications arrived (plus a grace period). */
async function delivered(start, count) {
  const { page, context } = await openPage();
  try {
    await page.evaluate(start);
    await page.waitForFunction((n) => window.streamTest.count('replays') >= n, count, { timeout: 15_000, polling: 20 });
    await sleep(200); // a late duplicate would land here
    const snap = await page.evaluate(() => window.streamTest.snapshot('replays'));
    await page.evaluate(() => window.streamTest.close('replays'));
    await eventually(() => assert.equal(sse.openConnections, 0));
    return snap;
  } finally {
    await context.close();
  }
}

for (const transport of TRANSPORTS) {
  describe(`Chromium, ${transport} transport: replays from Last-Event-ID itself`, { timeout: 45_000 }, () => {
    test('3 cuts, each reconnect replaying the last event delivered first: 12 notifications, each once', async () => {
      sse.reset();
      // Every reconnect replays from the event named by Last-Event-ID, inclusive; the first 3
      // connections are cut inside their 4th event.
      sse.configure({ retry: 25, duplicates: 1 });
      sse.configure({ dropAfter: 3 }, { next: 3 });
      for (let seq = 1; seq <= 12; seq++) sse.publish(lightweight(seq));
      const snap = await delivered(
        `window.streamTest.start('replays', ${JSON.stringify(streamOptions(transport))})`, 12);
      assert.equal(sse.drops, 3, 'connections cut mid-event');
      const replays = sse.connections.slice(1);
      assert.ok(replays.length >= 3, `connections: ${sse.connections.length}`);
      for (const conn of replays) {
        // (Without an id, e.g. when Chromium dropped the cut body's bytes, from the start.)
        assert.equal(conn.replayed[0], conn.headers.lastEventId ?? '1', 'the replay begins with the last event the client had');
      }
      assert.deepEqual(snap.seen.map((n) => n.seq), range(1, 12), 'delivered once each, in order');
      assert.deepEqual(snap.deadLetters, []);
    });
  });

  describe(`Chromium, ${transport} transport: a repeated event next to an id-less one`, { timeout: 20_000 }, () => {
    // b1 twice in a row is one notification; the id-less events after it inherit "b1" as their
    // lastEventId and are new ones, also two with the same payload (only an id tells duplicates).
    const one = JSON.stringify(lightweight(1));
    const two = JSON.stringify(lightweight(2));
    const body = [
      `id: b1\ndata: ${one}\n\n`,
      `id: b1\ndata: ${one}\n\n`,
      `data: ${two}\n\n`,
      `data: ${two}\n\n`,
      `data: ${JSON.stringify(lightweight(3))}\n\n`,
      `id: b4\ndata: ${JSON.stringify(lightweight(4))}\n\n`,
    ].join('');
    let snap;
    before(async () => {
      front.setStaticBody(body);
      snap = await delivered(
        `window.streamTest.start('replays', ${JSON.stringify(streamOptions(transport))}, { path: '/static-events' })`, 5);
    });

    test('delivered once each, in order, with their own ids', () => {
      assert.deepEqual(snap.seen.map((n) => [n.seq, n.id]), [[1, 'b1'], [2, null], [2, null], [3, null], [4, 'b4']]);
    });
  });
}
