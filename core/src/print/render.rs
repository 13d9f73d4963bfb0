//! The text of a shown syscall event, as scaptools/view/lines.py and formatting.py
//! write it: sysdig's default line, its `-j` object, and `-p` formats (text and JSON).

use std::fmt::Write;

use super::json::{self, python_int, Int};
use std::borrow::Cow;

use super::plan::{Extractor, Part, Plan, Render, Token};
use crate::fields::clock;
use crate::sysfields::{push_event_args, Ctx, MAX_BUF_LEN};
use crate::value::Value;

const NS: u64 = 1_000_000_000;

/// What rendering one event gave.
#[derive(Debug, PartialEq, Eq)]
pub enum Shown {
    /// a line was written (without its newline)
    Line,
    /// the event prints nothing (a field without a value, no format for syscall events)
    Skip,
    /// a case the core does not write as Python does: hand the print to Python
    Python(&'static str),
}

/// Local `HH:MM:SS` of the last second written (consecutive events share it).
#[derive(Debug, Default)]
pub struct Clock {
    secs: Option<u64>,
    text: String,
}

impl Clock {
    /// Append `HH:MM:SS.nnnnnnnnn` of `ts` in local time (`lines.output_time`).
    fn push(&mut self, ts: u64, out: &mut String) -> bool {
        let secs = ts / NS;
        if self.secs != Some(secs) {
            let Some(civil) = i64::try_from(secs).ok().and_then(clock::local) else {
                return false;
            };
            self.text = civil.time();
            self.secs = Some(secs);
        }
        out.push_str(&self.text);
        let _ = write!(out, ".{:09}", ts % NS);
        true
    }
}

/// Write the event's text for `plan` into `out` (nothing on `Skip` or `Python`).
pub fn event(plan: &Plan, cx: &Ctx<'_>, clock: &mut Clock, out: &mut String) -> Shown {
    let start = out.len();
    let shown = match &plan.render {
        Render::Nothing => Shown::Skip,
        Render::Line => line(plan, cx, clock, out),
        Render::Json => json_line(plan, cx, out),
        Render::Format {
            json: false,
            keep_all,
            fields,
            parts,
            ..
        } => format_text(*keep_all, fields, parts, cx, out),
        Render::Format {
            keep_all,
            fields,
            parts,
            order,
            ..
        } => format_json(*keep_all, fields, parts, order, cx, out),
    };
    if shown != Shown::Line {
        out.truncate(start);
    }
    shown
}

/// The texts of `evt.dir` and `evt.type`.
fn line_texts<'a>(plan: &Plan, cx: &Ctx<'a>) -> Option<[Value<'a>; 2]> {
    let [dir, etype] = plan.line_fields.as_ref()?;
    Some([dir.extract(cx)?, etype.extract(cx)?])
}

impl Extractor {
    fn extract<'a>(&self, cx: &Ctx<'a>) -> Option<Value<'a>> {
        match self {
            Extractor::Field(field) => field.extract(cx),
            Extractor::Args { limit } => {
                let mut text = String::new();
                push_event_args(cx, *limit, true, &mut text)?;
                Some(Value::Str(Cow::Owned(text)))
            }
        }
    }
}

fn text<'v>(value: &'v Value<'_>) -> &'v str {
    match value {
        Value::Str(s) => s,
        _ => "",
    }
}

/// `tid` as a signed number (`lines.default_line`).
fn signed_tid(tid: u64) -> i64 {
    tid as i64
}

/// The thread's `comm`, `None` without a thread (`lines.thread_name`).
fn comm<'a>(cx: &Ctx<'a>) -> Option<&'a str> {
    cx.state.event_thread().map(|t| t.comm.as_str())
}

fn line(plan: &Plan, cx: &Ctx<'_>, clock: &mut Clock, out: &mut String) -> Shown {
    let Some([dir, etype]) = line_texts(plan, cx) else {
        return Shown::Python("a default line field has no value");
    };
    let ev = &cx.ev;
    let _ = write!(out, "{} ", ev.num);
    if !clock.push(ev.ts, out) {
        return Shown::Python("no local time");
    }
    let name = comm(cx).filter(|c| !c.is_empty()).unwrap_or("<NA>");
    let _ = write!(
        out,
        " {} {name} ({}) {} {} ",
        ev.cpu,
        signed_tid(ev.tid),
        text(&dir),
        text(&etype),
    );
    match push_event_args(cx, Some(MAX_BUF_LEN), true, out) {
        Some(()) => Shown::Line,
        None => Shown::Python("the event's arguments do not render"),
    }
}

