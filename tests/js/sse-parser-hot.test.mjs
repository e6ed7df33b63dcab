// SseParser.feed, hot, given what is not a chunk: a TypeError naming `chunk`, every time, and
// the process goes on. In its own file (its own process) on purpose: the crash it guards against
// needed feed optimized with its call into wasm inlined, which sse-parser.test.mjs's method
// wrapping (its crossing count) happens to prevent.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { initSync, SseParser } from '../../pkg/edgesaga.js';

initSync({ module: readFileSync(new URL('../../pkg/edgesaga_bg.wasm', import.meta.url)) });

test('a hot feed given a bad chunk throws a TypeError, and the process lives', () => {
  // Node 20's V8 miscompiled the optimized feed (the wasm call inlined): a small integer tested
  // for "string" was read as one, and the process died with SIGSEGV, every time.
  const parser = new SseParser();
  const bytes = new TextEncoder();
  try {
    let events = 0;
    // Rounds of warm-up and bad chunks: the crash needed feed optimized, which takes a while.
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < 100_000; i++) events += parser.feed(i % 2 ? `data: ${i}\n\n` : bytes.encode(`data: ${i}\n\n`)).length;
      for (const bad of [123, 0, -5, 1.5, NaN, null, undefined, true, {}, [1, 2], Symbol('s'), 10n, () => 1, new Uint16Array(2)]) {
        assert.throws(() => parser.feed(bad), (e) => e instanceof TypeError && e.field === 'chunk', String(bad?.toString?.() ?? bad));
      }
    }
    assert.equal(events, 400_000);
    assert.equal(parser.feed('data: still\n\n')[0].data, 'still');
  } finally {
    parser.free();
  }
});

