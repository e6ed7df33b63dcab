// A real local HTTP service for the order saga: inventory, payments and orders, each with
// its own state, Idempotency-Key handling, a request log and failure injection. This file is
// the HTTP side: fault injection, Idempotency-Key replays, the request log and the control
// routes (`/_state`, `/_reset`, `/_faults`); the state and the business handlers are in
// demo/order-handlers.mjs.
//
// The saga's tests check what the *service* saw (request order, keys, aborted connections,
// what is still reserved or charged), not only what the library reports, so this service
// keeps an honest record of everything that reached it.
//
// Every state change is also announced as a notification (`inventory.reserved`,
// `payment.processed`, `order.created`, … — see `announce` in demo/order-handlers.mjs) through
// the `publish` option: the demo (demo/server.mjs) publishes them to the Worker's notification
// hub, which is where the page's `await payment.processed` step and its notification feed get
// them from.
//
// Used by the JS tests (tests/js) and by the demo (demo/server.mjs, mounted under /api).
// Standalone: `node demo/order-service.mjs` prints its URL (PORT=… to pick a port).

import http from 'node:http';
import { pathToFileURL } from 'node:url';
import { freshState, invalid, reply, ROUTES } from './order-handlers.mjs';

export const INITIAL_STOCK = Object.freeze({ 'sku-apple': 10, 'sku-pear': 5, 'sku-plum': 2 });

// Fault defaults per mode: `fail` is permanent, `transient` goes away after one hit.
// `hang` holds the request open and never answers (with `afterHandler: true` the handler runs
// first: the effect happens, the answer never comes); `slow` runs the handler at once and
// answers `delayMs` later (or not at all if the caller gave up by then).
const FAULT_MODES = {
  fail: { status: 500, times: Infinity },
  transient: { status: 503, times: 1 },
  hang: { status: null, times: Infinity },
  decline: { status: 402, times: Infinity },
  slow: { status: null, times: Infinity, delayMs: 2000 },
};
const FAULT_TARGETS = ['reserve', 'charge', 'create', 'release', 'refund', 'cancel_order'];
const FAULT_STATUSES = [500, 503, 402];

async function readJson(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return undefined;
  return JSON.parse(text); // a SyntaxError becomes a 400 below
}

function send(res, { status, body, headers = {} }) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(body === undefined ? '' : JSON.stringify(body));
}

function addFault(s, spec) {
  const defaults = FAULT_MODES[spec?.mode];
  if (!FAULT_TARGETS.includes(spec?.target)) return invalid(`target must be one of ${FAULT_TARGETS}`);
  if (!defaults) return invalid(`mode must be one of ${Object.keys(FAULT_MODES)}`);
  if (spec.status != null && !FAULT_STATUSES.includes(spec.status)) return invalid('status must be 500, 503 or 402');
  if (spec.times != null && !(Number.isInteger(spec.times) && spec.times > 0)) return invalid('times must be > 0');
  if (spec.delayMs != null && !(Number.isInteger(spec.delayMs) && spec.delayMs > 0)) return invalid('delayMs must be > 0');
  if (spec.afterHandler != null && typeof spec.afterHandler !== 'boolean') return invalid('afterHandler must be a boolean');
  if (spec.label != null && typeof spec.label !== 'string') return invalid('label must be a string');
  const fault = {
    target: spec.target,
    mode: spec.mode,
    status: spec.status ?? defaults.status,
    remaining: spec.times ?? defaults.times,
    retryAfterMs: spec.retryAfterMs ?? null,
    label: spec.label ?? null, // `DELETE /_faults?label=…` removes only the faults with that label
  };
  if (spec.mode === 'slow') fault.delayMs = spec.delayMs ?? defaults.delayMs;
  if (spec.mode === 'hang') fault.afterHandler = spec.afterHandler ?? false;
  s.faults.push(fault);
  return reply(201, { ...fault, remaining: Number.isFinite(fault.remaining) ? fault.remaining : null });
}

function takeFault(s, target) {
  const fault = s.faults.find((f) => f.target === target && f.remaining > 0);
  if (fault) fault.remaining -= 1;
  return fault;
}

function faultResponse(fault) {
  const headers = {};
  if (fault.retryAfterMs != null) {
    // Retry-After only has whole seconds; Retry-After-Ms (as some APIs send) keeps precision.
    headers['retry-after'] = String(Math.ceil(fault.retryAfterMs / 1000));
    headers['retry-after-ms'] = String(fault.retryAfterMs);
  }
  const declined = fault.mode === 'decline' || fault.status === 402;
  const body = declined
    ? { error: 'payment_declined', message: 'the card was declined (injected)' }
    : { error: 'injected_fault', message: `${fault.mode} fault on ${fault.target}` };
  return { status: fault.status, body, headers };
}

