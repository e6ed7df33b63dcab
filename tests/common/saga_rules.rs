//! The saga rules, checked straight on a run's call log and report (no model): order,
//! attempts, compensation, status, report fields, retry delays, signals and checkpoints.

use edgesaga::saga::{CheckpointKind, CompensationStatus, FailureKind, StepStatus, TransactionStatus};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use crate::saga_runner::{Entry, Outcome, TX};
use crate::saga_scenario::{step_name, Act, Cancel, ErrShape, Policy, Scenario};

pub type Checked = Result<(), TestCaseError>;

/// Consecutive calls of the same step, as `(step, calls)`.
fn blocks(calls: &[Entry]) -> Vec<(usize, Vec<&Entry>)> {
    let mut out: Vec<(usize, Vec<&Entry>)> = Vec::new();
    for c in calls {
        match out.last_mut() {
            Some((s, b)) if *s == c.step => b.push(c),
            _ => out.push((c.step, vec![c])),
        }
    }
    out
}

/// How a logged call went, per the scenario: the error it ended with, if any.
fn call_error(sc: &Scenario, c: &Entry) -> Option<ErrShape> {
    let spec = &sc.steps[c.step];
    let act = if c.compensate { spec.compensation(c.attempt) } else { spec.forward(c.attempt) };
    match (c.signal, act) {
        (Some(kind), _) => Some(ErrShape::plain(kind)),
        (None, Act::Throw(_, e)) => Some(e),
        (None, _) => None,
    }
}

/// The time between two consecutive attempts is the policy's backoff after the first: exact
/// with jitter off or when the error gave `retryAfterMs`, else within `[backoff / 2, backoff]`.
fn waited(policy: &Policy, w: &[&Entry], retry_after: Option<u64>) -> Checked {
    let (gap, delay) = (w[1].start - w[0].end.unwrap(), policy.delay(w[0].attempt, retry_after) as f64);
    if policy.jitter && retry_after.is_none() {
        prop_assert!((delay / 2.0).floor() <= gap && gap <= delay, "waited {} of {}: {:?}", gap, delay, w);
    } else {
        prop_assert_eq!(gap, delay, "waited after {:?}", w[0]);
    }
    Ok(())
}

