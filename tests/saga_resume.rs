//! Resuming from the journal: a host that stops after any checkpoint of any generated scenario
//! (steps that retry, time out, fail their version check; compensations that fail; `halt`)
//! resumes to the same outcome as a run that never stopped, never runs a settled step or
//! compensation again, and reruns an in-flight attempt under the same attempt number (so the
//! same idempotency key). A step marked `compensateOnFailure` caught in flight is compensated
//! instead. Ends with hand-written cases for what the property cannot see.

#[path = "common/saga_model.rs"]
#[allow(dead_code)]
mod saga_model;
#[path = "common/saga_runner.rs"]
#[allow(dead_code)]
mod saga_runner;
#[path = "common/saga_scenario.rs"]
#[allow(dead_code)]
mod saga_scenario;

use std::cell::{Cell, RefCell};
use std::pin::pin;
use std::rc::Rc;
use std::task::{Poll, Waker};

use edgesaga::platform::journal::JournalError;
use edgesaga::platform::{virtual_time::VirtualClock, SeededRng};
use edgesaga::saga::recovery::Recovery;
use edgesaga::saga::{
    execute, resume, CancelToken, Checkpoint, CheckpointKind, CompensationStatus, EventKind, FailureKind, Host,
    LifecycleEvent, Observer, Report, StepStatus, TransactionStatus,
};
use futures::future::{ready, select, Either, LocalBoxFuture};
use proptest::prelude::*;

use saga_runner::{Log, Runner, TX};
use saga_scenario::{plain_step, scenario, Cancel, Scenario};

/// A journal whose host stops right after writing checkpoint number `stop_after` (0-based).
struct StoppingJournal {
    stop_after: usize,
    records: RefCell<Vec<Checkpoint>>,
    stopped: Cell<bool>,
    waker: RefCell<Option<Waker>>,
}

impl Observer<()> for StoppingJournal {
    fn wants(&self, _: EventKind) -> bool {
        false
    }
    fn event(&self, _: &LifecycleEvent<'_, ()>) {}
    fn checkpoint(&self, c: Checkpoint) -> Option<LocalBoxFuture<'static, Result<(), JournalError>>> {
        let mut records = self.records.borrow_mut();
        if self.stopped.get() {
            return Some(Box::pin(futures::future::pending()));
        }
        records.push(c);
        if records.len() <= self.stop_after {
            return Some(Box::pin(ready(Ok(()))));
        }
        // Written, and then the host is gone: the executor never hears back.
        self.stopped.set(true);
        if let Some(w) = self.waker.borrow_mut().take() {
            w.wake();
        }
        Some(Box::pin(futures::future::pending()))
    }
}

/// A journal that keeps everything and never stops.
#[derive(Default)]
struct Journal(RefCell<Vec<Checkpoint>>);

impl Observer<()> for Journal {
    fn wants(&self, _: EventKind) -> bool {
        false
    }
    fn event(&self, _: &LifecycleEvent<'_, ()>) {}
    fn checkpoint(&self, c: Checkpoint) -> Option<LocalBoxFuture<'static, Result<(), JournalError>>> {
        self.0.borrow_mut().push(c);
        Some(Box::pin(ready(Ok(()))))
    }
}

struct Run {
    report: Option<Report<()>>,
    log: Log,
    records: Vec<Checkpoint>,
}

/// Runs `sc` from `recovery` with a journal that stops the host after `stop_after` records.
fn run(sc: &Rc<Scenario>, recovery: Recovery, stop_after: usize) -> Run {
    let def = sc.definition();
    let clock = Rc::new(VirtualClock::new());
    let log = Rc::new(RefCell::new(Log::default()));
    let runner = Runner::new(sc.clone(), clock.clone(), log.clone());
    let rng = SeededRng::new(7);
    let journal = StoppingJournal {
        stop_after,
        records: RefCell::default(),
        stopped: Cell::new(false),
        waker: RefCell::default(),
    };
    let report = {
        let host = Host { clock: &*clock, rng: &rng, observer: &journal };
        clock.run(async {
            let run = pin!(resume(&def, &runner, &host, TX.into(), CancelToken::new(), recovery));
            let stop = pin!(futures::future::poll_fn(|cx| {
                if journal.stopped.get() {
                    return Poll::Ready(());
                }
                *journal.waker.borrow_mut() = Some(cx.waker().clone());
                Poll::Pending
            }));
            match select(run, stop).await {
                Either::Left((report, _)) => Some(report),
                Either::Right(_) => None,
            }
        })
    };
    let log = std::mem::take(&mut *log.borrow_mut());
    Run { report, log, records: journal.records.take() }
}

