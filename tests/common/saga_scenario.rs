//! Random saga scenarios: what each step double does on each call, the definition it runs
//! under, and the proptest strategies that generate them.
//!
//! Timing is chosen so that no two things ever happen at the same virtual instant: durations,
//! delays and per-attempt timeouts are multiples of 10 ms (a normal attempt is always shorter
//! than its timeout, a hanging one always longer), a cancellation lands on 10n + 3 ms and the
//! transaction deadline on 10n + 7 ms. The model therefore needs no tie-breaking rules.

use edgesaga::saga::definition::{validate, RawDefinition, RawRetry, RawStep, TransactionDef};
use edgesaga::saga::{FailureKind, Version};
use proptest::prelude::*;

/// A thrown error name listed in the definition's `nonRetryable`.
pub const FATAL: &str = "Fatal";
/// A thrown error name that is not listed, so it is retried.
pub const FLAKY: &str = "Flaky";
/// How long a hanging attempt would take (it is always cut short by its timeout).
pub const HANG_MS: u64 = 1_000_000;
/// The version a version-checked step expects.
pub const EXPECTED_VERSION: f64 = 7.0;

#[derive(Clone, Debug)]
pub struct Policy {
    pub max_attempts: u32,
    pub initial_ms: u64,
    pub backoff: &'static str,
    pub max_delay_ms: u64,
    /// Only in the jitter property: the model assumes it off.
    pub jitter: bool,
}

impl Policy {
    /// The wait after failed attempt `n` with jitter off: `retryAfterMs` when the error gave
    /// one, else initial, initial·n or initial·2ⁿ⁻¹, capped at `maxDelayMs`.
    pub fn delay(&self, n: u32, retry_after: Option<u64>) -> u64 {
        let grown = match self.backoff {
            "constant" => self.initial_ms,
            "linear" => self.initial_ms * u64::from(n),
            _ => self.initial_ms * 2u64.pow(n - 1),
        };
        retry_after.unwrap_or(grown.min(self.max_delay_ms))
    }

    fn raw(&self) -> RawRetry {
        RawRetry {
            max_attempts: Some(f64::from(self.max_attempts)),
            initial_delay_ms: Some(self.initial_ms as f64),
            backoff: Some(self.backoff.into()),
            max_delay_ms: Some(self.max_delay_ms as f64),
            jitter: Some(self.jitter),
            non_retryable: None,
        }
    }
}

