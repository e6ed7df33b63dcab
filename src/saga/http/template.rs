//! Templates: `{{context.a.b}}`, `{{results.<step>.a.0.b}}` and `{{transactionId}}` inside
//! strings, checked when the definition is read and rendered against a [`Scope`] at run time.
//!
//! A path walks object keys and array indexes (`items.0.sku`). `results.<step>` must name an
//! earlier step (a compensation may also read its own step's result). There is no escape for a
//! literal `{{`.

use std::borrow::Cow;
use std::rc::Rc;

use super::super::definition::DefinitionError;
use super::super::error::{FailureKind, StepError};
use super::Scope;
use crate::json::Json;

/// The error name of a template that cannot be rendered at run time (never retried).
pub const TEMPLATE_ERROR: &str = "TemplateError";

#[derive(Clone, Debug, PartialEq)]
enum Root {
    Context,
    Result(usize),
    TransactionId,
}

/// One `{{…}}` variable.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Var {
    root: Root,
    path: Vec<String>,
    /// As written between the braces, trimmed (`results.charge.id`).
    text: String,
}

#[derive(Clone, Debug, PartialEq)]
enum Piece {
    Text(String),
    Var(Var),
}

/// A string with `{{…}}` variables, and the field it came from (for run-time errors).
#[derive(Clone, Debug, PartialEq)]
pub struct Template {
    pieces: Vec<Piece>,
    at: Rc<str>,
}

/// A JSON value whose strings may hold templates.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum JsonTemplate {
    Literal(Json),
    /// A string that is exactly one `{{…}}`: replaced by the value itself, type kept.
    Whole(Var, Rc<str>),
    Text(Template),
    Array(Vec<JsonTemplate>),
    Object(Vec<(String, JsonTemplate)>),
}

/// How a variable's value is written into a string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Mode {
    /// As is.
    Plain,
    /// Percent-encoded as `encodeURIComponent` does.
    Uri,
    /// As is, but a CR, LF or NUL is an error (it would split or break the header).
    Header,
}

/// A `{{context…}}` the definition uses, for [`super::HttpTransaction::check_context`].
#[derive(Clone, Debug, PartialEq)]
pub(super) struct ContextUse {
    pub(super) path: Vec<String>,
    pub(super) at: Rc<str>,
    /// Written into a string, so it must be a string, number or boolean.
    pub(super) scalar: bool,
}

/// What templates compiled at one place may refer to.
pub(super) struct Env<'a> {
    /// Every step's name, by index.
    pub(super) names: &'a [Rc<str>],
    /// The step being compiled.
    pub(super) step: usize,
    /// Whether the step's own result is visible (in its compensation).
    pub(super) own_result: bool,
    pub(super) context_uses: &'a mut Vec<ContextUse>,
}

