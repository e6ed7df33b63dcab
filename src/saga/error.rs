//! Why a step or a compensation failed, independent of the host's error type.

use std::fmt;

/// What kind of failure ended an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureKind {
    /// The step threw or its promise rejected.
    Thrown,
    /// The attempt ran past its `timeoutMs`.
    Timeout,
    /// The transaction ran past its own `timeoutMs`.
    TransactionTimeout,
    /// The transaction was cancelled (`options.signal`).
    Aborted,
    /// The result's `version` was not the `expectedVersion`.
    OptimisticLock,
    /// The journal could not record the step, so it was not run.
    Journal,
    /// The host stopped while the step was in flight and the step is `compensateOnFailure`.
    Interrupted,
}

impl FailureKind {
    /// The stable JS `Error.name` for this kind.
    pub fn error_name(self) -> &'static str {
        match self {
            FailureKind::Thrown => "StepFailedError",
            FailureKind::Timeout | FailureKind::TransactionTimeout => "TimeoutError",
            FailureKind::Aborted => "AbortError",
            FailureKind::OptimisticLock => "OptimisticLockError",
            FailureKind::Journal => "JournalError",
            FailureKind::Interrupted => "InterruptedError",
        }
    }

    /// The kind a journaled `error.name` stands for (`TimeoutError` reads back as a step
    /// timeout); `None` for a name this version does not write.
    pub fn from_error_name(name: &str) -> Option<Self> {
        [
            FailureKind::Thrown,
            FailureKind::Timeout,
            FailureKind::Aborted,
            FailureKind::OptimisticLock,
            FailureKind::Journal,
            FailureKind::Interrupted,
        ]
        .into_iter()
        .find(|k| k.error_name() == name)
    }
}

/// A failed attempt. `C` is the host's raw error (a `JsValue` in wasm), kept as the `cause`.
#[derive(Clone, Debug, PartialEq)]
pub struct StepError<C> {
    /// The kind of failure.
    pub kind: FailureKind,
    /// The thrown error's own `name` (`TypeError`, `PaymentDeclined`), when it had one.
    pub name: Option<String>,
    /// A human-readable description.
    pub message: String,
    /// `false` when the error said it must not be retried (`err.retryable === false`).
    pub retryable: Option<bool>,
    /// The delay the error asked for before the next attempt (`err.retryAfterMs`).
    pub retry_after_ms: Option<u64>,
    /// What the step actually threw.
    pub cause: Option<C>,
}

impl<C> StepError<C> {
    /// A failure with no host error behind it.
    pub fn new(kind: FailureKind, message: String) -> Self {
        StepError { kind, name: None, message, retryable: None, retry_after_ms: None, cause: None }
    }

    /// What a step threw.
    pub fn thrown(name: Option<String>, message: String, cause: Option<C>) -> Self {
        StepError { name, cause, ..StepError::new(FailureKind::Thrown, message) }
    }
}

impl<C> fmt::Display for StepError<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "{name}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}
