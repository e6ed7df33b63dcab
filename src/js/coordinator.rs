//! `TransactionCoordinator`: runs JS transaction definitions and emits their lifecycle events.
//!
//! ```js
//! import init, { TransactionCoordinator } from 'edgesaga';
//! await init();
//! const coordinator = new TransactionCoordinator({ onEvent: (e) => console.log(e.type, e.step) });
//! const result = await coordinator.executeTransaction({
//!   name: 'place-order',
//!   steps: [
//!     { name: 'reserve', execute: async (ctx) => inventory.reserve(ctx.items), compensate: async (ctx) => inventory.release(ctx.results.reserve.id) },
//!     { name: 'charge', execute: async (ctx, info) => payments.charge(ctx.card, { idempotencyKey: info.idempotencyKey, signal: info.signal }) },
//!   ],
//! }, { context: { items, card } });
//! console.log(result.status); // 'committed' | 'compensated' | 'compensation_failed'
//! ```

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::AbortSignal;

use super::abort::AbortListener;
use super::browser_storage::TransactionLock;
use super::definition::parse;
use super::error::Error;
use super::http::{is_notification_source, HttpRunner};
use super::observer::JsObserver;
use super::report::TxView;
use super::runner::{JsRunner, Notifier};
use super::types::{CoordinatorOptions, EventNameOrAll, HttpTransactionOptions, LifecycleListener, TransactionOptions};
use super::{journal, report, sys};
use crate::bus::{Emitter, WILDCARD};
use crate::json::Json;
use crate::platform::web::{MathRandom, WebClock};
use crate::saga::http::{parse_definition, HttpTransaction};
use crate::saga::recovery::Recovery;
use crate::saga::{resume, CancelToken, DefinitionError, EventKind, FailureKind, Host, StepRunner, TransactionDef};

/// Runs transactions: steps in order, compensations in reverse when one fails for good.
#[wasm_bindgen]
pub struct TransactionCoordinator {
    emitter: Rc<Emitter<Function>>,
    on_event: Option<Function>,
    journal: Option<Object>,
}

#[wasm_bindgen]
impl TransactionCoordinator {
    /// `new TransactionCoordinator({ onEvent?, journal? })`.
    #[wasm_bindgen(constructor)]
    pub fn new(options: Option<CoordinatorOptions>) -> Result<TransactionCoordinator, JsValue> {
        let options: JsValue = options.map_or(JsValue::UNDEFINED, Into::into);
        let field = |key: &str| {
            Some(Reflect::get(&options, &key.into()).unwrap_or(JsValue::UNDEFINED))
                .filter(|v| !v.is_undefined() && !v.is_null())
        };
        if !options.is_undefined() && !options.is_null() && !options.is_object() {
            return Err(invalid("options", "must be an object"));
        }
        let on_event = match field("onEvent") {
            None => None,
            Some(f) => Some(f.dyn_into::<Function>().map_err(|_| invalid("options.onEvent", "must be a function"))?),
        };
        let journal = match field("journal") {
            None => None,
            Some(j) if Reflect::get(&j, &"append".into()).is_ok_and(|f| f.is_function()) => Some(j.unchecked_into()),
            Some(_) => return Err(invalid("options.journal", "must have an append(transactionId, record) method")),
        };
        if journal.as_ref().is_some_and(|j: &Object| {
            Reflect::get(j, &"load".into()).is_ok_and(|f| !f.is_undefined() && !f.is_function())
        }) {
            return Err(invalid("options.journal", "load must be a function (transactionId) => records"));
        };
        Ok(TransactionCoordinator { emitter: Rc::default(), on_event, journal })
    }

    /// Runs `definition`. Rejects with a `DefinitionError` naming the field, before any step
    /// runs, when the definition is invalid; otherwise resolves with the full report, whatever
    /// the steps did (it never rejects because a step failed).
    #[wasm_bindgen(js_name = executeTransaction, unchecked_return_type = "Promise<TransactionResult>")]
    pub fn execute_transaction(
        &self,
        #[wasm_bindgen(unchecked_param_type = "TransactionDefinition")] definition: JsValue,
        options: Option<TransactionOptions>,
    ) -> Promise {
        match self.start(&definition, options.map_or(JsValue::UNDEFINED, Into::into)) {
            Ok(promise) => promise,
            Err(e) => Promise::reject(&e),
        }
    }

