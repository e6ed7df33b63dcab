//! A `StepRunner` double that behaves as a generated [`Scenario`] says and logs every call,
//! an `Observer` that records events and checkpoints, and the harness that runs a scenario on
//! a virtual clock (no real waiting).

use std::cell::RefCell;
use std::pin::pin;
use std::rc::Rc;

use edgesaga::platform::journal::JournalError;
use edgesaga::platform::{virtual_time::VirtualClock, Clock, SeededRng};
use edgesaga::saga::{
    execute, Attempt, CancelToken, Checkpoint, EventKind, FailureKind, Host, LifecycleEvent, Observer, Report,
    StepError, StepRunner, Version,
};
use futures::future::{ready, select, Either, LocalBoxFuture};

use crate::saga_model::Event;
use crate::saga_scenario::{step_name, Act, Cancel, ErrShape, Scenario, HANG_MS};

pub const TX: &str = "tx-prop";

/// One logged call, with what its [`Attempt`] said.
#[derive(Clone, Debug)]
pub struct Entry {
    /// Which method was called: `compensate` (true) or `execute`.
    pub compensate: bool,
    pub step: usize,
    pub attempt: u32,
    pub info_transaction: String,
    pub info_step: String,
    pub info_compensating: bool,
    pub start: f64,
    /// When the call's future finished or was dropped.
    pub end: Option<f64>,
    /// The signal's abort reason at that moment.
    pub signal: Option<FailureKind>,
}

#[derive(Default, Debug)]
pub struct Log {
    pub calls: Vec<Entry>,
    /// `(step, calls made so far)` for each `commit`.
    pub commits: Vec<(usize, usize)>,
}

pub struct Runner {
    sc: Rc<Scenario>,
    clock: Rc<VirtualClock>,
    log: Rc<RefCell<Log>>,
}

impl Runner {
    /// A runner acting out `sc` on `clock`, logging to `log`.
    pub fn new(sc: Rc<Scenario>, clock: Rc<VirtualClock>, log: Rc<RefCell<Log>>) -> Self {
        Runner { sc, clock, log }
    }
}

/// Stamps a call's end and its signal's state when its future completes or is dropped.
struct Stamp {
    log: Rc<RefCell<Log>>,
    clock: Rc<VirtualClock>,
    index: usize,
    signal: CancelToken,
}

impl Drop for Stamp {
    fn drop(&mut self) {
        let entry = &mut self.log.borrow_mut().calls[self.index];
        entry.end = Some(self.clock.now());
        entry.signal = self.signal.reason();
    }
}

pub fn step_error(e: &ErrShape) -> StepError<()> {
    StepError {
        kind: e.kind,
        name: e.name.clone(),
        message: "scripted failure".into(),
        retryable: e.retryable,
        retry_after_ms: e.retry_after,
        cause: Some(()),
    }
}

impl Runner {
    fn call(
        &self,
        compensate: bool,
        step: usize,
        info: &Attempt,
        act: Act,
    ) -> LocalBoxFuture<'static, Result<(), StepError<()>>> {
        let index = {
            let mut log = self.log.borrow_mut();
            log.calls.push(Entry {
                compensate,
                step,
                attempt: info.attempt,
                info_transaction: info.transaction_id.to_string(),
                info_step: info.step.to_string(),
                info_compensating: info.compensating,
                start: self.clock.now(),
                end: None,
                signal: None,
            });
            log.calls.len() - 1
        };
        let stamp = Stamp { log: self.log.clone(), clock: self.clock.clone(), index, signal: info.signal.clone() };
        let (ms, result) = match act {
            Act::Succeed(ms) => (ms, Ok(())),
            Act::Throw(ms, e) => (ms, Err(step_error(&e))),
            Act::Hang => (HANG_MS, Err(StepError::thrown(None, "hung to the end".into(), None))),
        };
        let sleep = self.clock.sleep(ms);
        let signal = info.signal.clone();
        let honours = self.sc.honours_signal;
        Box::pin(async move {
            let _stamp = stamp;
            if honours {
                if let Either::Right((reason, _)) = select(sleep, signal.aborted()).await {
                    return Err(StepError::thrown(
                        Some("AbortError".into()),
                        format!("signal aborted: {reason:?}"),
                        None,
                    ));
                }
            } else {
                sleep.await;
            }
            result
        })
    }
}

