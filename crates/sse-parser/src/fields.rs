//! Interpreting complete lines: the field rules of WHATWG HTML § 9.2.6 "Interpreting an event
//! stream", and the dispatch of an event on a blank line.
//!
//! Lines reach this module whole (the framing layer has already split them and stripped the
//! terminator), so UTF-8 is decoded per complete value and a character split across network
//! chunks decodes correctly.
//!
//! ```
//! use edgesaga_sse_parser::{Item, SseParser};
//!
//! let mut parser = SseParser::default();
//! let mut items = Vec::new();
//! // `id` on its own still commits the last event ID when its block ends.
//! parser.feed(b"id: 7\n\nretry: 3000\nevent: add\ndata:  two spaces\ndata\n\n", &mut items);
//! assert_eq!(parser.last_event_id(), "7");
//! assert_eq!(parser.retry(), Some(3000));
//! let [Item::Event(ev)] = &items[..] else { panic!("one event expected") };
//! assert_eq!((&*ev.event_type, ev.data.as_str(), &*ev.last_event_id), ("add", " two spaces\n", "7"));
//! ```

use std::borrow::Cow;

use memchr::memchr;

use super::item::{EventRef, ProtocolErrorKind, Sink};
use super::{reserve_bounded, Limits};

/// Buffer capacity kept between events; a larger one (a rare big event) is released.
const KEEP_BYTES: usize = 64 * 1024;

/// The spec's data, event type and last event ID buffers, plus what dispatch has committed.
#[derive(Debug)]
pub(super) struct EventBuilder {
    /// Raw bytes, decoded once at dispatch: LF separators cannot end a UTF-8 sequence early in
    /// a different way than line-by-line decoding would, so the result is identical.
    data: Vec<u8>,
    event_type: Vec<u8>,
    /// The block's id: `last_event_id` until an `id` field sets it (`own_id`). Both buffers
    /// keep their capacity, so a stream of changing ids does not allocate per event.
    id: String,
    own_id: bool,
    last_event_id: String,
    retry: Option<u64>,
    /// Wire bytes of the block's field lines, the quantity `max_event_bytes` bounds.
    event_bytes: usize,
}

impl EventBuilder {
    pub(super) fn new() -> Self {
        EventBuilder {
            data: Vec::new(),
            event_type: Vec::new(),
            id: String::new(),
            own_id: false,
            last_event_id: String::new(),
            retry: None,
            event_bytes: 0,
        }
    }

    pub(super) fn last_event_id(&self) -> &str {
        &self.last_event_id
    }

    pub(super) fn set_last_event_id(&mut self, id: &str) {
        set_exact(&mut self.last_event_id, id);
        set_exact(&mut self.id, id);
        self.own_id = false;
    }

    pub(super) fn retry(&self) -> Option<u64> {
        self.retry
    }

    pub(super) fn buffered_bytes(&self) -> usize {
        self.data.capacity() + self.event_type.capacity() + self.id.capacity() + self.last_event_id.capacity()
    }

    /// Forgets the block in progress. Its `id` is reverted too, so a dropped event can never be
    /// acknowledged through `Last-Event-ID`; a `retry` already seen stays applied, as the spec
    /// applies it when the field is read.
    pub(super) fn drop_event(&mut self) {
        // Release rather than clear: a hostile event may have grown these to the limit.
        self.data = Vec::new();
        self.event_type = Vec::new();
        self.id = self.last_event_id.clone();
        self.own_id = false;
        self.event_bytes = 0;
    }

    /// Interprets one complete line (terminator excluded).
    #[inline]
    pub(super) fn line<S: Sink + ?Sized>(
        &mut self,
        line: &[u8],
        limits: &Limits,
        sink: &mut S,
    ) -> Result<(), ProtocolErrorKind> {
        let Some(&first) = line.first() else {
            self.dispatch(sink);
            return Ok(());
        };
        if first == b':' {
            return Ok(());
        }
        self.event_bytes = self.event_bytes.saturating_add(line.len());
        if self.event_bytes > limits.max_event_bytes {
            return Err(ProtocolErrorKind::EventTooLarge);
        }
        let (name, value) = match memchr(b':', line) {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &[][..]),
        };
        match name {
            b"data" => {
                // Bounded so the capacity, not just the length, respects `max_event_bytes`.
                reserve_bounded(&mut self.data, value.len() + 1, limits.max_event_bytes);
                self.data.extend_from_slice(value);
                self.data.push(b'\n');
            }
            b"event" => {
                self.event_type.clear();
                reserve_bounded(&mut self.event_type, value.len(), limits.max_line_bytes);
                self.event_type.extend_from_slice(value);
            }
            // An id containing NUL is ignored entirely, by the spec's rule.
            b"id" if memchr(0, value).is_none() => {
                set_exact(&mut self.id, &lossy(value));
                self.own_id = true;
            }
            b"retry" => {
                if let Some(ms) = parse_retry(value) {
                    self.retry = Some(ms);
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn dispatch<S: Sink + ?Sized>(&mut self, sink: &mut S) {
        // The spec commits the last event ID before the empty-data check, so an id-only block
        // updates `lastEventId` (and the next `Last-Event-ID`) without firing an event.
        let own_id = std::mem::take(&mut self.own_id);
        if own_id {
            set_exact(&mut self.last_event_id, &self.id);
        }
        self.event_bytes = 0;
        if !self.data.is_empty() {
            let data = &self.data[..self.data.len() - 1];
            let event_type = match &self.event_type[..] {
                b"" => Cow::Borrowed("message"),
                other => lossy(other),
            };
            let last_event_id = &self.last_event_id;
            sink.event(EventRef { event_type: &event_type, data: &lossy(data), last_event_id, own_id });
        }
        // The buffers are reused for the next event, unless a large one grew them.
        for buf in [&mut self.data, &mut self.event_type] {
            buf.clear();
            if buf.capacity() > KEEP_BYTES {
                *buf = Vec::new();
            }
        }
    }
}

/// Puts `value` in `buf`, reusing its capacity but never growing it past `value` (amortised
/// doubling would let an id buffer reach twice the longest id, over the documented bound), and
/// releasing a large one once a short id follows.
fn set_exact(buf: &mut String, value: &str) {
    if buf.capacity() > KEEP_BYTES && value.len() <= KEEP_BYTES {
        *buf = String::from(value);
    } else {
        buf.clear();
        buf.reserve_exact(value.len());
        buf.push_str(value);
    }
}

/// `String::from_utf8_lossy`, but valid text (the usual case) goes through `from_utf8`, whose
/// word-at-a-time ASCII scan is several times faster than the lossy byte loop.
fn lossy(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// ASCII digits only, at least one; a value too large for `u64` saturates to `u64::MAX`
/// (it is a delay in milliseconds, so "practically forever" is the faithful reading).
fn parse_retry(value: &[u8]) -> Option<u64> {
    if value.is_empty() {
        return None;
    }
    let mut ms: u64 = 0;
    for &b in value {
        if !b.is_ascii_digit() {
            return None;
        }
        ms = ms.saturating_mul(10).saturating_add(u64::from(b - b'0'));
    }
    Some(ms)
}
