//! Turns the executor's [`Report`] into the JS result object.

use js_sys::{Array, Object, Reflect};
use wasm_bindgen::JsValue;

use super::error::to_js_error;
use super::sys;
use crate::saga::{Report, TransactionStatus};

/// The JS side of one transaction, whatever runs its steps: its step names (the JS strings),
/// `ctx`, `ctx.results` and id.
pub struct TxView {
    pub names: Vec<JsValue>,
    pub ctx: Object,
    pub results: Object,
    pub transaction_id: JsValue,
}

/// `{ success, status, transactionId, result, error, steps, context }`.
pub fn to_js(report: &Report<JsValue>, runner: &TxView) -> JsValue {
    let steps = Array::new_with_length(report.steps.len() as u32);
    let mut step_errors = Vec::with_capacity(report.steps.len());
    for (i, step) in report.steps.iter().enumerate() {
        let name = &runner.names[i];
        let error = step.error.as_ref().map_or(JsValue::NULL, |e| to_js_error(e, name));
        let compensation = step.compensation.as_ref().map_or(JsValue::NULL, |c| {
            let error = c.error.as_ref().map_or(JsValue::NULL, |e| to_js_error(e, name));
            sys::make_compensation_report(c.status as u8, c.attempts, &error, c.started_at, c.ended_at)
        });
        let js = sys::make_step_report(
            name,
            step.status as u8,
            step.attempts,
            &error,
            step.started_at,
            step.ended_at,
            &compensation,
        );
        steps.set(i as u32, js);
        step_errors.push(error);
    }
    // The failing step's error object is the transaction's error too, not a copy of it.
    let failure = match (report.failed_step, &report.error) {
        (Some(i), _) => step_errors[i].clone(),
        (None, Some(e)) => to_js_error(e, &JsValue::UNDEFINED),
        (None, None) => JsValue::NULL,
    };
    let (result, error) = match report.status {
        TransactionStatus::Committed => {
            let last = runner.names.last().cloned().unwrap_or(JsValue::UNDEFINED);
            (Reflect::get(&runner.results, &last).unwrap_or(JsValue::UNDEFINED), JsValue::NULL)
        }
        TransactionStatus::Compensated => (JsValue::UNDEFINED, failure),
        TransactionStatus::CompensationFailed => (JsValue::UNDEFINED, compensation_failed(report, runner, failure)),
    };
    sys::make_result(report.status as u8, &runner.transaction_id, &result, &error, &steps, &runner.ctx)
}

/// A `CompensationFailedError` naming each step left uncompensated, caused by the original failure.
fn compensation_failed(report: &Report<JsValue>, runner: &TxView, failure: JsValue) -> JsValue {
    let left = report.uncompensated();
    let names: Vec<String> = left.iter().map(|&i| format!("\"{}\"", report.steps[i].name)).collect();
    let original = sys::describe_error(&failure).get(1).as_string().unwrap_or_default();
    let message = format!("compensation failed for step(s) {} after: {original}", names.join(", "));
    let error = sys::make_error("CompensationFailedError", &message, &JsValue::UNDEFINED, &failure, true);
    let steps: Array = left.iter().map(|&i| runner.names[i].clone()).collect();
    let _ = Reflect::set(&error, &"steps".into(), &steps);
    error
}
