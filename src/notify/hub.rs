//! The server half of notifications: a bounded replay buffer of encoded SSE frames, per tenant.
//!
//! A [`Hub`] is what a notification hub (the Cloudflare Durable Object in `worker/hub.js`, or any
//! other host) keeps in memory:
//!
//! * [`Hub::publish`] validates a notification with the same rules the consuming stream applies
//!   ([`schema`](super::schema)), so nothing the hub accepts would be dead-lettered by a
//!   subscriber; assigns it the next id (strictly increasing, the decimal text of a `u64`) and
//!   stores its SSE frame, `id: N\nevent: <type>\ndata: <json>\n\n`.
//! * [`Hub::replay`] returns a tenant's frames after a `Last-Event-ID`, with a `gap` flag when
//!   some of them are no longer buffered (or the id is unknown or garbage: then everything
//!   buffered for the tenant is returned, flagged).
//! * Persistence is incremental: a host stores each event on its own ([`Published::id`],
//!   `tenant`, [`Published::frame`]; one storage value per event), deletes the events each
//!   publish evicted ([`Published::evicted`]) and keeps a small [`Hub::meta`] (the id counter and
//!   the eviction marks that gap detection needs). [`Hub::restore`] rebuilds the hub from the
//!   meta and the stored events, so ids keep increasing across restarts and the replay buffer
//!   survives them.
//!
//! Rules of a frame:
//!
//! * **No field injection.** The `event` field is the validated type (`[a-z0-9_-]+.[a-z0-9_-]+`),
//!   the `id` is digits, and the `data` is the publisher's JSON re-serialised without the
//!   whitespace between tokens. Valid JSON holds no raw control character inside a string, so the
//!   data is one line: no CR or LF can end it early and start another field.
//! * **Tenant.** The tenant is the publisher's (the host takes it from the publisher's
//!   credentials, never from the body). A body may name a tenant (`tenantId`, or
//!   `metadata.tenantId`), but only that same one: any other is rejected
//!   ([`PublishError::TenantMismatch`]). A body naming none gets `"tenantId":"<tenant>"` appended
//!   as its last top-level member, so subscribers' `tenantId` filters see it.
//! * **Bounds.** At most [`HubOptions::max_events`] events and [`HubOptions::max_bytes`] bytes
//!   (each event counts its frame, its tenant and [`EVENT_OVERHEAD`]); the oldest are evicted
//!   first. A notification that alone exceeds `max_bytes` is rejected.
//!
//! ```
//! use edgesaga::notify::hub::{Hub, HubOptions};
//!
//! let mut hub = Hub::new(HubOptions { max_events: 2, ..HubOptions::default() });
//! let published = hub.publish("acme", r#"{ "type": "order.paid",
//!                                          "entityId": "o-1" }"#).unwrap();
//! assert_eq!(published.id, 1);
//! assert_eq!(published.frame,
//!            &b"id: 1\nevent: order.paid\ndata: {\"type\":\"order.paid\",\"entityId\":\"o-1\",\"tenantId\":\"acme\"}\n\n"[..]);
//! hub.publish("globex", r#"{"type":"order.paid","entityId":"o-2"}"#).unwrap();
//! hub.publish("acme", r#"{"type":"order.shipped","entityId":"o-1"}"#).unwrap(); // evicts id 1
//!
//! let replay = hub.replay("acme", Some("0"));
//! assert!(replay.gap); // id 1 fell out of the buffer
//! assert_eq!(replay.frames.len(), 1);
//! assert!(replay.frames[0].starts_with(b"id: 3\n"));
//! assert!(hub.replay("acme", Some("3")).frames.is_empty());
//!
//! let error = hub.publish("acme", r#"{"type":"Order.Paid"}"#).unwrap_err();
//! assert_eq!((error.code(), error.field()), ("invalid_type", Some("type")));
//!
//! // What a host persists: one value per event, and the meta.
//! let stored: Vec<(String, Vec<u8>)> =
//!     hub.events().map(|e| (e.tenant.to_owned(), e.frame.to_vec())).collect();
//! let meta = hub.meta();
//! let mut restarted = Hub::new(HubOptions { max_events: 2, ..HubOptions::default() });
//! let dropped = restarted
//!     .restore(Some(&meta), stored.iter().map(|(tenant, frame)| Some((tenant.as_str(), &frame[..]))))
//!     .unwrap();
//! assert!(dropped.is_empty());
//! assert!(restarted.replay("acme", Some("0")).gap);
//! let next = restarted.publish("acme", r#"{"type":"order.paid"}"#).unwrap();
//! assert_eq!((next.id, next.evicted), (4, &[2][..])); // the host deletes event 2's value
//! ```

