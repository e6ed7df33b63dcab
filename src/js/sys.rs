//! Raw bindings to `glue.js`, kept apart from the idiomatic wrappers (as workers-rs does).

use js_sys::{Array, Function, Object};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/src/js/glue.js")]
extern "C" {
    /// One attempt of a user's `execute` or `compensate`, already called.
    #[derive(Clone)]
    pub type Attempt;

    #[wasm_bindgen(constructor)]
    pub fn new(
        f: &Function,
        ctx: &Object,
        transaction_id: &JsValue,
        step: &JsValue,
        attempt: u32,
        compensating: bool,
        notifier: &Notifier,
    ) -> Attempt;
    /// 0: settled with a value, 1: pending, 2: threw or rejected.
    #[wasm_bindgen(method, getter)]
    pub fn state(this: &Attempt) -> u8;
    #[wasm_bindgen(method, getter)]
    pub fn value(this: &Attempt) -> JsValue;
    #[wasm_bindgen(method)]
    pub fn abort(this: &Attempt, reason: &JsValue);

    /// Calls a Rust waker when an attempt settles, until closed.
    pub type Notifier;
    #[wasm_bindgen(constructor)]
    pub fn new(wake: &Function) -> Notifier;
    #[wasm_bindgen(method)]
    pub fn close(this: &Notifier);

    #[wasm_bindgen(js_name = makeError)]
    pub fn make_error(name: &str, message: &str, step: &JsValue, cause: &JsValue, has_cause: bool) -> JsValue;
    #[wasm_bindgen(js_name = describeError)]
    pub fn describe_error(thrown: &JsValue) -> js_sys::Array;
    #[allow(clippy::too_many_arguments)]
    #[wasm_bindgen(js_name = makeEvent)]
    pub fn make_event(
        kind: u8,
        transaction_id: &JsValue,
        transaction_name: &JsValue,
        step: &JsValue,
        attempt: u32,
        error: &JsValue,
        delay_ms: Option<f64>,
        completed_steps: u32,
        total_steps: u32,
        timestamp: f64,
    ) -> JsValue;
    #[wasm_bindgen(js_name = makeStepReport)]
    pub fn make_step_report(
        name: &JsValue,
        status: u8,
        attempts: u32,
        error: &JsValue,
        started_at: Option<f64>,
        ended_at: Option<f64>,
        compensation: &JsValue,
    ) -> JsValue;
    #[wasm_bindgen(js_name = makeCompensationReport)]
    pub fn make_compensation_report(
        status: u8,
        attempts: u32,
        error: &JsValue,
        started_at: Option<f64>,
        ended_at: Option<f64>,
    ) -> JsValue;
    #[wasm_bindgen(js_name = makeResult)]
    pub fn make_result(
        status: u8,
        transaction_id: &JsValue,
        result: &JsValue,
        error: &JsValue,
        steps: &js_sys::Array,
        context: &Object,
    ) -> JsValue;
    #[wasm_bindgen(js_name = setResult)]
    pub fn set_result(results: &Object, name: &JsValue, value: &JsValue);
    #[wasm_bindgen(js_name = makeContext)]
    pub fn make_context(context: &JsValue) -> Object;
    /// `[json, [name, execute, compensate, ...]]`, or `[null, field, reason]`.
    #[wasm_bindgen(js_name = readDefinition)]
    pub fn read_definition(definition: &JsValue) -> Array;
    #[wasm_bindgen(js_name = newTransactionId)]
    pub fn new_transaction_id() -> JsValue;
    #[wasm_bindgen(js_name = reportListenerError)]
    pub fn report_listener_error(error: &JsValue);
}
