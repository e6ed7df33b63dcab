//! Property tests of the saga executor: random scenarios (steps that fail, retry, hang past
//! their timeout, fail their version check; compensations that fail; cancellation and a
//! transaction deadline) run on a virtual clock against a logging `StepRunner`, checked
//! against the saga rules (`common/saga_rules.rs`) and an independent model of the executor
//! (`common/saga_model.rs`); the scenarios and the test doubles are in `common/saga_scenario.rs`
//! and `common/saga_runner.rs`. Ends with hand-computed examples of edge cases.

#[path = "common/saga_model.rs"]
mod saga_model;
#[path = "common/saga_rules.rs"]
mod saga_rules;
#[path = "common/saga_runner.rs"]
mod saga_runner;
#[path = "common/saga_scenario.rs"]
mod saga_scenario;

use edgesaga::saga::{CheckpointKind, CompensationStatus, EventKind, FailureKind, StepStatus, TransactionStatus};
use proptest::prelude::*;

use saga_model::{expect, Call, CompOutcome, Outcome};
use saga_rules::{rules, Checked};
use saga_runner::run;
use saga_scenario::{plain_step, scenario, Cancel, ErrShape, Scenario, StepSpec};

/// The run, compared with what the model predicts.
fn matches_model(sc: &Scenario, out: &saga_runner::Outcome) -> Checked {
    let x = expect(sc);
    let ms = |t: f64| {
        assert_eq!(t.fract(), 0.0, "whole milliseconds");
        t as u64
    };
    let calls = out.log.calls.iter().map(|e| Call {
        compensating: e.compensate,
        step: e.step,
        attempt: e.attempt,
        start: ms(e.start),
        end: ms(e.end.unwrap()),
        signal: e.signal,
    });
    let calls: Vec<Call> = calls.collect();
    prop_assert_eq!(calls, x.calls, "calls");
    prop_assert_eq!(&out.log.commits, &x.commits, "commits");
    prop_assert_eq!(&out.events, &x.events, "events");
    let r = &out.report;
    let shape = |e: &edgesaga::saga::StepError<()>| ErrShape {
        kind: e.kind,
        name: e.name.clone(),
        retryable: e.retryable,
        retry_after: e.retry_after_ms,
    };
    prop_assert_eq!((r.status, r.failed_step), (x.status, x.failed_step));
    prop_assert_eq!(r.error.as_ref().map(shape), x.error, "transaction error");
    for (s, (got, want)) in r.steps.iter().zip(&x.steps).enumerate() {
        let comp = got.compensation.as_ref().map(|c| CompOutcome {
            status: c.status,
            attempts: c.attempts,
            error: c.error.as_ref().map(shape),
            started: c.started_at.map(ms),
            ended: c.ended_at.map(ms),
        });
        let got = Outcome {
            status: got.status,
            attempts: got.attempts,
            error: got.error.as_ref().map(shape),
            started: got.started_at.map(ms),
            ended: got.ended_at.map(ms),
            comp,
        };
        prop_assert_eq!(&got, want, "step {}", s);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10_000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn executor_follows_the_saga_rules_and_the_model(sc in scenario(), journaled in any::<bool>()) {
        let out = run(&sc, journaled);
        rules(&sc, &out)?;
        matches_model(&sc, &out)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, failure_persistence: None, ..ProptestConfig::default() })]

    /// With jitter on, times drift from the model's, so only the rules are checked (with no
    /// cancellation or deadline, whose effect depends on exact times).
    #[test]
    fn jittered_runs_follow_the_saga_rules(mut sc in scenario()) {
        (sc.cancel, sc.timeout) = (Cancel::Never, None);
        for s in &mut sc.steps {
            (s.retry.jitter, s.comp_retry.jitter) = (true, true);
        }
        rules(&sc, &run(&sc, false))?;
    }
}

