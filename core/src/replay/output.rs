//! A rule's output (docs/rules-language.md §8): its message text and the values of
//! its fields, as `scaptools/engine/output.py` renders them.
//!
//! The plain form (scaptools/engine/native.py `output`) is a list of parts: a string
//! is literal text, `["f", field, width, pad9, key]` a field, `["t", operand, width,
//! [[key, field], ...]]` a transformer with the fields it shows in JSON.

use std::borrow::Cow;

use serde_json::Value as Json;

use crate::cond::compile::{operand, Unsupported};
use crate::cond::expr::Operand;
use crate::cond::{Data, Values};

/// The text of a missing value.
pub const NA: &str = "<NA>";

#[derive(Debug, Clone)]
enum Part {
    Text(String),
    Field {
        field: usize,
        width: Option<usize>,
        pad9: bool,
        key: String,
    },
    Transform {
        op: Operand,
        width: Option<usize>,
        inner: Vec<(String, usize)>,
    },
}

/// A compiled output.
#[derive(Debug, Clone)]
pub struct Output {
    parts: Vec<Part>,
    /// every field the output reads (extracted before rendering)
    pub fields: Vec<usize>,
}

fn bad<T>(what: &str) -> Result<T, Unsupported> {
    Err(Unsupported(format!("output: {what}")))
}

impl Output {
    /// Compile the plain form of an output.
    pub fn compile(json: &Json) -> Result<Output, Unsupported> {
        let Some(items) = json.as_array() else {
            return bad("not a list");
        };
        let (mut parts, mut fields) = (Vec::with_capacity(items.len()), Vec::new());
        for item in items {
            parts.push(part(item, &mut fields)?);
        }
        Ok(Output { parts, fields })
    }

    /// The message `M`: the parts with each value's text (§8.2).
    pub fn message(&self, values: &Values) -> String {
        let mut out = String::with_capacity(128);
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Field {
                    field, width, pad9, ..
                } => {
                    let value = values.get(*field).map(Data::of);
                    let text = if *pad9 {
                        padded(value.as_ref())
                    } else {
                        text_of(value.as_ref())
                    };
                    push_fit(&mut out, &text, *width);
                }
                Part::Transform { op, width, .. } => {
                    push_fit(&mut out, &text_of(op.data(values).as_ref()), *width);
                }
            }
        }
        out
    }

    /// The `output_fields` of an alert, in token order (a later duplicate key wins).
    pub fn fields<'v>(&'v self, values: &'v Values) -> Vec<(&'v str, Option<Data<'v>>)> {
        let mut out = Vec::new();
        for part in &self.parts {
            match part {
                Part::Text(_) => {}
                Part::Field { field, key, .. } => {
                    out.push((key.as_str(), values.get(*field).map(Data::of)))
                }
                Part::Transform { inner, .. } => {
                    for (key, field) in inner {
                        out.push((key.as_str(), values.get(*field).map(Data::of)));
                    }
                }
            }
        }
        out
    }
}

fn width_of(json: &Json) -> Result<Option<usize>, Unsupported> {
    match json {
        Json::Null => Ok(None),
        other => match other.as_u64() {
            Some(w) => Ok(Some(w as usize)),
            None => bad("width"),
        },
    }
}

fn part(json: &Json, fields: &mut Vec<usize>) -> Result<Part, Unsupported> {
    if let Some(text) = json.as_str() {
        return Ok(Part::Text(text.to_string()));
    }
    let Some(items) = json.as_array() else {
        return bad("part");
    };
    match (items.first().and_then(Json::as_str), items.len()) {
        (Some("f"), 5) => {
            let Some(field) = items[1].as_u64() else {
                return bad("field number");
            };
            let field = field as usize;
            if !fields.contains(&field) {
                fields.push(field);
            }
            let key = items[4].as_str().map(str::to_string);
            match (key, items[3].as_bool()) {
                (Some(key), Some(pad9)) => Ok(Part::Field {
                    field,
                    width: width_of(&items[2])?,
                    pad9,
                    key,
                }),
                _ => bad("field token"),
            }
        }
        (Some("t"), 4) => {
            let (op, _) = operand(&items[1], fields)?;
            let mut inner = Vec::new();
            for pair in items[3].as_array().map(Vec::as_slice).unwrap_or(&[]) {
                match (
                    pair.get(0).and_then(Json::as_str),
                    pair.get(1).and_then(Json::as_u64),
                ) {
                    (Some(key), Some(field)) => {
                        let field = field as usize;
                        if !fields.contains(&field) {
                            fields.push(field);
                        }
                        inner.push((key.to_string(), field));
                    }
                    _ => return bad("transformer fields"),
                }
            }
            Ok(Part::Transform {
                op,
                width: width_of(&items[2])?,
                inner,
            })
        }
        _ => bad("part"),
    }
}

