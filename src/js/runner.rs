//! Runs the user's JS step functions for the executor: sync or async, throwing anything.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use futures::future::{ready, LocalBoxFuture};
use js_sys::{Function, Object, Reflect};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};

use super::definition::{version_of, JsStep};
use super::error::{abort_reason, from_thrown};
use super::sys;
use crate::saga::{Attempt, StepError, StepRunner, Subscription, Version};

/// The steps of one transaction, its shared `ctx` and `ctx.results`.
pub struct JsRunner {
    pub steps: Vec<JsStep>,
    pub ctx: Object,
    pub results: Object,
    pub transaction_id: JsValue,
    pub notifier: Notifier,
}

type Outcome = Result<JsValue, StepError<JsValue>>;

/// One Rust closure per transaction that wakes whichever attempt is waiting; closed on drop
/// (before the closure itself is dropped), so JS never calls a dropped closure.
pub struct Notifier {
    js: sys::Notifier,
    waiting: Rc<RefCell<Option<Waker>>>,
    _wake: Closure<dyn FnMut()>,
}

impl Notifier {
    pub fn new() -> Self {
        let waiting: Rc<RefCell<Option<Waker>>> = Rc::default();
        let slot = waiting.clone();
        let wake = Closure::<dyn FnMut()>::new(move || {
            if let Some(waker) = slot.borrow_mut().take() {
                waker.wake();
            }
        });
        Notifier { js: sys::Notifier::new(wake.as_ref().unchecked_ref()), waiting, _wake: wake }
    }
}

impl Drop for Notifier {
    fn drop(&mut self) {
        self.js.close();
    }
}

/// A JS attempt that returned a promise, until it settles.
struct Settled {
    handle: sys::Attempt,
    waiting: Rc<RefCell<Option<Waker>>>,
    _link: Subscription,
}

impl Future for Settled {
    type Output = Outcome;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Outcome> {
        match self.handle.state() {
            0 => Poll::Ready(Ok(self.handle.value())),
            1 => {
                *self.waiting.borrow_mut() = Some(cx.waker().clone());
                Poll::Pending
            }
            _ => Poll::Ready(Err(from_thrown(self.handle.value()))),
        }
    }
}

impl JsRunner {
    fn call(&self, f: &Function, step: usize, attempt: &Attempt) -> LocalBoxFuture<'static, Outcome> {
        let handle = sys::Attempt::new(
            f,
            &self.ctx,
            &self.transaction_id,
            &self.steps[step].name,
            attempt.attempt,
            attempt.compensating,
            &self.notifier.js,
        );
        match handle.state() {
            0 => Box::pin(ready(Ok(handle.value()))),
            2 => Box::pin(ready(Err(from_thrown(handle.value())))),
            _ => {
                // Mirrors the executor's verdict (timeout, cancellation) onto `info.signal`.
                let target = handle.clone();
                let link = attempt.signal.on_abort(move |kind| target.abort(&abort_reason(kind)));
                Box::pin(Settled { handle, waiting: self.notifier.waiting.clone(), _link: link })
            }
        }
    }
}

impl StepRunner for JsRunner {
    type Output = JsValue;
    type Cause = JsValue;

    fn execute(&self, step: usize, attempt: &Attempt) -> LocalBoxFuture<'static, Outcome> {
        self.call(&self.steps[step].execute, step, attempt)
    }

    fn compensate(&self, step: usize, attempt: &Attempt) -> LocalBoxFuture<'static, Result<(), StepError<JsValue>>> {
        match &self.steps[step].compensate {
            Some(f) => {
                let call = self.call(f, step, attempt);
                Box::pin(async move { call.await.map(drop) })
            }
            None => Box::pin(ready(Ok(()))),
        }
    }

    fn version_of(&self, output: &JsValue) -> Option<Version> {
        if !output.is_object() {
            return None;
        }
        Reflect::get(output, &"version".into()).ok().and_then(|v| version_of(&v))
    }

    fn commit(&self, step: usize, output: JsValue) {
        sys::set_result(&self.results, &self.steps[step].name, &output);
    }
}
