// JS half of the wasm adapters. Each helper does in one call what would otherwise take
// several JS<->wasm crossings (building objects field by field), so the hot path stays cheap.

// Wakes the Rust task waiting on a transaction's current attempt. Closed when the transaction
// is over, so a timed-out step that settles late never calls into a dropped Rust closure.
export class Notifier {
  constructor(wake) {
    this.wake = wake;
  }

  notify() {
    if (this.wake !== null) this.wake();
  }

  close() {
    this.wake = null;
  }
}

// One attempt of a step's execute or compensate, already called. A returned promise (or any
// thenable) is followed here, in JS, and Rust is woken once it settles: no wasm closure is
// created per step.
export class Attempt {
  constructor(fn, ctx, transactionId, step, attempt, compensating, notifier) {
    this.controller = null;
    this.reason = undefined;
    // 0: settled with a value, 1: pending, 2: threw or rejected.
    this.state = 0;
    try {
      const v = fn(ctx, new StepInfo(this, transactionId, step, attempt, compensating));
      this.value = v;
      if (v !== null && (typeof v === 'object' || typeof v === 'function') && typeof v.then === 'function') {
        this.state = 1;
        v.then((ok) => this.settle(0, ok, notifier), (e) => this.settle(2, e, notifier));
      }
    } catch (e) {
      this.value = e;
      this.state = 2;
    }
  }

