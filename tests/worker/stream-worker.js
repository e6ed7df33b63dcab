// A Cloudflare Worker (run under workerd by tests/js/stream-worker.test.mjs) that consumes an
// SSE endpoint with edgesaga's NotificationStream over the fetch transport — the only one
// Workers have — and answers what it got as JSON.
//
//   GET /?count=N[&sse=URL][&timeoutMs=MS][&waitFor=ENTITY]
//
// Opens a stream to `sse` (default: the SSE_URL binding), waits (with stream.on) until N
// notifications were delivered and, when `waitFor` is given, for `payment.processed` of that
// entity with stream.waitFor; then closes the stream and returns everything it saw.

import wasm from '../../pkg/edgesaga_bg.wasm';
import { initSync, NotificationStream } from '../../pkg/edgesaga.js';

initSync({ module: wasm });

const plainError = (e) => (e instanceof Error ? { name: e.name, message: e.message } : { value: String(e) });
const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

export default {
  async fetch(request, env) {
    const params = new URL(request.url).searchParams;
    const url = params.get('sse') ?? env.SSE_URL;
    const count = Number(params.get('count') ?? 1);
    const timeoutMs = Number(params.get('timeoutMs') ?? 20_000);
    const waitForEntity = params.get('waitFor');
    if (!url) return Response.json({ error: 'no SSE URL: pass ?sse= or bind SSE_URL' }, { status: 400 });

    const seen = [];
    const states = [];
    const errors = [];
    let stream;
    try {
      stream = new NotificationStream(url, {
        reconnect: { initialDelayMs: 1, maxDelayMs: 20 },
        onStateChange: (state, detail) => states.push({
          state, readyState: stream?.readyState ?? null, delayMs: detail?.delayMs ?? null,
          error: detail?.error === undefined ? null : plainError(detail.error),
        }),
        onError: (error) => errors.push(plainError(error)),
      });
    } catch (error) {
      return Response.json({ error: plainError(error) }, { status: 500 });
    }
    const initialReadyState = stream.readyState;

    let enough;
    const gotAll = new Promise((resolve) => (enough = resolve));
    stream.on('*', (n) => {
      seen.push({ id: n.id, type: n.type, entityId: n.entityId, version: n.version,
        seq: n.metadata?.seq ?? n.data?.seq, note: n.metadata?.note ?? n.data?.note, readyState: stream.readyState });
      if (seen.length >= count) enough();
    });
    const waited = waitForEntity
      ? stream.waitFor('payment.processed', (n) => n.entityId === waitForEntity, { timeoutMs })
        .then((n) => ({ id: n.id, entityId: n.entityId, seq: n.data?.seq }), (e) => ({ error: plainError(e) }))
      : null;
    let timer;
    const timedOut = await Promise.race([
      gotAll.then(() => false),
      new Promise((resolve) => (timer = setTimeout(() => resolve(true), timeoutMs))),
    ]);
    clearTimeout(timer);
    const waitedFor = waited && (await waited);

    const running = {
      readyState: stream.readyState, lastEventId: stream.lastEventId, reconnects: stream.reconnects,
      protocolErrors: stream.protocolErrors,
      deadLetters: stream.deadLetters.map((d) => ({
        reason: d.reason, id: d.id, raw: d.raw, errorName: d.error?.name ?? null, errorIsError: d.error instanceof Error,
      })),
    };
    stream.close();
    const readyStateAfterClose = stream.readyState;
    for (let i = 0; i < 20 && stream.readyState !== 2; i++) await tick();
    return Response.json({
      timedOut, initialReadyState, seen, states, errors, waitedFor, ...running,
      readyStateAfterClose, closedReadyState: stream.readyState,
    });
  },
};
