//! Declarative transactions whose steps are HTTP requests: the pure half. This module reads and
//! checks a JSON definition, renders each request against the context and earlier results, and
//! classifies each answer; the host sends the requests (`fetch`) and waits for notifications.
//!
//! ```json
//! { "name": "place-order",
//!   "retry": { "maxAttempts": 3, "initialDelayMs": 200 },
//!   "steps": [
//!     { "name": "reserve_inventory",
//!       "request": { "method": "POST", "url": "https://inventory.example/reservations",
//!                    "body": { "orderId": "{{context.orderId}}", "items": "{{context.items}}" } },
//!       "compensate": { "method": "DELETE",
//!                       "url": "https://inventory.example/reservations/{{results.reserve_inventory.id}}" } },
//!     { "name": "charge_payment", "timeoutMs": 5000,
//!       "request": { "method": "POST", "url": "https://pay.example/charges",
//!                    "headers": { "Authorization": "Bearer {{context.token}}" },
//!                    "body": { "amount": "{{context.amount}}" }, "success": [200, 201] },
//!       "compensate": { "method": "POST", "url": "https://pay.example/charges/{{results.charge_payment.id}}/refund" } },
//!     { "name": "payment_processed",
//!       "await": { "type": "payment.processed",
//!                  "match": { "entityId": "{{results.charge_payment.id}}" }, "timeoutMs": 30000 } } ] }
//! ```
//!
//! * **Definition** — `name`, `steps`, `retry`, `timeoutMs`, `onCompensationFailure`; per step
//!   `name`, `kind` (`"http"` or `"await"`, else inferred from which of `request` and `await`
//!   is given), `request`, `compensate`, `await` and the policy fields of
//!   [`crate::saga::definition`] (`retry`, `timeoutMs`, `compensationRetry`,
//!   `compensationTimeoutMs`, `compensateOnFailure`, `requiresVersionCheck`,
//!   `expectedVersion`), checked by its one validator. An unknown field is an error, so a typo
//!   is never silently ignored; `null` is the same as leaving a field out.
//! * **Requests** — `method` (default `GET`; any case), `url` (absolute `http(s)`; templates
//!   only in the path and query, so the context cannot send a request to another host),
//!   `headers` (template strings; `Idempotency-Key` may not be set, see below), `body` (any
//!   JSON, sent as JSON text with `Content-Type: application/json` unless the headers set a
//!   type) and `success` (statuses: `200`, `"2xx"`, `"200-299"`; default `["2xx"]`).
//! * **Templates** — `{{context.a.b}}`, `{{results.<step>.a.0.b}}`, `{{transactionId}}`. In a
//!   URL a value is percent-encoded as `encodeURIComponent` does; in a header or a longer
//!   string it is written as text; a body string that is exactly one `{{…}}` is replaced by
//!   the value itself, type kept. `results.<step>` must be an earlier step (a compensation may
//!   also read its own step's result). See [`HttpTransaction::check_context`] for the context.
//!   A value missing at run time (or an object written into text) fails the step with a
//!   non-retryable `TemplateError`. There is no escape for a literal `{{`, and a step whose
//!   name contains `.` cannot be referenced.
//! * **Await** — `{ "type": <pattern>, "match": { <field path>: <text template> },
//!   "timeoutMs" }` ([`AwaitSpec`]; `timeoutMs` defaults to 30 s). The host waits for a
//!   notification of that type whose fields equal the rendered texts
//!   ([`RenderedAwait::matches`]) and commits it as the step's result. An `await` step has no
//!   compensation.
//! * **Idempotency** — every request carries `Idempotency-Key: <transactionId>:<step>`, the
//!   same for every attempt, so a service can run a retried request once. A compensation
//!   carries `<transactionId>:<step>:compensate`: it is a different operation, and under the
//!   forward request's key a deduplicating service would replay the stored forward answer
//!   instead of undoing anything. The definition may not set the header itself.
//! * **Answers** — [`RenderedRequest::classify`]: a `success` status gives the step's result
//!   (the JSON body; its `version` feeds `requiresVersionCheck` through [`version_of`]);
//!   408, 429 and 5xx are retryable (honouring `Retry-After`), other statuses are not.
//!
//! ```
//! use edgesaga::json::Json;
//! use edgesaga::saga::http::{parse_definition, HttpResponse, Scope, StepAction};
//!
//! let tx = parse_definition(r#"{ "steps": [
//!   { "name": "reserve", "request": { "method": "post", "url": "https://inv.example/reserve",
//!     "body": { "order": "{{context.orderId}}", "qty": "{{context.qty}}" } } },
//!   { "name": "charge", "request": { "method": "POST",
//!     "url": "https://pay.example/charge?reservation={{results.reserve.id}}" } }
//! ] }"#).unwrap();
//!
//! let context = Json::parse(r#"{ "orderId": "o-1", "qty": 2 }"#, 64).unwrap();
//! tx.check_context(&context).unwrap(); // before anything is sent
//! let mut results = vec![None, None];
//!
//! let scope = Scope { transaction_id: "tx-9", context: &context, results: &results };
//! let first = tx.render_request::<()>(0, false, &scope).unwrap();
//! assert_eq!((first.method.as_str(), first.body.as_deref()), ("POST", Some(r#"{"order":"o-1","qty":2}"#)));
//! assert_eq!(first.idempotency_key, "tx-9:reserve");
//!
//! let answer = HttpResponse {
//!     status: 201, content_type: Some("application/json"), retry_after: None,
//!     body: r#"{"id":"r/7"}"#, now_ms: 0.0,
//! };
//! results[0] = Some(first.classify::<()>(&answer).unwrap());
//!
//! let scope = Scope { transaction_id: "tx-9", context: &context, results: &results };
//! let second = tx.render_request::<()>(1, false, &scope).unwrap();
//! assert_eq!(second.url, "https://pay.example/charge?reservation=r%2F7");
//! let declined = HttpResponse { status: 402, body: "card declined", ..answer };
//! let error = second.classify::<()>(&declined).unwrap_err();
//! assert_eq!(error.retryable, Some(false));
//! assert_eq!(error.message, "POST https://pay.example/charge?reservation=r%2F7 answered 402: card declined");
//! assert!(matches!(tx.actions[1], StepAction::Http { compensate: None, .. }));
//! ```

