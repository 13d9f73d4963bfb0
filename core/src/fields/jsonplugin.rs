//! The json plugin's fields (docs/json-plugin.md): `json.value[<pointer>]`,
//! `json.obj`, `json.rawtime` and their `jevt.*` aliases, as `plugins/json/` gives
//! them. Every one needs a payload whose first byte is `{` or `[` and that is JSON
//! as it stands.

use std::borrow::Cow;

use super::cloudtrail::string_of;
use super::json;
use super::record::Record;
use super::FieldError;
use crate::value::Value;

/// One json plugin field.
#[derive(Debug, Clone, PartialEq)]
pub enum JsonField {
    /// `json.value[ptr]`: the reference tokens (none for the empty pointer, the
    /// whole document) with each token read as an array index
    Value(Vec<(String, Option<usize>)>),
    Obj,
    RawTime,
}

/// The json field `name[arg]`: `Ok(None)` when `name` is not one of them.
pub fn compile(name: &str, arg: Option<&str>) -> Result<Option<JsonField>, FieldError> {
    let base = match name
        .strip_prefix("json.")
        .or_else(|| name.strip_prefix("jevt."))
    {
        Some(base @ ("value" | "obj" | "rawtime")) => base,
        _ => return Ok(None),
    };
    match (base, arg) {
        ("value", None) => Err(FieldError::Argument(format!(
            "filter {name} requires an argument but none provided"
        ))),
        ("value", Some(pointer)) => Ok(Some(JsonField::Value(tokens(pointer)))),
        (_, Some(arg)) => Err(FieldError::Argument(format!(
            "filter {name} does not allow nor require an argument but one is provided: {arg}"
        ))),
        ("obj", None) => Ok(Some(JsonField::Obj)),
        _ => Ok(Some(JsonField::RawTime)),
    }
}

/// The reference tokens of a pointer (docs/json-plugin.md §4 steps 3-5): none for
/// `""`; otherwise one leading `/` dropped, cut at every `/`, `~1` then `~0` unescaped.
fn tokens(pointer: &str) -> Vec<(String, Option<usize>)> {
    if pointer.is_empty() {
        return Vec::new();
    }
    let rest = pointer.strip_prefix('/').unwrap_or(pointer);
    rest.split('/')
        .map(|t| {
            let token = t.replace("~1", "/").replace("~0", "~");
            let index = json::go_atoi(&token);
            (token, index)
        })
        .collect()
}

impl JsonField {
    /// The field's value for the event, or `None`.
    pub fn extract<'a>(&self, rec: &mut Record<'a>) -> Option<Value<'a>> {
        let text = match self {
            JsonField::Value(tokens) if tokens.is_empty() => json::compact(rec.json_text()?),
            JsonField::Value(tokens) => value(rec, tokens)?,
            JsonField::Obj => Cow::Owned(json::indent(rec.json_text()?)?),
            JsonField::RawTime => {
                rec.json_text()?;
                Cow::Owned(rec.header().ts.to_string())
            }
        };
        Some(Value::Str(text))
    }
}

/// `json.value[ptr]`: walk the tokens (the first member of a name in objects, an
/// index in arrays), then a string decoded or any other value as compact text.
fn value<'a>(rec: &mut Record<'a>, tokens: &[(String, Option<usize>)]) -> Option<Cow<'a, str>> {
    if rec.doc().len() != rec.payload().len() {
        return None; // NULs around the payload: not JSON for this plugin
    }
    let doc = rec.doc();
    let mut at = json::skip_ws(doc, 0);
    for (step, (token, index)) in tokens.iter().enumerate() {
        at = match doc.get(at)? {
            b'{' if step == 0 => rec.top_member(token)?,
            b'{' => rec.member_of(at, token)?,
            b'[' => json::element(doc, at, (*index)?)?,
            _ => return None,
        };
    }
    let text = rec.json_text()?;
    if let Some(s) = string_of(text, at) {
        return Some(s);
    }
    let end = json::value_end(doc, at);
    Some(json::compact(text.get(at..end)?))
}
