//! The public TypeScript types: precise, no `any`. wasm-bindgen copies this section into
//! `pkg/edgesaga.d.ts`, and the extern types below name them in the generated signatures.

use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
/** The context every step shares: a shallow copy of `options.context` plus each step's result. */
export type StepContext<C extends object = Record<string, unknown>> = C & { results: Record<string, unknown> };

/** What a step's `execute` / `compensate` is told about the attempt. */
export interface StepInfo {
  readonly transactionId: string;
  readonly step: string;
  /** 1 for the first attempt. */
  readonly attempt: number;
  /** Aborted when the attempt times out or the transaction is cancelled; pass it to `fetch`. */
  readonly signal: AbortSignal;
  /** `${transactionId}:${step}` (compensations: `${transactionId}:${step}:compensate`). */
  readonly idempotencyKey: string;
}

export type Backoff = 'constant' | 'linear' | 'exponential';

export interface RetryPolicy {
  /** Attempts in all, the first included (a positive integer). Steps default to 1, compensations to 3. */
  maxAttempts?: number;
  initialDelayMs?: number;
  backoff?: Backoff;
  maxDelayMs?: number;
  /** Draw each delay uniformly from [d/2, d]. */
  jitter?: boolean;
  /** Error names (`err.name`) never retried. Errors with `retryable: false` are never retried either. */
  nonRetryable?: string[];
}

/** A step's policies, the same for JS and HTTP steps. */
export interface StepPolicy {
  retry?: RetryPolicy;
  timeoutMs?: number;
  compensationRetry?: RetryPolicy;
  compensationTimeoutMs?: number;
  /** Compensate this step even when it failed (a timeout may have left partial effects). */
  compensateOnFailure?: boolean;
  /** The result must carry `version === expectedVersion`, else `OptimisticLockError` and compensation. */
  requiresVersionCheck?: boolean;
  expectedVersion?: number | string;
}

export interface StepDefinition<C extends object = Record<string, unknown>> extends StepPolicy {
  name: string;
  execute: (ctx: StepContext<C>, info: StepInfo) => unknown;
  compensate?: (ctx: StepContext<C>, info: StepInfo) => unknown;
}

export interface TransactionDefinition<C extends object = Record<string, unknown>> {
  name?: string;
  steps: StepDefinition<C>[];
  /** Default retry policy for every step, merged field by field under each step's own. */
  retry?: RetryPolicy;
  /** Deadline for the forward path; compensation still runs to its end. */
  timeoutMs?: number;
  onCompensationFailure?: 'continue' | 'halt';
}

export interface TransactionOptions<C extends object = Record<string, unknown>> {
  context?: C;
  signal?: AbortSignal;
  transactionId?: string;
}

/** JSON as a declarative definition, its context and its step results carry it. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** A status (`201`), a class (`'2xx'`) or a range (`'200-299'`). */
export type StatusSpec = number | string;

/**
 * An HTTP request of a declarative step. Strings may hold templates: `{{context.a.b}}`,
 * `{{results.<step>.a}}`, `{{transactionId}}` (percent-encoded in the URL; a body string that
 * is exactly one template takes the value with its type).
 */
export interface HttpRequestDefinition {
  method?: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | Lowercase<'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'>;
  url: string;
  /** Template strings. `Idempotency-Key` is set by edgesaga: `<transactionId>:<step>`. */
  headers?: Record<string, string>;
  body?: JsonValue;
  /** Default `['2xx']`; 408, 429 and 5xx are retried, other failures are not. */
  success?: StatusSpec[];
}

/** Waits for a notification whose fields equal the rendered texts. */
export interface AwaitDefinition {
  /** A type pattern: `payment.processed`, `payment.*`, `*`. */
  type: string;
  /** Notification field paths (`entityId`, `data.orderId`) and the text each must have. */
  match?: Record<string, string | number | boolean>;
  /** Default 30000. */
  timeoutMs?: number;
}

export interface HttpStepDefinition extends StepPolicy {
  name: string;
  kind?: 'http' | 'await';
  request?: HttpRequestDefinition;
  compensate?: HttpRequestDefinition;
  await?: AwaitDefinition;
}

/** A transaction whose steps are HTTP requests and waits, as JSON: it runs in a page or a Worker. */
export interface HttpTransactionDefinition {
  name?: string;
  steps: HttpStepDefinition[];
  retry?: RetryPolicy;
  timeoutMs?: number;
  onCompensationFailure?: 'continue' | 'halt';
}

/** What an `await` step waits on: a `NotificationStream`, or anything with its `waitFor`. */
export interface NotificationSource {
  waitFor(pattern: string, predicate: (notification: Notification) => boolean,
    options?: { timeoutMs?: number; signal?: AbortSignal }): Promise<Notification>;
}

export interface HttpTransactionOptions {
  /** JSON; every `{{context.…}}` the definition uses must be there, checked before any request. */
  context?: { [key: string]: JsonValue };
  signal?: AbortSignal;
  transactionId?: string;
  notifications?: NotificationSource;
}

export type TransactionStatus = 'committed' | 'compensated' | 'compensation_failed';

/** Stable `name`s of the errors edgesaga reports. */
export type EdgesagaErrorName =
  | 'StepFailedError' | 'TimeoutError' | 'AbortError' | 'OptimisticLockError'
  | 'JournalError' | 'InterruptedError' | 'CompensationFailedError' | 'DefinitionError';

