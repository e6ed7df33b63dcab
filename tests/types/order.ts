// A typed use of the public API, checked with `tsc --noEmit` (never run). The
// `@ts-expect-error` lines prove the types are precise: each must be an error.
import init, {
  TransactionCoordinator,
  type EdgesagaError,
  type JournalRecord,
  type LifecycleEvent,
  type StepInfo,
  type TransactionResult,
} from '../../pkg/edgesaga.js';

interface OrderContext {
  orderId: string;
  items: { sku: string; qty: number }[];
  amount: number;
}

declare const inventory: { reserve(items: OrderContext['items'], key: string): Promise<{ id: string; version: number }>; release(id: string): Promise<void> };
declare const payments: { charge(amount: number, signal: AbortSignal): Promise<{ id: string; version: number }>; refund(id: string): Promise<void> };

export async function placeOrder(context: OrderContext, signal?: AbortSignal): Promise<TransactionResult<OrderContext>> {
  await init();
  const journal: JournalRecord[] = [];
  const coordinator = new TransactionCoordinator({
    onEvent: (e: LifecycleEvent) => console.log(e.type, e.step ?? '', e.completedSteps, '/', e.totalSteps),
    journal: { append: async (_id: string, record: JournalRecord) => void journal.push(record) },
  });
  coordinator.on('step.retrying', (e) => console.log('retrying in', e.delayMs));
  coordinator.once('*', (e) => console.log('first event', e.type));
  const result = await coordinator.executeTransaction<OrderContext>(
    {
      name: 'place-order',
      onCompensationFailure: 'continue',
      steps: [
        {
          name: 'reserve_inventory',
          execute: (ctx, info: StepInfo) => inventory.reserve(ctx.items, info.idempotencyKey),
          compensate: (ctx) => inventory.release((ctx.results.reserve_inventory as { id: string }).id),
          retry: { maxAttempts: 3, initialDelayMs: 100, backoff: 'exponential', maxDelayMs: 2000, jitter: true },
          timeoutMs: 5000,
        },
        {
          name: 'charge_payment',
          execute: (ctx, info) => payments.charge(ctx.amount, info.signal),
          compensate: async (ctx) => payments.refund((ctx.results.charge_payment as { id: string }).id),
          requiresVersionCheck: true,
          expectedVersion: 7,
          compensateOnFailure: true,
          retry: { nonRetryable: ['PaymentDeclinedError'] },
        },
      ],
    },
    { context, signal, transactionId: `order-${context.orderId}` },
  );
  const id: string = result.context.orderId;
  const failure: EdgesagaError | null = result.error;
  for (const step of result.steps) {
    const undone: 'compensated' | 'failed' | 'skipped' | undefined = step.compensation?.status;
    console.log(step.name, step.status, step.attempts, undone, failure?.name, id);
  }
  return result;
}

export function wrongUses(coordinator: TransactionCoordinator): void {
  // @ts-expect-error: not a lifecycle event name
  coordinator.on('step.start', () => {});
  // @ts-expect-error: unknown backoff
  void coordinator.executeTransaction({ steps: [{ name: 'a', execute: () => 1, retry: { backoff: 'fibonacci' } }] });
  // @ts-expect-error: execute is required
  void coordinator.executeTransaction({ steps: [{ name: 'a' }] });
  // @ts-expect-error: the status union is closed
  const s: TransactionResult['status'] = 'done';
  void s;
}
