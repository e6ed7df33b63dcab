//! `SseParser`: the sans-IO SSE parser for JS, with the events of a chunk batched into one
//! boundary crossing.
//!
//! ```js
//! import init, { SseParser } from 'edgesaga';
//! await init();
//! const parser = new SseParser({ maxLineBytes: 64 * 1024, onError: (e) => console.warn(e.kind, e.limit) });
//! for await (const chunk of response.body) {
//!   for (const { type, data, lastEventId } of parser.feed(chunk)) handle(type, data, lastEventId);
//! }
//! parser.end();
//! ```
//!
//! One `feed` is one call into wasm, whatever the number of events. The `feed` JS sees is
//! `sse_glue.js`'s (installed on the class by the crate's start function): it copies the chunk
//! (bytes, or a string encoded with `encodeInto`) straight into the parser's reused input
//! buffer in wasm memory, calls [`SseParser::parse_input`], which parses it into a [`Batch`]
//! and answers where the batch lies, and builds the events itself. (The Rust `feed` below does
//! the same in three crossings; it serves hosts that skip the start function, like the wasm
//! test runner.) A [`Batch`] is one UTF-8 buffer with
//! every string of the chunk plus a `u32` word list of flags and byte lengths; the glue then
//! decodes that buffer with a single `TextDecoder` call and slices it into event objects
//! (converting lengths to UTF-16 only when the text is not ASCII). Event types are sent once
//! and then named by index, and the last event ID only when it changes, so the glue reuses
//! their JS strings. The glue reads wasm memory through views it renews only when it grows.

use js_sys::Array;
use wasm_bindgen::prelude::*;

use super::types::SseParserOptions;
use crate::notify::parser::batch::{Batch, RELEASE_ABOVE_BYTES};
use crate::notify::parser::{Limits, SseParser as Core};

/// Raw bindings to `sse_glue.js`.
mod glue {
    use js_sys::Array;
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen(module = "/src/js/sse_glue.js")]
    extern "C" {
        /// Holds the options and the strings last sent; turns a batch into event objects and
        /// reports protocol errors to `onError`.
        pub type SseSink;
        /// Throws a `TypeError` naming the option that is invalid.
        #[wasm_bindgen(constructor, catch)]
        pub fn new(options: &JsValue, memory: &JsValue) -> Result<SseSink, JsValue>;
        /// NaN when not given.
        #[wasm_bindgen(method, getter, js_name = maxLineBytes)]
        pub fn max_line_bytes(this: &SseSink) -> f64;
        #[wasm_bindgen(method, getter, js_name = maxEventBytes)]
        pub fn max_event_bytes(this: &SseSink) -> f64;
        /// Copies a chunk into wasm memory at `ptr` if it fits in `cap` bytes: the length
        /// written, or minus the room needed, or NaN for a chunk neither bytes nor a string.
        #[wasm_bindgen(method)]
        pub fn input(this: &SseSink, chunk: &JsValue, ptr: u32, cap: u32) -> f64;
        /// The events of a batch: `len` bytes of text at `text`, `count` words at `meta`.
        #[wasm_bindgen(method)]
        pub fn build(this: &SseSink, text: u32, len: u32, meta: u32, count: u32) -> Array;
        /// The `TypeError` for a chunk that is neither bytes nor a string.
        #[wasm_bindgen(js_name = badChunk)]
        pub fn bad_chunk(chunk: &JsValue) -> JsValue;
        /// Replaces `SseParser.prototype.feed` with the one-crossing version (see the module docs).
        #[wasm_bindgen(js_name = installFastFeed)]
        pub fn install_fast_feed(instance: &JsValue);
    }
}

/// Incremental, spec-exact Server-Sent Events parser: feed it the bytes (or text) of a stream
/// as they arrive; any chunking yields the same events.
#[wasm_bindgen]
pub struct SseParser {
    core: Core,
    batch: Batch,
    sink: glue::SseSink,
    /// Where the glue copies each chunk; reused, so a feed does not allocate.
    input: Vec<u8>,
    /// What `parseInput` tells the glue: the batch (text, its length, meta, word count) and the
    /// input buffer (pointer, capacity), read straight from wasm memory.
    header: [u32; 6],
}

#[wasm_bindgen]
impl SseParser {
    /// `new SseParser({ maxLineBytes?, maxEventBytes?, onError? })`. Throws a `TypeError` naming
    /// the option when one is not a positive integer (or `onError` not a function).
    #[wasm_bindgen(constructor)]
    pub fn new(options: Option<SseParserOptions>) -> Result<SseParser, JsValue> {
        let options = options.map_or(JsValue::UNDEFINED, Into::into);
        let sink = glue::SseSink::new(&options, &wasm_bindgen::memory())?;
        let defaults = Limits::default();
        // Positive integers or NaN, checked by the glue; `as` saturates a huge one.
        let limit = |n: f64, default: usize| if n.is_nan() { default } else { n as usize };
        let limits = Limits {
            max_line_bytes: limit(sink.max_line_bytes(), defaults.max_line_bytes),
            max_event_bytes: limit(sink.max_event_bytes(), defaults.max_event_bytes),
        };
        Ok(SseParser { core: Core::new(limits), batch: Batch::new(), sink, input: Vec::new(), header: [0; 6] })
    }

