// edgesaga's Cloudflare Worker entry (wrangler.toml `main`): loads the wasm package once per
// isolate and routes requests.
//
//   /events          the notification hub (worker/hub.js, its object worker/hub-object.js):
//                    POST publishes, GET streams (SSE)
//   /transactions    declarative transactions (worker/transactions.js): POST runs one, GET
//                    /transactions/:id reports it; each in its own journaled Durable Object

import wasm from '../pkg/edgesaga_bg.wasm';
import { initSync } from '../pkg/edgesaga.js';
import { handleEvents } from './hub.js';
import { handleTransactions } from './transactions.js';

export { HubObject } from './hub-object.js';
export { TransactionObject } from './transactions.js';

initSync({ module: wasm });

export default {
  async fetch(request, env, ctx) {
    const { pathname } = new URL(request.url);
    if (pathname === '/events') return handleEvents(request, env, ctx);
    if (pathname === '/transactions' || pathname.startsWith('/transactions/')) return handleTransactions(request, env);

    return Response.json({ error: { name: 'NotFound', message: `no route for ${pathname}` } }, { status: 404 });
  },
};
