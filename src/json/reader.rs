//! The pull reader: the caller asks for the next value, key or element, and the reader checks
//! each step against RFC 8259 as it goes, tracking open containers in a bitset rather than a
//! stack so that no input makes it allocate or recurse.
//!
//! ```
//! use edgesaga::json::{JsonErrorKind, Reader, Value};
//!
//! let mut r = Reader::with_max_depth(r#"[{"a":[]}, 2]"#, 2);
//! assert_eq!(r.value(), Ok(Value::Array));
//! assert_eq!(r.next_element(), Ok(true));
//! assert_eq!(r.value(), Ok(Value::Object));
//! assert_eq!(r.next_key().unwrap().map(|k| k.raw()), Some("a"));
//! let err = r.value().unwrap_err(); // a third level
//! assert_eq!((err.kind, err.offset), (JsonErrorKind::TooDeep, 6));
//! ```

use super::{JsonError, JsonErrorKind, Str, Value, DEFAULT_MAX_DEPTH, MAX_DEPTH_LIMIT};

/// What the reader expects next; the caller's calls must follow it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    Root,
    Done,
    Key { first: bool },
    MemberValue,
    Element { first: bool },
    ElementValue,
}

/// A pull reader over one JSON text. See the [`json`](super) module docs for an example.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    text: &'a str,
    pos: usize,
    depth: u8,
    max_depth: u8,
    /// Bit `d` set: the container at depth `d + 1` is an object. A bitset rather than a stack
    /// so that any nesting up to the limit costs no allocation.
    objects: u128,
    expect: Expect,
}

impl<'a> Reader<'a> {
    /// A reader allowing [`DEFAULT_MAX_DEPTH`] levels of nesting.
    pub fn new(text: &'a str) -> Self {
        Reader::with_max_depth(text, DEFAULT_MAX_DEPTH)
    }

    /// A reader allowing `max_depth` levels of nesting (at most [`MAX_DEPTH_LIMIT`]; 0 allows
    /// only scalars).
    pub fn with_max_depth(text: &'a str, max_depth: u8) -> Self {
        let max_depth = max_depth.min(MAX_DEPTH_LIMIT);
        Reader { text, pos: 0, depth: 0, max_depth, objects: 0, expect: Expect::Root }
    }

    /// Byte offset of the next unread character.
    pub fn offset(&self) -> usize {
        self.pos
    }

    /// Containers currently open.
    pub fn depth(&self) -> u8 {
        self.depth
    }

