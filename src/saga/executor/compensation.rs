//! The backward half of a run: compensating the completed steps in reverse order, each with its
//! own retries and timeout, going on past a failure unless the definition says `halt`.

use super::{recovered, Run};
use crate::saga::cancel::CancelToken;
use crate::saga::definition::OnCompensationFailure;
use crate::saga::error::StepError;
use crate::saga::event::{CheckpointKind, EventKind};
use crate::saga::guard::{guarded, Bounds};
use crate::saga::recovery::Phase;
use crate::saga::report::{CompensationReport, CompensationStatus, TransactionStatus};
use crate::saga::runner::StepRunner;

impl<R: StepRunner + ?Sized> Run<'_, R> {
    /// Compensates `completed` in reverse order; returns the transaction's final status.
    pub(super) async fn compensate_all(&mut self, completed: &[usize]) -> TransactionStatus {
        let mut halted = false;
        let mut all_ok = true;
        for &i in completed.iter().rev() {
            if !self.def.steps[i].has_compensate {
                continue;
            }
            if halted {
                all_ok = false;
                self.steps[i].compensation = Some(CompensationReport {
                    status: CompensationStatus::Skipped,
                    attempts: 0,
                    error: None,
                    started_at: None,
                    ended_at: None,
                });
                continue;
            }
            let first_attempt = match self.recovery.step(i).compensation.clone() {
                Phase::NotStarted => 1,
                Phase::InFlight { attempt } => attempt,
                Phase::Succeeded { attempts } => {
                    self.restore_compensation(i, attempts, None);
                    continue;
                }
                Phase::Failed { attempts, error } => {
                    self.restore_compensation(i, attempts, Some(recovered(error)));
                    all_ok = false;
                    halted = self.def.on_compensation_failure == OnCompensationFailure::Halt;
                    continue;
                }
            };
            if !self.compensate(i, first_attempt).await {
                all_ok = false;
                halted = self.def.on_compensation_failure == OnCompensationFailure::Halt;
            }
        }
        if all_ok {
            TransactionStatus::Compensated
        } else {
            TransactionStatus::CompensationFailed
        }
    }

    /// Runs one compensation with its retries. Not bounded by the transaction's deadline or
    /// cancellation: undoing must be allowed to finish.
    async fn compensate(&mut self, i: usize, first_attempt: u32) -> bool {
        let transaction = self.def;
        let def = &transaction.steps[i];
        let bounds = Bounds { attempt_timeout_ms: def.compensation_timeout_ms, deadline: None };
        let never = CancelToken::new();
        let started_at =
            Some(self.recovery.step(i).compensation_started_at.unwrap_or_else(|| self.host.clock.now_ms()));
        self.emit(EventKind::CompensationStarted, Some(i), first_attempt, None, None);
        let mut attempt = first_attempt;
        let error = loop {
            if let Err(e) = self.checkpoint(CheckpointKind::CompensationStarted, Some(i), attempt, None).await {
                self.journal_error.get_or_insert(e.message);
            }
            let token = CancelToken::new();
            let info = self.attempt(i, attempt, true, token.clone());
            let error = match guarded(self.host.clock, self.runner.compensate(i, &info), bounds, &never, &token).await {
                Ok(Ok(())) => break None,
                Ok(Err(e)) => e,
                // Only the compensation's own timeout can interrupt it.
                Err(reason) => StepError::new(
                    reason,
                    format!(
                        "compensation of step \"{}\" attempt {attempt} timed out after {} ms",
                        &*def.name,
                        def.compensation_timeout_ms.unwrap_or(0)
                    ),
                ),
            };
            let Some(delay) = self.retry_delay(&def.compensation_retry, attempt, &error) else { break Some(error) };
            self.host.clock.sleep(delay).await;
            attempt += 1;
        };
        let ok = error.is_none();
        let (kind, checkpoint) = if ok {
            (EventKind::CompensationSucceeded, CheckpointKind::CompensationSucceeded)
        } else {
            (EventKind::CompensationFailed, CheckpointKind::CompensationFailed)
        };
        self.emit(kind, Some(i), attempt, error.as_ref(), None);
        let journaled = error.as_ref().map(|e| (e.kind, e.to_string()));
        if let Err(e) = self.checkpoint(checkpoint, Some(i), attempt, journaled).await {
            self.journal_error.get_or_insert(e.message);
        }
        self.steps[i].compensation = Some(CompensationReport {
            status: if ok { CompensationStatus::Compensated } else { CompensationStatus::Failed },
            attempts: attempt,
            error,
            started_at,
            ended_at: Some(self.host.clock.now_ms()),
        });
        ok
    }

    /// Reports step `i`'s compensation as the journal has it: settled before the host stopped.
    fn restore_compensation(&mut self, i: usize, attempts: u32, error: Option<StepError<R::Cause>>) {
        let state = self.recovery.step(i);
        self.steps[i].compensation = Some(CompensationReport {
            status: if error.is_none() { CompensationStatus::Compensated } else { CompensationStatus::Failed },
            attempts,
            error,
            started_at: state.compensation_started_at,
            ended_at: state.compensation_ended_at,
        });
    }
}
