//! The one error enum of the JS API, and how every failure becomes a real JS `Error` with a
//! stable `name`.

use js_sys::Reflect;
use wasm_bindgen::prelude::*;

use super::sys;
use crate::saga::{DefinitionError, FailureKind, StepError};

/// Everything the JS API can reject with, before or after running anything.
#[non_exhaustive]
#[derive(Debug)]
pub enum Error {
    /// A transaction definition (or its options) failed validation: nothing ran.
    Definition(DefinitionError),
    /// An argument other than the definition (options, an event name) is not what the API takes.
    InvalidArgument {
        /// The argument's path (`options.signal`).
        field: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl From<DefinitionError> for Error {
    fn from(e: DefinitionError) -> Self {
        Error::Definition(e)
    }
}

impl From<Error> for JsValue {
    fn from(e: Error) -> JsValue {
        let (name, message, field) = match e {
            Error::Definition(e) => ("DefinitionError", e.to_string(), e.field),
            Error::InvalidArgument { field, reason } => ("TypeError", format!("edgesaga: {field}: {reason}"), field),
        };
        let error = sys::make_error(name, &message, &JsValue::UNDEFINED, &JsValue::UNDEFINED, false);
        // Tools can point at the field without parsing the message.
        let _ = Reflect::set(&error, &"field".into(), &field.as_str().into());
        error
    }
}

/// Describes whatever a step threw: an `Error`, a string, `undefined`, a frozen object...
pub fn from_thrown(thrown: JsValue) -> StepError<JsValue> {
    let parts = sys::describe_error(&thrown);
    let name = parts.get(0).as_string();
    let message = parts.get(1).as_string().unwrap_or_default();
    let mut error = StepError::thrown(name, message, Some(thrown));
    error.retryable = parts.get(2).as_bool();
    error.retry_after_ms = parts.get(3).as_f64().map(|ms| ms as u64);
    error
}

/// The `AbortSignal` reason a step sees when its attempt is cut short.
pub fn abort_reason(kind: FailureKind) -> JsValue {
    let message = match kind {
        FailureKind::Timeout => "the step attempt timed out",
        FailureKind::TransactionTimeout => "the transaction timed out",
        _ => "the transaction was cancelled",
    };
    sys::make_error(kind.error_name(), message, &JsValue::UNDEFINED, &JsValue::UNDEFINED, false)
}

/// The JS `Error` for a failed step or compensation: `StepFailedError` (with the thrown value
/// as `cause`), `TimeoutError`, `AbortError`, `OptimisticLockError` or `JournalError`.
pub fn to_js_error(error: &StepError<JsValue>, step: &JsValue) -> JsValue {
    let message = match (error.kind, step.as_string()) {
        (FailureKind::Thrown, Some(step)) => format!("step \"{step}\" failed: {error}"),
        _ => error.message.clone(),
    };
    let cause = error.cause.as_ref();
    sys::make_error(error.kind.error_name(), &message, step, cause.unwrap_or(&JsValue::UNDEFINED), cause.is_some())
}
