// A real local Server-Sent Events server for the NotificationStream tests: numbered events,
// bounded replay from Last-Event-ID, heartbeats, and the faults real servers and proxies
// produce (split chunks, odd line endings, mid-event drops, retry, bad statuses, duplicates,
// a hostile 64 MiB line, silence, poison payloads, auth).
//
// Tests judge the client by what the *server* saw and wrote, so every connection (headers,
// method, body, timing, event ids) and every frame written is logged.
//
// Standalone: `node tests/js/sse-server.mjs` prints its URL and publishes a demo notification
// every second (PORT=… picks a port, SSE_SEED=… the chunking seed).

import http from 'node:http';
import { pathToFileURL } from 'node:url';
import { lightweight, envelope, POISON } from './sse-fixtures.mjs';

export * from './sse-fixtures.mjs';

export const MiB = 1024 * 1024;
const EOLS = { lf: '\n', crlf: '\r\n', cr: '\r' };

/** mulberry32: a tiny seeded PRNG, so a chunk pattern that breaks a client can be replayed. */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const frameText = (item, eol) => {
  if (item.kind === 'comment') return `:${item.text}${eol}`;
  if (item.kind === 'retry') return `retry: ${item.ms}${eol}`;
  const lines = [`id: ${item.id}`];
  if (item.event) lines.push(`event: ${item.event}`);
  for (const line of item.data.split('\n')) lines.push(`data: ${line}`);
  return lines.map((line) => line + eol).join('') + eol;
};

/**
 * Random small pieces. Half the time the cut is forced onto a spot parsers get wrong —
 * between CR and LF, or inside a UTF-8 sequence — so those cases occur in every run.
 */
export function splitBytes(bytes, rng, { min = 1, max = 8 } = {}) {
  const pieces = [];
  for (let pos = 0; pos < bytes.length; ) {
    let len = min + Math.floor(rng() * (max - min + 1));
    if (rng() < 0.5) {
      const cuts = [];
      for (let p = pos + 1; p < Math.min(bytes.length, pos + max + 1); p++) {
        if ((bytes[p - 1] === 13 && bytes[p] === 10) || (bytes[p] & 0xc0) === 0x80) cuts.push(p - pos);
      }
      if (cuts.length) len = cuts[Math.floor(rng() * cuts.length)];
    }
    pieces.push(bytes.subarray(pos, pos + len));
    pos += len;
  }
  return pieces;
}

const pick = (value, rng) =>
  typeof value === 'object' && value !== null
    ? value.min + Math.floor(rng() * (value.max - value.min + 1))
    : value;

// Resolves on 'drain' or 'close': a peer that vanished mid-write must not wedge the pump.
const drained = (res) =>
  new Promise((resolve) => {
    const done = () => { res.off('drain', done); res.off('close', done); resolve(); };
    res.on('drain', done);
    res.on('close', done);
  });

const tick = (ms) => new Promise((resolve) => (ms ? setTimeout(resolve, ms) : setImmediate(resolve)));

function readBody(req) {
  return new Promise((resolve, reject) => {
    const parts = [];
    req.on('data', (part) => parts.push(part));
    req.on('end', () => resolve(parts.length ? Buffer.concat(parts).toString('utf8') : null));
    req.on('error', reject);
  });
}

/**
 * Starts the server on 127.0.0.1 (port 0 = any free port).
 *
 * Faults (`configure(faults)` = persistent, `configure(faults, { next: n })` = only the next n
 * connections, `configure(null)` = clear all):
 *   chunks: true | { min, max, delayMs }  split every write into small random pieces
 *   lineEnding: 'lf' | 'crlf' | 'cr'
 *   dropAfter: n | { min, max }   after n events, write part of the next one and cut the socket
 *   endAfter: n                    after n events, end the body cleanly
 *   retry: ms                      send `retry: ms` first
 *   status: 204 | 500 | …          answer that status instead of a stream
 *   contentType: 'text/plain'      answer 200 with that type (and an event-looking body)
 *   duplicates: n                  on replay, also re-send the n events up to Last-Event-ID
 *   hugeLine: bytes                after replay, one `data:` line of that many bytes, no id
 *   silent: true                   headers only: no replay, no events, no heartbeats
 *   heartbeatMs: ms                override the heartbeat interval (0 = none)
 *   token: string | string[]       require `Authorization: Bearer <token>`, else 401
 */
