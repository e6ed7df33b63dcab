//! `NotificationHub`: the server half of notifications for JS hosts (a Durable Object), over the
//! pure [`notify::hub`](crate::notify::hub) buffer.
//!
//! ```js
//! import { NotificationHub } from 'edgesaga';
//! const hub = new NotificationHub({ maxEvents: 1000, maxBytes: 1 << 20 });
//! const { id, frame, evicted } = hub.publish('acme', '{"type":"order.paid","entityId":"o-1"}');
//! storage.put({ [key(id)]: { tenant: 'acme', frame }, meta: hub.meta() }); // one value per event
//! storage.delete(Array.from(evicted, key));                  // what the publish pushed out
//! for (const s of subscribersOf('acme')) s.write(frame);     // frame: Uint8Array, one SSE event
//! const { frames, gap } = hub.replay('acme', lastEventId);    // what a reconnecting client missed
//! // On start: the meta and the events, in id order; delete the values it did not keep.
//! const dropped = hub.restore(await storage.get('meta'), values);
//! ```
//!
//! Frames cross as bytes (one copy each way, no JSON, no `format!`); only errors build strings.

use js_sys::{Array, ArrayBuffer, Float64Array, Object, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::error::Error;
use super::sys;
use crate::notify::hub::{id_string, parse_id, Hub, HubOptions, PublishError, GAP_FRAME, HEARTBEAT_FRAME};

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
export interface NotificationHubOptions {
  /** Events kept for replay, all tenants together (a positive integer; default 1000). */
  maxEvents?: number;
  /** Bytes kept for replay, all tenants together (a positive integer; default 1 MiB). Each event
   *  counts its frame, its tenant and 32 bytes. A notification larger than this is refused. */
  maxBytes?: number;
}

export interface HubPublished {
  /** The notification's id: the decimal text of an integer one above the previous one. */
  id: string;
  /** Its SSE frame, `id: …\nevent: <type>\ndata: <one-line JSON>\n\n`, for the tenant's live subscribers. */
  frame: Uint8Array;
  /** The ids of the events this publish evicted, oldest first (a host storing events deletes them). */
  evicted: Float64Array;
}

/** One stored event, as `restore` reads it back: the publisher's tenant and the frame. */
export interface HubStoredEvent {
  tenant: string;
  frame: Uint8Array | ArrayBuffer;
}

export interface HubReplay {
  /** The tenant's frames after the id, back to back. */
  frames: Uint8Array;
  /** Some notifications after the id may be missing (evicted, or the id was unknown or garbage). */
  gap: boolean;
}

export type NotificationSchemaErrorReason =
  | 'malformed_json' | 'not_an_object' | 'missing_type' | 'invalid_type' | 'invalid_version'
  | 'incompatible_version' | 'invalid_field' | 'tenant_mismatch' | 'too_large';

/** A notification the hub refused (a stream would have dead-lettered it, or it breaks a hub rule). */
export interface NotificationSchemaError extends Error {
  name: 'NotificationSchemaError';
  reason: NotificationSchemaErrorReason;
  /** The offending field as a dotted path (`type`, `eventType`, `data.id`, `metadata.tenantId`), or null. */
  field: string | null;
}
"#;

#[wasm_bindgen]
extern "C" {
    /// `NotificationHubOptions`
    #[wasm_bindgen(typescript_type = "NotificationHubOptions")]
    pub type NotificationHubOptions;
}

/// A bounded, per-tenant replay buffer of SSE frames, for a notification hub (a Durable Object).
#[wasm_bindgen]
pub struct NotificationHub {
    core: Hub,
}

#[wasm_bindgen]
impl NotificationHub {
    /// `new NotificationHub({ maxEvents?, maxBytes? })`. Throws a `TypeError` naming the option
    /// when one is not a positive integer.
    #[wasm_bindgen(constructor)]
    pub fn new(options: Option<NotificationHubOptions>) -> Result<NotificationHub, JsValue> {
        let mut hub = HubOptions::default();
        if let Some(options) = options.map(JsValue::from).filter(|o| !o.is_undefined() && !o.is_null()) {
            if !options.is_object() {
                return Err(invalid("options", "must be an object"));
            }
            hub.max_events = positive(&options, "maxEvents", hub.max_events)?;
            hub.max_bytes = positive(&options, "maxBytes", hub.max_bytes)?;
        }
        Ok(NotificationHub { core: Hub::new(hub) })
    }

    /// Validates a notification (JSON text) for `tenant`, gives it the next id and buffers it.
    /// Throws a `NotificationSchemaError` (with `reason` and `field`) when it is refused.
    #[wasm_bindgen(unchecked_return_type = "HubPublished")]
    pub fn publish(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "string")] tenant: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] text: JsValue,
    ) -> Result<Object, JsValue> {
        let tenant = tenant_of(&tenant)?;
        let Some(text) = text.as_string() else { return Err(invalid("text", "must be a string")) };
        let published = self.core.publish(&tenant, text).map_err(schema_error)?;
        let out = Object::new();
        set(&out, "id", &published.id_text().into());
        set(&out, "frame", &Uint8Array::from(published.frame));
        let evicted = Float64Array::new_with_length(published.evicted.len() as u32);
        for (at, &id) in published.evicted.iter().enumerate() {
            evicted.set_index(at as u32, id as f64);
        }
        set(&out, "evicted", &evicted);
        Ok(out)
    }

    /// The frames of `tenant` after `lastEventId` (all buffered when it is absent), and whether
    /// some may be missing.
    #[wasm_bindgen(unchecked_return_type = "HubReplay")]
    pub fn replay(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] tenant: JsValue,
        #[wasm_bindgen(js_name = lastEventId)] last_event_id: Option<String>,
    ) -> Result<Object, JsValue> {
        let tenant = tenant_of(&tenant)?;
        let replay = self.core.replay(&tenant, last_event_id.as_deref());
        let frames = Uint8Array::new_with_length(replay.frames.iter().map(|f| f.len() as u32).sum());
        let mut at = 0;
        for frame in &replay.frames {
            frames.subarray(at, at + frame.len() as u32).copy_from(frame);
            at += frame.len() as u32;
        }
        let out = Object::new();
        set(&out, "frames", &frames);
        set(&out, "gap", &replay.gap.into());
        Ok(out)
    }

    /// The id counter and eviction marks (a few dozen bytes), to store with every publish.
    pub fn meta(&self) -> Vec<u8> {
        self.core.meta()
    }

    /// Replaces the state with a stored one: the `meta` (`Uint8Array` or `ArrayBuffer`; `null` or
    /// `undefined` when there is none) and the stored events `{ tenant, frame }`, oldest first.
    /// Returns the positions in `events` of those not kept (beyond the bounds, unreadable), for
    /// the host to delete. Throws a `HubMetaError` and changes nothing when the meta is
    /// unreadable (restore again without it).
    #[wasm_bindgen(unchecked_return_type = "Uint32Array")]
    pub fn restore(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array | ArrayBuffer | null | undefined")] meta: JsValue,
        #[wasm_bindgen(unchecked_param_type = "HubStoredEvent[]")] events: Array,
    ) -> Result<Vec<usize>, JsValue> {
        let meta = if meta.is_undefined() || meta.is_null() {
            None
        } else {
            Some(bytes_of(&meta).ok_or_else(|| invalid("meta", "must be a Uint8Array or an ArrayBuffer"))?)
        };
        let items = events.iter().map(|event| {
            let field = |key: &str| Reflect::get(&event, &JsValue::from_str(key)).ok();
            let tenant = field("tenant")?.as_string()?;
            Some((tenant, bytes_of(&field("frame")?)?))
        });
        self.core.restore(meta.as_deref(), items).map_err(|e| {
            sys::make_error("HubMetaError", &e.to_string(), &JsValue::UNDEFINED, &JsValue::UNDEFINED, false)
        })
    }

    /// Raises the id counter to at least `lastId` (a decimal string): for a host that lost its
    /// events but kept the counter, so that no id is ever issued twice (a replay after an older
    /// id is flagged as a gap).
    #[wasm_bindgen(js_name = restoreCounter)]
    pub fn restore_counter(&mut self, #[wasm_bindgen(js_name = lastId)] last_id: &str) -> Result<(), JsValue> {
        let id = parse_id(last_id).ok_or_else(|| invalid("lastId", "must be the decimal text of an id"))?;
        self.core.restore_counter(id);
        Ok(())
    }

    /// The last id issued (`'0'` before the first).
    #[wasm_bindgen(getter, js_name = lastId)]
    pub fn last_id(&self) -> String {
        id_string(self.core.last_id())
    }

    /// Events buffered.
    #[wasm_bindgen(getter)]
    pub fn size(&self) -> u32 {
        self.core.len() as u32
    }

    /// Bytes buffered, as counted against `maxBytes`.
    #[wasm_bindgen(getter)]
    pub fn bytes(&self) -> f64 {
        self.core.bytes() as f64
    }

    /// `: heartbeat\n\n`, an SSE comment to send on idle streams.
    #[wasm_bindgen(js_name = heartbeatFrame)]
    pub fn heartbeat_frame() -> Vec<u8> {
        HEARTBEAT_FRAME.to_vec()
    }

    /// The `hub.gap` event (no id) to send before a replay whose `gap` is set.
    #[wasm_bindgen(js_name = gapFrame)]
    pub fn gap_frame() -> Vec<u8> {
        GAP_FRAME.to_vec()
    }
}

