//! What [`Hub::publish`](super::Hub::publish) refuses beyond the schema: the tenant rule, and
//! the error it reports.
//!
//! The tenant comes from the publisher's credentials, so a body naming another one is an attempt
//! to publish into someone else's stream; it is refused rather than corrected, so the publisher
//! learns of it. The check runs after the schema has validated the text, so it can read the JSON
//! without reporting syntax errors of its own.
//!
//! ```
//! use edgesaga::notify::hub::{Hub, HubOptions, PublishError};
//!
//! let mut hub = Hub::new(HubOptions { max_bytes: 128, ..HubOptions::default() });
//! let body = r#"{"type":"order.paid","metadata":{"tenantId":"globex"}}"#;
//! let error = hub.publish("acme", body).unwrap_err();
//! assert_eq!(error, PublishError::TenantMismatch { field: "metadata.tenantId" });
//! assert_eq!((error.code(), error.field()), ("tenant_mismatch", Some("metadata.tenantId")));
//! assert!(hub.publish("acme", r#"{"type":"order.paid","tenantId":"acme"}"#).is_ok());
//!
//! let big = format!(r#"{{"type":"order.paid","note":"{}"}}"#, "x".repeat(100));
//! let error = hub.publish("acme", big).unwrap_err();
//! assert_eq!((error.code(), error.field()), ("too_large", None));
//! assert_eq!(hub.last_id(), 1); // a refused publish uses up no id
//! ```

use std::fmt;

use crate::json::{JsonError, Reader, Value};
use crate::notify::notification::{NotificationSchemaError, SchemaErrorReason};

/// Why [`Hub::publish`](super::Hub::publish) refused a notification. Every variant is reported to
/// JS as a `NotificationSchemaError` with a stable [`code`](Self::code) and, when there is one,
/// the [`field`](Self::field).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PublishError {
    /// The notification breaks the schema: a subscriber would dead-letter it.
    Schema(NotificationSchemaError),
    /// The body names a tenant other than the publisher's.
    TenantMismatch {
        /// `"tenantId"` or `"metadata.tenantId"`.
        field: &'static str,
    },
    /// The encoded event alone exceeds the hub's `max_bytes`.
    TooLarge {
        /// What the event would count.
        bytes: usize,
        /// The bound.
        max_bytes: usize,
    },
}

impl PublishError {
    /// The stable JS `Error.name`.
    pub fn error_name(&self) -> &'static str {
        "NotificationSchemaError"
    }

    /// A stable snake_case code: a [`SchemaErrorReason::code`], `tenant_mismatch` or `too_large`.
    pub fn code(&self) -> &'static str {
        match self {
            PublishError::Schema(e) => e.reason.code(),
            PublishError::TenantMismatch { .. } => "tenant_mismatch",
            PublishError::TooLarge { .. } => "too_large",
        }
    }

    /// The offending field as a dotted path; `type` for a missing type. `None` for malformed
    /// JSON, a body that is not an object, or a notification too large.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            PublishError::Schema(e) => match e.reason {
                SchemaErrorReason::MissingType => Some("type"),
                _ => e.field,
            },
            PublishError::TenantMismatch { field } => Some(field),
            PublishError::TooLarge { .. } => None,
        }
    }
}

impl fmt::Display for PublishError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PublishError::Schema(e) => e.fmt(f),
            PublishError::TenantMismatch { field } => {
                write!(f, "`{field}` names a tenant other than the publisher's")
            }
            PublishError::TooLarge { bytes, max_bytes } => {
                write!(f, "the notification takes {bytes} bytes, over the hub's maxBytes ({max_bytes})")
            }
        }
    }
}

impl std::error::Error for PublishError {}

impl From<NotificationSchemaError> for PublishError {
    fn from(e: NotificationSchemaError) -> Self {
        PublishError::Schema(e)
    }
}

/// Checks every `tenantId` and `metadata.tenantId` of the (already validated) object: each must
/// be `null` or name `tenant`. Returns whether one named it.
pub(super) fn check_tenant(raw: &str, tenant: &str, max_depth: u8) -> Result<bool, PublishError> {
    fn names(r: &mut Reader<'_>, tenant: &str, field: &'static str) -> Result<bool, PublishError> {
        let value = r.value().map_err(|_| PublishError::TenantMismatch { field })?;
        match value {
            Value::Null => Ok(false),
            Value::String(s) if s.decode() == tenant => Ok(true),
            Value::Number(n) if n == tenant => Ok(true),
            _ => Err(PublishError::TenantMismatch { field }),
        }
    }
    /// The text was validated by the schema: a reader error cannot happen; refuse it safely.
    fn ok<T>(result: Result<T, JsonError>) -> Result<T, PublishError> {
        result.map_err(|_| PublishError::TenantMismatch { field: "tenantId" })
    }
    let mut named = false;
    let mut r = Reader::with_max_depth(raw, max_depth);
    if ok(r.value())? != Value::Object {
        return Err(PublishError::TenantMismatch { field: "tenantId" });
    }
    while let Some(key) = ok(r.next_key())? {
        match &*key.decode() {
            "tenantId" => named |= names(&mut r, tenant, "tenantId")?,
            "metadata" => {
                if ok(r.value())? != Value::Object {
                    ok(r.skip_rest())?;
                    continue;
                }
                while let Some(inner) = ok(r.next_key())? {
                    if inner.decode() == "tenantId" {
                        named |= names(&mut r, tenant, "metadata.tenantId")?;
                    } else {
                        ok(r.skip())?;
                    }
                }
            }
            _ => ok(r.skip())?,
        }
    }
    Ok(named)
}
