// NotificationStream (pkg/) under workerd, through Miniflare: the Worker in
// tests/worker/stream-worker.js opens a fetch-transport stream to the real local SSE server
// (sse-server.mjs), waits for N notifications (stream.on, and stream.waitFor for the last
// payment), closes the stream and answers what it saw as JSON. The test publishes while the
// Worker listens, cuts its connection mid-event once, replays duplicates, and checks the answer
// against what the server published and logged.
//
// workerd may fetch 127.0.0.1: Miniflare's default outbound network service allows
// "public" and "private" (a superset of "local") addresses.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { Miniflare } from 'miniflare';
import { startSseServer, lightweight, envelope, POISON, UNICODE } from './sse-server.mjs';
import { sleep, eventually, range } from './waits.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PKG_WASM = new URL('../../pkg/edgesaga_bg.wasm', import.meta.url);

let sse;
let mf;

/** A Miniflare instance running the Worker. `npm run build` may be rewriting pkg/: retry. */
async function startWorker(bindings) {
  for (let attempt = 1; ; attempt++) {
    let instance;
    try {
      if (!existsSync(PKG_WASM)) throw new Error('pkg/ is not built (npm run build)');
      instance = new Miniflare({
        modules: true,
        modulesRoot: ROOT,
        scriptPath: fileURLToPath(new URL('../worker/stream-worker.js', import.meta.url)),
        modulesRules: [
          { type: 'ESModule', include: ['**/*.js'] },
          { type: 'CompiledWasm', include: ['**/*.wasm'] },
        ],
        compatibilityDate: '2025-09-01',
        bindings,
      });
      await instance.ready;
      // Loading the module is the Worker's first request's job: prove it loads now.
      const res = await instance.dispatchFetch('http://worker.test/?sse=');
      if (res.status !== 400) throw new Error(`the Worker answered ${res.status}: ${await res.text()}`);
      return instance;
    } catch (error) {
      await instance?.dispose().catch(() => {});
      if (attempt >= 5) throw error;
      await sleep(5000);
    }
  }
}

before(async () => {
  sse = await startSseServer({ heartbeatMs: 0, historySize: 10_000 });
  mf = await startWorker({ SSE_URL: sse.url });
});

after(async () => {
  await mf?.dispose();
  await sse?.close();
});

