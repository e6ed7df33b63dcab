// The demo, on one local origin (what `npm start` runs):
//
//   /            the order workflow page, www/dist (built by Vite from www/)
//   /api/…       the order service (demo/order-service.mjs): inventory, payments, orders, with
//                their own state (GET /api/_state) and fault injection (POST/DELETE /api/_faults)
//   /events      the notification source: the Worker of wrangler.toml (its hub, worker/hub.js),
//                run under workerd by Miniflare and reached through this server
//   /_demo/…     the demo's own controls: what was published, and the dropped-SSE fault
//
// The order service announces each state change (`payment.processed` after a charge, …); this
// server publishes it to the Worker's hub (`POST /events`, publisher token), and the page
// subscribes to the hub (`GET /events`, subscriber token): the page's `await payment.processed`
// step is resolved by a real notification through a real SSE stream.
//
// One origin, as a deployed frontend would have behind its reverse proxy: the page needs no
// CORS, and this server plays the network between the page and the Worker — which is where the
// "dropped SSE connection" fault happens (see `sseFront`).
//
// Run: `node demo/server.mjs` (after `npm run build` and `npx vite build www`), or `npm start`,
// which does all three. PORT=… picks the port (default 5173, or any free one if it is taken).

import http from 'node:http';
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createOrderService } from './order-service.mjs';
import { startWorker, devTokens } from './worker.mjs';

const DIST = fileURLToPath(new URL('../www/dist/', import.meta.url));
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/**
 * The front for `/events`: relays the page's SSE requests to the Worker chunk by chunk, and can
 * drop them. A drop ends every open stream the way a proxy ending a long-lived response does (a
 * clean end of the body: the client reconnects with Last-Event-ID); with a publish to get through
 * (`dropAround`), reconnections are held until the hub has acknowledged it, so that notification
 * is certain to be published while the page is disconnected, and can only reach it by replay.
 */
function sseFront(workerUrl, lastPublishedId) {
  const open = new Set(); // { res, abort }
  let gate = null; // a Promise while reconnections are held
  let armed = null; // notification type whose publish drops the streams (the page's toggle)
  const stats = { drops: 0, held: 0 };
  // Per request, in arrival order: its Last-Event-ID, whether it was held, the id of the last
  // notification the hub had acknowledged when it was relayed, and the Worker's status.
  const connections = [];

  async function relay(req, res) {
    const log = { lastEventId: req.headers['last-event-id'] ?? null, held: gate !== null, publishedBefore: null, status: null };
    connections.push(log);
    const abort = new AbortController();
    const conn = { res, abort };
    res.on('close', () => {
      open.delete(conn);
      abort.abort();
    });
    if (gate) {
      stats.held++;
      await gate;
      if (res.destroyed) return;
    }
    const headers = {};
    for (const name of ['authorization', 'last-event-id', 'accept']) {
      if (req.headers[name] !== undefined) headers[name] = req.headers[name];
    }
    log.publishedBefore = lastPublishedId();
    let upstream;
    try {
      upstream = await fetch(new URL(req.url, workerUrl), { headers, signal: abort.signal });
    } catch (error) {
      if (!res.destroyed) {
        res.writeHead(502, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { name: 'BadGateway', message: String(error?.message ?? error) } }));
      }
      return;
    }
    const pass = {};
    for (const [name, value] of upstream.headers) {
      if (!['content-length', 'transfer-encoding', 'connection', 'keep-alive'].includes(name)) pass[name] = value;
    }
    log.status = upstream.status;
    res.writeHead(upstream.status, pass);
    res.flushHeaders();
    res.socket?.setNoDelay(true);
    if (upstream.status !== 200 || upstream.body === null) {
      res.end(Buffer.from(await upstream.arrayBuffer()));
      return;
    }
    open.add(conn);
    try {
      for await (const chunk of upstream.body) {
        if (!res.write(chunk)) await new Promise((resolve) => res.once('drain', resolve).once('close', resolve));
      }
    } catch {
      // aborted: the page went away, or a drop
    }
    open.delete(conn);
    if (!res.destroyed) res.end(); // a clean end: the client reconnects with Last-Event-ID
  }

  /** Ends every open stream now. */
  function drop() {
    stats.drops++;
    for (const conn of [...open]) {
      open.delete(conn);
      conn.abort.abort();
    }
  }

  /** Runs `publish` with the streams dropped and reconnections held until it is acknowledged,
   *  when the fault is armed for this notification's type; else just runs it. */
  async function dropAround(type, publish) {
    if (armed !== type) return publish();
    armed = null;
    let release;
    gate = new Promise((resolve) => (release = resolve));
    drop();
    try {
      return await publish();
    } finally {
      gate = null;
      release();
    }
  }

  return {
    relay,
    dropAround,
    arm: (type) => void (armed = type),
    disarm: () => void (armed = null),
    state: () => ({ ...stats, open: open.size, armed, connections }),
    close: () => {
      armed = null;
      for (const conn of open) conn.abort.abort();
      if (gate) gate = null;
    },
  };
}

