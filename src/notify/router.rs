//! The delivery core of a notification stream, sans-IO: parsed SSE events in, delivery plans
//! out, handler outcomes back in, and the `Last-Event-ID` that is safe to persist.
//!
//! For each [`Event`], in arrival order, [`Router::accept`]:
//!
//! 1. works out the event's own id. The parser hands every event the *last event ID*, which an
//!    event without an `id` field inherits from an earlier one; [`Event::own_id`] says which it
//!    is. An inherited id, like an empty one, is no id of its own: such an event is never
//!    deduplicated;
//! 2. drops it if its id is in the [`DedupeWindow`] ([`Accepted::Duplicate`]), before any JSON
//!    work; ids of rejected notifications are remembered too, so a replay is not dead-lettered twice;
//! 3. normalises it ([`Notification::parse`]); a failure becomes a [`DeadLetter::Schema`];
//! 4. records it in the [`RecentBuffer`] (for `waitFor`) and returns a [`Delivery`]: every
//!    matching subscription's handler, in subscription order. The SSE `event` name plays no part:
//!    the JSON type is authoritative.
//!
//! The caller runs every handler of the plan (one failing does not stop the others) and
//! reports each outcome. To run handlers in arrival order, it finishes one plan, retries
//! included, before accepting the next event; the persistence rule below holds even if it
//! overlaps them. Parser protocol errors carry no data and are not the router's business. A
//! failure is retried until `max_handler_attempts`, then dead-lettered
//! ([`DeadLetter::Handler`]) with its message. [`Router::last_event_id_to_persist`] is the last
//! event ID of the newest notification such that it and every notification before it are
//! settled (all handlers succeeded or dead-lettered; rejected, duplicate and unmatched ones
//! settle at once), so a store that persists it resumes a reloaded page without losing any; or
//! the id of a block without data that came after all of them ([`Router::id_without_event`]).
//! Reconnecting within one page uses the parser's own last event ID instead: notifications
//! still in flight are in memory.
//!
//! ```
//! use edgesaga::notify::parser::{Item, SseParser};
//! use edgesaga::notify::pattern::Route;
//! use edgesaga::notify::router::{Accepted, HandlerVerdict, Router, RouterConfig};
//!
//! let mut router = Router::new(RouterConfig { max_handler_attempts: 2, ..RouterConfig::default() });
//! let audit = router.subscribe(Route::new("*").unwrap());
//! let orders = router.subscribe(Route::new("order.*").unwrap());
//! let mut items = Vec::new();
//! SseParser::default().feed(b"id: 1\ndata: {\"type\":\"order.paid\"}\n\nid: 1\ndata: {\"type\":\"order.paid\"}\n\n", &mut items);
//! let mut events = items.into_iter().map(|i| match i { Item::Event(e) => e, Item::Error(e) => panic!("{e}") });
//!
//! let Accepted::Deliver(d) = router.accept(events.next().unwrap(), 0.0) else { panic!() };
//! assert_eq!(d.handlers, [audit, orders]);
//! assert_eq!(router.handler_succeeded(d.id, audit), HandlerVerdict::Done);
//! assert_eq!(router.handler_failed(d.id, orders, "boom"), HandlerVerdict::Retry { attempt: 2 });
//! assert_eq!(router.last_event_id_to_persist(), None); // `orders` has not settled
//! assert_eq!(router.handler_failed(d.id, orders, "boom again"), HandlerVerdict::DeadLettered);
//! assert_eq!(router.last_event_id_to_persist(), Some("1"));
//! assert_eq!(router.dead_letters().latest().unwrap().message(), "boom again");
//! assert_eq!(router.accept(events.next().unwrap(), 1.0), Accepted::Duplicate);
//! ```

use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::Arc;

use super::dead_letter::{DeadLetter, DeadLetters, DEFAULT_DEAD_LETTERS, DEFAULT_DEAD_LETTER_BYTES};
use super::dedupe::{DedupeWindow, DEFAULT_MAX_BYTES, DEFAULT_WINDOW};
use super::notification::{Notification, Rejected, SchemaOptions};
use super::parser::Event;
use super::pattern::Route;
use super::recent::{RecentBuffer, DEFAULT_RECENT_CAPACITY, DEFAULT_RECENT_MAX_BYTES, DEFAULT_RECENT_WINDOW_MS};

