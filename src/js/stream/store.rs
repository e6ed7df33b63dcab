//! The optional `store`: where a reloaded page resumes (`lastEventId`, written once every
//! handler of a notification settled, or after a block without data) and, with
//! `storeRecent`, the recent notifications a `waitFor` after the reload still sees.

use std::rc::Rc;

use js_sys::Object;
use wasm_bindgen_futures::JsFuture;

use super::delivery::to_js;
use super::waiters::resolve_waiters;
use super::{sys, Inner};
use crate::notify::notification::Notification;
use crate::platform::web::WebClock;
use crate::platform::Clock;

/// Reads the resume point from the store, if any (it wins over `options.lastEventId`), and with
/// `storeRecent` the recent notifications, for `waitFor`.
pub(super) async fn restore(inner: &Rc<Inner>) {
    let Some(store) = &inner.options.store else { return };
    if let Some(id) = get(inner, store, &inner.options.store_key).await {
        inner.delivery.state.borrow_mut().parser.set_last_event_id(&id);
    }
    if !inner.options.store_recent {
        return;
    }
    let Some(text) = get(inner, store, &recent_key(inner)).await else { return };
    let now = WebClock.now_ms();
    let restored: Vec<Rc<Notification>> = {
        let mut state = inner.delivery.state.borrow_mut();
        let router = &mut state.router;
        let schema = *router.schema();
        router.recent_mut().restore(&text, now, &schema);
        router.recent().iter(now).cloned().collect()
    };
    // A `waitFor` made while the store was being read looks at them now.
    for n in restored.iter().filter(|n| inner.delivery.wanted(n)) {
        resolve_waiters(inner, n, &to_js(n));
    }
}

fn recent_key(inner: &Inner) -> String {
    let mut key = inner.options.store_key.clone();
    key.push_str(":recent");
    key
}

/// Writes what changed: (`storeRecent`) the recent notifications first, then the resume point.
/// In that order a reload between the two writes finds the notification twice (replayed, and
/// among the recent ones: harmless), never nowhere.
pub(super) async fn persist(inner: &Rc<Inner>) {
    let Some(store) = &inner.options.store else { return };
    let recent = {
        let mut state = inner.delivery.state.borrow_mut();
        let changed = std::mem::take(&mut state.recent_changed) && inner.options.store_recent;
        changed.then(|| state.router.recent().to_text(WebClock.now_ms()))
    };
    if let Some(text) = recent {
        set(inner, store, &recent_key(inner), &text).await;
    }
    let update = inner.delivery.state.borrow_mut().router.take_persist_update();
    if let Some(id) = update {
        set(inner, store, &inner.options.store_key, &id).await;
    }
}

/// `store.get(key)` as a string; a failure goes to `onError`.
async fn get(inner: &Inner, store: &Object, key: &str) -> Option<String> {
    match JsFuture::from(sys::call_store(store, "get", key, "")).await {
        Ok(v) => v.as_string(),
        Err(e) => {
            inner.report(&e);
            None
        }
    }
}

/// `store.set(key, value)`; a failure goes to `onError`.
async fn set(inner: &Inner, store: &Object, key: &str, value: &str) {
    if let Err(e) = JsFuture::from(sys::call_store(store, "set", key, value)).await {
        inner.report(&e);
    }
}
