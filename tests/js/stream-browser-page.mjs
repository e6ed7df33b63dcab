// The Chromium test page's script (served as /page.mjs by stream-browser-server.mjs): loads the
// package the way an app does (`await init()`, which fetches the .wasm next to edgesaga.js) and
// exposes `window.streamTest` for the test to drive a NotificationStream with page.evaluate.
// Everything it returns is plain JSON: what handlers saw, state changes, errors, dead letters.

import init, { NotificationStream } from '/pkg/edgesaga.js';

const runs = new Map();
const status = document.getElementById('status');

function render() {
  const root = document.getElementById('runs');
  root.replaceChildren();
  for (const [name, { stream, log }] of runs) {
    const section = document.createElement('section');
    const h = document.createElement('h2');
    h.textContent = `${name}: readyState ${stream.readyState}, lastEventId ${JSON.stringify(stream.lastEventId)}, ` +
      `reconnects ${stream.reconnects}, ${log.seen.length} delivered, ${stream.deadLetters.length} dead-lettered`;
    const states = document.createElement('p');
    states.textContent = `states: ${log.states.map((s) => s.state).join(' → ')}`;
    const table = document.createElement('table');
    table.innerHTML = '<tr><th>id</th><th>type</th><th>entityId</th><th>seq</th><th>note</th></tr>';
    for (const n of log.seen) {
      const tr = table.insertRow();
      for (const v of [n.id, n.type, n.entityId, n.seq, n.note]) tr.insertCell().textContent = String(v);
    }
    for (const d of stream.deadLetters) {
      const tr = table.insertRow();
      tr.className = 'dead';
      for (const v of [d.id, `dead letter (${d.reason})`, d.error?.name, '', d.raw]) tr.insertCell().textContent = String(v);
    }
    section.append(h, states, table);
    root.append(section);
  }
}

const maxId = (ids) => {
  const numbers = ids.filter((id) => id != null && /^\d+$/.test(id)).map(Number);
  return numbers.length ? String(Math.max(...numbers)) : null;
};
const plainError = (e) => (e instanceof Error ? { name: e.name, message: e.message, status: e.status ?? null } : { value: String(e) });

window.streamTest = {
  /**
   * Opens a stream on `path` (the same-origin /events proxy by default). `stored`, when given,
   * seeds an in-memory `store` (its writes are in the snapshot). `headersDelayMs` makes
   * `headers` an async provider that takes that long; `handlerDelayMs` adds a second handler
   * that takes that long per notification (`window.slowHandlerBusy` is true meanwhile).
   * Returns the readyState right after `new`.
   */
  start(name, options = {}, { path = '/events', stored, headersDelayMs, handlerDelayMs } = {}) {
    const log = { seen: [], states: [], errors: [], storeWrites: [] };
    let stream = null;
    const extra = {};
    const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
    if (headersDelayMs !== undefined) {
      extra.headers = async () => {
        await delay(headersDelayMs);
        return {};
      };
    }
    if (stored) {
      const saved = new Map(Object.entries(stored));
      extra.store = {
        get: (key) => saved.get(key) ?? null,
        set: (key, value) => {
          saved.set(key, value);
          log.storeWrites.push([key, value]);
        },
      };
    }
    stream = new NotificationStream(path, {
      ...options,
      ...extra,
      onStateChange: (state, detail) => {
        log.states.push({
          state,
          readyState: stream?.readyState ?? null,
          // The highest numeric id delivered or dead-lettered so far: what the next connection
          // must send as Last-Event-ID (the SSE server's ids are numbers).
          lastIdSeen: maxId([...log.seen.map((n) => n.id), ...(stream?.deadLetters ?? []).map((d) => d.id)]),
          delayMs: detail?.delayMs ?? null,
          error: detail?.error === undefined ? null : plainError(detail.error),
          at: performance.now(),
        });
        render();
      },
      onError: (error) => void log.errors.push(plainError(error)),
    });
    stream.on('*', (n) => {
      const seq = n.metadata?.seq ?? n.data?.seq;
      const note = n.metadata?.note ?? n.data?.note;
      log.seen.push({ id: n.id, type: n.type, entityId: n.entityId, seq, note, version: n.version, readyState: stream.readyState,
        at: performance.now() });
      render();
    });
    if (handlerDelayMs !== undefined) {
      stream.on('*', async () => {
        window.slowHandlerBusy = true;
        await delay(handlerDelayMs);
        window.slowHandlerBusy = false;
      });
    }
    runs.set(name, { stream, log });
    render();
    return stream.readyState;
  },
  count(name) {
    return runs.get(name).log.seen.length;
  },
  snapshot(name) {
    const { stream, log } = runs.get(name);
    return {
      ...structuredClone(log),
      readyState: stream.readyState,
      lastEventId: stream.lastEventId,
      reconnects: stream.reconnects,
      protocolErrors: stream.protocolErrors,
      deadLetters: stream.deadLetters.map((d) => ({
        reason: d.reason, id: d.id, raw: d.raw,
        errorName: d.error?.name ?? null, errorIsError: d.error instanceof Error, errorMessage: d.error?.message ?? null,
      })),
    };
  },
  /**
   * Makes the page 'hidden' or 'visible' as far as scripts can tell, and fires
   * `visibilitychange` when the state changes. Headless Chromium keeps a page visible whatever
   * is done to its window or tab (minimizing, switching targets: tried), so the tests override
   * `document.visibilityState` and `document.hidden` on the document itself.
   */
  setVisibility(state) {
    if (state !== 'hidden' && state !== 'visible') throw new TypeError(`visibility: ${state}`);
    const changed = document.visibilityState !== state;
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => state });
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => state === 'hidden' });
    if (changed) document.dispatchEvent(new Event('visibilitychange'));
    return document.visibilityState;
  },
  /** Closes the stream; returns the readyState as soon as close() returned. */
  close(name) {
    const { stream } = runs.get(name);
    stream.close();
    const readyState = stream.readyState;
    render();
    return readyState;
  },
};

try {
  await init();
  window.streamTestReady = true;
  status.textContent = 'edgesaga loaded';
} catch (error) {
  window.streamTestReady = false;
  window.streamTestLoadError = String(error?.stack ?? error);
  status.textContent = `load failed: ${error}`;
}