    /// Reads the next value: a scalar whole, or the opening bracket of a container.
    pub fn value(&mut self) -> Result<Value<'a>, JsonError> {
        if !matches!(self.expect, Expect::Root | Expect::MemberValue | Expect::ElementValue) {
            return Err(self.err(JsonErrorKind::OutOfPlace));
        }
        self.ws();
        let value = match self.peek() {
            None => return Err(self.err(JsonErrorKind::UnexpectedEnd)),
            Some(b'{') => return self.open(true).map(|()| Value::Object),
            Some(b'[') => return self.open(false).map(|()| Value::Array),
            Some(b'"') => Value::String(self.string()?),
            Some(b'-' | b'0'..=b'9') => Value::Number(self.number()?),
            Some(b't') => self.literal("true", Value::Bool(true))?,
            Some(b'f') => self.literal("false", Value::Bool(false))?,
            Some(b'n') => self.literal("null", Value::Null)?,
            Some(_) => return Err(self.err(JsonErrorKind::ExpectedValue)),
        };
        self.completed();
        Ok(value)
    }

    /// Inside an object: the next member's key (its `:` consumed, so [`value`](Self::value)
    /// or [`skip`](Self::skip) must follow), or `None` once the object is closed.
    pub fn next_key(&mut self) -> Result<Option<Str<'a>>, JsonError> {
        let Expect::Key { first } = self.expect else { return Err(self.err(JsonErrorKind::OutOfPlace)) };
        self.ws();
        match self.peek() {
            Some(b'}') => {
                self.close();
                return Ok(None);
            }
            Some(b',') if !first => {
                self.pos += 1;
                self.ws();
            }
            Some(b'"') if first => {}
            None => return Err(self.err(JsonErrorKind::UnexpectedEnd)),
            Some(_) if first => return Err(self.err(JsonErrorKind::ExpectedKey)),
            Some(_) => return Err(self.err(JsonErrorKind::ExpectedCommaOrClose)),
        }
        match self.peek() {
            Some(b'"') => {}
            None => return Err(self.err(JsonErrorKind::UnexpectedEnd)),
            Some(_) => return Err(self.err(JsonErrorKind::ExpectedKey)),
        }
        let key = self.string()?;
        self.ws();
        match self.peek() {
            Some(b':') => self.pos += 1,
            None => return Err(self.err(JsonErrorKind::UnexpectedEnd)),
            Some(_) => return Err(self.err(JsonErrorKind::ExpectedColon)),
        }
        self.expect = Expect::MemberValue;
        Ok(Some(key))
    }

    /// Inside an array: `true` if an element follows (read it with [`value`](Self::value) or
    /// [`skip`](Self::skip)), `false` once the array is closed.
    pub fn next_element(&mut self) -> Result<bool, JsonError> {
        let Expect::Element { first } = self.expect else { return Err(self.err(JsonErrorKind::OutOfPlace)) };
        self.ws();
        match self.peek() {
            Some(b']') => {
                self.close();
                return Ok(false);
            }
            None => return Err(self.err(JsonErrorKind::UnexpectedEnd)),
            Some(b',') if !first => self.pos += 1,
            Some(_) if !first => return Err(self.err(JsonErrorKind::ExpectedCommaOrClose)),
            Some(_) => {}
        }
        self.expect = Expect::ElementValue;
        Ok(true)
    }

    /// Reads and discards one whole value, validating it.
    pub fn skip(&mut self) -> Result<(), JsonError> {
        match self.value()? {
            Value::Object | Value::Array => self.skip_rest(),
            _ => Ok(()),
        }
    }

    /// Discards the rest of the innermost open container, closing bracket included. Iterative:
    /// deep input only moves a counter.
    pub fn skip_rest(&mut self) -> Result<(), JsonError> {
        let Some(target) = self.depth.checked_sub(1) else { return Err(self.err(JsonErrorKind::OutOfPlace)) };
        while self.depth > target {
            match self.expect {
                Expect::Key { .. } => {
                    if self.next_key()?.is_some() {
                        self.value()?;
                    }
                }
                Expect::Element { .. } => {
                    if self.next_element()? {
                        self.value()?;
                    }
                }
                _ => {
                    self.value()?;
                }
            }
        }
        Ok(())
    }

    /// Checks that the document is complete and only whitespace follows it.
    pub fn end(mut self) -> Result<(), JsonError> {
        if self.expect != Expect::Done {
            return Err(self.err(JsonErrorKind::OutOfPlace));
        }
        self.ws();
        match self.peek() {
            None => Ok(()),
            Some(_) => Err(self.err(JsonErrorKind::TrailingCharacters)),
        }
    }

    fn err(&self, kind: JsonErrorKind) -> JsonError {
        JsonError { kind, offset: self.pos }
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn open(&mut self, object: bool) -> Result<(), JsonError> {
        if self.depth >= self.max_depth {
            return Err(self.err(JsonErrorKind::TooDeep));
        }
        let bit = 1u128 << self.depth;
        self.objects = if object { self.objects | bit } else { self.objects & !bit };
        self.depth += 1;
        self.pos += 1;
        self.expect = if object { Expect::Key { first: true } } else { Expect::Element { first: true } };
        Ok(())
    }

    fn close(&mut self) {
        self.pos += 1;
        self.depth = self.depth.saturating_sub(1);
        self.completed();
    }

    /// A value ended: the enclosing container (or the document) decides what comes next.
    fn completed(&mut self) {
        self.expect = match self.depth.checked_sub(1) {
            None => Expect::Done,
            Some(d) if self.objects & (1u128 << d) != 0 => Expect::Key { first: false },
            Some(_) => Expect::Element { first: false },
        };
    }

    fn literal(&mut self, word: &'static str, value: Value<'a>) -> Result<Value<'a>, JsonError> {
        let bytes = self.text.as_bytes().get(self.pos..).unwrap_or_default();
        for (i, &expected) in word.as_bytes().iter().enumerate() {
            match bytes.get(i) {
                Some(&b) if b == expected => {}
                found => {
                    let kind =
                        if found.is_none() { JsonErrorKind::UnexpectedEnd } else { JsonErrorKind::ExpectedValue };
                    return Err(JsonError { kind, offset: self.pos + i });
                }
            }
        }
        self.pos += word.len();
        Ok(value)
    }

    fn string(&mut self) -> Result<Str<'a>, JsonError> {
        let bytes = self.text.as_bytes();
        let start = self.pos + 1;
        let mut i = start;
        let mut escaped = false;
        loop {
            i = skip_plain(bytes, i);
            let Some(&b) = bytes.get(i) else {
                return Err(JsonError { kind: JsonErrorKind::UnexpectedEnd, offset: i });
            };
            match b {
                b'"' => break,
                b'\\' => {
                    escaped = true;
                    i += match bytes.get(i + 1) {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => 2,
                        Some(b'u') if bytes.get(i + 2..i + 6).is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) => 6,
                        None => return Err(JsonError { kind: JsonErrorKind::UnexpectedEnd, offset: i + 1 }),
                        Some(_) => return Err(JsonError { kind: JsonErrorKind::InvalidEscape, offset: i }),
                    };
                }
                0..=0x1F => return Err(JsonError { kind: JsonErrorKind::ControlCharacter, offset: i }),
                _ => i += 1,
            }
        }
        self.pos = i + 1;
        // Both ends sit on ASCII quotes, so the slice is on character boundaries.
        Ok(Str { raw: self.text.get(start..i).unwrap_or_default(), escaped })
    }

    fn number(&mut self) -> Result<&'a str, JsonError> {
        let bytes = self.text.as_bytes();
        let start = self.pos;
        let mut i = start + usize::from(bytes.get(start) == Some(&b'-'));
        let digits = |mut i: usize| {
            while bytes.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            i
        };
        let invalid = |offset| Err(JsonError { kind: JsonErrorKind::InvalidNumber, offset });
        match bytes.get(i) {
            Some(b'0') => i += 1,
            Some(b'1'..=b'9') => i = digits(i + 1),
            _ => return invalid(i),
        }
        if bytes.get(i).is_some_and(u8::is_ascii_digit) {
            return invalid(i);
        }
        if bytes.get(i) == Some(&b'.') {
            if !bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
                return invalid(i + 1);
            }
            i = digits(i + 1);
        }
        if let Some(b'e' | b'E') = bytes.get(i) {
            i += 1;
            if let Some(b'+' | b'-') = bytes.get(i) {
                i += 1;
            }
            if !bytes.get(i).is_some_and(u8::is_ascii_digit) {
                return invalid(i);
            }
            i = digits(i);
        }
        self.pos = i;
        Ok(self.text.get(start..i).unwrap_or_default())
    }
}

