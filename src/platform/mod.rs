//! Seams to the host: time, timers, randomness and journals.
//!
//! The pure layers ask the host for these through traits, so the same executor runs on a
//! virtual clock in native tests and on `Date.now`/`setTimeout`/`Math.random` in wasm.
//!
//! ```
//! use edgesaga::platform::{virtual_time::VirtualClock, Clock};
//!
//! let clock = VirtualClock::new();
//! let slept = clock.run(async {
//!     clock.sleep(250).await;
//!     clock.now_ms()
//! });
//! assert_eq!(slept, 250.0);
//! ```

use futures::future::LocalBoxFuture;

pub mod journal;
pub mod virtual_time;
#[cfg(target_arch = "wasm32")]
pub mod web;

/// Wall-clock time and timers.
pub trait Clock {
    /// Milliseconds since the Unix epoch (or since the start of a virtual clock).
    fn now_ms(&self) -> f64;
    /// A future that completes after `ms` milliseconds. Dropping it cancels the timer.
    fn sleep(&self, ms: u64) -> LocalBoxFuture<'static, ()>;
}

/// A source of randomness for retry jitter.
pub trait Rng {
    /// A number uniformly distributed in `[0, 1)`.
    fn next_f64(&self) -> f64;
}

/// A small deterministic generator (xorshift64*), for native tests and benchmarks.
#[derive(Debug)]
pub struct SeededRng(std::cell::Cell<u64>);

impl SeededRng {
    /// A generator that yields the same sequence for the same `seed`.
    pub fn new(seed: u64) -> Self {
        SeededRng(std::cell::Cell::new(seed | 1))
    }
}

impl Rng for SeededRng {
    fn next_f64(&self) -> f64 {
        let mut x = self.0.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0.set(x);
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}
