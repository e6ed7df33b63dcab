//! Notifications over Server-Sent Events: a spec-exact, sans-IO parser and the pure parts of
//! a notification stream. Nothing here touches JavaScript; `src/js` wires these to `fetch` or
//! `EventSource`, timers and JS callbacks.
//!
//! * [`parser`] — bytes in, [`parser::Event`]s out (WHATWG HTML § 9.2.5–9.2.6);
//! * [`notification`] — both wire forms, read with the [`json`](crate::json) pull reader,
//!   normalised to one [`notification::Notification`], or a
//!   [`notification::NotificationSchemaError`];
//! * [`pattern`] — routing patterns (`order.paid`, `order.*`, `*.created`, `*`) and filters;
//! * [`dedupe`] — the bounded window that turns at-least-once into exactly-once;
//! * [`event_source`] — own ids for events the browser's `EventSource` parsed;
//! * [`router`] — the delivery core: dedupe, validation, delivery plans, handler retries, dead
//!   letters ([`dead_letter`]) and the `Last-Event-ID` that is safe to persist;
//! * [`recent`] — the last few seconds of notifications, for `waitFor`;
//! * [`hub`] — the server half: a bounded, per-tenant replay buffer of encoded SSE frames;
//! * [`reconnect`] — server `retry` plus exponential backoff with full jitter, and the
//!   heartbeat watchdog.
//!
//! ```
//! use edgesaga::notify::parser::{Item, SseParser};
//! use edgesaga::notify::pattern::Route;
//! use edgesaga::notify::router::{Accepted, Router};
//!
//! let mut parser = SseParser::default();
//! let mut items = Vec::new();
//! parser.feed(b"event: order.paid\nid: 1\ndata: {\"type\":\"order.paid\",\"entityId\":\"o-1\"}\n\n", &mut items);
//! assert!(matches!(&items[..], [Item::Event(e)] if e.event_type == "order.paid"));
//!
//! let mut router = Router::default();
//! let handler = router.subscribe(Route::new("order.*").unwrap().entity("o-1"));
//! let Some(Item::Event(event)) = items.pop() else { unreachable!() };
//! let Accepted::Deliver(delivery) = router.accept(event, 0.0) else { unreachable!() };
//! assert_eq!((delivery.handlers.as_slice(), delivery.notification.action()), (&[handler][..], "paid"));
//! ```

pub mod dead_letter;
pub mod dedupe;
pub mod event_source;
pub mod hub;
pub mod notification;
pub mod parser;
pub mod pattern;
pub mod recent;
pub mod reconnect;
pub mod router;
pub mod schema;
