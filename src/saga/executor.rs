//! The coordinator's core: run steps in order, retry, time out, cancel, and compensate the
//! completed steps in reverse order when one fails for good.
//!
//! The executor knows nothing of JavaScript: a [`StepRunner`] performs the steps, a
//! [`Clock`] and an [`Rng`] stand for the host, an [`Observer`] hears what happens.
//!
//! ```
//! use edgesaga::platform::{virtual_time::VirtualClock, SeededRng};
//! use edgesaga::saga::{definition::*, *};
//! use futures::future::{ready, LocalBoxFuture};
//!
//! struct Fails(usize); // fails at step self.0
//! impl StepRunner for Fails {
//!     type Output = ();
//!     type Cause = ();
//!     fn execute(&self, step: usize, _: &Attempt) -> LocalBoxFuture<'static, Result<(), StepError<()>>> {
//!         Box::pin(ready(if step == self.0 { Err(StepError::thrown(None, "declined".into(), None)) } else { Ok(()) }))
//!     }
//!     fn compensate(&self, _: usize, _: &Attempt) -> LocalBoxFuture<'static, Result<(), StepError<()>>> {
//!         Box::pin(ready(Ok(())))
//!     }
//! }
//!
//! let step = |n: &str| RawStep { name: Some(n.into()), has_compensate: true, ..Default::default() };
//! let def = validate(RawDefinition { steps: vec![step("reserve"), step("charge")], ..Default::default() }).unwrap();
//! let clock = VirtualClock::new();
//! let rng = SeededRng::new(1);
//! let host = Host { clock: &clock, rng: &rng, observer: &Silent };
//! let report = clock.run(execute(&def, &Fails(1), &host, "tx-1".into(), CancelToken::new()));
//! assert_eq!(report.status, TransactionStatus::Compensated);
//! assert_eq!(report.steps[0].compensation.as_ref().unwrap().status, CompensationStatus::Compensated);
//! ```

use std::rc::Rc;

use super::cancel::CancelToken;
use super::definition::{OnCompensationFailure, TransactionDef};
use super::error::{FailureKind, StepError};
use super::event::{Checkpoint, CheckpointKind, EventKind, LifecycleEvent};
use super::guard::{guarded, Bounds};
use super::policy::RetryPolicy;
use super::report::{CompensationReport, CompensationStatus, Report, StepReport, StepStatus, TransactionStatus};
pub use super::runner::{Attempt, Host, StepRunner};

/// Runs `def` to its end and reports what happened. Never panics on a step's behaviour:
/// every failure, timeout and cancellation ends up in the [`Report`].
pub async fn execute<R: StepRunner>(
    def: &TransactionDef,
    runner: &R,
    host: &Host<'_, R::Cause>,
    transaction_id: Rc<str>,
    cancel: CancelToken,
) -> Report<R::Cause> {
    let run = Run {
        def,
        runner,
        host,
        started_at: host.clock.now_ms(),
        steps: def.steps.iter().map(|s| StepReport::pending(s.name.clone())).collect(),
        completed: 0,
        transaction_id,
        journal_error: None,
    };
    run.run(cancel).await
}

struct Run<'a, R: StepRunner> {
    def: &'a TransactionDef,
    runner: &'a R,
    host: &'a Host<'a, R::Cause>,
    transaction_id: Rc<str>,
    started_at: f64,
    steps: Vec<StepReport<R::Cause>>,
    completed: usize,
    journal_error: Option<String>,
}

