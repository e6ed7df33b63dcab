//! Notifications that could not be delivered, kept for inspection (`stream.deadLetters`): never
//! a crash, never silently dropped.
//!
//! The list is bounded by a count (default [`DEFAULT_DEAD_LETTERS`]) and by the bytes of the raw
//! texts and messages it holds (default [`DEFAULT_DEAD_LETTER_BYTES`]; the newest entry is kept
//! even if it alone is larger, so the bound is that plus one event). Past a bound the oldest
//! entry goes and [`DeadLetters::dropped`] counts it, so even an endless run of bad events
//! leaves a trace of how many there were.
//!
//! ```
//! use edgesaga::notify::dead_letter::{DeadLetter, DeadLetterReason, DeadLetters};
//! use edgesaga::notify::notification::{Notification, SchemaOptions};
//!
//! let mut list = DeadLetters::new(1);
//! for raw in ["{", "[]"] {
//!     let rejected = Notification::parse(raw.to_owned(), &SchemaOptions::default()).unwrap_err();
//!     list.push(DeadLetter::Schema { error: rejected.error, raw: rejected.raw, id: None });
//! }
//! let latest = list.latest().unwrap();
//! assert_eq!((latest.reason(), latest.raw()), (DeadLetterReason::Schema, "[]"));
//! assert_eq!(latest.message(), "a notification must be a JSON object");
//! assert_eq!((list.len(), list.dropped()), (1, 1));
//! ```

use std::borrow::Cow;
use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::Arc;

use super::notification::{Notification, NotificationSchemaError};
use super::router::SubscriptionId;

/// Dead letters kept unless configured otherwise.
pub const DEFAULT_DEAD_LETTERS: usize = 100;
/// Bytes of dead letters kept unless configured otherwise.
pub const DEFAULT_DEAD_LETTER_BYTES: usize = 1 << 20;

/// Why a notification ended up here.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeadLetterReason {
    /// It failed validation.
    Schema,
    /// A handler kept failing.
    Handler,
}

/// One undeliverable notification.
#[derive(Clone, Debug, PartialEq)]
pub enum DeadLetter {
    /// It failed validation; no handler saw it.
    Schema {
        /// Why.
        error: NotificationSchemaError,
        /// The SSE `data` as received.
        raw: String,
        /// The event's own SSE id.
        id: Option<Arc<str>>,
    },
    /// A handler failed on every attempt; the other handlers were unaffected.
    Handler {
        /// The notification the handler failed on.
        notification: Rc<Notification>,
        /// The handler's subscription.
        subscription: SubscriptionId,
        /// Attempts made.
        attempts: u32,
        /// The last failure's message.
        message: String,
    },
}

impl DeadLetter {
    /// Why it is here.
    pub fn reason(&self) -> DeadLetterReason {
        match self {
            DeadLetter::Schema { .. } => DeadLetterReason::Schema,
            DeadLetter::Handler { .. } => DeadLetterReason::Handler,
        }
    }

    /// The schema error's message, or the handler's last error message.
    pub fn message(&self) -> Cow<'_, str> {
        match self {
            DeadLetter::Schema { error, .. } => Cow::Owned(error.to_string()),
            DeadLetter::Handler { message, .. } => Cow::Borrowed(message),
        }
    }

    /// The SSE `data` as received.
    pub fn raw(&self) -> &str {
        match self {
            DeadLetter::Schema { raw, .. } => raw,
            DeadLetter::Handler { notification, .. } => notification.raw(),
        }
    }

    /// The event's own SSE id.
    pub fn id(&self) -> Option<&str> {
        match self {
            DeadLetter::Schema { id, .. } => id.as_deref(),
            DeadLetter::Handler { notification, .. } => notification.id(),
        }
    }

    /// The notification, when it passed validation.
    pub fn notification(&self) -> Option<&Rc<Notification>> {
        match self {
            DeadLetter::Schema { .. } => None,
            DeadLetter::Handler { notification, .. } => Some(notification),
        }
    }

    /// The bytes it holds, as counted against the list's byte bound.
    pub fn size(&self) -> usize {
        match self {
            DeadLetter::Schema { raw, .. } => raw.len(),
            DeadLetter::Handler { notification, message, .. } => notification.raw().len() + message.len(),
        }
    }

    /// The schema error, for [`DeadLetterReason::Schema`].
    pub fn schema_error(&self) -> Option<&NotificationSchemaError> {
        match self {
            DeadLetter::Schema { error, .. } => Some(error),
            DeadLetter::Handler { .. } => None,
        }
    }
}

/// The bounded list, oldest first.
#[derive(Clone, Debug, Default)]
pub struct DeadLetters {
    items: VecDeque<DeadLetter>,
    capacity: usize,
    max_bytes: usize,
    bytes: usize,
    dropped: u64,
}

impl DeadLetters {
    /// A list keeping at most `capacity` entries (0 keeps none and only counts) and
    /// [`DEFAULT_DEAD_LETTER_BYTES`].
    pub fn new(capacity: usize) -> Self {
        DeadLetters::with_max_bytes(capacity, DEFAULT_DEAD_LETTER_BYTES)
    }

    /// A list bounded by `capacity` entries and `max_bytes` (the newest entry excepted).
    pub fn with_max_bytes(capacity: usize, max_bytes: usize) -> Self {
        DeadLetters { items: VecDeque::new(), capacity, max_bytes, bytes: 0, dropped: 0 }
    }

    /// Appends one, dropping the oldest while over a bound.
    pub fn push(&mut self, letter: DeadLetter) {
        if self.capacity == 0 {
            self.dropped += 1;
            return;
        }
        self.bytes += letter.size();
        self.items.push_back(letter);
        while self.items.len() > self.capacity || (self.bytes > self.max_bytes && self.items.len() > 1) {
            if let Some(old) = self.items.pop_front() {
                self.bytes -= old.size();
                self.dropped += 1;
            }
        }
    }

    /// Bytes held, as counted against the byte bound.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The most recent one.
    pub fn latest(&self) -> Option<&DeadLetter> {
        self.items.back()
    }

    /// Oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &DeadLetter> + ExactSizeIterator {
        self.items.iter()
    }

    /// Entries kept.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether none is kept.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Entries pushed out (or never kept) because the list was full.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Removes and returns every entry kept (the dropped count stays).
    pub fn drain(&mut self) -> impl Iterator<Item = DeadLetter> + '_ {
        self.bytes = 0;
        self.items.drain(..)
    }
}
