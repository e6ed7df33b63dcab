//! Lifecycle events (public) and checkpoints (internal), and the observer that receives both.

use futures::future::LocalBoxFuture;
use std::rc::Rc;

use super::error::{FailureKind, StepError};
use super::report::TransactionStatus;
use crate::platform::journal::JournalError;

/// The public lifecycle events, in the order a transaction can emit them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// `transaction.started`
    TransactionStarted,
    /// `step.started`: the first attempt of a step begins.
    StepStarted,
    /// `step.retrying`: an attempt failed and another follows after `delayMs`.
    StepRetrying,
    /// `step.succeeded`
    StepSucceeded,
    /// `step.failed`: the step failed for good.
    StepFailed,
    /// `compensation.started`
    CompensationStarted,
    /// `compensation.succeeded`
    CompensationSucceeded,
    /// `compensation.failed`: a compensation failed for good.
    CompensationFailed,
    /// `transaction.committed`
    TransactionCommitted,
    /// `transaction.compensated`
    TransactionCompensated,
    /// `transaction.compensation_failed`
    TransactionCompensationFailed,
    /// `progress`: `{ completedSteps, totalSteps }` after each successful step.
    Progress,
}

impl EventKind {
    /// Every public event, for hosts that list them.
    pub const ALL: [EventKind; 12] = [
        EventKind::TransactionStarted,
        EventKind::StepStarted,
        EventKind::StepRetrying,
        EventKind::StepSucceeded,
        EventKind::StepFailed,
        EventKind::CompensationStarted,
        EventKind::CompensationSucceeded,
        EventKind::CompensationFailed,
        EventKind::TransactionCommitted,
        EventKind::TransactionCompensated,
        EventKind::TransactionCompensationFailed,
        EventKind::Progress,
    ];

    /// The event's name, as listeners subscribe to it.
    pub fn name(self) -> &'static str {
        match self {
            EventKind::TransactionStarted => "transaction.started",
            EventKind::StepStarted => "step.started",
            EventKind::StepRetrying => "step.retrying",
            EventKind::StepSucceeded => "step.succeeded",
            EventKind::StepFailed => "step.failed",
            EventKind::CompensationStarted => "compensation.started",
            EventKind::CompensationSucceeded => "compensation.succeeded",
            EventKind::CompensationFailed => "compensation.failed",
            EventKind::TransactionCommitted => "transaction.committed",
            EventKind::TransactionCompensated => "transaction.compensated",
            EventKind::TransactionCompensationFailed => "transaction.compensation_failed",
            EventKind::Progress => "progress",
        }
    }

    /// The event that ends a transaction with `status`.
    pub fn finished(status: TransactionStatus) -> EventKind {
        match status {
            TransactionStatus::Committed => EventKind::TransactionCommitted,
            TransactionStatus::Compensated => EventKind::TransactionCompensated,
            TransactionStatus::CompensationFailed => EventKind::TransactionCompensationFailed,
        }
    }
}

/// A public lifecycle event. Borrowed, so emitting costs nothing when no one listens.
#[derive(Debug)]
pub struct LifecycleEvent<'a, C> {
    /// Which event.
    pub kind: EventKind,
    /// The transaction's id.
    pub transaction_id: &'a str,
    /// The definition's name.
    pub transaction_name: &'a str,
    /// The step concerned, if any.
    pub step: Option<&'a str>,
    /// The attempt number (0 when not about an attempt).
    pub attempt: u32,
    /// The error, on `step.retrying`, `step.failed`, `compensation.failed` and a failed end.
    pub error: Option<&'a StepError<C>>,
    /// The wait before the next attempt, on `step.retrying`.
    pub delay_ms: Option<u64>,
    /// Steps completed so far.
    pub completed_steps: usize,
    /// Steps in the definition.
    pub total_steps: usize,
    /// When it happened (ms since the epoch).
    pub timestamp: f64,
}

/// What an internal checkpoint records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckpointKind {
    /// The transaction began.
    TransactionStarted,
    /// An attempt of the step is about to run.
    StepStarted,
    /// The step succeeded.
    StepSucceeded,
    /// The step failed for good.
    StepFailed,
    /// A compensation attempt is about to run.
    CompensationStarted,
    /// The compensation succeeded.
    CompensationSucceeded,
    /// The compensation failed for good.
    CompensationFailed,
    /// The transaction ended.
    TransactionFinished(TransactionStatus),
}

/// An internal journal record: never a public event.
#[derive(Clone, Debug, PartialEq)]
pub struct Checkpoint {
    /// The transaction's id.
    pub transaction_id: Rc<str>,
    /// What happened.
    pub kind: CheckpointKind,
    /// The step's index, when about a step.
    pub step: Option<usize>,
    /// The attempt number (0 when not about an attempt).
    pub attempt: u32,
    /// When (ms since the epoch).
    pub at: f64,
    /// The failure, on `StepFailed` and `CompensationFailed`, so a resumed run can report it.
    pub error: Option<(FailureKind, String)>,
}

/// Where the executor reports: public events to listeners, checkpoints to the internal channel.
pub trait Observer<C> {
    /// Whether anyone listens to `kind`; when not, the event is never built.
    fn wants(&self, kind: EventKind) -> bool;
    /// Delivers a public event. Listener failures are the observer's to contain.
    fn event(&self, event: &LifecycleEvent<'_, C>);
    /// Whether checkpoints are written at all; when not, they are never built.
    fn journaled(&self) -> bool {
        true
    }
    /// Writes a checkpoint to the internal channel; `None` when nothing is journaled.
    fn checkpoint(&self, checkpoint: Checkpoint) -> Option<LocalBoxFuture<'static, Result<(), JournalError>>>;
}

/// An observer that listens to nothing.
pub struct Silent;

impl<C> Observer<C> for Silent {
    fn wants(&self, _: EventKind) -> bool {
        false
    }
    fn event(&self, _: &LifecycleEvent<'_, C>) {}
    fn journaled(&self) -> bool {
        false
    }
    fn checkpoint(&self, _: Checkpoint) -> Option<LocalBoxFuture<'static, Result<(), JournalError>>> {
        None
    }
}