use std::collections::VecDeque;
use std::fmt;

use super::notification::{Notification, NotificationSchemaError, SchemaErrorReason, SchemaOptions};
use crate::json::{JsonError, Reader, Value};

/// An SSE comment: keeps proxies and the client's heartbeat watchdog from closing an idle stream.
pub const HEARTBEAT_FRAME: &[u8] = b": heartbeat\n\n";

/// Sent before a replay with [`Replay::gap`] set: a valid notification (`hub.gap`) without an
/// `id`, so clients learn that some notifications were lost and their last event ID stays put.
pub const GAP_FRAME: &[u8] = b"event: hub.gap\ndata: {\"type\":\"hub.gap\"}\n\n";

/// Default [`HubOptions::max_events`].
pub const DEFAULT_MAX_EVENTS: usize = 1000;
/// Default [`HubOptions::max_bytes`]: 1 MiB.
pub const DEFAULT_MAX_BYTES: usize = 1 << 20;
/// What each buffered event counts towards `max_bytes` on top of its frame and tenant.
pub const EVENT_OVERHEAD: usize = 32;

/// Tenants whose last evicted id is remembered individually; beyond, a shared watermark (which
/// may report a gap that did not happen, never miss one).
const MAX_EVICTED_TENANTS: usize = 1024;

const META_MAGIC: &[u8; 4] = b"EHM1";

/// Per tenant, the highest id evicted.
type Marks = Vec<(Box<str>, u64)>;

/// The bounds of a [`Hub`] and the notification rules it applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HubOptions {
    /// Events kept, all tenants together (default [`DEFAULT_MAX_EVENTS`]; at least 1).
    pub max_events: usize,
    /// Bytes kept, all tenants together (default [`DEFAULT_MAX_BYTES`]; see [`EVENT_OVERHEAD`]).
    pub max_bytes: usize,
    /// The schema a notification must follow: the same as the subscribers' streams.
    pub schema: SchemaOptions,
}

impl Default for HubOptions {
    fn default() -> Self {
        HubOptions { max_events: DEFAULT_MAX_EVENTS, max_bytes: DEFAULT_MAX_BYTES, schema: SchemaOptions::default() }
    }
}

/// Why [`Hub::publish`] refused a notification. Every variant is reported to JS as a
/// `NotificationSchemaError` with a stable [`code`](Self::code) and, when there is one, the
/// [`field`](Self::field).
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

/// A [`Hub::meta`] that [`Hub::restore`] cannot read; the hub is left unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MetaError {
    /// What is wrong with it.
    pub what: &'static str,
}

impl fmt::Display for MetaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid hub meta: {}", self.what)
    }
}

impl std::error::Error for MetaError {}

/// A notification the hub accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Published<'a> {
    /// Its id: one more than the previous one.
    pub id: u64,
    /// Its encoded SSE frame, for the live subscribers of its tenant (and for the host's storage).
    pub frame: &'a [u8],
    /// The ids of the events this publish evicted to stay within bounds, oldest first (usually
    /// none, or one once the buffer is full): a host persisting events deletes them.
    pub evicted: &'a [u64],
}

/// One buffered event: what a host stores per event ([`Hub::events`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoredEvent<'a> {
    /// Its id (also the frame's first line).
    pub id: u64,
    /// The publisher's tenant.
    pub tenant: &'a str,
    /// Its SSE frame, exactly as published.
    pub frame: &'a [u8],
}

impl Published<'_> {
    /// The id as the frame spells it (the `Last-Event-ID` clients will send back).
    pub fn id_text(&self) -> &str {
        id_text(self.frame)
    }
}

/// What a reconnecting subscriber missed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Replay<'a> {
    /// The tenant's frames after the given id, oldest first.
    pub frames: Vec<&'a [u8]>,
    /// Some notifications after the id may be missing: they were evicted, or the id was not
    /// one this hub issued (then `frames` is everything buffered for the tenant).
    pub gap: bool,
}

