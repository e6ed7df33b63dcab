//! Reads a JS transaction definition in one crossing: `glue.js` checks each field's JS type
//! (naming the field) and flattens the data into numbers and strings, which are decoded here
//! into the pure [`RawDefinition`] and then validated by `saga::definition::validate`.

use js_sys::{Array, Float64Array, Function};
use wasm_bindgen::{JsCast, JsValue};

use super::sys;
use crate::saga::definition::{validate, RawDefinition, RawRetry, RawStep};
use crate::saga::{DefinitionError, TransactionDef, Version};

/// A step's JS functions, and its name as the JS string the user gave (reused, never re-encoded).
pub struct JsStep {
    pub name: JsValue,
    pub execute: Function,
    pub compensate: Option<Function>,
}

/// A validated definition and the functions it runs.
pub struct Parsed {
    pub def: TransactionDef,
    pub steps: Vec<JsStep>,
}

/// Reads and validates `value`; nothing is called.
pub fn parse(value: &JsValue) -> Result<Parsed, DefinitionError> {
    let read = sys::read_definition(value);
    let numbers = read.get(0);
    if numbers.is_null() {
        let text = |i| read.get(i).as_string().unwrap_or_default();
        return Err(DefinitionError::new(text(1), text(2)));
    }
    let strings: Array = read.get(1).unchecked_into();
    let mut flat = Flat {
        numbers: numbers.unchecked_into::<Float64Array>().to_vec(),
        strings: strings.iter().map(|s| s.as_string().unwrap_or_default()).collect(),
        at: 0,
    };
    let def = validate(flat.definition())?;
    let fns: Array = read.get(2).unchecked_into();
    let steps = (0..def.steps.len() as u32)
        .map(|i| JsStep {
            name: fns.get(3 * i),
            execute: fns.get(3 * i + 1).unchecked_into(),
            compensate: Some(fns.get(3 * i + 2)).filter(JsValue::is_function).map(JsCast::unchecked_into),
        })
        .collect();
    Ok(Parsed { def, steps })
}

/// The flattened definition `glue.js` writes: NaN is "absent", strings are indexes.
struct Flat {
    numbers: Vec<f64>,
    strings: Vec<String>,
    at: usize,
}

impl Flat {
    fn next(&mut self) -> f64 {
        self.at += 1;
        self.numbers.get(self.at - 1).copied().unwrap_or(f64::NAN)
    }

    fn number(&mut self) -> Option<f64> {
        Some(self.next()).filter(|v| !v.is_nan())
    }

    fn flag(&mut self) -> Option<bool> {
        self.number().map(|v| v != 0.0)
    }

    fn string(&mut self) -> Option<String> {
        let index = self.next();
        (index >= 0.0).then(|| self.strings.get(index as usize).cloned().unwrap_or_default())
    }

    fn retry(&mut self) -> Option<RawRetry> {
        if self.next() != 1.0 {
            return None;
        }
        let mut policy = RawRetry {
            max_attempts: self.number(),
            initial_delay_ms: self.number(),
            backoff: self.string(),
            max_delay_ms: self.number(),
            jitter: self.flag(),
            non_retryable: None,
        };
        let names = self.next();
        if names >= 0.0 {
            policy.non_retryable = Some((0..names as usize).map(|_| self.string().unwrap_or_default()).collect());
        }
        Some(policy)
    }

    fn definition(&mut self) -> RawDefinition {
        let name = self.string();
        let timeout_ms = self.number();
        let on_compensation_failure = self.string();
        let retry = self.retry();
        let count = self.next().max(0.0) as usize;
        let steps = (0..count).map(|_| self.step()).collect();
        RawDefinition { name, steps, retry, timeout_ms, on_compensation_failure }
    }

    fn step(&mut self) -> RawStep {
        let name = self.string();
        let has_compensate = self.next() == 1.0;
        let timeout_ms = self.number();
        let compensation_timeout_ms = self.number();
        let compensate_on_failure = self.flag().unwrap_or(false);
        let requires_version_check = self.flag().unwrap_or(false);
        let expected_version = match (self.next() as u8, self.next()) {
            (1, n) => Some(Version::Number(n)),
            (2, i) => Some(Version::Text(self.strings.get(i as usize).cloned().unwrap_or_default())),
            _ => None,
        };
        RawStep {
            name,
            has_compensate,
            retry: self.retry(),
            timeout_ms,
            compensation_retry: self.retry(),
            compensation_timeout_ms,
            compensate_on_failure,
            requires_version_check,
            expected_version,
        }
    }
}

/// A result's `version` (or an `expectedVersion`) as the core compares it.
pub fn version_of(value: &JsValue) -> Option<Version> {
    value.as_f64().map(Version::Number).or_else(|| value.as_string().map(Version::Text))
}
