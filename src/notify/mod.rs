//! Notifications over Server-Sent Events: a spec-exact, sans-IO parser and the pure parts of
//! a notification stream (envelope validation, routing, dedupe, reconnect policy).
//!
//! ```
//! use edgesaga::notify::parser::{Item, SseParser};
//!
//! let mut parser = SseParser::default();
//! let mut items = Vec::new();
//! parser.feed(b"event: order.paid\nid: 1\ndata: {\"entityId\":\"o-1\"}\n\n", &mut items);
//! assert!(matches!(&items[..], [Item::Event(e)] if e.event_type == "order.paid"));
//! ```

pub mod parser;