impl Replay<'_> {
    /// The frames back to back, ready to write to the stream.
    pub fn concat(&self) -> Vec<u8> {
        self.frames.concat()
    }
}

#[derive(Clone, Debug)]
struct Stored {
    id: u64,
    tenant: Box<str>,
    frame: Box<[u8]>,
}

impl Stored {
    fn cost(&self) -> usize {
        cost(&self.tenant, &self.frame)
    }
}

fn cost(tenant: &str, frame: &[u8]) -> usize {
    frame.len().saturating_add(tenant.len()).saturating_add(EVENT_OVERHEAD)
}

/// The bounded, per-tenant replay buffer of a notification hub. See the [module docs](self).
#[derive(Clone, Debug)]
pub struct Hub {
    options: HubOptions,
    last_id: u64,
    events: VecDeque<Stored>,
    bytes: usize,
    /// Per tenant, the highest id evicted (a short list: a tenant per Durable Object is usual;
    /// a `Vec` rather than a map keeps the wasm small).
    evicted: Marks,
    /// The highest id among the entries dropped from `evicted` (a watermark for every tenant).
    forgotten: u64,
    /// The ids evicted by the last publish (reused: no allocation per publish).
    evicted_now: Vec<u64>,
}

impl Default for Hub {
    fn default() -> Self {
        Hub::new(HubOptions::default())
    }
}

impl Hub {
    /// An empty hub; its first id will be 1. Bounds of 0 are raised to 1.
    pub fn new(options: HubOptions) -> Hub {
        let options =
            HubOptions { max_events: options.max_events.max(1), max_bytes: options.max_bytes.max(1), ..options };
        Hub {
            options,
            last_id: 0,
            events: VecDeque::new(),
            bytes: 0,
            evicted: Vec::new(),
            forgotten: 0,
            evicted_now: Vec::new(),
        }
    }

    /// The options in force.
    pub fn options(&self) -> &HubOptions {
        &self.options
    }

    /// The last id issued (0 before the first).
    pub fn last_id(&self) -> u64 {
        self.last_id
    }

    /// Events buffered.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// No event buffered.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Bytes buffered, as counted against `max_bytes`.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Validates `text` for `tenant`, gives it the next id and buffers its frame, evicting the
    /// oldest events beyond the bounds (reported in [`Published::evicted`]). On error nothing
    /// changes (no id is used up).
    pub fn publish(&mut self, tenant: &str, text: impl Into<String>) -> Result<Published<'_>, PublishError> {
        let notification = Notification::parse(text.into(), &self.options.schema).map_err(|r| r.error)?;
        let raw = notification.raw();
        let named = check_tenant(raw, tenant, self.options.schema.max_depth)?;

        let id = self.last_id.saturating_add(1);
        let kind = notification.notification_type();
        let mut frame = Vec::with_capacity(raw.len() + kind.len() + tenant.len() + 48);
        frame.extend_from_slice(b"id: ");
        push_decimal(&mut frame, id);
        frame.extend_from_slice(b"\nevent: ");
        frame.extend_from_slice(kind.as_bytes());
        frame.extend_from_slice(b"\ndata: ");
        let data_start = frame.len();
        compact_json(raw, &mut frame);
        if !named {
            // The text is an object, so its compact form ends with `}`.
            frame.pop();
            if frame.len() > data_start + 1 {
                frame.push(b',');
            }
            frame.extend_from_slice(b"\"tenantId\":");
            push_json_string(&mut frame, tenant);
            frame.push(b'}');
        }
        // Unreachable for validated JSON; kept so that no input can ever end the data line early.
        if let Some(at) = frame.get(data_start..).and_then(|data| memchr::memchr2(b'\r', b'\n', data)) {
            let json = JsonError { kind: crate::json::JsonErrorKind::ControlCharacter, offset: at };
            let e = NotificationSchemaError {
                reason: SchemaErrorReason::MalformedJson,
                field: None,
                json: Some(json),
                found_major: None,
                supported_major: self.options.schema.supported_major,
            };
            return Err(PublishError::Schema(e));
        }
        frame.extend_from_slice(b"\n\n");

