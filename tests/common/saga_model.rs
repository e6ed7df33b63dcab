//! An independent model of what the executor must do with a [`Scenario`], written from
//! DESIGN.md ("Transactions") and the executor's documented contract, not from its code.

use edgesaga::saga::{CompensationStatus, EventKind, FailureKind, StepStatus, TransactionStatus};

use crate::saga_scenario::{Act, Cancel, ErrShape, Scenario, VersionSpec, FATAL, HANG_MS};

/// Whether a policy may try again after `e` (attempts permitting): only a thrown error or a
/// timed-out attempt, unless it says `retryable: false` or is named in `nonRetryable` (which
/// only the forward policy lists; compensations never throw that name).
fn may_retry(e: &ErrShape) -> bool {
    matches!(e.kind, FailureKind::Thrown | FailureKind::Timeout)
        && e.retryable != Some(false)
        && e.name.as_deref() != Some(FATAL)
}

/// One call of `execute` or `compensate`: when it started and ended, and why its signal was
/// aborted by the time it ended (or was dropped).
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    pub compensating: bool,
    pub step: usize,
    pub attempt: u32,
    pub start: u64,
    pub end: u64,
    pub signal: Option<FailureKind>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CompOutcome {
    pub status: CompensationStatus,
    pub attempts: u32,
    pub error: Option<ErrShape>,
    pub started: Option<u64>,
    pub ended: Option<u64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub status: StepStatus,
    pub attempts: u32,
    pub error: Option<ErrShape>,
    pub started: Option<u64>,
    pub ended: Option<u64>,
    pub comp: Option<CompOutcome>,
}

/// A public event, reduced to what the model predicts.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub kind: EventKind,
    pub step: Option<usize>,
    pub attempt: u32,
    pub error: Option<FailureKind>,
    pub delay: Option<u64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Expected {
    pub calls: Vec<Call>,
    /// `(step, calls made so far)` for each `commit`: right after the call that produced it.
    pub commits: Vec<(usize, usize)>,
    pub events: Vec<Event>,
    pub status: TransactionStatus,
    pub failed_step: Option<usize>,
    pub error: Option<ErrShape>,
    pub steps: Vec<Outcome>,
}

struct Model<'a> {
    sc: &'a Scenario,
    t: u64,
    x: Expected,
}

/// What the executor must do with `sc`.
pub fn expect(sc: &Scenario) -> Expected {
    let pending =
        Outcome { status: StepStatus::Pending, attempts: 0, error: None, started: None, ended: None, comp: None };
    let x = Expected {
        calls: vec![],
        commits: vec![],
        events: vec![],
        status: TransactionStatus::Committed,
        failed_step: None,
        error: None,
        steps: vec![pending; sc.steps.len()],
    };
    let mut m = Model { sc, t: 0, x };
    m.event(EventKind::TransactionStarted, None, 0, None, None);
    // Steps whose effects exist and must be undone, in the order they came about.
    let mut undo = Vec::new();
    for s in 0..sc.steps.len() {
        if sc.cancel == Cancel::BeforeStart {
            // Nothing runs; with no other way to be cancelled between steps (no ties), this
            // is the only between-steps interruption the scenarios can produce.
            m.x.error = Some(ErrShape::plain(FailureKind::Aborted));
            break;
        }
        match m.forward(s) {
            Ok(()) => undo.push(s),
            Err((error, completed)) => {
                if completed || sc.steps[s].compensate_on_failure {
                    undo.push(s);
                }
                m.x.failed_step = Some(s);
                m.x.error = Some(error);
                break;
            }
        }
    }
    if m.x.error.is_some() {
        let mut halted = false;
        let mut all_undone = true;
        for &s in undo.iter().rev().filter(|&&s| sc.steps[s].has_comp) {
            if halted {
                let skipped = CompOutcome {
                    status: CompensationStatus::Skipped,
                    attempts: 0,
                    error: None,
                    started: None,
                    ended: None,
                };
                m.x.steps[s].comp = Some(skipped);
            } else if !m.compensate(s) {
                halted = sc.halt;
            }
            all_undone &= m.x.steps[s].comp.as_ref().unwrap().status == CompensationStatus::Compensated;
        }
        m.x.status = if all_undone { TransactionStatus::Compensated } else { TransactionStatus::CompensationFailed };
    }
    let kind = m.x.error.as_ref().map(|e| e.kind);
    m.event(EventKind::finished(m.x.status), None, 0, kind, None);
    m.x
}

