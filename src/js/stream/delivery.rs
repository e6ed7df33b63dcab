//! From bytes to handlers: the parser, the pure [`Router`] (dedupe, schema, routing, retries,
//! dead letters, what is safe to persist), and the JS consumers — handlers, `waitFor`s and
//! async iterators — served strictly in arrival order.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::{Rc, Weak};
use std::sync::Arc;

use js_sys::{Array, Function, Object, Promise, Reflect};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use super::options::Options;
use super::waiters::{resolve_waiters, settle, Waiter};
use super::{sys, Inner};
use crate::js::sys as glue;
use crate::notify::notification::{Form, Notification, SchemaOptions};
use crate::notify::parser::{Event, Item, SseParser};
use crate::notify::pattern::Route;
use crate::notify::router::{Accepted, HandlerVerdict, Router, RouterConfig, SubscriptionId};
use crate::platform::web::WebClock;
use crate::platform::Clock;

pub(super) struct State {
    pub(super) parser: SseParser,
    pub(super) router: Router,
    pub(super) handlers: Vec<(SubscriptionId, Function)>,
    pub(super) waiters: Vec<Waiter>,
    pub(super) next_waiter: u32,
    pub(super) queues: Vec<sys::NotificationQueue>,
    pub(super) dead_letters: VecDeque<JsValue>,
    pub(super) protocol_errors: u32,
    /// A notification joined the recent ones since they were last stored (`storeRecent`).
    pub(super) recent_changed: bool,
}

/// The delivery state of one stream.
pub struct Delivery {
    pub(super) state: RefCell<State>,
    pub(super) stream_filter: Option<Route>,
    dead_letter_limit: usize,
    buffer_size: u32,
}

impl Delivery {
    pub fn new(options: &Options) -> Delivery {
        let config = RouterConfig {
            schema: SchemaOptions { supported_major: options.supported_major_version, ..SchemaOptions::default() },
            dedupe_window: options.dedupe_window,
            max_handler_attempts: options.handler_attempts,
            dead_letters: options.dead_letter_limit,
            recent_window_ms: options.recent_window_ms,
            ..RouterConfig::default()
        };
        let mut parser = SseParser::new(options.limits);
        if let Some(id) = &options.last_event_id {
            parser.set_last_event_id(id);
        }
        let stream_filter = (options.tenant_id.is_some() || options.entity_id.is_some()).then(|| {
            let mut route = Route::new("*").expect("'*' is a valid pattern");
            if let Some(t) = &options.tenant_id {
                route = route.tenant(t.clone());
            }
            if let Some(e) = &options.entity_id {
                route = route.entity(e.clone());
            }
            route
        });
        Delivery {
            state: RefCell::new(State {
                parser,
                router: Router::new(config),
                handlers: Vec::new(),
                waiters: Vec::new(),
                next_waiter: 1,
                queues: Vec::new(),
                dead_letters: VecDeque::new(),
                protocol_errors: 0,
                recent_changed: false,
            }),
            stream_filter,
            dead_letter_limit: options.dead_letter_limit,
            buffer_size: options.buffer_size.max(1) as u32,
        }
    }

    /// Whether the stream's own `filter` (`tenantId`, `entityId`) lets `n` through to handlers,
    /// `waitFor`s and iterators.
    pub(super) fn wanted(&self, n: &Notification) -> bool {
        self.stream_filter.as_ref().is_none_or(|f| f.matches(n))
    }

    pub fn last_event_id(&self) -> String {
        self.state.borrow().parser.last_event_id().to_owned()
    }

    /// The browser's `EventSource` parses by itself; its ids are kept in our parser's state so
    /// `lastEventId` reads the same whatever the transport.
    pub fn remember_last_event_id(&self, id: &str) {
        let mut state = self.state.borrow_mut();
        if state.parser.last_event_id() != id {
            state.parser.set_last_event_id(id);
        }
    }

    pub fn server_retry(&self) -> Option<u64> {
        self.state.borrow().parser.retry()
    }

    pub fn protocol_errors(&self) -> u32 {
        self.state.borrow().protocol_errors
    }

    pub fn dead_letters(&self) -> Array {
        self.state.borrow().dead_letters.iter().collect()
    }

    fn push_dead_letter(&self, letter: JsValue) {
        let mut state = self.state.borrow_mut();
        if self.dead_letter_limit == 0 {
            return;
        }
        if state.dead_letters.len() == self.dead_letter_limit {
            state.dead_letters.pop_front();
        }
        state.dead_letters.push_back(letter);
    }

