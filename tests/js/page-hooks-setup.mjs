// What both page-hook test files share (stream-page-hooks.test.mjs: pauseWhenHidden;
// stream-page-hooks-online.test.mjs: reconnectOnOnline, both hooks together, neither): the SSE
// server, front and Chromium they run against (stream-browser-setup.mjs), a test page with the
// jitter pinned and the window's `online`/`offline` events logged, the timing constants, and
// the helpers that drive the page and check the server's connection log.
//
// Every reconnect delay is made exact by pinning the page's Math.random (the jitter's source)
// to just under 1: a delay is then exactly the server's retry plus initialDelayMs · 2^failures,
// so a test can tell a reset backoff from a doubled one, and a reconnect that comes at once
// from one that waited.

import assert from 'node:assert/strict';
import { sleep, eventually as poll } from './waits.mjs';
import { useStreamBrowser } from './stream-browser-setup.mjs';

// How long to watch for a reconnect that must not happen: one that skips a pause or a
// backoff by mistake comes within milliseconds.
export const QUIET_MS = 800;
// What "at once" means on a loaded 2-core machine: far below every delay it is compared with.
export const PROMPT_MS = 10_000;

// Slow conditions here (a browser, reconnect delays): a longer default wait.
export const eventually = (check, timeoutMs = 15_000) => poll(check, timeoutMs);

// A backoff no test waits out: with the jitter pinned, a reconnect after a failure waits
// exactly 60 s, so one that comes within PROMPT_MS did not wait for it.
export const LONG_BACKOFF = { initialDelayMs: 60_000, maxDelayMs: 60_000 };

/**
 * Call at the top of a test file: starts the SSE server, the front and Chromium in the file's
 * `before` (useStreamBrowser) and hands them to `started` once they are up. Returns
 * `{ openPage, closeStream }`, which use them.
 */
export function usePageHooks(started) {
  let sse;
  const openStreamPage = useStreamBrowser((running) => {
    ({ sse } = running);
    started(running);
  });

  /**
   * A fresh page with edgesaga loaded, the jitter pinned (see the top of the file) and a log of
   * the window's `online`/`offline` events; `report` collects uncaught exceptions and console
   * messages.
   */
  function openPage() {
    return openStreamPage({
      prepare: (page) => page.evaluate(() => {
        Math.random = () => 1 - 2 ** -40;
        window.pageEvents = [];
        for (const type of ['online', 'offline']) {
          addEventListener(type, () => window.pageEvents.push({ type, onLine: navigator.onLine, at: performance.now() }));
        }
      }),
    });
  }

  /** Closes the stream and checks that it left no connection behind and did not reconnect. */
  async function closeStream(page, name) {
    await page.evaluate((n) => window.streamTest.close(n), name);
    await eventually(() => assert.equal(sse.openConnections, 0, 'connections left open after close()'));
    const count = sse.connections.length;
    await sleep(100);
    assert.equal(sse.connections.length, count, 'a closed stream reconnected');
  }

  return { openPage, closeStream };
}

/**
 * No uncaught exception, and no console message but Chromium's own "Failed to load resource"
 * for the requests the test failed on purpose (cut by the server, or made while offline).
 */
export function assertCleanPage(report) {
  assert.deepEqual(report.pageErrors, [], 'uncaught exceptions in the page');
  const unexpected = report.console.filter((m) =>
    !/^error: Failed to load resource: net::(ERR_INCOMPLETE_CHUNKED_ENCODING|ERR_INTERNET_DISCONNECTED)$/.test(m));
  assert.deepEqual(unexpected, [], 'console errors or warnings');
}

export const start = (page, name, options, extra = {}) =>
  page.evaluate(([n, o, x]) => window.streamTest.start(n, o, x), [name, options, extra]);
export const snapshot = (page, name) => page.evaluate((n) => window.streamTest.snapshot(n), name);
export const setVisibility = (page, state) => page.evaluate((s) => window.streamTest.setVisibility(s), state);
export const seqs = (snap) => snap.seen.map((n) => n.seq);
export const waitSeen = (page, name, count) =>
  page.waitForFunction(([n, c]) => window.streamTest.count(n) >= c, [name, count], { timeout: 15_000, polling: 20 });
/** The `connecting` states' delays: one per reconnect the stream scheduled after a failure. */
export const delays = (snap) => snap.states.filter((s) => s.state === 'connecting').map((s) => s.delayMs);

/** Network down and back up, as Chromium's network emulation does it: real events. */
export async function offlineThenOnline(context, page) {
  await context.setOffline(true);
  await eventually(async () => assert.equal(await page.evaluate(() => navigator.onLine), false));
  const before = await page.evaluate(() => window.pageEvents.length);
  const at = Date.now();
  await context.setOffline(false);
  await eventually(async () =>
    assert.deepEqual((await page.evaluate(() => window.pageEvents)).slice(before).map((e) => e.type), ['online']));
  return at;
}
