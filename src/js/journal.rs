//! The journal's record format, both ways: checkpoints written as plain JS objects through
//! `journal.append(transactionId, record)`, and read back through `journal.load(transactionId)`
//! to resume a transaction a reload or a restart interrupted.
//!
//! ```js
//! const records = new Map();
//! const journal = {
//!   append: (id, record) => void records.set(id, [...(records.get(id) ?? []), record]),
//!   load: (id) => records.get(id) ?? [],
//! };
//! const coordinator = new TransactionCoordinator({ journal });
//! // After a restart, the same definition and transactionId pick up where the journal stops.
//! await coordinator.executeTransaction(definition, { transactionId, context });
//! ```
//!
//! A record is `{ kind, step?, stepIndex?, attempt?, status?, error?: { name, message }, result?,
//! at }`. `result` is what a step returned, on `step.succeeded`, so a resumed run has its
//! `ctx.results`; a durable store must be able to keep it (structured clone for IndexedDB and
//! Durable Objects, JSON for localStorage).

use js_sys::{Array, Function, Object, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use super::sys;
use crate::saga::definition::number_text;
use crate::saga::recovery::Recovery;
use crate::saga::{Checkpoint, CheckpointKind, FailureKind, TransactionStatus};

/// Record kinds by name; `transaction.finished` also carries its status.
const KINDS: [(&str, CheckpointKind); 7] = [
    ("transaction.started", CheckpointKind::TransactionStarted),
    ("step.started", CheckpointKind::StepStarted),
    ("step.succeeded", CheckpointKind::StepSucceeded),
    ("step.failed", CheckpointKind::StepFailed),
    ("compensation.started", CheckpointKind::CompensationStarted),
    ("compensation.succeeded", CheckpointKind::CompensationSucceeded),
    ("compensation.failed", CheckpointKind::CompensationFailed),
];
const FINISHED: &str = "transaction.finished";

/// The JS record for `cp`. `names` are the steps' JS names; `results` is `ctx.results`.
pub fn record(cp: &Checkpoint, names: &[JsValue], results: &Object) -> Object {
    let record = Object::new();
    let set = |k: &str, v: &JsValue| {
        let _ = Reflect::set(&record, &k.into(), v);
    };
    match cp.kind {
        CheckpointKind::TransactionFinished(status) => {
            set("kind", &FINISHED.into());
            set("status", &status.as_str().into());
        }
        kind => {
            let name = KINDS.iter().find(|(_, k)| *k == kind).map_or("", |(n, _)| n);
            set("kind", &name.into());
        }
    }
    if let Some(i) = cp.step {
        set("step", &names[i]);
        set("stepIndex", &(i as f64).into());
        if cp.kind == CheckpointKind::StepSucceeded {
            set("result", &Reflect::get(results, &names[i]).unwrap_or(JsValue::UNDEFINED));
        }
    }
    if cp.attempt > 0 {
        set("attempt", &cp.attempt.into());
    }
    if let Some((kind, message)) = &cp.error {
        let error = Object::new();
        let _ = Reflect::set(&error, &"name".into(), &kind.error_name().into());
        let _ = Reflect::set(&error, &"message".into(), &message.as_str().into());
        set("error", &error);
    }
    set("at", &cp.at.into());
    record
}

/// Reads the journal of `transaction_id` back, when the store can (`load` is optional), and
/// restores the results of the steps that succeeded into `results`. `None`: nothing journaled.
pub async fn recover(
    journal: &Object,
    transaction_id: &JsValue,
    names: &[JsValue],
    results: &Object,
) -> Result<Option<Recovery>, JsValue> {
    let Some(load) = Reflect::get(journal, &"load".into()).ok().and_then(|f| f.dyn_into::<Function>().ok()) else {
        return Ok(None);
    };
    let loaded =
        load.call1(journal, transaction_id).map_err(|e| failure(&format!("journal.load threw: {}", describe(&e))))?;
    let loaded = JsFuture::from(Promise::resolve(&loaded))
        .await
        .map_err(|e| failure(&format!("journal.load rejected: {}", describe(&e))))?;
    if loaded.is_undefined() || loaded.is_null() {
        return Ok(None);
    }
    let Some(records) = loaded.dyn_ref::<Array>() else {
        return Err(failure("journal.load must resolve to an array of records (or undefined)"));
    };
    if records.length() == 0 {
        return Ok(None);
    }
    let id: std::rc::Rc<str> = transaction_id.as_string().unwrap_or_default().into();
    let mut checkpoints = Vec::with_capacity(records.length() as usize);
    for (n, record) in records.iter().enumerate() {
        let checkpoint =
            read(&record, names, &id).map_err(|reason| failure(&format!("journal record {n}: {reason}")))?;
        if checkpoint.kind == CheckpointKind::StepSucceeded {
            if let Some(i) = checkpoint.step {
                let result = Reflect::get(&record, &"result".into()).unwrap_or(JsValue::UNDEFINED);
                sys::set_result(results, &names[i], &result);
            }
        }
        checkpoints.push(checkpoint);
    }
    Recovery::replay(names.len(), &checkpoints).map(Some).map_err(|e| failure(&e.0))
}

/// One record, checked against the definition: a journal written for other steps must not
/// steer this one.
fn read(record: &JsValue, names: &[JsValue], id: &std::rc::Rc<str>) -> Result<Checkpoint, String> {
    let get = |k: &str| Reflect::get(record, &k.into()).unwrap_or(JsValue::UNDEFINED);
    let kind_name = get("kind").as_string().ok_or("no kind")?;
    let kind = match KINDS.iter().find(|(n, _)| *n == kind_name) {
        Some((_, k)) => *k,
        None if kind_name == FINISHED => {
            let status = get("status").as_string().and_then(|s| TransactionStatus::from_name(&s));
            CheckpointKind::TransactionFinished(status.ok_or("transaction.finished without a valid status")?)
        }
        None => return Err(format!("unknown kind \"{kind_name}\"")),
    };
    let step = match get("stepIndex").as_f64() {
        Some(i) if i >= 0.0 && i.fract() == 0.0 && (i as usize) < names.len() => {
            let i = i as usize;
            if !js_sys::Object::is(&get("step"), &names[i]) {
                return Err(format!(
                    "step {i} is named differently in the definition: the journal belongs to another one"
                ));
            }
            Some(i)
        }
        Some(i) => {
            return Err(format!(
                "stepIndex {} is not a step of this definition ({} steps)",
                number_text(i),
                names.len()
            ))
        }
        None => None,
    };
    let attempt = get("attempt").as_f64().filter(|a| *a >= 1.0).map_or(0, |a| a as u32);
    let error = get("error");
    let error = (!error.is_undefined()).then(|| {
        let name = Reflect::get(&error, &"name".into()).ok().and_then(|n| n.as_string()).unwrap_or_default();
        let message = Reflect::get(&error, &"message".into()).ok().and_then(|m| m.as_string()).unwrap_or_default();
        (FailureKind::from_error_name(&name).unwrap_or(FailureKind::Thrown), message)
    });
    let at = get("at").as_f64().unwrap_or(0.0);
    Ok(Checkpoint { transaction_id: id.clone(), kind, step, attempt, at, error })
}

/// A `JournalError`: the coordinator rejects with it rather than run from a journal it cannot read.
fn failure(message: &str) -> JsValue {
    sys::make_error("JournalError", message, &JsValue::UNDEFINED, &JsValue::UNDEFINED, false)
}

pub fn describe(e: &JsValue) -> String {
    sys::describe_error(e).get(1).as_string().unwrap_or_default()
}