mod await_step;
mod definition;
mod fields;
mod request;
mod response;
mod template;

use super::definition::{DefinitionError, TransactionDef};
use super::error::{FailureKind, StepError};
use crate::json::Json;

pub use await_step::{AwaitSpec, RenderedAwait, DEFAULT_AWAIT_TIMEOUT_MS};
pub use definition::parse_definition;
pub use request::{Method, RenderedRequest, RequestTemplate, StatusRange, IDEMPOTENCY_KEY};
pub use response::{http_date_ms, retry_after_ms, version_of, HttpResponse, HTTP_ERROR, NETWORK_ERROR};
pub use template::{encode_uri_component, Template, TEMPLATE_ERROR};

/// A checked declarative transaction: the policies the executor runs, and what each step does.
#[derive(Clone, Debug, PartialEq)]
pub struct HttpTransaction {
    /// Names, retry and timeout policies, compensation flags: what [`crate::saga::execute`]
    /// runs.
    pub def: TransactionDef,
    /// What each step does, by step index.
    pub actions: Vec<StepAction>,
    context_uses: Vec<template::ContextUse>,
}

/// What one step does.
#[derive(Clone, Debug, PartialEq)]
pub enum StepAction {
    /// Send a request; `compensate` undoes it.
    Http {
        /// The forward request.
        request: RequestTemplate,
        /// The compensation request, if any (boxed: most steps have none).
        compensate: Option<Box<RequestTemplate>>,
    },
    /// Wait for a notification.
    Await(AwaitSpec),
}

/// What templates render against.
#[derive(Clone, Copy, Debug)]
pub struct Scope<'a> {
    /// The transaction's id (`{{transactionId}}`, and the idempotency keys).
    pub transaction_id: &'a str,
    /// The context the transaction was started with (`{{context…}}`).
    pub context: &'a Json,
    /// Each step's result by step index, `None` until it succeeded (`{{results.<step>…}}`).
    pub results: &'a [Option<Json>],
}

/// The `Idempotency-Key` of a step's request: `<transactionId>:<step>`, or
/// `<transactionId>:<step>:compensate` for its compensation (a different operation needs a
/// different key).
pub fn idempotency_key(transaction_id: &str, step: &str, compensating: bool) -> String {
    let suffix = if compensating { ":compensate" } else { "" };
    format!("{transaction_id}:{step}{suffix}")
}

impl HttpTransaction {
    /// Checks that every `{{context.…}}` the definition uses exists in `context`, and is a
    /// string, number or boolean where it is written into text, so a host can refuse a bad
    /// context before sending anything. The error names the context path
    /// (`context.orderId`) and says where it is used.
    pub fn check_context(&self, context: &Json) -> Result<(), DefinitionError> {
        for used in &self.context_uses {
            let field = std::iter::once("context").chain(used.path.iter().map(String::as_str)).collect::<Vec<_>>();
            let field = field.join(".");
            match template::lookup(context, &used.path) {
                None => return Err(DefinitionError::new(field, format!("is missing (used by {})", used.at))),
                Some(value) if used.scalar && template::scalar_text(value).is_none() => {
                    let reason = format!(
                        "must be a string, number or boolean (it is written into {}), got {}",
                        used.at,
                        value.kind_name()
                    );
                    return Err(DefinitionError::new(field, reason));
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// Renders step `step`'s request (`compensating`: its compensation), with its idempotency
    /// key. An error when the step is not an HTTP step or has no compensation (a host bug),
    /// or when a template cannot be rendered; none of them is retryable.
    pub fn render_request<C>(
        &self,
        step: usize,
        compensating: bool,
        scope: &Scope,
    ) -> Result<RenderedRequest, StepError<C>> {
        let (name, action) = self.step(step)?;
        let request = match action {
            StepAction::Http { request, .. } if !compensating => Some(request),
            StepAction::Http { compensate, .. } => compensate.as_deref(),
            StepAction::Await(_) => None,
        };
        let Some(request) = request else {
            let what = if compensating { "has no compensation request" } else { "is not an HTTP step" };
            return Err(host_error(format!("step \"{name}\" {what}")));
        };
        request.render(scope, &idempotency_key(scope.transaction_id, name, compensating))
    }

    /// Renders step `step`'s `await` (an error when it is not an `await` step).
    pub fn render_await<C>(&self, step: usize, scope: &Scope) -> Result<RenderedAwait, StepError<C>> {
        match self.step(step)? {
            (_, StepAction::Await(spec)) => spec.render(scope),
            (name, _) => Err(host_error(format!("step \"{name}\" is not an await step"))),
        }
    }

    fn step<C>(&self, step: usize) -> Result<(&str, &StepAction), StepError<C>> {
        match (self.def.steps.get(step), self.actions.get(step)) {
            (Some(def), Some(action)) => Ok((&def.name, action)),
            _ => Err(host_error(format!("there is no step {step}"))),
        }
    }
}

fn host_error<C>(message: String) -> StepError<C> {
    let mut e = StepError::new(FailureKind::Thrown, message);
    e.retryable = Some(false);
    e
}
