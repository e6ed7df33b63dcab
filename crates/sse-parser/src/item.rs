//! What the parser hands out: dispatched [`Event`]s and [`ProtocolError`]s, in stream order,
//! through a [`Sink`].
//!
//! A `Vec<Item>` is the ready-made sink; the wasm layer can implement [`Sink`] itself to build
//! its JS array directly and skip the intermediate vector.
//!
//! ```
//! use edgesaga_sse_parser::{EventRef, Item, ProtocolError, SseParser, Sink};
//!
//! #[derive(Default)]
//! struct Count { events: usize, errors: usize }
//! impl Sink for Count {
//!     fn event(&mut self, _: EventRef<'_>) { self.events += 1 }
//!     fn error(&mut self, _: ProtocolError) { self.errors += 1 }
//! }
//!
//! let mut parser = SseParser::default();
//! let mut count = Count::default();
//! parser.feed(b"data: a\n\ndata: b\n\n", &mut count);
//! assert_eq!((count.events, count.errors), (2, 0));
//!
//! let mut items: Vec<Item> = Vec::new();
//! parser.feed(b"event: ping\ndata\n\n", &mut items);
//! let Item::Event(ev) = &items[0] else { unreachable!() };
//! assert_eq!((&*ev.event_type, ev.data.as_str()), ("ping", ""));
//! ```

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use serde::ser::{Serialize, SerializeStruct, Serializer};

/// One dispatched event. JS sees it as `{ type, data, lastEventId }` (see the `Serialize` impl).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// The `event` field, or `"message"` when the block had none (borrowed: no allocation).
    pub event_type: Cow<'static, str>,
    /// The `data` lines joined with LF, without the final LF.
    pub data: String,
    /// The last event ID string at dispatch time.
    pub last_event_id: Arc<str>,
    /// The event's block had an `id` field of its own; otherwise `last_event_id` is inherited
    /// from an earlier block, and says nothing about this event (it is no duplicate of the one
    /// that set it).
    pub own_id: bool,
}

/// An event as the parser dispatches it, borrowing its buffers: a sink that copies the strings
/// elsewhere (the wasm batch) allocates nothing per event. [`to_owned`](Self::to_owned) makes an
/// [`Event`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventRef<'a> {
    /// The `event` field, or `"message"` when the block had none.
    pub event_type: &'a str,
    /// The `data` lines joined with LF, without the final LF.
    pub data: &'a str,
    /// The last event ID string at dispatch time.
    pub last_event_id: &'a str,
    /// The event's block had an `id` field of its own (see [`Event::own_id`]).
    pub own_id: bool,
}

impl EventRef<'_> {
    /// An owned copy (the type `message` is borrowed, not copied).
    pub fn to_owned(&self) -> Event {
        let event_type = match self.event_type {
            "message" => Cow::Borrowed("message"),
            other => Cow::Owned(other.to_owned()),
        };
        Event {
            event_type,
            data: self.data.to_owned(),
            last_event_id: Arc::from(self.last_event_id),
            own_id: self.own_id,
        }
    }
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Event", 3)?;
        s.serialize_field("type", &*self.event_type)?;
        s.serialize_field("data", &self.data)?;
        s.serialize_field("lastEventId", &*self.last_event_id)?;
        s.end()
    }
}

/// Which limit a hostile or broken stream went over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProtocolErrorKind {
    /// A line (comments excepted) was longer than `max_line_bytes`.
    LineTooLong,
    /// An event's field lines added up to more than `max_event_bytes`.
    EventTooLarge,
}

/// A limit was exceeded: the event in progress was dropped and the parser skipped to the next
/// blank line. Parsing goes on after it, so this is a report, not a dead end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ProtocolError {
    /// The limit that was exceeded.
    pub kind: ProtocolErrorKind,
    /// Its configured value, in bytes.
    pub limit: usize,
}

impl ProtocolError {
    /// The stable JS `Error.name`.
    pub fn error_name(&self) -> &'static str {
        "SseProtocolError"
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            ProtocolErrorKind::LineTooLong => "a line is longer than maxLineBytes",
            ProtocolErrorKind::EventTooLarge => "an event is larger than maxEventBytes",
        };
        write!(f, "{what} ({} bytes): the event was dropped up to the next blank line", self.limit)
    }
}

impl std::error::Error for ProtocolError {}

/// An event or an error, in the order the stream produced them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    /// A dispatched event.
    Event(Event),
    /// A limit was exceeded.
    Error(ProtocolError),
}

/// Receives the parser's output as it is produced.
pub trait Sink {
    /// An event was dispatched.
    fn event(&mut self, event: EventRef<'_>);
    /// A limit was exceeded; the event in progress was dropped.
    fn error(&mut self, error: ProtocolError);
}

impl Sink for Vec<Item> {
    fn event(&mut self, event: EventRef<'_>) {
        self.push(Item::Event(event.to_owned()));
    }

    fn error(&mut self, error: ProtocolError) {
        self.push(Item::Error(error));
    }
}
