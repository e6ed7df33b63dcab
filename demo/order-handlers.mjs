// The order service's state and its business handlers — inventory, payments and orders — with
// the routes that reach them. The HTTP side (demo/order-service.mjs) runs a handler only for a
// request that got past the injected faults and is not answered by a replay under its
// Idempotency-Key, so the handlers deal with the business alone; each state change is announced
// in the state's outbox (`announce`), which the service publishes once the request is handled.

// `counters` carries the id sequences over a reset (as a database sequence does), so an id is
// never reused: a notification about an earlier `pay_1` can never match a later one.
export function freshState(stock, counters = { seq: 0, res: 0, pay: 0, ord: 0 }) {
  return {
    stock: { ...stock },
    reservations: [],
    payments: [],
    orders: [],
    log: [],
    keys: {},
    faults: [],
    responses: new Map(), // Idempotency-Key → the first response, replayed on repeats
    hung: new Set(), // responses held open by a `hang` or `slow` fault
    timers: new Set(), // pending `slow` answers and payment confirmations
    outbox: [], // notifications about the current request's state changes, published after it
    counters: { ...counters, seq: 0 },
    versions: { inventory: 0, payments: 0 },
  };
}

export const reply = (status, body) => ({ status, body });
export const invalid = (message) => reply(400, { error: 'invalid_request', message });
const isName = (v) => typeof v === 'string' && v.length > 0;
/** Queues a notification about a state change; published once the request is handled. */
const announce = (s, type, entityId, data, delayMs = 0) =>
  s.outbox.push({ notification: { type, entityId, timestamp: Date.now(), data }, delayMs });

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
  announce(s, 'inventory.reserved', reservation.id, { orderId: body.orderId, items: wanted });
  return reply(201, { id: reservation.id, status: 'held', version });
}

function releaseHeld(s, reservation) {
  // Releasing twice is a no-op even without a key: the stock must never be restored twice.
  if (reservation.status !== 'held') return false;
  for (const [sku, qty] of Object.entries(reservation.items)) s.stock[sku] += qty;
  reservation.status = 'released';
  reservation.version = ++s.versions.inventory;
  announce(s, 'inventory.released', reservation.id, { orderId: reservation.orderId });
  return true;
}

function release(s, _body, [id]) {
  const reservation = s.reservations.find((r) => r.id === id);
  if (!reservation) return reply(404, { error: 'not_found', message: `no reservation ${id}` });
  releaseHeld(s, reservation);
  return reply(200, { id, status: reservation.status, version: reservation.version });
}

/** Releases whatever the order holds: the undo of a reservation whose answer never came. */
function releaseOrder(s, _body, [orderId]) {
  const released = s.reservations.filter((r) => r.orderId === orderId && releaseHeld(s, r)).map((r) => r.id);
  return reply(200, { orderId, released });
}

function charge(s, body) {
  if (!isName(body?.orderId)) return invalid('orderId is required');
  if (typeof body.amount !== 'number' || !(body.amount > 0)) return invalid('amount must be > 0');
  const version = ++s.versions.payments;
  const payment = {
    id: `pay_${++s.counters.pay}`, orderId: body.orderId, amount: body.amount, status: 'charged', version,
  };
  s.payments.push(payment);
  // The processor confirms asynchronously, a little after the charge was accepted.
  announce(s, 'payment.processed', payment.id, { orderId: body.orderId, amount: body.amount }, s.paymentProcessingMs);
  return reply(201, { id: payment.id, status: 'charged', amount: payment.amount, version });
}

function refund(s, _body, [id]) {
  const payment = s.payments.find((p) => p.id === id);
  if (!payment) return reply(404, { error: 'not_found', message: `no payment ${id}` });
  if (payment.status === 'charged') {
    payment.status = 'refunded';
    payment.version = ++s.versions.payments;
    announce(s, 'payment.refunded', payment.id, { orderId: payment.orderId, amount: payment.amount });
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
  announce(s, 'order.created', order.id, { orderId: order.orderId });
  return reply(201, { id: order.id, orderId: order.orderId, status: 'created' });
}

function cancel(s, order) {
  if (order.status === 'cancelled') return false;
  order.status = 'cancelled';
  announce(s, 'order.cancelled', order.id, { orderId: order.orderId });
  return true;
}

function cancelOrder(s, _body, [id]) {
  const order = s.orders.find((o) => o.id === id);
  if (!order) return reply(404, { error: 'not_found', message: `no order ${id}` });
  cancel(s, order);
  return reply(200, { id, status: 'cancelled' });
}

/** Cancels whatever order was created for `orderId`: the undo of a create whose answer never came. */
function cancelOrdersOf(s, _body, [orderId]) {
  const cancelled = s.orders.filter((o) => o.orderId === orderId && cancel(s, o)).map((o) => o.id);
  return reply(200, { orderId, cancelled });
}

export const ROUTES = [
  { method: 'POST', path: /^\/inventory\/reservations$/, target: 'reserve', run: reserve },
  { method: 'DELETE', path: /^\/inventory\/reservations\/by-order\/([^/]+)$/, target: 'release', run: releaseOrder },
  { method: 'DELETE', path: /^\/inventory\/reservations\/([^/]+)$/, target: 'release', run: release },
  { method: 'POST', path: /^\/payments$/, target: 'charge', run: charge },
  { method: 'POST', path: /^\/payments\/([^/]+)\/refund$/, target: 'refund', run: refund },
  { method: 'POST', path: /^\/orders$/, target: 'create', run: createOrder },
  { method: 'DELETE', path: /^\/orders\/by-order\/([^/]+)$/, target: 'cancel_order', run: cancelOrdersOf },
  { method: 'DELETE', path: /^\/orders\/([^/]+)$/, target: 'cancel_order', run: cancelOrder },
];