fn json_line(plan: &Plan, cx: &Ctx<'_>, out: &mut String) -> Shown {
    let Some([dir, etype]) = line_texts(plan, cx) else {
        return Shown::Python("a default line field has no value");
    };
    let mut info = String::new();
    if push_event_args(cx, None, true, &mut info).is_none() {
        return Shown::Python("the event's arguments do not render");
    }
    let ev = &cx.ev;
    let _ = write!(out, "{{\"evt.cpu\":{},\"evt.dir\":", ev.cpu);
    json::string(text(&dir), out);
    out.push_str(",\"evt.info\":");
    json::string(&info, out);
    let _ = write!(
        out,
        ",\"evt.num\":{},\"evt.outputtime\":{},\"evt.type\":",
        ev.num, ev.ts
    );
    json::string(text(&etype), out);
    out.push_str(",\"proc.name\":");
    match comm(cx) {
        Some(name) => json::string(name, out),
        None => out.push_str("null"),
    }
    let _ = write!(out, ",\"thread.tid\":{}}}", signed_tid(ev.tid));
    Shown::Line
}

/// `formatting.value_text`: one value as sysdig prints it.
fn push_value(value: &Value<'_>, pad9: bool, out: &mut String) {
    let _ = match value {
        Value::Str(s) => {
            out.push_str(s);
            Ok(())
        }
        Value::U64(n) if pad9 => write!(out, "{n:09}"),
        Value::I64(n) if pad9 => write!(out, "{n:09}"),
        Value::U64(n) => write!(out, "{n}"),
        Value::I64(n) => write!(out, "{n}"),
        Value::Bool(b) => {
            out.push_str(if *b { "true" } else { "false" });
            Ok(())
        }
        Value::List(items) => {
            out.push('(');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_value(item, false, out);
            }
            out.push(')');
            Ok(())
        }
    };
}

fn format_text(
    keep_all: bool,
    fields: &[Extractor],
    parts: &[Part],
    cx: &Ctx<'_>,
    out: &mut String,
) -> Shown {
    for part in parts {
        match part {
            Part::Text(t) => out.push_str(t),
            Part::Field(token) => match fields[token.field].extract(cx) {
                Some(value) => push_value(&value, token.pad9, out),
                None if keep_all => out.push_str("<NA>"),
                None => return Shown::Skip,
            },
        }
    }
    Shown::Line
}

fn format_json(
    keep_all: bool,
    fields: &[Extractor],
    parts: &[Part],
    order: &[usize],
    cx: &Ctx<'_>,
    out: &mut String,
) -> Shown {
    out.push('{');
    for (n, &at) in order.iter().enumerate() {
        let Part::Field(token) = &parts[at] else {
            continue;
        };
        let value = fields[token.field].extract(cx);
        if value.is_none() && !keep_all {
            return Shown::Skip;
        }
        if n > 0 {
            out.push(',');
        }
        json::string(&token.key, out);
        out.push(':');
        if let Err(why) = json_value(token, value.as_ref(), cx.ev.ts, out) {
            return Shown::Python(why);
        }
    }
    out.push('}');
    Shown::Line
}

/// `formatting._json_value` (time strings as the event's timestamp).
fn json_value(
    token: &Token,
    value: Option<&Value<'_>>,
    ts: u64,
    out: &mut String,
) -> Result<(), &'static str> {
    if token.time {
        let _ = write!(out, "{ts}");
        return Ok(());
    }
    let _ = match value {
        None => {
            out.push_str("null");
            Ok(())
        }
        Some(Value::Bool(b)) => {
            out.push_str(if *b { "true" } else { "false" });
            Ok(())
        }
        Some(Value::U64(n)) => write!(out, "{n}"),
        Some(Value::I64(n)) => write!(out, "{n}"),
        Some(Value::Str(s)) if token.json_int => match python_int(s) {
            Int::Number(n) => write!(out, "{n}"),
            Int::Text => {
                json::string(s, out);
                Ok(())
            }
            Int::Unsure => return Err("a numeric field's text Python reads as an integer"),
        },
        Some(value) => {
            let mut text = String::new();
            push_value(value, token.pad9, &mut text);
            json::string(&text, out);
            Ok(())
        }
    };
    Ok(())
}
