//! The fields of plugin events, computed in the core with the semantics of the Python
//! extractors (the reference): the 73 fields of the cloudtrail plugin
//! (`plugins/cloudtrail/{fields,compute,record}.py`), the json plugin's fields
//! (`plugins/json/`), and the generic `evt.*` fields (`scaptools/fields/generic.py`).
//!
//! # Use
//!
//! ```
//! use std::cell::Cell;
//! use scaptools_core::fields::{compile, Header, Origin, Record};
//! use scaptools_core::value::Value;
//!
//! // once, when a rule is compiled
//! let user = compile("ct.user", None).unwrap();
//! let region = compile("json.value", Some("/awsRegion")).unwrap();
//! // once per source (the first-event cell once per registry, for evt.reltime)
//! let first_ts = Cell::new(None);
//! let origin = Origin { source: "aws_cloudtrail", plugin: Some("cloudtrail"),
//!                       hostname: "host", first_ts: &first_ts };
//! // per event: one Record shared by every field of the event
//! let payload = br#"{"userIdentity":{"type":"IAMUser","userName":"alice"},"awsRegion":"eu-west-1"}"#;
//! let mut rec = Record::new(payload, Header { ts: 1, num: 1 }, &origin);
//! assert_eq!(user.extract(&mut rec), Some(Value::Str("alice".into())));
//! assert_eq!(region.extract(&mut rec), Some(Value::Str("eu-west-1".into())));
//! ```
//!
//! * [`compile`] resolves a name and its argument once. `Err(FieldError::Unknown)`
//!   means the core does not have the field (a rule that uses it stays on the Python
//!   path); `Err(FieldError::Argument)` carries the load error the Python field set
//!   gives for a bad argument.
//! * [`Record`] is the per-event context: the payload, its [`Header`] and its
//!   [`Origin`]. Its JSON is read lazily and at most once (see `record.rs`).
//! * [`Field::extract`] gives `None` for no value, else a [`Value`]: `Str` (borrowed
//!   from the payload where no escape had to be decoded), `U64`, `I64` (a negative
//!   `evt.reltime*` when events go back in time), `Bool`, `List` (`ec2.imageids`).
//!
//! # What stays with the caller
//!
//! * `evt.plugininfo` is the cloudtrail plugin's text: compile it only for the source of
//!   the bundled cloudtrail plugin. `evt.pluginname` gives the origin's plugin name.
//! * `evt.asynctype` never has a value and `evt.type` is `pluginevent`: a Record is a
//!   plugin event (type 322); async events stay on the Python path.
//! * Fields of other plugins (Python-only or native ones loaded from a Falco config)
//!   are `Unknown`.
//!
//! # Known difference
//!
//! `ct.name`'s fast scan looks for `"eventName":` in the payload; the Python path scans
//! the whole event, header included (12 header bytes spelling `"eventName":` would be
//! needed to tell them apart).

pub mod clock;
mod cloudtrail;
mod compute;
mod generic;
pub mod json;
mod jsonplugin;
mod record;

use std::fmt;

pub use record::{Header, Origin, Record};

use crate::value::Value;
use cloudtrail::Ct;
use generic::Evt;
use jsonplugin::JsonField;

/// Why a field cannot be compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldError {
    /// the core does not have this field: the rule stays on the Python path
    Unknown(String),
    /// the field exists but the argument is wrong (the load error's text)
    Argument(String),
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldError::Unknown(name) => write!(f, "the core has no field {name}"),
            FieldError::Argument(text) => f.write_str(text),
        }
    }
}

impl std::error::Error for FieldError {}

/// A compiled field: what to compute for each event.
#[derive(Debug, Clone, PartialEq)]
pub struct Field(Kind);

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Ct(Ct),
    Json(JsonField),
    Evt(Evt),
}

/// The field `name` with its argument (`ec2.imageids[0]` is `("ec2.imageids", Some("0"))`).
pub fn compile(name: &str, arg: Option<&str>) -> Result<Field, FieldError> {
    if let Some(ct) = cloudtrail::compile(name, arg)? {
        return Ok(Field(Kind::Ct(ct)));
    }
    if let Some(field) = jsonplugin::compile(name, arg)? {
        return Ok(Field(Kind::Json(field)));
    }
    if let Some(evt) = generic::compile(name) {
        if let Some(arg) = arg {
            return Err(FieldError::Argument(format!(
                "filter {name} does not support an argument: {arg}"
            )));
        }
        return Ok(Field(Kind::Evt(evt)));
    }
    Err(FieldError::Unknown(name.to_owned()))
}

impl Field {
    /// The field's value for the event, or `None` (no value).
    pub fn extract<'a>(&self, rec: &mut Record<'a>) -> Option<Value<'a>> {
        match &self.0 {
            Kind::Ct(field) => field.extract(rec),
            Kind::Json(field) => field.extract(rec),
            Kind::Evt(field) => field.extract(rec),
        }
    }

    /// The value type as the Python field set names it: `string`, `uint64`, `abstime`,
    /// `reltime` or `bool`.
    pub fn type_name(&self) -> &'static str {
        match &self.0 {
            Kind::Ct(Ct::S3Bytes(_) | Ct::S3Count(_)) => "uint64",
            Kind::Evt(evt) => generic::type_name(*evt),
            _ => "string",
        }
    }

    /// Whether the field's values are lists (`ec2.imageids`).
    pub fn is_list(&self) -> bool {
        matches!(self.0, Kind::Ct(Ct::Ec2ImageIds(_)))
    }
}

#[cfg(test)]
mod tests;
