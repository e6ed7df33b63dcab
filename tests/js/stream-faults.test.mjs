// NotificationStream (pkg/) over a hostile transport: the real local SSE server in
// sse-server.mjs drops connections mid-event, splits chunks, changes line endings, sends
// retry, bad statuses, duplicates, a 64 MiB line, silence, and demands tokens. Each test judges
// the stream by what handlers saw *and* by what the server logged (connections, Last-Event-ID,
// Authorization). Timing is asserted only to an order of magnitude; goals belong in benchmarks.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lightweight, envelope, UNICODE, MiB } from './sse-server.mjs';
import { setup, sleep, eventually, seqOf, range, names, NotificationStream, wasmMemory } from './stream-harness.mjs';

const ctx = setup();
const { open, seen, answered } = ctx;

test('method, body, static headers and lastEventId reach the server; eventsource needs a global', async () => {
  for (let i = 1; i <= 3; i++) ctx.server.publish(lightweight(i));
  const log = open({ method: 'POST', body: '{"topics":["order"]}', headers: { 'x-client': 'test' }, lastEventId: '1' });
  await seen(log, 2);
  await sleep(50);
  assert.deepEqual(log.seen.map(seqOf), [2, 3]);
  const [conn] = ctx.server.connections;
  assert.deepEqual([conn.method, conn.body, conn.headers.lastEventId], ['POST', '{"topics":["order"]}', '1']);
  // Node 20 has no EventSource. The contract is the error's stable `name` (DESIGN.md).
  assert.throws(() => new NotificationStream(ctx.server.url, { transport: 'eventsource' }),
    { name: 'TypeError', message: /options\.transport/ });
});

test('100 forced disconnects mid-event, each reconnect replaying a duplicate: no notification lost or delivered twice', async () => {
  // Every connection asks for a 1 ms retry, replays from the event named by Last-Event-ID
  // inclusive (a duplicate the dedupe window must drop), and is cut part-way through an event
  // after 1–3 events, in random small chunks.
  ctx.server.configure({ retry: 1, duplicates: 1, dropAfter: { min: 1, max: 3 }, chunks: { min: 1, max: 48 } });
  const log = open({ reconnect: { initialDelayMs: 1, maxDelayMs: 5 } });
  const published = [];
  const publish = () => {
    const seq = published.length + 1;
    published.push(seq);
    ctx.server.publish(seq % 3 ? lightweight(seq) : envelope(seq));
  };
  const deadline = Date.now() + 45_000;
  while (ctx.server.drops < 100) {
    assert.ok(Date.now() < deadline, `only ${ctx.server.drops} drops, saw ${log.seen.length}/${published.length}`);
    // Paced by delivery, so the backlog (replayed on every reconnect) stays small.
    if (published.length - log.seen.length < 4) publish();
    await sleep(1);
  }
  ctx.server.configure(null);
  for (let i = 0; i < 3; i++) publish();
  await seen(log, published.length, 20_000);
  await sleep(200); // a late duplicate would land here
  const seqs = log.seen.map(seqOf);
  assert.equal(new Set(seqs).size, seqs.length, 'a notification was delivered twice');
  assert.deepEqual(seqs, published);
  assert.deepEqual(log.seen.map((n) => n.id), published.map(String));

  const conns = ctx.server.connections;
  assert.ok(conns.length >= 101, `${conns.length} connections`);
  assert.ok(log.stream.reconnects >= 100, `reconnects = ${log.stream.reconnects}`);
  let replayedDuplicates = 0;
  for (let i = 1; i < conns.length; i++) {
    // Exactly the last event the client got whole: never the half-written one's id.
    const expected = conns[i - 1].events.at(-1) ?? conns[i - 1].headers.lastEventId;
    assert.equal(conns[i].headers.lastEventId, expected, `connection ${i}`);
    if (expected !== null && conns[i].events.includes(expected)) replayedDuplicates++;
  }
  assert.ok(replayedDuplicates >= 90, `only ${replayedDuplicates} reconnects got a duplicate written whole`);
  assert.deepEqual(log.errors.filter((e) => e.name === 'SseProtocolError'), []);
});

test('chunk splitting, CRLF and CR line endings give the same notifications', async () => {
  const variants = [
    {},
    { chunks: { min: 1, max: 3 } },
    { lineEnding: 'crlf', chunks: { min: 1, max: 4 } },
    { lineEnding: 'cr', chunks: { min: 1, max: 4 } },
    { lineEnding: 'cr' },
  ];
  const results = [];
  for (const faults of variants) {
    ctx.server.reset();
    ctx.server.configure(faults);
    for (let i = 1; i <= 6; i++) ctx.server.publish(i % 2 ? lightweight(i) : envelope(i), { multiline: i === 4 });
    // With CR endings the last event ends in a bare CR and nothing follows: it must dispatch
    // at once, not wait for a byte that might be its LF (eventsource-parser waits there).
    const log = open();
    await seen(log, 6);
    await sleep(30);
    assert.deepEqual(log.errors, [], JSON.stringify(faults));
    results.push(JSON.parse(JSON.stringify(log.seen)));
    log.stream.close();
  }
  for (const [i, result] of results.entries()) assert.deepEqual(result, results[0], JSON.stringify(variants[i]));
  assert.deepEqual(results[0].map(seqOf), range(1, 6));
  assert.equal(results[0][0].metadata.note, UNICODE);
});

