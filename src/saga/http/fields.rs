//! Reading a definition's objects field by field, each error naming its field
//! (`steps[1].request.url`). `null` reads as absent, as an omitted field.

use super::super::definition::DefinitionError;
use crate::json::Json;

/// An object's members and where it sits.
#[derive(Clone)]
pub(super) struct Members<'a> {
    pub(super) at: String,
    pub(super) members: &'a [(String, Json)],
}

impl<'a> Members<'a> {
    /// `value`, which must be an object, found at `at`.
    pub(super) fn of(value: &'a Json, at: String) -> Result<Members<'a>, DefinitionError> {
        match value.as_object() {
            Some(members) => Ok(Members { at, members }),
            None => Err(DefinitionError::new(at, format!("must be an object, got {}", value.kind_name()))),
        }
    }

    /// The path of member `key`.
    pub(super) fn field(&self, key: &str) -> String {
        if self.at.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.at)
        }
    }

    /// Rejects the first member not in `allowed`: a typo must not be silently ignored.
    pub(super) fn allow(&self, allowed: &[&str]) -> Result<(), DefinitionError> {
        match self.members.iter().find(|(k, _)| !allowed.contains(&k.as_str())) {
            Some((key, _)) => {
                let reason = format!("unknown field (expected one of: {})", allowed.join(", "));
                Err(DefinitionError::new(self.field(key), reason))
            }
            None => Ok(()),
        }
    }

    /// Member `key`, unless absent or `null`.
    pub(super) fn get(&self, key: &str) -> Option<&'a Json> {
        self.members.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v).filter(|v| **v != Json::Null)
    }

    fn typed<T>(
        &self,
        key: &str,
        what: &str,
        read: impl Fn(&'a Json) -> Option<T>,
    ) -> Result<Option<T>, DefinitionError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => match read(v) {
                Some(t) => Ok(Some(t)),
                None => Err(DefinitionError::new(self.field(key), format!("must be {what}, got {}", v.kind_name()))),
            },
        }
    }

    pub(super) fn string(&self, key: &str) -> Result<Option<&'a str>, DefinitionError> {
        self.typed(key, "a string", Json::as_str)
    }

    pub(super) fn number(&self, key: &str) -> Result<Option<f64>, DefinitionError> {
        self.typed(key, "a number", Json::as_f64)
    }

    pub(super) fn boolean(&self, key: &str) -> Result<Option<bool>, DefinitionError> {
        self.typed(key, "a boolean", Json::as_bool)
    }

    pub(super) fn array(&self, key: &str) -> Result<Option<&'a [Json]>, DefinitionError> {
        self.typed(key, "an array", Json::as_array)
    }

    /// Member `key` as an object; its fields are named under the returned path.
    pub(super) fn object(&self, key: &str) -> Result<Option<Members<'a>>, DefinitionError> {
        self.get(key).map(|v| Members::of(v, self.field(key))).transpose()
    }
}
