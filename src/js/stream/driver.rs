//! The stream's life: connect, and when a connection ends decide — reconnect after the
//! server's `retry` plus jittered backoff, stop (204, `close()`), or fail (bad status/type).
//! Opt-in page hooks pause while the page is hidden and reconnect at once when back online.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::task::{Poll, Waker};

use js_sys::{Function, Object, Reflect};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};

use super::connection::{self, Ended};
use super::options::Transport;
use super::{sys, Inner, CLOSED};
use crate::notify::reconnect::{ReconnectPolicy, ReconnectTracker};
use crate::platform::web::{MathRandom, WebClock};
use crate::platform::Clock;

/// Runs until the stream closes.
pub async fn run(inner: Rc<Inner>) {
    super::store::restore(&inner).await;
    let opts = &inner.options;
    let mut tracker = ReconnectTracker::new(ReconnectPolicy {
        base_delay_ms: opts.initial_delay_ms,
        max_delay_ms: opts.max_delay_ms,
        healthy_after_ms: opts.healthy_after_ms,
        heartbeat_timeout_ms: opts.heartbeat_timeout_ms,
        ..ReconnectPolicy::default()
    });
    let page = PageHooks::install(&inner);
    while !inner.closed.is_aborted() {
        if let Some(page) = &page {
            page.wait_until_visible(&inner).await;
        }
        let (ended, paused) = connect(&inner, page.as_ref()).await;
        inner.current.borrow_mut().take();
        super::delivery::connection_ended(&inner);
        match ended {
            Ended::Closed | Ended::NoContent => break,
            Ended::Fatal(error) => {
                inner.report(&error);
                break;
            }
            Ended::Reconnect { opened, opened_at, error } => {
                if inner.closed.is_aborted() {
                    break;
                }
                if opened {
                    tracker.opened(opened_at);
                }
                if paused || page.as_ref().is_some_and(|p| p.hidden.get()) {
                    continue; // paused on purpose: reconnect once visible, no backoff
                }
                let delay = tracker.next_delay(WebClock.now_ms(), inner.delivery.server_retry(), &MathRandom);
                let detail = Object::new();
                let _ = Reflect::set(&detail, &"delayMs".into(), &(delay as f64).into());
                if let Some(error) = error {
                    let _ = Reflect::set(&detail, &"error".into(), &error);
                }
                inner.reconnecting_with(&detail);
                if wait(&inner, delay, page.as_ref()).await {
                    tracker.reset(); // back online: the old failures say nothing about now
                }
            }
        }
    }
    inner.shut();
    inner.set_state(CLOSED, &JsValue::UNDEFINED);
    super::delivery::closed(&inner);
}

/// Runs one connection. While the page is hidden (`pauseWhenHidden`) its fetch is aborted —
/// also one that starts after the page was hidden, e.g. once an async `headers` provider
/// returns — and the second value is `true`: the connection ended to pause, not because it
/// failed, even if the page is visible again by the time the abort has ended it. An
/// `EventSource` is left open: a new one could not resume from `Last-Event-ID`.
async fn connect(inner: &Rc<Inner>, page: Option<&PageHooks>) -> (Ended, bool) {
    let mut connection = pin!(async {
        match inner.options.transport {
            Transport::Fetch => connection::fetch(inner).await,
            Transport::EventSource => connection::event_source(inner).await,
        }
    });
    let mut paused = false;
    let ended = futures::future::poll_fn(|cx| {
        let poll = connection.as_mut().poll(cx);
        if let (Poll::Pending, Some(page)) = (&poll, page) {
            if page.hidden.get() {
                if let Some(c) = inner.current.borrow_mut().take() {
                    c.abort();
                    paused = true;
                }
            }
            *page.waker.borrow_mut() = Some(cx.waker().clone());
        }
        poll
    })
    .await;
    (ended, paused)
}

/// Sleeps `ms` unless the stream closes first or the page comes back `online` (then `true`).
async fn wait(inner: &Inner, ms: u64, page: Option<&PageHooks>) -> bool {
    if let Some(page) = page {
        // Only an `online` that comes while waiting counts: one from while the connection was
        // still up says nothing about the failure being waited out.
        page.kick.set(false);
    }
    let mut sleep = WebClock.sleep(ms);
    let mut closed = pin!(inner.closed.aborted());
    futures::future::poll_fn(|cx| {
        if let Some(page) = page {
            if page.kick.replace(false) {
                return Poll::Ready(true);
            }
            *page.waker.borrow_mut() = Some(cx.waker().clone());
        }
        if sleep.as_mut().poll(cx).is_ready() || closed.as_mut().poll(cx).is_ready() {
            Poll::Ready(false)
        } else {
            Poll::Pending
        }
    })
    .await
}

/// `pauseWhenHidden` and `reconnectOnOnline`: page events, owned and removed on drop.
struct PageHooks {
    hidden: Rc<Cell<bool>>,
    kick: Rc<Cell<bool>>,
    waker: Rc<RefCell<Option<Waker>>>,
    remove: Function,
    _closures: Vec<Closure<dyn FnMut()>>,
}

impl PageHooks {
    fn install(inner: &Inner) -> Option<PageHooks> {
        let opts = &inner.options;
        if !opts.pause_when_hidden && !opts.reconnect_on_online {
            return None;
        }
        // A stream opened in a background tab must not connect until the tab is shown: no
        // `visibilitychange` will tell, the page is hidden already.
        let hidden = Rc::new(Cell::new(opts.pause_when_hidden && sys::page_hidden()));
        let kick = Rc::new(Cell::new(false));
        let waker: Rc<RefCell<Option<Waker>>> = Rc::default();
        let wake = {
            let waker = waker.clone();
            move || {
                if let Some(w) = waker.borrow_mut().take() {
                    w.wake();
                }
            }
        };
        let mut closures = Vec::new();
        let mut hook = |f: Closure<dyn FnMut()>| {
            let js: Function = f.as_ref().unchecked_ref::<Function>().clone();
            closures.push(f);
            Some(js)
        };
        let (on_hidden, on_visible) = if opts.pause_when_hidden {
            // The driver, woken, aborts the live connection (see `connect`) and waits for `visible`.
            let (h, w) = (hidden.clone(), wake.clone());
            let on_hidden = hook(Closure::new(move || {
                h.set(true);
                w();
            }));
            let (h, w) = (hidden.clone(), wake.clone());
            (
                on_hidden,
                hook(Closure::new(move || {
                    h.set(false);
                    w();
                })),
            )
        } else {
            (None, None)
        };
        let on_online = if opts.reconnect_on_online {
            let (k, w) = (kick.clone(), wake);
            hook(Closure::new(move || {
                k.set(true);
                w();
            }))
        } else {
            None
        };
        let remove = sys::watch_page(on_hidden, on_visible, on_online);
        Some(PageHooks { hidden, kick, waker, remove, _closures: closures })
    }

    async fn wait_until_visible(&self, inner: &Inner) {
        let mut closed = pin!(inner.closed.aborted());
        futures::future::poll_fn(|cx| {
            if !self.hidden.get() || closed.as_mut().poll(cx).is_ready() {
                return Poll::Ready(());
            }
            *self.waker.borrow_mut() = Some(cx.waker().clone());
            Poll::Pending
        })
        .await
    }
}

impl Drop for PageHooks {
    fn drop(&mut self) {
        let _ = self.remove.call0(&JsValue::UNDEFINED);
    }
}
