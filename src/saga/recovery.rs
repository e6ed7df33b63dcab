//! Resuming a transaction from its journal after the host stopped (a reloaded page, a restarted
//! Worker): replay the checkpoints into where each step stood, then let the executor go on from
//! there.
//!
//! What resuming does, step by step:
//! * a step that succeeded is not run again (the host restores its result);
//! * a step that was in flight is run again as the same attempt, so with the same idempotency
//!   key, and the service can tell it is a repeat — or, when the step is marked
//!   `compensateOnFailure`, it is treated as failed and compensated, since its effect is unknown;
//! * a compensation that finished is not run again; one in flight is run again; compensation
//!   goes on to its end;
//! * a transaction whose journal says it finished runs nothing and reports what it recorded.
//!
//! ```
//! use edgesaga::saga::recovery::{Phase, Recovery};
//! use edgesaga::saga::{Checkpoint, CheckpointKind};
//!
//! let record = |kind, step, attempt, at| Checkpoint { transaction_id: "tx-1".into(), kind, step, attempt, at, error: None };
//! let records = [
//!     record(CheckpointKind::TransactionStarted, None, 0, 10.0),
//!     record(CheckpointKind::StepStarted, Some(0), 1, 11.0),
//!     record(CheckpointKind::StepSucceeded, Some(0), 1, 12.0),
//!     record(CheckpointKind::StepStarted, Some(1), 2, 13.0),
//! ];
//! let recovery = Recovery::replay(2, &records).unwrap();
//! assert_eq!(recovery.started_at(), Some(10.0));
//! assert_eq!(recovery.step(0).forward, Phase::Succeeded { attempts: 1 });
//! assert_eq!(recovery.step(1).forward, Phase::InFlight { attempt: 2 });
//! ```

use super::error::FailureKind;
use super::event::{Checkpoint, CheckpointKind};
use super::report::TransactionStatus;
use crate::platform::journal::JournalError;

/// Where one action (a step's execute, or its compensation) stood when the journal ends.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Phase {
    /// Never started.
    #[default]
    NotStarted,
    /// Started `attempt` and recorded no outcome: it may or may not have taken effect.
    InFlight {
        /// The attempt that was running.
        attempt: u32,
    },
    /// Succeeded after `attempts` attempts.
    Succeeded {
        /// Attempts made.
        attempts: u32,
    },
    /// Failed for good after `attempts` attempts.
    Failed {
        /// Attempts made.
        attempts: u32,
        /// The failure as journaled.
        error: Option<(FailureKind, String)>,
    },
}

impl Phase {
    /// The outcome is known: nothing of this action is left to run.
    pub fn is_settled(&self) -> bool {
        matches!(self, Phase::Succeeded { .. } | Phase::Failed { .. })
    }

    fn start(&mut self, attempt: u32) {
        *self = Phase::InFlight { attempt };
    }
}

/// A step's forward and compensation phases.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StepState {
    /// The step's execute.
    pub forward: Phase,
    /// The step's compensation.
    pub compensation: Phase,
    /// When its first attempt started and when it settled.
    pub started_at: Option<f64>,
    /// When the forward phase settled.
    pub ended_at: Option<f64>,
    /// When its compensation started and settled.
    pub compensation_started_at: Option<f64>,
    /// When the compensation settled.
    pub compensation_ended_at: Option<f64>,
}

/// A journal replayed: where the transaction and each of its steps stood.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Recovery {
    started_at: Option<f64>,
    finished: Option<TransactionStatus>,
    steps: Vec<StepState>,
}

impl Recovery {
    /// Nothing journaled: a fresh start.
    pub fn fresh(steps: usize) -> Self {
        Recovery { steps: vec![StepState::default(); steps], ..Default::default() }
    }

    /// Replays `records` (oldest first) for a definition of `steps` steps. A record about a step
    /// the definition does not have means the journal belongs to another definition: resuming
    /// would run the wrong steps, so it is an error.
    pub fn replay<'a>(steps: usize, records: impl IntoIterator<Item = &'a Checkpoint>) -> Result<Self, JournalError> {
        let mut recovery = Recovery::fresh(steps);
        for record in records {
            let state = match record.step {
                Some(i) => match recovery.steps.get_mut(i) {
                    Some(state) => Some(state),
                    None => {
                        return Err(JournalError(format!(
                            "the journal names step {i}, but the definition has {steps} steps: it belongs to another definition"
                        )))
                    }
                },
                None => None,
            };
            let attempts = record.attempt.max(1);
            match (record.kind, state) {
                (CheckpointKind::TransactionStarted, _) => {
                    recovery.started_at.get_or_insert(record.at);
                }
                (CheckpointKind::TransactionFinished(status), _) => recovery.finished = Some(status),
                (CheckpointKind::StepStarted, Some(s)) => {
                    s.started_at.get_or_insert(record.at);
                    s.forward.start(attempts);
                }
                (CheckpointKind::StepSucceeded, Some(s)) => {
                    s.forward = Phase::Succeeded { attempts };
                    s.ended_at = Some(record.at);
                }
                (CheckpointKind::StepFailed, Some(s)) => {
                    s.forward = Phase::Failed { attempts, error: record.error.clone() };
                    s.ended_at = Some(record.at);
                }
                (CheckpointKind::CompensationStarted, Some(s)) => {
                    s.compensation_started_at.get_or_insert(record.at);
                    s.compensation.start(attempts);
                }
                (CheckpointKind::CompensationSucceeded, Some(s)) => {
                    s.compensation = Phase::Succeeded { attempts };
                    s.compensation_ended_at = Some(record.at);
                }
                (CheckpointKind::CompensationFailed, Some(s)) => {
                    s.compensation = Phase::Failed { attempts, error: record.error.clone() };
                    s.compensation_ended_at = Some(record.at);
                }
                (_, None) => return Err(JournalError("a step record without a step index".to_owned())),
            }
        }
        Ok(recovery)
    }

    /// When the transaction first started, if the journal says it did.
    pub fn started_at(&self) -> Option<f64> {
        self.started_at
    }

    /// The final status, if the journal says the transaction finished.
    pub fn finished(&self) -> Option<TransactionStatus> {
        self.finished
    }

    /// Where step `i` stood.
    pub fn step(&self, i: usize) -> &StepState {
        &self.steps[i]
    }

    /// Whether anything was journaled at all.
    pub fn is_fresh(&self) -> bool {
        self.started_at.is_none() && self.steps.iter().all(|s| s.forward == Phase::NotStarted)
    }
}