/// The saga rules, checked on the log and the report without the model.
pub fn rules(sc: &Scenario, out: &Outcome) -> Checked {
    let (calls, r) = (&out.log.calls, &out.report);
    for c in calls {
        prop_assert_eq!((&*c.info_transaction, &c.info_step), (TX, &step_name(c.step)), "Attempt fields");
        prop_assert_eq!(c.info_compensating, c.compensate, "`compensating` only in compensation");
        let spec = &sc.steps[c.step];
        let (act, timeout) = match c.compensate {
            true => (spec.compensation(c.attempt), spec.comp_timeout),
            false => (spec.forward(c.attempt), spec.timeout),
        };
        let took = c.end.unwrap() - c.start;
        match c.signal {
            None => prop_assert!(matches!(act, Act::Succeed(d) | Act::Throw(d, _) if took == d as f64), "{c:?}"),
            Some(FailureKind::Timeout) => prop_assert_eq!(Some(took as u64), timeout, "timed out at its timeout"),
            Some(FailureKind::Aborted) => {
                prop_assert!(!c.compensate && Cancel::At(c.end.unwrap() as u64) == sc.cancel, "{c:?}")
            }
            Some(FailureKind::TransactionTimeout) => prop_assert_eq!(Some(c.end.unwrap() as u64), sc.timeout),
            Some(other) => prop_assert!(false, "signal aborted with {other:?}"),
        }
    }
    prop_assert_eq!(out.caller, None, "the executor never aborts the caller's token");
    let split = calls.iter().position(|c| c.compensate).unwrap_or(calls.len());
    prop_assert!(calls[split..].iter().all(|c| c.compensate), "no forward call once compensation began");
    let forward = blocks(&calls[..split]);
    for (j, (s, b)) in forward.iter().enumerate() {
        prop_assert_eq!(*s, j, "steps run in order, once each");
        let attempts: Vec<u32> = b.iter().map(|c| c.attempt).collect();
        prop_assert_eq!(attempts, (1..=b.len() as u32).collect::<Vec<_>>(), "attempts numbered 1..n");
        prop_assert!(b.len() as u32 <= sc.steps[*s].retry.max_attempts);
        prop_assert_eq!(r.steps[*s].attempts, b.len() as u32, "reported attempts");
        for w in b.windows(2) {
            let e = call_error(sc, w[0]).expect("only a failed attempt is retried");
            waited(&sc.steps[*s].retry, w, e.retry_after)?;
        }
    }
    let ran = forward.len();
    for (s, st) in r.steps.iter().enumerate() {
        let want = if s + 1 < ran {
            StepStatus::Succeeded
        } else if s >= ran {
            StepStatus::Pending
        } else {
            st.status
        };
        prop_assert_eq!(st.status, want, "step {} status", s);
        prop_assert!(s + 1 != ran || st.status != StepStatus::Pending, "the last step run ended");
    }
    let failed = r.steps.iter().position(|s| s.status == StepStatus::Failed);
    prop_assert_eq!(r.failed_step, failed, "failed_step is the failing step");
    let committed = r.steps.iter().all(|s| s.status == StepStatus::Succeeded);
    prop_assert_eq!(r.status == TransactionStatus::Committed, committed, "committed iff no failure");
    prop_assert_eq!(r.error.is_none(), committed);
    if let (Some(s), Some(e)) = (failed, &r.error) {
        prop_assert_eq!(r.steps[s].error.as_ref(), Some(e), "the failing step's error is the transaction's");
    }
    // Compensation: who, in which order, how many attempts.
    let needed: Vec<usize> = (0..ran)
        .rev()
        .filter(|&s| sc.steps[s].has_comp)
        .filter(|&s| match r.steps[s].status {
            StepStatus::Succeeded => true,
            _ => {
                sc.steps[s].compensate_on_failure
                    || r.steps[s].error.as_ref().is_some_and(|e| e.kind == FailureKind::OptimisticLock)
            }
        })
        .filter(|_| !committed)
        .collect();
    let comp = blocks(&calls[split..]);
    let compensated: Vec<usize> = comp.iter().map(|(s, _)| *s).collect();
    prop_assert_eq!(&compensated[..], &needed[..compensated.len().min(needed.len())], "reverse order, once each");
    let mut halted = false;
    for (s, b) in &comp {
        let attempts: Vec<u32> = b.iter().map(|c| c.attempt).collect();
        prop_assert_eq!(attempts, (1..=b.len() as u32).collect::<Vec<_>>(), "compensation attempts 1..n");
        prop_assert!(b.len() as u32 <= sc.steps[*s].comp_retry.max_attempts);
        let ok = call_error(sc, b[b.len() - 1]).is_none();
        prop_assert!(b[..b.len() - 1].iter().all(|c| call_error(sc, c).is_some()), "retried until success");
        for w in b.windows(2) {
            waited(&sc.steps[*s].comp_retry, w, call_error(sc, w[0]).unwrap().retry_after)?;
        }
        let c = r.steps[*s].compensation.as_ref().expect("a compensation report");
        let status = if ok { CompensationStatus::Compensated } else { CompensationStatus::Failed };
        prop_assert_eq!((c.status, c.attempts), (status, b.len() as u32), "step {} compensation", s);
        halted |= !ok && sc.halt;
    }
    for &s in &needed[compensated.len()..] {
        prop_assert!(halted, "step {} was never compensated", s);
        let c = r.steps[s].compensation.as_ref().map(|c| (c.status, c.attempts));
        prop_assert_eq!(c, Some((CompensationStatus::Skipped, 0)), "halted: step {} skipped", s);
    }
    for s in (0..sc.steps.len()).filter(|s| !needed.contains(s)) {
        prop_assert!(r.steps[s].compensation.is_none(), "step {} must not be compensated", s);
    }
    let undone = |s: &usize| r.steps[*s].compensation.as_ref().unwrap().status == CompensationStatus::Compensated;
    let left: Vec<usize> = needed.iter().copied().filter(|s| !undone(s)).collect();
    prop_assert_eq!(r.uncompensated(), left.clone(), "uncompensated()");
    if !committed {
        let want = if left.is_empty() { TransactionStatus::Compensated } else { TransactionStatus::CompensationFailed };
        prop_assert_eq!(r.status, want, "never success when a compensation failed");
    }
    // Checkpoints: one before every attempt, and nothing of them among the events.
    let started: Vec<(Option<usize>, u32)> = out
        .checkpoints
        .iter()
        .filter(|c| matches!(c.kind, CheckpointKind::StepStarted | CheckpointKind::CompensationStarted))
        .map(|c| (c.step, c.attempt))
        .collect();
    prop_assert_eq!(started, calls.iter().map(|c| (Some(c.step), c.attempt)).collect::<Vec<_>>());
    let last = out.checkpoints.last().map(|c| c.kind);
    prop_assert_eq!(last, Some(CheckpointKind::TransactionFinished(r.status)));
    Ok(())
}
