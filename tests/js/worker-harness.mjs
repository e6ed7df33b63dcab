// Shared by the Worker test files: the Worker of wrangler.toml under real workerd (Miniflare),
// configured from the file itself (Durable Object bindings, migrations, compatibility date and
// flags; its vars, with test tokens and a short heartbeat), and clients for /events.

import { existsSync, readFileSync } from 'node:fs';
import { Miniflare } from 'miniflare';
import { ROOT, WRANGLER, miniflareOptions } from '../../demo/worker.mjs';
import { sleep, eventually } from './waits.mjs';

export { sleep, eventually };

export { ROOT, WRANGLER };
const PKG = new URL('../../pkg/', import.meta.url);
const decoder = new TextDecoder();


// `npm run build` may be rewriting pkg/ while this file loads: retry a few times.
async function loadPkg() {
  for (let attempt = 1; ; attempt++) {
    try {
      const mod = await import(new URL(`edgesaga.js?hub=${attempt}`, PKG));
      mod.initSync({ module: readFileSync(new URL('edgesaga_bg.wasm', PKG)) });
      if (typeof mod.NotificationHub !== 'function') throw new Error('pkg/ exports no NotificationHub (npm run build)');
      return mod;
    } catch (error) {
      if (attempt >= 5) throw error;
      await sleep(5000);
    }
  }
}
export const pkg = await loadPkg();
const { SseParser } = pkg;

// ── wrangler.toml ─────────────────────────────────────────────────────────────────────────

export const HEARTBEAT_MS = 200;
export const TOKENS = {
  'pub-acme': { tenant: 'acme', publish: true },
  'sub-acme': { tenant: 'acme', publish: false },
  'pub-globex': { tenant: 'globex', publish: true },
  'sub-globex': { tenant: 'globex' },
};

/** Miniflare options as `wrangler dev` has them (demo/worker.mjs), with the test tokens and a
 *  short heartbeat. */
export function workerOptions({ persist, script } = {}) {
  const bindings = { HUB_HEARTBEAT_MS: String(HEARTBEAT_MS), HUB_TOKENS: JSON.stringify(TOKENS) };
  const { host: _host, port: _port, ...options } = miniflareOptions({ bindings, persist, script });
  return options;
}

/** A running Worker; `npm run build` may be rewriting pkg/: retry. */
export async function startWorker(options) {
  for (let attempt = 1; ; attempt++) {
    let mf;
    try {
      if (!existsSync(new URL('edgesaga_bg.wasm', PKG))) throw new Error('pkg/ is not built (npm run build)');
      mf = new Miniflare(workerOptions(options));
      const url = await mf.ready;
      // The module loads on the first request: prove it does.
      const res = await fetch(new URL('/events', url));
      if (res.status !== 401) throw new Error(`the Worker answered ${res.status}: ${await res.text()}`);
      return { mf, url };
    } catch (error) {
      await mf?.dispose().catch(() => {});
      if (attempt >= 5) throw error;
      await sleep(5000);
    }
  }
}

// ── clients ───────────────────────────────────────────────────────────────────────────────

export function client(url) {
  const opened = [];
  const publish = async (token, body, headers = {}) => {
    const res = await fetch(new URL('/events', url), {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
  };
  /** Opens a stream; `events` fills as they arrive ({ type, data, lastEventId }), `raw` too. */
  const subscribe = async (token, { lastEventId, query = '', headers = {} } = {}) => {
    const abort = new AbortController();
    const h = { accept: 'text/event-stream', ...headers };
    if (token) h.authorization = `Bearer ${token}`;
    if (lastEventId !== undefined) h['last-event-id'] = lastEventId;
    const res = await fetch(new URL(`/events${query}`, url), { headers: h, signal: abort.signal });
    const sub = { status: res.status, headers: res.headers, events: [], raw: '', ended: false, close: () => abort.abort() };
    opened.push(sub);
    if (res.status !== 200) {
      sub.body = await res.json();
      return sub;
    }
    const parser = new SseParser();
    sub.done = (async () => {
      try {
        for await (const chunk of res.body) {
          sub.raw += decoder.decode(chunk, { stream: true });
          sub.events.push(...parser.feed(chunk));
        }
      } catch {
        // aborted
      }
      sub.ended = true;
    })();
    sub.notifications = () => sub.events.filter((e) => e.type !== 'hub.gap').map((e) => ({ id: e.lastEventId, type: e.type, ...JSON.parse(e.data) }));
    return sub;
  };
  const closeAll = async () => {
    for (const sub of opened.splice(0)) {
      sub.close();
      await sub.done;
    }
  };
  return { publish, subscribe, closeAll };
}

export const note = (type, entityId, extra = {}) => ({ type, entityId, ...extra });

