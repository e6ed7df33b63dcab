//! Raw bindings to `stream_glue.js`.

use js_sys::{Array, Function, Object, Promise};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/src/js/stream_glue.js")]
extern "C" {
    /// `[status, contentType, reader | null]`
    #[wasm_bindgen(js_name = openFetch)]
    pub fn open_fetch(
        url: &str,
        method: Option<String>,
        headers: &JsValue,
        body: Option<String>,
        credentials: Option<String>,
        last_event_id: &str,
        signal: &web_sys::AbortSignal,
        fetch: &JsValue,
    ) -> Promise;
    /// A `Uint8Array`, or `null` at the end of the body.
    #[wasm_bindgen(js_name = readChunk)]
    pub fn read_chunk(reader: &JsValue) -> Promise;
    #[wasm_bindgen(js_name = cancelReader)]
    pub fn cancel_reader(reader: &JsValue);
    #[wasm_bindgen(js_name = resolveHeaders)]
    pub fn resolve_headers(headers: &JsValue) -> Promise;
    #[wasm_bindgen(js_name = openEventSource)]
    pub fn open_event_source(
        url: &str,
        with_credentials: bool,
        on_event: &Function,
        on_open: &Function,
        on_error: &Function,
        event_types: &Array,
    ) -> EventSource;
    #[wasm_bindgen(js_name = hasEventSource)]
    pub fn has_event_source() -> bool;
    /// Returns a function that removes the listeners.
    #[wasm_bindgen(js_name = watchPage)]
    pub fn watch_page(
        on_hidden: Option<Function>,
        on_visible: Option<Function>,
        on_online: Option<Function>,
    ) -> Function;
    /// `document.visibilityState === 'hidden'`; `false` where there is no document.
    #[wasm_bindgen(js_name = pageHidden)]
    pub fn page_hidden() -> bool;
    /// `[options, null]` or `[null, [field, reason]]`.
    #[wasm_bindgen(js_name = readStreamOptions)]
    pub fn read_stream_options(url: &JsValue, options: &JsValue) -> Array;

    /// The browser's `EventSource`.
    pub type EventSource;
    #[wasm_bindgen(method)]
    pub fn close(this: &EventSource);
}

/// A plain JS object, for reading options.
pub fn get(object: &Object, key: &str) -> JsValue {
    js_sys::Reflect::get(object, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

#[wasm_bindgen(module = "/src/js/stream_glue.js")]
extern "C" {
    /// A bounded async-iterator queue.
    #[derive(Clone)]
    pub type NotificationQueue;
    #[wasm_bindgen(constructor)]
    pub fn new(limit: u32) -> NotificationQueue;
    /// `null` when queued, else a promise resolved when there is room.
    #[wasm_bindgen(method)]
    pub fn offer(this: &NotificationQueue, value: &JsValue) -> JsValue;
    #[wasm_bindgen(method)]
    pub fn close(this: &NotificationQueue);
    #[wasm_bindgen(method, getter)]
    pub fn done(this: &NotificationQueue) -> bool;

    #[wasm_bindgen(js_name = installAsyncIterator)]
    pub fn install_async_iterator(instance: &JsValue);
    #[wasm_bindgen(js_name = makeNotification)]
    pub fn make_notification(
        raw: &str,
        id: Option<String>,
        kind: &str,
        dot: u32,
        entity_id: Option<String>,
        form: u8,
    ) -> JsValue;
    /// `[state, value]`: 0 returned, 1 pending (value is a promise), 2 threw.
    #[wasm_bindgen(js_name = callHandler)]
    pub fn call_handler(handler: &Function, notification: &JsValue) -> Array;
    #[wasm_bindgen(js_name = callStore)]
    pub fn call_store(store: &Object, method: &str, key: &str, value: &str) -> Promise;
}
