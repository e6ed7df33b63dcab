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

test('the shipped feed is the one-crossing one', () => {
  assert.ok(SseParser.prototype.feed.toString().includes('parseInput'));
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
