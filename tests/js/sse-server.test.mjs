// The SSE test server, proven with a plain `fetch` and `eventsource-parser` (an independent
// parser): if a fault mode did not do what it says, the NotificationStream tests built on it
// would prove nothing.

import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { createParser } from 'eventsource-parser';
import { startSseServer, lightweight, envelope, POISON, MiB, splitBytes, prng } from './sse-server.mjs';
import { eventually, answered } from './waits.mjs';

let server;
before(async () => {
  server = await startSseServer({ heartbeatMs: 0 });
});
after(() => server.close());
beforeEach(() => server.reset());

/**
 * Reads one response until `until(out)` holds, the body ends, it errors, or `timeoutMs` passes
 * (`timedOut`, not an error: some tests prove that nothing arrives).
 */
async function collect(url, { headers = {}, method, body, until = () => false, timeoutMs = 5000, parse = true } = {}) {
  const ac = new AbortController();
  const out = {
    status: null, contentType: null, headers: null, events: [], comments: 0, retry: null,
    text: '', raw: [], reads: 0, bytes: 0, ended: false, error: null, timedOut: false,
  };
  const timer = setTimeout(() => {
    out.timedOut = true;
    ac.abort();
  }, timeoutMs);
  const parser = createParser({
    onEvent: (e) => out.events.push(e),
    onComment: () => out.comments++,
    onRetry: (ms) => (out.retry = ms),
  });
  const decoder = new TextDecoder();
  try {
    const res = await fetch(url, { method, body, headers: { accept: 'text/event-stream', ...headers }, signal: ac.signal });
    out.status = res.status;
    out.contentType = res.headers.get('content-type');
    out.headers = res.headers;
    let stopped = until(out);
    for await (const chunk of stopped ? [] : res.body ?? []) {
      out.reads++;
      out.bytes += chunk.length;
      if (parse) {
        const text = decoder.decode(chunk, { stream: true });
        out.text += text;
        out.raw.push(chunk);
        parser.feed(text);
      }
      if ((stopped = until(out, chunk))) break;
    }
    out.ended = !stopped;
  } catch (error) {
    if (!out.timedOut) out.error = error;
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
  return out;
}

const nEvents = (n) => (out) => out.events.length >= n;
const ids = (out) => out.events.map((e) => e.id);

test('events carry monotonic string ids; both notification forms round-trip; the request is logged', async () => {
  const published = [lightweight(1), envelope(2), lightweight(3)];
  assert.deepEqual(published.map((n) => server.publish(n)), ['1', '2', '3']);
  server.publish(envelope(4), { event: 'payment', multiline: true });
  const out = await collect(server.url, { until: nEvents(4) });
  assert.equal(out.status, 200);
  assert.match(out.contentType, /^text\/event-stream/);
  assert.deepEqual(ids(out), ['1', '2', '3', '4']);
  assert.deepEqual(out.events.slice(0, 3).map((e) => JSON.parse(e.data)), published);
  assert.equal(out.events[3].event, 'payment');
  assert.ok(out.events[3].data.includes('\n'), 'multiline JSON spans several data lines');
  assert.deepEqual(JSON.parse(out.events[3].data), envelope(4));
  const [conn] = server.connections;
  assert.equal(conn.method, 'GET');
  assert.equal(conn.headers.accept, 'text/event-stream');
  assert.equal(conn.headers.lastEventId, null);
  assert.deepEqual(conn.events, ['1', '2', '3', '4']);
  assert.ok(conn.startedAt <= Date.now());
  await eventually(() => assert.equal(conn.endedBy, 'client'));
  assert.ok(conn.endedAt >= conn.startedAt);
  assert.equal(server.sent.filter((f) => f.kind === 'event').length, 4);
});

test('POST with a body and an Authorization header is served and logged; other paths are 404', async () => {
  server.publish(lightweight(1));
  const out = await collect(server.url, {
    method: 'POST', body: '{"topics":["order"]}', headers: { authorization: 'Bearer t1' }, until: nEvents(1),
  });
  assert.deepEqual(ids(out), ['1']);
  assert.equal(server.connections[0].method, 'POST');
  assert.equal(server.connections[0].body, '{"topics":["order"]}');
  assert.equal(server.connections[0].headers.authorization, 'Bearer t1');
  assert.equal((await fetch(server.origin + '/nope')).status, 404);
  assert.equal((await fetch(server.url, { method: 'PUT' })).status, 405);
});

test('replays after Last-Event-ID, then live events; history is bounded and gaps are flagged', async () => {
  const small = await startSseServer({ heartbeatMs: 0, historySize: 5 });
  try {
    for (let i = 1; i <= 8; i++) small.publish(lightweight(i));
    const resumed = await collect(small.url, { headers: { 'last-event-id': '5' }, until: nEvents(3) });
    assert.deepEqual(ids(resumed), ['6', '7', '8']);
    assert.equal(small.connections[0].gap, false);
    const old = await collect(small.url, { headers: { 'last-event-id': '1' }, until: nEvents(5) });
    assert.deepEqual(ids(old), ['4', '5', '6', '7', '8']);
    assert.equal(small.connections[1].gap, true, 'events 2..3 are gone: the log must say so');
    const pending = collect(small.url, { headers: { 'last-event-id': '7' }, until: nEvents(2) });
    await answered(small, 3);
    small.publish(lightweight(9));
    assert.deepEqual(ids(await pending), ['8', '9']);
    assert.deepEqual(small.connections[2].replayed, ['8']);
  } finally {
    await small.close();
  }
});

test('heartbeats are comment lines at the configured interval, and can be disabled', async () => {
  server.configure({ heartbeatMs: 40 }, { next: 1 });
  const beating = await collect(server.url, { until: (o) => o.comments >= 3, timeoutMs: 3000 });
  assert.equal(beating.timedOut, false);
  assert.ok(beating.comments >= 3);
  assert.ok(server.sent.every((f) => f.kind === 'comment' && f.text === ':\n'));
  const quiet = await collect(server.url, { timeoutMs: 300 });
  assert.equal(quiet.timedOut, true);
  assert.equal(quiet.comments, 0);
});

/** Offsets (into each frame) where a piece ended, from the server's own write log. */
const cutsOf = (frame) => frame.chunks.slice(0, -1).reduce((acc, len) => [...acc, (acc.at(-1) ?? 0) + len], []);

test('chunk splitting: tiny seeded pieces, cuts inside UTF-8 and between CR and LF, same events', async () => {
  server.configure({ chunks: { min: 1, max: 5 }, lineEnding: 'crlf' });
  const published = [];
  for (let i = 1; i <= 20; i++) {
    published.push(i % 2 ? lightweight(i) : envelope(i));
    server.publish(published.at(-1));
  }
  const out = await collect(server.url, { until: nEvents(20) });
  assert.deepEqual(out.events.map((e) => JSON.parse(e.data)), published);
  assert.ok(out.reads > 100, `the client saw ${out.reads} reads: pieces were coalesced`);
  const frames = server.sent.filter((f) => f.kind === 'event');
  let inUtf8 = 0;
  let inCrlf = 0;
  for (const frame of frames) {
    const bytes = Buffer.from(frame.text);
    assert.equal(frame.chunks.reduce((a, b) => a + b, 0), bytes.length);
    assert.ok(Math.max(...frame.chunks) <= 5, JSON.stringify(frame));
    for (const cut of cutsOf(frame)) {
      if ((bytes[cut] & 0xc0) === 0x80) inUtf8++;
      if (bytes[cut - 1] === 13 && bytes[cut] === 10) inCrlf++;
    }
  }
  assert.ok(inUtf8 > 10, `${inUtf8} cuts inside a UTF-8 sequence`);
  assert.ok(inCrlf > 10, `${inCrlf} cuts between CR and LF`);
});

test('chunk splitting is reproducible from the seed', () => {
  const bytes = Buffer.from(`id: 1\r\ndata: ${JSON.stringify(lightweight(1))}\r\n\r\n`);
  const lengths = (seed) => splitBytes(bytes, prng(seed)).map((p) => p.length);
  assert.deepEqual(lengths(7), lengths(7));
  assert.notDeepEqual(lengths(7), lengths(8));
});

for (const [lineEnding, check] of [
  ['crlf', (t) => t.includes('\r\n') && !/[^\r]\n/.test(t)],
  ['cr', (t) => t.includes('\r') && !t.includes('\n')],
]) {
  test(`${lineEnding} line endings on the wire, the same events parsed`, async () => {
    server.configure({ lineEnding, retry: 500 }, { next: 1 });
    const published = [lightweight(1), envelope(2)];
    published.forEach((n) => server.publish(n));
    // A trailing event: eventsource-parser holds a final CR until it sees the next byte
    // (it might be CRLF), so without one the last CR-terminated event never dispatches there.
    server.publish(lightweight(3));
    const out = await collect(server.url, { until: nEvents(2) });
    assert.ok(check(out.text), JSON.stringify(out.text.slice(0, 80)));
    assert.equal(out.retry, 500);
    assert.deepEqual(out.events.slice(0, 2).map((e) => JSON.parse(e.data)), published);
  });
}

test('dropAfter: cuts the socket mid-event; the half-written event is replayed on reconnect', async () => {
  server.configure({ dropAfter: 2 }, { next: 1 });
  for (let i = 1; i <= 4; i++) server.publish(lightweight(i));
  const first = await collect(server.url);
  assert.ok(first.error, 'a cut socket is a network error, not a clean end');
  assert.deepEqual(ids(first), ['1', '2']);
  const partial = server.sent.find((f) => f.kind === 'partial');
  assert.equal(partial.id, '3');
  const tail = Buffer.concat(first.raw).subarray(-partial.bytes);
  assert.equal(tail.toString(), partial.text, 'the partial frame reached the client');
  assert.ok(partial.bytes > 0 && !partial.text.endsWith('\n\n'));
  assert.equal(server.drops, 1);
  assert.equal(server.connections[0].partial, '3');
  assert.equal(server.connections[0].endedBy, 'server');
  const second = await collect(server.url, { headers: { 'last-event-id': '2' }, until: nEvents(2) });
  assert.deepEqual(ids(second), ['3', '4']);
});

test('dropAfter {min,max} picks a per-connection count; endAfter ends the body cleanly', async () => {
  server.configure({ dropAfter: { min: 1, max: 3 } }, { next: 3 });
  for (let i = 1; i <= 10; i++) server.publish(lightweight(i));
  for (let i = 0; i < 3; i++) await collect(server.url);
  for (const conn of server.connections) {
    assert.ok(conn.dropAfter >= 1 && conn.dropAfter <= 3);
    assert.equal(conn.events.length, conn.dropAfter);
  }
  server.configure({ endAfter: 2 }, { next: 1 });
  const out = await collect(server.url);
  assert.equal(out.ended, true);
  assert.equal(out.error, null);
  assert.deepEqual(ids(out), ['1', '2']);
});

test('status faults: 204, 500, a wrong content type; only the next connection when asked', async () => {
  server.publish(lightweight(1));
  server.configure({ status: 204 }, { next: 1 });
  server.configure({ status: 500 }, { next: 1 });
  server.configure({ contentType: 'text/plain' }, { next: 1 });
  const noContent = await collect(server.url);
  assert.equal(noContent.status, 204);
  assert.equal(noContent.bytes, 0);
  assert.equal((await collect(server.url)).status, 500);
  const plain = await collect(server.url);
  assert.equal(plain.status, 200);
  assert.equal(plain.contentType, 'text/plain');
  assert.match(plain.text, /^id: 999999\ndata: /, 'looks like an event: ignoring the type would deliver it');
  const normal = await collect(server.url, { until: nEvents(1) });
  assert.match(normal.contentType, /^text\/event-stream/);
  assert.deepEqual(server.connections.map((c) => c.status), [204, 500, 200, 200]);
});

test('token: 401 without the right bearer token, 200 with any accepted one', async () => {
  server.configure({ token: ['t1', 't2'] });
  server.publish(lightweight(1));
  const none = await collect(server.url);
  assert.equal(none.status, 401);
  assert.equal(none.headers.get('www-authenticate'), 'Bearer');
  assert.equal((await collect(server.url, { headers: { authorization: 'Bearer nope' } })).status, 401);
  const ok = await collect(server.url, { headers: { authorization: 'Bearer t2' }, until: nEvents(1) });
  assert.equal(ok.status, 200);
  assert.deepEqual(server.connections.map((c) => c.headers.authorization), [null, 'Bearer nope', 'Bearer t2']);
});

test('duplicates: replay re-sends ids the client already has', async () => {
  for (let i = 1; i <= 5; i++) server.publish(lightweight(i));
  server.configure({ duplicates: 2 }, { next: 1 });
  const out = await collect(server.url, { headers: { 'last-event-id': '3' }, until: nEvents(4) });
  assert.deepEqual(ids(out), ['2', '3', '4', '5']);
});

test('hugeLine: one 64 MiB data line streamed without buffering, then a normal event', async () => {
  server.configure({ hugeLine: 64 * MiB }, { next: 1 });
  const rss0 = process.memoryUsage().rss;
  let peak = rss0;
  let tail = '';
  const pending = collect(server.url, {
    parse: false,
    timeoutMs: 30_000,
    until: (out, chunk) => {
      peak = Math.max(peak, process.memoryUsage().rss);
      tail = (tail + Buffer.from(chunk ?? []).toString('latin1')).slice(-4096);
      return /id: 1\ndata: .*\n\n$/.test(tail);
    },
  });
  await answered(server, 1);
  server.publish(lightweight(1));
  const out = await pending;
  assert.equal(out.timedOut, false);
  assert.ok(out.bytes > 64 * MiB, `${out.bytes} bytes`);
  assert.match(tail, /x{1000}\n\nid: 1\ndata: /, 'the huge line ends with a blank line, then the event');
  assert.ok(peak - rss0 < 32 * MiB, `rss grew by ${((peak - rss0) / MiB).toFixed(1)} MiB`);
  const huge = server.sent.find((f) => f.kind === 'huge');
  assert.equal(huge.text, null);
  assert.equal(huge.id, null, 'not a notification: never replayed');
  assert.deepEqual(server.history.map((e) => e.id), ['1']);
});

test('silent: headers, then nothing at all while other connections get events and heartbeats', async () => {
  server.configure({ silent: true }, { next: 1 });
  server.configure({ heartbeatMs: 30 });
  const quiet = collect(server.url, { timeoutMs: 400 });
  await answered(server, 1);
  const loud = collect(server.url, { until: (o) => o.events.length >= 1 && o.comments >= 2 });
  await answered(server, 2);
  server.publish(lightweight(1));
  const [q, l] = await Promise.all([quiet, loud]);
  assert.equal(q.status, 200);
  assert.equal(q.bytes, 0);
  assert.equal(q.timedOut, true);
  assert.deepEqual(ids(l), ['1']);
  assert.equal(server.connections[0].silent, true);
});

test('poison payloads: malformed JSON, a missing type, an incompatible major version', async () => {
  for (const kind of Object.keys(POISON)) server.publishPoison(kind);
  const out = await collect(server.url, { until: nEvents(3) });
  const [malformed, untyped, future] = out.events.map((e) => e.data);
  assert.equal(malformed, POISON.malformedJson);
  assert.throws(() => JSON.parse(malformed), SyntaxError);
  assert.equal(JSON.parse(untyped).type, undefined);
  assert.equal(JSON.parse(untyped).eventType, undefined);
  assert.equal(JSON.parse(future).version, '2.0');
});

test('persistent faults, queued faults, configure(null), reset() and close()', async () => {
  server.configure({ retry: 5 });
  server.configure({ retry: 7 }, { next: 1 });
  const retries = [];
  for (let i = 0; i < 2; i++) retries.push((await collect(server.url, { until: (o) => o.retry != null })).retry);
  assert.deepEqual(retries, [7, 5]);
  server.configure(null);
  assert.equal((await collect(server.url, { timeoutMs: 150 })).retry, null);

  server.publish(lightweight(1));
  const open = collect(server.url, { timeoutMs: 3000 });
  await answered(server, 4);
  server.reset();
  const cut = await open;
  assert.equal(cut.timedOut, false, 'reset() closes open connections');
  assert.deepEqual([server.connections.length, server.sent.length, server.history.length], [0, 0, 0]);
  assert.equal(server.publish(lightweight(1)), '1', 'ids restart after reset()');

  const other = await startSseServer({ heartbeatMs: 10 });
  const held = collect(other.url, { timeoutMs: 3000 });
  await answered(other, 1);
  await other.close();
  assert.equal((await held).timedOut, false, 'close() ends open streams');
});
