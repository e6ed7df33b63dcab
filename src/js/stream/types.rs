//! TypeScript declarations of `NotificationStream` (copied into `pkg/edgesaga.d.ts`).

use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
/** A notification, whichever wire form it came in. Types follow `{resource}.{action}`. */
export interface Notification<D = unknown> {
  /** The SSE event id, or null when the event had none. */
  id: string | null;
  type: string;
  resource: string;
  action: string;
  entityId: string | null;
  timestamp: string | number | null;
  /** The envelope's `version`; null for the lightweight form. */
  version: string | null;
  /** The envelope's `data`; for the lightweight form, the whole payload. */
  data: D;
  metadata: {
    tenantId?: string; source?: string; correlationId?: string; userId?: string; traceId?: string;
    triggeredBy?: string; [key: string]: unknown;
  };
}

export type NotificationHandler = (notification: Notification) => void | Promise<void>;

export interface NotificationFilter {
  tenantId?: string;
  entityId?: string;
}

export interface WaitForOptions {
  /** Reject with a `TimeoutError` after this long (default: wait until the stream closes). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface DeadLetter {
  reason: 'schema' | 'handler';
  /** `NotificationSchemaError` for `schema`; what the handler threw for `handler`. */
  error: Error;
  /** The SSE `data` as received. */
  raw: string;
  id: string | null;
  notification?: Notification;
}

export type HeadersProvider = () => Record<string, string> | Promise<Record<string, string>>;

export interface NotificationStreamOptions {
  /**
   * `'fetch'` (default; headers, POST, Workers, Node) or the browser's `'eventsource'`, which
   * hides whether an event had an `id:` line: an event repeating the last id and the data of
   * the event that set it is taken for that event replayed.
   */
  transport?: 'fetch' | 'eventsource';
  /** Static headers, or a provider called before every (re)connection (token refresh). */
  headers?: Record<string, string> | HeadersProvider;
  /**
   * The `fetch` to connect with, instead of the global one: a Durable Object stub's or a
   * service binding's `fetch` in a Worker, or a wrapper (proxy, auth, instrumentation).
   */
  fetch?: (url: string, init: RequestInit) => Promise<Response>;
  method?: string;
  body?: string;
  credentials?: RequestCredentials;
  /** Aborting it closes the stream. */
  signal?: AbortSignal;
  /** Where to resume when there is no store (sent as `Last-Event-ID`; `'fetch'` transport only). */
  lastEventId?: string;
  /** Persists the last event ID once its handlers succeeded, so a reload resumes there
   *  (`'fetch'` transport only: `EventSource` cannot send `Last-Event-ID` on its first request). */
  store?: { get(key: string): string | null | undefined | Promise<string | null | undefined>; set(key: string, value: string): void | Promise<void> };
  storeKey?: string;
  /**
   * With `store`: also keep the notifications of the last `recentWindowMs` (the newest 32, at
   * most 64 KiB) under `storeKey + ':recent'`, so a `waitFor` after a reload — a transaction's
   * resumed await step — still finds one that arrived just before it. Default false.
   */
  storeRecent?: boolean;
  /** Backoff after a drop: the server's `retry`, plus exponential backoff with full jitter ('fetch' only). */
  reconnect?: { initialDelayMs?: number; maxDelayMs?: number; healthyAfterMs?: number };
  /** Reconnect a connection silent this long (default 45 000; 0 disables; 'fetch' only). */
  heartbeatTimeoutMs?: number;
  /** How many recent ids are remembered to drop duplicates (default 1 000). */
  dedupeWindow?: number;
  deadLetterLimit?: number;
  /** A failing handler is retried, then dead-lettered (default 3 attempts, 100 ms apart). */
  handlerRetry?: { maxAttempts?: number; delayMs?: number };
  /** How far back `waitFor` looks (default 5 000 ms). */
  recentWindowMs?: number;
  /** Bound of each async iterator's buffer (default 1 000); delivery waits when it is full. */
  bufferSize?: number;
  /** Only notifications of this tenant / entity are delivered. */
  filter?: NotificationFilter;
  maxLineBytes?: number;
  maxEventBytes?: number;
  /** The envelope major `version` understood (default 1). */
  supportedMajorVersion?: number;
  /**
   * Close the connection while the page is hidden and reconnect (with `Last-Event-ID`, no
   * backoff) when it is shown again. Browser pages, `'fetch'` transport only.
   */
  pauseWhenHidden?: boolean;
  /** Reconnect at once, backoff reset, when the browser comes back online. `'fetch'` transport only. */
  reconnectOnOnline?: boolean;
  /** Named SSE event types to listen to with the `'eventsource'` transport (besides `message`). */
  eventTypes?: string[];
  onStateChange?: (state: 'connecting' | 'open' | 'closed', detail?: { delayMs?: number; error?: unknown }) => void;
  /** Every error the stream meets: fatal responses (`StreamResponseError`), `SseProtocolError`s,
   *  dead letters (`NotificationSchemaError`, or what a handler threw after its retries) and
   *  store errors. Reconnects go to `onStateChange` instead. */
  onError?: (error: Error) => void;
}
"#;
