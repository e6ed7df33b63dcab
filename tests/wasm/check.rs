// Shared by wasm_node.rs and wasm_browser.rs, for adapters.rs and sse.rs: the JS scenarios
// report a failure by throwing, and a test that fails must show the JS stack, not `JsValue(…)`.

/// Fails the test with the JS error's message and stack.
fn check(outcome: Result<wasm_bindgen::JsValue, wasm_bindgen::JsValue>) {
    if let Err(e) = outcome {
        let stack = js_sys::Reflect::get(&e, &"stack".into()).ok().and_then(|s| s.as_string());
        panic!("{}", stack.unwrap_or_else(|| format!("{e:?}")));
    }
}
