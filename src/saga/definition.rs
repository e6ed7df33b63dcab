//! Transaction definitions: the raw form a host reads, and the validated form the executor runs.
//!
//! Validation happens before any step runs and names the offending field, so a bad definition
//! is never half-run.
//!
//! ```
//! use edgesaga::saga::definition::{validate, RawDefinition, RawStep, RawRetry};
//!
//! let raw = RawDefinition {
//!     steps: vec![RawStep {
//!         name: Some("charge".into()),
//!         retry: Some(RawRetry { max_attempts: Some(-1.0), ..Default::default() }),
//!         ..Default::default()
//!     }],
//!     ..Default::default()
//! };
//! let err = validate(raw).unwrap_err();
//! assert_eq!(err.field, "steps[0].retry.maxAttempts");
//! ```

use std::fmt;
use std::rc::Rc;

use super::policy::{Backoff, RetryPolicy};

/// A definition the executor refused, naming the field (`steps[1].retry.backoff`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DefinitionError {
    /// The path of the offending field, as the user wrote it.
    pub field: String,
    /// What is wrong with it.
    pub reason: String,
}

impl DefinitionError {
    /// An error about `field`.
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        DefinitionError { field: field.into(), reason: reason.into() }
    }
}

impl fmt::Display for DefinitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid transaction definition: {}: {}", self.field, self.reason)
    }
}

impl std::error::Error for DefinitionError {}

/// The version a step's result must carry when `requiresVersionCheck` is set.
#[derive(Clone, Debug, PartialEq)]
pub enum Version {
    /// A numeric version (`7`).
    Number(f64),
    /// A string version (an ETag, `"v7"`).
    Text(String),
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Version::Number(n) => f.write_str(&number_text(*n)),
            Version::Text(s) => write!(f, "\"{s}\""),
        }
    }
}

/// A retry policy as written: every field optional, numbers not yet checked.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RawRetry {
    /// `maxAttempts`
    pub max_attempts: Option<f64>,
    /// `initialDelayMs`
    pub initial_delay_ms: Option<f64>,
    /// `backoff`
    pub backoff: Option<String>,
    /// `maxDelayMs`
    pub max_delay_ms: Option<f64>,
    /// `jitter`
    pub jitter: Option<bool>,
    /// `nonRetryable`
    pub non_retryable: Option<Vec<String>>,
}

/// A step as written. Whether `execute`/`compensate` are functions is the host's to check.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RawStep {
    /// `name`
    pub name: Option<String>,
    /// Whether a `compensate` was given.
    pub has_compensate: bool,
    /// `retry`
    pub retry: Option<RawRetry>,
    /// `timeoutMs`
    pub timeout_ms: Option<f64>,
    /// `compensationRetry`
    pub compensation_retry: Option<RawRetry>,
    /// `compensationTimeoutMs`
    pub compensation_timeout_ms: Option<f64>,
    /// `compensateOnFailure`
    pub compensate_on_failure: bool,
    /// `requiresVersionCheck`
    pub requires_version_check: bool,
    /// `expectedVersion`
    pub expected_version: Option<Version>,
}

/// A definition as written.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RawDefinition {
    /// `name`
    pub name: Option<String>,
    /// `steps`
    pub steps: Vec<RawStep>,
    /// `retry`: the default for every step's `retry`, merged field by field.
    pub retry: Option<RawRetry>,
    /// `timeoutMs` for the whole forward path.
    pub timeout_ms: Option<f64>,
    /// `onCompensationFailure`
    pub on_compensation_failure: Option<String>,
}

/// What to do when a compensation fails for good.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnCompensationFailure {
    /// Go on compensating the earlier steps (the default).
    Continue,
    /// Stop; the earlier steps are reported as not compensated.
    Halt,
}

/// A validated step.
#[derive(Clone, Debug, PartialEq)]
pub struct StepDef {
    /// Unique within the transaction.
    pub name: Rc<str>,
    /// Whether the step has a compensation.
    pub has_compensate: bool,
    /// The forward retry policy.
    pub retry: RetryPolicy,
    /// Per-attempt timeout.
    pub timeout_ms: Option<u64>,
    /// The compensation retry policy.
    pub compensation_retry: RetryPolicy,
    /// Per-attempt compensation timeout.
    pub compensation_timeout_ms: Option<u64>,
    /// Compensate this step even when it failed (it may have left partial effects).
    pub compensate_on_failure: bool,
    /// The version the result must carry (`requiresVersionCheck`).
    pub expected_version: Option<Version>,
}

/// A validated transaction definition.
#[derive(Clone, Debug, PartialEq)]
pub struct TransactionDef {
    /// For reports and events (`"transaction"` when not given).
    pub name: Rc<str>,
    /// At least one, names unique.
    pub steps: Vec<StepDef>,
    /// Deadline for the forward path.
    pub timeout_ms: Option<u64>,
    /// What a failed compensation does to the earlier ones.
    pub on_compensation_failure: OnCompensationFailure,
}

