//! A virtual clock for deterministic native tests: time only moves when every task is waiting
//! on a timer, and then jumps straight to the earliest deadline.
//!
//! ```
//! use edgesaga::platform::{virtual_time::VirtualClock, Clock};
//! use futures::future::{select, Either};
//!
//! let clock = VirtualClock::new();
//! let winner = clock.run(async {
//!     match select(clock.sleep(50), clock.sleep(10)).await {
//!         Either::Left(_) => "slow",
//!         Either::Right(_) => "fast",
//!     }
//! });
//! assert_eq!(winner, "fast");
//! assert_eq!(clock.now(), 10.0);
//! ```

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::pin;
use std::rc::{Rc, Weak};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use futures::future::LocalBoxFuture;
use futures::task::{waker, ArcWake};

use super::Clock;

struct Timer {
    deadline: f64,
    fired: Cell<bool>,
    waker: RefCell<Option<Waker>>,
}

/// A clock whose time advances only when [`VirtualClock::run`] finds every task blocked on a timer.
#[derive(Default)]
pub struct VirtualClock {
    now: Cell<f64>,
    timers: RefCell<Vec<Weak<Timer>>>,
}

impl VirtualClock {
    /// A clock starting at time 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// The current virtual time in milliseconds.
    pub fn now(&self) -> f64 {
        self.now.get()
    }

    /// Jumps to the earliest pending deadline and fires every timer due by then.
    /// Returns `false` when no timer is pending.
    pub fn advance(&self) -> bool {
        let mut timers = self.timers.borrow_mut();
        timers.retain(|t| t.strong_count() > 0);
        let live: Vec<Rc<Timer>> = timers.iter().filter_map(Weak::upgrade).collect();
        drop(timers);
        let Some(next) = live.iter().filter(|t| !t.fired.get()).map(|t| t.deadline).min_by(f64::total_cmp) else {
            return false;
        };
        self.now.set(self.now.get().max(next));
        for timer in live.iter().filter(|t| !t.fired.get() && t.deadline <= next) {
            timer.fired.set(true);
            if let Some(w) = timer.waker.borrow_mut().take() {
                w.wake();
            }
        }
        true
    }

    /// Drives `future` to completion, advancing virtual time whenever it is blocked on timers.
    ///
    /// # Panics
    /// When the future is pending with no timer left to fire: a deadlock in the code under test.
    pub fn run<F: Future>(&self, future: F) -> F::Output {
        struct Flag(AtomicBool);
        impl ArcWake for Flag {
            fn wake_by_ref(arc_self: &Arc<Self>) {
                arc_self.0.store(true, Ordering::SeqCst);
            }
        }
        let flag = Arc::new(Flag(AtomicBool::new(true)));
        let waker = waker(flag.clone());
        let mut cx = Context::from_waker(&waker);
        let mut future = pin!(future);
        loop {
            if flag.0.swap(false, Ordering::SeqCst) {
                if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
                    return out;
                }
            } else if !self.advance() {
                panic!("virtual clock: the future is pending and no timer is left (deadlock)");
            }
        }
    }
}

impl Clock for VirtualClock {
    fn now_ms(&self) -> f64 {
        self.now.get()
    }

    fn sleep(&self, ms: u64) -> LocalBoxFuture<'static, ()> {
        let timer =
            Rc::new(Timer { deadline: self.now.get() + ms as f64, fired: Cell::new(false), waker: RefCell::new(None) });
        self.timers.borrow_mut().push(Rc::downgrade(&timer));
        Box::pin(futures::future::poll_fn(move |cx| {
            if timer.fired.get() {
                Poll::Ready(())
            } else {
                *timer.waker.borrow_mut() = Some(cx.waker().clone());
                Poll::Pending
            }
        }))
    }
}
