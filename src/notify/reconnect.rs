//! When to reconnect: the server's `retry`, exponential backoff with full jitter, a reset after
//! a healthy connection, and a heartbeat watchdog. Pure: time comes in as arguments
//! (`Clock::now_ms` values) and randomness from [`Rng`].
//!
//! The delay before reconnecting after the `n`-th consecutive failure (`n` = 0 for the first
//! drop after a healthy period) is
//!
//! ```text
//! delay = min(retry, max_server_retry_ms) + uniform_integer[0, min(max_delay_ms, base_delay_ms · 2^n)]
//! ```
//!
//! where `retry` is the server's last `retry` field (0 if it never sent one). The server's
//! value is thus the *minimum* delay, honoured as the SSE spec asks, and the jittered backoff
//! on top keeps a fleet of clients that lost the same server from reconnecting in lockstep.
//! The result never exceeds [`MAX_TIMER_MS`], the largest delay `setTimeout` honours. A
//! connection that stayed open for `healthy_after_ms` resets `n` when it drops.
//!
//! ```
//! use edgesaga::notify::reconnect::{ReconnectPolicy, ReconnectTracker};
//! use edgesaga::platform::SeededRng;
//!
//! let rng = SeededRng::new(42);
//! let mut tracker = ReconnectTracker::new(ReconnectPolicy::default()); // base 1 s, cap 30 s
//! let first = tracker.next_delay(0.0, Some(3_000), &rng);
//! assert!((3_000..=4_000).contains(&first)); // retry + [0, 1 s]
//! let second = tracker.next_delay(10.0, Some(3_000), &rng);
//! assert!((3_000..=5_000).contains(&second)); // retry + [0, 2 s]
//! tracker.opened(100.0);
//! let after_healthy = tracker.next_delay(100.0 + 60_000.0, None, &rng);
//! assert!(after_healthy <= 1_000); // reset: [0, 1 s]
//! ```

use crate::platform::Rng;

/// The longest delay a JS timer supports (2^31 − 1 ms); longer ones fire at once.
pub const MAX_TIMER_MS: u64 = (1 << 31) - 1;

/// Reconnection settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReconnectPolicy {
    /// Backoff ceiling of the first reconnection (default 1 000 ms), doubled per failure.
    pub base_delay_ms: u64,
    /// Cap of the backoff ceiling (default 30 000 ms).
    pub max_delay_ms: u64,
    /// A connection open this long counts as healthy and resets the backoff (default 30 000 ms).
    pub healthy_after_ms: u64,
    /// Ceiling on the server's `retry` (default 10 minutes), so a broken or hostile value such as
    /// `retry: 99999999999` cannot park the stream for good.
    pub max_server_retry_ms: u64,
    /// Silence (not even a comment) after which a connection counts as dead (default
    /// 45 000 ms; 0 disables the watchdog).
    pub heartbeat_timeout_ms: u64,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        ReconnectPolicy {
            base_delay_ms: 1_000,
            max_delay_ms: 30_000,
            healthy_after_ms: 30_000,
            max_server_retry_ms: 600_000,
            heartbeat_timeout_ms: 45_000,
        }
    }
}

impl ReconnectPolicy {
    /// `min(max_delay_ms, base_delay_ms · 2^failures)`: the upper end of the jitter range.
    pub fn backoff_ceiling(&self, failures: u32) -> u64 {
        let factor = 1u64 << failures.min(63);
        self.base_delay_ms.saturating_mul(factor).min(self.max_delay_ms)
    }

    /// The delay for a given number of prior consecutive failures (see the module docs).
    pub fn delay(&self, failures: u32, server_retry_ms: Option<u64>, rng: &dyn Rng) -> u64 {
        let floor = server_retry_ms.unwrap_or(0).min(self.max_server_retry_ms);
        floor.saturating_add(full_jitter(self.backoff_ceiling(failures), rng)).min(MAX_TIMER_MS)
    }

    /// The heartbeat watchdog for this policy's timeout; `None` when it is disabled.
    pub fn watchdog(&self, last_activity_ms: f64, now_ms: f64) -> Option<Watchdog> {
        (self.heartbeat_timeout_ms > 0).then(|| watchdog(last_activity_ms, self.heartbeat_timeout_ms, now_ms))
    }
}

/// A uniformly distributed integer in `[0, ceiling]`, whatever the generator returns.
pub fn full_jitter(ceiling: u64, rng: &dyn Rng) -> u64 {
    let ceiling = ceiling.min(MAX_TIMER_MS);
    // `as` saturates (NaN → 0), and `min` guards a generator that strays to 1.0 or beyond.
    ((rng.next_f64() * (ceiling as f64 + 1.0)) as u64).min(ceiling)
}

/// The state between connections: consecutive failures and when the current one opened.
#[derive(Clone, Debug, PartialEq)]
pub struct ReconnectTracker {
    policy: ReconnectPolicy,
    failures: u32,
    opened_at_ms: Option<f64>,
}

impl ReconnectTracker {
    /// No failures yet.
    pub fn new(policy: ReconnectPolicy) -> Self {
        ReconnectTracker { policy, failures: 0, opened_at_ms: None }
    }

    /// The policy in force.
    pub fn policy(&self) -> &ReconnectPolicy {
        &self.policy
    }

    /// A connection was established (status 200, `text/event-stream`).
    pub fn opened(&mut self, now_ms: f64) {
        self.opened_at_ms = Some(now_ms);
    }

    /// The connection dropped or a connection attempt failed: how long to wait before the next
    /// attempt. Counts one more failure, after resetting the count if the connection that just
    /// dropped had been open for `healthy_after_ms`.
    pub fn next_delay(&mut self, now_ms: f64, server_retry_ms: Option<u64>, rng: &dyn Rng) -> u64 {
        if let Some(opened) = self.opened_at_ms.take() {
            if now_ms - opened >= self.policy.healthy_after_ms as f64 {
                self.failures = 0;
            }
        }
        let delay = self.policy.delay(self.failures, server_retry_ms, rng);
        self.failures = self.failures.saturating_add(1);
        delay
    }

    /// Consecutive failures counted so far (the `n` of the next delay).
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Forgets past failures, e.g. when the browser reports it is back `online`.
    pub fn reset(&mut self) {
        self.failures = 0;
        self.opened_at_ms = None;
    }
}

/// What the heartbeat watchdog says about a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Watchdog {
    /// Silent for the whole timeout: abort it and reconnect.
    Expired,
    /// Alive; look again in this many milliseconds (unless bytes arrive first).
    CheckIn(u64),
}

/// Given the time bytes last arrived (comments and heartbeats included) and the timeout, whether
/// the connection is dead, or when to check again. A clock that went backwards counts as no
/// time elapsed.
pub fn watchdog(last_activity_ms: f64, timeout_ms: u64, now_ms: f64) -> Watchdog {
    let elapsed = (now_ms - last_activity_ms).max(0.0);
    if elapsed >= timeout_ms as f64 {
        Watchdog::Expired
    } else {
        // Rounded up, so the next check never lands just before the deadline.
        Watchdog::CheckIn(((timeout_ms as f64 - elapsed).ceil() as u64).max(1))
    }
}
