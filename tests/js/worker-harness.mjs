// Shared by the Worker test files: the Worker of wrangler.toml under real workerd (Miniflare),
// configured from the file itself (Durable Object bindings, migrations, compatibility date and
// flags; its vars, with test tokens and a short heartbeat), and clients for /events.

import { fileURLToPath } from 'node:url';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Miniflare } from 'miniflare';
import { sleep, eventually } from './waits.mjs';

export { sleep, eventually };

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
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

/** The TOML this repository's wrangler.toml uses: tables, arrays of tables, strings, booleans,
 *  integers and arrays of strings. Throws on anything else rather than guess. */
function parseToml(text) {
  const root = {};
  let table = root;
  const at = (path, arrayOfTables) => {
    let node = root;
    path.forEach((key, i) => {
      const last = i === path.length - 1;
      if (last && arrayOfTables) {
        node[key] ??= [];
        node[key].push({});
        node = node[key].at(-1);
      } else {
        node[key] ??= {};
        node = Array.isArray(node[key]) ? node[key].at(-1) : node[key];
      }
    });
    return node;
  };
  const value = (v) => {
    if (v.startsWith('"')) return JSON.parse(v);
    if (v.startsWith("'")) return v.slice(1, -1);
    if (v === 'true' || v === 'false') return v === 'true';
    if (/^-?\d+$/.test(v)) return Number(v);
    if (v.startsWith('[')) return v.slice(1, -1).split(',').map((s) => s.trim()).filter(Boolean).map(value);
    throw new Error(`wrangler.toml: unsupported value ${v}`);
  };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/^\s+/, '');
    if (line === '' || line.startsWith('#')) continue;
    let m;
    if ((m = /^\[\[([\w.]+)\]\]\s*(#.*)?$/.exec(line))) table = at(m[1].split('.'), true);
    else if ((m = /^\[([\w.]+)\]\s*(#.*)?$/.exec(line))) table = at(m[1].split('.'), false);
    else if ((m = /^([\w-]+)\s*=\s*("(?:[^"\\]|\\.)*"|'[^']*'|\[[^\]]*\]|[\w.-]+)\s*(#.*)?$/.exec(line))) table[m[1]] = value(m[2]);
    else throw new Error(`wrangler.toml: cannot read ${JSON.stringify(raw)}`);
  }
  return root;
}

export const WRANGLER = parseToml(readFileSync(join(ROOT, 'wrangler.toml'), 'utf8'));
export const HEARTBEAT_MS = 200;
export const TOKENS = {
  'pub-acme': { tenant: 'acme', publish: true },
  'sub-acme': { tenant: 'acme', publish: false },
  'pub-globex': { tenant: 'globex', publish: true },
  'sub-globex': { tenant: 'globex' },
};

/** Miniflare options equivalent to `wrangler dev` with wrangler.toml. */
export function workerOptions({ persist, script } = {}) {
  const sqlite = new Set(WRANGLER.migrations.flatMap((m) => m.new_sqlite_classes ?? []));
  const durableObjects = Object.fromEntries(WRANGLER.durable_objects.bindings.map((b) => [
    b.name, { className: b.class_name, useSQLite: sqlite.has(b.class_name) },
  ]));
  const options = {
    modules: true,
    modulesRoot: ROOT,
    scriptPath: join(ROOT, WRANGLER.main),
    modulesRules: [
      { type: 'ESModule', include: ['**/*.js'] },
      { type: 'CompiledWasm', include: ['**/*.wasm'] },
    ],
    compatibilityDate: WRANGLER.compatibility_date,
    compatibilityFlags: WRANGLER.compatibility_flags ?? [],
    durableObjects,
    bindings: { ...WRANGLER.vars, HUB_HEARTBEAT_MS: String(HEARTBEAT_MS), HUB_TOKENS: JSON.stringify(TOKENS) },
  };
  if (persist) options.durableObjectsPersist = persist;
  if (script) {
    // An entry written here, next to the real one (so its imports resolve the same way).
    options.script = script;
    options.scriptPath = join(ROOT, 'worker', '__test_entry__.js');
  }
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

