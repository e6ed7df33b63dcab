//! Reading a declarative HTTP transaction from JSON text: the common fields through the one
//! existing validator ([`validate`]), then each step's request or `await`, templates checked
//! against the step names.

use std::rc::Rc;

use super::super::definition::{validate, DefinitionError, RawDefinition, RawRetry, RawStep, Version};
use super::await_step::AwaitSpec;
use super::fields::Members;
use super::request::RequestTemplate;
use super::template::Env;
use super::{HttpTransaction, StepAction};
use crate::json::{Json, DEFAULT_MAX_DEPTH};

const TOP_FIELDS: &[&str] = &["name", "steps", "retry", "timeoutMs", "onCompensationFailure"];
const STEP_FIELDS: &[&str] = &[
    "name",
    "kind",
    "request",
    "compensate",
    "await",
    "retry",
    "timeoutMs",
    "compensationRetry",
    "compensationTimeoutMs",
    "compensateOnFailure",
    "requiresVersionCheck",
    "expectedVersion",
];
const RETRY_FIELDS: &[&str] = &["maxAttempts", "initialDelayMs", "backoff", "maxDelayMs", "jitter", "nonRetryable"];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Http,
    Await,
}

/// Parses and checks a definition (see the [module docs](super) for its shape). Every error
/// names its field; nothing is sent for a definition this rejects.
pub fn parse_definition(text: &str) -> Result<HttpTransaction, DefinitionError> {
    let doc = Json::parse(text, DEFAULT_MAX_DEPTH)
        .map_err(|e| DefinitionError::new("definition", format!("is not valid JSON: {e}")))?;
    if doc.as_object().is_none() {
        return Err(DefinitionError::new("definition", format!("must be an object, got {}", doc.kind_name())));
    }
    let top = Members::of(&doc, String::new())?;
    top.allow(TOP_FIELDS)?;
    let Some(steps) = top.array("steps")? else { return Err(DefinitionError::new("steps", "is required")) };
    let mut raw = RawDefinition {
        name: top.string("name")?.map(str::to_owned),
        steps: Vec::with_capacity(steps.len()),
        retry: raw_retry(top.object("retry")?)?,
        timeout_ms: top.number("timeoutMs")?,
        on_compensation_failure: top.string("onCompensationFailure")?.map(str::to_owned),
    };
    let mut kinds = Vec::with_capacity(steps.len());
    for (i, step) in steps.iter().enumerate() {
        let m = Members::of(step, format!("steps[{i}]"))?;
        m.allow(STEP_FIELDS)?;
        let kind = step_kind(&m)?;
        let has_compensate = m.get("compensate").is_some();
        if kind == Kind::Await && has_compensate {
            let reason = "an await step sends nothing, so it has nothing to compensate";
            return Err(DefinitionError::new(m.field("compensate"), reason));
        }
        raw.steps.push(RawStep {
            name: m.string("name")?.map(str::to_owned),
            has_compensate,
            retry: raw_retry(m.object("retry")?)?,
            timeout_ms: m.number("timeoutMs")?,
            compensation_retry: raw_retry(m.object("compensationRetry")?)?,
            compensation_timeout_ms: m.number("compensationTimeoutMs")?,
            compensate_on_failure: m.boolean("compensateOnFailure")?.unwrap_or(false),
            requires_version_check: m.boolean("requiresVersionCheck")?.unwrap_or(false),
            expected_version: match m.get("expectedVersion") {
                None => None,
                Some(Json::Number(n)) => Some(Version::Number(n.value())),
                Some(Json::String(s)) => Some(Version::Text(s.clone())),
                Some(other) => {
                    let reason = format!("must be a number or a string, got {}", other.kind_name());
                    return Err(DefinitionError::new(m.field("expectedVersion"), reason));
                }
            },
        });
        kinds.push((kind, m));
    }
    let def = validate(raw)?;
    let names: Vec<Rc<str>> = def.steps.iter().map(|s| s.name.clone()).collect();
    let mut context_uses = Vec::new();
    let mut actions = Vec::with_capacity(kinds.len());
    for (step, (kind, m)) in kinds.into_iter().enumerate() {
        let mut env = Env { names: &names, step, own_result: false, context_uses: &mut context_uses };
        actions.push(match kind {
            Kind::Http => {
                let request = RequestTemplate::compile(required_object(&m, "request")?, &mut env)?;
                env.own_result = true;
                let compensate = match m.object("compensate")? {
                    Some(c) => Some(Box::new(RequestTemplate::compile(c, &mut env)?)),
                    None => None,
                };
                StepAction::Http { request, compensate }
            }
            Kind::Await => StepAction::Await(AwaitSpec::compile(required_object(&m, "await")?, &mut env)?),
        });
    }
    Ok(HttpTransaction { def, actions, context_uses })
}

/// `kind` when given, else inferred from which of `request` and `await` is present.
fn step_kind(m: &Members) -> Result<Kind, DefinitionError> {
    let kind = match m.string("kind")? {
        None => None,
        Some("http") => Some(Kind::Http),
        Some("await") => Some(Kind::Await),
        Some(other) => {
            let reason = format!("unknown step kind \"{other}\" (expected 'http' or 'await')");
            return Err(DefinitionError::new(m.field("kind"), reason));
        }
    };
    let (request, wait) = (m.get("request").is_some(), m.get("await").is_some());
    match (kind, request, wait) {
        (_, true, true) => {
            Err(DefinitionError::new(m.at.clone(), "has both a request and an await; a step is one or the other"))
        }
        (None, false, false) => Err(DefinitionError::new(
            m.at.clone(),
            "needs a request (an HTTP step) or an await (a wait for a notification)",
        )),
        (Some(Kind::Http), false, _) => {
            Err(DefinitionError::new(m.field("request"), "is required for a step of kind 'http'"))
        }
        (Some(Kind::Await), _, false) => {
            Err(DefinitionError::new(m.field("await"), "is required for a step of kind 'await'"))
        }
        (_, true, false) => Ok(Kind::Http),
        (_, false, true) => Ok(Kind::Await),
    }
}

fn required_object<'a>(m: &Members<'a>, key: &str) -> Result<Members<'a>, DefinitionError> {
    m.object(key)?.ok_or_else(|| DefinitionError::new(m.field(key), "is required"))
}

fn raw_retry(members: Option<Members>) -> Result<Option<RawRetry>, DefinitionError> {
    let Some(m) = members else { return Ok(None) };
    m.allow(RETRY_FIELDS)?;
    let non_retryable = match m.array("nonRetryable")? {
        None => None,
        Some(names) => {
            let mut out = Vec::with_capacity(names.len());
            for (i, name) in names.iter().enumerate() {
                let Some(name) = name.as_str() else {
                    let field = format!("{}[{i}]", m.field("nonRetryable"));
                    return Err(DefinitionError::new(field, format!("must be a string, got {}", name.kind_name())));
                };
                out.push(name.to_owned());
            }
            Some(out)
        }
    };
    Ok(Some(RawRetry {
        max_attempts: m.number("maxAttempts")?,
        initial_delay_ms: m.number("initialDelayMs")?,
        backoff: m.string("backoff")?.map(str::to_owned),
        max_delay_ms: m.number("maxDelayMs")?,
        jitter: m.boolean("jitter")?,
        non_retryable,
    }))
}