impl Template {
    /// Compiles `text`, found at `at`; its variables are written into a string.
    pub(super) fn compile(text: &str, at: &str, env: &mut Env) -> Result<Template, DefinitionError> {
        let at: Rc<str> = at.into();
        let mut pieces = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                pieces.push(Piece::Text(rest.get(..open).unwrap_or_default().to_owned()));
            }
            let after = rest.get(open + 2..).unwrap_or_default();
            let Some(close) = after.find("}}") else {
                return Err(DefinitionError::new(&*at, format!("unclosed {{{{ in \"{text}\"")));
            };
            let var = Var::parse(after.get(..close).unwrap_or_default(), &at, env, true)?;
            pieces.push(Piece::Var(var));
            rest = after.get(close + 2..).unwrap_or_default();
        }
        if !rest.is_empty() {
            pieces.push(Piece::Text(rest.to_owned()));
        }
        Ok(Template { pieces, at })
    }

    /// A template without variables.
    pub(super) fn literal(text: String, at: &str) -> Template {
        Template { pieces: vec![Piece::Text(text)], at: at.into() }
    }

    /// The literal parts, in order (for checks that only apply to what the user wrote).
    pub(super) fn literals(&self) -> impl Iterator<Item = &str> {
        self.pieces.iter().filter_map(|p| match p {
            Piece::Text(t) => Some(t.as_str()),
            Piece::Var(_) => None,
        })
    }

    /// The text with every variable replaced by `placeholder`, and where each variable starts
    /// in it.
    pub(super) fn probe(&self, placeholder: &str) -> (String, Vec<usize>) {
        let mut text = String::new();
        let mut starts = Vec::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => text.push_str(t),
                Piece::Var(_) => {
                    starts.push(text.len());
                    text.push_str(placeholder);
                }
            }
        }
        (text, starts)
    }

    /// Renders against `scope`, writing each variable's value as `mode` says.
    pub(super) fn render<C>(&self, scope: &Scope, mode: Mode) -> Result<String, StepError<C>> {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Var(var) => {
                    let value = var.lookup(scope, &self.at)?;
                    let text = scalar_text(&value).ok_or_else(|| {
                        template_error(format!(
                            "{{{{{}}}}} in {} is {}, not a string, number or boolean",
                            var.text,
                            self.at,
                            value.kind_name()
                        ))
                    })?;
                    match mode {
                        Mode::Plain => out.push_str(&text),
                        Mode::Uri => encode_uri_component(&text, &mut out),
                        Mode::Header if !header_safe(&text) => {
                            let reason = format!(
                                "{{{{{}}}}} in {} holds a line break, a NUL or a character beyond U+00FF, \
                                 which a header value cannot carry",
                                var.text, self.at
                            );
                            return Err(template_error(reason));
                        }
                        Mode::Header => out.push_str(&text),
                    }
                }
            }
        }
        Ok(out)
    }
}

impl JsonTemplate {
    /// Compiles a JSON value found at `at`. Bounded by the definition's parse depth.
    pub(super) fn compile(value: &Json, at: &str, env: &mut Env) -> Result<JsonTemplate, DefinitionError> {
        Ok(match value {
            Json::String(s) if s.contains("{{") => match whole_var(s) {
                Some(inner) => JsonTemplate::Whole(Var::parse(inner, at, env, false)?, at.into()),
                None => JsonTemplate::Text(Template::compile(s, at, env)?),
            },
            Json::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    out.push(JsonTemplate::compile(item, &format!("{at}[{i}]"), env)?);
                }
                JsonTemplate::Array(out)
            }
            Json::Object(members) => {
                let mut out = Vec::with_capacity(members.len());
                for (key, item) in members {
                    out.push((key.clone(), JsonTemplate::compile(item, &format!("{at}.{key}"), env)?));
                }
                JsonTemplate::Object(out)
            }
            other => JsonTemplate::Literal(other.clone()),
        })
    }

    /// Renders against `scope`.
    pub(super) fn render<C>(&self, scope: &Scope) -> Result<Json, StepError<C>> {
        Ok(match self {
            JsonTemplate::Literal(v) => v.clone(),
            JsonTemplate::Whole(var, at) => var.lookup(scope, at)?.into_owned(),
            JsonTemplate::Text(t) => Json::String(t.render(scope, Mode::Plain)?),
            JsonTemplate::Array(items) => Json::Array(items.iter().map(|t| t.render(scope)).collect::<Result<_, _>>()?),
            JsonTemplate::Object(members) => Json::Object(
                members.iter().map(|(k, t)| Ok((k.clone(), t.render(scope)?))).collect::<Result<_, StepError<C>>>()?,
            ),
        })
    }
}

