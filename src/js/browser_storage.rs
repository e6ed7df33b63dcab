//! Durable storage for a page: `openBrowserStorage()` gives a [JournalStore] for
//! `TransactionCoordinator` (a reload resumes the transaction) and a key-value store for
//! `NotificationStream`'s `store` (a reload resumes the stream), in IndexedDB or localStorage.
//! The coordinator also holds a Web Lock per transaction while it runs one, so two tabs never
//! run the same transaction at once: the second waits, then finds it finished in the journal.
//!
//! ```js
//! import init, { openBrowserStorage, TransactionCoordinator, NotificationStream } from 'edgesaga';
//! await init();
//! const storage = await openBrowserStorage('shop');
//! const coordinator = new TransactionCoordinator({ journal: storage });
//! for (const id of await storage.unfinished()) {
//!   await coordinator.executeHttpTransaction(definition, { transactionId: id, context }); // resumes
//! }
//! const stream = new NotificationStream('/events', { store: storage, storeKey: 'events' });
//! ```
//!
//! [JournalStore]: super::journal

use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// Raw bindings to `browser_storage.js`.
mod glue {
    use js_sys::Promise;
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen(module = "/src/js/browser_storage.js")]
    extern "C" {
        #[wasm_bindgen(js_name = openBrowserStorage)]
        pub fn open_browser_storage(name: &str) -> Promise;
        /// Resolves with a release function, or null where there are no Web Locks.
        #[wasm_bindgen(js_name = lockTransaction)]
        pub fn lock_transaction(transaction_id: &JsValue) -> Promise;
    }
}

/// `openBrowserStorage(name = 'edgesaga')`: IndexedDB (database `name`), or localStorage
/// (keys prefixed `name:`) where IndexedDB is missing or refuses to open.
#[wasm_bindgen(js_name = openBrowserStorage, unchecked_return_type = "Promise<BrowserStorage>")]
pub fn open_browser_storage(name: Option<String>) -> Promise {
    glue::open_browser_storage(name.as_deref().unwrap_or("edgesaga"))
}

/// The Web Lock of one transaction, released on drop.
pub struct TransactionLock(Option<Function>);

impl TransactionLock {
    /// Waits for the lock where the host has Web Locks (a page); a no-op elsewhere.
    pub async fn acquire(transaction_id: &JsValue) -> Result<TransactionLock, JsValue> {
        let release = JsFuture::from(glue::lock_transaction(transaction_id)).await?;
        Ok(TransactionLock(release.dyn_into::<Function>().ok()))
    }
}

impl Drop for TransactionLock {
    fn drop(&mut self) {
        if let Some(release) = &self.0 {
            let _ = release.call0(&JsValue::UNDEFINED);
        }
    }
}

#[wasm_bindgen(typescript_custom_section)]
const TS_BROWSER_STORAGE: &str = r#"
/**
 * A page's durable storage (IndexedDB, or localStorage where IndexedDB is missing): a journal for
 * TransactionCoordinator and a store for NotificationStream. With localStorage, step results
 * must survive JSON.
 */
export interface BrowserStorage extends JournalStore {
  readonly kind: 'indexeddb' | 'localstorage';
  load(transactionId: string): Promise<JournalRecord[]>;
  /** Drops a transaction's journal (once its outcome is handled). */
  forget(transactionId: string): Promise<void>;
  /** Transactions whose journal has a start and no finish: resume them after a reload. */
  unfinished(): Promise<string[]>;
  /**
   * Drops the journals of transactions that finished more than `olderThanMs` ago (default 7
   * days) and returns how many; unfinished ones are never dropped.
   */
  pruneFinished(olderThanMs?: number): Promise<number>;
  get(key: string): Promise<string | null>;
  set(key: string, value: string): Promise<void>;
  close(): void;
}
"#;