/// How one attempt behaves when it fails (and how long it takes, whether it fails or not).
#[derive(Clone, Copy, Debug)]
pub struct Try {
    pub dur: u64,
    pub hang: bool,
    pub named: bool,
    pub retry_after: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Permanent {
    /// Keeps throwing a retryable error until attempts run out.
    Exhausts,
    /// Throws `retryable: false`.
    NotRetryable,
    /// Throws an error named in `nonRetryable`.
    FatalName,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VersionSpec {
    Unchecked,
    Match,
    /// `"7"` instead of `7`: versions compare strictly.
    Mismatch,
    Missing,
}

#[derive(Clone, Debug)]
pub struct StepSpec {
    pub has_comp: bool,
    pub transient: u32,
    pub permanent: Option<Permanent>,
    pub retry: Policy,
    pub timeout: Option<u64>,
    pub tries: [Try; 4],
    pub compensate_on_failure: bool,
    pub version: VersionSpec,
    pub comp_failures: u32,
    pub comp_fatal: bool,
    pub comp_retry: Policy,
    pub comp_timeout: Option<u64>,
    pub comp_tries: [Try; 4],
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cancel {
    Never,
    BeforeStart,
    At(u64),
}

#[derive(Clone, Debug)]
pub struct Scenario {
    pub steps: Vec<StepSpec>,
    pub halt: bool,
    pub cancel: Cancel,
    pub timeout: Option<u64>,
    /// Whether attempts reject with an `AbortError` as soon as their signal aborts (as a
    /// `fetch` given `info.signal` does), instead of ignoring it.
    pub honours_signal: bool,
}

/// An error as the report shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct ErrShape {
    pub kind: FailureKind,
    pub name: Option<String>,
    pub retryable: Option<bool>,
    pub retry_after: Option<u64>,
}

impl ErrShape {
    pub fn plain(kind: FailureKind) -> Self {
        ErrShape { kind, name: None, retryable: None, retry_after: None }
    }
    fn thrown(name: Option<&str>, retryable: Option<bool>, retry_after: Option<u64>) -> Self {
        ErrShape { name: name.map(Into::into), retryable, retry_after, ..Self::plain(FailureKind::Thrown) }
    }
}

/// What the step double does on one call.
#[derive(Clone, Debug)]
pub enum Act {
    Succeed(u64),
    Throw(u64, ErrShape),
    Hang,
}

impl StepSpec {
    pub fn forward(&self, attempt: u32) -> Act {
        let t = self.tries[attempt as usize - 1];
        let flaky = || ErrShape::thrown(t.named.then_some(FLAKY), None, t.retry_after);
        match (attempt <= self.transient, self.permanent) {
            (false, None) => Act::Succeed(t.dur),
            (true, _) | (false, Some(Permanent::Exhausts)) if t.hang && self.timeout.is_some() => Act::Hang,
            (true, _) | (false, Some(Permanent::Exhausts)) => Act::Throw(t.dur, flaky()),
            (false, Some(Permanent::NotRetryable)) => {
                Act::Throw(t.dur, ErrShape::thrown(None, Some(false), t.retry_after))
            }
            (false, Some(Permanent::FatalName)) => {
                Act::Throw(t.dur, ErrShape::thrown(Some(FATAL), None, t.retry_after))
            }
        }
    }

    pub fn compensation(&self, attempt: u32) -> Act {
        let t = self.comp_tries[attempt as usize - 1];
        if attempt > self.comp_failures {
            Act::Succeed(t.dur)
        } else if attempt == 1 && self.comp_fatal {
            Act::Throw(t.dur, ErrShape::thrown(None, Some(false), None))
        } else if t.hang && self.comp_timeout.is_some() {
            Act::Hang
        } else {
            Act::Throw(t.dur, ErrShape::thrown(t.named.then_some(FLAKY), None, t.retry_after))
        }
    }

    /// The `version` a successful `execute` returns.
    pub fn output(&self) -> Option<Version> {
        match self.version {
            VersionSpec::Unchecked | VersionSpec::Match => Some(Version::Number(EXPECTED_VERSION)),
            VersionSpec::Mismatch => Some(Version::Text("7".into())),
            VersionSpec::Missing => None,
        }
    }
}

pub fn step_name(i: usize) -> String {
    format!("s{i}")
}

impl Scenario {
    pub fn definition(&self) -> TransactionDef {
        let steps = self.steps.iter().enumerate().map(|(i, s)| RawStep {
            name: Some(step_name(i)),
            has_compensate: s.has_comp,
            retry: Some(s.retry.raw()),
            timeout_ms: s.timeout.map(|ms| ms as f64),
            compensation_retry: Some(s.comp_retry.raw()),
            compensation_timeout_ms: s.comp_timeout.map(|ms| ms as f64),
            compensate_on_failure: s.compensate_on_failure,
            requires_version_check: s.version != VersionSpec::Unchecked,
            expected_version: Some(Version::Number(EXPECTED_VERSION)),
        });
        validate(RawDefinition {
            name: Some("prop".into()),
            steps: steps.collect(),
            retry: Some(RawRetry { non_retryable: Some(vec![FATAL.into()]), ..RawRetry::default() }),
            timeout_ms: self.timeout.map(|ms| ms as f64),
            on_compensation_failure: self.halt.then(|| "halt".into()),
        })
        .expect("generated definitions are valid")
    }
}

// ---- strategies ----

fn policy(max_attempts: std::ops::RangeInclusive<u32>) -> impl Strategy<Value = Policy> {
    let backoff = prop::sample::select(vec!["constant", "linear", "exponential"]);
    (
        max_attempts,
        prop::sample::select(vec![0u64, 10, 20, 50]),
        backoff,
        prop::sample::select(vec![10u64, 30, 60, 100]),
    )
        .prop_map(|(max_attempts, initial_ms, backoff, max_delay_ms)| Policy {
            max_attempts,
            initial_ms,
            backoff,
            max_delay_ms,
            jitter: false,
        })
}

fn tries() -> impl Strategy<Value = [Try; 4]> {
    let retry_after = prop::option::weighted(0.25, prop::sample::select(vec![0u64, 10, 150]));
    let one = (prop::sample::select(vec![0u64, 10, 20]), prop::bool::weighted(0.4), any::<bool>(), retry_after)
        .prop_map(|(dur, hang, named, retry_after)| Try { dur, hang, named, retry_after });
    prop::array::uniform4(one)
}

fn timeout() -> impl Strategy<Value = Option<u64>> {
    prop::option::of(prop::sample::select(vec![30u64, 40, 50]))
}

prop_compose! {
    fn step_spec()(
        has_comp in prop::bool::weighted(0.75),
        transient in prop_oneof![2 => Just(0u32), 1 => 1u32..=3],
        permanent in prop::option::weighted(0.15, prop::sample::select(vec![
            Permanent::Exhausts, Permanent::NotRetryable, Permanent::FatalName,
        ])),
        retry in policy(1..=4),
        timeout in timeout(),
        tries in tries(),
        compensate_on_failure in any::<bool>(),
        version in prop_oneof![
            10 => Just(VersionSpec::Unchecked),
            3 => Just(VersionSpec::Match),
            1 => Just(VersionSpec::Mismatch),
            1 => Just(VersionSpec::Missing),
        ],
        comp_failures in 0u32..=4,
        comp_fatal in prop::bool::weighted(0.1),
        comp_retry in policy(1..=3),
        comp_timeout in timeout(),
        comp_tries in tries(),
    ) -> StepSpec {
        StepSpec {
            has_comp, transient, permanent, retry, timeout, tries, compensate_on_failure, version,
            comp_failures, comp_fatal, comp_retry, comp_timeout, comp_tries,
        }
    }
}

prop_compose! {
    pub fn scenario()(
        steps in prop::collection::vec(step_spec(), 1..=8),
        halt in any::<bool>(),
        cancel in prop_oneof![
            5 => Just(Cancel::Never),
            1 => Just(Cancel::BeforeStart),
            4 => (0u64..30).prop_map(|n| Cancel::At(10 * n + 3)),
        ],
        timeout in prop::option::weighted(0.4, (0u64..30).prop_map(|n| 10 * n + 7)),
        honours_signal in any::<bool>(),
    ) -> Scenario {
        Scenario { steps, halt, cancel, timeout, honours_signal }
    }
}

/// A step that succeeds at once and has a compensation that does too: a base for examples.
pub fn plain_step() -> StepSpec {
    let try_ = Try { dur: 0, hang: false, named: false, retry_after: None };
    let once = Policy { max_attempts: 1, initial_ms: 100, backoff: "exponential", max_delay_ms: 30_000, jitter: false };
    StepSpec {
        has_comp: true,
        transient: 0,
        permanent: None,
        retry: once.clone(),
        timeout: None,
        tries: [try_; 4],
        compensate_on_failure: false,
        version: VersionSpec::Unchecked,
        comp_failures: 0,
        comp_fatal: false,
        comp_retry: once,
        comp_timeout: None,
        comp_tries: [try_; 4],
    }
}
