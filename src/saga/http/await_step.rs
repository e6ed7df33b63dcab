//! `await` steps: wait for a notification (`payment.processed` whose `entityId` is this
//! payment's id) instead of sending a request.

use super::super::definition::DefinitionError;
use super::super::error::StepError;
use super::fields::Members;
use super::template::{lookup, scalar_text, Env, Mode, Template};
use super::Scope;
use crate::json::Json;

/// How long an `await` step waits when its `timeoutMs` is not given.
pub const DEFAULT_AWAIT_TIMEOUT_MS: u64 = 30_000;

/// An `await` step as written: `{ "type": "payment.processed", "match": { "entityId":
/// "{{results.charge_payment.id}}" }, "timeoutMs": 30000 }`.
#[derive(Clone, Debug, PartialEq)]
pub struct AwaitSpec {
    /// The notification type pattern (`payment.processed`, `payment.*`, `*.created`, `*`).
    pub pattern: String,
    /// Field paths of the notification (`entityId`, `data.orderId`) and the text each must
    /// have.
    pub matches: Vec<(String, Template)>,
    /// How long to wait.
    pub timeout_ms: u64,
}

/// An `await` step ready to wait: the matches rendered to text.
#[derive(Clone, Debug, PartialEq)]
pub struct RenderedAwait {
    /// The notification type pattern.
    pub pattern: String,
    /// Field paths (dot-separated) and the text each must have.
    pub matches: Vec<(String, String)>,
    /// How long to wait.
    pub timeout_ms: u64,
}

impl AwaitSpec {
    /// Reads and checks the `await` object at `steps[i].await`.
    pub(super) fn compile(members: Members, env: &mut Env) -> Result<AwaitSpec, DefinitionError> {
        members.allow(&["type", "match", "timeoutMs"])?;
        let type_at = members.field("type");
        let Some(pattern) = members.string("type")? else { return Err(DefinitionError::new(type_at, "is required")) };
        if let Err(reason) = check_pattern(pattern) {
            return Err(DefinitionError::new(type_at, format!("\"{pattern}\" {reason}")));
        }
        let mut matches = Vec::new();
        if let Some(m) = members.object("match")? {
            for (path, value) in m.members {
                let at = m.field(path);
                if path.is_empty() || path.split('.').any(str::is_empty) {
                    return Err(DefinitionError::new(at, "is not a field path (entityId, data.orderId)"));
                }
                let template = match value {
                    Json::String(s) => Template::compile(s, &at, env)?,
                    Json::Number(_) | Json::Bool(_) => {
                        Template::literal(scalar_text(value).unwrap_or_default().into_owned(), &at)
                    }
                    other => {
                        let reason = format!("must be a string, number or boolean, got {}", other.kind_name());
                        return Err(DefinitionError::new(at, reason));
                    }
                };
                matches.push((path.clone(), template));
            }
        }
        let timeout_at = members.field("timeoutMs");
        let timeout_ms = match members.number("timeoutMs")? {
            None => DEFAULT_AWAIT_TIMEOUT_MS,
            Some(n) if n.fract() == 0.0 && (1.0..=9_007_199_254_740_991.0).contains(&n) => n as u64,
            Some(_) => return Err(DefinitionError::new(timeout_at, "must be a positive integer")),
        };
        Ok(AwaitSpec { pattern: pattern.to_owned(), matches, timeout_ms })
    }

    /// Renders the matches against `scope` (a missing variable is a `TemplateError`).
    pub fn render<C>(&self, scope: &Scope) -> Result<RenderedAwait, StepError<C>> {
        let mut matches = Vec::with_capacity(self.matches.len());
        for (path, template) in &self.matches {
            matches.push((path.clone(), template.render(scope, Mode::Plain)?));
        }
        Ok(RenderedAwait { pattern: self.pattern.clone(), matches, timeout_ms: self.timeout_ms })
    }
}

impl RenderedAwait {
    /// Whether `notification` (the normalised form `{ id, type, resource, action, entityId,
    /// timestamp, version, data, metadata }` as JSON) has every matched field, compared as
    /// text (`"42"` matches `42`). The type pattern is the stream's to check.
    pub fn matches(&self, notification: &Json) -> bool {
        self.matches.iter().all(|(path, expected)| {
            let path: Vec<String> = path.split('.').map(str::to_owned).collect();
            lookup(notification, &path).and_then(scalar_text).is_some_and(|text| text == *expected)
        })
    }
}

/// The routing pattern grammar of `notify::pattern`, repeated here because `saga` must not
/// depend on `notify`: `*`, `resource.action`, `resource.*`, `*.action`, segments of
/// `a-z 0-9 _ -`.
fn check_pattern(pattern: &str) -> Result<(), &'static str> {
    if pattern == "*" || pattern == "*.*" {
        return Ok(());
    }
    let segment = |s: &str| {
        s == "*" || (!s.is_empty() && s.bytes().all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-')))
    };
    match pattern.split_once('.') {
        Some((resource, action)) if segment(resource) && segment(action) => Ok(()),
        _ => Err("is not a notification type pattern (payment.processed, payment.*, *.created or *)"),
    }
}
