// Shared by wasm_node.rs and wasm_browser.rs: the same JS scenarios in Node and in Chromium.
use edgesaga::js::TransactionCoordinator;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen(module = "/tests/wasm/adapters.js")]
extern "C" {
    #[wasm_bindgen(catch, js_name = syncAndAsyncSteps)]
    async fn sync_and_async_steps(c: TransactionCoordinator) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch, js_name = thrownNonErrors)]
    async fn thrown_non_errors(c: TransactionCoordinator) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch, js_name = retriesAndNonRetryable)]
    async fn retries_and_non_retryable(c: TransactionCoordinator) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch, js_name = timeoutsWithRealTimers)]
    async fn timeouts_with_real_timers(c: TransactionCoordinator) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch, js_name = abortSignalCancels)]
    async fn abort_signal_cancels(c: TransactionCoordinator) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch, js_name = invalidDefinitionsRunNothing)]
    async fn invalid_definitions_run_nothing(c: TransactionCoordinator) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch, js_name = versionCheckAndCompensationFailures)]
    async fn version_check_and_compensation_failures(c: TransactionCoordinator) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch, js_name = eventsAndInternalChannel)]
    async fn events_and_internal_channel(c: TransactionCoordinator) -> Result<JsValue, JsValue>;
}

fn coordinator() -> TransactionCoordinator {
    TransactionCoordinator::new(None).expect("a coordinator without options")
}

#[wasm_bindgen_test]
async fn sync_async_and_thenable_steps_commit() {
    check(sync_and_async_steps(coordinator()).await);
}

#[wasm_bindgen_test]
async fn thrown_non_errors_are_reported() {
    check(thrown_non_errors(coordinator()).await);
}

#[wasm_bindgen_test]
async fn retries_honour_retryable_and_non_retryable() {
    check(retries_and_non_retryable(coordinator()).await);
}

#[wasm_bindgen_test]
async fn timeouts_abort_the_attempt_signal() {
    check(timeouts_with_real_timers(coordinator()).await);
}

#[wasm_bindgen_test]
async fn abort_signal_cancels_and_compensates() {
    check(abort_signal_cancels(coordinator()).await);
}

#[wasm_bindgen_test]
async fn invalid_definitions_are_rejected_before_running() {
    check(invalid_definitions_run_nothing(coordinator()).await);
}

#[wasm_bindgen_test]
async fn version_checks_and_compensation_failures() {
    check(version_check_and_compensation_failures(coordinator()).await);
}

#[wasm_bindgen_test]
async fn events_reach_listeners_and_checkpoints_only_the_journal() {
    check(events_and_internal_channel(coordinator()).await);
}
