//! The journal seam: where a transaction's checkpoints are written before it moves on, so a
//! restarted host can tell which steps finished.
//!
//! ```
//! use edgesaga::platform::journal::{JournalStore, MemoryJournal};
//! use edgesaga::platform::virtual_time::VirtualClock;
//!
//! let journal: MemoryJournal<&str> = MemoryJournal::default();
//! VirtualClock::new().run(journal.append("tx-1", "step 0 started")).unwrap();
//! assert_eq!(journal.records("tx-1"), vec!["step 0 started"]);
//! ```

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;

use futures::future::LocalBoxFuture;

/// A journal write or read that did not happen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JournalError(pub String);

impl fmt::Display for JournalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "journal error: {}", self.0)
    }
}

impl std::error::Error for JournalError {}

/// Durable storage for a transaction's checkpoints, one append-only list per transaction.
pub trait JournalStore<R> {
    /// Appends `record`; the executor waits for this before it moves on.
    fn append(&self, transaction_id: &str, record: R) -> LocalBoxFuture<'static, Result<(), JournalError>>;
}

/// An in-memory journal, for tests and for hosts that need no durability.
#[derive(Debug)]
pub struct MemoryJournal<R> {
    records: RefCell<HashMap<String, Vec<R>>>,
}

impl<R> Default for MemoryJournal<R> {
    fn default() -> Self {
        MemoryJournal { records: RefCell::new(HashMap::new()) }
    }
}

impl<R: Clone> MemoryJournal<R> {
    /// Everything appended for `transaction_id`, oldest first.
    pub fn records(&self, transaction_id: &str) -> Vec<R> {
        self.records.borrow().get(transaction_id).cloned().unwrap_or_default()
    }
}

impl<R: 'static> JournalStore<R> for MemoryJournal<R> {
    fn append(&self, transaction_id: &str, record: R) -> LocalBoxFuture<'static, Result<(), JournalError>> {
        self.records.borrow_mut().entry(transaction_id.to_owned()).or_default().push(record);
        Box::pin(futures::future::ready(Ok(())))
    }
}