/// The bytes of a `Uint8Array` or an `ArrayBuffer`.
fn bytes_of(value: &JsValue) -> Option<Vec<u8>> {
    if let Some(bytes) = value.dyn_ref::<Uint8Array>() {
        Some(bytes.to_vec())
    } else {
        value.dyn_ref::<ArrayBuffer>().map(|buffer| Uint8Array::new(buffer).to_vec())
    }
}

fn set(object: &JsValue, key: &str, value: &JsValue) {
    let _ = Reflect::set(object, &JsValue::from_str(key), value);
}

fn invalid(field: &str, reason: &str) -> JsValue {
    Error::InvalidArgument { field: field.into(), reason: reason.into() }.into()
}

fn tenant_of(tenant: &JsValue) -> Result<String, JsValue> {
    match tenant.as_string() {
        Some(tenant) if !tenant.is_empty() => Ok(tenant),
        _ => Err(invalid("tenant", "must be a non-empty string")),
    }
}

fn positive(options: &JsValue, key: &str, default: usize) -> Result<usize, JsValue> {
    let value = Reflect::get(options, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED);
    if value.is_undefined() || value.is_null() {
        return Ok(default);
    }
    match value.as_f64() {
        Some(n) if n >= 1.0 && n.fract() == 0.0 && n <= 9_007_199_254_740_991.0 => Ok(n as usize),
        _ => Err(invalid(&["options.", key].concat(), "must be a positive integer")),
    }
}

fn schema_error(e: PublishError) -> JsValue {
    let error = sys::make_error(e.error_name(), &e.to_string(), &JsValue::UNDEFINED, &JsValue::UNDEFINED, false);
    set(&error, "reason", &e.code().into());
    set(&error, "field", &e.field().map_or(JsValue::NULL, JsValue::from_str));
    error
}