function publicState(s) {
  return {
    stock: s.stock,
    reservations: s.reservations,
    payments: s.payments,
    orders: s.orders,
    log: s.log,
    keys: s.keys,
    faults: s.faults.map((f) => ({ ...f, remaining: Number.isFinite(f.remaining) ? f.remaining : null })),
  };
}

/** Holds `res` open with no answer yet. When the caller gives up first, the log entry says so:
 *  `callerGaveUp`, and a request the handler never saw becomes `aborted`. */
function holdOpen(s, res, entry) {
  s.hung.add(res);
  res.on('close', () => {
    s.hung.delete(res);
    if (res.writableEnded) return;
    entry.callerGaveUp = true;
    if (entry.outcome === 'hang') entry.outcome = 'aborted';
  });
}

/** The answer for a request that passed the faults: a replay under its key, or the handler's. */
function answer(s, req, route, params, body, key, path, entry) {
  const first = key ? s.responses.get(key) : undefined;
  if (first) {
    if (first.method !== req.method || first.path !== path) {
      Object.assign(entry, { status: 422, outcome: 'rejected' });
      return reply(422, { error: 'idempotency_key_reused', message: `key ${key} was used for ${first.method} ${first.path}` });
    }
    Object.assign(entry, { status: first.status, outcome: 'replayed' });
    return { ...first, headers: { 'idempotent-replayed': 'true' } };
  }

  const response = route.run(s, body, params);
  Object.assign(entry, { status: response.status, outcome: response.status < 400 ? 'ok' : 'rejected' });
  // Only final answers are remembered: a 5xx must stay retryable under the same key.
  if (key && response.status < 500) {
    s.responses.set(key, { method: req.method, path, ...response });
    s.keys[key].status = response.status;
  }
  return response;
}

async function handleBusiness(s, req, res, route, params) {
  const body = await readJson(req);
  const key = req.headers['idempotency-key'] ?? null;
  const path = req.url.split('?')[0];
  // `outcome`: ok | rejected (4xx from the handler) | replayed | fault | hang | aborted; a
  // `hang` (afterHandler) or `slow` fault adds `answerLost` or `delayedMs` to the handler's outcome.
  const entry = {
    seq: ++s.counters.seq, method: req.method, path, target: route.target, key,
    status: null, outcome: 'pending', at: Date.now(),
  };
  s.log.push(entry);
  if (key) {
    s.keys[key] ??= { target: route.target, method: req.method, path, seen: 0, status: null };
    s.keys[key].seen += 1;
  }

  // Faults stand for the infrastructure in front of the handler, so they win over replays.
  const fault = takeFault(s, route.target);
  if (fault?.mode === 'hang' && !fault.afterHandler) {
    entry.outcome = 'hang';
    return holdOpen(s, res, entry);
  }
  if (fault && fault.mode !== 'hang' && fault.mode !== 'slow') {
    const response = faultResponse(fault);
    Object.assign(entry, { status: response.status, outcome: 'fault' });
    return send(res, response);
  }

  const response = answer(s, req, route, params, body, key, path, entry);
  if (fault?.mode === 'hang') {
    // The handler ran (its effect is real): only the answer is lost.
    entry.answerLost = true;
    return holdOpen(s, res, entry);
  }
  if (fault?.mode === 'slow') {
    entry.delayedMs = fault.delayMs;
    holdOpen(s, res, entry);
    const timer = setTimeout(() => {
      s.timers.delete(timer);
      if (!res.destroyed) send(res, response);
    }, fault.delayMs);
    s.timers.add(timer);
    return;
  }
  send(res, response);
}

/**
 * The service without a socket: `handle(req, res)` serves one request (mount it under a path
 * prefix by rewriting `req.url`); `publish(notification)` (optional) receives each notification
 * about a state change, in order; `paymentProcessingMs` delays `payment.processed` after a charge.
 */
