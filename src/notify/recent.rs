//! The notifications of the last few seconds, so that `waitFor` started just after the awaited
//! notification arrived still resolves (a transaction step that charges a card and then waits
//! for `payment.processed` loses that race often).
//!
//! Bounded by age (default [`DEFAULT_RECENT_WINDOW_MS`]), by count (default
//! [`DEFAULT_RECENT_CAPACITY`]) and by the bytes of raw text held (default
//! [`DEFAULT_RECENT_MAX_BYTES`]; the newest notification is kept even if it alone is larger).
//! [`RecentBuffer::find`] returns the *oldest* match in the window: exactly what a wait begun
//! at the window's start would have received.
//!
//! ```
//! use std::rc::Rc;
//! use edgesaga::notify::notification::{Notification, SchemaOptions};
//! use edgesaga::notify::pattern::Route;
//! use edgesaga::notify::recent::RecentBuffer;
//!
//! let parse = |raw: &str| Rc::new(Notification::parse(raw.to_owned(), &SchemaOptions::default()).unwrap());
//! let mut recent = RecentBuffer::new(5_000, 16);
//! recent.push(1_000.0, parse(r#"{"type":"payment.processed","entityId":"o-1"}"#));
//! let route = Route::new("payment.processed").unwrap().entity("o-1");
//! assert!(recent.find(4_000.0, &route, |_| true).is_some());
//! assert!(recent.find(7_000.0, &route, |_| true).is_none()); // older than 5 s
//! ```

use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::Arc;

use super::notification::{Notification, SchemaOptions};
use super::pattern::Route;
use crate::json::{write_string, Json};

/// How far back a wait looks, unless configured otherwise.
pub const DEFAULT_RECENT_WINDOW_MS: u64 = 5_000;
/// How many notifications are kept at most, unless configured otherwise.
pub const DEFAULT_RECENT_CAPACITY: usize = 256;
/// Bytes of raw text kept at most, unless configured otherwise.
pub const DEFAULT_RECENT_MAX_BYTES: usize = 1 << 20;
/// At most this many notifications go into [`RecentBuffer::to_text`] (the newest)...
pub const SAVED_MAX: usize = 32;
/// ...and at most this many bytes of their raw text (the newest one always).
pub const SAVED_MAX_BYTES: usize = 64 << 10;

/// The buffer, oldest first. See the [module docs](self).
#[derive(Clone, Debug)]
pub struct RecentBuffer {
    window_ms: u64,
    capacity: usize,
    max_bytes: usize,
    bytes: usize,
    items: VecDeque<(f64, Rc<Notification>)>,
}

impl Default for RecentBuffer {
    fn default() -> Self {
        RecentBuffer::new(DEFAULT_RECENT_WINDOW_MS, DEFAULT_RECENT_CAPACITY)
    }
}

impl RecentBuffer {
    /// Keeps notifications for `window_ms`, at most `capacity` of them (either 0 disables it),
    /// within [`DEFAULT_RECENT_MAX_BYTES`].
    pub fn new(window_ms: u64, capacity: usize) -> Self {
        RecentBuffer::with_max_bytes(window_ms, capacity, DEFAULT_RECENT_MAX_BYTES)
    }

    /// Also bounded by `max_bytes` of raw text (the newest notification excepted).
    pub fn with_max_bytes(window_ms: u64, capacity: usize, max_bytes: usize) -> Self {
        RecentBuffer { window_ms, capacity, max_bytes, bytes: 0, items: VecDeque::new() }
    }

    /// Records a notification that arrived at `now_ms`.
    pub fn push(&mut self, now_ms: f64, notification: Rc<Notification>) {
        self.prune(now_ms);
        if self.capacity == 0 || self.window_ms == 0 {
            return;
        }
        self.bytes += notification.raw().len();
        self.items.push_back((now_ms, notification));
        while self.items.len() > self.capacity || (self.bytes > self.max_bytes && self.items.len() > 1) {
            self.pop_front();
        }
    }

