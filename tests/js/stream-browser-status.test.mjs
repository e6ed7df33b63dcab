// What a bad answer does to a stream in headless Chromium, per transport, against the real SSE
// server behind the same-origin front: the fetch transport tells them apart as the spec says
// (204 stops quietly; another status or another type fails with one StreamResponseError; never
// a reconnect), while the browser's EventSource only says it gave up, so each is one
// StreamResponseError. Either way nothing in the refused body is delivered.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sleep } from './waits.mjs';
import { lightweight } from './sse-server.mjs';
import { useStreamBrowser } from './stream-browser-setup.mjs';

let sse;
const openPage = useStreamBrowser((started) => ({ sse } = started));

const ANSWERS = {
  'a 204': { status: 204 },
  'a 500': { status: 500 },
  'a text/plain 200': { contentType: 'text/plain' },
};

/** Opens a stream that gets `fault` as its first answer; what the page saw once it closed. */
async function answered(options, fault) {
  sse.reset();
  sse.publish(lightweight(1));
  sse.configure(fault, { next: 1 });
  const { page, context } = await openPage();
  try {
    await page.evaluate(([o]) => window.streamTest.start('status', o), [options]);
    await page.waitForFunction(() => window.streamTest.snapshot('status').readyState === 2, null,
      { timeout: 10_000, polling: 20 });
    await sleep(300); // a reconnect would land here
    return { ...(await page.evaluate(() => window.streamTest.snapshot('status'))), connections: sse.connections.length };
  } finally {
    await context.close();
  }
}

describe('Chromium: bad answers, fetch transport', { timeout: 60_000 }, () => {
  for (const [name, fault] of Object.entries(ANSWERS)) {
    test(`${name}: closed, no reconnect, ${fault.status === 204 ? 'no error' : 'one StreamResponseError'}`, async () => {
      const r = await answered({ reconnect: { initialDelayMs: 1, maxDelayMs: 20 } }, fault);
      assert.deepEqual(r.seen, []);
      assert.equal(r.connections, 1, 'reconnected');
      assert.deepEqual(r.states.map((s) => s.state), ['closed']);
      const expected = fault.status === 204 ? [] : [['StreamResponseError', fault.status ?? 200]];
      assert.deepEqual(r.errors.map((e) => [e.name, e.status]), expected);
    });
  }
});

describe('Chromium: bad answers, eventsource transport', { timeout: 60_000 }, () => {
  for (const [name, fault] of Object.entries(ANSWERS)) {
    test(`${name}: closed, no reconnect, one StreamResponseError (the browser does not say why)`, async () => {
      const r = await answered({ transport: 'eventsource' }, fault);
      assert.deepEqual(r.seen, []);
      assert.equal(r.connections, 1, 'reconnected');
      assert.equal(r.states.at(-1).state, 'closed');
      assert.deepEqual(r.errors.map((e) => e.name), ['StreamResponseError']);
    });
  }
});
