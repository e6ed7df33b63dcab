// Shared by wasm_node.rs and wasm_browser.rs: `SseParser` through its JS API, in Node and in
// Chromium. A module of its own, so its names never clash with the other included files.
mod sse {
    use super::check;
    use edgesaga::js::SseParser;
    use wasm_bindgen::prelude::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen(module = "/tests/wasm/sse.js")]
    extern "C" {
        #[wasm_bindgen(catch, js_name = sseVectorsEveryChunking)]
        fn vectors_every_chunking(parser: SseParser, json: &str) -> Result<JsValue, JsValue>;
        #[wasm_bindgen(catch, js_name = sseBatchesAndStrings)]
        fn batches_and_strings(parser: SseParser) -> Result<JsValue, JsValue>;
        #[wasm_bindgen(catch, js_name = sseLimitsReportAndResume)]
        fn limits_report_and_resume(parser: SseParser) -> Result<JsValue, JsValue>;
        #[wasm_bindgen(catch, js_name = sseOptionsValidated)]
        fn options_validated(parser: SseParser) -> Result<JsValue, JsValue>;
        #[wasm_bindgen(catch, js_name = sseEndAndState)]
        fn end_and_state(parser: SseParser) -> Result<JsValue, JsValue>;
    }

    /// The JS tests build their own parsers through `parser.constructor`.
    fn parser() -> SseParser {
        SseParser::new(None).expect("a parser without options")
    }

    #[wasm_bindgen_test]
    fn sse_vectors_hold_at_every_split_byte_by_byte_and_as_strings() {
        check(vectors_every_chunking(parser(), include_str!("../fixtures/sse-vectors.json")));
    }

    #[wasm_bindgen_test]
    fn sse_batches_keep_utf16_offsets_types_and_ids() {
        check(batches_and_strings(parser()));
    }

    #[wasm_bindgen_test]
    fn sse_limits_report_protocol_errors_and_parsing_resumes() {
        check(limits_report_and_resume(parser()));
    }

    #[wasm_bindgen_test]
    fn sse_options_and_chunks_are_validated() {
        check(options_validated(parser()));
    }

    #[wasm_bindgen_test]
    fn sse_end_discards_the_incomplete_event_and_keeps_state() {
        check(end_and_state(parser()));
    }
}
