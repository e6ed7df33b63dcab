//! `waitFor`: promises that resolve with the first matching notification — including one that
//! arrived within `recentWindowMs` before the call — or reject on timeout, abort or close.

use std::rc::Rc;

use js_sys::{Function, Object, Promise};
use wasm_bindgen::{JsCast, JsValue};

use super::super::abort::AbortListener;
use super::delivery::{route, to_js};
use super::{sys, Inner};
use crate::notify::notification::Notification;
use crate::notify::pattern::Route;
use crate::platform::web::WebClock;
use crate::platform::Clock;
use crate::saga::{CancelToken, FailureKind};

/// One pending `waitFor`.
pub(super) struct Waiter {
    pub(super) id: u32,
    pub(super) route: Route,
    pub(super) predicate: Option<Function>,
    pub(super) resolve: Function,
    pub(super) reject: Function,
    /// Aborted once settled, so its timer task ends.
    pub(super) settled: CancelToken,
}

pub(super) fn resolve_waiters(inner: &Rc<Inner>, notification: &Notification, js: &JsValue) {
    let candidates: Vec<(u32, Option<Function>)> = inner
        .delivery
        .state
        .borrow()
        .waiters
        .iter()
        .filter(|w| w.route.matches(notification))
        .map(|w| (w.id, w.predicate.clone()))
        .collect();
    for (id, predicate) in candidates {
        match test(predicate.as_ref(), js) {
            Ok(true) => settle(inner, id, Ok(js)),
            Ok(false) => {}
            Err(e) => settle(inner, id, Err(&e)),
        }
    }
}

fn test(predicate: Option<&Function>, js: &JsValue) -> Result<bool, JsValue> {
    match predicate {
        None => Ok(true),
        Some(p) => p.call1(&JsValue::UNDEFINED, js).map(|v| v.is_truthy()),
    }
}

/// Resolves or rejects waiter `id` and forgets it.
pub(super) fn settle(inner: &Inner, id: u32, outcome: Result<&JsValue, &JsValue>) {
    let waiter = {
        let mut state = inner.delivery.state.borrow_mut();
        let Some(i) = state.waiters.iter().position(|w| w.id == id) else { return };
        state.waiters.remove(i)
    };
    waiter.settled.abort(FailureKind::Aborted);
    let _ = match outcome {
        Ok(v) => waiter.resolve.call1(&JsValue::UNDEFINED, v),
        Err(e) => waiter.reject.call1(&JsValue::UNDEFINED, e),
    };
}

/// `stream.waitFor(pattern, predicate, { timeoutMs, signal })`.
pub fn wait_for(inner: &Rc<Inner>, pattern: &str, predicate: Option<Function>, options: Option<Object>) -> Promise {
    let route = match route(pattern, None) {
        Ok(r) => r,
        Err(e) => return Promise::reject(&e),
    };
    // A notification that arrived shortly before the wait began resolves it at once: the oldest
    // match, as a wait begun at the window's start would have received (`RecentBuffer::find`).
    let now = WebClock.now_ms();
    let recent: Vec<Rc<Notification>> = {
        let state = inner.delivery.state.borrow();
        state.router.recent().iter(now).filter(|n| route.matches(n)).cloned().collect()
    };
    for n in &recent {
        if !inner.delivery.wanted(n) {
            continue;
        }
        let js = to_js(n);
        match test(predicate.as_ref(), &js) {
            Ok(true) => return Promise::resolve(&js),
            Ok(false) => {}
            Err(e) => return Promise::reject(&e),
        }
    }
    if inner.closed.is_aborted() {
        return Promise::reject(&inner.error("AbortError", "the stream is closed"));
    }
    let timeout_ms = options.as_ref().and_then(|o| sys::get(o, "timeoutMs").as_f64()).filter(|t| *t >= 0.0);
    let signal: Option<web_sys::AbortSignal> = options.as_ref().and_then(|o| sys::get(o, "signal").dyn_into().ok());
    if signal.as_ref().is_some_and(|s| s.aborted()) {
        return Promise::reject(&inner.error("AbortError", "waitFor was aborted"));
    }
    let settled = CancelToken::new();
    let id = {
        let mut state = inner.delivery.state.borrow_mut();
        state.next_waiter += 1;
        state.next_waiter
    };
    let promise = Promise::new(&mut |resolve, reject| {
        let waiter = Waiter {
            id,
            route: route.clone(),
            predicate: predicate.clone(),
            resolve,
            reject,
            settled: settled.clone(),
        };
        inner.delivery.state.borrow_mut().waiters.push(waiter);
    });
    let inner = inner.clone();
    // Listening starts now, not when the task first runs: an abort in the same tick counts.
    let aborted = CancelToken::new();
    let listener = signal.map(|s| {
        let a = aborted.clone();
        AbortListener::once(&s, move || a.abort(FailureKind::Aborted))
    });
    wasm_bindgen_futures::spawn_local(async move {
        let _listener = listener;
        let timer = async {
            match timeout_ms {
                Some(ms) => WebClock.sleep(ms as u64).await,
                None => futures::future::pending().await,
            }
        };
        let verdict = futures::future::select(
            Box::pin(timer),
            Box::pin(futures::future::select(
                Box::pin(settled.aborted()),
                Box::pin(futures::future::select(Box::pin(aborted.aborted()), Box::pin(inner.closed.aborted()))),
            )),
        )
        .await;
        let error = match verdict {
            futures::future::Either::Left(_) => Some(inner.error("TimeoutError", "waitFor timed out")),
            futures::future::Either::Right((futures::future::Either::Left(_), _)) => None,
            futures::future::Either::Right((futures::future::Either::Right(_), _)) => {
                let why = if inner.closed.is_aborted() { "the stream closed" } else { "waitFor was aborted" };
                Some(inner.error("AbortError", why))
            }
        };
        if let Some(error) = error {
            settle(&inner, id, Err(&error));
        }
    });
    promise
}