describe('workerd: a Worker consumes the stream over fetch', { timeout: 45_000 }, () => {
  let r;
  before(async () => {
    sse.reset();
    // Every connection asks for a 20 ms retry and, on a reconnect, replays the last 2 events the
    // client already has. The first connection is cut part-way through its 8th event, in small
    // random chunks.
    sse.configure({ retry: 20, duplicates: 2 });
    sse.configure({ dropAfter: 7, chunks: { min: 1, max: 24 } }, { next: 1 });
    const ids = new Map();
    const pub = (seq) => ids.set(seq, sse.publish(seq % 2 ? lightweight(seq) : envelope(seq)));
    for (let seq = 1; seq <= 5; seq++) pub(seq); // before the Worker connects: replayed

    // The URL of the SSE server comes from the SSE_URL binding; `sse=` would override it.
    const answer = mf.dispatchFetch('http://worker.test/?count=15&waitFor=order-14&timeoutMs=20000');
    await eventually(() => assert.ok(sse.connections.length >= 1, 'the Worker never connected'), 15_000);
    let poisonId;
    for (let seq = 6; seq <= 15; seq++) {
      pub(seq);
      if (seq === 10) poisonId = sse.publish(POISON.malformedJson);
      await sleep(10);
    }
    const res = await answer;
    const body = await res.json();
    // The Worker closed its stream before answering: its connection must end.
    await eventually(() => assert.equal(sse.openConnections, 0, 'connections left open'));
    await sleep(200); // a reconnect after close() would land here
    r = { status: res.status, body, ids, poisonId, connections: structuredClone(sse.connections), drops: sse.drops };
  });

  test('every notification delivered once, in order, through a cut and duplicate replays', () => {
    const { body, ids } = r;
    assert.equal(r.status, 200);
    assert.equal(body.timedOut, false, `saw ${body.seen.length} of 15`);
    assert.deepEqual(body.seen.map((n) => n.seq), range(1, 15));
    assert.deepEqual(body.seen.map((n) => n.id), range(1, 15).map((s) => ids.get(s)));
    assert.deepEqual(body.seen.map((n) => n.type), range(1, 15).map((s) => (s % 2 ? 'order.status_changed' : 'payment.processed')));
    assert.deepEqual(body.seen.map((n) => n.entityId), range(1, 15).map((s) => `order-${s}`));
    assert.ok(body.seen.every((n) => n.note === UNICODE), 'multibyte text survived the chunk cuts');
    assert.ok(body.seen.every((n) => n.readyState === 1), 'handlers ran while OPEN');
    assert.equal(r.drops, 1, 'connections cut mid-event');
    assert.ok(body.reconnects >= 1, `reconnects = ${body.reconnects}`);
  });

  test('waitFor resolved with the payment it waited for', () => {
    assert.deepEqual(r.body.waitedFor, { id: r.ids.get(14), entityId: 'order-14', seq: 14 });
  });

  test('malformed JSON is dead-lettered with a NotificationSchemaError', () => {
    const { body, poisonId } = r;
    assert.deepEqual(body.deadLetters.map((d) => [d.reason, d.id, d.errorName, d.errorIsError, d.raw]),
      [['schema', poisonId, 'NotificationSchemaError', true, POISON.malformedJson]]);
    assert.deepEqual(body.errors.map((e) => e.name), ['NotificationSchemaError'], 'onError');
    assert.equal(body.protocolErrors, 0);
  });

  test('the reconnect sent Last-Event-ID: the last event received whole; duplicates were replayed', () => {
    const conns = r.connections;
    assert.equal(conns.length, 2, `connections: ${conns.length}`);
    assert.ok(conns.every((c) => c.headers.accept === 'text/event-stream' && c.method === 'GET'));
    assert.equal(conns[0].headers.lastEventId, null);
    assert.equal(conns[0].partial, '8', 'the first connection was cut inside event 8');
    assert.equal(conns[1].headers.lastEventId, '7');
    assert.deepEqual(conns[1].replayed.slice(0, 2), ['6', '7'], 'duplicates replayed');
    assert.equal(r.body.lastEventId, r.ids.get(15));
  });

  test('readyState: CONNECTING, OPEN, CONNECTING after the cut (after the server retry), OPEN, CLOSED', () => {
    const { body } = r;
    assert.equal(body.initialReadyState, 0);
    assert.equal(body.readyState, 1);
    assert.deepEqual(body.states.map((s) => s.state), ['open', 'connecting', 'open', 'closed']);
    assert.deepEqual(body.states.map((s) => s.readyState), [1, 0, 1, 2]);
    const reconnect = body.states[1];
    assert.ok(reconnect.delayMs >= 20, `reconnect delay ${reconnect.delayMs} ms < the server's retry: 20`);
    assert.ok(reconnect.error, 'the reconnect reports why');
    assert.equal(body.closedReadyState, 2);
  });

  test('readyState is CLOSED as soon as close() returns (as EventSource.close() does)', {
  }, () => {
    assert.equal(r.body.readyStateAfterClose, 2);
  });

  test('close() ends the connection for good: ended by the client, no reconnect', () => {
    assert.equal(r.connections.length, 2);
    assert.equal(r.connections.at(-1).endedBy, 'client');
  });
});

describe('workerd: a stream that cannot deliver', { timeout: 30_000 }, () => {
  test('a 500 fails the stream in the Worker: closed, one StreamResponseError, no reconnect', async () => {
    sse.reset();
    sse.configure({ status: 500 });
    // ?sse= overrides the binding; the count is never reached, the short timeout answers.
    const res = await mf.dispatchFetch(`http://worker.test/?count=1&timeoutMs=500&sse=${encodeURIComponent(sse.url)}`);
    const body = await res.json();
    assert.equal(body.timedOut, true);
    assert.deepEqual(body.seen, []);
    assert.equal(body.readyState, 2, 'closed before close()');
    assert.deepEqual(body.errors.map((e) => e.name), ['StreamResponseError']);
    assert.match(body.errors[0].message, /500/);
    assert.equal(sse.connections.length, 1, 'reconnected');
  });
});