/// A subscription (one handler), numbered from 1 in subscription order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubscriptionId(pub u32);

/// One accepted notification, numbered consecutively (wrapping) in arrival order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DeliveryId(pub u32);

/// Settings of the delivery core.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RouterConfig {
    /// What a valid notification is.
    pub schema: SchemaOptions,
    /// Ids remembered for deduplication (default 1 000; 0 disables it).
    pub dedupe_window: usize,
    /// Bytes of ids remembered (default 256 KiB).
    pub dedupe_max_bytes: usize,
    /// Attempts per handler and notification, the first included (default 3).
    pub max_handler_attempts: u32,
    /// Dead letters kept (default 100).
    pub dead_letters: usize,
    /// Bytes of dead letters kept, the newest excepted (default 1 MiB).
    pub dead_letter_max_bytes: usize,
    /// How far back `waitFor` looks (default 5 000 ms).
    pub recent_window_ms: u64,
    /// Notifications kept for `waitFor` at most (default 256).
    pub recent_capacity: usize,
    /// Bytes of notifications kept for `waitFor`, the newest excepted (default 1 MiB).
    pub recent_max_bytes: usize,
}

impl Default for RouterConfig {
    fn default() -> Self {
        RouterConfig {
            schema: SchemaOptions::default(),
            dedupe_window: DEFAULT_WINDOW,
            dedupe_max_bytes: DEFAULT_MAX_BYTES,
            max_handler_attempts: 3,
            dead_letters: DEFAULT_DEAD_LETTERS,
            dead_letter_max_bytes: DEFAULT_DEAD_LETTER_BYTES,
            recent_window_ms: DEFAULT_RECENT_WINDOW_MS,
            recent_capacity: DEFAULT_RECENT_CAPACITY,
            recent_max_bytes: DEFAULT_RECENT_MAX_BYTES,
        }
    }
}

/// What became of an event.
#[derive(Clone, Debug, PartialEq)]
pub enum Accepted {
    /// Run these handlers.
    Deliver(Delivery),
    /// Its id was seen recently: dropped.
    Duplicate,
    /// It failed validation: see [`Router::dead_letters`]'s latest entry.
    DeadLettered,
}

/// A delivery plan.
#[derive(Clone, Debug, PartialEq)]
pub struct Delivery {
    /// What to report handler outcomes against.
    pub id: DeliveryId,
    /// The notification, shared with the recent buffer and any dead letter.
    pub notification: Rc<Notification>,
    /// The handlers to run, in subscription order (possibly none).
    pub handlers: Vec<SubscriptionId>,
}

/// What the router makes of a handler's outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandlerVerdict {
    /// Recorded: the handler is done with this notification.
    Done,
    /// Run it again; `attempt` counts from 1.
    Retry {
        /// The number of the attempt to make.
        attempt: u32,
    },
    /// Out of attempts: now a dead letter.
    DeadLettered,
    /// No such pending handler (already settled, unsubscribed, or never planned).
    Unknown,
}

#[derive(Debug)]
struct Slot {
    subscription: SubscriptionId,
    attempts: u32,
    settled: bool,
}

#[derive(Debug)]
struct InFlight {
    id: DeliveryId,
    last_event_id: Arc<str>,
    notification: Option<Rc<Notification>>,
    slots: Vec<Slot>,
    open: usize,
}

/// The delivery core. See the [module docs](self).
#[derive(Debug)]
pub struct Router {
    config: RouterConfig,
    subscriptions: Vec<(SubscriptionId, Route)>,
    next_subscription: u32,
    next_delivery: u32,
    /// Contiguous delivery ids, oldest first, so a lookup is an index computation.
    in_flight: VecDeque<InFlight>,
    dedupe: DedupeWindow,
    dead_letters: DeadLetters,
    recent: RecentBuffer,
    settled_id: Option<Arc<str>>,
    reported_id: Option<Arc<str>>,
}

