//! What happened: the transaction's status and a report per step.

use std::rc::Rc;

use super::error::StepError;

/// How a transaction ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransactionStatus {
    /// Every step succeeded.
    Committed,
    /// A step failed for good and every completed step was compensated.
    Compensated,
    /// A step failed for good and at least one compensation failed or was not attempted.
    CompensationFailed,
}

impl TransactionStatus {
    /// The JS spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            TransactionStatus::Committed => "committed",
            TransactionStatus::Compensated => "compensated",
            TransactionStatus::CompensationFailed => "compensation_failed",
        }
    }

    /// The status [`as_str`](Self::as_str) names.
    pub fn from_name(name: &str) -> Option<Self> {
        [TransactionStatus::Committed, TransactionStatus::Compensated, TransactionStatus::CompensationFailed]
            .into_iter()
            .find(|s| s.as_str() == name)
    }
}

/// How a step's forward path ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepStatus {
    /// Never started (an earlier step failed, or the transaction was cancelled first).
    Pending,
    /// `execute` succeeded.
    Succeeded,
    /// `execute` failed for good.
    Failed,
}

impl StepStatus {
    /// The JS spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Pending => "pending",
            StepStatus::Succeeded => "succeeded",
            StepStatus::Failed => "failed",
        }
    }
}

/// How a step's compensation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompensationStatus {
    /// `compensate` succeeded.
    Compensated,
    /// `compensate` failed for good.
    Failed,
    /// Not attempted: an earlier-run compensation failed under `onCompensationFailure: 'halt'`.
    Skipped,
}

impl CompensationStatus {
    /// The JS spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            CompensationStatus::Compensated => "compensated",
            CompensationStatus::Failed => "failed",
            CompensationStatus::Skipped => "skipped",
        }
    }
}

/// One compensation's outcome.
#[derive(Clone, Debug, PartialEq)]
pub struct CompensationReport<C> {
    /// How it ended.
    pub status: CompensationStatus,
    /// Attempts made (0 when skipped).
    pub attempts: u32,
    /// The last attempt's error, when it failed.
    pub error: Option<StepError<C>>,
    /// When the first attempt started (ms since the epoch).
    pub started_at: Option<f64>,
    /// When it ended.
    pub ended_at: Option<f64>,
}

/// One step's outcome.
#[derive(Clone, Debug, PartialEq)]
pub struct StepReport<C> {
    /// The step's name.
    pub name: Rc<str>,
    /// How its forward path ended.
    pub status: StepStatus,
    /// Forward attempts made.
    pub attempts: u32,
    /// The last forward attempt's error, when it failed.
    pub error: Option<StepError<C>>,
    /// When the first attempt started (ms since the epoch).
    pub started_at: Option<f64>,
    /// When the step ended.
    pub ended_at: Option<f64>,
    /// Its compensation, when one ran or should have.
    pub compensation: Option<CompensationReport<C>>,
}

impl<C> StepReport<C> {
    pub(crate) fn pending(name: Rc<str>) -> Self {
        StepReport {
            name,
            status: StepStatus::Pending,
            attempts: 0,
            error: None,
            started_at: None,
            ended_at: None,
            compensation: None,
        }
    }
}

/// Everything a transaction did.
#[derive(Clone, Debug, PartialEq)]
pub struct Report<C> {
    /// The transaction's id.
    pub transaction_id: Rc<str>,
    /// How it ended.
    pub status: TransactionStatus,
    /// The step whose failure started compensation (`None` when committed, or when the
    /// transaction was cancelled or timed out between steps).
    pub failed_step: Option<usize>,
    /// Why the forward path stopped.
    pub error: Option<StepError<C>>,
    /// One report per defined step, in definition order.
    pub steps: Vec<StepReport<C>>,
    /// The first journal write that failed during compensation (compensation goes on anyway).
    pub journal_error: Option<String>,
}

impl<C> Report<C> {
    /// The steps whose compensation failed or was skipped, in the order compensation reached
    /// them (steps complete in definition order, so compensation walks it backwards).
    pub fn uncompensated(&self) -> Vec<usize> {
        let failed =
            |s: &StepReport<C>| s.compensation.as_ref().is_some_and(|c| c.status != CompensationStatus::Compensated);
        (0..self.steps.len()).rev().filter(|&i| failed(&self.steps[i])).collect()
    }
}
