// Shared by the NotificationStream test files: loads pkg/, runs one SSE server per file
// (reset before each test), and closes every stream a test opened, so no handle outlives it.

import { before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startSseServer } from './sse-server.mjs';
import { sleep, eventually, answered } from './waits.mjs';

export { sleep, eventually, range } from './waits.mjs';

// `npm run build` may be rewriting pkg/ while a file loads: retry a few times.
async function load() {
  const pkg = new URL('../../pkg/', import.meta.url);
  for (let attempt = 1; ; attempt++) {
    try {
      const mod = await import(new URL(`edgesaga.js?attempt=${attempt}`, pkg));
      const output = mod.initSync({ module: readFileSync(new URL('edgesaga_bg.wasm', pkg)) });
      if (typeof mod.NotificationStream !== 'function') throw new Error('pkg/ exports no NotificationStream');
      return { ...mod, wasmMemory: output.memory };
    } catch (error) {
      if (attempt >= 5) throw error;
      await sleep(5000);
    }
  }
}
// wasmMemory: the instance's linear memory. It never shrinks, so its size is the high-water
// mark of everything the Rust side (parser buffers included) ever held.
export const { NotificationStream, wasmMemory } = await load();

export const seqOf = (n) => n.metadata?.seq ?? n.data?.seq;
export const names = (errors) => errors.map((e) => e.name);

/** Registers the hooks; the returned object's `server` is valid inside tests. */
export function setup(options = {}) {
  const ctx = { server: null };
  const opened = [];
  before(async () => {
    ctx.server = await startSseServer({ heartbeatMs: 0, historySize: 10_000, ...options });
  });
  after(() => ctx.server.close());
  beforeEach(() => ctx.server.reset());
  afterEach(async () => {
    for (const stream of opened.splice(0)) stream.close();
    // A fetch already on the wire when close() ran still reaches the server (and is aborted at
    // once): let it land now, not in the next test's connection log. Then every connection
    // must be gone — one still open means a closed stream leaked it.
    await sleep(50);
    await eventually(() => assert.equal(ctx.server.openConnections, 0, 'connections left open'));
  });

  /** The server answered its n-th connection. */
  ctx.answered = (n, timeoutMs) => answered(ctx.server, n, timeoutMs);

  /**
   * Opens a stream (closed after the test) with fast reconnects, recording errors, state
   * changes and — unless `record: false` — every notification a '*' handler saw.
   */
  ctx.open = (options = {}, { record = true } = {}) => {
    const log = { seen: [], errors: [], states: [] };
    const stream = new NotificationStream(ctx.server.url, {
      reconnect: { initialDelayMs: 1, maxDelayMs: 20 },
      ...options,
      onError: (error) => log.errors.push(error),
      onStateChange: (state, detail) => log.states.push({ state, detail, at: Date.now() }),
    });
    opened.push(stream);
    if (record) stream.on('*', (n) => void log.seen.push(n));
    return { stream, ...log };
  };

  ctx.seen = (log, n, timeoutMs) =>
    eventually(() => assert.ok(log.seen.length >= n, `saw ${log.seen.length} of ${n}`), timeoutMs);
  return ctx;
}
