//! Routing: which notifications a subscription receives.
//!
//! Pattern grammar (segments as in [`notification`](super::notification)):
//!
//! ```text
//! pattern = "*" / "*.*"            ; everything
//!         / segment "." segment    ; one exact type:         order.status_changed
//!         / segment ".*"           ; every action of a resource: order.*
//!         / "*." segment           ; one action of any resource: *.created
//! ```
//!
//! A `*` stands only for a whole segment (`ord*` is an error). A [`Route`] adds exact-match
//! filters on `tenantId` and `entityId`; a filter on a field the notification lacks never
//! matches.
//!
//! ```
//! use edgesaga::notify::notification::{Notification, SchemaOptions};
//! use edgesaga::notify::pattern::{Pattern, PatternErrorKind, Route};
//!
//! let n = Notification::parse(
//!     r#"{"type":"order.status_changed","entityId":"o-1","metadata":{"tenantId":"acme"}}"#.to_owned(),
//!     &SchemaOptions::default(),
//! ).unwrap();
//! assert!(Pattern::parse("order.*").unwrap().matches(&n));
//! assert!(!Pattern::parse("*.created").unwrap().matches(&n));
//! assert!(Route::new("*").unwrap().tenant("acme").entity("o-1").matches(&n));
//! assert!(!Route::new("order.status_changed").unwrap().entity("o-2").matches(&n));
//! assert_eq!(Pattern::parse("Order.*").unwrap_err().kind, PatternErrorKind::InvalidCharacter);
//! ```

use std::fmt;

use super::notification::{is_segment, Notification};

/// A validated routing pattern.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Pattern {
    /// `*`: every notification.
    All,
    /// `resource.action`.
    Exact(String),
    /// `resource.*`.
    Resource(String),
    /// `*.action`.
    Action(String),
}

/// What is wrong with a pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PatternErrorKind {
    /// The empty string.
    Empty,
    /// A character outside `a-z 0-9 _ - . *`.
    InvalidCharacter,
    /// No dot (other than the lone `*`).
    MissingDot,
    /// More than one dot.
    TooManyDots,
    /// Nothing before or after the dot.
    EmptySegment,
    /// A `*` that is not a whole segment (`ord*`, `**`).
    PartialWildcard,
}

/// An invalid pattern: what, and the byte offset where it was noticed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PatternError {
    /// What is wrong.
    pub kind: PatternErrorKind,
    /// Byte offset in the pattern.
    pub offset: usize,
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            PatternErrorKind::Empty => "empty pattern",
            PatternErrorKind::InvalidCharacter => "invalid character (allowed: a-z 0-9 _ - . *)",
            PatternErrorKind::MissingDot => "expected `resource.action`, `resource.*`, `*.action` or `*`",
            PatternErrorKind::TooManyDots => "more than one dot",
            PatternErrorKind::EmptySegment => "empty segment",
            PatternErrorKind::PartialWildcard => "`*` must be a whole segment",
        };
        write!(f, "invalid notification pattern: {what} at byte {}", self.offset)
    }
}

impl std::error::Error for PatternError {}

impl Pattern {
    /// Parses and validates a pattern (see the module docs for the grammar).
    pub fn parse(pattern: &str) -> Result<Pattern, PatternError> {
        let error = |kind, offset| Err(PatternError { kind, offset });
        if pattern.is_empty() {
            return error(PatternErrorKind::Empty, 0);
        }
        let bytes = pattern.as_bytes();
        if let Some(i) = bytes.iter().position(|&b| !matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'.' | b'*'))
        {
            return error(PatternErrorKind::InvalidCharacter, i);
        }
        if pattern == "*" {
            return Ok(Pattern::All);
        }
        let Some(dot) = pattern.find('.') else { return error(PatternErrorKind::MissingDot, pattern.len()) };
        if let Some(extra) = pattern[dot + 1..].find('.') {
            return error(PatternErrorKind::TooManyDots, dot + 1 + extra);
        }
        let (resource, action) = (&pattern[..dot], &pattern[dot + 1..]);
        if resource.is_empty() {
            return error(PatternErrorKind::EmptySegment, 0);
        }
        if action.is_empty() {
            return error(PatternErrorKind::EmptySegment, dot + 1);
        }
        for (segment, at) in [(resource, 0), (action, dot + 1)] {
            if segment != "*" {
                if let Some(star) = segment.find('*') {
                    return error(PatternErrorKind::PartialWildcard, at + star);
                }
            }
        }
        Ok(match (resource, action) {
            ("*", "*") => Pattern::All,
            ("*", action) => Pattern::Action(action.to_owned()),
            (resource, "*") => Pattern::Resource(resource.to_owned()),
            _ if is_segment(resource) && is_segment(action) => Pattern::Exact(pattern.to_owned()),
            _ => return error(PatternErrorKind::InvalidCharacter, 0),
        })
    }

    /// Whether a type, split into its two segments, matches.
    pub fn matches_type(&self, resource: &str, action: &str) -> bool {
        match self {
            Pattern::All => true,
            Pattern::Exact(kind) => {
                kind.len() == resource.len() + 1 + action.len()
                    && kind.starts_with(resource)
                    && kind.ends_with(action)
                    && kind.as_bytes().get(resource.len()) == Some(&b'.')
            }
            Pattern::Resource(r) => r == resource,
            Pattern::Action(a) => a == action,
        }
    }

    /// Whether the notification's type matches.
    pub fn matches(&self, notification: &Notification) -> bool {
        match self {
            Pattern::Exact(kind) => kind == notification.notification_type(),
            _ => self.matches_type(notification.resource(), notification.action()),
        }
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pattern::All => f.write_str("*"),
            Pattern::Exact(kind) => f.write_str(kind),
            Pattern::Resource(r) => write!(f, "{r}.*"),
            Pattern::Action(a) => write!(f, "*.{a}"),
        }
    }
}

/// Exact-match filters on top of a pattern; `None` does not filter.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Filter {
    /// Only this tenant.
    pub tenant_id: Option<String>,
    /// Only this entity.
    pub entity_id: Option<String>,
}

impl Filter {
    /// Whether the notification passes every filter set.
    pub fn matches(&self, notification: &Notification) -> bool {
        let pass = |want: &Option<String>, have: Option<&str>| want.as_deref().is_none_or(|w| have == Some(w));
        pass(&self.tenant_id, notification.tenant_id()) && pass(&self.entity_id, notification.entity_id())
    }
}

/// A pattern and its filters: what one subscription or one `waitFor` receives.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Route {
    /// Which types.
    pub pattern: Pattern,
    /// Which tenant and entity.
    pub filter: Filter,
}

impl Route {
    /// A route with no filters.
    pub fn new(pattern: &str) -> Result<Route, PatternError> {
        Ok(Route { pattern: Pattern::parse(pattern)?, filter: Filter::default() })
    }

    /// Keeps only notifications of this tenant.
    pub fn tenant(mut self, tenant_id: impl Into<String>) -> Self {
        self.filter.tenant_id = Some(tenant_id.into());
        self
    }

    /// Keeps only notifications about this entity.
    pub fn entity(mut self, entity_id: impl Into<String>) -> Self {
        self.filter.entity_id = Some(entity_id.into());
        self
    }

    /// Whether the notification matches the pattern and every filter.
    pub fn matches(&self, notification: &Notification) -> bool {
        self.pattern.matches(notification) && self.filter.matches(notification)
    }
}

impl From<Pattern> for Route {
    fn from(pattern: Pattern) -> Self {
        Route { pattern, filter: Filter::default() }
    }
}