    /// Registers a handler; returns the JS function that removes it.
    pub fn subscribe(
        &self,
        inner: &Rc<Inner>,
        pattern: &str,
        handler: Function,
        filter: Option<Object>,
    ) -> Result<Function, JsValue> {
        let route = route(pattern, filter.as_ref())?;
        let id = {
            let mut state = self.state.borrow_mut();
            let id = state.router.subscribe(route);
            state.handlers.push((id, handler));
            id
        };
        let weak: Weak<Inner> = Rc::downgrade(inner);
        // Owned by the JS function it becomes: collected with it, never leaked.
        let unsubscribe = Closure::<dyn FnMut()>::new(move || {
            if let Some(inner) = weak.upgrade() {
                let mut state = inner.delivery.state.borrow_mut();
                state.router.unsubscribe(id);
                state.handlers.retain(|(h, _)| *h != id);
            }
        });
        Ok(unsubscribe.into_js_value().unchecked_into())
    }

    pub fn iterator(&self) -> JsValue {
        let queue = sys::NotificationQueue::new(self.buffer_size);
        self.state.borrow_mut().queues.push(queue.clone());
        queue.into()
    }
}

pub(super) fn route(pattern: &str, filter: Option<&Object>) -> Result<Route, JsValue> {
    let mut route = Route::new(pattern).map_err(|e| {
        JsValue::from(crate::js::error::Error::InvalidArgument { field: "pattern".into(), reason: e.to_string() })
    })?;
    if let Some(filter) = filter {
        if let Some(t) = sys::get(filter, "tenantId").as_string() {
            route = route.tenant(t);
        }
        if let Some(e) = sys::get(filter, "entityId").as_string() {
            route = route.entity(e);
        }
    }
    Ok(route)
}

/// Parses a chunk and delivers each complete event before the next chunk is read.
pub async fn feed(inner: &Rc<Inner>, chunk: &[u8]) {
    let mut items = Vec::new();
    // The id the last event carried (or the parser's before this chunk): the parser's id ending
    // up elsewhere means a block without data committed it after every event.
    let mut last_event_id = {
        let mut state = inner.delivery.state.borrow_mut();
        let before: Arc<str> = Arc::from(state.parser.last_event_id());
        state.parser.feed(chunk, &mut items);
        before
    };
    for item in items {
        match item {
            Item::Event(event) => {
                last_event_id = event.last_event_id.clone();
                deliver(inner, event).await
            }
            Item::Error(e) => {
                inner.delivery.state.borrow_mut().protocol_errors += 1;
                let error = inner.error(e.error_name(), &e.to_string());
                inner.report(&error);
            }
        }
    }
    let committed = {
        let mut state = inner.delivery.state.borrow_mut();
        let State { parser, router, .. } = &mut *state;
        let moved = parser.last_event_id() != &*last_event_id;
        if moved {
            router.id_without_event(parser.last_event_id());
        }
        moved
    };
    if committed {
        super::store::persist(inner).await;
    }
}

/// A connection ended: an event still incomplete is discarded, as the spec says.
pub fn connection_ended(inner: &Inner) {
    let mut items = Vec::new();
    inner.delivery.state.borrow_mut().parser.end(&mut items);
}

/// One event, in order: dedupe and validate (router), then handlers with retries, then
/// `waitFor`s and iterators, then the persisted `lastEventId`.
pub async fn deliver(inner: &Rc<Inner>, event: Event) {
    let now = WebClock.now_ms();
    let accepted = inner.delivery.state.borrow_mut().router.accept(event, now);
    let plan = match accepted {
        Accepted::Deliver(plan) => {
            inner.delivery.state.borrow_mut().recent_changed = true;
            plan
        }
        Accepted::Duplicate => return,
        Accepted::DeadLettered => {
            let letter = inner.delivery.state.borrow().router.dead_letters().latest().map(|d| {
                let error = inner.error("NotificationSchemaError", &d.message());
                if let Some(schema) = d.schema_error() {
                    let _ = Reflect::set(&error, &"reason".into(), &schema.reason.code().into());
                }
                dead_letter("schema", &error, d.raw(), d.id(), &JsValue::UNDEFINED)
            });
            if let Some(letter) = letter {
                inner.report(&Reflect::get(&letter, &"error".into()).unwrap_or_default());
                inner.delivery.push_dead_letter(letter);
            }
            super::store::persist(inner).await;
            return;
        }
    };
    let wanted = inner.delivery.wanted(&plan.notification);
    let js = to_js(&plan.notification);
    for sub in &plan.handlers {
        let handler = inner.delivery.state.borrow().handlers.iter().find(|(h, _)| h == sub).map(|(_, f)| f.clone());
        if !wanted {
            inner.delivery.state.borrow_mut().router.handler_succeeded(plan.id, *sub);
            continue;
        }
        let Some(handler) = handler else {
            inner.delivery.state.borrow_mut().router.handler_succeeded(plan.id, *sub);
            continue;
        };
        run_handler(inner, &handler, &js, &plan.notification, plan.id, *sub).await;
    }
    if wanted {
        resolve_waiters(inner, &plan.notification, &js);
        offer_to_iterators(inner, &js).await;
    }
    super::store::persist(inner).await;
}