        let bytes = cost(tenant, &frame);
        if bytes > self.options.max_bytes {
            return Err(PublishError::TooLarge { bytes, max_bytes: self.options.max_bytes });
        }
        self.last_id = id;
        self.bytes += bytes;
        self.events.push_back(Stored { id, tenant: tenant.into(), frame: frame.into_boxed_slice() });
        self.evicted_now.clear();
        self.evict_to_bounds();
        // The new event alone fits the bounds: it is never evicted.
        let frame = self.events.back().map(|e| &*e.frame).unwrap_or_default();
        Ok(Published { id, frame, evicted: &self.evicted_now })
    }

    /// The frames of `tenant` after `last_event_id`, oldest first:
    ///
    /// * `None` (or an empty id, which SSE treats as none): everything buffered, no gap;
    /// * an id this hub issued: the frames after it; `gap` when an event of this tenant after it
    ///   was evicted;
    /// * garbage, or an id above [`last_id`](Self::last_id) (state lost, another hub): everything
    ///   buffered for the tenant, with `gap` set.
    pub fn replay(&self, tenant: &str, last_event_id: Option<&str>) -> Replay<'_> {
        let (after, gap) = match last_event_id.filter(|id| !id.is_empty()).map(parse_id) {
            None => (0, false),
            Some(Some(n)) if n <= self.last_id => (n, self.evicted_upto(tenant) > n),
            Some(_) => (0, true),
        };
        let start = self.events.partition_point(|e| e.id <= after);
        let frames = self.events.range(start..).filter(|e| *e.tenant == *tenant).map(|e| &*e.frame).collect();
        Replay { frames, gap }
    }

    /// The buffered events, oldest first: what a host persisting the whole buffer at once would
    /// store (one value per event, for [`restore`](Self::restore)).
    pub fn events(&self) -> impl Iterator<Item = StoredEvent<'_>> + '_ {
        self.events.iter().map(|e| StoredEvent { id: e.id, tenant: &e.tenant, frame: &e.frame })
    }

    /// Raises the id counter to at least `last_id`, for a host that kept the counter but lost
    /// the events: whatever came up to it is gone, so a replay after an older id is flagged as a
    /// gap.
    pub fn restore_counter(&mut self, last_id: u64) {
        self.last_id = self.last_id.max(last_id);
        self.forgotten = self.forgotten.max(last_id);
    }

    /// What a host persists besides the events themselves: the id counter and the eviction
    /// marks (per tenant, the last id evicted), a few dozen bytes for one tenant and bounded for
    /// many. It changes with every publish; [`restore`](Self::restore) reads it back.
    pub fn meta(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(28 + self.evicted.iter().map(|(t, _)| t.len() + 12).sum::<usize>());
        out.extend_from_slice(META_MAGIC);
        out.extend_from_slice(&self.last_id.to_le_bytes());
        out.extend_from_slice(&self.forgotten.to_le_bytes());
        push_len(&mut out, self.evicted.len());
        for (tenant, id) in &self.evicted {
            push_bytes(&mut out, tenant.as_bytes());
            out.extend_from_slice(&id.to_le_bytes());
        }
        out
    }

    /// Replaces the state with a persisted one: the [`meta`](Self::meta) (or `None` when there
    /// is none) and the stored events as `(tenant, frame)` in storage order, oldest first (`None`
    /// for a value the host could not read). Keeps this hub's options.
    ///
    /// Returns the positions in `events` (ascending) of the events not kept, for the host to
    /// delete: those beyond this hub's bounds (the oldest), and unreadable or out-of-order ones —
    /// each of those raises the shared gap watermark to just below the next event kept, so a
    /// replay that may have needed it is flagged as a gap, never silently short.
    ///
    /// The id counter never goes down: it ends at the highest of its current value, the meta's
    /// and the ids stored. Without a meta, the eviction history is unknown: a replay after an id
    /// older than the oldest event stored is flagged as a gap. An unreadable meta is an error
    /// and changes nothing (the host may restore again without it).
    pub fn restore<I, T, F>(&mut self, meta: Option<&[u8]>, events: I) -> Result<Vec<usize>, MetaError>
    where
        I: IntoIterator<Item = Option<(T, F)>>,
        T: AsRef<str>,
        F: AsRef<[u8]>,
    {
        let (mut last_id, mut forgotten, evicted) = match meta {
            Some(meta) => read_meta(meta)?,
            None => (0, 0, Vec::new()),
        };
        forgotten = forgotten.max(self.forgotten);
        let mut kept = VecDeque::new();
        let mut positions = Vec::new(); // where each kept event came from
        let mut dropped = Vec::new();
        let mut bytes = 0usize;
        let mut lost = false; // an event was dropped since the last one kept
        let mut total = 0;
        for (at, item) in events.into_iter().enumerate() {
            total = at + 1;
            let previous = kept.back().map_or(0, |e: &Stored| e.id);
            let sound = item.and_then(|(tenant, frame)| {
                let frame = frame.as_ref();
                let id = parse_id(id_text(frame)).filter(|&id| id > previous && frame_is_sound(id, frame))?;
                Some(Stored { id, tenant: tenant.as_ref().into(), frame: frame.into() })
            });
            let Some(stored) = sound else {
                dropped.push(at);
                lost = true;
                continue;
            };
            if lost || (meta.is_none() && kept.is_empty()) {
                // Whatever was lost (or, without a meta, evicted) lies below this event.
                forgotten = forgotten.max(stored.id - 1);
                lost = false;
            }
            last_id = last_id.max(stored.id);
            bytes = bytes.saturating_add(stored.cost());
            positions.push(at);
            kept.push_back(stored);
        }
        if lost {
            forgotten = forgotten.max(last_id);
        }
        self.last_id = self.last_id.max(last_id);
        self.forgotten = forgotten;
        self.evicted = evicted;
        self.events = kept;
        self.bytes = bytes;
        self.evicted_now.clear();
        self.evict_to_bounds();
        // Eviction takes the oldest first: everything before the first event left is dropped.
        let first_left = positions.get(self.evicted_now.len()).copied().unwrap_or(total);
        self.evicted_now.clear();
        let mut out = Vec::with_capacity(first_left + dropped.len());
        out.extend(0..first_left);
        out.extend(dropped.into_iter().filter(|&at| at > first_left));
        Ok(out)
    }

    fn evicted_upto(&self, tenant: &str) -> u64 {
        self.evicted.iter().find(|(t, _)| **t == *tenant).map_or(0, |(_, id)| *id).max(self.forgotten)
    }

    fn evict_to_bounds(&mut self) {
        while self.events.len() > self.options.max_events || self.bytes > self.options.max_bytes {
            let Some(old) = self.events.pop_front() else { break };
            self.bytes = self.bytes.saturating_sub(old.cost());
            self.evicted_now.push(old.id);
            match self.evicted.iter_mut().find(|(t, _)| *t == old.tenant) {
                Some(mark) => mark.1 = old.id,
                None => self.evicted.push((old.tenant, old.id)),
            }
            if self.evicted.len() > MAX_EVICTED_TENANTS {
                // Forget the tenant evicted from longest ago; the watermark covers it.
                let oldest = (0..self.evicted.len()).min_by_key(|&i| self.evicted[i].1).unwrap_or(0);
                let (_, id) = self.evicted.swap_remove(oldest);
                self.forgotten = self.forgotten.max(id);
            }
        }
    }
}

