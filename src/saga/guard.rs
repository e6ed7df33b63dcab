//! Interruptible waits for the executor: a step attempt (or a retry delay) raced against its
//! own timeout, the transaction deadline and cancellation.

use std::future::Future;
use std::pin::pin;
use std::task::Poll;

use super::cancel::CancelToken;
use super::error::FailureKind;
use crate::platform::Clock;

/// Which deadline an interruptible wait is bounded by.
#[derive(Clone, Copy)]
pub struct Bounds {
    pub attempt_timeout_ms: Option<u64>,
    pub deadline: Option<f64>,
}

/// Polls `fut` until it completes, `interrupt` aborts, or a timeout fires. When a timeout
/// fires, `signal` is aborted with the reason before `fut` is dropped, so the step sees why.
pub async fn guarded<T>(
    clock: &dyn Clock,
    fut: impl Future<Output = T>,
    bounds: Bounds,
    interrupt: &CancelToken,
    signal: &CancelToken,
) -> Result<T, FailureKind> {
    let remaining = bounds.deadline.map(|d| (d - clock.now_ms()).max(0.0).ceil() as u64);
    let timer = match (bounds.attempt_timeout_ms, remaining) {
        (Some(a), Some(r)) if r <= a => Some((r, FailureKind::TransactionTimeout)),
        (Some(a), _) => Some((a, FailureKind::Timeout)),
        (None, Some(r)) => Some((r, FailureKind::TransactionTimeout)),
        (None, None) => None,
    };
    let mut fut = pin!(fut);
    let mut aborted = pin!(interrupt.aborted());
    let mut sleep = timer.map(|(ms, reason)| (clock.sleep(ms), reason));
    let result = futures::future::poll_fn(|cx| {
        if let Poll::Ready(v) = fut.as_mut().poll(cx) {
            return Poll::Ready(Ok(v));
        }
        if let Poll::Ready(reason) = aborted.as_mut().poll(cx) {
            return Poll::Ready(Err(reason));
        }
        if let Some((timer, reason)) = &mut sleep {
            if timer.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Err(*reason));
            }
        }
        Poll::Pending
    })
    .await;
    if let Err(reason) = result {
        if reason == FailureKind::TransactionTimeout {
            interrupt.abort(reason);
        }
        signal.abort(reason);
    }
    result
}
