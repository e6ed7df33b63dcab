//! Runs declarative transactions ([`crate::saga::http`]) for the executor: each step is a
//! `fetch` (or a wait for a notification), rendered and classified in Rust, so a page and a
//! Worker run the same definition the same way.
//!
//! ```js
//! import init, { TransactionCoordinator, NotificationStream } from 'edgesaga';
//! await init();
//! const notifications = new NotificationStream('/events');
//! const result = await new TransactionCoordinator().executeHttpTransaction({
//!   name: 'place-order',
//!   steps: [
//!     { name: 'reserve', request: { method: 'POST', url: 'https://inv.example/reservations', body: { orderId: '{{context.orderId}}' } },
//!       compensate: { method: 'DELETE', url: 'https://inv.example/reservations/{{results.reserve.id}}' } },
//!     { name: 'paid', await: { type: 'payment.processed', match: { entityId: '{{context.orderId}}' }, timeoutMs: 30000 } },
//!   ],
//! }, { context: { orderId: 'o-1' }, notifications });
//! ```

use std::cell::RefCell;
use std::rc::Rc;

use futures::future::LocalBoxFuture;
use js_sys::{Array, Function, JSON};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::AbortController;

use super::error::{abort_reason, from_thrown};
use super::sys;
use crate::json::Json;
use crate::platform::web::WebClock;
use crate::platform::Clock;
use crate::saga::http::{version_of, HttpResponse, HttpTransaction, Scope, StepAction};
use crate::saga::{Attempt, FailureKind, StepError, StepRunner, Version};

/// Raw bindings to `http_glue.js`.
mod glue {
    use js_sys::{Array, Promise};
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen(module = "/src/js/http_glue.js")]
    extern "C" {
        /// Resolves to `[status, contentType, retryAfter, text]`; rejects on a network error.
        #[wasm_bindgen(js_name = httpFetch)]
        pub fn http_fetch(method: &str, url: &str, headers: Array, body: Option<String>, signal: &JsValue) -> Promise;
        #[wasm_bindgen(js_name = awaitNotification)]
        pub fn await_notification(
            source: &JsValue,
            pattern: &str,
            predicate: &JsValue,
            timeout_ms: f64,
            signal: &JsValue,
        ) -> Promise;
        #[wasm_bindgen(js_name = isNotificationSource)]
        pub fn is_notification_source(source: &JsValue) -> bool;
    }
}

pub use glue::is_notification_source;

type Outcome = Result<JsValue, StepError<JsValue>>;

/// One declarative transaction: its checked definition, its context as JSON, the results so
/// far (as JSON for templates, and in `ctx.results` for JS), and where notifications come from.
pub struct HttpRunner {
    pub tx: Rc<HttpTransaction>,
    pub context: Rc<Json>,
    pub results: Rc<RefCell<Vec<Option<Json>>>>,
    /// `ctx.results`, the JS view of the same results.
    pub results_js: js_sys::Object,
    pub names: Vec<JsValue>,
    pub transaction_id: Rc<str>,
    pub notifications: Option<JsValue>,
}

impl HttpRunner {
    /// Restores the JSON results of steps a journal says succeeded (their JS values are
    /// already back in `ctx.results`).
    pub fn restore_results(&self) {
        let mut results = self.results.borrow_mut();
        for (i, name) in self.names.iter().enumerate() {
            let value = js_sys::Reflect::get(&self.results_js, name).unwrap_or(JsValue::UNDEFINED);
            if !value.is_undefined() {
                results[i] = to_json(&value);
            }
        }
    }

    /// Calls `f` with what templates can read: the id, the context and the results so far.
    fn with_scope<T>(&self, f: impl FnOnce(&Scope) -> T) -> T {
        let results = self.results.borrow();
        f(&Scope { transaction_id: &self.transaction_id, context: &self.context, results: &results })
    }

