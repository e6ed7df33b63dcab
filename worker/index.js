// edgesaga's Cloudflare Worker entry (wrangler.toml `main`): loads the wasm package once per
// isolate and routes requests.
//
//   /events          the notification hub (worker/hub.js): POST publishes, GET streams (SSE)
//   /transactions    (next: transaction routes, publishing their lifecycle to the hub)

import wasm from '../pkg/edgesaga_bg.wasm';
import { initSync } from '../pkg/edgesaga.js';
import { handleEvents } from './hub.js';

export { HubObject } from './hub.js';

initSync({ module: wasm });

export default {
  async fetch(request, env, ctx) {
    const { pathname } = new URL(request.url);
    if (pathname === '/events') return handleEvents(request, env, ctx);

    // ── transactions ─────────────────────────────────────────────────────────────────────
    // Routes under /transactions go here. Publish each public lifecycle event to the caller's
    // tenant with `publishLifecycle(env, tenant, event)` from './hub.js' (e.g. from the
    // coordinator's `onEvent`); it drops checkpoints and strips errors to name + message.

    return Response.json({ error: { name: 'NotFound', message: `no route for ${pathname}` } }, { status: 404 });
  },
};