impl Var {
    fn parse(inner: &str, at: &str, env: &mut Env, scalar: bool) -> Result<Var, DefinitionError> {
        let text = inner.trim();
        let fail = |reason: String| Err(DefinitionError::new(at, reason));
        let mut segments = text.split('.');
        let first = segments.next().unwrap_or_default();
        let rest: Vec<String> = segments.map(str::to_owned).collect();
        if text.is_empty() || first.is_empty() || rest.iter().any(String::is_empty) {
            return fail(format!(
                "{{{{{text}}}}} is not a variable (expected context.…, results.<step>.… or transactionId)"
            ));
        }
        if text.contains(['{', '}']) {
            return fail(format!("{{{{{text}}}}} contains a brace"));
        }
        let (root, path) = match first {
            "context" => (Root::Context, rest),
            "transactionId" if rest.is_empty() => (Root::TransactionId, rest),
            "transactionId" => return fail(format!("{{{{{text}}}}}: transactionId is a string, it has no fields")),
            "results" => {
                let mut rest = rest.into_iter();
                let Some(name) = rest.next() else {
                    return fail(format!("{{{{{text}}}}} must name a step: results.<step>"));
                };
                let Some(index) = env.names.iter().position(|n| **n == *name) else {
                    return fail(format!("{{{{{text}}}}} refers to an unknown step \"{name}\""));
                };
                let visible = index < env.step || (index == env.step && env.own_result);
                if !visible {
                    let which = if index == env.step { "this step" } else { "a later step" };
                    let only = if env.own_result { "this step's or an earlier" } else { "an earlier" };
                    let reason = format!(
                        "{{{{{text}}}}} refers to {which} (steps[{index}]): only {only} step's result exists here"
                    );
                    return fail(reason);
                }
                (Root::Result(index), rest.collect())
            }
            other => {
                return fail(format!(
                    "unknown template variable {{{{{text}}}}}: \"{other}\" is not context, results or transactionId"
                ))
            }
        };
        if root == Root::Context {
            env.context_uses.push(ContextUse { path: path.clone(), at: at.into(), scalar });
        }
        Ok(Var { root, path, text: text.to_owned() })
    }

    fn lookup<'s, C>(&self, scope: &Scope<'s>, at: &str) -> Result<Cow<'s, Json>, StepError<C>> {
        let base = match self.root {
            Root::TransactionId => return Ok(Cow::Owned(Json::String(scope.transaction_id.to_owned()))),
            Root::Context => Some(scope.context),
            Root::Result(i) => scope.results.get(i).and_then(Option::as_ref),
        };
        base.and_then(|b| lookup(b, &self.path))
            .map(Cow::Borrowed)
            .ok_or_else(|| template_error(format!("{{{{{}}}}} in {at} is undefined", self.text)))
    }
}

/// The value at `path` under `json`.
pub(super) fn lookup<'j>(json: &'j Json, path: &[String]) -> Option<&'j Json> {
    path.iter().try_fold(json, |at, key| at.child(key))
}

/// What JS's `String(value)` gives for a string, number or boolean.
pub(super) fn scalar_text(value: &Json) -> Option<Cow<'_, str>> {
    match value {
        Json::String(s) => Some(Cow::Borrowed(s)),
        // As written: exact for a context from `JSON.stringify`, and a service's big id stays whole.
        Json::Number(n) => Some(Cow::Borrowed(n.as_str())),
        Json::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
        _ => None,
    }
}

/// Whether `text` can be sent in a header value: no CR, LF or NUL (they would split or cut
/// the header) and nothing beyond U+00FF (`fetch` takes header values as byte strings).
pub(super) fn header_safe(text: &str) -> bool {
    !text.chars().any(|c| matches!(c, '\r' | '\n' | '\0') || c > '\u{ff}')
}

/// The inside of a string that is exactly one `{{…}}`.
fn whole_var(s: &str) -> Option<&str> {
    let inner = s.strip_prefix("{{")?.strip_suffix("}}")?;
    (!inner.contains("{{") && !inner.contains("}}")).then_some(inner)
}

/// A run-time template failure: not retryable, since a retry would render the same.
pub(super) fn template_error<C>(message: String) -> StepError<C> {
    let mut e = StepError::new(FailureKind::Thrown, message);
    e.name = Some(TEMPLATE_ERROR.into());
    e.retryable = Some(false);
    e
}

/// Percent-encodes `s` as `encodeURIComponent` does: all but `A–Z a–z 0–9 - _ . ! ~ * ' ( )`
/// as `%XX` of its UTF-8 bytes, upper-case hex.
pub fn encode_uri_component(s: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xF)]));
        }
    }
}