    /// Runs a declarative `definition` (JSON text or an object) whose steps are HTTP requests
    /// and waits for notifications (see `saga::http`). Rejects with a `DefinitionError` naming
    /// the field, before anything is sent, when the definition is invalid or the context lacks
    /// a value it uses; otherwise resolves with the full report, as `executeTransaction` does.
    #[wasm_bindgen(js_name = executeHttpTransaction, unchecked_return_type = "Promise<TransactionResult>")]
    pub fn execute_http_transaction(
        &self,
        #[wasm_bindgen(unchecked_param_type = "HttpTransactionDefinition | string")] definition: JsValue,
        options: Option<HttpTransactionOptions>,
    ) -> Promise {
        match self.start_http(&definition, options.map_or(JsValue::UNDEFINED, Into::into)) {
            Ok(promise) => promise,
            Err(e) => Promise::reject(&e),
        }
    }

    fn start(&self, definition: &JsValue, options: JsValue) -> Result<Promise, JsValue> {
        let parsed = parse(definition).map_err(|e| JsValue::from(Error::from(e)))?;
        let common = Common::read(&options)?;
        let (ctx, results) = new_context(&common.get("context"));
        let names: Vec<JsValue> = parsed.steps.iter().map(|s| s.name.clone()).collect();
        let view =
            TxView { names, ctx: ctx.clone(), results: results.clone(), transaction_id: common.transaction_id.clone() };
        let runner = JsRunner {
            steps: parsed.steps,
            ctx,
            results,
            transaction_id: common.transaction_id.clone(),
            notifier: Notifier::new(),
        };
        Ok(self.run(parsed.def, Rc::new(runner), view, common, None))
    }

    fn start_http(&self, definition: &JsValue, options: JsValue) -> Result<Promise, JsValue> {
        let common = Common::read(&options)?;
        let context_js = common.get("context");
        let (tx, context) = check_http(definition, &context_js)?;
        let notifications = match common.get("notifications") {
            v if v.is_undefined() || v.is_null() => None,
            v if is_notification_source(&v) => Some(v),
            _ => {
                return Err(invalid("options.notifications", "must have a waitFor(pattern, predicate, options) method"))
            }
        };
        let (ctx, results) = new_context(&context_js);
        let names: Vec<JsValue> = tx.def.steps.iter().map(|s| JsValue::from_str(&s.name)).collect();
        let runner = HttpRunner {
            tx: tx.clone(),
            context: Rc::new(context),
            results: Rc::new(RefCell::new(vec![None; names.len()])),
            results_js: results.clone(),
            names: names.clone(),
            transaction_id: common.transaction_id.as_string().unwrap_or_default().into(),
            notifications,
        };
        let view = TxView { names, ctx, results, transaction_id: common.transaction_id.clone() };
        let runner = Rc::new(runner);
        let restored = runner.clone();
        Ok(self.run(tx.def.clone(), runner, view, common, Some(Box::new(move || restored.restore_results()))))
    }

