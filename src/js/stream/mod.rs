//! `NotificationStream`: consumes a Server-Sent Events endpoint, reconnects with
//! `Last-Event-ID`, drops duplicates and hands each notification to the handlers whose pattern
//! it matches, in arrival order — in a page, a Web Worker, a Cloudflare Worker or Node.
//!
//! ```js
//! import init, { NotificationStream } from 'edgesaga';
//! await init();
//! const stream = new NotificationStream('/events', { headers: async () => ({ authorization: `Bearer ${await token()}` }) });
//! const off = stream.on('order.*', (n) => console.log(n.type, n.entityId));
//! const paid = await stream.waitFor('payment.processed', (n) => n.entityId === orderId, { timeoutMs: 30_000 });
//! for await (const n of stream) console.log(n.id, n.type);
//! ```
//!
//! [`connection`] runs one connection (fetch stream or EventSource), [`driver`] decides what
//! happens after it ends, [`delivery`] turns events into notifications for the handlers,
//! [`waiters`] serves `waitFor`, [`store`] keeps what a reloaded page resumes from.

mod connection;
mod delivery;
mod driver;
mod options;
mod store;
mod sys;
mod types;
mod waiters;

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Function, Promise};
use wasm_bindgen::prelude::*;

use self::delivery::Delivery;
use self::options::Options;
use super::abort::AbortListener;
use super::error::Error;
use super::sys as glue;
use crate::saga::{CancelToken, FailureKind};

/// `readyState` values, as `EventSource` spells them.
const CONNECTING: u8 = 0;
const OPEN: u8 = 1;
const CLOSED: u8 = 2;

/// State shared by the JS object and the driver task.
pub struct Inner {
    options: Options,
    /// Aborted by `close()`, the caller's signal, a fatal response or 204.
    closed: CancelToken,
    /// The current fetch's controller, aborted on close so nothing is left pending.
    current: RefCell<Option<web_sys::AbortController>>,
    ready_state: std::cell::Cell<u8>,
    reconnects: std::cell::Cell<u32>,
    delivery: Delivery,
}

impl Inner {
    fn set_state(&self, state: u8, detail: &JsValue) {
        if self.ready_state.replace(state) == state {
            return;
        }
        if let Some(f) = &self.options.on_state_change {
            let name = ["connecting", "open", "closed"][state as usize];
            if let Err(e) = f.call2(&JsValue::UNDEFINED, &name.into(), detail) {
                glue::report_listener_error(&e);
            }
        }
    }

    fn opened(&self) {
        self.set_state(OPEN, &JsValue::UNDEFINED);
    }

    fn reconnecting(&self) {
        self.reconnecting_with(&JsValue::UNDEFINED);
    }

    /// `detail`: `{ delayMs, error? }` for `onStateChange`.
    fn reconnecting_with(&self, detail: &JsValue) {
        self.reconnects.set(self.reconnects.get() + 1);
        self.set_state(CONNECTING, detail);
    }

    /// The last event ID received (fetch: sent as `Last-Event-ID` on the next connection).
    fn last_event_id(&self) -> String {
        self.delivery.last_event_id()
    }

    /// A JS `Error` with a stable name.
    fn error(&self, name: &str, message: &str) -> JsValue {
        glue::make_error(name, message, &JsValue::UNDEFINED, &JsValue::UNDEFINED, false)
    }

    /// Reports an error to `onError` (a throwing callback is contained).
    fn report(&self, error: &JsValue) {
        if let Some(f) = &self.options.on_error {
            if let Err(e) = f.call1(&JsValue::UNDEFINED, error) {
                glue::report_listener_error(&e);
            }
        }
    }

    async fn feed(self: &Rc<Self>, chunk: &[u8]) {
        delivery::feed(self, chunk).await
    }

    async fn deliver_event(self: &Rc<Self>, event: crate::notify::parser::Event) {
        delivery::deliver(self, event).await
    }

    /// Closes at once, as `EventSource.close()` does: `readyState` is 2 when this returns;
    /// the driver task notices and cleans up (waiters, iterators) on its next turn.
    fn shut(&self) {
        self.closed.abort(FailureKind::Aborted);
        if let Some(controller) = self.current.borrow_mut().take() {
            controller.abort();
        }
        self.set_state(CLOSED, &JsValue::UNDEFINED);
    }
}

/// A reconnecting, deduplicating notification stream over Server-Sent Events.
#[wasm_bindgen]
pub struct NotificationStream {
    inner: Rc<Inner>,
    _signal: Option<AbortListener>,
}

