//! A sans-IO, incremental Server-Sent Events parser that follows WHATWG HTML § 9.2.5–9.2.6
//! ("Parsing" and "Interpreting an event stream") to the letter.
//!
//! Feed it bytes exactly as they arrive; any chunking yields the same events. It never waits
//! for more input than the spec needs (a CR at the end of a chunk ends its line at once), it
//! does work linear in the input, and its memory is bounded by [`Limits`] whatever the server
//! sends.
//!
//! ```
//! use edgesaga_sse_parser::{Item, SseParser};
//!
//! let mut parser = SseParser::default();
//! let mut items = Vec::new();
//! for chunk in [&b"\xEF\xBB"[..], b"\xBFid: 1\ndata: caf\xC3", b"\xA9\r", b"\n\r\n"] {
//!     parser.feed(chunk, &mut items);
//! }
//! parser.end(&mut items);
//! let [Item::Event(ev)] = &items[..] else { panic!("one event expected") };
//! assert_eq!((&*ev.event_type, ev.data.as_str(), &*ev.last_event_id), ("message", "café", "1"));
//! assert_eq!(parser.last_event_id(), "1");
//! ```

pub mod batch;
mod fields;
mod item;

pub use item::{Event, EventRef, Item, ProtocolError, ProtocolErrorKind, Sink};

use std::mem;

use memchr::memchr2;
use serde::Deserialize;

use fields::EventBuilder;

const BOM: &[u8; 3] = b"\xEF\xBB\xBF";

/// Bounds against a hostile or broken server. Exceeding one drops the event in progress,
/// reports a [`ProtocolError`], and skips to the next blank line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Limits {
    /// Longest line, terminator excluded (default 1 MiB). Comment lines are exempt: they are
    /// skipped without being buffered.
    pub max_line_bytes: usize,
    /// Largest event, counted as the bytes of its field lines (names, colons, values; not
    /// comments or line terminators) between two blank lines (default 4 MiB).
    pub max_event_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_line_bytes: 1 << 20, max_event_bytes: 4 << 20 }
    }
}

/// What the framing layer does with bytes it will not parse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Skip {
    Nothing,
    /// A comment that did not fit in its chunk: its text is never needed, so never buffered.
    CommentLine,
    /// After a limit was exceeded, everything up to and including the next blank line.
    Block {
        line_has_bytes: bool,
    },
}

/// The incremental parser. See the [module docs](self) for an example.
#[derive(Debug)]
pub struct SseParser {
    limits: Limits,
    /// Only the unterminated tail of the current line: bytes already searched for CR/LF are
    /// never searched again.
    line: Vec<u8>,
    fields: EventBuilder,
    /// BOM bytes matched so far at the stream's start; 3 once the check is over.
    bom_checked: u8,
    /// The last line ended with a CR at a chunk's end: an LF opening the next chunk is its pair.
    skip_lf: bool,
    skip: Skip,
}

impl Default for SseParser {
    fn default() -> Self {
        SseParser::new(Limits::default())
    }
}

impl SseParser {
    /// A parser at the start of a stream.
    pub fn new(limits: Limits) -> Self {
        SseParser {
            limits,
            line: Vec::new(),
            fields: EventBuilder::new(),
            bom_checked: 0,
            skip_lf: false,
            skip: Skip::Nothing,
        }
    }

    /// The limits this parser enforces.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The last event ID string, committed when a blank line ends a block (with or without data).
    pub fn last_event_id(&self) -> &str {
        self.fields.last_event_id()
    }

    /// Restores a last event ID from a previous connection, so that events without an `id`
    /// field carry it, as a browser's `EventSource` does across reconnections.
    pub fn set_last_event_id(&mut self, id: &str) {
        self.fields.set_last_event_id(id);
    }

    /// The last valid `retry` value in milliseconds (saturated at `u64::MAX`), if any.
    pub fn retry(&self) -> Option<u64> {
        self.fields.retry()
    }

    /// Bytes held by the parser's buffers (capacity, not length). Never more than
    /// `max_event_bytes + 8 * max_line_bytes`, whatever the input: the line, the event type
    /// and the data stay within their limits, and the pending and committed ids can each
    /// triple when invalid bytes decode to U+FFFD. Ordinary streams hold far less.
    pub fn buffered_bytes(&self) -> usize {
        self.line.capacity() + self.fields.buffered_bytes()
    }

    /// Parses the next chunk of the stream, handing events and errors to `sink` in order.
    pub fn feed(&mut self, chunk: &[u8], sink: &mut dyn Sink) {
        self.parse(chunk, sink);
    }

    /// [`feed`](Self::feed) into a [`Batch`](batch::Batch), without dynamic calls: the fast path
    /// of edgesaga's JS `SseParser`.
    pub fn feed_batch(&mut self, chunk: &[u8], batch: &mut batch::Batch) {
        self.parse(chunk, batch);
    }

    // The public entry points are not generic, so this is compiled here, at this crate's
    // optimisation level (see edgesaga's `Cargo.toml`), not at the caller's.
    fn parse<S: Sink + ?Sized>(&mut self, chunk: &[u8], sink: &mut S) {
        let chunk = if self.bom_checked < 3 { self.strip_bom(chunk, sink) } else { chunk };
        self.run(chunk, sink);
    }

    /// Ends the stream. The spec discards an event that no blank line completed, and a blank
    /// line ended by a final CR was already dispatched by [`feed`](Self::feed) (a CR ends its
    /// line at once), so nothing is left for `sink`; it stays in the signature because the JS
    /// `end()` returns an array. The parser is then ready for a new stream (BOM check included)
    /// and keeps [`last_event_id`](Self::last_event_id) and [`retry`](Self::retry), like an
    /// `EventSource` reconnecting.
    pub fn end(&mut self, _sink: &mut dyn Sink) {
        self.fields.drop_event();
        self.line = Vec::new();
        self.bom_checked = 0;
        self.skip_lf = false;
        self.skip = Skip::Nothing;
    }

