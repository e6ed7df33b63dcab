// The notification feed: one NotificationStream on the Worker's hub for the page's lifetime.
//
// Exactly once across reloads: the stream's `store` (the page's BrowserStorage) keeps the last
// event id, written only after the handler below succeeded; the handler keeps what it showed in
// the same storage, keyed by id, so a notification delivered again after a reload that came
// between the two writes is recognised, never shown twice.
//
// It is also what the transaction's `await payment.processed` step waits on (`source`: the
// stream itself). With `storeRecent`, the stream keeps its recent notifications in the same
// storage, so a step resumed after a reload still finds a confirmation that came just before.

import { NotificationStream } from 'edgesaga';
import { element } from './timeline.js';

const HISTORY_KEY = 'demo:feed';
const LAST_EVENT_ID_KEY = 'demo:feed:lastEventId';
const KEEP = 200;
const $ = (selector) => document.querySelector(selector);

/**
 * Opens the feed. `onNotification(n)` runs after each new notification was recorded.
 * Returns `{ stream, history, source }`.
 */
export async function startFeed({ url, token, storage, onNotification = () => {} }) {
  const history = JSON.parse((await storage.get(HISTORY_KEY)) ?? '[]');
  const seen = new Set(history.map((n) => n.id));
  let state = 'connecting';
  let lastError = null;
  // Connection changes, shown among the notifications (this page load's only: not stored).
  const changes = [];
  const arrived = new Map(); // id -> place among this load's notifications and changes
  let entries = 0;

  const stream = new NotificationStream(url, {
    headers: { authorization: `Bearer ${token}` },
    store: storage,
    storeKey: LAST_EVENT_ID_KEY,
    storeRecent: true,
    recentWindowMs: 120_000, // an await step resumed after a reload looks back this far
    reconnect: { initialDelayMs: 250, maxDelayMs: 2000 },
    onStateChange: (next, detail) => {
      state = next;
      const after = stream.lastEventId ? ` — resuming after #${stream.lastEventId}` : '';
      const text = next === 'connecting' && detail?.delayMs !== undefined
        ? `connection lost: reconnecting in ${Math.round(detail.delayMs)} ms${after}`
        : `connection ${next}`;
      changes.push({ at: entries++, text, state: next });
      render();
    },
    // Shown on the page, not logged: the feed panel is where a reader looks.
    onError: (error) => {
      lastError = `${error.name}: ${error.message}`;
      render();
    },
  });

  stream.on('*', async (notification) => {
    if (seen.has(notification.id)) return; // delivered again after a reload: already recorded
    history.push(notification);
    arrived.set(notification.id, entries++);
    seen.add(notification.id);
    if (history.length > KEEP) seen.delete(history.shift().id);
    await storage.set(HISTORY_KEY, JSON.stringify(history));
    render();
    onNotification(notification);
  });

  function render() {
    const stateNode = $('#feed-state');
    stateNode.dataset.state = state;
    stateNode.textContent = state;
    $('#feed-last-id').textContent = stream.lastEventId || '—';
    $('#feed-reconnects').textContent = String(stream.reconnects);
    const error = $('#feed-error');
    error.hidden = lastError === null;
    error.textContent = lastError ?? '';
    // Newest first: the stored notifications from before this load, then this load's
    // notifications and connection changes in the order they came (a stable sort).
    const items = [
      ...history.map((n) => ({ at: arrived.get(n.id) ?? -1, node: () => element('li', { 'data-id': n.id, 'data-type': n.type },
        `#${n.id}  ${n.type}  ${n.entityId ?? ''}  ${n.data?.data?.orderId ?? ''}`) })),
      ...changes.map((c) => ({ at: c.at, node: () => element('li', { class: 'connection', 'data-state': c.state }, `— ${c.text}`) })),
    ];
    items.sort((a, b) => a.at - b.at);
    $('#feed').replaceChildren(...items.reverse().map((item) => item.node()));
  }
  render();

  return { stream, history, source: stream };
}