    fn request(&self, step: usize, attempt: &Attempt) -> LocalBoxFuture<'static, Outcome> {
        let request = match self.with_scope(|scope| self.tx.render_request(step, attempt.compensating, scope)) {
            Ok(r) => r,
            Err(e) => return Box::pin(futures::future::ready(Err(e))),
        };
        let link = abort_link(attempt);
        let headers: Array =
            request.headers.iter().flat_map(|(k, v)| [JsValue::from_str(k), JsValue::from_str(v)]).collect();
        let promise =
            glue::http_fetch(request.method.as_str(), &request.url, headers, request.body.clone(), &link.signal());
        Box::pin(async move {
            let answer = JsFuture::from(promise).await;
            let aborted = link.aborted();
            drop(link);
            let answer: Array = match answer {
                Ok(a) => a.unchecked_into(),
                Err(e) if aborted => return Err(from_thrown(e)),
                Err(e) => {
                    return Err(request.network_error(&sys::describe_error(&e).get(1).as_string().unwrap_or_default()))
                }
            };
            let text = |i| answer.get(i).as_string();
            let (content_type, retry_after, body) = (text(1), text(2), text(3).unwrap_or_default());
            let response = HttpResponse {
                status: answer.get(0).as_f64().unwrap_or(0.0) as u16,
                content_type: content_type.as_deref(),
                retry_after: retry_after.as_deref(),
                body: &body,
                now_ms: WebClock.now_ms(),
            };
            let result = request.classify(&response)?;
            Ok(to_js(&result))
        })
    }

    fn wait(&self, step: usize, attempt: &Attempt) -> LocalBoxFuture<'static, Outcome> {
        let rendered = self.with_scope(|scope| self.tx.render_await(step, scope));
        let rendered = match (rendered, &self.notifications) {
            (Ok(r), Some(_)) => r,
            (Err(e), _) => return Box::pin(futures::future::ready(Err(e))),
            (Ok(_), None) => {
                let message =
                    "an await step needs options.notifications (a NotificationStream, or any object with waitFor)";
                return Box::pin(futures::future::ready(Err(StepError::new(FailureKind::Thrown, message.to_owned()))));
            }
        };
        let source = self.notifications.clone().unwrap_or_default();
        let link = abort_link(attempt);
        let rendered = Rc::new(rendered);
        let matcher = rendered.clone();
        // Owned here and dropped when the wait ends: the stream never calls a dropped closure,
        // since `waitFor` settles (and forgets the predicate) before this future completes.
        let predicate = Closure::<dyn Fn(JsValue) -> bool>::new(move |n: JsValue| {
            to_json(&n).is_some_and(|json| matcher.matches(&json))
        });
        let promise = glue::await_notification(
            &source,
            &rendered.pattern,
            predicate.as_ref().unchecked_ref::<Function>(),
            rendered.timeout_ms as f64,
            &link.signal(),
        );
        Box::pin(async move {
            let outcome = JsFuture::from(promise).await;
            drop((link, predicate));
            outcome.map_err(from_thrown)
        })
    }
}

impl StepRunner for HttpRunner {
    type Output = JsValue;
    type Cause = JsValue;

    fn execute(&self, step: usize, attempt: &Attempt) -> LocalBoxFuture<'static, Outcome> {
        match &self.tx.actions[step] {
            StepAction::Http { .. } => self.request(step, attempt),
            StepAction::Await(_) => self.wait(step, attempt),
        }
    }

    fn compensate(&self, step: usize, attempt: &Attempt) -> LocalBoxFuture<'static, Result<(), StepError<JsValue>>> {
        match &self.tx.actions[step] {
            StepAction::Http { compensate: Some(_), .. } => {
                let call = self.request(step, attempt);
                Box::pin(async move { call.await.map(drop) })
            }
            _ => Box::pin(futures::future::ready(Ok(()))),
        }
    }

    fn version_of(&self, output: &JsValue) -> Option<Version> {
        to_json(output).as_ref().and_then(version_of)
    }

    fn commit(&self, step: usize, output: JsValue) {
        self.results.borrow_mut()[step] = to_json(&output);
        sys::set_result(&self.results_js, &self.names[step], &output);
    }
}

/// The attempt's `AbortSignal`, aborted with the executor's verdict (a timeout, a cancel).
struct AbortLink {
    controller: Option<AbortController>,
    _link: crate::saga::Subscription,
}

impl AbortLink {
    fn signal(&self) -> JsValue {
        self.controller.as_ref().map_or(JsValue::UNDEFINED, |c| c.signal().into())
    }

    fn aborted(&self) -> bool {
        self.controller.as_ref().is_some_and(|c| c.signal().aborted())
    }
}

fn abort_link(attempt: &Attempt) -> AbortLink {
    // Every host edgesaga runs on has AbortController; without one, requests just cannot be cut.
    let controller = AbortController::new().ok();
    let target = controller.clone();
    let link = attempt.signal.on_abort(move |kind| {
        if let Some(c) = &target {
            c.abort_with_reason(&abort_reason(kind));
        }
    });
    AbortLink { controller, _link: link }
}

/// A JSON value as JS, and back; both go through the host's JSON, which is exact for what
/// `fetch` answers and what a notification carries.
fn to_js(json: &Json) -> JsValue {
    JSON::parse(&json.to_text()).unwrap_or(JsValue::NULL)
}

fn to_json(value: &JsValue) -> Option<Json> {
    let text = JSON::stringify(value).ok()?.as_string()?;
    Json::parse(&text, 64).ok()
}
