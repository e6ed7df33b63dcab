//! HTTP steps: the request as written ([`RequestTemplate`], checked when the definition is
//! read) and as sent ([`RenderedRequest`]).

use std::rc::Rc;

use super::super::definition::DefinitionError;
use super::super::error::StepError;
use super::fields::Members;
use super::template::{header_safe, Env, JsonTemplate, Mode, Template};
use super::Scope;

/// The header every request carries; see [`super::idempotency_key`].
pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";

/// An HTTP method a step may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// `GET` (the default).
    Get,
    /// `HEAD`
    Head,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `PATCH`
    Patch,
    /// `DELETE`
    Delete,
}

impl Method {
    /// Parses a method name, in any case.
    pub fn parse(s: &str) -> Option<Method> {
        let all = [Method::Get, Method::Head, Method::Post, Method::Put, Method::Patch, Method::Delete];
        all.into_iter().find(|m| m.as_str().eq_ignore_ascii_case(s))
    }

    /// The upper-case name (`"POST"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

/// Statuses `min..=max` count as success (`200`, `"2xx"`, `"200-299"` as written).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatusRange {
    /// The lowest status in the range.
    pub min: u16,
    /// The highest status in the range.
    pub max: u16,
}

impl StatusRange {
    /// Whether `status` is in the range.
    pub fn contains(self, status: u16) -> bool {
        (self.min..=self.max).contains(&status)
    }
}

/// A request as the definition wrote it, checked: method, URL, headers, body, success statuses.
#[derive(Clone, Debug, PartialEq)]
pub struct RequestTemplate {
    /// The method.
    pub method: Method,
    url: Template,
    headers: Vec<(String, Template)>,
    body: Option<JsonTemplate>,
    success: Rc<[StatusRange]>,
}

/// A request ready to send. `headers` already holds `Content-Type: application/json` (when
/// there is a body and the definition set no content type) and, last, the `Idempotency-Key`.
#[derive(Clone, Debug, PartialEq)]
pub struct RenderedRequest {
    /// The method.
    pub method: Method,
    /// The absolute URL, substituted values percent-encoded.
    pub url: String,
    /// Every header to send, in order.
    pub headers: Vec<(String, String)>,
    /// The body as JSON text, if any.
    pub body: Option<String>,
    /// The `Idempotency-Key` header's value.
    pub idempotency_key: String,
    /// The statuses that count as success (see [`RenderedRequest::classify`]).
    pub success: Rc<[StatusRange]>,
}

impl RequestTemplate {
    /// Reads and checks the request at `at` (`steps[1].request`).
    pub(super) fn compile(members: Members, env: &mut Env) -> Result<RequestTemplate, DefinitionError> {
        members.allow(&["method", "url", "headers", "body", "success"])?;
        let method = match members.string("method")? {
            None => Method::Get,
            Some(m) => Method::parse(m).ok_or_else(|| {
                let reason = format!("unknown method \"{m}\" (expected GET, HEAD, POST, PUT, PATCH or DELETE)");
                DefinitionError::new(members.field("method"), reason)
            })?,
        };
        let url_at = members.field("url");
        let Some(url) = members.string("url")? else { return Err(DefinitionError::new(url_at, "is required")) };
        let url = Template::compile(url, &url_at, env)?;
        check_url(&url, &url_at)?;
        let mut headers: Vec<(String, Template)> = Vec::new();
        if let Some(h) = members.object("headers")? {
            for (name, value) in h.members {
                let at = h.field(name);
                check_header_name(name, &headers, &at)?;
                let Some(text) = value.as_str() else {
                    return Err(DefinitionError::new(at, format!("must be a string, got {}", value.kind_name())));
                };
                let template = Template::compile(text, &at, env)?;
                if !template.literals().all(header_safe) {
                    let reason = "must not contain a line break, a NUL or a character beyond U+00FF";
                    return Err(DefinitionError::new(at, reason));
                }
                headers.push((name.clone(), template));
            }
        }
        let body = match members.get("body") {
            None => None,
            Some(_) if matches!(method, Method::Get | Method::Head) => {
                let reason = format!("a {} request cannot have a body (fetch rejects it)", method.as_str());
                return Err(DefinitionError::new(members.field("body"), reason));
            }
            Some(b) => Some(JsonTemplate::compile(b, &members.field("body"), env)?),
        };
        let success = match members.array("success")? {
            None => vec![StatusRange { min: 200, max: 299 }],
            Some([]) => return Err(DefinitionError::new(members.field("success"), "must list at least one status")),
            Some(items) => {
                let entries = items.iter().enumerate();
                entries
                    .map(|(i, v)| status_range(v).ok_or_else(|| bad_status(&members, i)))
                    .collect::<Result<_, _>>()?
            }
        };
        Ok(RequestTemplate { method, url, headers, body, success: success.into() })
    }

    /// The statuses that count as success.
    pub fn success(&self) -> &[StatusRange] {
        &self.success
    }

