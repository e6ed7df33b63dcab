//! The JS API: the only module that touches `JsValue`.
//!
//! * [`coordinator`] — `TransactionCoordinator`, the saga executor for JS steps;
//! * [`definition`] — reads a JS definition, naming the field on a wrong type;
//! * [`runner`] — calls the user's sync/async step functions and mirrors cancellation;
//! * [`http`] — runs declarative transactions: each step a `fetch` or a wait for a notification;
//! * [`observer`] — lifecycle events to listeners, checkpoints to the journal;
//! * [`journal`] — the journal's record format, written and read back to resume;
//! * [`browser_storage`] — IndexedDB/localStorage journal and store for pages, Web Locks;
//! * [`report`] / [`error`] — the result object and real JS `Error`s with stable names;
//! * [`sse`] — `SseParser`, the SSE parser with each chunk's events batched into one crossing;
//! * [`sys`] — raw bindings to `glue.js`, which builds objects in one crossing;
//! * [`types`] — the public TypeScript declarations.

mod abort;
mod browser_storage;
mod coordinator;
mod definition;
mod error;
mod http;
mod hub;
mod journal;
mod observer;
mod report;
mod runner;
mod sse;
mod stream;
mod sys;
mod types;

use wasm_bindgen::prelude::wasm_bindgen;

pub use browser_storage::open_browser_storage;
pub use coordinator::{check_http_transaction, TransactionCoordinator};
pub use sse::SseParser;
pub use stream::NotificationStream;

/// What JS needs once the module is instantiated: methods wasm-bindgen cannot express.
#[wasm_bindgen(start)]
fn start() {
    stream::install_async_iterator();
    sse::install_fast_feed();
}
