//! The `container.*` and `k8s.*` fields (`scaptools/fields/syscall/container.py`): the
//! values of the thread's container from the state's container table
//! (`State::container_value`); a thread whose cgroups name no container is on the
//! host. The k8s fields and the start time are not recorded in captures.

use std::borrow::Cow;

use serde_json::Value as Json;

use super::{event_thread, int, refuse_arg, Ctx};
use crate::fields::FieldError;
use crate::state::{ContainerKey, ContainerValue};
use crate::value::Value;

/// A compiled `container.*` or `k8s.*` field.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Field {
    /// one value of the thread's container
    Of(ContainerKey),
    /// no value on any event (not recorded in captures)
    Never(&'static str),
}

const FIELDS: &[(&str, Field)] = &[
    ("container.id", Field::Of(ContainerKey::Id)),
    ("container.name", Field::Of(ContainerKey::Name)),
    ("container.image", Field::Of(ContainerKey::Image)),
    ("container.image.id", Field::Of(ContainerKey::ImageId)),
    (
        "container.image.repository",
        Field::Of(ContainerKey::Repository),
    ),
    ("container.image.tag", Field::Of(ContainerKey::Tag)),
    ("container.image.digest", Field::Of(ContainerKey::Digest)),
    ("container.type", Field::Of(ContainerKey::Type)),
    ("container.privileged", Field::Of(ContainerKey::Privileged)),
    ("container.start_ts", Field::Never("abstime")),
    ("k8s.ns.name", Field::Never("string")),
    ("k8s.pod.name", Field::Never("string")),
];

/// `Ok(None)`: `name` is not a field of the core.
pub fn compile(name: &str, arg: Option<&str>) -> Result<Option<Field>, FieldError> {
    match FIELDS.iter().find(|(n, _)| *n == name) {
        Some((_, field)) => {
            refuse_arg(name, arg)?;
            Ok(Some(*field))
        }
        None => Ok(None),
    }
}

impl Field {
    pub fn type_name(&self) -> &'static str {
        match self {
            Field::Of(ContainerKey::Privileged) => "bool",
            Field::Of(_) => "string",
            Field::Never(ty) => ty,
        }
    }

    pub fn extract<'a>(&self, cx: &Ctx<'a>) -> Option<Value<'a>> {
        let Field::Of(key) = self else {
            return None;
        };
        let thread = event_thread(cx)?;
        match cx.state.container_value(thread, *key)? {
            ContainerValue::Text(text) => Some(Value::Str(text)),
            ContainerValue::Json(json) => json_value(json),
        }
    }
}

/// A member of a container event's JSON as the Python field gives it: a string, a
/// bool or an integer as it stands; `None` for what a value here cannot hold (a
/// fraction, a list or an object, which the events do not put in these members).
fn json_value(json: &Json) -> Option<Value<'_>> {
    match json {
        Json::String(text) => Some(Value::Str(Cow::Borrowed(text))),
        Json::Bool(b) => Some(Value::Bool(*b)),
        Json::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(v), _) => int(i128::from(v)),
            (None, Some(v)) => int(i128::from(v)),
            _ => None,
        },
        _ => None,
    }
}
