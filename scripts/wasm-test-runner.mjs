// Cargo's runner for wasm32 test binaries. Node tests go to wasm-bindgen-test-runner as usual.
// Browser tests (built with `run_in_browser`) are served by wasm-bindgen-test-runner in its
// interactive mode and driven by playwright-core in Debian's Chromium. The runner's little HTTP
// server now and then stops answering before the page has loaded (its own headless mode then
// hangs for 5 minutes in WebDriver `Navigate`); a new runner gets through, so an attempt whose
// page never starts is retried with a fresh runner and browser. A test that ran is never retried.
import { spawn } from 'node:child_process';
import { basename } from 'node:path';
import { createServer } from 'node:net';
import http from 'node:http';

const [wasm, ...rest] = process.argv.slice(2);
const ATTEMPTS = 4;
const proxies = [];

if (!basename(wasm).startsWith('wasm_browser')) {
  const child = spawn('wasm-bindgen-test-runner', [wasm, ...rest], { stdio: 'inherit' });
  child.on('exit', (code, signal) => process.exit(signal ? 1 : code));
} else {
  let code;
  for (let attempt = 1; code === undefined; attempt++) {
    code = await runInChromium().catch((stalled) => {
      if (attempt === ATTEMPTS) throw stalled;
      console.error(`the test page never started (${stalled.message.split('\n')[0]}); new runner (${attempt}/${ATTEMPTS - 1})`);
      return undefined;
    });
  }
  process.exit(code);
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** Resolves with the exit code once the tests ran; rejects when the page never started. */
async function runInChromium() {
  const { chromium } = await import('playwright-core');
  const address = `127.0.0.1:${await freePort()}`;
  const runner = spawn('wasm-bindgen-test-runner', [wasm, ...rest], {
    env: { ...process.env, NO_HEADLESS: '1', WASM_BINDGEN_TEST_ADDRESS: address },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let browser;
  try {
    await new Promise((resolve, reject) => {
      let seen = '';
      runner.stdout.on('data', (d) => {
        seen += d;
        if (seen.includes('now available at')) resolve();
      });
      runner.on('exit', (code) => reject(new Error(`wasm-bindgen-test-runner exited early (${code}): ${seen}`)));
    });
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    // The runner's server answers one request per connection at a time; Chromium keeps several
    // connections open and fetches the module graph in parallel, which can leave a request
    // queued behind an idle keep-alive connection forever. A proxy that opens a fresh,
    // closed-after-use connection to the runner for every request avoids that.
    const proxy = http.createServer((req, res) => {
      const [host, port] = address.split(':');
      const upstream = http.request({ host, port, path: req.url, method: req.method, agent: false,
        headers: { ...req.headers, connection: 'close' } }, (up) => {
        res.writeHead(up.statusCode, up.headers);
        up.pipe(res);
      });
      upstream.on('error', (e) => res.destroy(e));
      req.pipe(upstream);
    });
    await new Promise((r) => proxy.listen(0, '127.0.0.1', r));
    proxies.push(proxy);
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${proxy.address().port}/`, { waitUntil: 'commit', timeout: 20_000 });
    // The page shows "Loading scripts...", then "Loading Wasm module...", then "running N tests".
    await page.waitForFunction(() => /running \d+ tests?/.test(document.getElementById('output')?.textContent ?? ''),
      null, { timeout: 60_000, polling: 100 });
    await page.waitForFunction(() => /test result: (ok|FAILED)/.test(document.getElementById('output')?.textContent ?? ''),
      null, { timeout: 300_000, polling: 100 });
    const text = await page.$eval('#output', (e) => e.textContent);
    console.log(`Running in headless Chromium (playwright-core) at http://${address}/\n${text}`);
    return /test result: ok\./.test(text) ? 0 : 1;
  } finally {
    await browser?.close();
    proxies.splice(0).forEach((p) => p.close());
    runner.kill('SIGKILL');
  }
}
