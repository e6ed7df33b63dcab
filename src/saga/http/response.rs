//! What an HTTP answer means for the step: its result, or a [`StepError`] that says whether
//! to retry and when.

use super::super::definition::Version;
use super::super::error::{FailureKind, StepError};
use super::request::RenderedRequest;
use crate::json::{Json, MAX_DEPTH_LIMIT};

/// The error name of a status outside the step's `success` list.
pub const HTTP_ERROR: &str = "HttpError";
/// The error name [`RenderedRequest::network_error`] gives.
pub const NETWORK_ERROR: &str = "NetworkError";

/// What the runner read from a `fetch` response.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HttpResponse<'a> {
    /// The status code.
    pub status: u16,
    /// The `Content-Type` header, if any.
    pub content_type: Option<&'a str>,
    /// The `Retry-After` header, if any.
    pub retry_after: Option<&'a str>,
    /// The body, as text.
    pub body: &'a str,
    /// The wall-clock time (`Date.now()`), to turn a `Retry-After` HTTP-date into a delay.
    pub now_ms: f64,
}

impl RenderedRequest {
    /// Classifies the answer. A status in [`success`](Self::success) gives the step's result:
    /// the body parsed as JSON when the content type is JSON (`application/json`, `…+json`)
    /// or absent and the text parses, else the text as a [`Json::String`]; [`Json::Null`] when
    /// the body is empty or the method is `HEAD`. Any other status is an `HttpError` whose
    /// message names the request (`POST https://…/charge answered 402: …`), retryable for 408,
    /// 429 and 5xx (with `Retry-After`, in seconds or as an HTTP-date, as `retry_after_ms`),
    /// not for the rest.
    pub fn classify<C>(&self, response: &HttpResponse) -> Result<Json, StepError<C>> {
        let status = response.status;
        if self.success.iter().any(|r| r.contains(status)) {
            return Ok(self.result(response));
        }
        let retryable = matches!(status, 408 | 429 | 500..=599);
        let mut message = format!("{} {} answered {status}", self.method.as_str(), self.url);
        let excerpt = excerpt(response.body, 200);
        if !excerpt.is_empty() {
            message.push_str(": ");
            message.push_str(&excerpt);
        }
        let mut error = StepError::new(FailureKind::Thrown, message);
        error.name = Some(HTTP_ERROR.into());
        error.retryable = Some(retryable);
        if retryable {
            error.retry_after_ms = response.retry_after.and_then(|v| retry_after_ms(v, response.now_ms));
        }
        Err(error)
    }

    /// The error for a request that got no answer (`fetch` rejected: DNS, connection reset):
    /// a retryable `NetworkError` naming the request. Set its `cause` to what `fetch` threw.
    pub fn network_error<C>(&self, message: &str) -> StepError<C> {
        let mut error =
            StepError::new(FailureKind::Thrown, format!("{} {} failed: {message}", self.method.as_str(), self.url));
        error.name = Some(NETWORK_ERROR.into());
        error.retryable = Some(true);
        error
    }

    fn result(&self, response: &HttpResponse) -> Json {
        let body = response.body;
        if body.trim().is_empty() || self.method == super::Method::Head {
            return Json::Null;
        }
        let media = response.content_type.map(|t| t.split(';').next().unwrap_or_default().trim().to_ascii_lowercase());
        let json = match media.as_deref() {
            None => true,
            Some(m) => m == "application/json" || m.ends_with("+json"),
        };
        match json.then(|| Json::parse(body, MAX_DEPTH_LIMIT).ok()).flatten() {
            Some(value) => value,
            None => Json::String(body.to_owned()),
        }
    }
}

/// The `version` a step's result carries, for `requiresVersionCheck`: its `version` member, a
/// number or a string.
pub fn version_of(result: &Json) -> Option<Version> {
    match result.child("version")? {
        Json::Number(n) => Some(Version::Number(n.value())),
        Json::String(s) => Some(Version::Text(s.clone())),
        _ => None,
    }
}