    /// Consumes the BOM bytes of this chunk; a BOM split over several chunks is held back as a
    /// count until it is known to be one.
    #[cold]
    fn strip_bom<'a, S: Sink + ?Sized>(&mut self, chunk: &'a [u8], sink: &mut S) -> &'a [u8] {
        let held = usize::from(self.bom_checked);
        let mut i = 0;
        while held + i < BOM.len() {
            match chunk.get(i) {
                None => {
                    // `held + i < 3` here, so the cast cannot truncate.
                    self.bom_checked = (held + i) as u8;
                    return &[];
                }
                Some(&b) if b == BOM[held + i] => i += 1,
                Some(_) => {
                    // Not a BOM: the bytes held from earlier chunks are ordinary text.
                    self.bom_checked = 3;
                    self.run(&BOM[..held], sink);
                    return chunk;
                }
            }
        }
        self.bom_checked = 3;
        &chunk[i..]
    }

    fn run<S: Sink + ?Sized>(&mut self, mut rest: &[u8], sink: &mut S) {
        let Some(&first) = rest.first() else { return };
        if self.skip_lf {
            self.skip_lf = false;
            if first == b'\n' {
                rest = &rest[1..];
            }
        }
        while !rest.is_empty() {
            if self.skip != Skip::Nothing {
                rest = self.skip_bytes(rest);
                continue;
            }
            let Some(pos) = memchr2(b'\n', b'\r', rest) else {
                self.hold_tail(rest, sink);
                return;
            };
            let next = self.terminator_end(rest, pos);
            if self.line.is_empty() {
                // Fast path: the whole line is inside the chunk, parse it in place. Comments are
                // exempt from the line limit, as in `hold_tail`, whatever the chunking.
                if pos > self.limits.max_line_bytes && rest[0] != b':' {
                    self.fail(ProtocolErrorKind::LineTooLong, sink);
                } else if let Err(kind) = self.fields.line(&rest[..pos], &self.limits, sink) {
                    self.fail(kind, sink);
                }
            } else if self.line.len() + pos > self.limits.max_line_bytes {
                self.fail(ProtocolErrorKind::LineTooLong, sink);
            } else {
                reserve_bounded(&mut self.line, pos, self.limits.max_line_bytes);
                self.line.extend_from_slice(&rest[..pos]);
                let line = mem::take(&mut self.line);
                let result = self.fields.line(&line, &self.limits, sink);
                self.line = line;
                self.line.clear();
                if let Err(kind) = result {
                    self.fail(kind, sink);
                }
            }
            rest = &rest[next..];
        }
    }

    /// Keeps the unterminated end of a chunk for the next one.
    fn hold_tail<S: Sink + ?Sized>(&mut self, tail: &[u8], sink: &mut S) {
        if self.line.is_empty() && tail[0] == b':' {
            self.skip = Skip::CommentLine;
        } else if self.line.len() + tail.len() > self.limits.max_line_bytes {
            self.fail(ProtocolErrorKind::LineTooLong, sink);
            self.skip = Skip::Block { line_has_bytes: true };
        } else {
            reserve_bounded(&mut self.line, tail.len(), self.limits.max_line_bytes);
            self.line.extend_from_slice(tail);
        }
    }

    /// Drops the event in progress and skips to the next blank line. Callers that are in the
    /// middle of a line mark it as non-blank themselves.
    fn fail<S: Sink + ?Sized>(&mut self, kind: ProtocolErrorKind, sink: &mut S) {
        let limit = match kind {
            ProtocolErrorKind::LineTooLong => self.limits.max_line_bytes,
            ProtocolErrorKind::EventTooLarge => self.limits.max_event_bytes,
        };
        sink.error(ProtocolError { kind, limit });
        self.fields.drop_event();
        self.line = Vec::new();
        self.skip = Skip::Block { line_has_bytes: false };
    }

    /// Discards input without buffering it; returns what is left to parse.
    fn skip_bytes<'a>(&mut self, rest: &'a [u8]) -> &'a [u8] {
        let Some(pos) = memchr2(b'\n', b'\r', rest) else {
            if let Skip::Block { line_has_bytes } = &mut self.skip {
                *line_has_bytes = true;
            }
            return &[];
        };
        let next = self.terminator_end(rest, pos);
        self.skip = match self.skip {
            Skip::Block { line_has_bytes } if pos > 0 || line_has_bytes => Skip::Block { line_has_bytes: false },
            _ => Skip::Nothing,
        };
        &rest[next..]
    }

    /// Where the line ending at `pos` (a CR or LF) stops, CRLF counting as one terminator.
    #[inline]
    fn terminator_end(&mut self, rest: &[u8], pos: usize) -> usize {
        if rest[pos] == b'\r' {
            match rest.get(pos + 1) {
                Some(b'\n') => return pos + 2,
                None => self.skip_lf = true,
                Some(_) => {}
            }
        }
        pos + 1
    }
}

/// Makes room for `extra` more bytes while keeping the capacity within `ceiling` (the caller
/// has checked that the new length fits), so amortised doubling cannot overshoot a limit.
#[inline]
fn reserve_bounded(buf: &mut Vec<u8>, extra: usize, ceiling: usize) {
    let needed = buf.len() + extra;
    if needed > buf.capacity() {
        let target = buf.capacity().saturating_mul(2).min(ceiling).max(needed);
        buf.reserve_exact(target - buf.len());
    }
}
