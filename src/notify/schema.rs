//! The rules a notification must follow, and the single pass that checks them and extracts
//! the routing fields from the JSON text (no tree is built: see [`json`](crate::json)).
//!
//! A non-null `eventType` makes the object an envelope (and `type` is then ignored);
//! otherwise `type` is read and the form is lightweight.
//!
//! * **Type**: `type = segment "." segment`, `segment = 1*( %x61-7A / DIGIT / "_" / "-" )`:
//!   lowercase ASCII letters, digits, `_`, `-`, exactly one dot, no empty segment.
//! * **Version** (checked whenever present, in either form; absent or `null` means
//!   compatible): a string `1*DIGIT *( "." 1*DIGIT )` such as `"1"` or `"1.2"`, or a JSON
//!   number without sign or exponent (`1`, `1.2`). Its major (the leading digits) must equal
//!   [`SchemaOptions::supported_major`].
//! * **entityId**: the first present of `entityId`, `data.entityId`, `data.id`.
//! * **tenantId**: `metadata.tenantId`, else a top-level `tenantId`.
//! * **timestamp**: top-level `timestamp`.
//!
//! Those id and time fields are optional, but when present (and not `null`) each must be a
//! string or a number (kept as its JSON text, so `42` and `"42"` compare equal), and
//! `metadata` must be an object. With a duplicated key the last one wins, as in `JSON.parse`.
//! Errors are reported in this order: malformed JSON, not an object, type, version, fields.
//!
//! ```
//! use edgesaga::notify::schema::{type_dot, SchemaOptions};
//! use edgesaga::notify::notification::{Notification, SchemaErrorReason};
//!
//! assert_eq!(type_dot("order.status_changed"), Some(5));
//! assert_eq!(type_dot("Order.paid"), None);
//! let parse = |raw: &str| Notification::parse(raw.to_owned(), &SchemaOptions::default());
//! let n = parse(r#"{"eventType":"user.created","data":{"id":17},"tenantId":"t"}"#).unwrap();
//! assert_eq!((n.entity_id(), n.tenant_id()), (Some("17"), Some("t")));
//! let err = parse(r#"{"type":"a.b","entityId":{"nested":true}}"#).unwrap_err().error;
//! assert_eq!((err.reason, err.field), (SchemaErrorReason::InvalidField, Some("entityId")));
//! ```

use std::borrow::Cow;

use super::notification::{Form, NotificationSchemaError, SchemaErrorReason};
use crate::json::{JsonError, Reader, Str, Value, DEFAULT_MAX_DEPTH};

/// What the normaliser accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SchemaOptions {
    /// The one major `version` understood (default 1).
    pub supported_major: u32,
    /// JSON nesting allowed in a notification (default [`DEFAULT_MAX_DEPTH`], at most 128).
    pub max_depth: u8,
}

impl Default for SchemaOptions {
    fn default() -> Self {
        SchemaOptions { supported_major: 1, max_depth: DEFAULT_MAX_DEPTH }
    }
}

/// Where the dot of a valid `resource.action` type is (see the module docs for the grammar).
pub fn type_dot(kind: &str) -> Option<usize> {
    let dot = kind.find('.')?;
    let (resource, action) = (kind.get(..dot)?, kind.get(dot + 1..)?);
    (is_segment(resource) && is_segment(action)).then_some(dot)
}

/// `1*( a-z / 0-9 / "_" / "-" )`.
pub fn is_segment(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-'))
}

/// A field's text: where it sits in the raw JSON (the usual case: no allocation), or an
/// unescaped copy when it contained escapes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Text {
    Span(usize, usize),
    Owned(Box<str>),
}

impl Text {
    /// `part` must be a slice of `raw`, as everything the reader hands out is.
    fn span(raw: &str, part: &str) -> Text {
        let start = (part.as_ptr() as usize).wrapping_sub(raw.as_ptr() as usize);
        Text::Span(start, start.wrapping_add(part.len()))
    }

    fn of(raw: &str, s: Str<'_>) -> Text {
        match s.decode() {
            Cow::Borrowed(part) => Text::span(raw, part),
            Cow::Owned(owned) => Text::Owned(owned.into_boxed_str()),
        }
    }

