// Declarative transactions at the edge: `/transactions` on the Worker, one Durable Object per
// transaction, journaled so that a restart of the runtime or of the object resumes it.
//
//   POST /transactions[?async=1]   Authorization: Bearer <token>
//        body { definition, context?, transactionId? }   (definition: see executeHttpTransaction)
//        200 the transaction result · 202 { transactionId, status: 'running' } with ?async=1
//        400 { error } a bad body or definition (DefinitionError names the field), before
//        anything is sent · 401 no or unknown token · 409 the id is taken by another tenant
//   GET  /transactions/:id             the same token's tenant only
//        200 { transactionId, status: 'running' | <final status>, steps, result? } · 404
//
// Durability: the object journals every step's start and outcome to its storage before moving
// on (the JournalStore seam the page uses too), and keeps an alarm while the transaction runs.
// When the runtime or the object restarts, the alarm (or the next GET) resumes it from the
// journal: steps that finished are not run again, an in-flight one is retried under the same
// Idempotency-Key (or compensated when `compensateOnFailure`), compensation runs to its end.
//
// Each public lifecycle event is published to the tenant's hub (`/events`); `await` steps wait
// for the tenant's notifications on that hub.

import { DurableObject } from 'cloudflare:workers';
import wasm from '../pkg/edgesaga_bg.wasm';
import { initSync, checkHttpTransaction, NotificationStream, TransactionCoordinator } from '../pkg/edgesaga.js';
import { authenticate, hubSubscription, lifecyclePublisher, problem, unauthorized } from './hub.js';

initSync({ module: wasm }); // a no-op when the entry did it first

const REQUEST_KEY = 'tx:request';
const RESULT_KEY = 'tx:result';
const JOURNAL_PREFIX = 'tx:journal:';
/** While a transaction runs its object keeps an alarm this far ahead: the restart detector. */
const WATCHDOG_MS = 2_000;
/** Largest request body accepted. */
const MAX_BODY_BYTES = 1 << 20;

// ── the Worker side ────────────────────────────────────────────────────────────────────────

/** Handles `/transactions` and `/transactions/:id`. */
export async function handleTransactions(request, env) {
  let auth;
  try {
    auth = authenticate(request, env);
  } catch (error) {
    console.error('edgesaga: HUB_TOKENS is invalid:', error.message);
    return problem(500, 'ConfigError', 'the Worker is misconfigured');
  }
  if (auth === null) return unauthorized();
  const url = new URL(request.url);
  if (url.pathname === '/transactions') {
    if (request.method !== 'POST') return new Response(null, { status: 405, headers: { allow: 'POST' } });
    return start(request, env, auth.tenant, url.searchParams.get('async') === '1');
  }
  const id = decodeURIComponent(url.pathname.slice('/transactions/'.length));
  if (request.method !== 'GET') return new Response(null, { status: 405, headers: { allow: 'GET' } });
  return transactionStub(env, id).fetch(`https://tx.internal/state?tenant=${encodeURIComponent(auth.tenant)}`);
}

