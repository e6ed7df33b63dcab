// The declarative (HTTP) transaction API, checked with `tsc --noEmit` (never run). Each
// `@ts-expect-error` line must be an error.
import {
  TransactionCoordinator,
  NotificationStream,
  type HttpTransactionDefinition,
  type JournalStore,
  type JournalRecord,
} from '../../pkg/edgesaga.js';

const definition: HttpTransactionDefinition = {
  name: 'place-order',
  retry: { maxAttempts: 3, backoff: 'exponential' },
  steps: [
    {
      name: 'reserve',
      request: { method: 'POST', url: 'https://inv.example/r', body: { orderId: '{{context.orderId}}', qty: 2, tags: ['a'] }, success: [201, '2xx'] },
      compensate: { method: 'delete', url: 'https://inv.example/r/{{results.reserve.id}}' },
    },
    { name: 'paid', await: { type: 'payment.processed', match: { entityId: '{{context.orderId}}' }, timeoutMs: 30_000 } },
  ],
};

const records: JournalRecord[] = [];
const journal: JournalStore = {
  append: (_id, record) => void records.push(record),
  load: async () => records,
};

export async function run(stream: NotificationStream): Promise<string> {
  const coordinator = new TransactionCoordinator({ journal });
  const result = await coordinator.executeHttpTransaction(definition, { context: { orderId: 'o-1' }, notifications: stream });
  await coordinator.executeHttpTransaction(JSON.stringify(definition));
  return result.status;
}

export const wrong: HttpTransactionDefinition[] = [
  // @ts-expect-error an unknown step kind
  { steps: [{ name: 'a', kind: 'sleep' }] },
  // @ts-expect-error an unknown method
  { steps: [{ name: 'a', request: { method: 'FETCH', url: 'https://a.example' } }] },
  // @ts-expect-error a request needs a url
  { steps: [{ name: 'a', request: { method: 'GET' } }] },
  // @ts-expect-error a body is JSON, not a function
  { steps: [{ name: 'a', request: { url: 'https://a.example', body: () => 1 } }] },
];

export async function badOptions(coordinator: TransactionCoordinator): Promise<void> {
  // @ts-expect-error the context is JSON: no functions
  await coordinator.executeHttpTransaction(definition, { context: { f: () => 1 } });
  // @ts-expect-error notifications need waitFor
  await coordinator.executeHttpTransaction(definition, { notifications: { on() {} } });
}