impl Model<'_> {
    fn event(
        &mut self,
        kind: EventKind,
        step: Option<usize>,
        attempt: u32,
        error: Option<FailureKind>,
        delay: Option<u64>,
    ) {
        self.x.events.push(Event { kind, step, attempt, error, delay });
    }

    /// The caller's cancellation or the transaction deadline, whichever falls first inside
    /// `(from, until)`.
    fn interruption(&self, from: u64, until: u64) -> Option<(u64, FailureKind)> {
        let cancel = match self.sc.cancel {
            Cancel::At(c) => Some((c, FailureKind::Aborted)),
            _ => None,
        };
        let deadline = self.sc.timeout.map(|d| (d, FailureKind::TransactionTimeout));
        [cancel, deadline].into_iter().flatten().filter(|&(at, _)| from < at && at < until).min_by_key(|&(at, _)| at)
    }

    /// Runs one call of step `s`, interrupted by its timeout and, going forward, by the
    /// caller and the deadline. Returns the call's error, if any.
    fn call(&mut self, compensating: bool, s: usize, attempt: u32) -> Result<(), ErrShape> {
        let sc = self.sc;
        let spec = &sc.steps[s];
        let (act, timeout) = if compensating {
            (spec.compensation(attempt), spec.comp_timeout)
        } else {
            (spec.forward(attempt), spec.timeout)
        };
        let start = self.t;
        let natural = match &act {
            Act::Succeed(d) | Act::Throw(d, _) => start + d,
            Act::Hang => start + HANG_MS,
        };
        let mut end = (natural, None);
        if let Some(ms) = timeout.filter(|ms| start + ms < natural) {
            end = (start + ms, Some(FailureKind::Timeout));
        }
        if let Some((at, kind)) = self.interruption(start, end.0).filter(|_| !compensating) {
            end = (at, Some(kind));
        }
        self.t = end.0;
        self.x.calls.push(Call { compensating, step: s, attempt, start, end: end.0, signal: end.1 });
        match (end.1, act) {
            (Some(kind), _) => Err(ErrShape::plain(kind)),
            (None, Act::Succeed(_)) => Ok(()),
            (None, Act::Throw(_, e)) => Err(e),
            (None, Act::Hang) => unreachable!("a hanging call always times out"),
        }
    }

    /// The forward path of step `s`. On failure, also says whether its action completed.
    fn forward(&mut self, s: usize) -> Result<(), (ErrShape, bool)> {
        let sc = self.sc;
        let spec = &sc.steps[s];
        self.x.steps[s].started = Some(self.t);
        self.event(EventKind::StepStarted, Some(s), 1, None, None);
        let mut k = 1;
        let (error, completed) = loop {
            self.x.steps[s].attempts = k;
            let error = match self.call(false, s, k) {
                Ok(()) => {
                    self.x.commits.push((s, self.x.calls.len()));
                    if matches!(spec.version, VersionSpec::Mismatch | VersionSpec::Missing) {
                        break (ErrShape::plain(FailureKind::OptimisticLock), true);
                    }
                    let report = &mut self.x.steps[s];
                    report.status = StepStatus::Succeeded;
                    report.ended = Some(self.t);
                    self.event(EventKind::StepSucceeded, Some(s), k, None, None);
                    self.event(EventKind::Progress, Some(s), 0, None, None);
                    return Ok(());
                }
                Err(e) => e,
            };
            if !may_retry(&error) || k >= spec.retry.max_attempts {
                break (error, false);
            }
            let delay = spec.retry.delay(k, error.retry_after);
            self.event(EventKind::StepRetrying, Some(s), k, Some(error.kind), Some(delay));
            if let Some((at, kind)) = self.interruption(self.t, self.t + delay) {
                self.t = at;
                break (ErrShape::plain(kind), false);
            }
            self.t += delay;
            k += 1;
        };
        self.event(EventKind::StepFailed, Some(s), k, Some(error.kind), None);
        let report = &mut self.x.steps[s];
        report.status = StepStatus::Failed;
        report.ended = Some(self.t);
        report.error = Some(error.clone());
        Err((error, completed))
    }

    /// Compensates step `s` until it succeeds or may not retry. Neither the caller's
    /// cancellation nor the deadline bound it.
    fn compensate(&mut self, s: usize) -> bool {
        let sc = self.sc;
        let policy = &sc.steps[s].comp_retry;
        let started = Some(self.t);
        self.event(EventKind::CompensationStarted, Some(s), 1, None, None);
        let mut k = 1;
        let error = loop {
            match self.call(true, s, k) {
                Ok(()) => break None,
                Err(e) if may_retry(&e) && k < policy.max_attempts => {
                    self.t += policy.delay(k, e.retry_after);
                    k += 1;
                }
                Err(e) => break Some(e),
            }
        };
        let (kind, status) = match &error {
            None => (EventKind::CompensationSucceeded, CompensationStatus::Compensated),
            Some(_) => (EventKind::CompensationFailed, CompensationStatus::Failed),
        };
        self.event(kind, Some(s), k, error.as_ref().map(|e| e.kind), None);
        let ok = error.is_none();
        self.x.steps[s].comp = Some(CompOutcome { status, attempts: k, error, started, ended: Some(self.t) });
        ok
    }
}
