// The Worker of wrangler.toml, run locally under real workerd with Miniflare — what
// `wrangler dev` does, configured from wrangler.toml itself (entry, Durable Object bindings,
// migrations, compatibility date and flags, vars). The demo (demo/server.mjs) runs it as its
// notification source. `npm run build` first: the Worker imports the wasm package from pkg/.

import { fileURLToPath } from 'node:url';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Miniflare } from 'miniflare';

export const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** The TOML this repository's wrangler.toml uses: tables, arrays of tables, strings, booleans,
 *  integers and arrays of strings. Throws on anything else rather than guess. */
export function parseToml(text) {
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

/** Miniflare options equivalent to `wrangler dev` with wrangler.toml; `bindings` override its vars. */
export function miniflareOptions({ bindings = {}, persist, script, port = 0 } = {}) {
  const sqlite = new Set(WRANGLER.migrations.flatMap((m) => m.new_sqlite_classes ?? []));
  const durableObjects = Object.fromEntries(WRANGLER.durable_objects.bindings.map((b) => [
    b.name, { className: b.class_name, useSQLite: sqlite.has(b.class_name) },
  ]));
  const options = {
    host: '127.0.0.1',
    port,
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
    bindings: { ...WRANGLER.vars, ...bindings },
  };
  if (persist) options.durableObjectsPersist = persist;
  if (script) {
    // An entry written next to the real one (so its imports resolve the same way).
    options.script = script;
    options.scriptPath = join(ROOT, 'worker', '__test_entry__.js');
  }
  return options;
}

/** The Worker running under workerd: `{ mf, url, close() }`, once it answered a request. */
export async function startWorker(options = {}) {
  if (!existsSync(join(ROOT, 'pkg', 'edgesaga_bg.wasm'))) throw new Error('pkg/ is not built: run `npm run build`');
  const mf = new Miniflare(miniflareOptions(options));
  try {
    const url = await mf.ready;
    // The module loads on the first request: prove it does (no token: 401 from the hub).
    const res = await fetch(new URL('/events', url));
    await res.body?.cancel();
    if (res.status !== 401) throw new Error(`the Worker answered GET /events with ${res.status}`);
    return { mf, url: url.origin, close: () => mf.dispose() };
  } catch (error) {
    await mf.dispose().catch(() => {});
    throw error;
  }
}

/** The tokens of HUB_TOKENS (wrangler.toml's development ones unless overridden): one that may
 *  publish and one that may only subscribe. */
export function devTokens(hubTokens = WRANGLER.vars.HUB_TOKENS) {
  const entries = Object.entries(JSON.parse(hubTokens));
  const publisher = entries.find(([, grant]) => grant.publish === true);
  const subscriber = entries.find(([, grant]) => grant.publish !== true && grant.tenant === publisher?.[1].tenant);
  if (!publisher || !subscriber) throw new Error('HUB_TOKENS needs a publisher and a subscriber token of one tenant');
  return { publisher: publisher[0], subscriber: subscriber[0], tenant: publisher[1].tenant };
}
