//! Writing a [`Json`] back to text as `JSON.stringify` writes the same value: no whitespace,
//! strings escaped as the spec's `QuoteJSONString` does; numbers as they were written (see
//! [`Number`](super::Number)), and those made from floats as `Number.prototype.toString`
//! writes them (`100`, `0.1`, `1e+21`, `1.5e-7`; non-finite as `null`). Iterative, so any
//! depth is safe.
//!
//! ```
//! use edgesaga::json::{number_text, Json};
//!
//! let value = Json::Array(vec![
//!     Json::number(1e21),
//!     Json::number(-0.0),
//!     Json::String("tab\there \"q\" \u{1} é".into()),
//! ]);
//! assert_eq!(value.to_text(), r#"[1e+21,0,"tab\there \"q\" \u0001 é"]"#);
//! assert_eq!(number_text(123456789012345680000.0), "123456789012345680000");
//! assert_eq!(number_text(0.000001), "0.000001");
//! assert_eq!(number_text(1e-7), "1e-7");
//! ```

use super::Json;

/// What remains to be written.
enum Pending<'a> {
    Value(&'a Json),
    Key(&'a str),
    Raw(char),
}

impl Json {
    /// The value as `JSON.stringify(value)` would write it.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        self.write_text(&mut out);
        out
    }

    /// Appends [`to_text`](Self::to_text) to `out`.
    pub fn write_text(&self, out: &mut String) {
        let mut stack = vec![Pending::Value(self)];
        while let Some(next) = stack.pop() {
            match next {
                Pending::Raw(c) => out.push(c),
                Pending::Key(k) => {
                    write_string(k, out);
                    out.push(':');
                }
                Pending::Value(Json::Null) => out.push_str("null"),
                Pending::Value(Json::Bool(b)) => out.push_str(if *b { "true" } else { "false" }),
                Pending::Value(Json::Number(n)) => out.push_str(n.as_str()),
                Pending::Value(Json::String(s)) => write_string(s, out),
                Pending::Value(Json::Array(items)) => {
                    out.push('[');
                    stack.push(Pending::Raw(']'));
                    for (i, item) in items.iter().enumerate().rev() {
                        stack.push(Pending::Value(item));
                        if i > 0 {
                            stack.push(Pending::Raw(','));
                        }
                    }
                }
                Pending::Value(Json::Object(members)) => {
                    out.push('{');
                    stack.push(Pending::Raw('}'));
                    for (i, (key, value)) in members.iter().enumerate().rev() {
                        stack.push(Pending::Value(value));
                        stack.push(Pending::Key(key));
                        if i > 0 {
                            stack.push(Pending::Raw(','));
                        }
                    }
                }
            }
        }
    }
}

/// Appends `s` as a JSON string literal, escaped as `JSON.stringify` escapes it: `"`, `\`, the
/// short escapes `\b \f \n \r \t`, other control characters as `\u00xx`, everything else as is.
pub fn write_string(s: &str, out: &mut String) {
    out.reserve(s.len() + 2);
    out.push('"');
    let mut rest = s;
    while let Some(at) = rest.find(|c: char| c < ' ' || c == '"' || c == '\\') {
        out.push_str(rest.get(..at).unwrap_or_default());
        let c = rest.get(at..).and_then(|r| r.chars().next()).unwrap_or('\\');
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            other => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                let b = other as usize;
                out.push_str("\\u00");
                out.push(char::from(HEX[(b >> 4) & 0xF]));
                out.push(char::from(HEX[b & 0xF]));
            }
        }
        rest = rest.get(at + 1..).unwrap_or_default();
    }
    out.push_str(rest);
    out.push('"');
}

/// A number as JS's `String(n)` writes it (ECMA-262 `Number::toString`): the shortest digits
/// that read back to the same number, positional from 1e-6 up to 1e21, exponent form outside
/// (`1e+21`, `1.5e-7`); `-0` is `"0"`; `NaN`, `Infinity`, `-Infinity` as JS spells them.
pub fn number_text(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity".into() } else { "-Infinity".into() };
    }
    if v == 0.0 {
        return "0".into();
    }
    // Rust's `{:e}` writes the shortest round-trip digits too, as `d.ddde±x`, but when several
    // digit strings of that length round-trip it need not pick the one closest to the value,
    // as JS does: the correctly rounded string of that length is the closest, if it round-trips.
    let a = v.abs();
    let shortest = format!("{a:e}");
    let length = shortest.split('e').next().unwrap_or_default().bytes().filter(u8::is_ascii_digit).count();
    let closest = format!("{a:.*e}", length.saturating_sub(1));
    let sci = if closest != shortest && closest.parse::<f64>() == Ok(a) { closest } else { shortest };
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((&sci, "0"));
    let mut digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    while digits.len() > 1 && digits.ends_with('0') {
        digits.pop();
    }
    let k = digits.len() as i64;
    // The decimal point sits after `n` digits: v = 0.digits × 10ⁿ.
    let n = exponent.parse::<i64>().unwrap_or(0) + 1;
    let mut out = String::with_capacity(k as usize + 8);
    if v < 0.0 {
        out.push('-');
    }
    let (head, tail) = digits.split_at(usize::try_from(n.clamp(0, k)).unwrap_or(0));
    if k <= n && n <= 21 {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n('0', (n - k) as usize));
    } else if 0 < n && n <= 21 {
        out.push_str(head);
        out.push('.');
        out.push_str(tail);
    } else if -6 < n && n <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-n) as usize));
        out.push_str(&digits);
    } else {
        let (first, others) = digits.split_at(1.min(digits.len()));
        out.push_str(first);
        if !others.is_empty() {
            out.push('.');
            out.push_str(others);
        }
        out.push('e');
        out.push(if n > 0 { '+' } else { '-' });
        out.push_str(&(n - 1).abs().to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_as_js_writes_them() {
        let cases: &[(f64, &str)] = &[
            (1.0, "1"),
            (-1.5, "-1.5"),
            (0.1, "0.1"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1e21, "1e+21"),
            (1e20, "100000000000000000000"),
            (123e18, "123000000000000000000"),
            (1.5e300, "1.5e+300"),
            (0.000001, "0.000001"),
            (0.0000012, "0.0000012"),
            (1.2e-7, "1.2e-7"),
            (5e-324, "5e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (9007199254740993.0, "9007199254740992"),
            (-0.0, "0"),
            (123.456, "123.456"),
            // Two 17-digit strings read back as this number; JS writes the closer one.
            (1972414578339505.2, "1972414578339505.2"),
            (9984683483824.562, "9984683483824.562"),
        ];
        for &(v, text) in cases {
            assert_eq!(number_text(v), text, "{v:e}");
        }
    }

    #[test]
    fn deep_trees_write_without_recursion() {
        let mut v = Json::Null;
        for _ in 0..100_000 {
            v = Json::Array(vec![v]);
        }
        let text = v.to_text();
        assert_eq!(text.len(), 4 + 200_000);
        // Dropping such a tree recurses; take it apart by hand.
        let mut at = v;
        while let Json::Array(mut items) = at {
            at = items.pop().unwrap_or(Json::Null);
        }
    }
}
