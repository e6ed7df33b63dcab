//! [`Batch`]: the events and errors of one chunk, encoded so that a host on the other side of
//! an FFI boundary reads them all at once — edgesaga's JS glue (`src/js/sse_glue.js`) decodes
//! the text with one `TextDecoder` call and slices it into event objects.
//!
//! `text` holds the strings sent, in order, as UTF-8. `meta` holds, per event, a head word of
//! flags, then the byte lengths of the type (when sent as text), of the new id ([`NEW_ID`])
//! and of the data; per error `ERROR | kind << 1`, then the limit. The type is `message` (no
//! flag), an index into the table of types the host holds ([`TYPE_KNOWN`], index in bits 8
//! and up), or sent as text and then added to that table ([`TYPE_NEW`]) or not
//! ([`TYPE_ONCE`], once the table is full). The last event ID is sent only when it changes.
//!
//! ```
//! use edgesaga_sse_parser::batch::{Batch, NEW_ID, TYPE_NEW};
//! use edgesaga_sse_parser::SseParser;
//!
//! let mut batch = Batch::new();
//! SseParser::default().feed_batch(b"id: 7\nevent: add\ndata: x\n\n", &mut batch);
//! assert_eq!(batch.text(), b"add7x");
//! assert_eq!(batch.meta(), [TYPE_NEW | NEW_ID, 3, 1, 1]);
//! ```

use super::item::{EventRef, ProtocolError, ProtocolErrorKind, Sink};

/// Head word of an error entry (its kind in bit 1, then a word with the limit).
pub const ERROR: u32 = 1;
/// The event has a new last event ID, sent as text.
pub const NEW_ID: u32 = 2;
/// The event's type is in the host's table, at index `head >> 8`.
pub const TYPE_KNOWN: u32 = 4;
/// The event's type is sent as text; the host adds it to its table.
pub const TYPE_NEW: u32 = 8;
/// The event's type is sent as text; the table is full, the host does not keep it.
pub const TYPE_ONCE: u32 = 12;

/// Most streams use a handful of event types; a hostile one cannot grow the table past this.
const TYPES_MAX: usize = 64;

/// Buffers above this are released once read rather than kept for the next chunk.
pub const RELEASE_ABOVE_BYTES: usize = 1 << 20;

/// One chunk's events and errors, encoded (see the [module docs](self)).
#[derive(Debug)]
pub struct Batch {
    text: Vec<u8>,
    meta: Vec<u32>,
    /// The custom event types the host holds, by index.
    types: Vec<Box<str>>,
    /// The last event ID the host holds.
    sent_id: String,
    errors: u64,
}

impl Default for Batch {
    fn default() -> Self {
        Batch::new()
    }
}

impl Batch {
    /// An empty batch; the host holds no type and the empty last event ID.
    pub fn new() -> Self {
        Batch { text: Vec::new(), meta: Vec::new(), types: Vec::new(), sent_id: String::new(), errors: 0 }
    }

    /// The strings, as UTF-8.
    pub fn text(&self) -> &[u8] {
        &self.text
    }

    /// The flags and lengths.
    pub fn meta(&self) -> &[u32] {
        &self.meta
    }

    /// Protocol errors encoded since this batch was created (not reset by [`clear`](Self::clear)).
    pub fn errors(&self) -> u64 {
        self.errors
    }

    /// Empties the batch once the host has read it; the type table and the id it holds stay.
    pub fn clear(&mut self) {
        if self.text.capacity() > RELEASE_ABOVE_BYTES {
            self.text = Vec::new();
        }
        self.text.clear();
        self.meta.clear();
    }

    /// Appends `s` to the text and its byte length to `meta`.
    #[inline]
    fn push_text(&mut self, s: &str) {
        self.text.extend_from_slice(s.as_bytes());
        self.meta.push(s.len() as u32);
    }
}

impl Sink for Batch {
    fn event(&mut self, event: EventRef<'_>) {
        let head = self.meta.len();
        self.meta.push(0);
        let mut flags = 0;
        if event.event_type != "message" {
            if let Some(i) = self.types.iter().position(|t| **t == *event.event_type) {
                flags = TYPE_KNOWN | (i as u32) << 8;
            } else {
                self.push_text(event.event_type);
                flags = TYPE_ONCE;
                if self.types.len() < TYPES_MAX {
                    flags = TYPE_NEW;
                    self.types.push(event.event_type.into());
                }
            }
        }
        let id = event.last_event_id;
        if id != self.sent_id {
            flags |= NEW_ID;
            self.push_text(id);
            id.clone_into(&mut self.sent_id);
        }
        self.push_text(event.data);
        self.meta[head] = flags;
    }

    fn error(&mut self, error: ProtocolError) {
        self.errors += 1;
        let kind = match error.kind {
            ProtocolErrorKind::LineTooLong => 0,
            ProtocolErrorKind::EventTooLarge => 1,
        };
        self.meta.push(ERROR | kind << 1);
        self.meta.push(u32::try_from(error.limit).unwrap_or(u32::MAX));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Limits, SseParser};

    #[test]
    fn types_are_sent_once_then_by_index_and_ids_only_when_they_change() {
        let mut batch = Batch::new();
        let mut parser = SseParser::default();
        parser.feed_batch(b"id: 1\nevent: a\ndata: x\n\nevent: a\ndata: y\n\nid: 1\ndata: z\n\n", &mut batch);
        assert_eq!(batch.text(), b"a1xyz");
        assert_eq!(batch.meta(), [TYPE_NEW | NEW_ID, 1, 1, 1, TYPE_KNOWN, 1, 0, 1]);
        batch.clear();
        parser.feed_batch(b"event: a\nid: 2\ndata: w\n\n", &mut batch);
        assert_eq!((batch.text(), batch.meta()), (&b"2w"[..], &[TYPE_KNOWN | NEW_ID, 1, 1][..]));
    }

    #[test]
    fn a_full_type_table_sends_new_types_each_time() {
        let mut batch = Batch::new();
        let mut parser = SseParser::default();
        for i in 0..=TYPES_MAX {
            parser.feed_batch(format!("event: t{i}\ndata: x\n\n").as_bytes(), &mut batch);
        }
        let last = &batch.meta()[batch.meta().len() - 3..];
        assert_eq!(last, [TYPE_ONCE, 3, 1]);
    }

    #[test]
    fn errors_carry_their_kind_and_limit() {
        let mut batch = Batch::new();
        let mut parser = SseParser::new(Limits { max_line_bytes: 8, max_event_bytes: 100 });
        parser.feed_batch(b"data: too long\n\ndata: ok\n\n", &mut batch);
        assert_eq!(batch.meta(), [ERROR, 8, 0, 2]);
        assert_eq!((batch.text(), batch.errors()), (&b"ok"[..], 1));
    }
}