async function start(request, env, tenant, async) {
  const text = await request.text();
  if (text.length > MAX_BODY_BYTES) return problem(413, 'PayloadTooLarge', `the body is over ${MAX_BODY_BYTES} bytes`);
  let body;
  try {
    body = JSON.parse(text);
  } catch (error) {
    return invalid('body', `is not JSON: ${error.message}`);
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return invalid('body', 'must be an object');
  const { definition, context = {}, transactionId = crypto.randomUUID() } = body;
  if (typeof transactionId !== 'string' || !/^[\w.:-]{1,128}$/.test(transactionId)) {
    return invalid('transactionId', 'must be 1-128 letters, digits, _ . : or -');
  }
  try {
    checkHttpTransaction(definition, context);
  } catch (error) {
    return Response.json({ error: { name: error.name, message: error.message, field: error.field } }, { status: 400 });
  }
  return transactionStub(env, transactionId).fetch('https://tx.internal/run', {
    method: 'POST',
    body: JSON.stringify({ definition, context, transactionId, tenant, async }),
  });
}

function invalid(field, reason) {
  return Response.json({ error: { name: 'DefinitionError', message: `${field}: ${reason}`, field } }, { status: 400 });
}

export function transactionStub(env, transactionId) {
  return env.TRANSACTIONS.get(env.TRANSACTIONS.idFromName(transactionId));
}

// ── the Durable Object: one transaction ────────────────────────────────────────────────────

export class TransactionObject extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    /** The run in this instance, if any: at most one at a time. */
    this.running = null;
  }

  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === '/run') return this.run(await request.json());
    if (url.pathname === '/state') return this.state(url.searchParams.get('tenant'));
    return new Response(null, { status: 404 });
  }

  async run({ definition, context, transactionId, tenant, async }) {
    const stored = await this.ctx.storage.get(REQUEST_KEY);
    if (stored !== undefined && stored.tenant !== tenant) {
      return problem(409, 'Conflict', `transaction ${transactionId} belongs to another tenant`);
    }
    // The same id again is the same transaction: its outcome, not a second run.
    if (stored === undefined) {
      // Not awaited: the output gate holds every outgoing message (the first step's request,
      // the response) until these writes are durable.
      this.ctx.storage.put(REQUEST_KEY, { definition, context, transactionId, tenant });
      this.ctx.storage.setAlarm(Date.now() + WATCHDOG_MS);
    }
    const done = this.execute();
    if (async) {
      this.ctx.waitUntil(done.catch(() => {}));
      return Response.json({ transactionId, status: 'running' }, { status: 202 });
    }
    return Response.json(await done);
  }

  async state(tenant) {
    const request = await this.ctx.storage.get(REQUEST_KEY);
    if (request === undefined || request.tenant !== tenant) {
      return problem(404, 'NotFound', 'no such transaction');
    }
    const result = await this.ctx.storage.get(RESULT_KEY);
    if (result !== undefined) return Response.json(result);
    // Running, here or in an instance that is gone: make sure it runs here.
    this.ctx.waitUntil(this.execute().catch(() => {}));
    const records = [...(await this.ctx.storage.list({ prefix: JOURNAL_PREFIX })).values()];
    return Response.json({ transactionId: request.transactionId, status: 'running', steps: progress(request, records) });
  }

  /** The restart detector: a transaction with no outcome and no run here is resumed. */
  async alarm() {
    if ((await this.ctx.storage.get(RESULT_KEY)) !== undefined) return;
    await this.ctx.storage.setAlarm(Date.now() + WATCHDOG_MS);
    this.ctx.waitUntil(this.execute().catch(() => {}));
  }

  /** Runs (or resumes, from the journal) the stored transaction, once per instance. */
  execute() {
    this.running ??= this.resume().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  async resume() {
    const storage = this.ctx.storage;
    const finished = await storage.get(RESULT_KEY);
    if (finished !== undefined) return finished;
    const { definition, context, transactionId, tenant } = await storage.get(REQUEST_KEY);
    // Only a definition with an `await` step listens to the hub.
    const { stream, close } = awaits(definition) ? hubNotifications(this.env, tenant) : NO_NOTIFICATIONS;
    const coordinator = new TransactionCoordinator({
      journal: this.journal(),
      onEvent: lifecyclePublisher(this.env, tenant, this.ctx),
    });
    try {
      const result = await coordinator.executeHttpTransaction(definition, {
        transactionId,
        context,
        notifications: stream ?? undefined,
      });
      const json = resultJson(result);
      storage.put(RESULT_KEY, json); // durable before the response leaves (output gate)
      storage.deleteAlarm();
      return json;
    } finally {
      coordinator.free(); // also when the journal could not be read
      stream?.close();
      this.ctx.waitUntil(close());
    }
  }

  /**
   * The JournalStore: one storage key per record, in order. `append` does not wait for the
   * write: a Durable Object's output gate holds every outgoing message — the next step's
   * request included — until the writes before it are durable, which is exactly "journaled
   * before moving on", without a round trip per record.
   */
  journal() {
    const storage = this.ctx.storage;
    let next = null;
    const key = (n) => `${JOURNAL_PREFIX}${String(n).padStart(8, '0')}`;
    return {
      load: async () => {
        const records = [...(await storage.list({ prefix: JOURNAL_PREFIX })).values()];
        next = records.length;
        return records;
      },
      append: (_id, record) => {
        if (next === null) throw new Error('journal.append before load');
        storage.put(key(next++), record);
      },
    };
  }
}

/**
 * The tenant's notifications, for `await` steps: a NotificationStream on the tenant's hub
 * object, replaying what is buffered (a notification published shortly before the wait began
 * still counts).
 */
function hubNotifications(env, tenant) {
  const subscription = hubSubscription(env, tenant);
  const stream = new NotificationStream('https://hub.internal/subscribe', { fetch: subscription.fetch, lastEventId: '0' });
  return { stream, close: subscription.close };
}

const NO_NOTIFICATIONS = { stream: null, close: async () => {} };

/** Whether a (checked) definition has an `await` step. */
function awaits(definition) {
  const steps = (typeof definition === 'string' ? JSON.parse(definition) : definition).steps;
  return steps.some((s) => s.await !== undefined || s.kind === 'await');
}

/** Where each step stands, from the journal, while the transaction runs. */
function progress(request, records) {
  const steps = request.definition.steps.map((s) => ({ name: s.name, status: 'pending', attempts: 0 }));
  for (const r of records) {
    const step = steps[r.stepIndex];
    if (step === undefined) continue;
    if (r.kind === 'step.started') Object.assign(step, { status: 'running', attempts: r.attempt ?? 1 });
    if (r.kind === 'step.succeeded') step.status = 'succeeded';
    if (r.kind === 'step.failed') step.status = 'failed';
    if (r.kind.startsWith('compensation.')) step.compensation = r.kind.slice('compensation.'.length);
  }
  return steps;
}

/** The transaction result as JSON: errors as `{ name, message, step? }`. */
function resultJson(result) {
  const error = (e) => (e ? { name: e.name, message: e.message, ...(e.step ? { step: e.step } : {}) } : null);
  return {
    ...result,
    error: error(result.error),
    steps: result.steps.map((s) => ({
      ...s,
      error: error(s.error),
      compensation: s.compensation ? { ...s.compensation, error: error(s.compensation.error) } : null,
    })),
  };
}
