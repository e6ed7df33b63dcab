//! Own ids for events the browser's `EventSource` parsed. It hands each event over with the
//! *last event ID*, not saying whether the event had an `id:` line of its own, yet the
//! [`router`](super::router) must know: only an own id is deduplicated (an id-less event merely
//! inherits the id, it is no duplicate of the event that set it). The parser knows
//! ([`Event::own_id`]); [`EventSourceIds`] infers it.
//!
//! A new id is an own id. The same id again is inherited — unless the data is that of the
//! event that set the id: then it is that event once more (a server replaying from
//! `Last-Event-ID` inclusive, at-least-once), so it has its own id and the router drops it.
//! What it cannot tell apart: an id-less event whose data repeats, byte for byte, the event
//! that set the id is taken for a duplicate; and since `EventSource` reports no block without
//! data, the first event after an id-only block (`id: 7` alone) is taken to carry that id. The
//! fetch transport parses the bytes itself and always knows.
//!
//! ```
//! use edgesaga::notify::event_source::EventSourceIds;
//!
//! let mut ids = EventSourceIds::new("");
//! assert!(ids.event("message", "a".into(), "7".into()).own_id);
//! assert!(!ids.event("message", "b".into(), "7".into()).own_id); // `data: b`, no `id:` line
//! assert!(ids.event("message", "a".into(), "7".into()).own_id); // the reconnect's replay of 7
//! ```

use std::sync::Arc;

use super::parser::Event;

/// Turns `EventSource` messages into [`Event`]s, with [`own_id`](Event::own_id) set when the
/// event (most likely) carried an id of its own.
#[derive(Debug)]
pub struct EventSourceIds {
    last: Arc<str>,
    /// A hash of the data of the event that set `last`; `None` when it was set otherwise.
    setter: Option<u64>,
}

impl EventSourceIds {
    /// Starts from the stream's current last event ID.
    pub fn new(last_event_id: &str) -> EventSourceIds {
        EventSourceIds { last: Arc::from(last_event_id), setter: None }
    }

    /// One `MessageEvent`: its `type`, `data` and `lastEventId`.
    pub fn event(&mut self, event_type: &str, data: String, last_event_id: String) -> Event {
        let hash = fnv1a(data.as_bytes());
        let own_id = *self.last != *last_event_id || self.setter == Some(hash);
        if own_id {
            self.last = Arc::from(last_event_id);
            self.setter = Some(hash);
        }
        let event_type = if event_type == "message" { "message".into() } else { event_type.to_owned().into() };
        Event { event_type, data, last_event_id: self.last.clone(), own_id }
    }
}

/// FNV-1a, 64 bits: tiny, and a collision only matters for equal ids (see the module doc).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::router::{Accepted, Router};

    /// What the router does with a run of `(data, lastEventId)` messages: the data delivered.
    fn delivered(messages: &[(&str, &str)]) -> Vec<String> {
        let mut ids = EventSourceIds::new("");
        let mut router = Router::default();
        let mut out = Vec::new();
        for &(data, id) in messages {
            let payload = format!(r#"{{"type":"order.paid","entityId":"{data}"}}"#);
            if let Accepted::Deliver(d) = router.accept(ids.event("message", payload, id.into()), 0.0) {
                out.push(d.notification.entity_id().unwrap_or_default().to_owned());
            }
        }
        out
    }

    #[test]
    fn a_replay_starting_at_the_last_id_is_dropped() {
        // Connection 1 delivers 1..3; the reconnect replays from 3 inclusive.
        let got = delivered(&[("a", "1"), ("b", "2"), ("c", "3"), ("c", "3"), ("d", "4")]);
        assert_eq!(got, ["a", "b", "c", "d"]);
    }

    #[test]
    fn a_replay_after_id_less_events_is_dropped() {
        // 3, then an id-less event inheriting 3, then the replay of 3.
        let got = delivered(&[("c", "3"), ("x", "3"), ("c", "3"), ("d", "4")]);
        assert_eq!(got, ["c", "x", "d"]);
    }

    #[test]
    fn id_less_events_are_new_even_with_equal_data() {
        let got = delivered(&[("a", "1"), ("x", "1"), ("x", "1"), ("y", "1")]);
        assert_eq!(got, ["a", "x", "x", "y"]);
    }

    #[test]
    fn an_older_replayed_id_still_in_the_dedupe_window_is_dropped() {
        let got = delivered(&[("a", "1"), ("b", "2"), ("a", "1"), ("b", "2"), ("c", "3")]);
        assert_eq!(got, ["a", "b", "c"]);
    }

    #[test]
    fn the_starting_id_counts_as_set_otherwise() {
        // Resumed at 5: a first event inheriting 5 is new, whatever its data.
        let mut ids = EventSourceIds::new("5");
        assert!(!ids.event("message", "x".into(), "5".into()).own_id);
        assert_eq!(ids.event("order.paid", "y".into(), "6".into()).event_type, "order.paid");
    }
}
