// The order saga: reserve inventory, charge the payment, create the order — and undo the
// completed steps in reverse order when one fails for good.
//
// Each step calls the order service (demo/order-service.mjs) over HTTP with the
// idempotency key edgesaga hands it, so a retried attempt can never reserve or charge twice,
// and with the attempt's AbortSignal, so a timed-out or cancelled attempt stops its request.
//
// Run directly (`node tests/js/order-example.mjs`, `npm start`) to see one committed order
// and one compensated after a payment decline.

import { pathToFileURL } from 'node:url';

export const STEP_NAMES = Object.freeze(['reserve_inventory', 'charge_payment', 'create_order']);

/** Retries for the forward steps: a 5xx or a timeout is tried again, a 4xx never. */
export const DEFAULT_RETRY = Object.freeze({
  maxAttempts: 3, initialDelayMs: 20, backoff: 'exponential', maxDelayMs: 500,
});
/** Undoing must try at least as hard as doing. */
export const DEFAULT_COMPENSATION_RETRY = Object.freeze({
  maxAttempts: 3, initialDelayMs: 20, backoff: 'exponential', maxDelayMs: 500,
});
export const DEFAULT_STEP_TIMEOUT_MS = 2000;

/** A non-2xx answer from the service. `retryable` and `retryAfterMs` steer edgesaga's retry. */
export class ServiceError extends Error {
  constructor(message, { status, code, retryable, retryAfterMs, body }) {
    super(message);
    this.name = 'ServiceError';
    this.status = status;
    this.code = code;
    this.retryable = retryable;
    // Only set when the service asked for a delay, so the retry policy's backoff applies otherwise.
    if (retryAfterMs !== undefined) this.retryAfterMs = retryAfterMs;
    this.body = body;
  }
}

/** The card was declined: a final answer, never retried. */
export class PaymentDeclinedError extends ServiceError {
  constructor(message, details) {
    super(message, details);
    this.name = 'PaymentDeclinedError';
  }
}