impl Default for Router {
    fn default() -> Self {
        Router::new(RouterConfig::default())
    }
}

impl Router {
    /// A router with no subscriptions.
    pub fn new(config: RouterConfig) -> Self {
        Router {
            config,
            subscriptions: Vec::new(),
            next_subscription: 1,
            next_delivery: 0,
            in_flight: VecDeque::new(),
            dedupe: DedupeWindow::with_max_bytes(config.dedupe_window, config.dedupe_max_bytes),
            dead_letters: DeadLetters::with_max_bytes(config.dead_letters, config.dead_letter_max_bytes),
            recent: RecentBuffer::with_max_bytes(
                config.recent_window_ms,
                config.recent_capacity,
                config.recent_max_bytes,
            ),
            settled_id: None,
            reported_id: None,
        }
    }

    /// The settings in force.
    pub fn config(&self) -> &RouterConfig {
        &self.config
    }

    /// Adds a handler for `route`; it sees notifications accepted from now on.
    pub fn subscribe(&mut self, route: Route) -> SubscriptionId {
        let id = SubscriptionId(self.next_subscription);
        self.next_subscription = self.next_subscription.wrapping_add(1).max(1);
        self.subscriptions.push((id, route));
        id
    }

    /// Removes a handler. Its pending work counts as settled, so it cannot hold back the
    /// persisted id. `false` if it was not subscribed.
    pub fn unsubscribe(&mut self, id: SubscriptionId) -> bool {
        let Some(at) = self.subscriptions.iter().position(|(s, _)| *s == id) else { return false };
        self.subscriptions.remove(at);
        for entry in &mut self.in_flight {
            for slot in entry.slots.iter_mut().filter(|s| s.subscription == id && !s.settled) {
                slot.settled = true;
                entry.open -= 1;
            }
        }
        self.advance();
        true
    }

    /// Takes the next event of the stream, which arrived at `now_ms`.
    pub fn accept(&mut self, event: Event, now_ms: f64) -> Accepted {
        let Event { data, last_event_id, own_id, .. } = event;
        let own_id = (own_id && !last_event_id.is_empty()).then(|| last_event_id.clone());
        if own_id.as_ref().is_some_and(|id| !self.dedupe.insert(id)) {
            return Accepted::Duplicate;
        }
        let id = DeliveryId(self.next_delivery);
        self.next_delivery = self.next_delivery.wrapping_add(1);
        match Notification::parse(data, &self.config.schema) {
            Err(Rejected { error, raw }) => {
                self.dead_letters.push(DeadLetter::Schema { error, raw, id: own_id });
                self.in_flight.push_back(InFlight {
                    id,
                    last_event_id,
                    notification: None,
                    slots: Vec::new(),
                    open: 0,
                });
                self.advance();
                Accepted::DeadLettered
            }
            Ok(notification) => {
                let notification = Rc::new(notification.with_sse_ids(own_id, last_event_id.clone()));
                self.recent.push(now_ms, notification.clone());
                let handlers: Vec<SubscriptionId> =
                    self.subscriptions.iter().filter(|(_, r)| r.matches(&notification)).map(|(s, _)| *s).collect();
                let slots: Vec<Slot> =
                    handlers.iter().map(|&subscription| Slot { subscription, attempts: 1, settled: false }).collect();
                let open = slots.len();
                let shared = Some(notification.clone());
                self.in_flight.push_back(InFlight { id, last_event_id, notification: shared, slots, open });
                self.advance();
                Accepted::Deliver(Delivery { id, notification, handlers })
            }
        }
    }

    /// A handler finished this notification successfully.
    pub fn handler_succeeded(&mut self, delivery: DeliveryId, subscription: SubscriptionId) -> HandlerVerdict {
        let Some((entry, slot)) = self.slot(delivery, subscription) else { return HandlerVerdict::Unknown };
        let entry = &mut self.in_flight[entry];
        entry.slots[slot].settled = true;
        entry.open -= 1;
        self.advance();
        HandlerVerdict::Done
    }

