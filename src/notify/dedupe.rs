//! Exactly-once out of at-least-once: a bounded window of recently seen SSE ids.
//!
//! A server that replays after a reconnect (from `Last-Event-ID`, or a little earlier to be
//! safe) sends some ids twice; the second copy is dropped here. Lookup and insertion are O(1);
//! when the window is full the oldest id is forgotten first. Memory is bounded twice: by a
//! count (default [`DEFAULT_WINDOW`]) and by the bytes the ids hold (default
//! [`DEFAULT_MAX_BYTES`]), since a hostile server may send ids as long as its line limit.
//!
//! An event without an id cannot be recognised again, so it is always delivered; so is an id
//! longer than the whole byte budget (it is not remembered). Ids are shared `Arc<str>`s taken
//! from the parser's events, so remembering one copies no text.
//!
//! ```
//! use std::sync::Arc;
//! use edgesaga::notify::dedupe::DedupeWindow;
//!
//! let mut window = DedupeWindow::new(2);
//! let [a, b, c]: [Arc<str>; 3] = ["a".into(), "b".into(), "c".into()];
//! assert!(window.insert(&a));
//! assert!(!window.insert(&a)); // duplicate
//! assert!(window.insert(&b) && window.insert(&c)); // "a" evicted
//! assert!(window.insert(&a)); // so it is new again
//! ```

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

/// Ids remembered unless configured otherwise.
pub const DEFAULT_WINDOW: usize = 1000;
/// Bytes of ids remembered unless configured otherwise.
pub const DEFAULT_MAX_BYTES: usize = 256 << 10;

/// The window. See the [module docs](self).
#[derive(Clone, Debug)]
pub struct DedupeWindow {
    capacity: usize,
    max_bytes: usize,
    bytes: usize,
    /// Oldest first, for eviction.
    order: VecDeque<Arc<str>>,
    /// On wasm32 std seeds the hasher from addresses, not entropy; should a hostile server find
    /// colliding ids, the count bound still caps a lookup at a scan of the window.
    seen: HashSet<Arc<str>>,
}

impl Default for DedupeWindow {
    fn default() -> Self {
        DedupeWindow::new(DEFAULT_WINDOW)
    }
}

impl DedupeWindow {
    /// A window of `capacity` ids (0 disables deduplication) and [`DEFAULT_MAX_BYTES`].
    pub fn new(capacity: usize) -> Self {
        DedupeWindow::with_max_bytes(capacity, DEFAULT_MAX_BYTES)
    }

    /// A window bounded by both `capacity` ids and `max_bytes` of id text.
    pub fn with_max_bytes(capacity: usize, max_bytes: usize) -> Self {
        DedupeWindow {
            capacity,
            max_bytes,
            bytes: 0,
            order: VecDeque::with_capacity(capacity.min(1024)),
            seen: HashSet::with_capacity(capacity.min(1024)),
        }
    }

    /// Records `id`; `true` if it was not in the window (deliver it), `false` for a duplicate.
    pub fn insert(&mut self, id: &Arc<str>) -> bool {
        if self.seen.contains(&**id) {
            return false;
        }
        if self.capacity == 0 || id.len() > self.max_bytes {
            return true;
        }
        while self.order.len() >= self.capacity || self.bytes + id.len() > self.max_bytes {
            let Some(old) = self.order.pop_front() else { break };
            self.bytes -= old.len();
            self.seen.remove(&old);
        }
        self.bytes += id.len();
        self.order.push_back(id.clone());
        self.seen.insert(id.clone());
        true
    }

    /// Whether `id` is in the window.
    pub fn contains(&self, id: &str) -> bool {
        self.seen.contains(id)
    }

    /// Ids remembered now.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether no id is remembered.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// The configured count bound.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Bytes of id text remembered now.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Forgets every id.
    pub fn clear(&mut self) {
        self.order.clear();
        self.seen.clear();
        self.bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_budget_evicts_oldest_and_skips_huge_ids() {
        let mut w = DedupeWindow::with_max_bytes(10, 6);
        let ids: Vec<Arc<str>> = ["aa", "bb", "cc", "dd"].iter().map(|&s| Arc::from(s)).collect();
        for id in &ids {
            assert!(w.insert(id));
        }
        assert_eq!((w.len(), w.bytes()), (3, 6));
        assert!(!w.contains("aa") && w.contains("dd"));
        let huge: Arc<str> = Arc::from("x".repeat(7));
        assert!(w.insert(&huge) && w.insert(&huge));
        assert_eq!(w.len(), 3);
    }
}