export async function startSseServer(options = {}) {
  const {
    port = 0, path = '/events', heartbeatMs = 15_000, historySize = 1000,
    seed = Number(process.env.SSE_SEED ?? 1), replayFromStart = true,
  } = options;

  let nextId = 0;
  let drops = 0;
  let persistent = {};
  const queued = []; // [{ faults, remaining }]
  const history = []; // [{ id, event, data }], oldest first, at most historySize
  const live = new Set(); // connections that receive newly published events
  const open = new Set(); // every connection whose response is still open
  const connections = [];
  const sent = [];

  function takeFaults() {
    const head = queued[0];
    const faults = { ...persistent, ...(head?.faults ?? {}) };
    if (head && --head.remaining <= 0) queued.shift();
    return faults;
  }

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
          await writeHuge(conn, item.bytes);
          continue;
        }
        const bytes = Buffer.from(frameText(item, conn.eol));
        if (item.kind === 'event' && conn.dropAfter != null && conn.log.events.length >= conn.dropAfter) {
          // Cut anywhere from the first byte up to (not including) the blank line that would
          // dispatch it: the client holds a partial event, maybe even its complete `id:` line,
          // which must not count as received.
          const cut = 1 + Math.floor(conn.rng() * (bytes.length - conn.eol.length));
          await write(conn, bytes.subarray(0, cut), 'partial', item.id);
          // Wait until the partial bytes reached the kernel: destroying right away would throw
          // away what is still queued in the stream and the client would never see them.
          await new Promise((resolve) => (conn.closed ? resolve() : conn.res.write('', resolve)));
          conn.log.partial = item.id;
          conn.log.endedBy = 'server';
          drops++;
          conn.res.destroy();
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
    const chunking = conn.faults.chunks;
    const pieces = chunking ? splitBytes(bytes, conn.rng, chunking === true ? {} : chunking) : [bytes];
    const written = [];
    for (let i = 0; i < pieces.length && !conn.closed; i++) {
      // Yield between pieces so they leave as separate TCP segments, not one coalesced write.
      if (i > 0) await tick(chunking?.delayMs ?? 0);
      if (conn.closed) break;
      written.push(pieces[i].length);
      if (!conn.res.write(pieces[i])) await drained(conn.res);
    }
    // The log holds what was handed to the socket, so a frame cut short by a close shows so.
    if (written.length) {
      const length = written.reduce((a, b) => a + b, 0);
      sent.push({ connection: conn.log.index, kind, id, text: bytes.subarray(0, length).toString('utf8'), bytes: length,
        chunks: written,
        complete: written.length === pieces.length });
    }
  }

  // Streamed from one reused 64 KiB block with backpressure: the server never holds the line.
  async function writeHuge(conn, size) {
    const block = Buffer.alloc(64 * 1024, 'x');
    const write = async (buf) => {
      if (!conn.closed && !conn.res.write(buf)) await drained(conn.res);
    };
    await write(Buffer.from('data: '));
    for (let left = size; left > 0 && !conn.closed; left -= block.length) {
      await write(left >= block.length ? block : block.subarray(0, left));
    }
    await write(Buffer.from(conn.eol + conn.eol));
    sent.push({ connection: conn.log.index, kind: 'huge', id: null, text: null, bytes: size + 6 + 2 * conn.eol.length, chunks: null });
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
    const faults = takeFaults();
    const index = connections.length;
    const rng = prng(seed * 7919 + index); // per connection: reproducible whatever the timing
    const lastEventId = req.headers['last-event-id'] || null;
    const log = {
      index, method: req.method, url: req.url, body,
      headers: { lastEventId, accept: req.headers.accept ?? null, authorization: req.headers.authorization ?? null },
      startedAt: Date.now(), endedAt: null, endedBy: null, status: null, faults,
      replayed: [], gap: false, events: [], partial: null,
    };
    connections.push(log);
    res.on('close', () => {
      log.endedAt = Date.now();
      log.endedBy ??= 'client';
    });

    // Every early answer below is ended by the server, not by the client going away.
    const answer = (status) => {
      log.status = status;
      log.endedBy = 'server';
    };
    const tokens = faults.token == null ? null : [faults.token].flat();
    if (tokens && !tokens.some((t) => log.headers.authorization === `Bearer ${t}`)) {
      answer(401);
      res.writeHead(401, { 'www-authenticate': 'Bearer', 'content-type': 'text/plain' }).end('unauthorized');
      return;
    }
    if (faults.status != null && faults.status !== 200) {
      answer(faults.status);
      res.writeHead(faults.status, faults.status === 204 ? {} : { 'content-type': 'text/plain' });
      res.end(faults.status === 204 ? undefined : `fault: status ${faults.status}`);
      return;
    }
    if (faults.contentType) {
      // A body that would parse as an event: a client that ignores the type would deliver it.
      answer(200);
      res.writeHead(200, { 'content-type': faults.contentType });
      res.end(frameText({ kind: 'event', id: '999999', data: JSON.stringify(lightweight(999999)) }, '\n'));
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
      eol: EOLS[faults.lineEnding ?? 'lf'],
      dropAfter: pick(faults.dropAfter, rng) ?? null,
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
    const replay = replayFor(lastEventId, faults.duplicates ?? 0);
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
    get drops() { return drops; },
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
    configure(faults, { next } = {}) {
      if (faults == null) {
        persistent = {};
        queued.length = 0;
      } else if (next) queued.push({ faults, remaining: next });
      else persistent = { ...persistent, ...faults };
    },
    reset() {
      closeOpen();
      nextId = 0;
      drops = 0;
      persistent = {};
      queued.length = 0;
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