impl<R: StepRunner> Run<'_, R> {
    async fn run(mut self, cancel: CancelToken) -> Report<R::Cause> {
        // The forward path has its own token so the transaction deadline can abort it
        // without touching the caller's.
        let (forward, _link) = cancel.child();
        let deadline = self.def.timeout_ms.map(|ms| self.started_at + ms as f64);
        self.emit(EventKind::TransactionStarted, None, 0, None, None);
        let mut failure = self.checkpoint(CheckpointKind::TransactionStarted, None, 0).await.err().map(|e| (None, e));
        let mut to_compensate: Vec<usize> = Vec::new();
        for i in 0..self.def.steps.len() {
            if failure.is_some() {
                break;
            }
            if let Some(reason) = forward.reason().or_else(|| self.past(deadline)) {
                failure = Some((None, self.interrupted(reason, None, 0)));
                break;
            }
            match self.run_step(i, &forward, deadline).await {
                Ok(()) => to_compensate.push(i),
                Err((error, has_effects)) => {
                    if has_effects || self.def.steps[i].compensate_on_failure {
                        to_compensate.push(i);
                    }
                    failure = Some((Some(i), error));
                }
            }
        }
        let (status, failed_step, error) = match failure {
            None => (TransactionStatus::Committed, None, None),
            Some((step, error)) => (self.compensate_all(&to_compensate).await, step, Some(error)),
        };
        if let Err(e) = self.checkpoint(CheckpointKind::TransactionFinished(status), None, 0).await {
            self.journal_error.get_or_insert(e.message);
        }
        self.emit(EventKind::finished(status), None, 0, error.as_ref(), None);
        Report {
            transaction_id: self.transaction_id,
            status,
            failed_step,
            error,
            steps: self.steps,
            journal_error: self.journal_error,
        }
    }

    /// Runs one step with its retries. On failure, also says whether the step's action did
    /// complete (a version conflict), so it must be compensated like a completed step.
    async fn run_step(
        &mut self,
        i: usize,
        forward: &CancelToken,
        deadline: Option<f64>,
    ) -> Result<(), (StepError<R::Cause>, bool)> {
        let transaction = self.def;
        let def = &transaction.steps[i];
        let bounds = Bounds { attempt_timeout_ms: def.timeout_ms, deadline };
        self.steps[i].started_at = Some(self.host.clock.now_ms());
        self.emit(EventKind::StepStarted, Some(i), 1, None, None);
        let mut attempt = 1;
        let (error, has_effects) = loop {
            if let Err(e) = self.checkpoint(CheckpointKind::StepStarted, Some(i), attempt).await {
                break (e, false);
            }
            self.steps[i].attempts = attempt;
            let (token, _link) = forward.child();
            let info = self.attempt(i, attempt, false, token.clone());
            let error = match guarded(self.host.clock, self.runner.execute(i, &info), bounds, forward, &token).await {
                Ok(Ok(output)) => match self.check_version(i, output) {
                    Ok(()) => {
                        if let Err(e) = self.checkpoint(CheckpointKind::StepSucceeded, Some(i), attempt).await {
                            // The step ran but its success is not on record: undo it.
                            break (e, true);
                        }
                        return Ok(());
                    }
                    Err(e) => break (e, true),
                },
                // A step that honours its signal rejects as soon as the transaction is
                // cancelled, before this poll sees the cancellation: that is the cancellation,
                // not a failure to retry.
                Ok(Err(e)) => match forward.reason() {
                    Some(reason) => self.interrupted(reason, Some(i), attempt),
                    None => e,
                },
                Err(reason) => self.interrupted(reason, Some(i), attempt),
            };
            let Some(delay) = self.retry_delay(&def.retry, attempt, &error) else { break (error, false) };
            self.emit(EventKind::StepRetrying, Some(i), attempt, Some(&error), Some(delay));
            let wait = Bounds { attempt_timeout_ms: None, ..bounds };
            if let Err(reason) = guarded(self.host.clock, self.host.clock.sleep(delay), wait, forward, forward).await {
                break (self.interrupted(reason, Some(i), attempt), false);
            }
            attempt += 1;
        };
        let report = &mut self.steps[i];
        report.status = StepStatus::Failed;
        report.ended_at = Some(self.host.clock.now_ms());
        self.emit(EventKind::StepFailed, Some(i), attempt, Some(&error), None);
        if let Err(e) = self.checkpoint(CheckpointKind::StepFailed, Some(i), attempt).await {
            self.journal_error.get_or_insert(e.message);
        }
        self.steps[i].error = Some(error.clone());
        Err((error, has_effects))
    }

    fn check_version(&mut self, i: usize, output: R::Output) -> Result<(), StepError<R::Cause>> {
        let verdict = match &self.def.steps[i].expected_version {
            Some(expected) => match self.runner.version_of(&output) {
                Some(actual) if actual == *expected => Ok(()),
                actual => Err(StepError::new(
                    FailureKind::OptimisticLock,
                    format!(
                        "step \"{}\" expected version {expected}, got {}",
                        &*self.def.steps[i].name,
                        actual.map_or_else(|| "none".to_owned(), |v| v.to_string())
                    ),
                )),
            },
            None => Ok(()),
        };
        // The action completed either way; its result is kept so a compensation can use it.
        self.runner.commit(i, output);
        if verdict.is_ok() {
            self.completed += 1;
            let report = &mut self.steps[i];
            report.status = StepStatus::Succeeded;
            report.ended_at = Some(self.host.clock.now_ms());
            let attempts = report.attempts;
            self.emit(EventKind::StepSucceeded, Some(i), attempts, None, None);
            self.emit(EventKind::Progress, Some(i), 0, None, None);
        }
        verdict
    }

    /// Compensates `completed` in reverse order; returns the transaction's final status.
    async fn compensate_all(&mut self, completed: &[usize]) -> TransactionStatus {
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
            if !self.compensate(i).await {
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
    async fn compensate(&mut self, i: usize) -> bool {
        let transaction = self.def;
        let def = &transaction.steps[i];
        let bounds = Bounds { attempt_timeout_ms: def.compensation_timeout_ms, deadline: None };
        let never = CancelToken::new();
        let started_at = Some(self.host.clock.now_ms());
        self.emit(EventKind::CompensationStarted, Some(i), 1, None, None);
        let mut attempt = 1;
        let error = loop {
            if let Err(e) = self.checkpoint(CheckpointKind::CompensationStarted, Some(i), attempt).await {
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
        if let Err(e) = self.checkpoint(checkpoint, Some(i), attempt).await {
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

    fn retry_delay(&self, policy: &RetryPolicy, attempt: u32, error: &StepError<R::Cause>) -> Option<u64> {
        policy.next_delay(attempt, error, self.host.rng)
    }

    fn attempt(&self, i: usize, attempt: u32, compensating: bool, signal: CancelToken) -> Attempt {
        Attempt {
            transaction_id: self.transaction_id.clone(),
            step: self.def.steps[i].name.clone(),
            attempt,
            compensating,
            signal,
        }
    }

    fn past(&self, deadline: Option<f64>) -> Option<FailureKind> {
        deadline.filter(|d| self.host.clock.now_ms() >= *d).map(|_| FailureKind::TransactionTimeout)
    }

    fn interrupted(&self, reason: FailureKind, step: Option<usize>, attempt: u32) -> StepError<R::Cause> {
        let name = step.map(|i| &*self.def.steps[i].name);
        let message = match (reason, name) {
            (FailureKind::Timeout, Some(n)) => {
                let ms = self.def.steps[step.unwrap_or(0)].timeout_ms.unwrap_or(0);
                format!("step \"{n}\" attempt {attempt} timed out after {ms} ms")
            }
            (FailureKind::TransactionTimeout, _) => {
                format!("transaction timed out after {} ms", self.def.timeout_ms.unwrap_or(0))
            }
            _ => "transaction was cancelled".to_owned(),
        };
        StepError::new(reason, message)
    }

    fn emit(
        &self,
        kind: EventKind,
        step: Option<usize>,
        attempt: u32,
        error: Option<&StepError<R::Cause>>,
        delay_ms: Option<u64>,
    ) {
        if !self.host.observer.wants(kind) {
            return;
        }
        self.host.observer.event(&LifecycleEvent {
            kind,
            transaction_id: &self.transaction_id,
            transaction_name: &self.def.name,
            step: step.map(|i| &*self.def.steps[i].name),
            attempt,
            error,
            delay_ms,
            completed_steps: self.completed,
            total_steps: self.def.steps.len(),
            timestamp: self.host.clock.now_ms(),
        });
    }

    async fn checkpoint(
        &self,
        kind: CheckpointKind,
        step: Option<usize>,
        attempt: u32,
    ) -> Result<(), StepError<R::Cause>> {
        if !self.host.observer.journaled() {
            return Ok(());
        }
        let checkpoint = Checkpoint {
            transaction_id: self.transaction_id.clone(),
            kind,
            step,
            attempt,
            at: self.host.clock.now_ms(),
        };
        match self.host.observer.checkpoint(checkpoint) {
            None => Ok(()),
            Some(write) => write.await.map_err(|e| StepError::new(FailureKind::Journal, e.to_string())),
        }
    }
}