    /// Resumes from the journal when it has this transaction, runs it, and reports. `restored`
    /// lets a runner pick up results the journal put back into `ctx.results`. One executor
    /// instance serves every runner (`dyn`): it is the largest function in the package.
    fn run(
        &self,
        def: TransactionDef,
        runner: Rc<dyn StepRunner<Output = JsValue, Cause = JsValue>>,
        view: TxView,
        common: Common,
        restored: Option<Box<dyn Fn()>>,
    ) -> Promise {
        let observer = JsObserver {
            emitter: self.emitter.clone(),
            on_event: self.on_event.clone(),
            journal: self.journal.clone(),
            transaction_id: view.transaction_id.clone(),
            transaction_name: def.name.clone(),
            step_names: view.names.clone(),
            rust_names: def.steps.iter().map(|s| s.name.clone()).collect(),
            results: view.results.clone(),
        };
        let Common { transaction_id, cancel, listener, .. } = common;
        wasm_bindgen_futures::future_to_promise(async move {
            let host = Host { clock: &WebClock, rng: &MathRandom, observer: &observer };
            let id: Rc<str> = transaction_id.as_string().unwrap_or_default().into();
            // A journaled transaction runs in one tab at a time; the next one waits, then
            // resumes from (or finds finished in) the journal.
            let (_lock, recovery) = match &observer.journal {
                Some(journal) => (
                    Some(TransactionLock::acquire(&transaction_id).await?),
                    journal::recover(journal, &transaction_id, &view.names, &view.results).await?,
                ),
                None => (None, None),
            };
            if let (Some(_), Some(restored)) = (&recovery, &restored) {
                restored();
            }
            let recovery = recovery.unwrap_or_else(|| Recovery::fresh(def.steps.len()));
            let outcome = resume(&def, &*runner, &host, id, cancel, recovery).await;
            drop(listener);
            Ok(report::to_js(&outcome, &view))
        })
    }

    /// Calls `listener` on every `name` event (`'*'`: every lifecycle event).
    pub fn on(
        &self,
        #[wasm_bindgen(unchecked_param_type = "LifecycleEventName | '*'")] name: &str,
        listener: LifecycleListener,
    ) -> Result<(), JsValue> {
        self.emitter.on(checked(name)?, listener.unchecked_into());
        Ok(())
    }

    /// Calls `listener` on the next `name` event only.
    pub fn once(
        &self,
        #[wasm_bindgen(unchecked_param_type = "LifecycleEventName | '*'")] name: &str,
        listener: LifecycleListener,
    ) -> Result<(), JsValue> {
        self.emitter.once(checked(name)?, listener.unchecked_into());
        Ok(())
    }

    /// Removes `listener` from `name`; returns whether it was registered.
    pub fn off(
        &self,
        #[wasm_bindgen(unchecked_param_type = "LifecycleEventName | '*'")] name: &str,
        listener: LifecycleListener,
    ) -> bool {
        self.emitter.off(name, listener.unchecked_ref())
    }

    /// Calls the public listeners of `event.type` with `event`; returns whether any listened.
    /// Only public lifecycle events can be emitted: the journal's channel is unreachable.
    pub fn emit(
        &self,
        #[wasm_bindgen(unchecked_param_type = "LifecycleEventName")] name: &str,
        #[wasm_bindgen(unchecked_param_type = "LifecycleEvent")] event: JsValue,
    ) -> Result<bool, JsValue> {
        let name = checked(name)?;
        if name == WILDCARD {
            return Err(invalid("name", "'*' is for listening; emit a named event"));
        }
        Ok(self.emitter.emit(name, |f| {
            if let Err(e) = f.call1(&JsValue::UNDEFINED, &event) {
                sys::report_listener_error(&e);
            }
        }) > 0)
    }

    /// How many listeners `name` has.
    #[wasm_bindgen(js_name = listenerCount)]
    pub fn listener_count(&self, #[wasm_bindgen(unchecked_param_type = "LifecycleEventName | '*'")] name: &str) -> u32 {
        self.emitter.listener_count(name) as u32
    }

    /// The event names that have listeners.
    #[wasm_bindgen(js_name = eventNames, unchecked_return_type = "Array<LifecycleEventName | '*'>")]
    pub fn event_names(&self) -> Array {
        self.emitter.event_names().iter().map(|n| JsValue::from_str(n)).collect()
    }

    /// Removes every listener of `name`, or every listener at all.
    #[wasm_bindgen(js_name = removeAllListeners)]
    pub fn remove_all_listeners(&self, name: Option<EventNameOrAll>) {
        let name = name.and_then(|n| JsValue::from(n).as_string());
        self.emitter.remove_all_listeners(name.as_deref());
    }
}

fn checked(name: &str) -> Result<&str, JsValue> {
    if name == WILDCARD || EventKind::ALL.iter().any(|k| k.name() == name) {
        Ok(name)
    } else {
        let known: Vec<&str> = EventKind::ALL.iter().map(|k| k.name()).collect();
        Err(invalid(
            "name",
            &format!("unknown lifecycle event \"{name}\"; expected '*' or one of {}", known.join(", ")),
        ))
    }
}