#[wasm_bindgen]
impl NotificationStream {
    /// Starts connecting at once (like `EventSource`). Rejects bad options with a `TypeError`
    /// naming the option.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "string | URL")] url: JsValue,
        #[wasm_bindgen(unchecked_param_type = "NotificationStreamOptions")] options: Option<js_sys::Object>,
    ) -> Result<NotificationStream, JsValue> {
        let read = sys::read_stream_options(&url, &options.map_or(JsValue::UNDEFINED, Into::into));
        let normalized = read.get(0);
        if normalized.is_null() {
            let problem: Array = read.get(1).unchecked_into();
            let field = problem.get(0).as_string().unwrap_or_default();
            let reason = problem.get(1).as_string().unwrap_or_default();
            return Err(Error::InvalidArgument { field, reason }.into());
        }
        let options = Options::read(&normalized.unchecked_into());
        if options.transport == options::Transport::EventSource && !sys::has_event_source() {
            let reason = "'eventsource' needs a global EventSource (use 'fetch' in Workers and Node)".to_owned();
            return Err(Error::InvalidArgument { field: "options.transport".into(), reason }.into());
        }
        let inner = Rc::new(Inner {
            delivery: Delivery::new(&options),
            options,
            closed: CancelToken::new(),
            current: RefCell::new(None),
            ready_state: std::cell::Cell::new(CONNECTING),
            reconnects: std::cell::Cell::new(0),
        });
        let signal = inner.options.signal.clone().map(|signal| {
            if signal.aborted() {
                inner.shut();
            }
            let target = inner.clone();
            AbortListener::once(&signal, move || target.shut())
        });
        wasm_bindgen_futures::spawn_local(driver::run(inner.clone()));
        Ok(NotificationStream { inner, _signal: signal })
    }

    /// `0` connecting, `1` open, `2` closed.
    #[wasm_bindgen(getter, js_name = readyState, unchecked_return_type = "0 | 1 | 2")]
    pub fn ready_state(&self) -> u8 {
        self.inner.ready_state.get()
    }

    /// The last event ID received (sent as `Last-Event-ID` when reconnecting).
    #[wasm_bindgen(getter, js_name = lastEventId)]
    pub fn last_event_id(&self) -> String {
        self.inner.last_event_id()
    }

    /// How many times the stream reconnected.
    #[wasm_bindgen(getter)]
    pub fn reconnects(&self) -> u32 {
        self.inner.reconnects.get()
    }

    /// Events dropped for exceeding `maxLineBytes` / `maxEventBytes` (each also went to `onError`).
    #[wasm_bindgen(getter, js_name = protocolErrors)]
    pub fn protocol_errors(&self) -> u32 {
        self.inner.delivery.protocol_errors()
    }

    /// Notifications that could not be delivered: malformed, or refused by a handler after its
    /// retries. Oldest first, bounded by `deadLetterLimit`.
    #[wasm_bindgen(getter, js_name = deadLetters, unchecked_return_type = "DeadLetter[]")]
    pub fn dead_letters(&self) -> Array {
        self.inner.delivery.dead_letters()
    }

    /// Calls `handler` with every notification whose type matches `pattern`
    /// (`'order.status_changed'`, `'order.*'`, `'*'`) and `filter`; returns an unsubscribe function.
    #[wasm_bindgen(unchecked_return_type = "() => void")]
    pub fn on(
        &self,
        pattern: &str,
        #[wasm_bindgen(unchecked_param_type = "NotificationHandler")] handler: Function,
        #[wasm_bindgen(unchecked_param_type = "NotificationFilter")] filter: Option<js_sys::Object>,
    ) -> Result<Function, JsValue> {
        self.inner.delivery.subscribe(&self.inner, pattern, handler, filter)
    }

    /// Resolves with the first notification matching `pattern` and `predicate` — including one
    /// that arrived within `recentWindowMs` before the call. Rejects with `TimeoutError` after
    /// `timeoutMs`, `AbortError` when `signal` aborts or the stream closes.
    #[wasm_bindgen(js_name = waitFor, unchecked_return_type = "Promise<Notification>")]
    pub fn wait_for(
        &self,
        pattern: &str,
        #[wasm_bindgen(unchecked_param_type = "(notification: Notification) => boolean")] predicate: Option<Function>,
        #[wasm_bindgen(unchecked_param_type = "WaitForOptions")] options: Option<js_sys::Object>,
    ) -> Promise {
        waiters::wait_for(&self.inner, pattern, predicate, options)
    }

    /// An async iterator over the notifications (what `for await (const n of stream)` uses).
    #[wasm_bindgen(unchecked_return_type = "AsyncIterableIterator<Notification>")]
    pub fn iterate(&self) -> JsValue {
        self.inner.delivery.iterator()
    }

    /// Stops the stream for good: no reconnect, pending `waitFor`s reject, iterators end.
    /// Like `EventSource`, a stream runs until closed, even when no reference to it is kept.
    pub fn close(&self) {
        self.inner.shut();
    }
}

/// Gives the class its `Symbol.asyncIterator` (wasm-bindgen cannot export symbol-named methods).
pub fn install_async_iterator() {
    delivery::install_async_iterator(NotificationStream::inert().into());
}

impl NotificationStream {
    /// A closed stream that never connects, used once to reach the class prototype.
    fn inert() -> NotificationStream {
        let options = Options::read(&js_sys::Object::new());
        let inner = Rc::new(Inner {
            delivery: Delivery::new(&options),
            options,
            closed: CancelToken::new(),
            current: RefCell::new(None),
            ready_state: std::cell::Cell::new(CLOSED),
            reconnects: std::cell::Cell::new(0),
        });
        inner.closed.abort(FailureKind::Aborted);
        NotificationStream { inner, _signal: None }
    }
}