/// The generated scenarios reach every path often enough for the property to mean something.
#[test]
fn scenarios_reach_every_path() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut seen = std::collections::BTreeMap::<String, u32>::new();
    for _ in 0..2_000 {
        let sc = scenario().new_tree(&mut runner).unwrap().current();
        let r = run(&sc, false);
        let mut hit = |k: String| *seen.entry(k).or_default() += 1;
        hit(format!("status {}", r.report.status.as_str()));
        if let Some(e) = &r.report.error {
            hit(format!("error {:?} at step: {}", e.kind, r.report.failed_step.is_some()));
        }
        for c in &r.log.calls {
            hit(format!("compensating {} signal {:?}", c.compensate, c.signal));
        }
        for (s, st) in r.report.steps.iter().enumerate() {
            if let Some(c) = &st.compensation {
                hit(format!("compensation {:?}", c.status));
                if st.status == StepStatus::Failed {
                    hit(format!("failed step compensated ({:?})", st.error.as_ref().unwrap().kind));
                }
            }
            if st.attempts > 1 && sc.steps[s].tries.iter().any(|t| t.retry_after.is_some()) {
                hit("retried with retryAfterMs around".into());
            }
        }
    }
    eprintln!("{seen:#?}");
    for (key, at_least) in [
        ("status committed", 100),
        ("status compensated", 100),
        ("status compensation_failed", 100),
        ("error Aborted at step: false", 20),
        ("error Aborted at step: true", 50),
        ("error Thrown at step: true", 100),
        ("error Timeout at step: true", 50),
        ("error TransactionTimeout at step: true", 50),
        ("error OptimisticLock at step: true", 50),
        ("compensating false signal Some(Timeout)", 100),
        ("compensating false signal Some(Aborted)", 50),
        ("compensating false signal Some(TransactionTimeout)", 50),
        ("compensating true signal Some(Timeout)", 100),
        ("compensation Skipped", 50),
        ("compensation Failed", 100),
        ("failed step compensated (OptimisticLock)", 20),
        ("failed step compensated (Thrown)", 20),
        ("retried with retryAfterMs around", 100),
    ] {
        let n = seen.get(key).copied().unwrap_or(0);
        assert!(n >= at_least, "{key:?} reached {n} times out of 2000, want {at_least}");
    }
}

// ---- examples: edge cases computed by hand ----

fn scenario_of(steps: Vec<StepSpec>) -> Scenario {
    Scenario { steps, halt: false, cancel: Cancel::Never, timeout: None, honours_signal: false }
}

fn failing(max_attempts: u32) -> StepSpec {
    let mut s = plain_step();
    s.permanent = Some(saga_scenario::Permanent::Exhausts);
    s.retry.max_attempts = max_attempts;
    s
}

fn kinds(out: &saga_runner::Outcome) -> Vec<(EventKind, Option<usize>, Option<u64>)> {
    out.events.iter().map(|e| (e.kind, e.step, e.delay)).collect()
}

#[test]
fn cancelled_before_start_runs_nothing() {
    let out = run(&Scenario { cancel: Cancel::BeforeStart, ..scenario_of(vec![plain_step(); 3]) }, true);
    let r = &out.report;
    assert!(out.log.calls.is_empty() && out.log.commits.is_empty());
    assert_eq!((r.status, r.failed_step), (TransactionStatus::Compensated, None));
    assert_eq!(r.error.as_ref().map(|e| e.kind), Some(FailureKind::Aborted));
    assert!(r.steps.iter().all(|s| (s.status, s.attempts) == (StepStatus::Pending, 0) && s.compensation.is_none()));
    assert!(r.uncompensated().is_empty());
    use EventKind::*;
    assert_eq!(kinds(&out), [(TransactionStarted, None, None), (TransactionCompensated, None, None)]);
}

#[test]
fn transaction_timeout_during_a_retry_wait() {
    let mut first = plain_step();
    first.tries[0].dur = 10;
    let mut second = failing(4);
    second.retry.initial_ms = 100;
    let sc = Scenario { timeout: Some(250), ..scenario_of(vec![first, second, plain_step()]) };
    let out = run(&sc, false);
    // s1 fails at 10 and at 110; the wait of 200 ms after that is cut at 250.
    let r = &out.report;
    let s1 = &r.steps[1];
    assert_eq!((r.status, r.failed_step), (TransactionStatus::Compensated, Some(1)));
    assert_eq!((s1.status, s1.attempts, s1.started_at, s1.ended_at), (StepStatus::Failed, 2, Some(10.0), Some(250.0)));
    assert_eq!(s1.error.as_ref().unwrap().kind, FailureKind::TransactionTimeout);
    assert!(s1.compensation.is_none(), "s1 failed and does not compensate on failure");
    assert_eq!(r.steps[0].compensation.as_ref().unwrap().started_at, Some(250.0));
    let starts: Vec<(bool, usize, f64)> = out.log.calls.iter().map(|c| (c.compensate, c.step, c.start)).collect();
    assert_eq!(starts, [(false, 0, 0.0), (false, 1, 10.0), (false, 1, 110.0), (true, 0, 250.0)]);
    let delays: Vec<u64> = out.events.iter().filter_map(|e| e.delay).collect();
    assert_eq!(delays, [100, 200]);
    matches_model(&sc, &out).unwrap();
}

#[test]
fn a_step_done_exactly_at_the_deadline_counts_and_the_next_does_not_start() {
    let mut first = plain_step();
    first.tries[0].dur = 100;
    let out = run(&Scenario { timeout: Some(100), ..scenario_of(vec![first, plain_step()]) }, false);
    let r = &out.report;
    assert_eq!((r.status, r.failed_step), (TransactionStatus::Compensated, None));
    assert_eq!(r.error.as_ref().unwrap().kind, FailureKind::TransactionTimeout);
    assert_eq!((r.steps[0].status, r.steps[1].status), (StepStatus::Succeeded, StepStatus::Pending));
    assert_eq!(r.steps[0].compensation.as_ref().unwrap().status, CompensationStatus::Compensated);
    assert_eq!(out.log.calls.len(), 2);
}

