// What the Chromium NotificationStream test files (stream-browser*.test.mjs,
// stream-page-hooks*.test.mjs) run against, once per file: the real SSE server (sse-server.mjs),
// the same-origin front before it (stream-browser-server.mjs) and Debian's Chromium; and how
// they open the test page on it.

import { before, after } from 'node:test';
import { launchChromium } from './chromium.mjs';
import { sleep } from './waits.mjs';
import { startSseServer } from './sse-server.mjs';
import { startBrowserFront } from './stream-browser-server.mjs';

/**
 * Starts `{ sse, front, browser }` in the file's `before` and closes them in its `after`: call at
 * the top of a test file. `started` receives them once all three are up. The SSE server sends
 * no heartbeats and keeps 10,000 events for replays. Returns `openPage(options)`: `openStreamPage`
 * with this browser and front.
 */
export function useStreamBrowser(started) {
  const running = {};
  before(async () => {
    running.sse = await startSseServer({ heartbeatMs: 0, historySize: 10_000 });
    running.front = await startBrowserFront({ upstream: running.sse.origin });
    running.browser = await launchChromium();
    started(running);
  });
  after(async () => {
    await running.browser?.close();
    await running.front?.close();
    await running.sse?.close();
  });
  return (options) => openStreamPage(running.browser, running.front, options);
}

/**
 * A fresh page (a new context: `contextOptions`) on the front with edgesaga loaded:
 * `{ page, context, report }`. `report` collects console errors and warnings (`console`) and
 * uncaught exceptions (`pageErrors`) from the start; `watch(page, report)` adds what else a file
 * records, and `prepare(page)` runs once the package has loaded. `npm run build` may be
 * rewriting pkg/ while the page loads: retry a few times.
 */
async function openStreamPage(browser, front, { contextOptions, watch, prepare } = {}) {
  for (let attempt = 1; ; attempt++) {
    const context = await browser.newContext(contextOptions);
    const page = await context.newPage();
    const report = { console: [], pageErrors: [] };
    page.on('console', (msg) => {
      if (msg.type() === 'error' || msg.type() === 'warning') report.console.push(`${msg.type()}: ${msg.text()}`);
    });
    page.on('pageerror', (error) => report.pageErrors.push(String(error?.stack ?? error)));
    watch?.(page, report);
    try {
      await page.goto(front.origin + '/', { waitUntil: 'load' });
      await page.waitForFunction(() => window.streamTestReady !== undefined, null, { timeout: 10_000 });
      if (!(await page.evaluate(() => window.streamTestReady))) {
        throw new Error(`edgesaga failed to load: ${await page.evaluate(() => window.streamTestLoadError)}`);
      }
      await prepare?.(page);
      return { page, context, report };
    } catch (error) {
      await context.close();
      if (attempt >= 5) throw error;
      await sleep(5000);
    }
  }
}