export function createOrderService({ stock = INITIAL_STOCK, publish = null, paymentProcessingMs = 0 } = {}) {
  let state = freshState(stock);
  state.paymentProcessingMs = paymentProcessingMs;
  let publishing = Promise.resolve();
  const delayed = new Set(); // Promises of notifications announced with a delay, not yet queued
  const publishInOrder = (notification) => {
    publishing = publishing
      .then(() => publish(notification))
      .catch((error) => console.error(`order service: ${notification.type} was not published:`, error));
  };

  // Payment confirmations (delayed announcements) can be held back (`holdPaymentConfirmations`):
  // while they are, each one that falls due waits here, in order, for the release.
  let held = null;

  const flushOutbox = (s) => {
    for (const { notification, delayMs } of s.outbox.splice(0)) {
      if (publish === null) continue;
      if (delayMs === 0) {
        publishInOrder(notification);
        continue;
      }
      let due;
      delayed.add(new Promise((resolve) => (due = resolve)));
      const send = () => {
        publishInOrder({ ...notification, timestamp: Date.now() });
        due();
      };
      const timer = setTimeout(() => {
        s.timers.delete(timer);
        if (held) held.push({ send, drop: due });
        else send();
      }, delayMs);
      s.timers.add(timer);
      // A reset drops the timer: the notification is not due any more.
      timer.cancelled = due;
    }
  };

  const resetState = () => {
    // Requests still hung from an earlier scenario must not linger into the next one.
    for (const res of state.hung) res.destroy();
    for (const timer of state.timers) {
      clearTimeout(timer);
      timer.cancelled?.();
    }
    for (const { drop } of held?.splice(0) ?? []) drop();
    state = freshState(stock, state.counters);
    state.paymentProcessingMs = paymentProcessingMs;
  };

  async function handle(req, res) {
    const s = state;
    const path = req.url.split('?')[0];
    try {
      if (req.method === 'GET' && path === '/_state') return send(res, reply(200, publicState(s)));
      if (req.method === 'POST' && path === '/_reset') {
        await readJson(req);
        resetState();
        return send(res, reply(200, { ok: true }));
      }
      if (req.method === 'POST' && path === '/_faults') return send(res, addFault(s, await readJson(req)));
      if (req.method === 'DELETE' && path === '/_faults') {
        const label = new URL(req.url, 'http://x').searchParams.get('label');
        s.faults = label === null ? [] : s.faults.filter((f) => f.label !== label);
        return send(res, reply(200, { ok: true }));
      }
      for (const route of ROUTES) {
        const match = req.method === route.method && route.path.exec(path);
        if (match) {
          try {
            return await handleBusiness(s, req, res, route, match.slice(1).map(decodeURIComponent));
          } finally {
            flushOutbox(s);
          }
        }
      }
      send(res, reply(404, { error: 'not_found', message: `${req.method} ${path}` }));
    } catch (error) {
      if (res.headersSent || res.destroyed) return;
      if (error instanceof SyntaxError) return send(res, invalid(`malformed JSON: ${error.message}`));
      send(res, reply(500, { error: 'internal', message: String(error?.message ?? error) }));
    }
  }

  return {
    handle,
    state: () => publicState(state),
    /** Holds payment confirmations (`payment.processed`) back until the returned function is
     *  called, which publishes them in order: a payment processor slow to confirm, for as long
     *  as a test needs. */
    holdPaymentConfirmations() {
      held ??= [];
      return () => {
        const due = held ?? [];
        held = null;
        for (const { send } of due) send();
      };
    },
    /** Resolves once every notification announced so far (delayed ones included) was published
     *  (or failed to be). Not while confirmations are held. */
    async published() {
      while (delayed.size > 0) {
        const waiting = [...delayed];
        await Promise.all(waiting);
        for (const p of waiting) delayed.delete(p);
      }
      await publishing;
    },
    close: () => resetState(),
  };
}

/**
 * Starts the service on 127.0.0.1 (port 0 = any free port); options as `createOrderService`.
 * @returns {Promise<{ url: string, close(): Promise<void>, state(): Promise<object>,
 *   inject(fault: object): Promise<object>, reset(): Promise<void> }>}
 */
export async function startOrderService({ port = 0, ...options } = {}) {
  const service = createOrderService(options);
  const server = http.createServer(service.handle);
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const url = `http://127.0.0.1:${server.address().port}`;

  async function control(method, path, body) {
    const res = await fetch(url + path, {
      method,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const payload = await res.json();
    if (!res.ok) throw new Error(`${method} ${path} → ${res.status}: ${payload.message ?? payload.error}`);
    return payload;
  }

  return {
    url,
    state: () => control('GET', '/_state'),
    inject: (fault) => control('POST', '/_faults', fault),
    reset: async () => void (await control('POST', '/_reset', {})),
    close: () =>
      new Promise((resolve) => {
        service.close();
        server.close(() => resolve());
        // Keep-alive sockets (and hung requests) would otherwise hold close() open.
        server.closeAllConnections();
      }),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const service = await startOrderService({ port: Number(process.env.PORT) || 0 });
  console.log(service.url);
  const stop = () => service.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