    pub(super) fn resolve<'t>(&'t self, raw: &'t str) -> &'t str {
        match self {
            Text::Span(start, end) => raw.get(*start..*end).unwrap_or_default(),
            Text::Owned(s) => s,
        }
    }
}

pub(super) struct Extracted {
    pub(super) kind: Text,
    pub(super) dot: usize,
    pub(super) entity_id: Option<Text>,
    pub(super) timestamp: Option<Text>,
    pub(super) tenant_id: Option<Text>,
    pub(super) version_major: Option<u32>,
    pub(super) form: Form,
}

/// A field as found, before its type is checked.
#[derive(Clone, Copy, Debug, Default)]
enum Field<'a> {
    #[default]
    Absent,
    Null,
    Str(Str<'a>),
    Num(&'a str),
    Object,
    Other,
}

#[derive(Default)]
struct Found<'a> {
    kind: Field<'a>,
    event_type: Field<'a>,
    version: Field<'a>,
    entity_id: Field<'a>,
    timestamp: Field<'a>,
    tenant_id: Field<'a>,
    metadata: Field<'a>,
    data_entity_id: Field<'a>,
    data_id: Field<'a>,
    meta_tenant_id: Field<'a>,
}

fn field<'a>(r: &mut Reader<'a>, value: Value<'a>) -> Result<Field<'a>, JsonError> {
    Ok(match value {
        Value::Null => Field::Null,
        Value::Bool(_) => Field::Other,
        Value::Number(n) => Field::Num(n),
        Value::String(s) => Field::Str(s),
        Value::Object => {
            r.skip_rest()?;
            Field::Object
        }
        Value::Array => {
            r.skip_rest()?;
            Field::Other
        }
    })
}

/// One pass over the text: validates all of it and keeps the fields of interest. `None`: the
/// text is valid JSON but not an object.
fn scan(raw: &str, max_depth: u8) -> Result<Option<Found<'_>>, JsonError> {
    let mut r = Reader::with_max_depth(raw, max_depth);
    let first = r.value()?;
    if first != Value::Object {
        field(&mut r, first)?;
        return r.end().map(|()| None);
    }
    let mut f = Found::default();
    while let Some(key) = r.next_key()? {
        let key = key.decode();
        let slot = match &*key {
            "type" => &mut f.kind,
            "eventType" => &mut f.event_type,
            "version" => &mut f.version,
            "entityId" => &mut f.entity_id,
            "timestamp" => &mut f.timestamp,
            "tenantId" => &mut f.tenant_id,
            "data" | "metadata" => {
                let is_data = &*key == "data";
                // A repeated key replaces the earlier value entirely, as in `JSON.parse`.
                if is_data {
                    (f.data_entity_id, f.data_id) = (Field::Absent, Field::Absent);
                } else {
                    f.meta_tenant_id = Field::Absent;
                }
                let value = r.value()?;
                if value == Value::Object {
                    while let Some(inner) = r.next_key()? {
                        let slot = match (is_data, &*inner.decode()) {
                            (true, "entityId") => &mut f.data_entity_id,
                            (true, "id") => &mut f.data_id,
                            (false, "tenantId") => &mut f.meta_tenant_id,
                            _ => {
                                r.skip()?;
                                continue;
                            }
                        };
                        let value = r.value()?;
                        *slot = field(&mut r, value)?;
                    }
                    if !is_data {
                        f.metadata = Field::Object;
                    }
                } else {
                    let found = field(&mut r, value)?;
                    if !is_data {
                        f.metadata = found;
                    }
                }
                continue;
            }
            _ => {
                r.skip()?;
                continue;
            }
        };
        let value = r.value()?;
        *slot = field(&mut r, value)?;
    }
    r.end().map(|()| Some(f))
}