/// Checks every `tenantId` and `metadata.tenantId` of the (already validated) object: each must
/// be `null` or name `tenant`. Returns whether one named it.
fn check_tenant(raw: &str, tenant: &str, max_depth: u8) -> Result<bool, PublishError> {
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

/// Copies valid JSON without the whitespace between tokens (string contents untouched).
fn compact_json(raw: &str, out: &mut Vec<u8>) {
    let (mut in_string, mut escaped) = (false, false);
    for &b in raw.as_bytes() {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
        } else if matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
            continue;
        } else if b == b'"' {
            in_string = true;
        }
        out.push(b);
    }
}

/// `s` as a JSON string: quotes, backslashes and control characters escaped.
fn push_json_string(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    for &b in s.as_bytes() {
        match b {
            b'"' | b'\\' => out.extend_from_slice(&[b'\\', b]),
            0..=0x1f => {
                out.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]])
            }
            _ => out.push(b),
        }
    }
    out.push(b'"');
}

fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// `1*DIGIT` that fits a `u64` (by hand: `str::parse` costs the wasm more).
pub fn parse_id(id: &str) -> Option<u64> {
    if id.is_empty() {
        return None;
    }
    id.bytes().try_fold(0u64, |n, b| match b {
        b'0'..=b'9' => n.checked_mul(10)?.checked_add(u64::from(b - b'0')),
        _ => None,
    })
}