/// Checks `raw` and fills in defaults.
pub fn validate(raw: RawDefinition) -> Result<TransactionDef, DefinitionError> {
    if raw.steps.is_empty() {
        return Err(DefinitionError::new("steps", "must contain at least one step"));
    }
    let top = Path { step: None, policy: None };
    let base = retry_policy(top.policy("retry"), &raw.retry.unwrap_or_default(), RetryPolicy::default())?;
    let on_compensation_failure = match raw.on_compensation_failure.as_deref() {
        None | Some("continue") => OnCompensationFailure::Continue,
        Some("halt") => OnCompensationFailure::Halt,
        Some(other) => {
            return Err(DefinitionError::new(
                "onCompensationFailure",
                format!("must be 'continue' or 'halt', got \"{other}\""),
            ))
        }
    };
    let mut steps: Vec<StepDef> = Vec::with_capacity(raw.steps.len());
    for (i, step) in raw.steps.into_iter().enumerate() {
        let at = Path { step: Some(i), policy: None };
        let name = match step.name {
            Some(n) if !n.trim().is_empty() => n,
            Some(_) => return Err(DefinitionError::new(at.field("name"), "must not be empty")),
            None => return Err(DefinitionError::new(at.field("name"), "is required")),
        };
        if let Some(j) = steps.iter().position(|s| *s.name == *name) {
            let reason = format!("duplicate step name \"{name}\" (also steps[{j}])");
            return Err(DefinitionError::new(at.field("name"), reason));
        }
        let retry = retry_policy(at.policy("retry"), &step.retry.unwrap_or_default(), base.clone())?;
        let compensation_retry = retry_policy(
            at.policy("compensationRetry"),
            &step.compensation_retry.unwrap_or_default(),
            RetryPolicy::compensation_default(),
        )?;
        let expected_version = match (step.requires_version_check, step.expected_version) {
            (true, None) => {
                let reason = "is required when requiresVersionCheck is true";
                return Err(DefinitionError::new(at.field("expectedVersion"), reason));
            }
            (true, v) => v,
            (false, _) => None,
        };
        steps.push(StepDef {
            name: name.into(),
            has_compensate: step.has_compensate,
            retry,
            timeout_ms: whole_number(at, "timeoutMs", step.timeout_ms, 1)?,
            compensation_retry,
            compensation_timeout_ms: whole_number(at, "compensationTimeoutMs", step.compensation_timeout_ms, 1)?,
            compensate_on_failure: step.compensate_on_failure,
            expected_version,
        });
    }
    Ok(TransactionDef {
        name: raw.name.unwrap_or_else(|| "transaction".into()).into(),
        steps,
        timeout_ms: whole_number(top, "timeoutMs", raw.timeout_ms, 1)?,
        on_compensation_failure,
    })
}

/// Where a field sits (`steps[2].retry.`), spelled out only when there is an error to report,
/// so validating a good definition formats nothing.
#[derive(Clone, Copy)]
struct Path {
    step: Option<usize>,
    policy: Option<&'static str>,
}

impl Path {
    fn policy(self, name: &'static str) -> Path {
        Path { policy: Some(name), ..self }
    }

    fn field(self, name: &str) -> String {
        let mut path = match self.step {
            Some(i) => format!("steps[{i}]."),
            None => String::new(),
        };
        if let Some(policy) = self.policy {
            path.push_str(policy);
            path.push('.');
        }
        path.push_str(name);
        path
    }
}

fn retry_policy(at: Path, raw: &RawRetry, base: RetryPolicy) -> Result<RetryPolicy, DefinitionError> {
    let backoff = match raw.backoff.as_deref() {
        None => base.backoff,
        Some(s) => Backoff::parse(s).ok_or_else(|| {
            let reason = format!("unknown backoff \"{s}\" (expected 'constant', 'linear' or 'exponential')");
            DefinitionError::new(at.field("backoff"), reason)
        })?,
    };
    let max_attempts = match whole_number(at, "maxAttempts", raw.max_attempts, 1)? {
        Some(n) => u32::try_from(n).map_err(|_| DefinitionError::new(at.field("maxAttempts"), "is too large"))?,
        None => base.max_attempts,
    };
    Ok(RetryPolicy {
        max_attempts,
        initial_delay_ms: whole_number(at, "initialDelayMs", raw.initial_delay_ms, 0)?.unwrap_or(base.initial_delay_ms),
        backoff,
        max_delay_ms: whole_number(at, "maxDelayMs", raw.max_delay_ms, 0)?.unwrap_or(base.max_delay_ms),
        jitter: raw.jitter.unwrap_or(base.jitter),
        non_retryable: raw.non_retryable.clone().unwrap_or(base.non_retryable),
    })
}