/// The parts of a report a resumed run must reproduce.
fn outline(r: &Report<()>) -> Vec<String> {
    let mut lines =
        vec![format!("{:?} failed_step={:?} error={:?}", r.status, r.failed_step, r.error.as_ref().map(|e| e.kind))];
    for s in &r.steps {
        let comp = s.compensation.as_ref().map(|c| (c.status, c.attempts, c.error.as_ref().map(|e| e.kind)));
        lines.push(format!(
            "{} {:?} x{} {:?} comp={comp:?}",
            s.name,
            s.status,
            s.attempts,
            s.error.as_ref().map(|e| e.kind)
        ));
    }
    lines
}

fn stops_and_resumes(sc: Scenario) -> Result<(), TestCaseError> {
    let sc = Rc::new(sc);
    let n = sc.steps.len();
    let whole = run(&sc, Recovery::fresh(n), usize::MAX);
    let expected = whole.report.expect("a run that never stops ends");
    for stop_after in 0..whole.records.len() {
        let first = run(&sc, Recovery::fresh(n), stop_after);
        prop_assert!(first.report.is_none(), "stopped after record {}", stop_after);
        prop_assert_eq!(first.records.len(), stop_after + 1);
        let recovery = Recovery::replay(n, &first.records).expect("the journal matches the definition");
        let second = run(&sc, recovery.clone(), usize::MAX);
        let report = second.report.expect("a resumed run ends");
        let last = first.records.last().expect("one record at least");

        // Nothing settled runs again; an in-flight attempt runs again as the same attempt.
        for (i, state) in (0..n).map(|i| (i, recovery.step(i))) {
            let calls = |compensate| second.log.calls.iter().filter(move |c| c.step == i && c.compensate == compensate);
            if state.forward.is_settled() {
                prop_assert_eq!(calls(false).count(), 0, "step {} settled before the stop ran again", i);
            }
            if let edgesaga::saga::recovery::Phase::InFlight { attempt } = state.forward {
                if let Some(c) = calls(false).next() {
                    prop_assert_eq!(c.attempt, attempt, "step {} resumed under another attempt", i);
                }
            }
            if state.compensation.is_settled() {
                prop_assert_eq!(calls(true).count(), 0, "compensation {} settled before the stop ran again", i);
            }
            if let edgesaga::saga::recovery::Phase::InFlight { attempt } = state.compensation {
                let c = calls(true).next().expect("an in-flight compensation is run again");
                prop_assert_eq!(c.attempt, attempt);
            }
        }
        // Compensations after the stop still go in reverse order.
        let undone: Vec<usize> = second.log.calls.iter().filter(|c| c.compensate).map(|c| c.step).collect();
        prop_assert!(undone.windows(2).all(|w| w[0] >= w[1]), "compensation order {:?}", undone);
        // A resumed run's journal does not repeat the start, and records the end once.
        let starts = second.records.iter().filter(|c| c.kind == CheckpointKind::TransactionStarted).count();
        prop_assert_eq!(starts, 0);

        let caught = match (last.kind, last.step) {
            (CheckpointKind::StepStarted, Some(i)) if sc.steps[i].compensate_on_failure => Some(i),
            _ => None,
        };
        match caught {
            None => prop_assert_eq!(outline(&report), outline(&expected), "stopped after {:?}", last),
            Some(i) => {
                // Its effect is unknown, so it is undone with the steps before it.
                prop_assert_eq!(report.failed_step, Some(i));
                prop_assert_eq!(report.error.as_ref().map(|e| e.kind), Some(FailureKind::Interrupted));
                prop_assert_ne!(report.status, TransactionStatus::Committed);
                prop_assert!(report.steps[..i].iter().all(|s| s.status == StepStatus::Succeeded));
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1_500, failure_persistence: None, ..ProptestConfig::default() })]

    /// The host may stop after any checkpoint. Cancellation and the transaction deadline are
    /// left out: they are measured on the clock of the host that stopped.
    #[test]
    fn a_run_stopped_after_any_checkpoint_resumes_to_the_same_outcome(
        sc in scenario().prop_filter("no caller cancellation or deadline", |sc| sc.cancel == Cancel::Never && sc.timeout.is_none())
    ) {
        stops_and_resumes(sc)?;
    }
}