impl StepRunner for Runner {
    type Output = Option<Version>;
    type Cause = ();

    fn execute(&self, step: usize, info: &Attempt) -> LocalBoxFuture<'static, Result<Option<Version>, StepError<()>>> {
        let spec = &self.sc.steps[step];
        let (call, output) = (self.call(false, step, info, spec.forward(info.attempt)), spec.output());
        Box::pin(async move { call.await.map(|()| output) })
    }

    fn compensate(&self, step: usize, info: &Attempt) -> LocalBoxFuture<'static, Result<(), StepError<()>>> {
        self.call(true, step, info, self.sc.steps[step].compensation(info.attempt))
    }

    fn version_of(&self, output: &Option<Version>) -> Option<Version> {
        output.clone()
    }

    fn commit(&self, step: usize, _output: Option<Version>) {
        let mut log = self.log.borrow_mut();
        let made = log.calls.len();
        log.commits.push((step, made));
    }
}

/// Records every public event (reduced to the model's [`Event`]) and every checkpoint.
#[derive(Default)]
pub struct Recorder {
    pub names: Vec<String>,
    pub events: RefCell<Vec<Event>>,
    pub checkpoints: RefCell<Vec<Checkpoint>>,
    /// Whether a checkpoint write is a (ready) future rather than `None`.
    pub journaled: bool,
}

impl Observer<()> for Recorder {
    fn wants(&self, _: EventKind) -> bool {
        true
    }

    fn event(&self, e: &LifecycleEvent<'_, ()>) {
        let step = e.step.map(|n| self.names.iter().position(|x| x == n).expect("a known step"));
        let (kind, attempt, delay) = (e.kind, e.attempt, e.delay_ms);
        let error = e.error.map(|e| e.kind);
        self.events.borrow_mut().push(Event { kind, step, attempt, error, delay });
    }

    fn checkpoint(&self, c: Checkpoint) -> Option<LocalBoxFuture<'static, Result<(), JournalError>>> {
        self.checkpoints.borrow_mut().push(c);
        self.journaled.then(|| Box::pin(ready(Ok(()))) as LocalBoxFuture<'static, _>)
    }
}

pub struct Outcome {
    pub report: Report<()>,
    pub log: Log,
    pub events: Vec<Event>,
    pub checkpoints: Vec<Checkpoint>,
    /// The caller's token once the run is over (the executor must never abort it).
    pub caller: Option<FailureKind>,
}

/// Runs `sc` to its end on a fresh virtual clock, cancelling the caller's token as it says.
pub fn run(sc: &Scenario, journaled: bool) -> Outcome {
    let names = (0..sc.steps.len()).map(step_name).collect();
    let recorder = Recorder { names, journaled, ..Recorder::default() };
    let (report, log, caller) = run_with(sc, &recorder);
    let (events, checkpoints) = (recorder.events.take(), recorder.checkpoints.take());
    Outcome { report, log, events, checkpoints, caller }
}

/// [`run`] with any observer; also returns the caller's token's state when it was not cancelled.
pub fn run_with(sc: &Scenario, observer: &dyn Observer<()>) -> (Report<()>, Log, Option<FailureKind>) {
    let sc = Rc::new(sc.clone());
    let def = sc.definition();
    let clock = Rc::new(VirtualClock::new());
    let log = Rc::new(RefCell::new(Log::default()));
    let runner = Runner::new(sc.clone(), clock.clone(), log.clone());
    let rng = SeededRng::new(7);
    let host = Host { clock: &*clock, rng: &rng, observer };
    let cancel = CancelToken::new();
    if sc.cancel == Cancel::BeforeStart {
        cancel.abort(FailureKind::Aborted);
    }
    let report = clock.run(async {
        let run = pin!(execute(&def, &runner, &host, TX.into(), cancel.clone()));
        let canceller = pin!(async {
            if let Cancel::At(ms) = sc.cancel {
                clock.sleep(ms).await;
                cancel.abort(FailureKind::Aborted);
            }
            std::future::pending::<()>().await
        });
        match select(run, canceller).await {
            Either::Left((report, _)) => report,
            Either::Right(_) => unreachable!("the canceller never ends"),
        }
    });
    let caller = if sc.cancel == Cancel::Never { cancel.reason() } else { None };
    let log = std::mem::take(&mut *log.borrow_mut());
    (report, log, caller)
}
