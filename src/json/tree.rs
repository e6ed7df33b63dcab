//! The owned tree: [`Json`], built from the pull [`Reader`] without recursion.
//!
//! ```
//! use edgesaga::json::Json;
//!
//! let doc = Json::parse(r#"{"order":{"items":[{"sku":"A-1","qty":2}]},"n":1e2,"a":1,"a":2}"#, 64).unwrap();
//! assert_eq!(doc.get_path(&["order", "items", "0", "sku"]).and_then(Json::as_str), Some("A-1"));
//! assert_eq!(doc.get_path(&["order", "items", "1"]), None);
//! // As `JSON.parse` then `JSON.stringify`: the last duplicate wins, in the first one's place;
//! // numbers are written as they were.
//! assert_eq!(doc.to_text(), r#"{"order":{"items":[{"sku":"A-1","qty":2}]},"n":1e2,"a":2}"#);
//! ```

use std::collections::BTreeMap;

use super::{JsonError, Reader, Value};

/// A JSON value, owned. Objects keep their members in document order.
#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, kept as written (see [`Number`]).
    Number(Number),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Json>),
    /// An object: its members in order, keys unique when parsed.
    Object(Vec<(String, Json)>),
}

/// A JSON number as written. Its text is kept, so it is written back exactly (a 20-digit id
/// survives, where a float would round it) and the wasm build needs no float formatting;
/// [`value`](Self::value) reads it as `JSON.parse` does. Equal when their values are.
#[derive(Clone, Debug)]
pub struct Number(Box<str>);

impl Number {
    /// The number as written (valid JSON number syntax).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Its value as `JSON.parse` reads it (`1e400` is infinite).
    pub fn value(&self) -> f64 {
        // The reader validated the grammar, which Rust's float parser accepts in full.
        self.0.parse().unwrap_or(f64::NAN)
    }

    /// A number written as JS's `Number.prototype.toString` writes `value`; non-finite values
    /// become `null` when written, as `JSON.stringify` does.
    pub fn from_f64(value: f64) -> Number {
        let text = if value.is_finite() { super::number_text(value) } else { "null".to_owned() };
        Number(text.into())
    }
}

impl PartialEq for Number {
    fn eq(&self, other: &Number) -> bool {
        self.value() == other.value()
    }
}

/// A container being filled while parsing.
enum Frame {
    Array(Vec<Json>),
    Object(ObjectFrame),
}

/// An object being filled: the key awaiting its value, and past eight members an index so a
/// hostile object with many keys costs `n log n`, not `n²`, to deduplicate.
struct ObjectFrame {
    members: Vec<(String, Json)>,
    key: String,
    index: BTreeMap<String, usize>,
}

impl ObjectFrame {
    /// Adds the member `self.key: value`; a repeated key replaces the earlier value in place,
    /// as `JSON.parse` does.
    fn insert(&mut self, value: Json) {
        let key = std::mem::take(&mut self.key);
        if self.members.len() >= 8 && self.index.is_empty() {
            self.index = self.members.iter().enumerate().map(|(i, (k, _))| (k.clone(), i)).collect();
        }
        let found = if self.index.is_empty() {
            self.members.iter().position(|(k, _)| *k == key)
        } else {
            self.index.get(&key).copied()
        };
        match found.and_then(|i| self.members.get_mut(i)) {
            Some(slot) => slot.1 = value,
            None => {
                if !self.index.is_empty() {
                    self.index.insert(key.clone(), self.members.len());
                }
                self.members.push((key, value));
            }
        }
    }
}

impl Frame {
    fn into_json(self) -> Json {
        match self {
            Frame::Array(items) => Json::Array(items),
            Frame::Object(o) => Json::Object(o.members),
        }
    }
}