/// A `Retry-After` value as a delay: whole seconds (`"120"`), or an HTTP-date
/// (`"Wed, 21 Oct 2015 07:28:00 GMT"`, also the obsolete RFC 850 and asctime forms) minus
/// `now_ms`, at least 0. Anything else is ignored (`None`).
pub fn retry_after_ms(value: &str, now_ms: f64) -> Option<u64> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        let seconds = value.parse::<u64>().unwrap_or(u64::MAX);
        return Some(seconds.saturating_mul(1000));
    }
    let at = http_date_ms(value)?;
    Some((at - now_ms).max(0.0) as u64)
}

/// An HTTP-date (RFC 9110 § 5.6.7) as milliseconds since the Unix epoch.
pub fn http_date_ms(value: &str) -> Option<f64> {
    const MONTHS: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
    let mut tokens = value.split([' ', ',', '-']).filter(|t| !t.is_empty()).peekable();
    // The weekday is not checked against the date, as browsers do not check it either.
    tokens.next_if(|t| t.bytes().all(|b| b.is_ascii_alphabetic()) && t.len() >= 3)?;
    let (mut month, mut time, mut numbers) = (None, None, Vec::new());
    for token in tokens {
        if let Some(m) = MONTHS.iter().position(|m| m.eq_ignore_ascii_case(token)) {
            month = Some(m as u32 + 1);
        } else if token.contains(':') {
            time = Some(token);
        } else if token.bytes().all(|b| b.is_ascii_digit()) {
            numbers.push(token);
        } else if !token.eq_ignore_ascii_case("GMT") {
            return None;
        }
    }
    let (month, time) = (month?, time?);
    // Day before year in all three forms (asctime puts the month and time between them).
    let [day, year] = numbers.as_slice() else { return None };
    let day: u32 = day.parse().ok().filter(|d| (1..=31).contains(d) && day.len() <= 2)?;
    let year: i64 = match year.len() {
        4 => year.parse().ok()?,
        // RFC 850's two-digit years: 70–99 are 1970–1999, the rest 2000–2069.
        2 => year.parse::<i64>().ok().map(|y| if y >= 70 { 1900 + y } else { 2000 + y })?,
        _ => return None,
    };
    let mut hms = time.split(':');
    let mut part =
        |max: u32| hms.next().filter(|p| p.len() == 2).and_then(|p| p.parse::<u32>().ok()).filter(|n| *n <= max);
    let (h, m, s) = (part(23)?, part(59)?, part(60)?);
    if hms.next().is_some() {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(((days * 86_400 + i64::from(h * 3600 + m * 60 + s)) * 1000) as f64)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The start of `body`, at most `max` characters, on one line.
fn excerpt(body: &str, max: usize) -> String {
    let trimmed = body.trim();
    let mut out: String = trimmed.chars().take(max).map(|c| if c.is_control() { ' ' } else { c }).collect();
    if trimmed.chars().nth(max).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_http_date_forms_agree() {
        let expected = Some(784_111_777_000.0);
        assert_eq!(http_date_ms("Sun, 06 Nov 1994 08:49:37 GMT"), expected);
        assert_eq!(http_date_ms("Sunday, 06-Nov-94 08:49:37 GMT"), expected);
        assert_eq!(http_date_ms("Sun Nov  6 08:49:37 1994"), expected);
        assert_eq!(http_date_ms("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0.0));
        for bad in ["", "tomorrow", "Sun, 32 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 24:00:00 GMT", "06 Nov 1994"] {
            assert_eq!(http_date_ms(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn retry_after_never_goes_negative() {
        assert_eq!(retry_after_ms(" 3 ", 0.0), Some(3000));
        assert_eq!(retry_after_ms("Thu, 01 Jan 1970 00:00:00 GMT", 5000.0), Some(0));
        assert_eq!(retry_after_ms("-1", 0.0), None);
        assert_eq!(retry_after_ms("1.5", 0.0), None);
        assert_eq!(retry_after_ms("99999999999999999999999", 0.0), Some(u64::MAX));
    }
}
