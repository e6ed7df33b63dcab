//! The browser/Worker/Node host: `Date.now`, `setTimeout` and `Math.random`, bound as globals
//! (never through `window`), so the same code runs in a page, a Web Worker, workerd and Node.

use futures::future::LocalBoxFuture;

use super::{Clock, Rng};

/// `setTimeout` fires at once for delays above 2³¹−1 ms; longer sleeps are clamped to that.
const MAX_TIMEOUT_MS: u64 = i32::MAX as u64;

/// `Date.now()` and `setTimeout` (through gloo-timers, which clears the timer on drop).
pub struct WebClock;

impl Clock for WebClock {
    fn now_ms(&self) -> f64 {
        js_sys::Date::now()
    }

    fn sleep(&self, ms: u64) -> LocalBoxFuture<'static, ()> {
        Box::pin(gloo_timers::future::TimeoutFuture::new(ms.min(MAX_TIMEOUT_MS) as u32))
    }
}

/// `Math.random()`.
pub struct MathRandom;

impl Rng for MathRandom {
    fn next_f64(&self) -> f64 {
        js_sys::Math::random()
    }
}