// ---- examples ----

fn scenario_of(steps: usize) -> Rc<Scenario> {
    Rc::new(Scenario {
        steps: (0..steps).map(|_| plain_step()).collect(),
        halt: false,
        cancel: Cancel::Never,
        timeout: None,
        honours_signal: false,
    })
}

#[test]
fn a_finished_transaction_runs_nothing_and_journals_nothing_more() {
    let sc = scenario_of(3);
    let whole = run(&sc, Recovery::fresh(3), usize::MAX);
    let recovery = Recovery::replay(3, &whole.records).unwrap();
    assert_eq!(recovery.finished(), Some(TransactionStatus::Committed));
    let again = run(&sc, recovery.clone(), usize::MAX);
    assert!(again.log.calls.is_empty());
    assert!(again.records.is_empty(), "{:?}", again.records);
    assert_eq!(again.report.unwrap().status, TransactionStatus::Committed);
    // Nor does it announce a start or an end that is not happening now.
    let recorder =
        saga_runner::Recorder { names: (0..3).map(saga_scenario::step_name).collect(), ..Default::default() };
    let def = sc.definition();
    let clock = Rc::new(VirtualClock::new());
    let runner = Runner::new(sc.clone(), clock.clone(), Rc::default());
    let rng = SeededRng::new(7);
    let host = Host { clock: &*clock, rng: &rng, observer: &recorder };
    let report = clock.run(resume(&def, &runner, &host, TX.into(), CancelToken::new(), recovery));
    assert_eq!(report.status, TransactionStatus::Committed);
    assert!(recorder.events.borrow().is_empty(), "{:?}", recorder.events.borrow());
}

#[test]
fn a_journal_of_another_definition_is_refused() {
    let sc = scenario_of(3);
    let whole = run(&sc, Recovery::fresh(3), usize::MAX);
    let err = Recovery::replay(2, &whole.records).unwrap_err();
    assert!(err.0.contains("another definition"), "{err}");
}

#[test]
fn a_step_caught_in_flight_with_compensate_on_failure_is_compensated_first() {
    let mut sc = (*scenario_of(3)).clone();
    sc.steps[1].compensate_on_failure = true;
    let sc = Rc::new(sc);
    // transaction.started, s0 started, s0 succeeded, s1 started: stop there.
    let first = run(&sc, Recovery::fresh(3), 3);
    assert_eq!(first.records.last().map(|c| (c.kind, c.step)), Some((CheckpointKind::StepStarted, Some(1))));
    let second = run(&sc, Recovery::replay(3, &first.records).unwrap(), usize::MAX);
    let report = second.report.unwrap();
    assert_eq!(report.status, TransactionStatus::Compensated);
    let error = report.error.unwrap();
    assert_eq!(error.kind.error_name(), "InterruptedError");
    assert!(error.message.contains("in flight"), "{}", error.message);
    let undone: Vec<(usize, bool)> = second.log.calls.iter().map(|c| (c.step, c.compensate)).collect();
    assert_eq!(undone, [(1, true), (0, true)], "only compensations, the caught step first");
    let comp = |i: usize| report.steps[i].compensation.as_ref().map(|c| c.status);
    assert_eq!(
        (comp(0), comp(1), comp(2)),
        (Some(CompensationStatus::Compensated), Some(CompensationStatus::Compensated), None)
    );
}

#[test]
fn execute_is_resume_from_nothing() {
    let sc = scenario_of(2);
    let def = sc.definition();
    let clock = Rc::new(VirtualClock::new());
    let log = Rc::new(RefCell::new(Log::default()));
    let runner = Runner::new(sc.clone(), clock.clone(), log.clone());
    let rng = SeededRng::new(7);
    let journal = Journal::default();
    let host = Host { clock: &*clock, rng: &rng, observer: &journal };
    let report = clock.run(execute(&def, &runner, &host, TX.into(), CancelToken::new()));
    assert_eq!(report.status, TransactionStatus::Committed);
    let kinds: Vec<CheckpointKind> = journal.0.borrow().iter().map(|c| c.kind).collect();
    assert_eq!(kinds.first(), Some(&CheckpointKind::TransactionStarted));
    assert_eq!(kinds.last(), Some(&CheckpointKind::TransactionFinished(TransactionStatus::Committed)));
}