    /// A handler failed (threw, rejected, timed out) on this notification: retry it, or, out of
    /// attempts, dead-letter it with `message` (the last error's).
    pub fn handler_failed(
        &mut self,
        delivery: DeliveryId,
        subscription: SubscriptionId,
        message: &str,
    ) -> HandlerVerdict {
        let Some((entry, slot)) = self.slot(delivery, subscription) else { return HandlerVerdict::Unknown };
        let max = self.config.max_handler_attempts;
        let entry = &mut self.in_flight[entry];
        let slot = &mut entry.slots[slot];
        if slot.attempts < max {
            slot.attempts += 1;
            return HandlerVerdict::Retry { attempt: slot.attempts };
        }
        slot.settled = true;
        let attempts = slot.attempts;
        entry.open -= 1;
        if let Some(notification) = entry.notification.clone() {
            let message = message.to_owned();
            self.dead_letters.push(DeadLetter::Handler { notification, subscription, attempts, message });
        }
        self.advance();
        HandlerVerdict::DeadLettered
    }

    /// The last event ID that is safe to persist (see the [module docs](self)); `None` until a
    /// notification settles or a block without data names one. It can be `""` if the server
    /// cleared its ids with an empty `id:`.
    pub fn last_event_id_to_persist(&self) -> Option<&str> {
        self.settled_id.as_deref()
    }

    /// A block without data (`id: 7` alone) committed `id` after every event accepted so far.
    /// It is the resume point once nothing is in flight: a server that names its position when a
    /// subscriber connects (as the Worker hub does), or that moves it past events a filter kept
    /// from this subscriber, lets a reload resume from there. The id is taken as the server
    /// states it, as the spec's last event ID is, even if it names an earlier position. While
    /// notifications are in flight it is ignored; their own ids settle later.
    pub fn id_without_event(&mut self, id: &str) {
        if self.in_flight.is_empty() && self.settled_id.as_deref() != Some(id) {
            self.settled_id = Some(Arc::from(id));
        }
    }

    /// [`last_event_id_to_persist`](Self::last_event_id_to_persist) if it changed since the last
    /// call: what a store should write now.
    pub fn take_persist_update(&mut self) -> Option<Arc<str>> {
        if self.settled_id.as_deref() == self.reported_id.as_deref() {
            return None;
        }
        self.reported_id.clone_from(&self.settled_id);
        self.settled_id.clone()
    }

    /// Notifications with handlers still unsettled, or queued behind one.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// The dead letters.
    pub fn dead_letters(&self) -> &DeadLetters {
        &self.dead_letters
    }

    /// The dead letters, to drain them.
    pub fn dead_letters_mut(&mut self) -> &mut DeadLetters {
        &mut self.dead_letters
    }

    /// Recently accepted notifications, for `waitFor`.
    pub fn recent(&self) -> &RecentBuffer {
        &self.recent
    }

    /// The same, to restore a saved one ([`RecentBuffer::restore`]).
    pub fn recent_mut(&mut self) -> &mut RecentBuffer {
        &mut self.recent
    }

    /// The schema notifications are read with.
    pub fn schema(&self) -> &SchemaOptions {
        &self.config.schema
    }

    /// The deduplication window.
    pub fn dedupe(&self) -> &DedupeWindow {
        &self.dedupe
    }

    /// Where `(delivery, subscription)` is pending, if it is.
    fn slot(&self, delivery: DeliveryId, subscription: SubscriptionId) -> Option<(usize, usize)> {
        let front = self.in_flight.front()?.id;
        let at = delivery.0.wrapping_sub(front.0) as usize;
        let entry = self.in_flight.get(at).filter(|e| e.id == delivery)?;
        let slot = entry.slots.iter().position(|s| s.subscription == subscription && !s.settled)?;
        Some((at, slot))
    }

    /// Pops the settled prefix, moving the persistable id forward.
    fn advance(&mut self) {
        while self.in_flight.front().is_some_and(|e| e.open == 0) {
            if let Some(entry) = self.in_flight.pop_front() {
                self.settled_id = Some(entry.last_event_id);
            }
        }
    }
}
