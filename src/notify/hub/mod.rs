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

mod frame;
mod meta;
mod validate;

pub use frame::{id_string, parse_id, GAP_FRAME, HEARTBEAT_FRAME};
pub use meta::MetaError;
pub use validate::PublishError;

use std::collections::VecDeque;

use super::notification::{Notification, NotificationSchemaError, SchemaErrorReason, SchemaOptions};
use crate::json::JsonError;
use frame::{compact_json, id_text, push_decimal, push_json_string};
use validate::check_tenant;

/// Default [`HubOptions::max_events`].
pub const DEFAULT_MAX_EVENTS: usize = 1000;
/// Default [`HubOptions::max_bytes`]: 1 MiB.
pub const DEFAULT_MAX_BYTES: usize = 1 << 20;
/// What each buffered event counts towards `max_bytes` on top of its frame and tenant.
pub const EVENT_OVERHEAD: usize = 32;

/// Tenants whose last evicted id is remembered individually; beyond, a shared watermark (which
/// may report a gap that did not happen, never miss one).
const MAX_EVICTED_TENANTS: usize = 1024;

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