  settle(state, value, notifier) {
    if (this.state !== 1) return;
    this.state = state;
    this.value = value;
    notifier.notify();
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

// `info` for a step. The AbortController behind `signal` is created only when a step reads
// it, so steps that ignore cancellation pay nothing for it.
class StepInfo {
  #handle;

  constructor(attempt, transactionId, step, number, compensating) {
    this.transactionId = transactionId;
    this.step = step;
    this.attempt = number;
    this.idempotencyKey = compensating ? `${transactionId}:${step}:compensate` : `${transactionId}:${step}`;
    this.#handle = attempt;
  }

  get signal() {
    return this.#handle.signal();
  }

  toJSON() {
    return { transactionId: this.transactionId, step: this.step, attempt: this.attempt, idempotencyKey: this.idempotencyKey };
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

// Statuses and event names cross as small integers (the Rust enums' declaration order), so
// no string is encoded per step.
const STEP_STATUS = ['pending', 'succeeded', 'failed'];
const COMPENSATION_STATUS = ['compensated', 'failed', 'skipped'];
const TRANSACTION_STATUS = ['committed', 'compensated', 'compensation_failed'];
const EVENT_NAMES = [
  'transaction.started', 'step.started', 'step.retrying', 'step.succeeded', 'step.failed',
  'compensation.started', 'compensation.succeeded', 'compensation.failed',
  'transaction.committed', 'transaction.compensated', 'transaction.compensation_failed', 'progress',
];

export function makeEvent(kind, transactionId, transactionName, step, attempt, error, delayMs, completedSteps, totalSteps, timestamp) {
  const event = { type: EVENT_NAMES[kind], transactionId, transactionName, timestamp };
  if (step !== undefined) event.step = step;
  if (attempt > 0) event.attempt = attempt;
  if (error !== undefined) event.error = error;
  if (delayMs !== undefined) event.delayMs = delayMs;
  event.completedSteps = completedSteps;
  event.totalSteps = totalSteps;
  return event;
}

export function makeStepReport(name, status, attempts, error, startedAt, endedAt, compensation) {
  return { name, status: STEP_STATUS[status], attempts, error, startedAt, endedAt, compensation };
}

export function makeCompensationReport(status, attempts, error, startedAt, endedAt) {
  return { status: COMPENSATION_STATUS[status], attempts, error, startedAt, endedAt };
}

export function makeResult(status, transactionId, result, error, steps, context) {
  return { success: status === 0, status: TRANSACTION_STATUS[status], transactionId, result, error, steps, context };
}

export function setResult(results, name, value) {
  results[name] = value;
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

// Reads a transaction definition in one crossing: checks every field's JS type (naming the
// field), then flattens the data into numbers (NaN = absent, strings as indexes into `strs`)
// that Rust decodes from one Float64Array copy; validation of the values happens in Rust.
// Returns [numbers, strings, [name, execute, compensate, ...]] or [null, field, reason].
export function readDefinition(def) {
  const fail = (field, reason) => [null, field, reason];
  if (!isObject(def)) return fail('definition', `must be an object, got ${kind(def)}`);
  const top = {};
  let err = pick(def, '', DEFINITION, top);
  if (err) return fail(...err);
  const steps = def.steps;
  if (!Array.isArray(steps)) return fail('steps', `must be an array, got ${kind(steps)}`);
  const nums = [];
  const strs = [];
  const fns = [];
  const str = (v) => (v === undefined ? -1 : strs.push(v) - 1);
  const flag = (v) => (v === undefined ? NaN : v ? 1 : 0);
  const num = (v) => (v === undefined ? NaN : v);
  const retry = (r) => {
    if (r === undefined) return nums.push(0);
    nums.push(1, num(r.maxAttempts), num(r.initialDelayMs), str(r.backoff), num(r.maxDelayMs), flag(r.jitter));
    const names = r.nonRetryable;
    nums.push(names === undefined ? -1 : names.length);
    if (names !== undefined) for (const n of names) nums.push(str(n));
  };
  nums.push(str(top.name), num(top.timeoutMs), str(top.onCompensationFailure));
  retry(top.retry);
  nums.push(steps.length);
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i];
    const at = `steps[${i}]`;
    if (!isObject(step)) return fail(at, `must be an object, got ${kind(step)}`);
    if (step.execute === undefined || step.execute === null) return fail(`${at}.execute`, 'is required (a function)');
    if (typeof step.execute !== 'function') return fail(`${at}.execute`, `must be a function, got ${kind(step.execute)}`);
    const compensate = step.compensate ?? undefined;
    if (compensate !== undefined && typeof compensate !== 'function') return fail(`${at}.compensate`, `must be a function, got ${kind(compensate)}`);
    const s = {};
    err = pick(step, at, STEP, s);
    if (err) return fail(...err);
    const version = s.expectedVersion;
    nums.push(str(s.name), compensate === undefined ? 0 : 1, num(s.timeoutMs), num(s.compensationTimeoutMs),
      flag(s.compensateOnFailure), flag(s.requiresVersionCheck));
    if (version === undefined) nums.push(0, NaN);
    else if (typeof version === 'number') nums.push(1, version);
    else nums.push(2, str(version));
    retry(s.retry);
    retry(s.compensationRetry);
    fns.push(step.name, step.execute, compensate);
  }
  return [new Float64Array(nums), strs, fns];
}

const kind = (v) => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v);
const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const RETRY = { maxAttempts: 'number', initialDelayMs: 'number', backoff: 'string', maxDelayMs: 'number', jitter: 'boolean', nonRetryable: 'names' };
const DEFINITION = { name: 'string', retry: 'retry', timeoutMs: 'number', onCompensationFailure: 'string' };
const STEP = {
  name: 'string', retry: 'retry', timeoutMs: 'number', compensationRetry: 'retry', compensationTimeoutMs: 'number',
  compensateOnFailure: 'boolean', requiresVersionCheck: 'boolean', expectedVersion: 'version',
};

// Copies the present (not undefined/null) fields of `src` listed in `spec` into `out`, checking
// their JS types; returns [field, reason] for the first wrong one.
function pick(src, path, spec, out) {
  for (const key in spec) {
    const v = src[key];
    if (v === undefined || v === null) continue;
    const want = spec[key];
    const at = path ? `${path}.${key}` : key;
    if (want === 'number') {
      if (typeof v !== 'number') return [at, `must be a number, got ${kind(v)}`];
      if (!Number.isFinite(v)) return [at, `must be a finite number, got ${v}`];
    } else if (want === 'version') {
      if (typeof v !== 'string' && !(typeof v === 'number' && Number.isFinite(v))) return [at, `must be a number or a string, got ${kind(v)}`];
    } else if (want === 'names') {
      if (!Array.isArray(v)) return [at, `must be an array of error names, got ${kind(v)}`];
      const bad = v.findIndex((n) => typeof n !== 'string');
      if (bad >= 0) return [`${at}[${bad}]`, `must be a string, got ${kind(v[bad])}`];
    } else if (want === 'retry') {
      if (!isObject(v)) return [at, `must be an object, got ${kind(v)}`];
      const policy = {};
      const err = pick(v, at, RETRY, policy);
      if (err) return err;
      out[key] = policy;
      continue;
    } else if (typeof v !== want) {
      return [at, `must be a ${want}, got ${kind(v)}`];
    }
    out[key] = v;
  }
  return null;
}
