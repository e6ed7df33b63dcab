//! `NotificationStream` options, read once (their JS types were checked by the glue).

use js_sys::{Function, Object};
use wasm_bindgen::{JsCast, JsValue};

use super::sys::get;
use crate::notify::parser::Limits;

/// Which transport carries the stream.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// `fetch` + a body reader: headers, POST, Workers and Node.
    Fetch,
    /// The browser's `EventSource` (opt-in).
    EventSource,
}

/// Everything a stream was configured with, defaults applied.
pub struct Options {
    pub url: String,
    pub transport: Transport,
    pub method: Option<String>,
    pub body: Option<String>,
    pub credentials: Option<String>,
    /// An object, a provider function, or undefined.
    pub headers: JsValue,
    /// The `fetch` to connect with (a Durable Object stub's, a service binding's), or undefined.
    pub fetch: JsValue,
    pub signal: Option<web_sys::AbortSignal>,
    pub last_event_id: Option<String>,
    pub store: Option<Object>,
    pub store_key: String,
    /// Also keep the recent notifications in the store (`storeRecent`).
    pub store_recent: bool,
    /// 0 disables the watchdog.
    pub heartbeat_timeout_ms: u64,
    pub initial_delay_ms: u64,
    pub max_delay_ms: u64,
    pub healthy_after_ms: u64,
    pub dedupe_window: usize,
    pub dead_letter_limit: usize,
    pub recent_window_ms: u64,
    pub buffer_size: usize,
    pub limits: Limits,
    pub supported_major_version: u32,
    pub handler_attempts: u32,
    pub handler_delay_ms: u64,
    pub tenant_id: Option<String>,
    pub entity_id: Option<String>,
    pub pause_when_hidden: bool,
    pub reconnect_on_online: bool,
    pub on_state_change: Option<Function>,
    pub on_error: Option<Function>,
    pub event_types: Vec<String>,
}

fn number(o: &Object, key: &str, default: u64) -> u64 {
    get(o, key).as_f64().map_or(default, |v| v as u64)
}

fn string(o: &Object, key: &str) -> Option<String> {
    get(o, key).as_string()
}

fn group(o: &Object, key: &str) -> Object {
    let g = get(o, key);
    if g.is_object() {
        g.unchecked_into()
    } else {
        Object::new()
    }
}

impl Options {
    /// `o` is the glue's normalized object.
    pub fn read(o: &Object) -> Options {
        let url = string(o, "url").unwrap_or_default();
        let reconnect = group(o, "reconnect");
        let handler_retry = group(o, "handlerRetry");
        let filter = group(o, "filter");
        let defaults = Limits::default();
        Options {
            transport: if string(o, "transport").as_deref() == Some("eventsource") {
                Transport::EventSource
            } else {
                Transport::Fetch
            },
            method: string(o, "method"),
            body: string(o, "body"),
            credentials: string(o, "credentials"),
            headers: get(o, "headers"),
            fetch: get(o, "fetch"),
            signal: get(o, "signal").dyn_into().ok(),
            last_event_id: string(o, "lastEventId"),
            store: Some(get(o, "store")).filter(JsValue::is_object).map(JsCast::unchecked_into),
            store_key: string(o, "storeKey").unwrap_or_else(|| format!("edgesaga:lastEventId:{url}")),
            store_recent: get(o, "storeRecent").as_bool().unwrap_or(false),
            heartbeat_timeout_ms: number(o, "heartbeatTimeoutMs", 45_000),
            initial_delay_ms: number(&reconnect, "initialDelayMs", 1_000),
            max_delay_ms: number(&reconnect, "maxDelayMs", 30_000),
            healthy_after_ms: number(&reconnect, "healthyAfterMs", 30_000),
            dedupe_window: number(o, "dedupeWindow", 1_000) as usize,
            dead_letter_limit: number(o, "deadLetterLimit", 100) as usize,
            recent_window_ms: number(o, "recentWindowMs", 5_000),
            buffer_size: number(o, "bufferSize", 1_000) as usize,
            limits: Limits {
                max_line_bytes: number(o, "maxLineBytes", defaults.max_line_bytes as u64) as usize,
                max_event_bytes: number(o, "maxEventBytes", defaults.max_event_bytes as u64) as usize,
            },
            supported_major_version: number(o, "supportedMajorVersion", 1) as u32,
            handler_attempts: number(&handler_retry, "maxAttempts", 3).max(1) as u32,
            handler_delay_ms: number(&handler_retry, "delayMs", 100),
            tenant_id: string(&filter, "tenantId"),
            entity_id: string(&filter, "entityId"),
            pause_when_hidden: get(o, "pauseWhenHidden").as_bool().unwrap_or(false),
            reconnect_on_online: get(o, "reconnectOnOnline").as_bool().unwrap_or(false),
            on_state_change: get(o, "onStateChange").dyn_into().ok(),
            on_error: get(o, "onError").dyn_into().ok(),
            event_types: match get(o, "eventTypes").dyn_into::<js_sys::Array>() {
                Ok(types) => types.iter().filter_map(|t| t.as_string()).collect(),
                Err(_) => Vec::new(),
            },
            url,
        }
    }
}
