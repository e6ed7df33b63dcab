//! The JS adapters and SseParser under Node (wasm-bindgen-test-runner's default).
#![cfg(target_arch = "wasm32")]

include!("wasm/check.rs");
include!("wasm/adapters.rs");
include!("wasm/sse.rs");
