// SseParser through its JS API. Each export receives a parser created in Rust and builds the
// ones it needs with `parser.constructor`; it throws on the first mismatch.

function eq(actual, expected, message) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a === e) return;
  // Point at the first difference rather than print two long streams.
  const events = (x) => (Array.isArray(x) ? x : x?.events);
  const [got, want] = [events(actual), events(expected)];
  if (Array.isArray(got) && Array.isArray(want)) {
    const i = want.findIndex((w, k) => JSON.stringify(w) !== JSON.stringify(got[k]));
    if (i >= 0 || got.length !== want.length) {
      const at = i >= 0 ? i : want.length;
      throw new Error(`${message}: event ${at} of ${want.length}: expected ${JSON.stringify(want[at])}, got ${JSON.stringify(got[at])} (${got.length} events)`);
    }
  }
  throw new Error(`${message}: expected ${e.slice(0, 500)}, got ${a.slice(0, 500)}`);
}
function same(actual, expected, message) {
  if (!Object.is(actual, expected)) throw new Error(`${message}: expected ${String(expected)}, got ${String(actual)}`);
}
function throws(f, check, message) {
  try {
    f();
  } catch (e) {
    check(e);
    return;
  }
  throw new Error(`${message}: did not throw`);
}

const encoder = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const hexBytes = (hex) => Uint8Array.from(hex.match(/../g) ?? [], (h) => parseInt(h, 16));
const toBytes = (chunk) => (typeof chunk === 'string' ? encoder.encode(chunk) : hexBytes(chunk.hex));
function concat(parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function chunked(bytes, size) {
  const chunks = [];
  for (let at = 0; at < bytes.length; at += size) chunks.push(bytes.subarray(at, at + size));
  return chunks;
}

/** Feeds `chunks` (Uint8Arrays and strings) to a new parser and ends the stream. */
function run(Parser, chunks, options) {
  const parser = new Parser(options);
  const events = [];
  for (const chunk of chunks) {
    const out = parser.feed(chunk);
    if (!Array.isArray(out)) throw new Error('feed must return an array');
    for (const e of out) events.push(e);
  }
  const tail = parser.end();
  if (!Array.isArray(tail)) throw new Error('end must return an array');
  for (const e of tail) events.push(e);
  for (const e of events) eq(Object.keys(e), ['type', 'data', 'lastEventId'], 'event keys');
  return { events, lastEventId: parser.lastEventId, retry: parser.retry, errors: parser.protocolErrors };
}

function expectVector(v, got, how) {
  eq(got.events, v.events, `${v.name} (${how}): events`);
  if ('lastEventId' in v) same(got.lastEventId, v.lastEventId, `${v.name} (${how}): lastEventId`);
  if ('retry' in v) same(got.retry, v.retry ?? undefined, `${v.name} (${how}): retry`);
  same(got.errors, 0, `${v.name} (${how}): protocolErrors`);
}

function sameOutcome(got, whole, message) {
  eq(got, whole, message);
  same(got.retry, whole.retry, `${message}: retry`); // JSON drops undefined
}

export function sseVectorsEveryChunking(parser, json) {
  const Parser = parser.constructor;
  const { vectors } = JSON.parse(json);
  if (vectors.length < 20) throw new Error(`only ${vectors.length} vectors`);
  for (const v of vectors) {
    // As chunked in the fixture: text chunks as JS strings, hex chunks as bytes.
    expectVector(v, run(Parser, v.chunks.map((c) => (typeof c === 'string' ? c : hexBytes(c.hex)))), 'as in the fixture');
    const bytes = concat(v.chunks.map(toBytes));
    const whole = run(Parser, [bytes]);
    expectVector(v, whole, 'one chunk of bytes');
    for (let at = 0; at <= bytes.length; at++) {
      sameOutcome(run(Parser, [bytes.subarray(0, at), bytes.subarray(at)]), whole, `${v.name}: bytes split at ${at}`);
    }
    const single = [];
    for (let i = 0; i < bytes.length; i++) single.push(bytes.slice(i, i + 1));
    sameOutcome(run(Parser, single), whole, `${v.name}: byte by byte`);

    let text;
    try {
      text = strictUtf8.decode(bytes);
    } catch {
      continue; // not valid UTF-8: only bytes can carry it
    }
    sameOutcome(run(Parser, [text]), whole, `${v.name}: one string`);
    const chars = Array.from(text); // code points: a split never cuts a surrogate pair
    for (let at = 0; at <= chars.length; at++) {
      const parts = [chars.slice(0, at).join(''), chars.slice(at).join('')];
      sameOutcome(run(Parser, parts), whole, `${v.name}: string split at code point ${at}`);
    }
    sameOutcome(run(Parser, chars), whole, `${v.name}: code point by code point`);
  }
}

/** A stream that exercises every path of the batch encoding, with its expected events. */
function mixedStream() {
  const types = ['message', 'order.paid', 'order.paid', 'ünïcödé', '', 'x😀y', 'order.paid'];
  const datas = ['plain', '', 'café 😀 ∑', '\uFEFFstarts with a BOM', 'two\nlines', 'nul\0inside', '😀', 'a'.repeat(300)];
  const ids = [null, '1', null, '', '😀-2', '😀-2', null, 'z'];
  let wire = '\uFEFF';
  const events = [];
  let lastEventId = '';
  for (let i = 0; i < 400; i++) {
    const type = types[i % types.length];
    const data = datas[(i * 3) % datas.length];
    const id = ids[(i * 5) % ids.length];
    if (i % 11 === 0) wire += ': a comment\n';
    if (type !== '') wire += `event: ${type}\n`;
    if (id !== null) wire += `id: ${id}\n`;
    for (const line of data.split('\n')) wire += `data: ${line}\n`;
    wire += i % 2 ? '\r\n' : '\n';
    if (id !== null) lastEventId = id;
    events.push({ type: type === '' ? 'message' : type, data, lastEventId });
  }
  return { wire, events, lastEventId };
}

export function sseBatchesAndStrings(parser) {
  const Parser = parser.constructor;
  const { wire, events, lastEventId } = mixedStream();
  const bytes = encoder.encode(wire);
  const expected = { events, lastEventId, retry: undefined, errors: 0 };
  eq(run(Parser, [bytes]), expected, 'one batch of bytes');
  eq(run(Parser, [wire]), expected, 'one string');
  for (const size of [1, 7, 64, 1000]) eq(run(Parser, chunked(bytes, size)), expected, `bytes in chunks of ${size}`);
  // A view at an offset into a larger buffer, and Node's Buffer (a Uint8Array).
  const padded = new Uint8Array(bytes.length + 10);
  padded.set(bytes, 5);
  eq(run(Parser, [padded.subarray(5, 5 + bytes.length)]), expected, 'a view at an offset');
  if (typeof globalThis.Buffer === 'function') eq(run(Parser, [globalThis.Buffer.from(bytes)]), expected, 'a Buffer');
  // More distinct types than the glue's table holds (64): the rest are sent each time.
  let many = '';
  const typed = [];
  for (let i = 0; i < 300; i++) {
    const type = `t${(i * 7) % 150}-é`;
    many += `event: ${type}\ndata: ${i}\n\n`;
    typed.push({ type, data: String(i), lastEventId: '' });
  }
  eq(run(Parser, [many]).events, typed, '150 distinct types in one batch');
  eq(run(Parser, chunked(encoder.encode(many), 100)).events, typed, '150 distinct types over many batches');
  // The stream's BOM is stripped once; one opening the data stays.
  eq(run(Parser, ['\uFEFFdata: \uFEFFx\n\n']).events, [{ type: 'message', data: '\uFEFFx', lastEventId: '' }], 'BOM in data');
}

export function sseLimitsReportAndResume(parser) {
  const Parser = parser.constructor;
  const errors = [];
  const p = new Parser({ maxLineBytes: 16, maxEventBytes: 40, onError: (e) => errors.push(e) });
  eq(p.feed(`data: ok\n\ndata: ${'x'.repeat(30)}\ndata: dropped\n\ndata: after\n\n`).map((e) => e.data), ['ok', 'after'], 'line too long');
  same(errors.length, 1, 'one error reported');
  const [e] = errors;
  same(e instanceof Error, true, 'a real Error');
  same(e.name, 'SseProtocolError', 'name');
  same(e.kind, 'line_too_long', 'kind');
  same(e.limit, 16, 'limit');
  if (!e.message.includes('maxLineBytes') || !e.message.includes('16')) throw new Error(`message: ${e.message}`);

  eq(p.feed('id: 9\ndata: 0123456789\ndata: 0123456789\ndata: 0123456789\n\ndata: next\n\n').map((e) => e.data), ['next'], 'event too large');
  same(p.lastEventId, '', 'the id of a dropped event is never committed');
  same(errors[1].kind, 'event_too_large', 'kind');
  same(errors[1].limit, 40, 'limit');

  // A long line split across chunks: reported by the chunk that crosses the limit.
  eq(p.feed('data: yyyyyyyyy'), [], 'under the limit so far');
  same(errors.length, 2, 'not yet');
  eq(p.feed('yyyyyyyyy'), [], 'over the limit');
  same(errors.length, 3, 'reported once the limit is crossed');
  eq(p.feed('yyyy\ndata: still dropped\n\ndata: z\n\n').map((e) => e.data), ['z'], 'resumes after the blank line');
  same(p.protocolErrors, 3, 'protocolErrors');

  // A throwing onError is logged; the chunk's events are still returned.
  const logged = [];
  const original = console.error;
  console.error = (...args) => logged.push(args);
  let calls = 0;
  try {
    const t = new Parser({ maxLineBytes: 8, onError: () => { calls += 1; throw new Error('listener bug'); } });
    const out = t.feed('data: 123456789\n\ndata: a\n\ndata: 123456789\n\ndata: b\n\n');
    eq(out.map((e) => e.data), ['a', 'b'], 'events around throwing onError');
    same(t.protocolErrors, 2, 'counted');
    eq(t.feed('data: c\n\n').map((e) => e.data), ['c'], 'the parser still works');
  } finally {
    console.error = original;
  }
  same(calls, 2, 'onError called for each error');
  same(logged.length, 2, 'each throw logged');
  same(logged[0][1].message, 'listener bug', 'the thrown error is logged');

  // Without onError the count still goes up; the defaults are 1 MiB and 4 MiB.
  const d = new Parser();
  eq(d.feed(`data: ${'a'.repeat(1 << 20)}\n\ndata: small\n\n`).map((e) => e.data), ['small'], 'default line limit');
  same(d.protocolErrors, 1, 'counted without onError');
  const seen = [];
  const big = new Parser({ onError: (e) => seen.push(e.limit) });
  const line = `data: ${'b'.repeat(1000000)}\n`;
  eq(big.feed(`${line.repeat(5)}\ndata: fine\n\n`).map((e) => e.data), ['fine'], 'default event limit');
  eq(seen, [4 << 20], 'maxEventBytes default');
  const ok = new Parser({ maxLineBytes: 2 ** 40 }); // saturates: no practical limit
  same(ok.feed(`data: ${'c'.repeat(2 << 20)}\n\n`)[0].data.length, 2 << 20, 'a huge limit');
}

export function sseOptionsValidated(parser) {
  const Parser = parser.constructor;
  for (const options of [undefined, null, {}, { maxLineBytes: undefined, maxEventBytes: null, onError: null }, { maxLineBytes: 1 }]) {
    new Parser(options).feed('data: x\n\n');
  }
  const bad = [
    [5, 'options'], ['x', 'options'], [[], 'options'],
    ...[0, -1, 1.5, '10', NaN, Infinity, true, {}].flatMap((v) => [
      [{ maxLineBytes: v }, 'options.maxLineBytes'],
      [{ maxEventBytes: v }, 'options.maxEventBytes'],
    ]),
    [{ onError: 'log' }, 'options.onError'], [{ onError: {} }, 'options.onError'],
  ];
  for (const [options, field] of bad) {
    throws(() => new Parser(options), (e) => {
      same(e instanceof TypeError, true, `${field}: a TypeError`);
      same(e.name, 'TypeError', `${field}: name`);
      same(e.field, field, 'field');
      if (!e.message.includes(field)) throw new Error(`message names ${field}: ${e.message}`);
    }, `new SseParser(${JSON.stringify(options)})`);
  }
  const p = new Parser();
  for (const chunk of [123, null, undefined, {}, new ArrayBuffer(4), [100, 97], new Uint16Array(2)]) {
    throws(() => p.feed(chunk), (e) => {
      same(e.name, 'TypeError', 'chunk: name');
      same(e.field, 'chunk', 'chunk: field');
    }, `feed(${String(chunk)})`);
  }
  eq(p.feed('data: still fine\n\n').map((e) => e.data), ['still fine'], 'usable after a bad chunk');
}

export function sseEndAndState(parser) {
  const Parser = parser.constructor;
  const p = new Parser();
  same(p.lastEventId, '', 'initial lastEventId');
  same(p.retry, undefined, 'initial retry');
  same(p.protocolErrors, 0, 'initial protocolErrors');
  eq(p.feed('id: 5\nretry: 100\ndata: q\n\nid: 6\ndata: incomplete'), [{ type: 'message', data: 'q', lastEventId: '5' }], 'before end');
  eq(p.end(), [], 'an incomplete event is discarded');
  same(p.lastEventId, '5', 'lastEventId kept');
  same(p.retry, 100, 'retry kept');
  // A new stream: its BOM is stripped again, the last event ID carries over.
  eq(p.feed('\uFEFFdata: r\n\n'), [{ type: 'message', data: 'r', lastEventId: '5' }], 'after end');
  // A blank line ended by a final CR dispatches at once; end() has nothing left.
  eq(p.feed('data: a\r'), [], 'the CR ends the line');
  eq(p.feed('\r').map((e) => e.data), ['a'], 'the final CR ends the block');
  eq(p.end(), [], 'nothing pending');
  eq(p.feed('data: b\r\r').map((e) => e.data), ['b'], 'in one chunk');
  eq(p.end(), [], 'nothing pending either');
  p.feed('retry: 99999999999999999999999\n\n');
  same(p.retry, 18446744073709551615, 'retry saturates');
  p.feed('retry: 5x\n\nid: 7\n\n');
  same(p.retry, 18446744073709551615, 'an invalid retry is ignored');
  same(p.lastEventId, '7', 'an id-only block commits the id');
}