export interface EdgesagaError extends Error {
  name: EdgesagaErrorName;
  /** The step concerned, when there is one. */
  step?: string;
  /** What the step threw (`StepFailedError`), or the original failure (`CompensationFailedError`). */
  cause?: unknown;
  /** `CompensationFailedError`: the steps left uncompensated, in compensation order. */
  steps?: string[];
}

export interface DefinitionError extends Error {
  name: 'DefinitionError';
  /** The offending field, e.g. `steps[1].retry.maxAttempts`. */
  field: string;
}

export interface CompensationReport {
  status: 'compensated' | 'failed' | 'skipped';
  attempts: number;
  error: EdgesagaError | null;
  startedAt: number | null;
  endedAt: number | null;
}

export interface StepReport {
  name: string;
  status: 'pending' | 'succeeded' | 'failed';
  attempts: number;
  error: EdgesagaError | null;
  startedAt: number | null;
  endedAt: number | null;
  /** `null` when no compensation was due. */
  compensation: CompensationReport | null;
}

export interface TransactionResult<C extends object = Record<string, unknown>> {
  success: boolean;
  status: TransactionStatus;
  transactionId: string;
  /** The last step's result, when committed. */
  result: unknown;
  error: EdgesagaError | null;
  steps: StepReport[];
  context: StepContext<C>;
}

export type LifecycleEventName =
  | 'transaction.started' | 'step.started' | 'step.retrying' | 'step.succeeded' | 'step.failed'
  | 'compensation.started' | 'compensation.succeeded' | 'compensation.failed'
  | 'transaction.committed' | 'transaction.compensated' | 'transaction.compensation_failed'
  | 'progress';

export interface LifecycleEvent {
  type: LifecycleEventName;
  transactionId: string;
  transactionName: string;
  step?: string;
  attempt?: number;
  error?: EdgesagaError;
  /** `step.retrying`: the wait before the next attempt. */
  delayMs?: number;
  completedSteps: number;
  totalSteps: number;
  timestamp: number;
}

export type LifecycleListener = (event: LifecycleEvent) => void;

/** An internal checkpoint; only a journal sees these, never a lifecycle listener. */
export interface JournalRecord {
  kind: 'transaction.started' | 'step.started' | 'step.succeeded' | 'step.failed'
    | 'compensation.started' | 'compensation.succeeded' | 'compensation.failed' | 'transaction.finished';
  step?: string;
  stepIndex?: number;
  attempt?: number;
  status?: TransactionStatus;
  /** On `step.failed` and `compensation.failed`. */
  error?: { name: EdgesagaErrorName; message: string };
  /** What the step returned, on `step.succeeded`: a resumed run restores `ctx.results` from it. */
  result?: unknown;
  at: number;
}

/**
 * Where checkpoints are written; the coordinator waits for each append before it moves on.
 * With `load`, `executeTransaction` with the `transactionId` of a journaled transaction resumes
 * it: settled steps are not run again, an in-flight one is run again as the same attempt (same
 * idempotency key), or compensated when `compensateOnFailure`; compensation goes on to its end.
 */
export interface JournalStore {
  append(transactionId: string, record: JournalRecord): void | Promise<void>;
  load?(transactionId: string): JournalRecord[] | undefined | Promise<JournalRecord[] | undefined>;
}

export interface CoordinatorOptions {
  onEvent?: LifecycleListener;
  journal?: JournalStore;
}

/** One dispatched Server-Sent Event. */
export interface SseEvent {
  /** The `event` field, or `'message'`. */
  type: string;
  /** The `data` lines joined with `\n`. */
  data: string;
  /** The last event ID at dispatch (kept across events until the next `id` field). */
  lastEventId: string;
}

export type SseProtocolErrorKind = 'line_too_long' | 'event_too_large';

/** An event was dropped for going over a limit; parsing resumed at the next blank line. */
export interface SseProtocolError extends Error {
  name: 'SseProtocolError';
  kind: SseProtocolErrorKind;
  /** The limit exceeded, in bytes. */
  limit: number;
}

export interface SseParserOptions {
  /** Longest line in bytes, terminator excluded (a positive integer; default 1 MiB). Comments are exempt. */
  maxLineBytes?: number;
  /** Largest event in bytes, counted over its field lines (a positive integer; default 4 MiB). */
  maxEventBytes?: number;
  /** Told of each dropped event; an exception it throws is logged and parsing goes on. */
  onError?: (error: SseProtocolError) => void;
}
"#;

#[wasm_bindgen]
extern "C" {
    /// `CoordinatorOptions`
    #[wasm_bindgen(typescript_type = "CoordinatorOptions")]
    pub type CoordinatorOptions;
    /// `TransactionOptions`
    #[wasm_bindgen(typescript_type = "TransactionOptions")]
    pub type TransactionOptions;
    /// `HttpTransactionOptions`
    #[wasm_bindgen(typescript_type = "HttpTransactionOptions")]
    pub type HttpTransactionOptions;
    /// `LifecycleEventName | '*'`
    #[wasm_bindgen(typescript_type = "LifecycleEventName | '*'")]
    pub type EventNameOrAll;
    /// `LifecycleListener`
    #[wasm_bindgen(typescript_type = "LifecycleListener")]
    pub type LifecycleListener;
    /// `SseParserOptions`
    #[wasm_bindgen(typescript_type = "SseParserOptions")]
    pub type SseParserOptions;
}
