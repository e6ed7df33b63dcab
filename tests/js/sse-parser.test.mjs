// SseParser as the package ships it, in Node: the same checks the wasm tests run (every
// conformance vector at every split point, batches, limits, options, end) but through pkg/ after
// `init`, so through the one-crossing `feed` the module's start function installs (the wasm
// test runner does not run start functions, so it only sees the Rust `feed`).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { initSync, SseParser } from '../../pkg/edgesaga.js';
import {
  sseVectorsEveryChunking, sseBatchesAndStrings, sseLimitsReportAndResume, sseOptionsValidated, sseEndAndState,
} from '../wasm/sse.js';

initSync({ module: readFileSync(new URL('../../pkg/edgesaga_bg.wasm', import.meta.url)) });
const vectors = readFileSync(new URL('../fixtures/sse-vectors.json', import.meta.url), 'utf8');

test('the shipped feed crosses into wasm once per chunk', () => {
  // Counts every call of the class's wasm-backed methods (all but feed) while feeding.
  const proto = SseParser.prototype;
  const crossings = [];
  const originals = new Map();
  for (const key of Object.getOwnPropertyNames(proto)) {
    const d = Object.getOwnPropertyDescriptor(proto, key);
    if (key === 'constructor' || key === 'feed' || typeof d.value !== 'function') continue;
    originals.set(key, d.value);
    proto[key] = function (...args) {
      crossings.push(key);
      return d.value.apply(this, args);
    };
  }
  const parser = new SseParser();
  const chunk = (i) => `id: ${i}\nevent: e\ndata: ${'x'.repeat(i)}\n\nid: ${i}b\ndata: y\n\n`;
  const bytes = new TextEncoder();
  try {
    let events = 0;
    // Growing chunks: the input buffer grows geometrically, so only a few extra crossings.
    for (let i = 1; i <= 200; i++) events += parser.feed(chunk(i)).length;
    assert.equal(crossings.filter((c) => c === 'parseInput').length, 200);
    const reserves = crossings.filter((c) => c === 'reserveInput').length;
    assert.ok(reserves <= 8, `${reserves} reserveInput calls for 200 growing chunks`);
    assert.deepEqual(crossings.filter((c) => c !== 'parseInput' && c !== 'reserveInput' && c !== 'sinkRef'), []);
    // Then, strings and bytes of any size up to what was seen: one crossing per chunk.
    crossings.length = 0;
    for (let i = 1; i <= 50; i++) events += parser.feed(i % 2 ? chunk(i) : bytes.encode(chunk(i))).length;
    assert.equal(events, 500);
    assert.deepEqual(crossings, Array(50).fill('parseInput'));
  } finally {
    parser.free();
    for (const [key, f] of originals) proto[key] = f;
  }
});

for (const [name, check] of Object.entries({
  sseVectorsEveryChunking: (p) => sseVectorsEveryChunking(p, vectors),
  sseBatchesAndStrings,
  sseLimitsReportAndResume,
  sseOptionsValidated,
  sseEndAndState,
})) {
  test(name, () => {
    const parser = new SseParser();
    try {
      check(parser); // the wasm-test helpers throw on the first rule broken

    } finally {
      parser.free();
    }
  });
}