    /// Renders the request against `scope`. A variable that is missing at run time (or an
    /// object where text is needed) is a non-retryable `TemplateError`.
    pub fn render<C>(&self, scope: &Scope, idempotency_key: &str) -> Result<RenderedRequest, StepError<C>> {
        let url = self.url.render(scope, Mode::Uri)?;
        let mut headers = Vec::with_capacity(self.headers.len() + 2);
        for (name, value) in &self.headers {
            headers.push((name.clone(), value.render(scope, Mode::Header)?));
        }
        let body = match &self.body {
            Some(b) => Some(b.render(scope)?.to_text()),
            None => None,
        };
        if body.is_some() && !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("content-type")) {
            headers.push(("Content-Type".into(), "application/json".into()));
        }
        headers.push((IDEMPOTENCY_KEY.into(), idempotency_key.into()));
        Ok(RenderedRequest {
            method: self.method,
            url,
            headers,
            body,
            idempotency_key: idempotency_key.into(),
            success: self.success.clone(),
        })
    }
}

fn bad_status(members: &Members, i: usize) -> DefinitionError {
    let reason = "must be a status (200), a class (\"2xx\") or a range (\"200-299\") within 100-599";
    DefinitionError::new(format!("{}[{i}]", members.field("success")), reason)
}

/// `200`, `"200"`, `"2xx"` or `"200-299"`, statuses within 100–599.
fn status_range(value: &crate::json::Json) -> Option<StatusRange> {
    let status = |s: &str| s.parse::<u16>().ok().filter(|n| s.len() == 3 && (100..=599).contains(n));
    let single = |n: u16| Some(StatusRange { min: n, max: n });
    if let Some(n) = value.as_f64() {
        return if n.fract() == 0.0 && (100.0..=599.0).contains(&n) { single(n as u16) } else { None };
    }
    let s = value.as_str()?.trim();
    if let Some(class) = s.strip_suffix("xx").or_else(|| s.strip_suffix("XX")) {
        let c = class.parse::<u16>().ok().filter(|c| class.len() == 1 && (1..=5).contains(c))?;
        return Some(StatusRange { min: c * 100, max: c * 100 + 99 });
    }
    if let Some((lo, hi)) = s.split_once('-') {
        let (min, max) = (status(lo.trim())?, status(hi.trim())?);
        return (min <= max).then_some(StatusRange { min, max });
    }
    single(status(s)?)
}

/// The URL, variables replaced by a placeholder, must be an absolute http(s) URL with a host;
/// variables may only sit in the path, query or fragment, so the context cannot redirect a
/// request to another host.
fn check_url(url: &Template, at: &str) -> Result<(), DefinitionError> {
    let fail = |reason: &str| Err(DefinitionError::new(at, reason));
    let (probe, vars) = url.probe("x");
    let lower = probe.to_ascii_lowercase();
    let scheme = ["http://", "https://"].into_iter().find(|s| lower.starts_with(s)).map_or(0, str::len);
    let rest = probe.get(scheme..).unwrap_or_default();
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if vars.first().is_some_and(|&v| v <= scheme + authority.len()) {
        return fail("templates may not set the scheme or host, only the path and query");
    }
    if scheme == 0 {
        return fail("must be an absolute http:// or https:// URL");
    }
    if url.literals().any(|t| t.chars().any(|c| c <= ' ' || c == '\u{7f}' || c == '\\')) {
        return fail("must not contain spaces, control characters or backslashes");
    }
    if authority.contains('@') {
        return fail("must not contain credentials (user@host); fetch rejects them");
    }
    let port = match authority.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((h, p)) if !h.is_empty() && h.chars().all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.') => {
                p.strip_prefix(':').or(if p.is_empty() { Some("") } else { None })
            }
            _ => return fail("has an invalid IPv6 host"),
        },
        None => {
            let (host, port) = authority.rsplit_once(':').unwrap_or((authority, ""));
            if host.is_empty() {
                return fail("has no host");
            }
            let host_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_') || !c.is_ascii();
            if !host.chars().all(host_char) {
                return fail("has an invalid host");
            }
            Some(port)
        }
    };
    match port {
        Some("") => Ok(()),
        Some(p)
            if p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()) && p.parse::<u32>().is_ok_and(|n| n <= 65535) =>
        {
            Ok(())
        }
        _ => fail("has an invalid port"),
    }
}

/// A header name must be an HTTP token, given once, and not `Idempotency-Key`.
fn check_header_name(name: &str, seen: &[(String, Template)], at: &str) -> Result<(), DefinitionError> {
    let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if name.is_empty() || !name.bytes().all(token) {
        return Err(DefinitionError::new(at, "is not a valid header name"));
    }
    if name.eq_ignore_ascii_case(IDEMPOTENCY_KEY) {
        let reason = "is set by edgesaga (<transactionId>:<step>, or <transactionId>:<step>:compensate); remove it";
        return Err(DefinitionError::new(at, reason));
    }
    if seen.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
        return Err(DefinitionError::new(at, "is given twice (header names ignore case)"));
    }
    Ok(())
}
