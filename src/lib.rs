//! # edgesaga
//!
//! Transactions at the edge (ordered steps, retries, timeouts, cancellation and reverse-order
//! compensation) and spec-exact Server-Sent Events notifications, from one Rust core that runs
//! natively, in the browser and in Cloudflare Workers.
//!
//! The pure layers never touch JavaScript:
//!
//! * [`saga`] — definitions, retry policy, the executor and its report;
//! * [`json`] — a strict JSON pull reader with bounded nesting, and an owned tree ([`json::Json`]);
//! * [`bus`] — the lifecycle event emitter, with an internal channel public listeners cannot reach;
//! * [`platform`] — the seams to the host (clock, timers, randomness, journals).
//!
//! `src/js` (compiled only for `wasm32`) is the one place that turns those into the npm API.
//!
//! ```
//! use edgesaga::saga::{RetryPolicy, Backoff};
//!
//! let policy = RetryPolicy { max_attempts: 3, backoff: Backoff::Exponential, ..RetryPolicy::default() };
//! assert_eq!(policy.base_delay_ms(1), 100);
//! assert_eq!(policy.base_delay_ms(2), 200);
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod bus;
pub mod json;
pub mod notify;
pub mod platform;
pub mod saga;

#[cfg(target_arch = "wasm32")]
pub mod js;