/// `checkHttpTransaction(definition, context?)`: throws the `DefinitionError` (naming the
/// field) that `executeHttpTransaction` would reject with, without running anything — so a
/// Worker can answer 400 before it hands the transaction to a Durable Object.
#[wasm_bindgen(js_name = checkHttpTransaction)]
pub fn check_http_transaction(
    #[wasm_bindgen(unchecked_param_type = "HttpTransactionDefinition | string")] definition: JsValue,
    #[wasm_bindgen(unchecked_param_type = "{ [key: string]: JsonValue } | null")] context: Option<Object>,
) -> Result<(), JsValue> {
    check_http(&definition, &context.map_or(JsValue::UNDEFINED, Into::into)).map(drop)
}

/// Parses and checks a declarative definition and the context it will run with.
fn check_http(definition: &JsValue, context_js: &JsValue) -> Result<(Rc<HttpTransaction>, Json), JsValue> {
    let definition_error = |e| JsValue::from(Error::from(e));
    let text = match definition.as_string() {
        Some(text) => text,
        None => js_sys::JSON::stringify(definition).ok().and_then(|t| t.as_string()).ok_or_else(|| {
            definition_error(DefinitionError::new("definition", "must be JSON text or a JSON-serialisable object"))
        })?,
    };
    let tx = Rc::new(parse_definition(&text).map_err(definition_error)?);
    let context = if context_js.is_undefined() || context_js.is_null() {
        Json::Object(Vec::new())
    } else {
        let text = js_sys::JSON::stringify(context_js).ok().and_then(|t| t.as_string()).unwrap_or_default();
        match Json::parse(&text, 64) {
            Ok(json @ Json::Object(_)) => json,
            _ => return Err(invalid("options.context", "must be a JSON object")),
        }
    };
    tx.check_context(&context).map_err(definition_error)?;
    Ok((tx, context))
}

/// What both kinds of transaction read from their options: the id and the caller's signal.
struct Common {
    options: JsValue,
    transaction_id: JsValue,
    cancel: CancelToken,
    listener: Option<AbortListener>,
}

impl Common {
    fn read(options: &JsValue) -> Result<Common, JsValue> {
        if !options.is_undefined() && !options.is_null() && !options.is_object() {
            return Err(invalid("options", "must be an object"));
        }
        let transaction_id = match option(options, "transactionId") {
            v if v.is_undefined() || v.is_null() => sys::new_transaction_id(),
            v if v.as_string().is_some_and(|s| !s.is_empty()) => v,
            _ => return Err(invalid("options.transactionId", "must be a non-empty string")),
        };
        let signal = match option(options, "signal") {
            v if v.is_undefined() || v.is_null() => None,
            v => Some(v.dyn_into::<AbortSignal>().map_err(|_| invalid("options.signal", "must be an AbortSignal"))?),
        };
        let cancel = CancelToken::new();
        let listener = signal.map(|signal| {
            if signal.aborted() {
                cancel.abort(FailureKind::Aborted);
            }
            let token = cancel.clone();
            AbortListener::once(&signal, move || token.abort(FailureKind::Aborted))
        });
        Ok(Common { options: options.clone(), transaction_id, cancel, listener })
    }

    fn get(&self, key: &str) -> JsValue {
        option(&self.options, key)
    }
}

/// `options[key]`, or undefined when the options are absent.
fn option(options: &JsValue, key: &str) -> JsValue {
    if options.is_object() {
        Reflect::get(options, &key.into()).unwrap_or(JsValue::UNDEFINED)
    } else {
        JsValue::UNDEFINED
    }
}

/// The shared `ctx` (a shallow copy of `context`) and its `ctx.results`.
fn new_context(context: &JsValue) -> (Object, Object) {
    let ctx = sys::make_context(context);
    let results = Reflect::get(&ctx, &"results".into()).unwrap_or_default().unchecked_into();
    (ctx, results)
}

fn invalid(field: &str, reason: &str) -> JsValue {
    Error::InvalidArgument { field: field.to_owned(), reason: reason.to_owned() }.into()
}