impl Json {
    /// Parses one complete JSON text (RFC 8259, exactly what `JSON.parse` accepts) nested at
    /// most `max_depth` deep (see [`Reader::with_max_depth`]). Iterative: deep input is an
    /// error, never a stack overflow. A `\u` escape of a lone surrogate becomes U+FFFD.
    pub fn parse(text: &str, max_depth: u8) -> Result<Json, JsonError> {
        let mut reader = Reader::with_max_depth(text, max_depth);
        let mut stack: Vec<Frame> = Vec::new();
        let mut next = reader.value()?;
        loop {
            let mut finished = match next {
                Value::Array => {
                    stack.push(Frame::Array(Vec::new()));
                    None
                }
                Value::Object => {
                    let frame = ObjectFrame { members: Vec::new(), key: String::new(), index: BTreeMap::new() };
                    stack.push(Frame::Object(frame));
                    None
                }
                Value::Null => Some(Json::Null),
                Value::Bool(b) => Some(Json::Bool(b)),
                Value::Number(t) => Some(Json::Number(Number(t.into()))),
                Value::String(s) => Some(Json::String(s.decode().into_owned())),
            };
            // Attach what finished and close containers until the reader wants a new value.
            loop {
                let Some(top) = stack.last_mut() else {
                    reader.end()?;
                    return Ok(finished.unwrap_or(Json::Null));
                };
                let more = match top {
                    Frame::Array(items) => {
                        items.extend(finished.take());
                        reader.next_element()?
                    }
                    Frame::Object(object) => {
                        if let Some(value) = finished.take() {
                            object.insert(value);
                        }
                        match reader.next_key()? {
                            Some(key) => {
                                object.key = key.decode().into_owned();
                                true
                            }
                            None => false,
                        }
                    }
                };
                if more {
                    break;
                }
                finished = stack.pop().map(Frame::into_json);
            }
            next = reader.value()?;
        }
    }

    /// The value at `path`: object keys, and array indexes written as canonical decimals
    /// (`"0"`, `"12"`, never `"01"`), as JS property access reads them. `&[]` is `self`.
    pub fn get_path(&self, path: &[&str]) -> Option<&Json> {
        let mut at = self;
        for segment in path {
            at = at.child(segment)?;
        }
        Some(at)
    }

    /// The member `key` of an object, or the element at index `key` of an array.
    pub fn child(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(members) => members.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            Json::Array(items) => array_index(key).and_then(|i| items.get(i)),
            _ => None,
        }
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(s) => Some(s),
            _ => None,
        }
    }

    /// A number from a float (see [`Number::from_f64`]).
    pub fn number(value: f64) -> Json {
        Json::Number(Number::from_f64(value))
    }

    /// The number, if this is one.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Json::Number(n) => Some(n.value()),
            _ => None,
        }
    }

    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Json::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The elements, if this is an array.
    pub fn as_array(&self) -> Option<&[Json]> {
        match self {
            Json::Array(items) => Some(items),
            _ => None,
        }
    }

    /// The members in order, if this is an object.
    pub fn as_object(&self) -> Option<&[(String, Json)]> {
        match self {
            Json::Object(members) => Some(members),
            _ => None,
        }
    }

    /// `"null"`, `"a boolean"`, `"a number"`, `"a string"`, `"an array"` or `"an object"`, for
    /// error messages.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "a boolean",
            Json::Number(_) => "a number",
            Json::String(_) => "a string",
            Json::Array(_) => "an array",
            Json::Object(_) => "an object",
        }
    }
}

/// `"0"`, `"1"`, … `"4294967294"` as JS array indexes; anything else (`"01"`, `"-1"`, `"1e0"`)
/// is not an index.
fn array_index(key: &str) -> Option<usize> {
    let canonical = key == "0" || (!key.starts_with('0') && !key.is_empty() && key.bytes().all(|b| b.is_ascii_digit()));
    if !canonical {
        return None;
    }
    key.parse::<u32>().ok().filter(|&i| i < u32::MAX).and_then(|i| usize::try_from(i).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::JsonErrorKind;

    #[test]
    fn deep_input_is_an_error_not_a_stack_overflow() {
        let deep = "[".repeat(200_000);
        assert_eq!(Json::parse(&deep, 128).unwrap_err().kind, JsonErrorKind::TooDeep);
        let ok = format!("{}1{}", "[".repeat(128), "]".repeat(128));
        assert!(Json::parse(&ok, 128).is_ok());
    }

    #[test]
    fn many_duplicate_keys_keep_the_first_place_and_the_last_value() {
        let members: Vec<String> = (0..40).map(|i| format!("\"k{}\":{i}", i % 20)).collect();
        let doc = Json::parse(&format!("{{{}}}", members.join(",")), 8).unwrap();
        let object = doc.as_object().unwrap();
        assert_eq!(object.len(), 20);
        assert_eq!(object[3], ("k3".to_owned(), Json::number(23.0)));
    }

    #[test]
    fn array_indexes_are_canonical() {
        let doc = Json::parse("[10,11]", 8).unwrap();
        assert_eq!(doc.child("1"), Some(&Json::number(11.0)));
        for bad in ["01", "-1", "1.0", "", "+1", "2"] {
            assert_eq!(doc.child(bad), None, "{bad:?}");
        }
    }
}
