// JS half of SseParser: the batch format is described in crates/sse-parser/src/batch.rs.

// ignoreBOM: a U+FEFF opening an event's data is data.
const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
const encoder = new TextEncoder();
const EMPTY = new Uint8Array(0);

// `meta` head-word flags, mirrored in crates/sse-parser/src/batch.rs.
const ERROR = 1;
const NEW_ID = 2;
const TYPE_KNOWN = 4;
const TYPE_NEW = 8;

const KINDS = ['line_too_long', 'event_too_large'];
const WHAT = ['a line is longer than maxLineBytes', 'an event is larger than maxEventBytes'];

export class SseSink {
  // Validates the options, throwing a TypeError naming the field.
  constructor(options, memory) {
    // Views of all wasm memory, renewed when it grows.
    this.memory = memory;
    this.u8 = EMPTY;
    this.u32 = null;
    this.maxLineBytes = NaN; // NaN: the default
    this.maxEventBytes = NaN;
    this.onError = undefined;
    // The parser's input buffer in wasm memory, for the fast `feed`.
    this.ptr = 0;
    this.cap = 0;
    // Event types by index and the last event ID, as Rust sent them.
    this.types = [];
    this.id = '';
    if (options === undefined || options === null) return;
    if (typeof options !== 'object' || Array.isArray(options)) invalid('options', `must be an object, got ${kind(options)}`);
    for (const key of ['maxLineBytes', 'maxEventBytes']) {
      const v = options[key];
      if (v === undefined || v === null) continue;
      if (!Number.isInteger(v) || v < 1) invalid(`options.${key}`, `must be a positive integer, got ${typeof v === 'number' ? v : kind(v)}`);
      this[key] = v;
    }
    const onError = options.onError ?? undefined;
    if (onError !== undefined && typeof onError !== 'function') invalid('options.onError', `must be a function, got ${kind(onError)}`);
    this.onError = onError;
  }

  views() {
    if (this.u8.byteLength === 0) {
      const buffer = this.memory.buffer;
      this.u8 = new Uint8Array(buffer);
      this.u32 = new Uint32Array(buffer);
    }
  }

  // Copies a chunk to `ptr` if it fits in `cap` bytes: its length, -room needed, or NaN.
  input(chunk, ptr, cap) {
    if (typeof chunk === 'number') return NaN; // see `feed` below: before the string test
    this.views();
    if (typeof chunk === 'string') {
      const room = chunk.length * 3; // enough for any string
      return room > cap ? -room : encoder.encodeInto(chunk, this.u8.subarray(ptr, ptr + cap)).written;
    }
    if (!(chunk instanceof Uint8Array) && !(ArrayBuffer.isView(chunk) && toString.call(chunk) === '[object Uint8Array]')) return NaN;
    const n = chunk.length;
    if (n > cap) return -n;
    this.u8.set(chunk, ptr);
    return n;
  }

  // `len` bytes of text at `text`, `count` words at `meta`.
  build(text, len, meta, count) {
    const events = [];
    if (count === 0) return events;
    this.views();
    const u8 = this.u8;
    const words = this.u32;
    const str = len === 0 ? '' : decoder.decode(u8.subarray(text, text + len));
    // ASCII iff as many units as bytes; else byte lengths are converted as read.
    const ascii = str.length === len;
    let b = text;
    const types = this.types;
    let id = this.id;
    let at = 0;
    let errors = null;
    for (let i = meta >>> 2, end = i + count; i < end; ) {
      const head = words[i++];
      if (head & ERROR) {
        (errors ??= []).push(head >>> 1, words[i++]);
        continue;
      }
      const mode = head & 12;
      let type = 'message';
      if (mode === TYPE_KNOWN) {
        type = types[head >>> 8];
      } else if (mode !== 0) {
        const n = ascii ? words[i++] : units(u8, b, (b += words[i++]));
        type = str.slice(at, (at += n));
        if (mode === TYPE_NEW) types.push(type);
      }
      if (head & NEW_ID) {
        const n = ascii ? words[i++] : units(u8, b, (b += words[i++]));
        id = str.slice(at, (at += n));
      }
      const n = ascii ? words[i++] : units(u8, b, (b += words[i++]));
      events.push({ type, data: str.slice(at, (at += n)), lastEventId: id });
    }
    this.id = id;
    // User code last: the memory views are no longer read.
    if (errors !== null && this.onError !== undefined) this.report(errors);
    return events;
  }

  report(errors) {
    for (let i = 0; i < errors.length; i += 2) {
      const k = errors[i];
      const error = new Error(`${WHAT[k]} (${errors[i + 1]} bytes): the event was dropped up to the next blank line`);
      error.name = 'SseProtocolError';
      error.kind = KINDS[k];
      error.limit = errors[i + 1];
      try {
        this.onError(error);
      } catch (e) {
        console.error('edgesaga: an SseParser onError callback threw; parsing goes on', e);
      }
    }
  }
}

// UTF-16 length of the UTF-8 in u8[from, to).
function units(u8, from, to) {
  let n = 0;
  for (let i = from; i < to; i++) {
    const x = u8[i];
    if ((x & 0xc0) !== 0x80) n += x >= 0xf0 ? 2 : 1;
  }
  return n;
}

// `SseParser.prototype.feed`, one crossing per chunk: the chunk is copied straight into the
// parser's input buffer in wasm memory (its address cached here, renewed only when it must
// grow), Rust parses it and answers where the batch is, and the events are built here. The
// Rust `feed` it replaces does the same in three crossings (in, copy out, build out).
export function installFastFeed(instance) {
  const proto = Object.getPrototypeOf(instance);
  proto.feed = function feed(chunk) {
    // First, and before any `typeof chunk === 'string'`: Node 20's V8 (11.3), once this function
    // is optimized with the wasm call inlined, tests a small integer for "string" by reading a
    // string's length from it, and the process dies (SIGSEGV): tests/js/sse-parser-hot.test.mjs.
    if (typeof chunk === 'number') throw badChunk(chunk);
    const sink = (this.__sseSink ??= this.sinkRef());
    let need;
    if (typeof chunk === 'string') need = chunk.length * 3; // enough for any string
    else if (chunk instanceof Uint8Array || (ArrayBuffer.isView(chunk) && toString.call(chunk) === '[object Uint8Array]')) need = chunk.length;
    else throw badChunk(chunk);
    if (need > sink.cap) {
      sink.ptr = this.reserveInput(need);
      sink.cap = need;
    }
    sink.views();
    let n;
    if (typeof chunk === 'string') {
      n = need === 0 ? 0 : encoder.encodeInto(chunk, sink.u8.subarray(sink.ptr, sink.ptr + need)).written;
    } else {
      sink.u8.set(chunk, sink.ptr);
      n = chunk.length;
    }
    const at = this.parseInput(n) >>> 2;
    sink.views(); // parsing may have grown the memory
    const w = sink.u32;
    sink.ptr = w[at + 4];
    sink.cap = w[at + 5];
    return sink.build(w[at], w[at + 1], w[at + 2], w[at + 3]);
  };
}

export function badChunk(chunk) {
  return typeError('chunk', `must be a Uint8Array or a string, got ${kind(chunk)}`);
}

function invalid(field, reason) {
  throw typeError(field, reason);
}

function typeError(field, reason) {
  const error = new TypeError(`edgesaga: ${field}: ${reason}`);
  error.field = field;
  return error;
}

const toString = Object.prototype.toString;
const kind = (v) => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v);