/// Runs one handler until it succeeds or the router dead-letters it; a failure never stops
/// the other handlers.
async fn run_handler(
    inner: &Rc<Inner>,
    handler: &Function,
    js: &JsValue,
    notification: &Rc<Notification>,
    delivery: crate::notify::router::DeliveryId,
    sub: SubscriptionId,
) {
    loop {
        let call = sys::call_handler(handler, js);
        let outcome = match call.get(0).as_f64().unwrap_or(2.0) as u8 {
            0 => Ok(()),
            1 => JsFuture::from(call.get(1).unchecked_into::<Promise>()).await.map(drop),
            _ => Err(call.get(1)),
        };
        let verdict = match &outcome {
            Ok(()) => inner.delivery.state.borrow_mut().router.handler_succeeded(delivery, sub),
            Err(e) => {
                let message = glue::describe_error(e).get(1).as_string().unwrap_or_default();
                inner.delivery.state.borrow_mut().router.handler_failed(delivery, sub, &message)
            }
        };
        match (verdict, outcome) {
            (HandlerVerdict::Retry { .. }, _) => WebClock.sleep(inner.options.handler_delay_ms).await,
            (HandlerVerdict::DeadLettered, Err(error)) => {
                let letter = dead_letter("handler", &error, notification.raw(), notification.id(), js);
                inner.report(&error);
                inner.delivery.push_dead_letter(letter);
                return;
            }
            _ => return,
        }
    }
}

fn dead_letter(reason: &str, error: &JsValue, raw: &str, id: Option<&str>, notification: &JsValue) -> JsValue {
    let letter = Object::new();
    let set = |k: &str, v: &JsValue| {
        let _ = Reflect::set(&letter, &k.into(), v);
    };
    set("reason", &reason.into());
    set("error", error);
    set("raw", &raw.into());
    set("id", &id.map_or(JsValue::NULL, JsValue::from_str));
    if !notification.is_undefined() {
        set("notification", notification);
    }
    letter.into()
}

pub(super) fn to_js(n: &Notification) -> JsValue {
    let kind = n.notification_type();
    let dot = kind.find('.').unwrap_or(0) as u32;
    let form = if n.form() == Form::Envelope { 1 } else { 0 };
    sys::make_notification(n.raw(), n.id().map(str::to_owned), kind, dot, n.entity_id().map(str::to_owned), form)
}

async fn offer_to_iterators(inner: &Rc<Inner>, js: &JsValue) {
    let queues: Vec<sys::NotificationQueue> = {
        let mut state = inner.delivery.state.borrow_mut();
        state.queues.retain(|q| !q.done());
        state.queues.clone()
    };
    for queue in queues {
        let room = queue.offer(js);
        if !room.is_null() {
            // A slow consumer holds delivery back rather than losing notifications.
            let _ = JsFuture::from(room.unchecked_into::<Promise>()).await;
        }
    }
}

/// The stream closed: pending `waitFor`s reject, iterators end.
pub fn closed(inner: &Rc<Inner>) {
    let ids: Vec<u32> = inner.delivery.state.borrow().waiters.iter().map(|w| w.id).collect();
    if !ids.is_empty() {
        let error = inner.error("AbortError", "the stream closed");
        for id in ids {
            settle(inner, id, Err(&error));
        }
    }
    let queues = std::mem::take(&mut inner.delivery.state.borrow_mut().queues);
    for queue in queues {
        queue.close();
    }
}

pub fn install_async_iterator(instance: JsValue) {
    sys::install_async_iterator(&instance);
}
