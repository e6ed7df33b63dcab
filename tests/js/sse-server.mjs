// A real local Server-Sent Events server for the NotificationStream tests: numbered events,
// bounded replay from Last-Event-ID, heartbeats, poison payloads, and the faults real servers
// and proxies produce (sse-faults.mjs).
//
// Tests judge the client by what the *server* saw and wrote, so every connection (headers,
// method, body, timing, event ids) and every frame written is logged.
//
// Standalone: `node tests/js/sse-server.mjs` prints its URL and publishes a demo notification
// every second (PORT=… picks a port, SSE_SEED=… the chunking seed).

import http from 'node:http';
import { pathToFileURL } from 'node:url';
import { lightweight, envelope, POISON } from './sse-fixtures.mjs';
import {
  prng, faultSchedule, connectionFaults, refusal, dropsNow, writePieces, dropMidEvent, writeHugeLine,
} from './sse-faults.mjs';

export * from './sse-fixtures.mjs';
export { prng, splitBytes } from './sse-faults.mjs';

export const MiB = 1024 * 1024;

const frameText = (item, eol) => {
  if (item.kind === 'comment') return `:${item.text}${eol}`;
  if (item.kind === 'retry') return `retry: ${item.ms}${eol}`;
  if (item.kind === 'id') return `id: ${item.id}${eol}${eol}`;
  const lines = [`id: ${item.id}`];
  if (item.event) lines.push(`event: ${item.event}`);
  for (const line of item.data.split('\n')) lines.push(`data: ${line}`);
  return lines.map((line) => line + eol).join('') + eol;
};

function readBody(req) {
  return new Promise((resolve, reject) => {
    const parts = [];
    req.on('data', (part) => parts.push(part));
    req.on('end', () => resolve(parts.length ? Buffer.concat(parts).toString('utf8') : null));
    req.on('error', reject);
  });
}

/**
 * Starts the server on 127.0.0.1 (port 0 = any free port). The faults `configure()` takes are
 * listed in sse-faults.mjs.
 */