#[test]
fn a_step_that_honours_its_signal_is_cancelled_not_failed() {
    let mut second = failing(2);
    second.tries = [saga_scenario::Try { dur: 100, hang: false, named: false, retry_after: None }; 4];
    second.retry.initial_ms = 50;
    let sc = Scenario { cancel: Cancel::At(203), honours_signal: true, ..scenario_of(vec![plain_step(), second]) };
    let out = run(&sc, false);
    // s1 attempt 1 fails at 100, attempt 2 starts at 150 and rejects when cancelled at 203.
    let r = &out.report;
    assert_eq!(r.error.as_ref().unwrap().kind, FailureKind::Aborted, "{:?}", r.error);
    assert_eq!((r.failed_step, r.steps[1].attempts), (Some(1), 2));
    let last = &out.log.calls[2];
    assert_eq!((last.end, last.signal), (Some(203.0), Some(FailureKind::Aborted)));
    let retrying = out.events.iter().filter(|e| e.kind == EventKind::StepRetrying).count();
    assert_eq!(retrying, 1, "no retry after the cancellation");
    assert_eq!(r.steps[0].compensation.as_ref().unwrap().status, CompensationStatus::Compensated);
}

#[test]
fn a_compensation_timeout_names_the_compensation_timeout() {
    let mut first = plain_step();
    (first.comp_failures, first.comp_timeout, first.comp_tries[0].hang) = (1, Some(40), true);
    let out = run(&scenario_of(vec![first, failing(1)]), false);
    let c = out.report.steps[0].compensation.clone().unwrap();
    let e = c.error.unwrap();
    assert_eq!(
        (c.status, e.kind, out.log.calls[2].signal),
        (CompensationStatus::Failed, FailureKind::Timeout, e.kind.into())
    );
    assert!(e.message.contains("40 ms"), "{}", e.message);
    assert_eq!(out.report.uncompensated(), [0]);
}

/// An observer that listens to some public events and keeps every checkpoint.
struct Listener {
    events: std::cell::RefCell<Vec<(&'static str, Option<String>, u32)>>,
    checkpoints: std::cell::RefCell<Vec<(CheckpointKind, Option<usize>, u32)>>,
}

impl edgesaga::saga::Observer<()> for Listener {
    fn wants(&self, kind: EventKind) -> bool {
        kind != EventKind::Progress
    }
    fn event(&self, e: &edgesaga::saga::LifecycleEvent<'_, ()>) {
        assert!(self.wants(e.kind), "{:?} was not asked for", e.kind);
        self.events.borrow_mut().push((e.kind.name(), e.step.map(Into::into), e.attempt));
    }
    fn checkpoint(
        &self,
        c: edgesaga::saga::Checkpoint,
    ) -> Option<futures::future::LocalBoxFuture<'static, Result<(), edgesaga::platform::journal::JournalError>>> {
        self.checkpoints.borrow_mut().push((c.kind, c.step, c.attempt));
        None
    }
}

#[test]
fn observer_hears_public_events_and_checkpoints_go_only_to_checkpoint() {
    let listener = Listener { events: Default::default(), checkpoints: Default::default() };
    let sc = scenario_of(vec![plain_step(), failing(2), plain_step()]);
    let (report, _, _) = saga_runner::run_with(&sc, &listener);
    assert_eq!(report.status, TransactionStatus::Compensated);
    let step = |n: &str| Some(n.to_owned());
    assert_eq!(
        listener.events.take(),
        [
            ("transaction.started", None, 0),
            ("step.started", step("s0"), 1),
            ("step.succeeded", step("s0"), 1),
            ("step.started", step("s1"), 1),
            ("step.retrying", step("s1"), 1),
            ("step.failed", step("s1"), 2),
            ("compensation.started", step("s0"), 1),
            ("compensation.succeeded", step("s0"), 1),
            ("transaction.compensated", None, 0),
        ]
    );
    use CheckpointKind::*;
    assert_eq!(
        listener.checkpoints.take(),
        [
            (TransactionStarted, None, 0),
            (StepStarted, Some(0), 1),
            (StepSucceeded, Some(0), 1),
            (StepStarted, Some(1), 1),
            (StepStarted, Some(1), 2),
            (StepFailed, Some(1), 2),
            (CompensationStarted, Some(0), 1),
            (CompensationSucceeded, Some(0), 1),
            (TransactionFinished(TransactionStatus::Compensated), None, 0),
        ]
    );
}
