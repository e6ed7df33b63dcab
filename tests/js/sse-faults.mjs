// Fault injection for sse-server.mjs: the ways real servers and proxies break a stream. Kept
// apart so the server reads as the well-behaved SSE server the faults depart from. Faults that
// only change what the server sends (retry, duplicates, hugeLine, silent, heartbeatMs,
// endAfter) are one-line decisions there; the mechanics of the others live here.
//
// Faults (`configure(faults)` = persistent, `configure(faults, { next: n })` = only the next n
// connections, `configure(null)` = clear all):
//   chunks: true | { min, max, delayMs }  split every write into small random pieces
//   lineEnding: 'lf' | 'crlf' | 'cr'
//   dropAfter: n | { min, max }   after n events, write part of the next one and cut the socket
//   endAfter: n                    after n events, end the body cleanly
//   retry: ms                      send `retry: ms` first
//   status: 204 | 500 | …          answer that status instead of a stream
//   contentType: 'text/plain'      answer 200 with that type (and an event-looking body)
//   duplicates: n                  on replay, also re-send the n events up to Last-Event-ID
//   hugeLine: bytes                after replay, one `data:` line of that many bytes, no id
//   silent: true                   headers only: no replay, no events, no heartbeats
//   heartbeatMs: ms                override the heartbeat interval (0 = none)
//   token: string | string[]       require `Authorization: Bearer <token>`, else 401
//   headId: true                   a fresh connection (no Last-Event-ID) gets live events only,
//                                  after an id-only block naming the newest id (as the Worker hub)

import { lightweight } from './sse-fixtures.mjs';

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

/** The persistent faults and the queue of one-off ones; `take()` gives a new connection its own. */
export function faultSchedule() {
  let persistent = {};
  const queued = []; // [{ faults, remaining }]
  const clear = () => {
    persistent = {};
    queued.length = 0;
  };
  return {
    clear,
    take() {
      const head = queued[0];
      const faults = { ...persistent, ...(head?.faults ?? {}) };
      if (head && --head.remaining <= 0) queued.shift();
      return faults;
    },
    configure(faults, { next } = {}) {
      if (faults == null) clear();
      else if (next) queued.push({ faults, remaining: next });
      else persistent = { ...persistent, ...faults };
    },
  };
}

/** Drawn once per connection, before anything is written, so the rng sequence is reproducible. */
export const connectionFaults = (faults, rng) => ({
  eol: EOLS[faults.lineEnding ?? 'lf'],
  dropAfter: pick(faults.dropAfter, rng) ?? null,
});

/**
 * The answer that replaces the stream (`{ status, headers, body }`), or null to stream.
 * The wrong-type body is framed as an event by the server's own `frame(item, eol)`, so a
 * client that ignores the type would deliver it.
 */
export function refusal(faults, authorization, frame) {
  const tokens = faults.token == null ? null : [faults.token].flat();
  if (tokens && !tokens.some((t) => authorization === `Bearer ${t}`)) {
    return { status: 401, headers: { 'www-authenticate': 'Bearer', 'content-type': 'text/plain' }, body: 'unauthorized' };
  }
  if (faults.status != null && faults.status !== 200) {
    return faults.status === 204
      ? { status: 204, headers: {}, body: undefined }
      : { status: faults.status, headers: { 'content-type': 'text/plain' }, body: `fault: status ${faults.status}` };
  }
  if (faults.contentType) {
    const body = frame({ kind: 'event', id: '999999', data: JSON.stringify(lightweight(999999)) }, '\n');
    return { status: 200, headers: { 'content-type': faults.contentType }, body };
  }
  return null;
}

export const dropsNow = (conn) => conn.dropAfter != null && conn.log.events.length >= conn.dropAfter;

/**
 * Writes `bytes`, in random pieces when `chunks` asks for them, with backpressure. Returns the
 * piece lengths handed to the socket and whether that was all of them (a close stops it).
 */
export async function writePieces(conn, bytes) {
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
  return { written, complete: written.length === pieces.length };
}

/**
 * Writes part of an event's frame with `writePart` and destroys the socket. The cut lands
 * anywhere from the first byte up to (not including) the blank line that would dispatch it:
 * the client holds a partial event, maybe even its complete `id:` line, which must not count
 * as received.
 */
export async function dropMidEvent(conn, bytes, id, writePart) {
  const cut = 1 + Math.floor(conn.rng() * (bytes.length - conn.eol.length));
  await writePart(bytes.subarray(0, cut));
  // Wait until the partial bytes reached the kernel: destroying right away would throw
  // away what is still queued in the stream and the client would never see them.
  await new Promise((resolve) => (conn.closed ? resolve() : conn.res.write('', resolve)));
  conn.log.partial = id;
  conn.log.endedBy = 'server';
  conn.res.destroy();
}

/**
 * One `data:` line of `size` bytes, streamed from one reused 64 KiB block with backpressure:
 * the server never holds the line. Returns the bytes it stands for on the wire.
 */
export async function writeHugeLine(conn, size) {
  const block = Buffer.alloc(64 * 1024, 'x');
  const write = async (buf) => {
    if (!conn.closed && !conn.res.write(buf)) await drained(conn.res);
  };
  await write(Buffer.from('data: '));
  for (let left = size; left > 0 && !conn.closed; left -= block.length) {
    await write(left >= block.length ? block : block.subarray(0, left));
  }
  await write(Buffer.from(conn.eol + conn.eol));
  return size + 6 + 2 * conn.eol.length;
}