pub(super) fn extract(raw: &str, options: &SchemaOptions) -> Result<Extracted, NotificationSchemaError> {
    let error = |reason, field| NotificationSchemaError::new(reason, field, options);
    let f = match scan(raw, options.max_depth) {
        Ok(Some(f)) => f,
        Ok(None) => return Err(error(SchemaErrorReason::NotAnObject, None)),
        Err(e) => {
            return Err(NotificationSchemaError { json: Some(e), ..error(SchemaErrorReason::MalformedJson, None) });
        }
    };
    let (name, kind, form) = match (f.event_type, f.kind) {
        (Field::Absent | Field::Null, Field::Absent | Field::Null) => {
            return Err(error(SchemaErrorReason::MissingType, None));
        }
        (Field::Absent | Field::Null, kind) => ("type", kind, Form::Lightweight),
        (kind, _) => ("eventType", kind, Form::Envelope),
    };
    let invalid_type = || error(SchemaErrorReason::InvalidType, Some(name));
    let Field::Str(kind) = kind else { return Err(invalid_type()) };
    let kind = Text::of(raw, kind);
    let dot = type_dot(kind.resolve(raw)).ok_or_else(invalid_type)?;

    let version_major = match f.version {
        Field::Absent | Field::Null => None,
        Field::Str(s) => Some(major_of_string(&s.decode())),
        Field::Num(n) => Some(major_of_number(n)),
        Field::Object | Field::Other => Some(None),
    }
    .map(|m| m.ok_or_else(|| error(SchemaErrorReason::InvalidVersion, Some("version"))))
    .transpose()?;
    if let Some(major) = version_major.filter(|&m| m != options.supported_major) {
        let e = error(SchemaErrorReason::IncompatibleVersion, Some("version"));
        return Err(NotificationSchemaError { found_major: Some(major), ..e });
    }

    let text = |name: &'static str, value: Field<'_>| match value {
        Field::Absent | Field::Null => Ok(None),
        Field::Str(s) => Ok(Some(Text::of(raw, s))),
        Field::Num(n) => Ok(Some(Text::span(raw, n))),
        Field::Object | Field::Other => Err(error(SchemaErrorReason::InvalidField, Some(name))),
    };
    let entity_id = text("entityId", f.entity_id)?;
    let data_entity_id = text("data.entityId", f.data_entity_id)?;
    let data_id = text("data.id", f.data_id)?;
    let timestamp = text("timestamp", f.timestamp)?;
    if matches!(f.metadata, Field::Str(_) | Field::Num(_) | Field::Other) {
        return Err(error(SchemaErrorReason::InvalidField, Some("metadata")));
    }
    let meta_tenant_id = text("metadata.tenantId", f.meta_tenant_id)?;
    let tenant_id = text("tenantId", f.tenant_id)?;
    Ok(Extracted {
        kind,
        dot,
        entity_id: entity_id.or(data_entity_id).or(data_id),
        timestamp,
        tenant_id: meta_tenant_id.or(tenant_id),
        version_major,
        form,
    })
}

/// `1*DIGIT *( "." 1*DIGIT )`; the major is the first run of digits (`None` on overflow).
fn major_of_string(version: &str) -> Option<u32> {
    if !version.split('.').all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit())) {
        return None;
    }
    version.split('.').next()?.parse().ok()
}

/// A JSON number without sign or exponent; the major is its integer part.
fn major_of_number(number: &str) -> Option<u32> {
    if number.bytes().any(|b| matches!(b, b'-' | b'e' | b'E')) {
        return None;
    }
    number.split('.').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_grammar() {
        assert_eq!(type_dot("order.status_changed"), Some(5));
        assert_eq!(type_dot("a-1.b_2"), Some(3));
        for bad in ["", ".", "order", "order.", ".paid", "a.b.c", "Order.paid", "order.pa id", "é.x"] {
            assert_eq!(type_dot(bad), None, "{bad}");
        }
    }

    #[test]
    fn versions() {
        assert_eq!(major_of_string("1.20.3"), Some(1));
        assert_eq!(major_of_string("007"), Some(7));
        for bad in ["", "1.", ".1", "v1", "1.x", "-1", "99999999999"] {
            assert_eq!(major_of_string(bad), None, "{bad}");
        }
        assert_eq!(major_of_number("2.5"), Some(2));
        assert_eq!(major_of_number("1e0"), None);
        assert_eq!(major_of_number("-1"), None);
    }
}
