// The order workflow page: edgesaga (the wasm package, imported as a frontend does) runs the
// order saga in this page, journals it in the browser's storage and follows the Worker's
// notifications.
//
//   order.js      the transaction definition and the fault toggles
//   timeline.js   the live timeline of the transaction
//   feed.js       the notification stream (and what the `await` step waits on)
//   services.js   the services' own state
//
// Reload-safe: before a transaction starts, its id and context are stored next to its journal
// (openBrowserStorage: IndexedDB, or localStorage); on load, every transaction whose journal has
// no end is run again with the same definition and id, which resumes it — finished steps are not
// run again, a compensation that had started goes on. edgesaga holds a Web Lock per transaction
// while it runs one, so a second tab waits, then finds it finished instead of running it twice.

import init, { openBrowserStorage, TransactionCoordinator } from 'edgesaga';
import { STEPS, orderDefinition, applyFaults, call } from './order.js';
import { Timeline } from './timeline.js';
import { startFeed } from './feed.js';
import { renderServices } from './services.js';

const API = `${location.origin}/api`;
const EVENTS = `${location.origin}/events`;
// wrangler.toml's development token for subscribers (an app would get one from its login).
const SUBSCRIBER_TOKEN = 'dev-subscriber';
const contextKey = (transactionId) => `demo:tx:${transactionId}`;
const LAST_KEY = 'demo:lastTransaction';

const $ = (selector) => document.querySelector(selector);
const timeline = new Timeline(STEPS);
let storage;
let feed;

function status(state, text) {
  const boot = $('#boot');
  boot.dataset.state = state;
  boot.textContent = text;
}

// Services state: refreshed after each notification; one request at a time.
let refreshing = null;
let again = false;
function refreshServices() {
  if (refreshing) {
    again = true;
    return refreshing;
  }
  refreshing = renderServices(API)
    .catch((error) => status('error', `the order service did not answer: ${error.message}`))
    .finally(() => {
      refreshing = null;
      if (again) {
        again = false;
        refreshServices();
      }
    });
  return refreshing;
}

/** Runs (or, with a journal, resumes) one transaction, showing it on the timeline. */
async function run(transactionId, context, { resumed = false } = {}) {
  $('#place').disabled = true;
  document.body.dataset.transaction = 'running';
  timeline.reset(transactionId, resumed ? 'resumed from the journal after a reload: finished steps are not run again' : '');
  if (resumed) {
    for (const record of await storage.load(transactionId)) timeline.applyRecord(record);
    const locks = await navigator.locks?.query();
    if (locks?.held.some((lock) => lock.name === `edgesaga:tx:${transactionId}`)) {
      timeline.note = 'another tab is running this transaction: waiting for it to finish';
      timeline.render();
    }
  }
  const coordinator = new TransactionCoordinator({ journal: storage, onEvent: (event) => timeline.apply(event) });
  try {
    const result = await coordinator.executeHttpTransaction(orderDefinition(API), {
      transactionId, context, notifications: feed.source,
    });
    if (resumed && !timeline.ranSomething()) timeline.note = 'finished by another tab: its outcome, from the journal';
    timeline.finish(result);
  } catch (error) {
    // Only a definition or journal the coordinator refuses gets here; the outcome of the steps,
    // whatever it is, is a result.
    timeline.status = 'error';
    timeline.note = `${error.name}: ${error.message}`;
    timeline.render();
  } finally {
    document.body.dataset.transaction = 'done';
    $('#place').disabled = false;
    refreshServices();
  }
}

async function placeOrder() {
  const items = [
    { sku: 'sku-apple', qty: Number($('#qty-apple').value) },
    { sku: 'sku-pear', qty: Number($('#qty-pear').value) },
  ].filter((item) => item.qty > 0);
  if (items.length === 0) return status('error', 'order at least one apple or pear');
  const context = { orderId: `order-${Date.now().toString(36)}`, items, amount: Number($('#amount').value) };
  const checked = [...document.querySelectorAll('#faults input:checked')].map((input) => input.name);
  await applyFaults(API, checked);
  const transactionId = `tx-${crypto.randomUUID()}`;
  // Stored before the first step runs: a reload at any point finds the context to resume with.
  await storage.set(contextKey(transactionId), JSON.stringify(context));
  await storage.set(LAST_KEY, transactionId);
  await run(transactionId, context);
}

/** After a reload: resume what did not finish, or show the last transaction from its journal. */
async function resumeOrShowLast() {
  const unfinished = await storage.unfinished();
  for (const transactionId of unfinished) {
    const saved = await storage.get(contextKey(transactionId));
    if (saved === null) {
      status('error', `transaction ${transactionId} has a journal but no stored context: it cannot be resumed`);
      continue;
    }
    await run(transactionId, JSON.parse(saved), { resumed: true });
  }
  const last = await storage.get(LAST_KEY);
  if (unfinished.length === 0 && last !== null) {
    timeline.reset(last, 'the last transaction, from its journal');
    for (const record of await storage.load(last)) timeline.applyRecord(record);
  }
}

async function main() {
  await init();
  storage = await openBrowserStorage('edgesaga-demo');
  feed = await startFeed({ url: EVENTS, token: SUBSCRIBER_TOKEN, storage, onNotification: refreshServices });
  await refreshServices();
  status('ready', `edgesaga loaded · journal and stream position in ${storage.kind === 'indexeddb' ? 'IndexedDB' : 'localStorage'}`);

  $('#order-form').addEventListener('submit', (event) => {
    event.preventDefault();
    placeOrder().catch((error) => status('error', error.message));
  });
  $('#reset').addEventListener('click', () => {
    call('POST', `${API}/_reset`, {})
      .then(() => call('POST', '/_demo/faults', {}))
      .then(refreshServices)
      .catch((error) => status('error', error.message));
  });

  document.body.dataset.ready = 'true';
  await resumeOrShowLast();
  $('#place').disabled = false;
}

main().catch((error) => status('error', `${error.name}: ${error.message}`));
