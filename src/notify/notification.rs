//! One normalised [`Notification`], whichever of the two wire forms the server uses, or a
//! [`NotificationSchemaError`] saying why not.
//!
//! * Lightweight: `{ type, entityId, timestamp, triggeredBy?, metadata? }`.
//! * Envelope: `{ eventType, version, timestamp, data, metadata: { tenantId, source,
//!   correlationId, userId, traceId } }`.
//!
//! Only the fields routing needs are extracted (the rules are in [`schema`](super::schema)); the
//! whole JSON text is kept as [`Notification::raw`], for the JS layer to `JSON.parse` once into
//! the user's object (`data`, `metadata`, `triggeredBy`, … are read from there). Errors cost no
//! allocation until their message is rendered.
//!
//! ```
//! use edgesaga::notify::notification::{Notification, SchemaErrorReason, SchemaOptions};
//!
//! let opts = SchemaOptions::default();
//! let light = r#"{"type":"order.paid","entityId":"o-1","timestamp":"2024-05-01T10:00:00Z",
//!                 "metadata":{"tenantId":"acme"}}"#;
//! let envelope = r#"{"eventType":"order.paid","version":"1.3","timestamp":"2024-05-01T10:00:00Z",
//!                    "data":{"entityId":"o-1","total":12},"metadata":{"tenantId":"acme"}}"#;
//! let a = Notification::parse(light.to_owned(), &opts).unwrap();
//! let b = Notification::parse(envelope.to_owned(), &opts).unwrap();
//! assert_eq!((a.resource(), a.action(), a.entity_id()), ("order", "paid", Some("o-1")));
//! assert_eq!((b.notification_type(), b.entity_id(), b.tenant_id()), ("order.paid", Some("o-1"), Some("acme")));
//!
//! let rejected = Notification::parse(r#"{"eventType":"order.paid","version":"2.0"}"#.to_owned(), &opts);
//! let error = rejected.unwrap_err().error;
//! assert_eq!((error.reason, error.to_string().as_str()),
//!            (SchemaErrorReason::IncompatibleVersion, "incompatible major version 2 (supported: 1)"));
//! ```

use std::fmt;
use std::sync::Arc;

use super::schema::{extract, Text};
use crate::json::JsonError;

pub use super::schema::{is_segment, type_dot, SchemaOptions};

/// Which wire form a notification arrived in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Form {
    /// `{ type, entityId, timestamp, … }`.
    Lightweight,
    /// `{ eventType, version, data, metadata, … }`.
    Envelope,
}

/// Why a notification was rejected (a stable code for JS: [`code`](Self::code)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SchemaErrorReason {
    /// `data` is not valid JSON (see [`NotificationSchemaError::json`]).
    MalformedJson,
    /// Valid JSON, but not an object.
    NotAnObject,
    /// Neither `type` nor `eventType` (or both `null`).
    MissingType,
    /// The type is not a string of the form `resource.action`.
    InvalidType,
    /// `version` is neither a version string nor a non-negative number.
    InvalidVersion,
    /// `version`'s major differs from the supported one.
    IncompatibleVersion,
    /// An id, time or metadata field has the wrong JSON type.
    InvalidField,
}

impl SchemaErrorReason {
    /// A stable snake_case code.
    pub fn code(self) -> &'static str {
        match self {
            SchemaErrorReason::MalformedJson => "malformed_json",
            SchemaErrorReason::NotAnObject => "not_an_object",
            SchemaErrorReason::MissingType => "missing_type",
            SchemaErrorReason::InvalidType => "invalid_type",
            SchemaErrorReason::InvalidVersion => "invalid_version",
            SchemaErrorReason::IncompatibleVersion => "incompatible_version",
            SchemaErrorReason::InvalidField => "invalid_field",
        }
    }
}

/// A notification that cannot be delivered. Cheap to build (no allocation): the message is
/// only rendered, by `Display`, when someone reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotificationSchemaError {
    /// What is wrong.
    pub reason: SchemaErrorReason,
    /// The offending field, as a dotted path (`"eventType"`, `"data.id"`, …).
    pub field: Option<&'static str>,
    /// For [`SchemaErrorReason::MalformedJson`]: what and where.
    pub json: Option<JsonError>,
    /// For [`SchemaErrorReason::IncompatibleVersion`]: the major found.
    pub found_major: Option<u32>,
    /// The major version that was expected.
    pub supported_major: u32,
}

impl NotificationSchemaError {
    pub(super) fn new(reason: SchemaErrorReason, field: Option<&'static str>, options: &SchemaOptions) -> Self {
        NotificationSchemaError {
            reason,
            field,
            json: None,
            found_major: None,
            supported_major: options.supported_major,
        }
    }

    /// The stable JS `Error.name`.
    pub fn error_name(&self) -> &'static str {
        "NotificationSchemaError"
    }
}

