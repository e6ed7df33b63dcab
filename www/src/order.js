// The order workflow as a declarative edgesaga transaction (`executeHttpTransaction`): JSON that
// could as well be sent to the Worker's POST /transactions. It must be the same on every run of
// one transaction, so a reload can resume it from the journal: nothing in it depends on the
// fault toggles (those act on the services, not on the definition).

export const STEPS = ['reserve_inventory', 'charge_payment', 'payment_processed', 'create_order'];

/** `api`: the order service's base URL (absolute: the host is fixed by the definition). */
export function orderDefinition(api) {
  return {
    name: 'place-order',
    // Every HTTP step: 2 attempts; 408, 429, 5xx and timeouts are retried, other 4xx are not.
    retry: { maxAttempts: 2, initialDelayMs: 300, backoff: 'exponential' },
    steps: [
      {
        name: 'reserve_inventory',
        timeoutMs: 1000,
        // A timed-out reservation may have happened anyway: undo it too (by order, since its
        // answer, with the reservation id, never came).
        compensateOnFailure: true,
        request: {
          method: 'POST',
          url: `${api}/inventory/reservations`,
          body: { orderId: '{{context.orderId}}', items: '{{context.items}}' },
          success: [201],
        },
        compensate: { method: 'DELETE', url: `${api}/inventory/reservations/by-order/{{context.orderId}}` },
        compensationTimeoutMs: 2000,
      },
      {
        name: 'charge_payment',
        timeoutMs: 1500,
        request: {
          method: 'POST',
          url: `${api}/payments`,
          body: { orderId: '{{context.orderId}}', amount: '{{context.amount}}' },
          success: [201],
        },
        compensate: { method: 'POST', url: `${api}/payments/{{results.charge_payment.id}}/refund`, body: {} },
        compensationTimeoutMs: 2000,
      },
      {
        // The payment processor confirms the charge asynchronously, as a notification.
        name: 'payment_processed',
        await: { type: 'payment.processed', match: { entityId: '{{results.charge_payment.id}}' }, timeoutMs: 20000 },
        retry: { maxAttempts: 1 },
      },
      {
        name: 'create_order',
        timeoutMs: 1000,
        compensateOnFailure: true,
        request: {
          method: 'POST',
          url: `${api}/orders`,
          body: {
            orderId: '{{context.orderId}}',
            reservationId: '{{results.reserve_inventory.id}}',
            paymentId: '{{results.charge_payment.id}}',
          },
          success: [201],
        },
        compensate: { method: 'DELETE', url: `${api}/orders/by-order/{{context.orderId}}` },
        compensationTimeoutMs: 2000,
      },
    ],
  };
}

/** What each fault toggle injects into the services (demo/order-service.mjs, demo/server.mjs). */
export const FAULTS = {
  decline: { service: { target: 'charge', mode: 'decline', times: 1 } },
  inventoryTimeout: { service: { target: 'reserve', mode: 'hang', afterHandler: true } },
  slow: { service: { target: 'create', mode: 'slow', delayMs: 1500 } },
  sseDrop: { sse: 'payment.processed' },
};

/** Replaces the faults the toggles injected before with the checked ones. */
export async function applyFaults(api, checked) {
  await call('DELETE', `${api}/_faults?label=toggles`);
  let sseDropBefore = null;
  for (const name of checked) {
    const fault = FAULTS[name];
    if (fault.service) await call('POST', `${api}/_faults`, { ...fault.service, label: 'toggles' });
    if (fault.sse) sseDropBefore = fault.sse;
  }
  await call('POST', '/_demo/faults', { sseDropBefore });
}

export async function call(method, url, body) {
  const res = await fetch(url, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const payload = await res.json();
  if (!res.ok) throw new Error(`${method} ${url} answered ${res.status}: ${JSON.stringify(payload)}`);
  return payload;
}
