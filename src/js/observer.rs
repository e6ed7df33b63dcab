//! Delivers the executor's lifecycle events to JS listeners, and its checkpoints to the
//! journal — the internal channel no listener can reach.

use std::rc::Rc;

use futures::future::LocalBoxFuture;
use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use super::error::to_js_error;
use super::{journal, sys};
use crate::bus::Emitter;
use crate::platform::journal::JournalError;
use crate::saga::{Checkpoint, EventKind, LifecycleEvent, Observer};

/// The listeners of one coordinator plus what one transaction needs to build events.
pub struct JsObserver {
    pub emitter: Rc<Emitter<Function>>,
    pub on_event: Option<Function>,
    pub journal: Option<Object>,
    pub transaction_id: JsValue,
    pub transaction_name: Rc<str>,
    /// Step names as the user's JS strings, by index.
    pub step_names: Vec<JsValue>,
    /// The same names as the executor knows them, to find the JS string without a crossing.
    pub rust_names: Vec<Rc<str>>,
    /// `ctx.results`, journaled with each step that succeeds.
    pub results: Object,
}

impl JsObserver {
    fn step_name(&self, name: Option<&str>) -> JsValue {
        name.and_then(|n| self.rust_names.iter().position(|r| **r == *n))
            .map_or(JsValue::UNDEFINED, |i| self.step_names[i].clone())
    }
}

fn call_listener(f: &Function, event: &JsValue) {
    // A throwing listener must never break the transaction: report it and go on.
    if let Err(e) = f.call1(&JsValue::UNDEFINED, event) {
        sys::report_listener_error(&e);
    }
}

impl Observer<JsValue> for JsObserver {
    fn wants(&self, kind: EventKind) -> bool {
        self.on_event.is_some() || self.emitter.has_listeners(kind.name())
    }

    fn event(&self, e: &LifecycleEvent<'_, JsValue>) {
        let step = self.step_name(e.step);
        let error = e.error.map_or(JsValue::UNDEFINED, |err| to_js_error(err, &step));
        let event = sys::make_event(
            e.kind as u8,
            &self.transaction_id,
            &JsValue::from_str(&self.transaction_name),
            &step,
            e.attempt,
            &error,
            e.delay_ms.map(|d| d as f64),
            e.completed_steps as u32,
            e.total_steps as u32,
            e.timestamp,
        );
        if let Some(f) = &self.on_event {
            call_listener(f, &event);
        }
        self.emitter.emit(e.kind.name(), |f| call_listener(f, &event));
    }

    fn journaled(&self) -> bool {
        self.journal.is_some()
    }

    fn checkpoint(&self, cp: Checkpoint) -> Option<LocalBoxFuture<'static, Result<(), JournalError>>> {
        let journal = self.journal.as_ref()?;
        let record = journal::record(&cp, &self.step_names, &self.results);
        let append = Reflect::get(journal, &"append".into()).ok().and_then(|f| f.dyn_into::<Function>().ok());
        let outcome = match append {
            Some(f) => f.call2(journal, &self.transaction_id, &record),
            None => Err(JsValue::from_str("journal.append is not a function")),
        };
        Some(Box::pin(async move {
            let written = match outcome {
                Ok(v) => JsFuture::from(Promise::resolve(&v)).await,
                Err(e) => Err(e),
            };
            written.map(drop).map_err(|e| JournalError(journal::describe(&e)))
        }))
    }
}