export async function startSseServer(options = {}) {
  const {
    port = 0, path = '/events', heartbeatMs = 15_000, historySize = 1000,
    seed = Number(process.env.SSE_SEED ?? 1), replayFromStart = true,
  } = options;

  let nextId = 0;
  const schedule = faultSchedule();
  const history = []; // [{ id, event, data }], oldest first, at most historySize
  const live = new Set(); // connections that receive newly published events
  const open = new Set(); // every connection whose response is still open
  const connections = [];
  const sent = [];

  function enqueue(conn, item) {
    conn.queue.push(item);
    pump(conn);
  }

  // One writer per connection, so frames never interleave and backpressure is respected.
  async function pump(conn) {
    if (conn.pumping) return;
    conn.pumping = true;
    try {
      while (conn.queue.length && !conn.closed) {
        const item = conn.queue.shift();
        if (item.kind === 'huge') {
          const bytes = await writeHugeLine(conn, item.bytes);
          sent.push({ connection: conn.log.index, kind: 'huge', id: null, text: null, bytes, chunks: null });
          continue;
        }
        const bytes = Buffer.from(frameText(item, conn.eol));
        if (item.kind === 'event' && dropsNow(conn)) {
          await dropMidEvent(conn, bytes, item.id, (part) => write(conn, part, 'partial', item.id));
          return;
        }
        await write(conn, bytes, item.kind, item.id);
        if (item.kind === 'event') {
          conn.log.events.push(item.id);
          if (conn.faults.endAfter != null && conn.log.events.length >= conn.faults.endAfter) {
            conn.log.endedBy = 'server';
            conn.res.end();
            return;
          }
        }
      }
    } finally {
      conn.pumping = false;
    }
  }

  async function write(conn, bytes, kind, id = null) {
    const { written, complete } = await writePieces(conn, bytes);
    // The log holds what was handed to the socket, so a frame cut short by a close shows so.
    if (written.length) {
      const length = written.reduce((a, b) => a + b, 0);
      const text = bytes.subarray(0, length).toString('utf8');
      sent.push({ connection: conn.log.index, kind, id, text, bytes: length, chunks: written, complete });
    }
  }

  function replayFor(lastEventId, duplicates = 0) {
    if (lastEventId == null) return { events: replayFromStart ? history.slice() : [], gap: false };
    const last = Number(lastEventId);
    if (!Number.isInteger(last)) return { events: history.slice(), gap: true };
    // An id older than what we still hold means the client missed events we cannot replay.
    const gap = history.length > 0 && Number(history[0].id) > last + 1;
    return { events: history.filter((e) => Number(e.id) > last - duplicates), gap };
  }

  async function handle(req, res) {
    const url = new URL(req.url, 'http://localhost');
    // CORS, so the same server can feed a page served from another origin (Chromium tests).
    res.setHeader('access-control-allow-origin', req.headers.origin ?? '*');
    res.setHeader('access-control-allow-credentials', 'true');
    if (req.method === 'OPTIONS') {
      res.writeHead(204, {
        'access-control-allow-methods': 'GET, POST',
        'access-control-allow-headers': 'authorization, last-event-id, content-type, cache-control, accept',
      }).end();
      return;
    }
    if (url.pathname !== path) return void res.writeHead(404).end();
    if (req.method !== 'GET' && req.method !== 'POST') return void res.writeHead(405, { allow: 'GET, POST' }).end();
    const body = await readBody(req);
    const faults = schedule.take();
    const index = connections.length;
    const rng = prng(seed * 7919 + index); // per connection: reproducible whatever the timing
    const lastEventId = req.headers['last-event-id'] || null;
    const log = {
      index, method: req.method, url: req.url, body,
      headers: {
        lastEventId, accept: req.headers.accept ?? null, authorization: req.headers.authorization ?? null,
        cookie: req.headers.cookie ?? null, origin: req.headers.origin ?? null,
      },
      startedAt: Date.now(), endedAt: null, endedBy: null, status: null, faults,
      replayed: [], gap: false, events: [], partial: null,
    };
    connections.push(log);
    res.on('close', () => {
      log.endedAt = Date.now();
      log.endedBy ??= 'client';
    });

    const refused = refusal(faults, log.headers.authorization, frameText);
    if (refused) {
      // Ended by the server, not by the client going away.
      log.status = refused.status;
      log.endedBy = 'server';
      res.writeHead(refused.status, refused.headers).end(refused.body);
      return;
    }

    log.status = 200;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
    });
    res.flushHeaders();
    res.socket?.setNoDelay(true);

    const conn = {
      log, res, faults, rng, queue: [], pumping: false, closed: false,
      ...connectionFaults(faults, rng),
      timer: null,
    };
    log.dropAfter = conn.dropAfter;
    open.add(conn);
    res.on('close', () => {
      conn.closed = true;
      clearInterval(conn.timer);
      live.delete(conn);
      open.delete(conn);
    });
    if (faults.silent) return void (log.silent = true);

    if (faults.retry != null) enqueue(conn, { kind: 'retry', ms: faults.retry });
    if (faults.headId && lastEventId == null) {
      // Where this connection starts, as an id-only block: a client can resume from it before
      // any event came (the spec commits the id without dispatching).
      enqueue(conn, { kind: 'id', id: String(nextId) });
      log.headId = String(nextId);
    }
    const replay = faults.headId && lastEventId == null ? { events: [], gap: false } : replayFor(lastEventId, faults.duplicates ?? 0);
    log.gap = replay.gap;
    log.replayed = replay.events.map((e) => e.id);
    for (const e of replay.events) enqueue(conn, { kind: 'event', ...e });
    if (faults.hugeLine) enqueue(conn, { kind: 'huge', bytes: faults.hugeLine });
    // Same tick as the replay: no event can fall between replay and live delivery.
    live.add(conn);
    const every = faults.heartbeatMs ?? heartbeatMs;
    if (every > 0) conn.timer = setInterval(() => enqueue(conn, { kind: 'comment', text: '' }), every);
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((error) => {
      console.error('sse-server:', error);
      res.destroy();
    });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const origin = `http://127.0.0.1:${server.address().port}`;

  function closeOpen() {
    for (const conn of open) {
      // Synchronously out of every set: a publish right after reset() must not reach it.
      conn.closed = true;
      live.delete(conn);
      open.delete(conn);
      clearInterval(conn.timer);
      conn.log.endedBy ??= 'server';
      conn.res.destroy();
    }
  }

  return {
    url: origin + path,
    origin,
    seed,
    connections,
    sent,
    get history() { return history.slice(); },
    get lastId() { return nextId === 0 ? null : String(nextId); },
    /** Connections cut mid-event by `dropAfter`. */
    get drops() { return connections.filter((c) => c.partial != null).length; },
    /** Connections whose response is still open (as far as the server knows). */
    get openConnections() { return open.size; },

    /**
     * Publishes one notification (an object is sent as JSON, a string as raw data) to every
     * live connection and keeps it for replay. Returns its id.
     * `multiline: true` pretty-prints the JSON so it spans several `data:` lines.
     */
    publish(notification, { id, event, multiline = false } = {}) {
      const data = typeof notification === 'string'
        ? notification
        : JSON.stringify(notification, null, multiline ? 2 : undefined);
      if (id != null && Number.isInteger(Number(id))) nextId = Math.max(nextId, Number(id));
      const entry = { id: id == null ? String(++nextId) : String(id), event, data };
      history.push(entry);
      if (history.length > historySize) history.shift();
      for (const conn of live) enqueue(conn, { kind: 'event', ...entry });
      return entry.id;
    },
    /** `kind` is a key of POISON. */
    publishPoison(kind, opts) {
      if (!(kind in POISON)) throw new Error(`unknown poison ${kind}`);
      return this.publish(POISON[kind], opts);
    },
    configure(faults, options) {
      schedule.configure(faults, options);
    },
    reset() {
      closeOpen();
      nextId = 0;
      schedule.clear();
      history.length = 0;
      connections.length = 0;
      sent.length = 0;
    },
    close() {
      closeOpen();
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const server = await startSseServer({ port: Number(process.env.PORT) || 0, heartbeatMs: 5000 });
  console.log(server.url);
  let seq = 0;
  const timer = setInterval(() => {
    seq += 1;
    server.publish(seq % 2 ? lightweight(seq) : envelope(seq));
  }, 1000);
  const stop = () => {
    clearInterval(timer);
    server.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