test('204 stops the stream: closed, no error, no reconnect', async () => {
  ctx.server.configure({ status: 204 });
  const log = open();
  await eventually(() => assert.equal(log.stream.readyState, 2));
  await sleep(300);
  assert.equal(ctx.server.connections.length, 1);
  assert.deepEqual(log.errors, []);
  assert.equal(log.states.at(-1).state, 'closed');
});

for (const [label, faults, pattern, status] of [
  ['500', { status: 500 }, /500/, 500],
  ['a wrong content type', { contentType: 'text/plain' }, /text\/plain|content.type/i, 200],
  ['401 without a token', { token: 'secret' }, /401/, 401],
]) {
  test(`${label} fails the stream: closed, exactly one error, no reconnect`, async () => {
    ctx.server.configure(faults);
    const log = open();
    await eventually(() => assert.equal(log.stream.readyState, 2));
    await sleep(300);
    assert.equal(ctx.server.connections.length, 1, 'reconnected');
    assert.equal(log.errors.length, 1, `errors: ${log.errors.map(String)}`);
    assert.ok(log.errors[0] instanceof Error);
    assert.match(log.errors[0].message, pattern);
    assert.equal(log.errors[0].name, 'StreamResponseError');
    assert.equal(log.errors[0].status, status);
    assert.deepEqual(log.seen, [], 'the body of a failed response was parsed');
    assert.equal(log.states.at(-1).state, 'closed');
  });
}

test('duplicates replayed by the server are dropped', async () => {
  for (let i = 1; i <= 5; i++) ctx.server.publish(lightweight(i));
  ctx.server.configure({ dropAfter: 3 }, { next: 1 });
  ctx.server.configure({ duplicates: 3 }, { next: 1 });
  const log = open();
  await seen(log, 5);
  await sleep(100);
  assert.deepEqual(ctx.server.connections[1].replayed, ['1', '2', '3', '4', '5'], 'the server did re-send 1..3');
  assert.deepEqual(log.seen.map(seqOf), range(1, 5));
});

test('dedupeWindow bounds the ids remembered: a replay reaching further back is delivered again', async () => {
  const run = async (dedupeWindow) => {
    ctx.server.reset();
    for (let i = 1; i <= 6; i++) ctx.server.publish(lightweight(i));
    ctx.server.configure({ dropAfter: 5 }, { next: 1 }); // cut inside 6, Last-Event-ID: 5
    ctx.server.configure({ duplicates: 4 }, { next: 1 }); // replays 2..6
    const log = open({ dedupeWindow });
    await seen(log, 6);
    await sleep(150);
    log.stream.close();
    assert.deepEqual(ctx.server.connections[1].replayed, ['2', '3', '4', '5', '6']);
    return log.seen.map(seqOf);
  };
  assert.deepEqual(await run(4), range(1, 6), 'a window of 4 holds 2..5');
  // A window of 2 holds only 4 and 5 when 2 comes back, and then only the latest two of the replay.
  assert.deepEqual(await run(2), [...range(1, 5), 2, 3, 4, 5, 6]);
});

test('a 64 MiB line: no crash, bounded memory, SseProtocolError, the next notification arrives', async () => {
  // Warm-up with a raw fetch of the same line: in a cold process the transport alone (undici's
  // chunks, socket buffers) grows rss by ~70 MiB for 64 MiB read, which would measure fetch.
  ctx.server.configure({ hugeLine: 64 * MiB }, { next: 1 });
  let read = 0;
  for await (const chunk of (await fetch(ctx.server.url)).body) if ((read += chunk.length) >= 64 * MiB) break;
  ctx.server.reset();

  ctx.server.configure({ hugeLine: 64 * MiB }, { next: 1 });
  const rss0 = process.memoryUsage().rss;
  const wasm0 = wasmMemory.buffer.byteLength;
  let peak = rss0;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
  try {
    const log = open();
    await answered(1);
    ctx.server.publish(lightweight(1)); // queued behind the huge line on the same connection
    await seen(log, 1, 50_000);
    assert.deepEqual(log.seen.map(seqOf), [1]);
    assert.deepEqual(names(log.errors), ['SseProtocolError']);
    assert.equal(ctx.server.connections.length, 1, 'an oversized event is dropped, not a reason to reconnect');
    assert.ok(ctx.server.sent.some((f) => f.kind === 'huge'));
  } finally {
    clearInterval(sampler);
  }
  const wasmGrowth = wasmMemory.buffer.byteLength - wasm0;
  assert.ok(wasmGrowth < 8 * MiB, `wasm memory grew by ${(wasmGrowth / MiB).toFixed(1)} MiB`);
  // rss also moves with the GC and the other test processes; the wasm figure above is the
  // parser's own bound, this one only proves the 64 MiB line was never held in the process.
  assert.ok(peak - rss0 < 48 * MiB, `rss grew by ${((peak - rss0) / MiB).toFixed(1)} MiB`);
});

