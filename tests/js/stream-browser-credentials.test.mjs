// `credentials` in headless Chromium, cross-origin: the page is on the front server, the stream
// goes straight to the SSE server on another port (another origin, the same site, so the same
// cookies). A cookie reaches the server only when the stream asks for it — `credentials:
// 'include'` with the fetch transport, `withCredentials` (from the same option) with EventSource —
// and the server's CORS answer (its origin echoed, credentials allowed) lets the page read it.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually } from './waits.mjs';
import { lightweight } from './sse-server.mjs';
import { useStreamBrowser } from './stream-browser-setup.mjs';

let sse;
let front;
const openPage = useStreamBrowser((started) => ({ sse, front } = started));

/** The cookie and origin the SSE server saw for one stream opened with `options`. */
async function connectWith(options) {
  sse.reset();
  sse.publish(lightweight(1));
  const { page, context } = await openPage();
  try {
    await context.addCookies([{ name: 'session', value: 's-1', url: sse.origin }]);
    await page.evaluate(([o, url]) => window.streamTest.start('cors', o, { path: url }), [options, sse.url]);
    await page.waitForFunction(() => window.streamTest.count('cors') >= 1, null, { timeout: 10_000, polling: 20 });
    const snap = await page.evaluate(() => window.streamTest.snapshot('cors'));
    await page.evaluate(() => window.streamTest.close('cors'));
    await eventually(() => assert.equal(sse.openConnections, 0));
    return { seen: snap.seen.map((n) => n.seq), ...sse.connections[0].headers };
  } finally {
    await context.close();
  }
}

describe('Chromium: credentials on a cross-origin stream', { timeout: 60_000 }, () => {
  test('fetch transport: the cookie goes only with credentials: include', async () => {
    const without = await connectWith({});
    const included = await connectWith({ credentials: 'include' });
    const omitted = await connectWith({ credentials: 'omit' });
    assert.equal(without.origin, front.origin, 'a cross-origin request');
    assert.deepEqual([without.seen, included.seen, omitted.seen], [[1], [1], [1]]);
    assert.deepEqual([without.cookie, included.cookie, omitted.cookie], [null, 'session=s-1', null]);
  });

  test('eventsource transport: credentials: include becomes withCredentials', async () => {
    const without = await connectWith({ transport: 'eventsource' });
    const included = await connectWith({ transport: 'eventsource', credentials: 'include' });
    assert.deepEqual([without.seen, included.seen], [[1], [1]]);
    assert.deepEqual([without.cookie, included.cookie], [null, 'session=s-1']);
  });
});
