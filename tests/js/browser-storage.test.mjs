// openBrowserStorage in headless Chromium (Debian's, through playwright-core): a transaction
// interrupted by a page reload resumes from IndexedDB (or localStorage) with nothing run twice,
// and two tabs given the same transaction never run it at once (Web Locks). The steps call a
// real local HTTP endpoint, whose log of idempotency keys is the evidence.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { readFile, mkdir } from 'node:fs/promises';
import { launchChromium } from './chromium.mjs';
import { sleep } from './waits.mjs';

const PKG = new URL('../../pkg/', import.meta.url);
const RESULTS = new URL('../../test-results/', import.meta.url);

// The page: a 3-step transaction whose steps POST to /work with their idempotency key; step
// `slow` answers after ?delay ms. It resumes whatever the storage says is unfinished on load.
const PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>edgesaga storage</title>
<link rel="icon" href="data:,"></head><body><pre id="out">loading</pre><script type="module">
import init, { openBrowserStorage, TransactionCoordinator } from '/pkg/edgesaga.js';
await init();
const storage = await openBrowserStorage('edgesaga-test');
const work = async (info, delay = 0) => {
  const res = await fetch('/work?delay=' + delay, { method: 'POST', headers: { 'idempotency-key': info.idempotencyKey }, signal: info.signal });
  return res.json();
};
const definition = (slowMs) => ({
  name: 'reload-safe',
  steps: ['one', 'slow', 'three'].map((name) => ({
    name,
    execute: (ctx, info) => work(info, name === 'slow' ? ctx.slowMs : 0),
    compensate: (ctx, info) => work(info),
  })),
});
window.results = [];
window.run = async (transactionId, slowMs) => {
  localStorage.setItem('pending:' + transactionId, String(slowMs));
  const coordinator = new TransactionCoordinator({ journal: storage });
  const result = await coordinator.executeTransaction(definition(), { transactionId, context: { slowMs } });
  window.results.push({ id: transactionId, status: result.status, steps: result.steps.map((s) => s.status) });
  return window.results.at(-1);
};
window.storageKind = storage.kind;
window.prune = async (id, olderThanMs) => {
  const pruned = await storage.pruneFinished(olderThanMs);
  return { pruned, left: (await storage.load(id)).length, unfinished: await storage.unfinished() };
};
window.kv = { get: (k) => storage.get(k), set: (k, v) => storage.set(k, v) };
// After a reload: resume what the journal says is unfinished, with the same definition.
const resumed = [];
for (const id of await storage.unfinished()) resumed.push(window.run(id, 0));
window.ready = true;
document.getElementById('out').textContent = 'ready (' + storage.kind + ')';
await Promise.all(resumed);
</script></body></html>`;

let server;
let origin;
const seen = []; // { key, at }
const inFlight = new Set();

before(async () => {
  server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://x');
    if (url.pathname === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      return res.end(PAGE);
    }
    if (url.pathname.startsWith('/pkg/')) {
      try {
        const body = await readFile(new URL(url.pathname.slice('/pkg/'.length), PKG));
        const type = url.pathname.endsWith('.wasm') ? 'application/wasm' : 'text/javascript';
        res.writeHead(200, { 'content-type': type });
        return res.end(body);
      } catch {
        res.writeHead(404);
        return res.end();
      }
    }
    if (url.pathname === '/work' && req.method === 'POST') {
      const key = req.headers['idempotency-key'];
      seen.push(key);
      inFlight.add(key);
      const delay = Number(url.searchParams.get('delay') ?? 0);
      const timer = setTimeout(() => {
        inFlight.delete(key);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ key, n: seen.length }));
      }, delay);
      res.on('close', () => {
        clearTimeout(timer);
        inFlight.delete(key);
      });
      return undefined;
    }
    res.writeHead(404);
    return res.end();
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${server.address().port}`;
});
after(() => server?.close());

async function withBrowser(fn, { noIndexedDb = false } = {}) {
  const browser = await launchChromium();
  try {
    const context = await browser.newContext();
    if (noIndexedDb) await context.addInitScript(() => { delete window.indexedDB; });
    const problems = [];
    const watch = (page) => {
      page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
      page.on('pageerror', (e) => problems.push(String(e)));
      return page;
    };
    const open = async () => {
      const page = watch(await context.newPage());
      await page.goto(origin + '/');
      await page.waitForFunction(() => window.ready === true);
      return page;
    };
    await fn({ context, open, problems });
  } finally {
    await browser.close();
  }
}

const keysOf = (id) => seen.filter((k) => k.startsWith(id + ':'));
const count = (id, step) => seen.filter((k) => k === `${id}:${step}`).length;

for (const noIndexedDb of [false, true]) {
  const kind = noIndexedDb ? 'localstorage' : 'indexeddb';
  test(`a reload mid-step resumes the transaction from ${kind}; finished steps are not run again`, async () => {
    const id = `reload-${kind}`;
    await withBrowser(async ({ open, problems }) => {
      const page = await open();
      assert.equal(await page.evaluate(() => window.storageKind), kind);
      void page.evaluate((id) => window.run(id, 60_000), id).catch(() => {}); // the reload cuts it
      for (let i = 0; i < 500 && !inFlight.has(`${id}:slow`); i++) await sleep(10);
      assert.ok(inFlight.has(`${id}:slow`), 'the slow step is in flight');
      await page.reload();
      await page.waitForFunction(() => window.ready === true);
      await page.waitForFunction((id) => window.results.some((r) => r.id === id), id, { timeout: 15_000 });
      const [result] = await page.evaluate(() => window.results);
      assert.deepEqual(result, { id, status: 'committed', steps: ['succeeded', 'succeeded', 'succeeded'] });
      assert.deepEqual([count(id, 'one'), count(id, 'slow'), count(id, 'three')], [1, 2, 1],
        'step one ran once; the in-flight step ran again under its key; three once');
      assert.deepEqual(await page.evaluate(() => window.kv.set('k', 'v').then(() => window.kv.get('k'))), 'v');
      // Finished journals go once old enough; a fresh one stays for tabs that wait on it.
      // 9 records: the slow step's start is there twice (before the reload, and its rerun).
      assert.deepEqual(await page.evaluate((id) => window.prune(id, 60_000), id), { pruned: 0, left: 9, unfinished: [] });
      assert.deepEqual(await page.evaluate((id) => window.prune(id, 0), id), { pruned: 1, left: 0, unfinished: [] });
      await assert.rejects(page.evaluate(() => window.prune('x', -1)), /olderThanMs/);
      await mkdir(RESULTS, { recursive: true });
      await page.screenshot({ path: new URL(`browser-storage-${kind}.png`, RESULTS).pathname });
      assert.deepEqual(problems, []);
    }, { noIndexedDb });
  });
}

test('two tabs given the same transaction never run it at once (Web Locks)', async () => {
  const id = 'two-tabs';
  await withBrowser(async ({ open, problems }) => {
    const [a, b] = [await open(), await open()];
    const results = await Promise.all([a.evaluate((id) => window.run(id, 300), id), b.evaluate((id) => window.run(id, 300), id)]);
    assert.deepEqual(results.map((r) => r.status), ['committed', 'committed']);
    assert.deepEqual(keysOf(id).sort(), [`${id}:one`, `${id}:slow`, `${id}:three`], 'each step ran once, in one tab');
    assert.deepEqual(problems, []);
  });
});