    /// Parses the next chunk (bytes, or text already decoded) and returns the events it
    /// completed, in order. Limit violations go to `onError` and `protocolErrors`.
    #[wasm_bindgen(unchecked_return_type = "SseEvent[]")]
    pub fn feed(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array | string")] chunk: JsValue,
    ) -> Result<Array, JsValue> {
        // The glue copies the chunk straight into `input`, growing it once when it is too small.
        let mut n = self.sink.input(&chunk, self.input.as_mut_ptr() as u32, self.input.len() as u32);
        if n < 0.0 {
            self.input.resize(-n as usize, 0);
            n = self.sink.input(&chunk, self.input.as_mut_ptr() as u32, self.input.len() as u32);
        }
        if n.is_nan() {
            return Err(glue::bad_chunk(&chunk));
        }
        self.batch.clear(); // what a fast feed left was read already
        self.core.feed_batch(&self.input[..n as usize], &mut self.batch);
        if self.input.len() > RELEASE_ABOVE_BYTES {
            self.input = Vec::new();
        }
        Ok(self.flush())
    }

    /// The fast `feed`'s half in wasm: makes room for `len` bytes of input; returns where.
    #[wasm_bindgen(js_name = reserveInput, skip_typescript)]
    pub fn reserve_input(&mut self, len: u32) -> u32 {
        let len = len as usize;
        if self.input.len() < len {
            // Geometric growth, so chunks growing a little at a time cost few extra crossings.
            let doubled = (self.input.len() * 2).min(RELEASE_ABOVE_BYTES);
            self.input.resize(len.max(doubled), 0);
        }
        self.input.as_mut_ptr() as u32
    }

    /// The fast `feed`'s half in wasm: parses the `len` bytes the glue copied into the input
    /// buffer and returns the address of [`header`](Self::header), from which the glue builds
    /// the events — one crossing per chunk, where `feed` takes three.
    #[wasm_bindgen(js_name = parseInput, skip_typescript)]
    pub fn parse_input(&mut self, len: u32) -> u32 {
        // The previous chunk's batch was read by the glue when this call returned.
        self.batch.clear();
        let n = (len as usize).min(self.input.len());
        self.core.feed_batch(&self.input[..n], &mut self.batch);
        if self.input.len() > RELEASE_ABOVE_BYTES {
            self.input = Vec::new();
        }
        let (text, meta) = (self.batch.text(), self.batch.meta());
        self.header = [
            text.as_ptr() as u32,
            text.len() as u32,
            meta.as_ptr() as u32,
            meta.len() as u32,
            self.input.as_mut_ptr() as u32,
            self.input.len() as u32,
        ];
        self.header.as_ptr() as u32
    }

    /// The glue object the fast `feed` builds events with.
    #[wasm_bindgen(js_name = sinkRef, skip_typescript)]
    pub fn sink_ref(&self) -> JsValue {
        self.sink.clone()
    }

    /// Ends the stream: returns the events still pending and discards an incomplete one. The
    /// parser is then ready for a new stream and keeps `lastEventId` and `retry`.
    #[wasm_bindgen(unchecked_return_type = "SseEvent[]")]
    pub fn end(&mut self) -> Array {
        // The fast feed leaves its batch for the glue to read; it is not this call's.
        self.batch.clear();
        self.core.end(&mut self.batch);
        self.flush()
    }

    /// The last event ID, committed when a blank line ends a block.
    #[wasm_bindgen(getter, js_name = lastEventId)]
    pub fn last_event_id(&self) -> String {
        self.core.last_event_id().to_owned()
    }

    /// The last valid `retry` value in milliseconds, or `undefined`.
    #[wasm_bindgen(getter)]
    pub fn retry(&self) -> Option<f64> {
        self.core.retry().map(|ms| ms as f64)
    }

    /// How many events were dropped for going over `maxLineBytes` or `maxEventBytes`.
    #[wasm_bindgen(getter, js_name = protocolErrors)]
    pub fn protocol_errors(&self) -> f64 {
        self.batch.errors() as f64
    }

    fn flush(&mut self) -> Array {
        let batch = &mut self.batch;
        let (text, meta) = (batch.text(), batch.meta());
        let events = self.sink.build(text.as_ptr() as u32, text.len() as u32, meta.as_ptr() as u32, meta.len() as u32);
        batch.clear();
        events
    }
}

/// Installs the one-crossing `feed` on the class (from the crate's start function).
pub fn install_fast_feed() {
    if let Ok(instance) = SseParser::new(None) {
        glue::install_fast_feed(&JsValue::from(instance));
    }
}
