//! The coordinator's core: run steps in order, retry, time out, cancel, and compensate the
//! completed steps in reverse order when one fails for good.
//!
//! The executor knows nothing of JavaScript: a [`StepRunner`] performs the steps, a
//! [`Clock`](crate::platform::Clock) and an [`Rng`](crate::platform::Rng) stand for the host, an
//! [`Observer`](super::Observer) hears what happens.
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
use super::definition::TransactionDef;
use super::error::{FailureKind, StepError};
use super::event::{Checkpoint, CheckpointKind, EventKind, LifecycleEvent};
use super::guard::{guarded, Bounds};
use super::policy::RetryPolicy;
use super::recovery::{Phase, Recovery};
use super::report::{Report, StepReport, StepStatus, TransactionStatus};
pub use super::runner::{Attempt, Host, StepRunner};

mod compensation;

/// Runs `def` to its end and reports what happened. Never panics on a step's behaviour:
/// every failure, timeout and cancellation ends up in the [`Report`].
pub async fn execute<R: StepRunner + ?Sized>(
    def: &TransactionDef,
    runner: &R,
    host: &Host<'_, R::Cause>,
    transaction_id: Rc<str>,
    cancel: CancelToken,
) -> Report<R::Cause> {
    resume(def, runner, host, transaction_id, cancel, Recovery::fresh(def.steps.len())).await
}

/// Like [`execute`], from where a journal left the transaction (see [`super::recovery`]): settled
/// steps and compensations are not run again, and in-flight ones are run again as the same
/// attempt. The host restores the results of the steps that succeeded before calling this.
pub async fn resume<R: StepRunner + ?Sized>(
    def: &TransactionDef,
    runner: &R,
    host: &Host<'_, R::Cause>,
    transaction_id: Rc<str>,
    cancel: CancelToken,
    recovery: Recovery,
) -> Report<R::Cause> {
    let run = Run {
        def,
        runner,
        host,
        started_at: recovery.started_at().unwrap_or_else(|| host.clock.now_ms()),
        steps: def.steps.iter().map(|s| StepReport::pending(s.name.clone())).collect(),
        completed: 0,
        transaction_id,
        journal_error: None,
        recovery,
    };
    run.run(cancel).await
}

struct Run<'a, R: StepRunner + ?Sized> {
    def: &'a TransactionDef,
    runner: &'a R,
    host: &'a Host<'a, R::Cause>,
    transaction_id: Rc<str>,
    started_at: f64,
    steps: Vec<StepReport<R::Cause>>,
    completed: usize,
    journal_error: Option<String>,
    recovery: Recovery,
}

