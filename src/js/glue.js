// JS half of the wasm adapters. Each helper does in one call what would otherwise take
// several JS<->wasm crossings (building objects field by field), so the hot path stays cheap.

// One attempt of a step's execute or compensate. The AbortController is created only when the
// step reads `info.signal`, so steps that ignore cancellation pay nothing for it.
export class Attempt {
  constructor(fn, ctx, transactionId, step, attempt, compensating) {
    this.controller = null;
    this.reason = undefined;
    const self = this;
    const info = {
      transactionId,
      step,
      attempt,
      idempotencyKey: compensating ? `${transactionId}:${step}:compensate` : `${transactionId}:${step}`,
      get signal() {
        return self.signal();
      },
    };
    try {
      this.value = fn(ctx, info);
      const v = this.value;
      // 0: a plain value, 1: a promise or thenable to await, 2: it threw synchronously.
      this.state = v !== null && (typeof v === 'object' || typeof v === 'function') && typeof v.then === 'function' ? 1 : 0;
    } catch (e) {
      this.value = e;
      this.state = 2;
    }
  }

  signal() {
    if (this.controller === null) {
      this.controller = new AbortController();
      if (this.reason !== undefined) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  abort(reason) {
    if (this.reason !== undefined) return;
    this.reason = reason;
    if (this.controller !== null) this.controller.abort(reason);
  }
}

export function makeError(name, message, step, cause, hasCause) {
  const error = hasCause ? new Error(message, { cause }) : new Error(message);
  error.name = name;
  if (step !== undefined) error.step = step;
  return error;
}

export function describeError(e) {
  // [name, message, retryable, retryAfterMs] of whatever was thrown (an Error, a string, undefined...).
  if (e !== null && typeof e === 'object') {
    let message = e.message;
    if (typeof message !== 'string') {
      try { message = String(e); } catch { message = Object.prototype.toString.call(e); }
    }
    const name = typeof e.name === 'string' ? e.name : undefined;
    const retryable = typeof e.retryable === 'boolean' ? e.retryable : undefined;
    const after = typeof e.retryAfterMs === 'number' && e.retryAfterMs >= 0 && Number.isFinite(e.retryAfterMs) ? e.retryAfterMs : undefined;
    return [name, message, retryable, after];
  }
  let text;
  try { text = typeof e === 'symbol' ? e.toString() : String(e); } catch { text = typeof e; }
  return [undefined, `${text} was thrown`, undefined, undefined];
}

export function makeEvent(type, transactionId, transactionName, step, attempt, error, delayMs, completedSteps, totalSteps, timestamp) {
  const event = { type, transactionId, transactionName, timestamp };
  if (step !== undefined) event.step = step;
  if (attempt > 0) event.attempt = attempt;
  if (error !== undefined) event.error = error;
  if (delayMs !== undefined) event.delayMs = delayMs;
  event.completedSteps = completedSteps;
  event.totalSteps = totalSteps;
  return event;
}

export function makeStepReport(name, status, attempts, error, startedAt, endedAt, compensation) {
  return { name, status, attempts, error, startedAt, endedAt, compensation };
}

export function makeCompensationReport(status, attempts, error, startedAt, endedAt) {
  return { status, attempts, error, startedAt, endedAt };
}

export function makeResult(status, transactionId, result, error, steps, context) {
  return { success: status === 'committed', status, transactionId, result, error, steps, context };
}

export function makeContext(context) {
  const ctx = context !== null && typeof context === 'object' ? { ...context } : {};
  const results = ctx.results;
  ctx.results = results !== null && typeof results === 'object' ? { ...results } : {};
  return ctx;
}

let fallbackCounter = 0;
export function newTransactionId() {
  const c = globalThis.crypto;
  if (c && typeof c.randomUUID === 'function') return c.randomUUID();
  fallbackCounter += 1;
  return `tx-${Date.now().toString(36)}-${fallbackCounter.toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
}

export function reportListenerError(error) {
  console.error('edgesaga: a lifecycle listener threw; the transaction goes on', error);
}
