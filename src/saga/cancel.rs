//! Cancellation tokens: the pure-Rust side of an `AbortSignal`.
//!
//! A token is aborted once, with a reason; children abort with their parent. The wasm adapter
//! mirrors a token onto a real `AbortController` (the `info.signal` a step sees), and a
//! caller's `AbortSignal` onto the transaction's token.
//!
//! ```
//! use edgesaga::saga::{CancelToken, FailureKind};
//!
//! let transaction = CancelToken::new();
//! let (attempt, _link) = transaction.child();
//! transaction.abort(FailureKind::Aborted);
//! assert_eq!(attempt.reason(), Some(FailureKind::Aborted));
//! ```

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};

use super::error::FailureKind;

type Callback = Box<dyn FnOnce(FailureKind)>;

#[derive(Default)]
struct Inner {
    reason: Option<FailureKind>,
    wakers: Vec<Waker>,
    callbacks: Vec<(u64, Callback)>,
    next_id: u64,
}

/// A cancellation flag with a reason, shared by clones.
#[derive(Clone, Default)]
pub struct CancelToken(Rc<RefCell<Inner>>);

/// Keeps an [`CancelToken::on_abort`] callback registered; dropping it unregisters.
#[must_use = "dropping the subscription unregisters the callback"]
pub struct Subscription {
    token: Weak<RefCell<Inner>>,
    id: u64,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Some(inner) = self.token.upgrade() {
            inner.borrow_mut().callbacks.retain(|(id, _)| *id != self.id);
        }
    }
}

impl CancelToken {
    /// A token that is not aborted.
    pub fn new() -> Self {
        Self::default()
    }

    /// Aborts with `reason`; later calls keep the first reason.
    pub fn abort(&self, reason: FailureKind) {
        let (wakers, callbacks) = {
            let mut inner = self.0.borrow_mut();
            if inner.reason.is_some() {
                return;
            }
            inner.reason = Some(reason);
            (std::mem::take(&mut inner.wakers), std::mem::take(&mut inner.callbacks))
        };
        wakers.into_iter().for_each(Waker::wake);
        callbacks.into_iter().for_each(|(_, f)| f(reason));
    }

    /// Why the token was aborted, if it was.
    pub fn reason(&self) -> Option<FailureKind> {
        self.0.borrow().reason
    }

    /// Whether the token was aborted.
    pub fn is_aborted(&self) -> bool {
        self.reason().is_some()
    }

    /// Runs `f` when the token aborts (at once if it already has).
    pub fn on_abort(&self, f: impl FnOnce(FailureKind) + 'static) -> Subscription {
        let mut inner = self.0.borrow_mut();
        let id = inner.next_id;
        inner.next_id += 1;
        match inner.reason {
            Some(reason) => {
                drop(inner);
                f(reason);
            }
            None => inner.callbacks.push((id, Box::new(f))),
        }
        Subscription { token: Rc::downgrade(&self.0), id }
    }

    /// A token aborted with this one (same reason); the link lasts as long as the subscription.
    pub fn child(&self) -> (CancelToken, Subscription) {
        let child = CancelToken::new();
        let target = child.clone();
        let link = self.on_abort(move |reason| target.abort(reason));
        (child, link)
    }

    /// Completes with the reason once the token is aborted.
    pub fn aborted(&self) -> Aborted {
        Aborted(self.clone())
    }
}

/// The future returned by [`CancelToken::aborted`].
pub struct Aborted(CancelToken);

impl Future for Aborted {
    type Output = FailureKind;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<FailureKind> {
        let mut inner = self.0 .0.borrow_mut();
        if let Some(reason) = inner.reason {
            return Poll::Ready(reason);
        }
        if !inner.wakers.iter().any(|w| w.will_wake(cx.waker())) {
            inner.wakers.push(cx.waker().clone());
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn first_reason_wins_and_callbacks_run_once() {
        let token = CancelToken::new();
        let calls = Rc::new(Cell::new(0));
        let c = calls.clone();
        let _sub = token.on_abort(move |r| {
            assert_eq!(r, FailureKind::Timeout);
            c.set(c.get() + 1)
        });
        token.abort(FailureKind::Timeout);
        token.abort(FailureKind::Aborted);
        assert_eq!(token.reason(), Some(FailureKind::Timeout));
        assert_eq!(calls.get(), 1);
    }

    #[test]
    fn dropped_subscription_is_not_called_and_late_one_runs_at_once() {
        let token = CancelToken::new();
        let calls = Rc::new(Cell::new(0));
        let c = calls.clone();
        drop(token.on_abort(move |_| c.set(c.get() + 1)));
        token.abort(FailureKind::Aborted);
        assert_eq!(calls.get(), 0);
        let c = calls.clone();
        let _late = token.on_abort(move |_| c.set(c.get() + 1));
        assert_eq!(calls.get(), 1);
    }

    #[test]
    fn child_follows_parent_but_not_the_other_way() {
        let parent = CancelToken::new();
        let (child, _link) = parent.child();
        child.abort(FailureKind::Timeout);
        assert!(!parent.is_aborted());
        let (second, link) = parent.child();
        drop(link);
        parent.abort(FailureKind::Aborted);
        assert!(!second.is_aborted(), "an unlinked child stays as it was");
    }
}