/// Skips string bytes that need no attention (not `"`, `\\` or a control character), eight at a
/// time: strings are most of a notification's bytes. A hit only hands over to the byte loop.
#[inline]
fn skip_plain(bytes: &[u8], mut i: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    // The classic bit tricks: a byte below `n` (n <= 128), a zero byte. Exact for "any byte".
    let below = |x: u64, n: u8| x.wrapping_sub(ONES * u64::from(n)) & !x & HIGHS;
    let equal = |x: u64, b: u8| below(x ^ (ONES * u64::from(b)), 1);
    while let Some(chunk) = bytes.get(i..i + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word);
        if below(x, 0x20) | equal(x, b'"') | equal(x, b'\\') != 0 {
            break;
        }
        i += 8;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::super::validate;
    use super::*;

    #[test]
    fn depth_is_bounded_without_recursion() {
        let deep = "[".repeat(100_000);
        let err = validate(&deep, DEFAULT_MAX_DEPTH).unwrap_err();
        assert_eq!((err.kind, err.offset), (JsonErrorKind::TooDeep, 64));
        assert!(validate(&format!("{}{}", "[".repeat(64), "]".repeat(64)), 64).is_ok());
    }

    #[test]
    fn misuse_is_an_error_not_a_panic() {
        let mut r = Reader::new("[1]");
        assert_eq!(r.next_key().unwrap_err().kind, JsonErrorKind::OutOfPlace);
        assert_eq!(r.skip_rest().unwrap_err().kind, JsonErrorKind::OutOfPlace);
        assert!(matches!(r.value(), Ok(Value::Array)));
        assert_eq!(r.value().unwrap_err().kind, JsonErrorKind::OutOfPlace);
    }
}