impl<R: StepRunner + ?Sized> Run<'_, R> {
    async fn run(mut self, cancel: CancelToken) -> Report<R::Cause> {
        // The forward path has its own token so the transaction deadline can abort it
        // without touching the caller's.
        let (forward, _link) = cancel.child();
        let deadline = self.def.timeout_ms.map(|ms| self.started_at + ms as f64);
        // A transaction the journal says finished is only reported: nothing starts or ends now.
        let replay_only = self.recovery.finished().is_some();
        if !replay_only {
            self.emit(EventKind::TransactionStarted, None, 0, None, None);
        }
        let mut failure = match self.recovery.started_at() {
            Some(_) => None, // resuming: the start is on record already
            None => self.checkpoint(CheckpointKind::TransactionStarted, None, 0, None).await.err().map(|e| (None, e)),
        };
        let mut to_compensate: Vec<usize> = Vec::new();
        for i in 0..self.def.steps.len() {
            if failure.is_some() {
                break;
            }
            let first_attempt = match self.recovery.step(i).forward.clone() {
                Phase::NotStarted => 1,
                Phase::InFlight { attempt } if !self.def.steps[i].compensate_on_failure => attempt,
                Phase::InFlight { attempt } => {
                    let error = StepError::new(
                        FailureKind::Interrupted,
                        format!(
                            "step \"{}\" attempt {attempt} was in flight when the host stopped; its effect is unknown, so it is compensated",
                            &*self.def.steps[i].name
                        ),
                    );
                    to_compensate.push(i);
                    failure = Some((Some(i), self.step_failed(i, attempt, error).await));
                    break;
                }
                Phase::Succeeded { attempts } => {
                    self.restore_success(i, attempts);
                    to_compensate.push(i);
                    continue;
                }
                Phase::Failed { attempts, error } => {
                    let error = recovered(error);
                    // A version conflict means the action did complete, as in `run_step`.
                    if self.def.steps[i].compensate_on_failure || error.kind == FailureKind::OptimisticLock {
                        to_compensate.push(i);
                    }
                    self.restore_failure(i, attempts, &error);
                    failure = Some((Some(i), error));
                    break;
                }
            };
            if let Some(reason) = forward.reason().or_else(|| self.past(deadline)) {
                failure = Some((None, self.interrupted(reason, None, 0)));
                break;
            }
            match self.run_step(i, first_attempt, &forward, deadline).await {
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
        if self.recovery.finished().is_none() {
            if let Err(e) = self.checkpoint(CheckpointKind::TransactionFinished(status), None, 0, None).await {
                self.journal_error.get_or_insert(e.message);
            }
        }
        if !replay_only {
            self.emit(EventKind::finished(status), None, 0, error.as_ref(), None);
        }
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
        first_attempt: u32,
        forward: &CancelToken,
        deadline: Option<f64>,
    ) -> Result<(), (StepError<R::Cause>, bool)> {
        let transaction = self.def;
        let def = &transaction.steps[i];
        let bounds = Bounds { attempt_timeout_ms: def.timeout_ms, deadline };
        self.steps[i].started_at = Some(self.recovery.step(i).started_at.unwrap_or_else(|| self.host.clock.now_ms()));
        self.emit(EventKind::StepStarted, Some(i), first_attempt, None, None);
        let mut attempt = first_attempt;
        let (error, has_effects) = loop {
            if let Err(e) = self.checkpoint(CheckpointKind::StepStarted, Some(i), attempt, None).await {
                break (e, false);
            }
            self.steps[i].attempts = attempt;
            let (token, _link) = forward.child();
            let info = self.attempt(i, attempt, false, token.clone());
            let error = match guarded(self.host.clock, self.runner.execute(i, &info), bounds, forward, &token).await {
                Ok(Ok(output)) => match self.check_version(i, output) {
                    Ok(()) => {
                        if let Err(e) = self.checkpoint(CheckpointKind::StepSucceeded, Some(i), attempt, None).await {
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
        Err((self.step_failed(i, attempt, error).await, has_effects))
    }

    /// Records that step `i` failed for good at `attempt`.
    async fn step_failed(&mut self, i: usize, attempt: u32, error: StepError<R::Cause>) -> StepError<R::Cause> {
        let report = &mut self.steps[i];
        report.status = StepStatus::Failed;
        report.attempts = attempt;
        report.ended_at = Some(self.host.clock.now_ms());
        self.emit(EventKind::StepFailed, Some(i), attempt, Some(&error), None);
        let journaled = Some((error.kind, error.to_string()));
        if let Err(e) = self.checkpoint(CheckpointKind::StepFailed, Some(i), attempt, journaled).await {
            self.journal_error.get_or_insert(e.message);
        }
        self.steps[i].error = Some(error.clone());
        error
    }

    /// Reports step `i` as the journal has it: succeeded before the host stopped.
    fn restore_success(&mut self, i: usize, attempts: u32) {
        let state = self.recovery.step(i);
        let report = &mut self.steps[i];
        report.status = StepStatus::Succeeded;
        report.attempts = attempts;
        (report.started_at, report.ended_at) = (state.started_at, state.ended_at);
        self.completed += 1;
    }

    /// Reports step `i` as the journal has it: failed before the host stopped.
    fn restore_failure(&mut self, i: usize, attempts: u32, error: &StepError<R::Cause>) {
        let state = self.recovery.step(i);
        let report = &mut self.steps[i];
        report.status = StepStatus::Failed;
        report.attempts = attempts;
        (report.started_at, report.ended_at) = (state.started_at, state.ended_at);
        report.error = Some(error.clone());
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
        error: Option<(FailureKind, String)>,
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
            error,
        };
        match self.host.observer.checkpoint(checkpoint) {
            None => Ok(()),
            Some(write) => write.await.map_err(|e| StepError::new(FailureKind::Journal, e.to_string())),
        }
    }
}

/// A failure as the journal kept it: its kind and its description (`Name: message`).
fn recovered<C>(error: Option<(FailureKind, String)>) -> StepError<C> {
    let (kind, message) = error.unwrap_or((FailureKind::Thrown, "failed before the host stopped".to_owned()));
    StepError::new(kind, message)
}