impl fmt::Display for NotificationSchemaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let field = self.field.unwrap_or("type");
        match self.reason {
            SchemaErrorReason::MalformedJson => match &self.json {
                Some(e) => write!(f, "malformed JSON: {e}"),
                None => f.write_str("malformed JSON"),
            },
            SchemaErrorReason::NotAnObject => f.write_str("a notification must be a JSON object"),
            SchemaErrorReason::MissingType => f.write_str("missing notification type (`type`, or `eventType`)"),
            SchemaErrorReason::InvalidType => write!(
                f,
                "`{field}` must be a string `resource.action` (lowercase letters, digits, '_' or '-'; one dot)"
            ),
            SchemaErrorReason::InvalidVersion => {
                f.write_str("`version` must be a string like \"1\" or \"1.2\", or a non-negative number")
            }
            SchemaErrorReason::IncompatibleVersion => match self.found_major {
                Some(m) => write!(f, "incompatible major version {m} (supported: {})", self.supported_major),
                None => write!(f, "incompatible major version (supported: {})", self.supported_major),
            },
            SchemaErrorReason::InvalidField if field == "metadata" => f.write_str("`metadata` must be an object"),
            SchemaErrorReason::InvalidField => write!(f, "`{field}` must be a string or a number"),
        }
    }
}

impl std::error::Error for NotificationSchemaError {}

/// A rejected notification: the error, and the text handed back for the dead-letter list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejected {
    /// Why.
    pub error: NotificationSchemaError,
    /// The SSE `data`, unchanged.
    pub raw: String,
}

/// One normalised notification; [`schema`](super::schema) says where each field comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    id: Option<Arc<str>>,
    last_event_id: Option<Arc<str>>,
    kind: Text,
    dot: usize,
    entity_id: Option<Text>,
    timestamp: Option<Text>,
    tenant_id: Option<Text>,
    version_major: Option<u32>,
    form: Form,
    raw: String,
}

impl Notification {
    /// Validates and normalises `raw` (an SSE event's `data`). Takes ownership so that the
    /// text moves into the notification, or back out in [`Rejected`], without a copy.
    pub fn parse(raw: String, options: &SchemaOptions) -> Result<Notification, Rejected> {
        match extract(&raw, options) {
            Ok(x) => Ok(Notification {
                id: None,
                last_event_id: None,
                kind: x.kind,
                dot: x.dot,
                entity_id: x.entity_id,
                timestamp: x.timestamp,
                tenant_id: x.tenant_id,
                version_major: x.version_major,
                form: x.form,
                raw,
            }),
            Err(error) => Err(Rejected { error, raw }),
        }
    }

    /// Attaches the SSE identity: the event's own `id` (`None` when it had none and merely
    /// inherited the previous one), and the last event ID at dispatch.
    pub fn with_sse_ids(mut self, id: Option<Arc<str>>, last_event_id: Arc<str>) -> Self {
        self.id = id;
        self.last_event_id = Some(last_event_id);
        self
    }

    /// The event's own SSE `id`, the key for deduplication.
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The last event ID when the event was dispatched (what `Last-Event-ID` would resume from).
    pub fn last_event_id(&self) -> &str {
        self.last_event_id.as_deref().unwrap_or_default()
    }

    /// [`last_event_id`](Self::last_event_id), shared rather than copied.
    pub fn last_event_id_shared(&self) -> Option<&Arc<str>> {
        self.last_event_id.as_ref()
    }

    /// `resource.action`.
    pub fn notification_type(&self) -> &str {
        self.kind.resolve(&self.raw)
    }

    /// The part before the dot.
    pub fn resource(&self) -> &str {
        self.notification_type().get(..self.dot).unwrap_or_default()
    }

    /// The part after the dot.
    pub fn action(&self) -> &str {
        self.notification_type().get(self.dot + 1..).unwrap_or_default()
    }

    /// The entity the notification is about.
    pub fn entity_id(&self) -> Option<&str> {
        self.entity_id.as_ref().map(|t| t.resolve(&self.raw))
    }

    /// The timestamp, as a decoded string or a number's JSON text.
    pub fn timestamp(&self) -> Option<&str> {
        self.timestamp.as_ref().map(|t| t.resolve(&self.raw))
    }

    /// The tenant.
    pub fn tenant_id(&self) -> Option<&str> {
        self.tenant_id.as_ref().map(|t| t.resolve(&self.raw))
    }

    /// The major of `version`, when there was one.
    pub fn version_major(&self) -> Option<u32> {
        self.version_major
    }

    /// The wire form.
    pub fn form(&self) -> Form {
        self.form
    }

    /// The whole JSON text as received.
    pub fn raw(&self) -> &str {
        &self.raw
    }
}
