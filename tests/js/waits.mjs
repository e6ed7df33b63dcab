// Waiting helpers for the tests that run against the real SSE server. They live apart from
// stream-harness.mjs, which loads pkg/, so that sse-server.test.mjs and the Worker test share
// them without depending on the wasm build.

import assert from 'node:assert/strict';

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export const range = (from, to) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

// Real sockets and timers: a fixed sleep is either flaky or slow, so poll the condition.
export async function eventually(check, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
    await sleep(10);
  }
}

/** The server answered its n-th connection: not just any open one, which may be an older one. */
export const answered = (server, n, timeoutMs) =>
  eventually(() => assert.ok(server.connections[n - 1]?.status != null, `connection ${n} never came`), timeoutMs);
