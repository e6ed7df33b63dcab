// A 3-step declarative transaction through the Worker (POST /transactions) under local workerd
// (Miniflare, configured from wrangler.toml), against a local upstream whose own latency is
// measured on its side. Reports transactions/s and the per-step overhead over the upstream's
// latency, p50 and p99 (goal: p50 <= 1 ms per step), next to a hand-written Worker in the same
// runtime that makes the same three requests with no journal, no Durable Object and no hub —
// the cost of durability, measured in the same run.
import http from 'node:http';
import { startWorker } from '../tests/js/worker-harness.mjs';

const RUNS = Number(process.env.BENCH_WORKER_RUNS ?? 300);
const WARMUP = 30;
const UPSTREAM_DELAY_MS = Number(process.env.BENCH_UPSTREAM_DELAY_MS ?? 0);

/** The upstream: answers `{ id }` after UPSTREAM_DELAY_MS, and sums the time it spent per key. */
function startUpstream() {
  const spent = new Map(); // transaction id -> ms spent answering its requests
  let seq = 0;
  const server = http.createServer((req, res) => {
    const started = process.hrtime.bigint();
    const parts = [];
    req.on('data', (p) => parts.push(p));
    req.on('end', () => {
      const reply = () => {
        res.writeHead(201, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id: `r${++seq}` }));
        const key = String(req.headers['idempotency-key'] ?? req.headers['x-tx'] ?? '');
        const tx = key.split(':')[0];
        spent.set(tx, (spent.get(tx) ?? 0) + Number(process.hrtime.bigint() - started) / 1e6);
      };
      if (UPSTREAM_DELAY_MS > 0) setTimeout(reply, UPSTREAM_DELAY_MS);
      else reply();
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${server.address().port}`, spent, close: () => server.close() }));
  });
}

const definition = (base) => ({
  name: 'bench',
  steps: ['a', 'b', 'c'].map((name) => ({
    name,
    request: { method: 'POST', url: `${base}/${name}`, body: { order: '{{context.orderId}}' } },
    compensate: { method: 'POST', url: `${base}/${name}/undo` },
  })),
});

// The hand-written peer: the same three POSTs in sequence, straight from the Worker.
const HAND_WRITTEN = `
export { HubObject } from './hub-object.js';
export { TransactionObject } from './transactions.js';
export default {
  async fetch(request) {
    if (request.method !== 'POST') return new Response(null, { status: 401 }); // the harness's probe
    const { base, tx } = await request.json();
    for (const name of ['a', 'b', 'c']) {
      const res = await fetch(base + '/' + name, { method: 'POST', headers: { 'content-type': 'application/json', 'x-tx': tx }, body: JSON.stringify({ order: 'o' }) });
      if (!res.ok) return new Response('failed', { status: 500 });
      await res.json();
    }
    return Response.json({ status: 'committed' });
  },
};`;

// edgesaga's executor in the Worker itself: no Durable Object, no journal, no hub — the cost of
// the coordinator alone, next to the cost of durability.
const IN_WORKER = `
import wasm from '../pkg/edgesaga_bg.wasm';
import { initSync, TransactionCoordinator } from '../pkg/edgesaga.js';
export { HubObject } from './hub-object.js';
export { TransactionObject } from './transactions.js';
initSync({ module: wasm });
export default {
  async fetch(request) {
    if (request.method !== 'POST') return new Response(null, { status: 401 }); // the harness's probe
    const { definition, context, transactionId } = await request.json();
    const coordinator = new TransactionCoordinator();
    const result = await coordinator.executeHttpTransaction(definition, { context, transactionId });
    coordinator.free();
    return Response.json({ status: result.status });
  },
};`;

async function measure(label, url, upstream, send) {
  const overheads = [];
  const started = process.hrtime.bigint();
  let timed = 0n;
  for (let i = 0; i < WARMUP + RUNS; i++) {
    const tx = `${label}-${i}`;
    const t0 = process.hrtime.bigint();
    const body = await send(url, tx);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (body.status !== 'committed') throw new Error(`${label}: ${JSON.stringify(body)}`);
    if (i < WARMUP) continue;
    if (i === WARMUP) timed = process.hrtime.bigint();
    overheads.push((ms - (upstream.spent.get(tx) ?? 0)) / 3);
  }
  const secs = Number(process.hrtime.bigint() - timed) / 1e9;
  void started;
  overheads.sort((a, b) => a - b);
  const q = (p) => overheads[Math.min(overheads.length - 1, Math.floor(p * overheads.length))];
  return { tps: RUNS / secs, p50: q(0.5), p99: q(0.99) };
}

const upstream = await startUpstream();
const edge = await startWorker();
const hand = await startWorker({ script: HAND_WRITTEN });
const bare = await startWorker({ script: IN_WORKER });
try {
  const viaEdgesaga = (url, tx) =>
    fetch(new URL('/transactions', url), {
      method: 'POST',
      headers: { authorization: 'Bearer pub-acme', 'content-type': 'application/json' },
      body: JSON.stringify({ definition: definition(upstream.url), context: { orderId: tx }, transactionId: tx }),
    }).then((r) => r.json());
  const viaHand = (url, tx) =>
    fetch(url, { method: 'POST', body: JSON.stringify({ base: upstream.url, tx }) }).then((r) => r.json());
  const viaBare = (url, tx) =>
    fetch(url, { method: 'POST', body: JSON.stringify({ definition: definition(upstream.url), context: { orderId: tx }, transactionId: tx }) })
      .then((r) => r.json());
  const e = await measure('edge', edge.url, upstream, viaEdgesaga);
  const b = await measure('bare', bare.url, upstream, viaBare);
  const h = await measure('hand', hand.url, upstream, viaHand);
  const row = (name, r) =>
    `    ${name.padEnd(34)} ${r.tps.toFixed(0).padStart(6)} tx/s   overhead/step p50 ${r.p50.toFixed(2)} ms   p99 ${r.p99.toFixed(2)} ms`;
  console.log(`worker: ${RUNS} sequential 3-step transactions under local workerd, upstream delay ${UPSTREAM_DELAY_MS} ms`);
  console.log(row('edgesaga (journaled Durable Object)', e));
  console.log(row('edgesaga in the Worker (no DO)', b));
  console.log(row('hand-written Worker (no journal)', h));
  console.log(`    edgesaga p50 overhead/step ${e.p50.toFixed(2)} ms (goal <= 1 ms); ${(e.p50 / h.p50).toFixed(1)}x the hand-written Worker's`);
} finally {
  await edge.mf.dispose();
  await hand.mf.dispose();
  await bare.mf.dispose();
  upstream.close();
}
