//! Runs the user's JS step functions for the executor: sync or async, throwing anything.

use futures::future::{ready, LocalBoxFuture};
use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

use super::definition::{version_of, JsStep};
use super::error::{abort_reason, from_thrown};
use super::sys;
use crate::saga::{Attempt, StepError, StepRunner, Version};

/// The steps of one transaction, its shared `ctx` and `ctx.results`.
pub struct JsRunner {
    pub steps: Vec<JsStep>,
    pub ctx: Object,
    pub results: Object,
    pub transaction_id: JsValue,
}

type Outcome = Result<JsValue, StepError<JsValue>>;

impl JsRunner {
    fn call(&self, f: &Function, step: usize, attempt: &Attempt) -> LocalBoxFuture<'static, Outcome> {
        let handle = sys::Attempt::new(
            f,
            &self.ctx,
            &self.transaction_id,
            &self.steps[step].name,
            attempt.attempt,
            attempt.compensating,
        );
        match handle.state() {
            0 => Box::pin(ready(Ok(handle.value()))),
            2 => Box::pin(ready(Err(from_thrown(handle.value())))),
            _ => {
                let pending = JsFuture::from(Promise::resolve(&handle.value()));
                // Mirrors the executor's verdict (timeout, cancellation) onto `info.signal`.
                let link = attempt.signal.on_abort(move |kind| handle.abort(&abort_reason(kind)));
                Box::pin(async move {
                    let outcome = pending.await.map_err(from_thrown);
                    drop(link);
                    outcome
                })
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
        // ctx.results is a plain object the runner created: setting a key cannot throw.
        let _ = Reflect::set(&self.results, &self.steps[step].name, &output);
    }
}
