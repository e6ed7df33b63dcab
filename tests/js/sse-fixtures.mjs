// Notifications for the SSE tests, in both wire forms, plus payloads that must be
// dead-lettered. Every one carries `seq`, so tests compare what handlers saw with what was
// published without relying on ids.

const at = (seq) => new Date(Date.UTC(2025, 0, 1) + seq * 1000).toISOString();

// Multi-byte text (2-, 3- and 4-byte UTF-8) in every payload, so chunk splits land inside
// characters and a client that decodes per chunk shows up as U+FFFD in the data.
export const UNICODE = 'Zürich → 東京 🚀';

/** The lightweight form. `metadata.seq` lets tests compare what handlers saw with what was sent. */
export function lightweight(seq, overrides = {}) {
  return {
    type: 'order.status_changed',
    entityId: `order-${seq}`,
    timestamp: at(seq),
    triggeredBy: 'user-7',
    metadata: { seq, tenantId: 'tenant-a', note: UNICODE },
    ...overrides,
  };
}

/** The full envelope form. */
export function envelope(seq, overrides = {}) {
  return {
    eventType: 'payment.processed',
    version: '1.0',
    timestamp: at(seq),
    data: { entityId: `order-${seq}`, orderId: `order-${seq}`, seq, amount: 42.5, note: UNICODE },
    metadata: {
      tenantId: 'tenant-a', source: 'payments', correlationId: `corr-${seq}`,
      userId: 'user-7', traceId: `trace-${seq}`,
    },
    ...overrides,
  };
}

/** Payloads that must end in the client's dead-letter list, never in a handler or a crash. */
export const POISON = Object.freeze({
  malformedJson: '{"type":"order.created","entityId":"order-bad",',
  missingType: { entityId: 'order-untyped', timestamp: at(0), metadata: { tenantId: 'tenant-a' } },
  incompatibleVersion: { ...envelope(0), eventType: 'order.created', version: '2.0' },
});
