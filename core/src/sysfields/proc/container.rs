//! The `container.*` and `k8s.*` fields (`scaptools/fields/syscall/container.py`).
//! The values from container events wait for the core's container table; until then
//! only the fields that never have a value here are compiled.

use super::{refuse_arg, Ctx};
use crate::fields::FieldError;
use crate::value::Value;

/// A compiled `container.*` or `k8s.*` field.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Field {
    /// no value on any event (not recorded in captures)
    Never(&'static str),
}

const NEVER: &[(&str, &str)] = &[
    ("container.start_ts", "abstime"),
    ("k8s.ns.name", "string"),
    ("k8s.pod.name", "string"),
];

/// The fields whose values come from container events.
const FROM_EVENTS: &[&str] = &[
    "container.id",
    "container.name",
    "container.image",
    "container.image.id",
    "container.image.repository",
    "container.image.tag",
    "container.image.digest",
    "container.type",
    "container.privileged",
];

/// `Ok(None)`: `name` is not a field of the core.
pub fn compile(name: &str, arg: Option<&str>) -> Result<Option<Field>, FieldError> {
    if FROM_EVENTS.contains(&name) {
        refuse_arg(name, arg)?;
        return Ok(None);
    }
    match NEVER.iter().find(|(n, _)| *n == name) {
        Some((_, ty)) => {
            refuse_arg(name, arg)?;
            Ok(Some(Field::Never(ty)))
        }
        None => Ok(None),
    }
}

impl Field {
    pub fn type_name(&self) -> &'static str {
        match self {
            Field::Never(ty) => ty,
        }
    }

    pub fn extract<'a>(&self, _cx: &Ctx<'a>) -> Option<Value<'a>> {
        match self {
            Field::Never(_) => None,
        }
    }
}
