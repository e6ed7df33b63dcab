//! JSON, strictly (RFC 8259, exactly what `JSON.parse` accepts), in two forms:
//!
//! * [`Reader`] — an allocation-free pull reader, enough to validate a notification and pick
//!   out a few fields without building a tree (the JS layer `JSON.parse`s a notification's text
//!   once to hand users their object, so only the routing fields are read here);
//! * [`Json`] — an owned tree built on the reader, for what must be read whole (transaction
//!   definitions, HTTP response bodies), written back with [`Json::to_text`] exactly as
//!   `JSON.stringify` would.
//!
//! Lone UTF-16 surrogates in `\u` escapes are accepted, as `JSON.parse` accepts them, and
//! decode to U+FFFD (Rust strings cannot hold them). Nesting is bounded ([`DEFAULT_MAX_DEPTH`])
//! and nothing recurses, so hostile input costs no stack, and the reader no heap.
//!
//! ```
//! use edgesaga::json::{validate, JsonErrorKind, Reader, Value};
//!
//! let text = r#"{"type":"order.paid","data":{"id":7,"tags":["a"]},"note":"caf\u00e9"}"#;
//! let mut r = Reader::new(text);
//! assert!(matches!(r.value(), Ok(Value::Object)));
//! let mut found = Vec::new();
//! while let Some(key) = r.next_key().unwrap() {
//!     match &*key.decode() {
//!         "note" => match r.value().unwrap() {
//!             Value::String(s) => found.push(s.decode().into_owned()),
//!             _ => unreachable!(),
//!         },
//!         _ => r.skip().unwrap(), // validated, not decoded
//!     }
//! }
//! r.end().unwrap();
//! assert_eq!(found, ["café"]);
//!
//! let err = validate("[1, 2,]", 64).unwrap_err();
//! assert_eq!((err.kind, err.offset), (JsonErrorKind::ExpectedValue, 6));
//! ```

mod reader;
mod text;
mod tree;

use std::borrow::Cow;
use std::fmt;

pub use reader::Reader;
pub use text::{number_text, write_string};
pub use tree::{Json, Number};

/// The nesting depth allowed unless configured otherwise: far beyond any notification.
pub const DEFAULT_MAX_DEPTH: u8 = 64;
/// The deepest nesting a [`Reader`] can track (one bit per open container).
pub const MAX_DEPTH_LIMIT: u8 = 128;

/// What is wrong with the text, at [`JsonError::offset`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JsonErrorKind {
    /// The text ended inside a value.
    UnexpectedEnd,
    /// Something other than a value where one was required.
    ExpectedValue,
    /// Something other than a string where an object key was required.
    ExpectedKey,
    /// A key not followed by `:`.
    ExpectedColon,
    /// A value not followed by `,` or the closing bracket.
    ExpectedCommaOrClose,
    /// A number outside the JSON grammar (leading zeros, `1.`, `-`, `1e`).
    InvalidNumber,
    /// A backslash escape outside the JSON grammar.
    InvalidEscape,
    /// An unescaped control character (U+0000–U+001F) inside a string.
    ControlCharacter,
    /// More nested arrays and objects than the configured depth.
    TooDeep,
    /// Something other than whitespace after the value.
    TrailingCharacters,
    /// The reader was driven out of order (a bug in the caller, never caused by the text).
    OutOfPlace,
}

impl JsonErrorKind {
    /// A short English description.
    pub fn as_str(self) -> &'static str {
        match self {
            JsonErrorKind::UnexpectedEnd => "unexpected end of JSON",
            JsonErrorKind::ExpectedValue => "expected a JSON value",
            JsonErrorKind::ExpectedKey => "expected a string key",
            JsonErrorKind::ExpectedColon => "expected ':' after a key",
            JsonErrorKind::ExpectedCommaOrClose => "expected ',' or a closing bracket",
            JsonErrorKind::InvalidNumber => "invalid number",
            JsonErrorKind::InvalidEscape => "invalid escape in a string",
            JsonErrorKind::ControlCharacter => "unescaped control character in a string",
            JsonErrorKind::TooDeep => "arrays and objects nested too deeply",
            JsonErrorKind::TrailingCharacters => "unexpected characters after the JSON value",
            JsonErrorKind::OutOfPlace => "JSON reader used out of order",
        }
    }
}

