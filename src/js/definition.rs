//! Reads a JS transaction definition into the pure [`RawDefinition`] plus the step functions,
//! naming the exact field when something has the wrong type; `saga::definition::validate`
//! then checks the values.

use js_sys::{Array, Function, Reflect};
use wasm_bindgen::{JsCast, JsValue};

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
    let root = Object::root(value, "definition")?;
    let steps_value = root.get("steps");
    if !Array::is_array(&steps_value) {
        return Err(root.type_error("steps", "an array", &steps_value));
    }
    let array: Array = steps_value.unchecked_into();
    let mut raw_steps = Vec::with_capacity(array.length() as usize);
    let mut js_steps = Vec::with_capacity(array.length() as usize);
    for (i, step) in array.iter().enumerate() {
        let path = format!("steps[{i}]");
        let step = Object::root(&step, &path)?;
        let execute = step.function("execute")?.ok_or_else(|| step.error("execute", "is required (a function)"))?;
        let compensate = step.function("compensate")?;
        let name = step.get("name");
        raw_steps.push(RawStep {
            name: step.string("name")?,
            has_compensate: compensate.is_some(),
            retry: step.retry("retry")?,
            timeout_ms: step.number("timeoutMs")?,
            compensation_retry: step.retry("compensationRetry")?,
            compensation_timeout_ms: step.number("compensationTimeoutMs")?,
            compensate_on_failure: step.boolean("compensateOnFailure")?.unwrap_or(false),
            requires_version_check: step.boolean("requiresVersionCheck")?.unwrap_or(false),
            expected_version: step.version("expectedVersion")?,
        });
        js_steps.push(JsStep { name, execute, compensate });
    }
    let raw = RawDefinition {
        name: root.string("name")?,
        steps: raw_steps,
        retry: root.retry("retry")?,
        timeout_ms: root.number("timeoutMs")?,
        on_compensation_failure: root.string("onCompensationFailure")?,
    };
    Ok(Parsed { def: validate(raw)?, steps: js_steps })
}

/// A JS object being read, with its path for error messages.
struct Object<'a> {
    value: &'a JsValue,
    path: String,
}

impl<'a> Object<'a> {
    fn root(value: &'a JsValue, path: &str) -> Result<Self, DefinitionError> {
        if value.is_object() && !Array::is_array(value) {
            Ok(Object { value, path: path.to_owned() })
        } else {
            Err(DefinitionError::new(path, format!("must be an object, got {}", type_name(value))))
        }
    }

    fn field(&self, key: &str) -> String {
        if self.path == "definition" {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    fn error(&self, key: &str, reason: &str) -> DefinitionError {
        DefinitionError::new(self.field(key), reason)
    }

    fn type_error(&self, key: &str, expected: &str, got: &JsValue) -> DefinitionError {
        DefinitionError::new(self.field(key), format!("must be {expected}, got {}", type_name(got)))
    }

    fn get(&self, key: &str) -> JsValue {
        Reflect::get(self.value, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
    }

    /// `undefined` and `null` read as "not given".
    fn present(&self, key: &str) -> Option<JsValue> {
        Some(self.get(key)).filter(|v| !v.is_undefined() && !v.is_null())
    }

    fn number(&self, key: &str) -> Result<Option<f64>, DefinitionError> {
        self.present(key).map(|v| v.as_f64().ok_or_else(|| self.type_error(key, "a number", &v))).transpose()
    }

    fn string(&self, key: &str) -> Result<Option<String>, DefinitionError> {
        self.present(key).map(|v| v.as_string().ok_or_else(|| self.type_error(key, "a string", &v))).transpose()
    }

    fn boolean(&self, key: &str) -> Result<Option<bool>, DefinitionError> {
        self.present(key).map(|v| v.as_bool().ok_or_else(|| self.type_error(key, "a boolean", &v))).transpose()
    }

    fn function(&self, key: &str) -> Result<Option<Function>, DefinitionError> {
        self.present(key)
            .map(|v| v.dyn_into::<Function>().map_err(|v| self.type_error(key, "a function", &v)))
            .transpose()
    }

    fn version(&self, key: &str) -> Result<Option<Version>, DefinitionError> {
        self.present(key)
            .map(|v| version_of(&v).ok_or_else(|| self.type_error(key, "a number or a string", &v)))
            .transpose()
    }

    fn retry(&self, key: &str) -> Result<Option<RawRetry>, DefinitionError> {
        let Some(value) = self.present(key) else { return Ok(None) };
        let policy = Object::root(&value, &self.field(key))?;
        let non_retryable = match policy.present("nonRetryable") {
            None => None,
            Some(list) if Array::is_array(&list) => Some(
                Array::from(&list)
                    .iter()
                    .enumerate()
                    .map(|(i, name)| {
                        name.as_string()
                            .ok_or_else(|| policy.type_error(&format!("nonRetryable[{i}]"), "a string", &name))
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            Some(other) => return Err(policy.type_error("nonRetryable", "an array of error names", &other)),
        };
        Ok(Some(RawRetry {
            max_attempts: policy.number("maxAttempts")?,
            initial_delay_ms: policy.number("initialDelayMs")?,
            backoff: policy.string("backoff")?,
            max_delay_ms: policy.number("maxDelayMs")?,
            jitter: policy.boolean("jitter")?,
            non_retryable,
        }))
    }
}

/// A result's `version` (or an `expectedVersion`) as the core compares it.
pub fn version_of(value: &JsValue) -> Option<Version> {
    value.as_f64().map(Version::Number).or_else(|| value.as_string().map(Version::Text))
}

fn type_name(value: &JsValue) -> String {
    if value.is_null() {
        "null".into()
    } else if Array::is_array(value) {
        "an array".into()
    } else {
        value.js_typeof().as_string().unwrap_or_default()
    }
}