/// The decimal text of an id.
pub fn id_string(id: u64) -> String {
    let mut out = Vec::with_capacity(20);
    push_decimal(&mut out, id);
    String::from_utf8(out).unwrap_or_default()
}

/// The id of a frame (`id: N\n…`).
fn id_text(frame: &[u8]) -> &str {
    let line = frame.get(4..).unwrap_or_default();
    let end = line.iter().position(|&b| b == b'\n').unwrap_or(0);
    std::str::from_utf8(line.get(..end).unwrap_or_default()).unwrap_or_default()
}

/// The shape [`Hub::publish`] writes: `id: <id>\nevent: <type>\ndata: <one line>\n\n`.
fn frame_is_sound(id: u64, frame: &[u8]) -> bool {
    let mut head = Vec::with_capacity(32);
    head.extend_from_slice(b"id: ");
    push_decimal(&mut head, id);
    head.extend_from_slice(b"\nevent: ");
    let Some(rest) = frame.strip_prefix(&head[..]).and_then(|rest| rest.strip_suffix(b"\n\n")) else {
        return false;
    };
    let Some(nl) = rest.iter().position(|&b| b == b'\n') else { return false };
    let (kind, data) = rest.split_at(nl);
    let kind_ok = std::str::from_utf8(kind).ok().and_then(super::schema::type_dot).is_some();
    let data = data.strip_prefix(b"\ndata: ").unwrap_or_default();
    kind_ok && !data.is_empty() && memchr::memchr2(b'\r', b'\n', data).is_none() && std::str::from_utf8(data).is_ok()
}

fn push_len(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(&u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes());
}

fn push_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    push_len(out, bytes.len());
    out.extend_from_slice(bytes);
}

/// `(last_id, forgotten, eviction marks)` out of a [`Hub::meta`].
fn read_meta(meta: &[u8]) -> Result<(u64, u64, Marks), MetaError> {
    let mut r = MetaReader { bytes: meta };
    if r.take(4)? != META_MAGIC {
        return Err(MetaError { what: "not a hub meta (bad magic)" });
    }
    let last_id = r.u64()?;
    let forgotten = r.u64()?;
    let count = r.u32()? as usize;
    if count > MAX_EVICTED_TENANTS {
        return Err(MetaError { what: "too many eviction marks" });
    }
    let mut evicted = Vec::with_capacity(count);
    for _ in 0..count {
        let tenant: Box<str> = r.str()?.into();
        let id = r.u64()?;
        if id > last_id {
            return Err(MetaError { what: "an eviction mark above the last id" });
        }
        evicted.push((tenant, id));
    }
    if !r.bytes.is_empty() {
        return Err(MetaError { what: "trailing bytes" });
    }
    Ok((last_id, forgotten.min(last_id), evicted))
}

struct MetaReader<'a> {
    bytes: &'a [u8],
}

impl<'a> MetaReader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], MetaError> {
        if self.bytes.len() < n {
            return Err(MetaError { what: "truncated" });
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    fn u32(&mut self) -> Result<u32, MetaError> {
        let mut word = [0; 4];
        word.copy_from_slice(self.take(4)?);
        Ok(u32::from_le_bytes(word))
    }

    fn u64(&mut self) -> Result<u64, MetaError> {
        let mut word = [0; 8];
        word.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(word))
    }

    fn bytes(&mut self) -> Result<&'a [u8], MetaError> {
        let n = self.u32()? as usize;
        self.take(n)
    }

    fn str(&mut self) -> Result<&'a str, MetaError> {
        std::str::from_utf8(self.bytes()?).map_err(|_| MetaError { what: "a tenant is not UTF-8" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals() {
        for n in [0, 7, 10, 12345, u64::MAX] {
            let mut out = Vec::new();
            push_decimal(&mut out, n);
            assert_eq!(out, n.to_string().as_bytes());
        }
    }

    #[test]
    fn json_strings_escape() {
        let mut out = Vec::new();
        push_json_string(&mut out, "a\"b\\c\nd\u{1}é");
        assert_eq!(String::from_utf8(out).unwrap(), r#""a\"b\\c\u000ad\u0001é""#);
    }
}