/** Milliseconds the service asked us to wait, from `Retry-After-Ms` or `Retry-After`. */
export function retryAfterMs(headers, now = Date.now()) {
  const ms = headers.get('retry-after-ms');
  if (ms !== null && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const value = headers.get('retry-after');
  if (value === null) return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(value)) return Math.round(Number(value) * 1000);
  const date = Date.parse(value); // the HTTP-date form
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function errorFromResponse(response, payload, method, path) {
  const { status } = response;
  const code = payload?.error ?? `http_${status}`;
  const message = `${method} ${path} failed with ${status} ${code}${payload?.message ? `: ${payload.message}` : ''}`;
  // 4xx means the request itself is wrong or refused: repeating it cannot help. 408 and 429
  // are the standard exceptions; 5xx is the server's trouble and may pass.
  const retryable = status >= 500 || status === 408 || status === 429;
  const details = { status, code, retryable, retryAfterMs: retryAfterMs(response.headers), body: payload };
  return status === 402 ? new PaymentDeclinedError(message, details) : new ServiceError(message, details);
}

/** One HTTP call to the service on behalf of a step attempt. */
async function callService(serviceUrl, method, path, body, info) {
  const response = await fetch(serviceUrl.replace(/\/$/, '') + path, {
    method,
    headers: { 'content-type': 'application/json', 'idempotency-key': info.idempotencyKey },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: info.signal,
  });
  const text = await response.text();
  let payload = null;
  try {
    payload = text ? JSON.parse(text) : null;
  } catch {
    payload = { error: 'malformed_response', message: text.slice(0, 200) };
  }
  if (!response.ok) throw errorFromResponse(response, payload, method, path);
  return payload;
}

/**
 * The place-order transaction definition, for `coordinator.executeTransaction`.
 * `retry` is merged over DEFAULT_RETRY; `timeoutMs` bounds each step attempt.
 */
export function orderTransaction(serviceUrl, { retry, timeoutMs = DEFAULT_STEP_TIMEOUT_MS } = {}) {
  const call = (method, path, body, info) => callService(serviceUrl, method, path, body, info);
  const policy = {
    retry: { ...DEFAULT_RETRY, ...retry },
    timeoutMs,
    compensationRetry: { ...DEFAULT_COMPENSATION_RETRY },
    compensationTimeoutMs: DEFAULT_STEP_TIMEOUT_MS,
  };
  return {
    name: 'place-order',
    onCompensationFailure: 'continue',
    steps: [
      {
        name: 'reserve_inventory',
        ...policy,
        execute: (ctx, info) =>
          call('POST', '/inventory/reservations', { orderId: ctx.orderId, items: ctx.items }, info),
        compensate: (ctx, info) =>
          call('DELETE', `/inventory/reservations/${ctx.results.reserve_inventory.id}`, undefined, info),
      },
      {
        name: 'charge_payment',
        ...policy,
        execute: (ctx, info) => call('POST', '/payments', { orderId: ctx.orderId, amount: ctx.amount }, info),
        compensate: (ctx, info) =>
          call('POST', `/payments/${ctx.results.charge_payment.id}/refund`, {}, info),
      },
      {
        name: 'create_order',
        ...policy,
        execute: (ctx, info) =>
          call('POST', '/orders', {
            orderId: ctx.orderId,
            items: ctx.items,
            amount: ctx.amount,
            reservationId: ctx.results.reserve_inventory.id,
            paymentId: ctx.results.charge_payment.id,
          }, info),
        // Only runs if a later step is ever added after this one.
        compensate: (ctx, info) => call('DELETE', `/orders/${ctx.results.create_order.id}`, undefined, info),
      },
    ],
  };
}

/**
 * Places one order through the saga and returns edgesaga's transaction result.
 * @param {{ TransactionCoordinator: Function }} edgesaga the loaded package
 */
export async function placeOrder(
  { TransactionCoordinator },
  serviceUrl,
  { orderId, items, amount, signal, onEvent, retry, timeoutMs, transactionId } = {},
) {
  const coordinator = new TransactionCoordinator({ onEvent });
  try {
    return await coordinator.executeTransaction(orderTransaction(serviceUrl, { retry, timeoutMs }), {
      context: { orderId, items, amount },
      signal,
      transactionId,
    });
  } finally {
    // A wasm object: release it now rather than whenever the GC gets to it.
    coordinator.free();
  }
}

// ---- `npm start`: a readable run against a local service ---------------------------------

const pad = (value, width) => String(value).padEnd(width);

// `StepFailedError ← PaymentDeclinedError`: what edgesaga reports, and what the step threw.
function errorChain(error) {
  if (!error) return '-';
  return error.cause?.name ? `${error.name} ← ${error.cause.name}` : error.name;
}

/** The result as text: status, then one row per step. */
export function formatResult(label, result) {
  const lines = [
    `${label}: ${result.status} (success: ${result.success}), transaction ${result.transactionId}`,
  ];
  if (result.error) lines.push(`  error: ${errorChain(result.error)}: ${result.error.message}`);
  const header = `  ${pad('step', 19)}${pad('status', 11)}${pad('attempts', 10)}${pad('ms', 6)}${pad('compensation', 22)}error`;
  lines.push(header, `  ${'-'.repeat(header.length - 2)}`);
  for (const step of result.steps) {
    const ms = step.startedAt != null && step.endedAt != null ? Math.round(step.endedAt - step.startedAt) : '-';
    const comp = step.compensation
      ? `${step.compensation.status} (${step.compensation.attempts}x)`
      : '-';
    lines.push(`  ${pad(step.name, 19)}${pad(step.status, 11)}${pad(step.attempts, 10)}${pad(ms, 6)}${pad(comp, 22)}${errorChain(step.error ?? step.compensation?.error)}`);
  }
  return lines.join('\n');
}

async function main() {
  const { readFileSync } = await import('node:fs');
  const { initSync, TransactionCoordinator } = await import('../../pkg/edgesaga.js');
  initSync({ module: readFileSync(new URL('../../pkg/edgesaga_bg.wasm', import.meta.url)) });
  const { startOrderService } = await import('../../demo/order-service.mjs');

  const service = await startOrderService();
  console.log(`order service on ${service.url}\n`);
  try {
    const items = [{ sku: 'sku-apple', qty: 2 }, { sku: 'sku-pear', qty: 1 }];
    const committed = await placeOrder({ TransactionCoordinator }, service.url, {
      orderId: 'order-1001', items, amount: 42.5,
    });
    console.log(`${formatResult('order-1001', committed)}\n`);

    await service.inject({ target: 'charge', mode: 'decline' });
    const declined = await placeOrder({ TransactionCoordinator }, service.url, {
      orderId: 'order-1002', items, amount: 99,
    });
    console.log(`${formatResult('order-1002 (card declined)', declined)}\n`);

    const state = await service.state();
    console.log('service state afterwards:');
    console.log(`  stock:        ${JSON.stringify(state.stock)}`);
    console.log(`  reservations: ${state.reservations.map((r) => `${r.id}=${r.status}`).join(', ')}`);
    console.log(`  payments:     ${state.payments.map((p) => `${p.id}=${p.status}`).join(', ')}`);
    console.log(`  orders:       ${state.orders.map((o) => `${o.id}=${o.status}`).join(', ')}`);
    console.log(`  requests:     ${state.log.map((e) => `${e.target}:${e.status}`).join(' → ')}`);
  } finally {
    await service.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}
