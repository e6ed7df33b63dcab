// Shared by the end-to-end tests of the demo: the demo server (demo/server.mjs: the Worker under
// workerd, the order service, the built page www/dist) on a free port, Debian's Chromium driven
// by playwright-core, and a strict record of what the page did wrong.
//
// Every test fails on any console error or warning, uncaught exception, failed request or HTTP
// error response, except the ones its scenario causes by design, which it must name exactly
// (kind, request and count — `assertClean`): Chromium logs every 4xx/5xx answer to fetch() as a
// console error ("Failed to load resource: … 402"), and reports a fetch aborted by a step's
// timeout, or cut off by a reload, as a failed request (net::ERR_ABORTED).

import { before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { existsSync, statSync } from 'node:fs';
import { launchChromium } from '../js/chromium.mjs';
import { startDemo } from '../../demo/server.mjs';
import { INITIAL_STOCK } from '../../demo/order-service.mjs';

export { INITIAL_STOCK };
export const STEPS = ['reserve_inventory', 'charge_payment', 'payment_processed', 'create_order'];
const RESULTS = new URL('../../test-results/', import.meta.url);
const DIST = new URL('../../www/dist/index.html', import.meta.url);
const WASM = new URL('../../pkg/edgesaga_bg.wasm', import.meta.url);

/** The demo and a browser, for one test file (`options` as `startDemo`'s). */
export async function startE2e(options = {}) {
  if (!existsSync(DIST)) throw new Error('www/dist is not built: run `npx vite build www` (scripts/test.sh does)');
  if (statSync(DIST).mtimeMs < statSync(WASM).mtimeMs) {
    throw new Error('www/dist is older than pkg/: run `npx vite build www` again');
  }
  const demo = await startDemo({ port: 0, ...options });
  const browser = await launchChromium();
  return {
    demo,
    browser,
    async close() {
      await browser.close();
      await demo.close();
    },
  };
}

/**
 * The demo and a browser for the whole test file, with fresh services before each test: call at
 * the top of a test file. Returns `{ demo, browser }`, filled in once the file's `before` ran.
 */
export function useE2e(options = {}) {
  const e2e = {};
  before(async () => {
    Object.assign(e2e, await startE2e(options));
  });
  after(async () => {
    await e2e.close?.();
  });
  beforeEach(async () => {
    await resetServices(e2e.demo);
  });
  return e2e;
}

/** Fresh services, faults disarmed: what each test starts from. */
export async function resetServices(demo) {
  for (const [path, body] of [['api/_reset', {}], ['_demo/faults', {}]]) {
    const res = await fetch(new URL(path, demo.url), { method: 'POST', body: JSON.stringify(body) });
    assert.equal(res.status, 200, `POST /${path}`);
  }
}

export async function serviceState(demo) {
  return (await fetch(new URL('api/_state', demo.url))).json();
}

export async function injectFault(demo, fault) {
  const res = await fetch(new URL('api/_faults', demo.url), {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(fault),
  });
  assert.equal(res.status, 201, await res.text());
}

/**
 * Watches a page: console messages (errors and warnings), uncaught exceptions, failed requests,
 * HTTP error responses, and which requests are in flight (to tell the ones a reload cut off).
 */
export function watch(page, report = newReport()) {
  const inFlight = new Set();
  page.on('console', (msg) => {
    if (msg.type() === 'error' || msg.type() === 'warning') report.console.push(`${msg.type()}: ${msg.text()}`);
  });
  page.on('pageerror', (error) => report.pageErrors.push(String(error?.stack ?? error)));
  page.on('request', (request) => inFlight.add(request));
  page.on('requestfinished', (request) => inFlight.delete(request));
  page.on('requestfailed', (request) => {
    inFlight.delete(request);
    if (report.reloading) report.cutByReload.add(request);
    report.failed.push({
      request, what: `${request.method()} ${new URL(request.url()).pathname}`, error: request.failure()?.errorText ?? null,
    });
  });
  page.on('response', (response) => {
    if (response.status() >= 400) {
      report.httpErrors.push(`${response.status()} ${response.request().method()} ${new URL(response.url()).pathname}`);
    }
  });
  report.inFlight = inFlight;
  return report;
}

const newReport = () => ({ console: [], pageErrors: [], failed: [], httpErrors: [], cutByReload: new Set(), reloading: false });

/** Opens the demo in a fresh browser context (empty storage) and waits until it is ready. */
export async function openDemo(browser, demo, { context } = {}) {
  context ??= await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const page = await context.newPage();
  const report = watch(page);
  await page.goto(demo.url);
  await ready(page);
  return { context, page, report };
}

/** The page loaded the package, opened its storage and resumed what it had to. */
export async function ready(page) {
  await page.waitForSelector('body[data-ready="true"]', { timeout: 20_000 });
  await page.waitForSelector('#feed-state[data-state="open"]', { timeout: 20_000 });
}

/** Reloads the page (or, with `url`, goes there); every request in flight at that moment may
 *  be cut off (net::ERR_ABORTED). */
export async function reload(page, report, url) {
  for (const request of report.inFlight) report.cutByReload.add(request);
  report.reloading = true;
  try {
    await (url ? page.goto(url) : page.reload());
  } finally {
    report.reloading = false;
  }
  if (!url) await ready(page);
}

/** Checks the fault toggles, places an order. */
export async function placeOrder(page, faults = []) {
  for (const fault of faults) await page.check(`#faults input[name="${fault}"]`);
  const before = await page.textContent('#tx-id');
  await page.click('#place');
  // A new transaction is on screen (its `running` state may be over already).
  await page.waitForFunction((before) => !['—', before].includes(document.querySelector('#tx-id').textContent), before);
}

/** Waits for the transaction on screen to end; returns its status. */
export async function finished(page, timeout = 30_000) {
  await page.waitForFunction(
    () => document.body.dataset.transaction === 'done'
      && ['committed', 'compensated', 'compensation_failed', 'error'].includes(document.querySelector('#tx-status').dataset.status),
    null, { timeout, polling: 50 });
  return page.$eval('#tx-status', (el) => el.dataset.status);
}

/** The timeline as shown: status, note, steps (state, attempts, retries, compensation, error),
 *  compensations in the order they ran, events. */
export async function timeline(page) {
  return page.evaluate(() => ({
    status: document.querySelector('#tx-status').dataset.status,
    note: document.querySelector('#tx-note').textContent,
    steps: [...document.querySelectorAll('#steps li')].map((li) => ({
      name: li.dataset.step,
      state: li.dataset.state,
      attempts: Number(li.querySelector('.attempts').textContent.replace('attempt ', '') || 0),
      retries: Number(li.querySelector('.retries').dataset.retries),
      compensation: li.querySelector('.compensation')?.dataset.compensation ?? null,
      error: li.querySelector('.error')?.textContent ?? null,
    })),
    compensations: [...document.querySelectorAll('#compensations li')].map((li) => [li.dataset.step, li.dataset.state]),
    // Lifecycle events as they came (`events`), and those replayed from the journal (`journal`).
    events: [...document.querySelectorAll('#events li.live')].map((li) => li.dataset.type),
    journal: [...document.querySelectorAll('#events li.journal')].map((li) => li.dataset.type),
  }));
}

/** The notification feed as shown: connection state, last event id, reconnects, notifications
 *  and connection changes (oldest first). */
export async function feed(page) {
  return page.evaluate(() => ({
    state: document.querySelector('#feed-state').dataset.state,
    lastEventId: document.querySelector('#feed-last-id').textContent,
    reconnects: Number(document.querySelector('#feed-reconnects').textContent),
    notifications: [...document.querySelectorAll('#feed li[data-id]')].reverse().map((li) => ({ id: li.dataset.id, type: li.dataset.type })),
    connection: [...document.querySelectorAll('#feed li.connection')].reverse().map((li) => li.dataset.state),
  }));
}

/** Waits until everything the services announced is published, and the feed shows the last. */
export async function feedReaches(page, demo) {
  await demo.orders.published();
  const id = demo.published.at(-1)?.id;
  assert.ok(id, 'nothing was published');
  await page.waitForFunction((id) => document.querySelector(`#feed li[data-id="${id}"]`) !== null, id, { timeout: 15_000 });
}

/** What the hub acknowledged after index `from` of the demo's publish log, as the feed shows it. */
export const publishedSince = (demo, from) => demo.published.slice(from).map(({ id, type }) => ({ id, type }));

export async function screenshot(page, name) {
  await mkdir(RESULTS, { recursive: true });
  await page.screenshot({ path: new URL(`e2e-${name}.png`, RESULTS).pathname, fullPage: true });
}

/**
 * No console error or warning, no uncaught exception, no failed request and no HTTP error,
 * except exactly the ones the scenario causes:
 * - `aborted`: `{ 'POST /api/orders': 2 }` — fetches a step's timeout aborted (net::ERR_ABORTED);
 * - `httpErrors`: `{ '402 POST /api/payments': 1 }` — each also logged by Chromium as a console
 *   error "Failed to load resource: the server responded with a status of 402 (…)";
 * - and requests in flight when the test reloaded the page (`reload`), cut off (net::ERR_ABORTED).
 */
export function assertClean(report, { aborted = {}, httpErrors = {} } = {}) {
  assert.deepEqual(report.pageErrors, [], 'uncaught exceptions in the page');

  const errors = {};
  for (const e of report.httpErrors) errors[e] = (errors[e] ?? 0) + 1;
  assert.deepEqual(errors, httpErrors, 'HTTP error responses');

  const expectedConsole = Object.entries(httpErrors).flatMap(([what, n]) => Array(n).fill(Number(what.split(' ')[0])));
  const logged = report.console.map((m) => /^error: Failed to load resource: the server responded with a status of (\d+) /.exec(m)?.[1]);
  assert.deepEqual(report.console.filter((_, i) => logged[i] === undefined), [], 'console errors or warnings');
  assert.deepEqual(logged.map(Number).sort(), expectedConsole.sort(), 'console errors for HTTP error responses');

  const byReload = report.failed.filter((f) => report.cutByReload.has(f.request));
  for (const f of byReload) assert.equal(f.error, 'net::ERR_ABORTED', `${f.what} cut by the reload`);
  const counted = {};
  for (const f of report.failed.filter((f) => !report.cutByReload.has(f.request))) {
    assert.equal(f.error, 'net::ERR_ABORTED', `${f.what} failed with ${f.error}`);
    counted[f.what] = (counted[f.what] ?? 0) + 1;
  }
  assert.deepEqual(counted, aborted, 'failed requests (fetches aborted by a step timeout)');
}

/** Nothing left reserved, charged or ordered: the stock is back and every effect was undone. */
export function assertNothingLeft(state) {
  assert.deepEqual(state.stock, INITIAL_STOCK, 'stock restored');
  assert.deepEqual(state.reservations.filter((r) => r.status === 'held'), [], 'nothing reserved');
  assert.deepEqual(state.payments.filter((p) => p.status === 'charged'), [], 'nothing charged');
  assert.deepEqual(state.orders.filter((o) => o.status === 'created'), [], 'no order');
}

/** How many requests of each target reached the service (`reserve`, `charge`, `refund`, …). */
export function requestCounts(state) {
  const counts = {};
  for (const entry of state.log) counts[entry.target] = (counts[entry.target] ?? 0) + 1;
  return counts;
}

/** The targets of the requests that undo something, in the order the service received them. */
export const undoOrder = (state) =>
  state.log.filter((e) => ['cancel_order', 'refund', 'release'].includes(e.target)).map((e) => e.target);
