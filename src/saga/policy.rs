//! Retry policies: how many attempts, how long to wait between them, which errors not to retry.

use super::error::{FailureKind, StepError};
use crate::platform::Rng;

/// How the delay grows between attempts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backoff {
    /// `initialDelayMs` every time.
    Constant,
    /// `initialDelayMs × n` before retry `n`.
    Linear,
    /// `initialDelayMs × 2ⁿ⁻¹` before retry `n`.
    Exponential,
}

impl Backoff {
    /// Parses the JS spelling (`'constant' | 'linear' | 'exponential'`).
    pub fn parse(s: &str) -> Option<Backoff> {
        match s {
            "constant" => Some(Backoff::Constant),
            "linear" => Some(Backoff::Linear),
            "exponential" => Some(Backoff::Exponential),
            _ => None,
        }
    }
}

/// When and how a failed attempt is tried again.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (≥ 1).
    pub max_attempts: u32,
    /// The delay before the first retry.
    pub initial_delay_ms: u64,
    /// How the delay grows.
    pub backoff: Backoff,
    /// The cap on a computed delay (a server's `retryAfterMs` is honoured above it).
    pub max_delay_ms: u64,
    /// "Equal jitter": the delay is drawn uniformly from `[d/2, d]`, so retries of many
    /// clients spread out while each still backs off.
    pub jitter: bool,
    /// Error names (`err.name`) that are never retried.
    pub non_retryable: Vec<String>,
}

impl Default for RetryPolicy {
    /// One attempt, no retry: a step is retried only when its definition asks.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 1,
            initial_delay_ms: 100,
            backoff: Backoff::Exponential,
            max_delay_ms: 30_000,
            jitter: false,
            non_retryable: Vec::new(),
        }
    }
}

impl RetryPolicy {
    /// The default for compensations: undoing must try harder than doing.
    pub fn compensation_default() -> Self {
        RetryPolicy { max_attempts: 3, initial_delay_ms: 100, max_delay_ms: 2_000, ..RetryPolicy::default() }
    }

    /// The delay before retry number `retry` (1 = the first retry), before jitter and cap.
    pub fn base_delay_ms(&self, retry: u32) -> u64 {
        let n = u64::from(retry.max(1));
        match self.backoff {
            Backoff::Constant => self.initial_delay_ms,
            Backoff::Linear => self.initial_delay_ms.saturating_mul(n),
            Backoff::Exponential => self.initial_delay_ms.saturating_mul(1u64 << (n - 1).min(62)),
        }
    }

    /// Whether `error`, raised by attempt number `attempt`, may be tried again and, if so,
    /// after how many milliseconds.
    pub fn next_delay<C>(&self, attempt: u32, error: &StepError<C>, rng: &dyn Rng) -> Option<u64> {
        if attempt >= self.max_attempts || !self.is_retryable(error) {
            return None;
        }
        if let Some(ms) = error.retry_after_ms {
            return Some(ms);
        }
        let capped = self.base_delay_ms(attempt).min(self.max_delay_ms);
        Some(if self.jitter {
            let half = capped / 2;
            half + (rng.next_f64() * (capped - half) as f64) as u64
        } else {
            capped
        })
    }

    fn is_retryable<C>(&self, error: &StepError<C>) -> bool {
        let by_kind = matches!(error.kind, FailureKind::Thrown | FailureKind::Timeout);
        let by_name = error.name.as_deref().is_none_or(|n| !self.non_retryable.iter().any(|x| x == n));
        by_kind && by_name && error.retryable != Some(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::SeededRng;

    fn thrown() -> StepError<()> {
        StepError::thrown(None, "boom".into(), None)
    }

    #[test]
    fn backoff_shapes() {
        let p = |backoff| RetryPolicy { initial_delay_ms: 10, backoff, max_attempts: 9, ..Default::default() };
        let delays = |b| (1..5).map(|n| p(b).base_delay_ms(n)).collect::<Vec<_>>();
        assert_eq!(delays(Backoff::Constant), [10, 10, 10, 10]);
        assert_eq!(delays(Backoff::Linear), [10, 20, 30, 40]);
        assert_eq!(delays(Backoff::Exponential), [10, 20, 40, 80]);
        assert_eq!(p(Backoff::Exponential).base_delay_ms(200), u64::MAX, "saturates, never overflows");
    }

    #[test]
    fn cap_jitter_and_retry_after() {
        let rng = SeededRng::new(7);
        let p = RetryPolicy {
            max_attempts: 10,
            initial_delay_ms: 100,
            max_delay_ms: 250,
            jitter: true,
            ..Default::default()
        };
        for attempt in 1..9 {
            let d = p.next_delay(attempt, &thrown(), &rng).unwrap();
            let cap = p.base_delay_ms(attempt).min(250);
            assert!(d >= cap / 2 && d <= cap, "attempt {attempt}: {d} outside [{}, {cap}]", cap / 2);
        }
        let mut e = thrown();
        e.retry_after_ms = Some(5_000);
        assert_eq!(p.next_delay(1, &e, &rng), Some(5_000));
    }

    #[test]
    fn what_is_not_retried() {
        let rng = SeededRng::new(1);
        let p = RetryPolicy { max_attempts: 3, non_retryable: vec!["ValidationError".into()], ..Default::default() };
        assert_eq!(p.next_delay(3, &thrown(), &rng), None, "attempts exhausted");
        let mut e = thrown();
        e.retryable = Some(false);
        assert_eq!(p.next_delay(1, &e, &rng), None, "retryable: false");
        let named = StepError::<()>::thrown(Some("ValidationError".into()), "bad".into(), None);
        assert_eq!(p.next_delay(1, &named, &rng), None, "listed in nonRetryable");
        let lock = StepError::<()>::new(FailureKind::OptimisticLock, "stale".into());
        assert_eq!(p.next_delay(1, &lock, &rng), None, "version conflicts are final");
        let timeout = StepError::<()>::new(FailureKind::Timeout, "slow".into());
        assert_eq!(p.next_delay(1, &timeout, &rng), Some(100), "a timed-out attempt is retried");
    }
}
