//! `AbortListener`: runs a callback once when an `AbortSignal` aborts; removed on drop (RAII,
//! no leaked closure).
//!
//! Not `gloo_events::EventListener`: that always passes `{ passive }` in the listener options,
//! which workerd's `EventTarget` rejects (cloudflare/workerd#4528) — a signal given to a
//! transaction or a stream inside a Worker made the call throw.
//!
//! ```ignore
//! let listener = AbortListener::once(&signal, move || token.abort(FailureKind::Aborted));
//! drop(listener); // no longer listening
//! ```

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::AbortSignal;

/// Listens for `abort` on a signal until dropped.
pub struct AbortListener {
    signal: AbortSignal,
    callback: Closure<dyn FnMut()>,
}

impl AbortListener {
    /// Calls `f` the first time `signal` aborts (not if it already has: check `aborted()` first).
    pub fn once(signal: &AbortSignal, f: impl FnOnce() + 'static) -> AbortListener {
        let mut f = Some(f);
        let callback = Closure::<dyn FnMut()>::new(move || {
            if let Some(f) = f.take() {
                f();
            }
        });
        // Plain (signal, type, callback): the one form every host's EventTarget accepts.
        let _ = signal.add_event_listener_with_callback("abort", callback.as_ref().unchecked_ref());
        AbortListener { signal: signal.clone(), callback }
    }
}

impl Drop for AbortListener {
    fn drop(&mut self) {
        let _ = self.signal.remove_event_listener_with_callback("abort", self.callback.as_ref().unchecked_ref());
    }
}
