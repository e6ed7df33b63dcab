// A real local HTTP service for the order saga: inventory, payments and orders, each with
// its own state, Idempotency-Key handling, a request log and failure injection.
//
// The saga's tests check what the *service* saw (request order, keys, aborted connections,
// what is still reserved or charged), not only what the library reports, so this service
// keeps an honest record of everything that reached it.
//
// Standalone: `node tests/js/order-service.mjs` prints its URL (PORT=… to pick a port).

import http from 'node:http';
import { pathToFileURL } from 'node:url';

export const INITIAL_STOCK = Object.freeze({ 'sku-apple': 10, 'sku-pear': 5, 'sku-plum': 2 });

// Fault defaults per mode: `fail` is permanent, `transient` goes away after one hit.
const FAULT_MODES = {
  fail: { status: 500, times: Infinity },
  transient: { status: 503, times: 1 },
  hang: { status: null, times: Infinity },
  decline: { status: 402, times: Infinity },
};
const FAULT_TARGETS = ['reserve', 'charge', 'create', 'release', 'refund', 'cancel_order'];
const FAULT_STATUSES = [500, 503, 402];

function freshState(stock) {
  return {
    stock: { ...stock },
    reservations: [],
    payments: [],
    orders: [],
    log: [],
    keys: {},
    faults: [],
    responses: new Map(), // Idempotency-Key → the first response, replayed on repeats
    hung: new Set(), // responses held open by a `hang` fault
    counters: { seq: 0, res: 0, pay: 0, ord: 0 },
    versions: { inventory: 0, payments: 0 },
  };
}

const reply = (status, body) => ({ status, body });
const invalid = (message) => reply(400, { error: 'invalid_request', message });
const isName = (v) => typeof v === 'string' && v.length > 0;

// ---- the business handlers: synchronous, so each one is atomic -------------------------

function reserve(s, body) {
  if (!isName(body?.orderId)) return invalid('orderId is required');
  const items = body.items;
  if (!Array.isArray(items) || items.length === 0) return invalid('items must be a non-empty array');
  for (const item of items) {
    if (!isName(item?.sku) || !Number.isInteger(item.qty) || item.qty <= 0) {
      return invalid('each item needs a sku and a positive integer qty');
    }
  }
  // Check everything before touching stock, so a refused reservation changes nothing.
  const wanted = {};
  for (const { sku, qty } of items) wanted[sku] = (wanted[sku] ?? 0) + qty;
  for (const [sku, qty] of Object.entries(wanted)) {
    if ((s.stock[sku] ?? 0) < qty) return reply(409, { error: 'insufficient_stock', sku });
  }
  for (const [sku, qty] of Object.entries(wanted)) s.stock[sku] -= qty;
  const version = ++s.versions.inventory;
  const reservation = {
    id: `res_${++s.counters.res}`, orderId: body.orderId, items: wanted, status: 'held', version,
  };
  s.reservations.push(reservation);
  return reply(201, { id: reservation.id, status: 'held', version });
}

function release(s, _body, [id]) {
  const reservation = s.reservations.find((r) => r.id === id);
  if (!reservation) return reply(404, { error: 'not_found', message: `no reservation ${id}` });
  // Releasing twice is a no-op even without a key: the stock must never be restored twice.
  if (reservation.status === 'held') {
    for (const [sku, qty] of Object.entries(reservation.items)) s.stock[sku] += qty;
    reservation.status = 'released';
    reservation.version = ++s.versions.inventory;
  }
  return reply(200, { id, status: reservation.status, version: reservation.version });
}

function charge(s, body) {
  if (!isName(body?.orderId)) return invalid('orderId is required');
  if (typeof body.amount !== 'number' || !(body.amount > 0)) return invalid('amount must be > 0');
  const version = ++s.versions.payments;
  const payment = {
    id: `pay_${++s.counters.pay}`, orderId: body.orderId, amount: body.amount, status: 'charged', version,
  };
  s.payments.push(payment);
  return reply(201, { id: payment.id, status: 'charged', amount: payment.amount, version });
}

function refund(s, _body, [id]) {
  const payment = s.payments.find((p) => p.id === id);
  if (!payment) return reply(404, { error: 'not_found', message: `no payment ${id}` });
  if (payment.status === 'charged') {
    payment.status = 'refunded';
    payment.version = ++s.versions.payments;
  }
  return reply(200, { id, status: payment.status, version: payment.version });
}

function createOrder(s, body) {
  if (!isName(body?.orderId)) return invalid('orderId is required');
  // An order may only point at a live reservation and an actual charge.
  const { reservationId, paymentId } = body;
  if (reservationId != null && !s.reservations.some((r) => r.id === reservationId && r.status === 'held')) {
    return reply(409, { error: 'reservation_not_held', reservationId });
  }
  if (paymentId != null && !s.payments.some((p) => p.id === paymentId && p.status === 'charged')) {
    return reply(409, { error: 'payment_not_charged', paymentId });
  }
  const order = {
    id: `ord_${++s.counters.ord}`, orderId: body.orderId, reservationId: reservationId ?? null,
    paymentId: paymentId ?? null, amount: body.amount ?? null, status: 'created',
  };
  s.orders.push(order);
  return reply(201, { id: order.id, orderId: order.orderId, status: 'created' });
}