test('silence trips the heartbeat watchdog and the stream reconnects; heartbeats keep it alive', async () => {
  ctx.server.configure({ heartbeatMs: 50 });
  ctx.server.configure({ silent: true }, { next: 1 });
  const log = open({ heartbeatTimeoutMs: 400 });
  await answered(1);
  ctx.server.publish(lightweight(1)); // withheld by the silent connection: only a reconnect gets it
  await seen(log, 1, 10_000);
  const [silent, healthy] = ctx.server.connections;
  assert.equal(silent.silent, true);
  assert.equal(silent.endedBy, 'client');
  const lived = silent.endedAt - silent.startedAt;
  assert.ok(lived >= 200 && lived < 10_000, `the silent connection lived ${lived} ms`);
  assert.equal(healthy.headers.lastEventId, null);
  await sleep(1000);
  assert.equal(ctx.server.connections.length, 2, 'a connection with heartbeats was dropped');
});

test('the server retry is honoured (order of magnitude only)', async () => {
  const gaps = async (retry) => {
    ctx.server.reset();
    ctx.server.configure({ retry, endAfter: 1 });
    for (let i = 1; i <= 4; i++) ctx.server.publish(lightweight(i));
    const log = open({ reconnect: { initialDelayMs: 1, maxDelayMs: 1 } });
    await seen(log, 4, 10_000);
    log.stream.close();
    const conns = ctx.server.connections;
    const delays = log.states.filter((s) => s.state === 'connecting' && s.detail?.delayMs != null);
    return {
      gaps: conns.slice(1, 4).map((c, i) => c.startedAt - conns[i].endedAt),
      delays: delays.slice(0, 3).map((s) => s.detail.delayMs),
    };
  };
  const slow = await gaps(400);
  const fast = await gaps(1);
  for (const gap of slow.gaps) assert.ok(gap >= 200 && gap < 5000, `retry 400: gap ${gap} ms`);
  assert.equal(slow.delays.length, 3, 'onStateChange reports each planned delay');
  for (const delay of slow.delays) assert.ok(delay >= 400, `retry 400: planned ${delay} ms`);
  for (const gap of fast.gaps) assert.ok(gap < 200, `retry 1: gap ${gap} ms`);
});

test('backoff: each failure raises its ceiling; a connection up for healthyAfterMs resets it', async () => {
  ctx.server.publish(lightweight(1));
  ctx.server.configure({ dropAfter: 0 }, { next: 8 }); // 8 connections cut inside their first event
  ctx.server.configure({ endAfter: 2 }, { next: 1 }); // then one that lasts, ending after a live event
  const log = open({ reconnect: { initialDelayMs: 1, maxDelayMs: 1000, healthyAfterMs: 300 } });
  await seen(log, 1, 10_000);
  await sleep(400); // the 9th connection has been up longer than healthyAfterMs...
  ctx.server.publish(lightweight(2)); // ...when it ends
  await seen(log, 2, 10_000);
  await eventually(() => assert.ok(ctx.server.connections.length >= 10));
  const delays = log.states.filter((s) => s.state === 'connecting' && s.detail?.delayMs != null).map((s) => s.detail.delayMs);
  assert.ok(delays.length >= 9, `delays: ${delays}`);
  // Full jitter: the n-th delay is drawn from [0, 2^n ms], so only its ceiling can be checked.
  delays.slice(0, 8).forEach((d, n) => assert.ok(d <= 2 ** n, `failure ${n + 1}: ${d} ms`));
  // Without the reset the 9th would be drawn from [0, 256 ms]; after it, from [0, 1 ms].
  assert.ok(delays[8] <= 1, `after a healthy connection: ${delays[8]} ms (delays ${delays})`);
  assert.deepEqual(log.seen.map(seqOf), [1, 2]);
});

test('the headers provider runs before every (re)connect: the server sees each new token', async () => {
  let calls = 0;
  ctx.server.configure({ token: ['t1', 't2', 't3', 't4'], endAfter: 1 });
  for (let i = 1; i <= 3; i++) ctx.server.publish(lightweight(i));
  const log = open({
    headers: async () => {
      calls++;
      await sleep(5);
      return { authorization: `Bearer t${calls}` };
    },
  });
  await seen(log, 3);
  log.stream.close();
  const auth = ctx.server.connections.map((c) => c.headers.authorization);
  assert.deepEqual(auth.slice(0, 3), ['Bearer t1', 'Bearer t2', 'Bearer t3']);
  assert.ok(calls >= 3);
  assert.deepEqual(log.seen.map(seqOf), [1, 2, 3]);
});
