// SSE parse + delivery to a JS callback, events/s: edgesaga's SseParser (wasm) against
// eventsource-parser (pure JS), in the same process on the same byte stream. 100,000 events of
// ~200 B and of ~2 KB, fed in chunks of 1 KiB and of 64 KiB; rounds alternate between the two
// parsers and the median of 5 is reported, with the ratio (goal: edgesaga >= 2x).
//
// Both start from bytes, as a fetch body delivers them: edgesaga takes the Uint8Array chunks;
// eventsource-parser takes strings, so its side pays a streaming TextDecoder, as its users do.
import { readFileSync } from 'node:fs';
import { createParser } from 'eventsource-parser';
import { initSync, SseParser } from '../pkg/edgesaga.js';

initSync({ module: readFileSync(new URL('../pkg/edgesaga_bg.wasm', import.meta.url)) });

const EVENTS = Number(process.env.BENCH_SSE_EVENTS ?? 100000);
const ROUNDS = 5;
const TYPES = ['order.status_changed', 'order.paid', 'payment.processed', 'inventory.reserved'];

/** `count` notification events of about `size` bytes on the wire: id, type, one JSON data line. */
function stream(count, size) {
  const parts = [];
  for (let i = 0; i < count; i++) {
    const head = `id: ${i}\nevent: ${TYPES[i % TYPES.length]}\ndata: `;
    const json = `{"type":"${TYPES[i % TYPES.length]}","entityId":"ord_${i}","timestamp":${1700000000000 + i},"note":"`;
    const pad = Math.max(0, size - head.length - json.length - 4);
    parts.push(`${head}${json}${'lorem ipsum dolor sit amet '.repeat(Math.ceil(pad / 27)).slice(0, pad)}"}\n\n`);
  }
  return new TextEncoder().encode(parts.join(''));
}

function chunked(bytes, size) {
  const chunks = [];
  for (let at = 0; at < bytes.length; at += size) chunks.push(bytes.subarray(at, at + size));
  return chunks;
}

// The consumer's callback: touches every field so neither side can skip work.
let delivered = 0;
let checksum = 0;
function deliver(type, data, id) {
  delivered += 1;
  checksum += type.length + data.length + id.length;
}

function runEdgesaga(chunks) {
  const parser = new SseParser();
  for (const chunk of chunks) {
    const events = parser.feed(chunk);
    for (let i = 0; i < events.length; i++) {
      const e = events[i];
      deliver(e.type, e.data, e.lastEventId);
    }
  }
  for (const e of parser.end()) deliver(e.type, e.data, e.lastEventId);
  parser.free();
}

function runEventsourceParser(chunks) {
  const decoder = new TextDecoder();
  const parser = createParser({ onEvent: (e) => deliver(e.event ?? 'message', e.data, e.id ?? '') });
  for (const chunk of chunks) parser.feed(decoder.decode(chunk, { stream: true }));
  parser.feed(decoder.decode());
}

/** Seconds for one run, after checking it delivered every event with the same content. */
function measure(run, chunks, expected) {
  delivered = 0;
  checksum = 0;
  const started = process.hrtime.bigint();
  run(chunks);
  const secs = Number(process.hrtime.bigint() - started) / 1e9;
  if (delivered !== EVENTS || (expected.checksum !== undefined && checksum !== expected.checksum)) {
    throw new Error(`${run.name}: delivered ${delivered} events (checksum ${checksum}), expected ${EVENTS} (${expected.checksum})`);
  }
  expected.checksum = checksum;
  return secs;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rate = (secs) => Math.round(EVENTS / secs).toLocaleString('en-US').padStart(11);

console.log(`sse: ${EVENTS.toLocaleString('en-US')} events, parse + deliver to a callback, median of ${ROUNDS} alternating rounds`);
const ratios = [];
for (const size of [200, 2000]) {
  const bytes = stream(EVENTS, size);
  for (const chunkSize of [1024, 65536]) {
    const chunks = chunked(bytes, chunkSize);
    const expected = {};
    // Warm up both (JIT, wasm tier-up) on the same stream.
    measure(runEventsourceParser, chunks, expected);
    measure(runEdgesaga, chunks, expected);
    const times = { peer: [], edge: [] };
    for (let r = 0; r < ROUNDS; r++) {
      times.peer.push(measure(runEventsourceParser, chunks, expected));
      times.edge.push(measure(runEdgesaga, chunks, expected));
    }
    const peer = median(times.peer);
    const edge = median(times.edge);
    ratios.push(peer / edge);
    const label = `~${size} B events, ${chunkSize >> 10} KiB chunks (${(bytes.length / 2 ** 20).toFixed(1)} MiB)`;
    console.log(`  ${label}`);
    console.log(`    eventsource-parser 3.0.6  ${rate(peer)} events/s`);
    console.log(`    edgesaga SseParser        ${rate(edge)} events/s   ratio ${(peer / edge).toFixed(2)}x  (goal >= 2x)`);
  }
}
console.log(`  lowest ratio: ${Math.min(...ratios).toFixed(2)}x`);