async function readJson(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString('utf8');
  return text.trim() === '' ? {} : JSON.parse(text);
}

function json(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

async function serveStatic(req, res, dist) {
  const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
  const file = normalize(join(dist, path === '/' ? 'index.html' : path));
  if (!file.startsWith(dist) || !existsSync(file) || extname(file) === '') {
    return json(res, 404, { error: { name: 'NotFound', message: `no ${path}` } });
  }
  res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-cache' });
  res.end(await readFile(file));
}

/**
 * Starts the Worker, the order service and the front server on 127.0.0.1.
 * `port` 0 takes any free port; a taken port falls back to a free one unless `strictPort`.
 * Returns `{ url, workerUrl, published, orders, sse, close() }`; `published` lists every
 * notification the hub acknowledged, `{ id, type, entityId, data }`, in publish order.
 */
export async function startDemo({ port = 0, strictPort = false, dist = DIST, paymentProcessingMs = 300 } = {}) {
  if (!existsSync(join(dist, 'index.html'))) throw new Error(`${dist} is not built: run \`npx vite build www\``);
  const worker = await startWorker();
  const tokens = devTokens();
  const published = [];
  const sse = sseFront(worker.url, () => published.at(-1)?.id ?? null);

  async function publish(notification) {
    return sse.dropAround(notification.type, async () => {
      const res = await fetch(new URL('/events', worker.url), {
        method: 'POST',
        headers: { authorization: `Bearer ${tokens.publisher}`, 'content-type': 'application/json' },
        body: JSON.stringify(notification),
      });
      const body = await res.json();
      if (res.status !== 201) throw new Error(`the hub refused ${notification.type}: ${res.status} ${JSON.stringify(body)}`);
      published.push({ id: body.id, type: notification.type, entityId: notification.entityId, data: notification.data });
      return body;
    });
  }

  const orders = createOrderService({ publish, paymentProcessingMs });

  const server = http.createServer(async (req, res) => {
    const path = req.url.split('?')[0];
    try {
      if (path === '/api' || path.startsWith('/api/')) {
        req.url = req.url.slice('/api'.length) || '/';
        return await orders.handle(req, res);
      }
      if (path === '/events') return await sse.relay(req, res);
      if (path === '/_demo/state' && req.method === 'GET') {
        await orders.published(); // what was announced so far is in `published`
        return json(res, 200, { published, sse: sse.state(), tokens: { subscriber: tokens.subscriber } });
      }
      if (path === '/_demo/faults' && req.method === 'POST') {
        const { sseDropBefore = null } = await readJson(req);
        if (sseDropBefore !== null && typeof sseDropBefore !== 'string') return json(res, 400, { error: 'sseDropBefore must be a notification type' });
        if (sseDropBefore) sse.arm(sseDropBefore);
        else sse.disarm();
        return json(res, 200, { sse: sse.state() });
      }
      if (req.method === 'GET') return await serveStatic(req, res, dist);
      json(res, 405, { error: { name: 'MethodNotAllowed', message: `${req.method} ${path}` } });
    } catch (error) {
      if (!res.headersSent) json(res, 500, { error: { name: 'InternalError', message: String(error?.message ?? error) } });
      else res.destroy();
    }
  });

  const listen = (p) => new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(p, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  try {
    await listen(port).catch((error) => {
      if (error.code !== 'EADDRINUSE' || strictPort) throw error;
      return listen(0);
    });
  } catch (error) {
    await worker.close();
    throw error;
  }

  return {
    url: `http://127.0.0.1:${server.address().port}/`,
    workerUrl: worker.url,
    published,
    orders,
    sse,
    async close() {
      sse.close();
      orders.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await worker.close();
    },
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const demo = await startDemo({ port: Number(process.env.PORT ?? 5173) });
  console.log('edgesaga demo');
  console.log(`  worker (workerd, wrangler.toml) ${demo.workerUrl}  — its notification hub is the page's SSE source`);
  console.log('  order service                   /api (inventory, payments, orders; state at /api/_state)');
  console.log(`\n  open ${demo.url}\n`);
  console.log('Ctrl-C stops it.');
  const stop = () => demo.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