    /// Forgets what is older than the window. Arrival times only grow, so the old ones are at
    /// the front; a clock that went backwards keeps entries a little longer, never panics.
    pub fn prune(&mut self, now_ms: f64) {
        while self.items.front().is_some_and(|(at, _)| now_ms - at > self.window_ms as f64) {
            self.pop_front();
        }
    }

    fn pop_front(&mut self) {
        if let Some((_, old)) = self.items.pop_front() {
            self.bytes -= old.raw().len();
        }
    }

    /// Notifications still within the window at `now_ms`, oldest first.
    pub fn iter(&self, now_ms: f64) -> impl Iterator<Item = &Rc<Notification>> + '_ {
        let window = self.window_ms as f64;
        self.items.iter().filter(move |(at, _)| now_ms - at <= window).map(|(_, n)| n)
    }

    /// The oldest notification within the window that matches `route` and `predicate`.
    pub fn find(
        &self,
        now_ms: f64,
        route: &Route,
        mut predicate: impl FnMut(&Notification) -> bool,
    ) -> Option<&Rc<Notification>> {
        self.iter(now_ms).find(|n| route.matches(n) && predicate(n))
    }

    /// Notifications held (expired ones included until the next push or prune).
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Forgets everything.
    pub fn clear(&mut self) {
        self.bytes = 0;
        self.items.clear();
    }

    /// The newest notifications still within the window at `now_ms` (at most [`SAVED_MAX`] and
    /// [`SAVED_MAX_BYTES`]) as text a store can keep across a page reload: a JSON array of
    /// `[arrivedAtMs, id or null, lastEventId, raw]`, oldest first.
    pub fn to_text(&self, now_ms: f64) -> String {
        let window = self.window_ms as f64;
        let (mut count, mut bytes) = (0, 0);
        let newest = self.items.iter().rev().take_while(|(at, n)| {
            bytes += n.raw().len();
            count += 1;
            now_ms - at <= window && count <= SAVED_MAX && (count == 1 || bytes <= SAVED_MAX_BYTES)
        });
        let kept: Vec<&(f64, Rc<Notification>)> = newest.collect();
        let mut out = String::from("[");
        for (i, (at, n)) in kept.into_iter().rev().enumerate() {
            out.push_str(if i == 0 { "[" } else { ",[" });
            // Arrival times are whole milliseconds (`Date.now()`): no float formatting needed.
            out.push_str(&(at.max(0.0) as u64).to_string());
            out.push(',');
            match n.id() {
                Some(id) => write_string(id, &mut out),
                None => out.push_str("null"),
            }
            out.push(',');
            write_string(n.last_event_id(), &mut out);
            out.push(',');
            write_string(n.raw(), &mut out);
            out.push(']');
        }
        out.push(']');
        out
    }

    /// Puts back what [`to_text`](Self::to_text) wrote (call it before anything newer
    /// arrives). Entries older than the window at `now_ms`, malformed ones and notifications the
    /// schema no longer accepts are skipped; text that is not such an array restores nothing.
    /// Returns how many were restored.
    pub fn restore(&mut self, text: &str, now_ms: f64, schema: &SchemaOptions) -> usize {
        let Ok(Json::Array(entries)) = Json::parse(text, 4) else { return 0 };
        let mut restored = 0;
        for entry in entries {
            let Json::Array(fields) = entry else { continue };
            let [Json::Number(at), id, Json::String(last), Json::String(raw)] = &fields[..] else { continue };
            let at = at.value();
            let age = now_ms - at;
            if age.is_nan() || age < 0.0 || age > self.window_ms as f64 {
                continue;
            }
            let id = match id {
                Json::String(id) if !id.is_empty() => Some(Arc::from(id.as_str())),
                _ => None,
            };
            let Ok(notification) = Notification::parse(raw.clone(), schema) else { continue };
            self.push(at, Rc::new(notification.with_sse_ids(id, Arc::from(last.as_str()))));
            restored += 1;
        }
        restored
    }
}