/// The text of a value (Python's `render_text`, §8.2).
pub fn text_of<'d>(value: Option<&'d Data>) -> Cow<'d, str> {
    match value {
        None => Cow::Borrowed(NA),
        Some(Data::Str(s)) => Cow::Borrowed(s),
        Some(Data::Int(n)) => Cow::Owned(n.to_string()),
        Some(Data::Bool(b)) => Cow::Borrowed(if *b { "true" } else { "false" }),
        Some(Data::Bytes(b)) => String::from_utf8_lossy(b),
        Some(Data::List(items)) if items.is_empty() => Cow::Borrowed(NA),
        Some(Data::List(items)) => {
            let texts: Vec<Cow<str>> = items.iter().map(|x| text_of(Some(x))).collect();
            Cow::Owned(format!("({})", texts.join(",")))
        }
    }
}

/// A number with at least nine digits (the `pad9` fields); other values as text.
fn padded<'d>(value: Option<&'d Data>) -> Cow<'d, str> {
    match value {
        Some(Data::Int(n)) => Cow::Owned(format!("{n:09}")),
        other => text_of(other),
    }
}

/// `text` cut to `width` bytes (a character cut in two becomes U+FFFD) and padded
/// with spaces to `width` bytes of the cut text (Python's `_fit`).
fn push_fit(out: &mut String, text: &str, width: Option<usize>) {
    let Some(width) = width else {
        out.push_str(text);
        return;
    };
    let raw = &text.as_bytes()[..text.len().min(width)];
    out.push_str(&String::from_utf8_lossy(raw));
    out.extend(std::iter::repeat_n(' ', width - raw.len()));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Value;
    use serde_json::json;

    fn values() -> Values<'static> {
        let mut v = Values::new(3);
        let mut table: Vec<Option<Value<'static>>> =
            vec![Some(Value::Str("héllo".into())), None, Some(Value::U64(42))];
        for f in 0..3 {
            v.fill(f, &mut table);
        }
        v
    }

    #[test]
    fn message_and_fields() {
        let out = Output::compile(&json!([
            "a=",
            ["f", 0, null, false, "x.a"],
            " b=",
            ["f", 1, null, false, "x.b"],
            " n=",
            ["f", 2, null, true, "x.n"],
            " w=[",
            ["f", 0, 2, false, "x.a"],
            "]",
            " u=",
            [
                "t",
                ["tf", "toupper", [["field", 0, false]], null, false],
                null,
                [["x.a", 0]]
            ]
        ]))
        .unwrap();
        let v = values();
        assert_eq!(
            out.message(&v),
            "a=héllo b=<NA> n=000000042 w=[h\u{fffd}] u=HéLLO"
        );
        let keys: Vec<&str> = out.fields(&v).iter().map(|(k, _)| *k).collect();
        assert_eq!(keys, ["x.a", "x.b", "x.n", "x.a", "x.a"]);
    }

    #[test]
    fn widths_pad_and_cut() {
        let mut s = String::new();
        push_fit(&mut s, "ab", Some(4));
        push_fit(&mut s, "abcdef", Some(3));
        assert_eq!(s, "ab  abc");
    }

    #[test]
    fn list_texts() {
        let list = Data::List(vec![Data::Str("a".into()), Data::Int(2)]);
        assert_eq!(text_of(Some(&list)), "(a,2)");
        assert_eq!(text_of(Some(&Data::List(vec![]))), "<NA>");
    }
}
