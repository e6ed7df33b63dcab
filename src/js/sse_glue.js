// JS half of SseParser (see sse.rs): one `build` call turns a chunk's events into objects.

// ignoreBOM: a U+FEFF opening an event's data is data (the stream's BOM is already gone).
const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
const encoder = new TextEncoder();
const EMPTY = new Uint8Array(0);

// `meta` head-word flags, mirrored in sse.rs.
const ERROR = 1;
const SAME_TYPE = 2;
const NEW_TYPE = 4;
const NEW_ID = 8;

const KINDS = ['line_too_long', 'event_too_large'];
const WHAT = ['a line is longer than maxLineBytes', 'an event is larger than maxEventBytes'];

export class SseSink {
  // Validates the options of `new SseParser(options)`, throwing a TypeError naming the field.
  constructor(options, memory) {
    // Views of the whole wasm memory, renewed when it grows: no view is created per call.
    this.memory = memory;
    this.u8 = EMPTY;
    this.u32 = null;
    this.maxLineBytes = NaN; // NaN: the default
    this.maxEventBytes = NaN;
    this.onError = undefined;
    // The last custom event type and last event ID Rust sent: reused until they change.
    this.type = '';
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

  // Copies a chunk into wasm memory at `ptr` if it fits in `cap` bytes. Returns the byte length
  // written, or minus the room needed, or NaN when the chunk is neither bytes nor a string.
  input(chunk, ptr, cap) {
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

  // The batch is `len` UTF-8 bytes at `text` (the chunk's strings) and `count` words at `meta`:
  // per event a head word, then the byte lengths of the new type, the new id and the data; per
  // error ERROR | kind << 1, then the limit.
  build(text, len, meta, count) {
    const events = [];
    if (count === 0) return events;
    this.views();
    const u8 = this.u8;
    const words = this.u32;
    const str = len === 0 ? '' : decoder.decode(u8.subarray(text, text + len));
    // ASCII (the usual case) iff the string has as many units as bytes: byte lengths are then
    // string lengths. Otherwise each length is converted as it is read.
    const ascii = str.length === len;
    let b = text;
    let type = this.type;
    let id = this.id;
    let at = 0;
    let errors = null;
    for (let i = meta >>> 2, end = i + count; i < end; ) {
      const head = words[i++];
      if (head & ERROR) {
        (errors ??= []).push(head >>> 1, words[i++]);
        continue;
      }
      let t = 'message';
      if (head & SAME_TYPE) {
        t = type;
      } else if (head & NEW_TYPE) {
        const n = ascii ? words[i++] : units(u8, b, (b += words[i++]));
        type = t = str.slice(at, (at += n));
      }
      if (head & NEW_ID) {
        const n = ascii ? words[i++] : units(u8, b, (b += words[i++]));
        id = str.slice(at, (at += n));
      }
      const n = ascii ? words[i++] : units(u8, b, (b += words[i++]));
      events.push({ type: t, data: str.slice(at, (at += n)), lastEventId: id });
    }
    this.type = type;
    this.id = id;
    // User code runs last, when the views of wasm memory are no longer read.
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

// UTF-16 length of the valid UTF-8 in u8[from, to): one unit per character, two for 4-byte ones.
function units(u8, from, to) {
  let n = 0;
  for (let i = from; i < to; i++) {
    const x = u8[i];
    if ((x & 0xc0) !== 0x80) n += x >= 0xf0 ? 2 : 1;
  }
  return n;
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