function cancelOrder(s, _body, [id]) {
  const order = s.orders.find((o) => o.id === id);
  if (!order) return reply(404, { error: 'not_found', message: `no order ${id}` });
  order.status = 'cancelled';
  return reply(200, { id, status: 'cancelled' });
}

const ROUTES = [
  { method: 'POST', path: /^\/inventory\/reservations$/, target: 'reserve', run: reserve },
  { method: 'DELETE', path: /^\/inventory\/reservations\/([^/]+)$/, target: 'release', run: release },
  { method: 'POST', path: /^\/payments$/, target: 'charge', run: charge },
  { method: 'POST', path: /^\/payments\/([^/]+)\/refund$/, target: 'refund', run: refund },
  { method: 'POST', path: /^\/orders$/, target: 'create', run: createOrder },
  { method: 'DELETE', path: /^\/orders\/([^/]+)$/, target: 'cancel_order', run: cancelOrder },
];

// ---- plumbing ----------------------------------------------------------------------------

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
  const fault = {
    target: spec.target,
    mode: spec.mode,
    status: spec.status ?? defaults.status,
    remaining: spec.times ?? defaults.times,
    retryAfterMs: spec.retryAfterMs ?? null,
  };
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

async function handleBusiness(s, req, res, route, params) {
  const body = await readJson(req);
  const key = req.headers['idempotency-key'] ?? null;
  const path = req.url.split('?')[0];
  // `outcome`: ok | rejected (4xx from the handler) | replayed | fault | hang | aborted
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
  if (fault?.mode === 'hang') {
    entry.outcome = 'hang';
    s.hung.add(res);
    // The caller gave up (timeout or abort) when the connection closes with no response.
    res.on('close', () => {
      s.hung.delete(res);
      if (!res.writableEnded) entry.outcome = 'aborted';
    });
    return;
  }
  if (fault) {
    const response = faultResponse(fault);
    Object.assign(entry, { status: response.status, outcome: 'fault' });
    return send(res, response);
  }

  const first = key ? s.responses.get(key) : undefined;
  if (first) {
    if (first.method !== req.method || first.path !== path) {
      Object.assign(entry, { status: 422, outcome: 'rejected' });
      return send(res, reply(422, { error: 'idempotency_key_reused', message: `key ${key} was used for ${first.method} ${first.path}` }));
    }
    Object.assign(entry, { status: first.status, outcome: 'replayed' });
    return send(res, { ...first, headers: { 'idempotent-replayed': 'true' } });
  }

  const response = route.run(s, body, params);
  Object.assign(entry, { status: response.status, outcome: response.status < 400 ? 'ok' : 'rejected' });
  // Only final answers are remembered: a 5xx must stay retryable under the same key.
  if (key && response.status < 500) {
    s.responses.set(key, { method: req.method, path, ...response });
    s.keys[key].status = response.status;
  }
  send(res, response);
}

function createHandler(getState, resetState) {
  return async (req, res) => {
    const s = getState();
    const path = req.url.split('?')[0];
    try {
      if (req.method === 'GET' && path === '/_state') return send(res, reply(200, publicState(s)));
      if (req.method === 'POST' && path === '/_reset') {
        await readJson(req);
        resetState();
        return send(res, reply(200, { ok: true }));
      }
      if (req.method === 'POST' && path === '/_faults') return send(res, addFault(s, await readJson(req)));
      for (const route of ROUTES) {
        const match = req.method === route.method && route.path.exec(path);
        if (match) return await handleBusiness(s, req, res, route, match.slice(1).map(decodeURIComponent));
      }
      send(res, reply(404, { error: 'not_found', message: `${req.method} ${path}` }));
    } catch (error) {
      if (res.headersSent || res.destroyed) return;
      if (error instanceof SyntaxError) return send(res, invalid(`malformed JSON: ${error.message}`));
      send(res, reply(500, { error: 'internal', message: String(error?.message ?? error) }));
    }
  };
}

/**
 * Starts the service on 127.0.0.1 (port 0 = any free port).
 * @returns {Promise<{ url: string, close(): Promise<void>, state(): Promise<object>,
 *   inject(fault: object): Promise<object>, reset(): Promise<void> }>}
 */
export async function startOrderService({ port = 0, stock = INITIAL_STOCK } = {}) {
  let state = freshState(stock);
  const resetState = () => {
    // Requests still hung from an earlier scenario must not linger into the next one.
    for (const res of state.hung) res.destroy();
    state = freshState(stock);
  };
  const server = http.createServer(createHandler(() => state, resetState));
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