/// Malformed JSON: what and where (a byte offset into the text).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct JsonError {
    /// What is wrong.
    pub kind: JsonErrorKind,
    /// Byte offset of the offending character (the text's length when it ended too early).
    pub offset: usize,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.kind.as_str(), self.offset)
    }
}

impl std::error::Error for JsonError {}

/// A string's text between its quotes, validated but not yet unescaped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Str<'a> {
    raw: &'a str,
    escaped: bool,
}

impl<'a> Str<'a> {
    /// The text between the quotes, escapes untouched.
    pub fn raw(&self) -> &'a str {
        self.raw
    }

    /// The string's value; borrowed (no allocation) unless it contains escapes. A `\u` escape
    /// of a lone surrogate, which Rust strings cannot hold, becomes U+FFFD.
    pub fn decode(&self) -> Cow<'a, str> {
        if !self.escaped {
            return Cow::Borrowed(self.raw);
        }
        let mut out = String::with_capacity(self.raw.len());
        let mut rest = self.raw;
        while let Some(at) = rest.find('\\') {
            out.push_str(rest.get(..at).unwrap_or_default());
            let esc = rest.as_bytes().get(at + 1).copied().unwrap_or(b'\\');
            let mut used = 2;
            let c = match esc {
                b'b' => '\u{8}',
                b'f' => '\u{c}',
                b'n' => '\n',
                b'r' => '\r',
                b't' => '\t',
                b'u' => {
                    used = 6;
                    let hi = hex4(rest.get(at + 2..at + 6));
                    let lo = match rest.get(at + 6..at + 8) {
                        Some("\\u") if (0xD800..0xDC00).contains(&hi) => hex4(rest.get(at + 8..at + 12)),
                        _ => 0,
                    };
                    if (0xDC00..0xE000).contains(&lo) {
                        used = 12;
                        char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))
                    } else {
                        char::from_u32(hi)
                    }
                    .unwrap_or(char::REPLACEMENT_CHARACTER)
                }
                other => char::from(other),
            };
            out.push(c);
            rest = rest.get(at + used..).unwrap_or_default();
        }
        out.push_str(rest);
        Cow::Owned(out)
    }
}

/// Four hex digits (already validated by the reader); anything else reads as a lone surrogate.
fn hex4(digits: Option<&str>) -> u32 {
    digits.and_then(|d| u32::from_str_radix(d, 16).ok()).unwrap_or(0xD800)
}

/// One step of the document, as [`Reader::value`] returns it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Value<'a> {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, as its (validated) JSON text.
    Number(&'a str),
    /// A string.
    String(Str<'a>),
    /// `{` was consumed: read members with [`Reader::next_key`] or drop them with
    /// [`Reader::skip_rest`].
    Object,
    /// `[` was consumed: read elements with [`Reader::next_element`] or drop them with
    /// [`Reader::skip_rest`].
    Array,
}

/// Checks that `text` is one complete JSON value nested at most `max_depth` deep.
pub fn validate(text: &str, max_depth: u8) -> Result<(), JsonError> {
    let mut reader = Reader::with_max_depth(text, max_depth);
    reader.skip()?;
    reader.end()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_decode_and_surrogates_pair() {
        let mut r = Reader::new(r#""a\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00\ud800x\udc00""#);
        let Ok(Value::String(s)) = r.value() else { panic!("a string") };
        assert_eq!(s.decode(), "a\"\\/\u{8}\u{c}\n\r\t\u{e9}\u{1F600}\u{FFFD}x\u{FFFD}");
        assert!(r.end().is_ok());
    }
}