/// An optional whole number ≥ `min` (milliseconds or a count).
fn whole_number(at: Path, field: &str, value: Option<f64>, min: u64) -> Result<Option<u64>, DefinitionError> {
    let Some(v) = value else { return Ok(None) };
    if !v.is_finite() || v.fract() != 0.0 || v < min as f64 || v > 9_007_199_254_740_991.0 {
        let what = if min == 0 { "a non-negative integer" } else { "a positive integer" };
        return Err(DefinitionError::new(at.field(field), format!("must be {what}, got {}", number_text(v))));
    }
    Ok(Some(v as u64))
}

/// Writes a number the way JS would for the common cases, without pulling Rust's float
/// formatting (≈ 20 KB of wasm) into the package: integers exactly, other values to 6 decimals.
pub fn number_text(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity".into() } else { "-Infinity".into() };
    }
    let sign = if v < 0.0 { "-" } else { "" };
    let a = v.abs();
    if a >= 1e18 {
        return format!("{sign}{}e{}", (a / 10f64.powi(a.log10() as i32)) as u64, a.log10() as i32);
    }
    let whole = a.trunc() as u64;
    let frac = ((a - a.trunc()) * 1e6).round() as u64;
    if frac == 0 || frac == 1_000_000 {
        return format!("{sign}{}", whole + frac / 1_000_000);
    }
    let digits = format!("{frac:06}");
    format!("{sign}{whole}.{}", digits.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(name: &str) -> RawStep {
        RawStep { name: Some(name.into()), ..Default::default() }
    }

    fn def(steps: Vec<RawStep>) -> RawDefinition {
        RawDefinition { steps, ..Default::default() }
    }

    fn field_of(raw: RawDefinition) -> String {
        validate(raw).unwrap_err().field
    }

    #[test]
    fn rejects_each_bad_field_by_name() {
        assert_eq!(field_of(def(vec![])), "steps");
        assert_eq!(field_of(def(vec![step("a"), step("a")])), "steps[1].name");
        assert_eq!(field_of(def(vec![RawStep::default()])), "steps[0].name");
        assert_eq!(field_of(def(vec![step(" ")])), "steps[0].name");
        let retry = |r: RawRetry| RawStep { retry: Some(r), ..step("s") };
        for bad in [-1.0, 0.0, 1.5, f64::NAN, f64::INFINITY] {
            let raw = def(vec![retry(RawRetry { max_attempts: Some(bad), ..Default::default() })]);
            assert_eq!(field_of(raw), "steps[0].retry.maxAttempts", "maxAttempts {bad}");
        }
        let raw = def(vec![retry(RawRetry { backoff: Some("fibonacci".into()), ..Default::default() })]);
        let err = validate(raw).unwrap_err();
        assert_eq!(err.field, "steps[0].retry.backoff");
        assert!(err.to_string().contains("fibonacci"), "{err}");
        let raw = def(vec![retry(RawRetry { initial_delay_ms: Some(-5.0), ..Default::default() })]);
        assert_eq!(field_of(raw), "steps[0].retry.initialDelayMs");
        assert_eq!(field_of(def(vec![RawStep { timeout_ms: Some(0.0), ..step("s") }])), "steps[0].timeoutMs");
        let raw = def(vec![RawStep { requires_version_check: true, ..step("s") }]);
        assert_eq!(field_of(raw), "steps[0].expectedVersion");
        let raw = RawDefinition { on_compensation_failure: Some("panic".into()), ..def(vec![step("s")]) };
        assert_eq!(field_of(raw), "onCompensationFailure");
        let raw = RawDefinition { timeout_ms: Some(-1.0), ..def(vec![step("s")]) };
        assert_eq!(field_of(raw), "timeoutMs");
        let raw = RawDefinition {
            retry: Some(RawRetry { backoff: Some("x".into()), ..Default::default() }),
            ..def(vec![step("s")])
        };
        assert_eq!(field_of(raw), "retry.backoff");
    }

    #[test]
    fn numbers_read_like_js() {
        let cases =
            [(3.0, "3"), (-1.0, "-1"), (2.5, "2.5"), (0.125, "0.125"), (f64::NAN, "NaN"), (f64::INFINITY, "Infinity")];
        for (v, text) in cases {
            assert_eq!(number_text(v), text);
        }
    }

    #[test]
    fn step_retry_merges_over_the_definition_default() {
        let raw = RawDefinition {
            retry: Some(RawRetry { max_attempts: Some(4.0), initial_delay_ms: Some(10.0), ..Default::default() }),
            steps: vec![
                step("a"),
                RawStep { retry: Some(RawRetry { max_attempts: Some(2.0), ..Default::default() }), ..step("b") },
            ],
            ..Default::default()
        };
        let def = validate(raw).unwrap();
        assert_eq!((def.steps[0].retry.max_attempts, def.steps[0].retry.initial_delay_ms), (4, 10));
        assert_eq!((def.steps[1].retry.max_attempts, def.steps[1].retry.initial_delay_ms), (2, 10));
        assert_eq!(def.steps[1].compensation_retry, RetryPolicy::compensation_default());
        assert_eq!(def.on_compensation_failure, OnCompensationFailure::Continue);
    }
}
