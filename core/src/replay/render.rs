//! Alert lines in Falco's text and JSON forms (docs/rules-language.md §10), byte for
//! byte as `format_text` and `format_json` of `scaptools/engine/output.py` write them.
//!
//! The local time of the text form uses the UTC offset in force when the alert is
//! formatted: the caller passes it (Python reads it once per batch of events).

use crate::cond::Data;
use crate::fields::{clock, json};

/// Falco's output options (the keys of `scap replay -o`, §10).
#[derive(Debug, Clone, Copy, Default)]
pub struct Format {
    pub json: bool,
    pub iso8601: bool,
    pub include_output: bool,
    pub include_tags: bool,
    pub include_message: bool,
    pub include_fields: bool,
}

/// One alert's parts.
#[derive(Debug)]
pub struct Alert<'x> {
    pub rule: &'x str,
    pub priority: &'x str,
    pub source: &'x str,
    pub tags: &'x [String],
    pub hostname: &'x str,
    pub ts: u64,
    pub message: &'x str,
    pub fields: &'x [(&'x str, Option<Data<'x>>)],
}

/// The fields whose text is a time: JSON shows the timestamp in ns instead (§10.2).
const TIME_STRING_FIELDS: [&str; 5] = [
    "evt.time",
    "evt.time.s",
    "evt.time.iso8601",
    "evt.datetime",
    "evt.datetime.s",
];

/// Append the alert's line (without the newline) to `out`.
pub fn line(format: &Format, alert: &Alert, offset: i64, out: &mut String) {
    if format.json {
        json_line(format, alert, offset, out);
    } else if needs_escape(alert.message) || needs_escape(alert.priority) {
        let text = stamped(format, alert, offset);
        escape_text(&text, out);
    } else {
        stamp(format, alert, offset, out); // a time stamp never needs escaping
        out.push_str(alert.message);
    }
}

fn needs_escape(text: &str) -> bool {
    next_escape(text.as_bytes(), 0).is_some()
}

/// `<T>: <P> <M>` (the JSON `output` property, unescaped).
fn stamped(format: &Format, alert: &Alert, offset: i64) -> String {
    let mut s = String::with_capacity(alert.message.len() + 48);
    stamp(format, alert, offset, &mut s);
    s.push_str(alert.message);
    s
}

/// `<T>` (§10): ISO-8601 in UTC, or the local time at UTC offset `offset` seconds.
fn time(format: &Format, alert: &Alert, offset: i64, out: &mut String) {
    if format.iso8601 {
        clock::iso(alert.ts, "+0000", out);
    } else {
        clock::at_offset(alert.ts, offset, out);
    }
}

/// `<T>: <P> ` (§10).
fn stamp(format: &Format, alert: &Alert, offset: i64, out: &mut String) {
    time(format, alert, offset, out);
    out.push_str(": ");
    out.push_str(alert.priority);
    out.push(' ');
}

/// The text line: as it is, unless it holds `"`, `\` or a control character; then
/// escaped as the inside of a JSON string.
fn escape_text(text: &str, out: &mut String) {
    if needs_escape(text) {
        escape_into(text, out);
    } else {
        out.push_str(text);
    }
}

/// `text` escaped as the inside of a JSON string (json.dumps, ensure_ascii=False).
fn escape_into(text: &str, out: &mut String) {
    let bytes = text.as_bytes();
    let mut start = 0;
    while let Some(i) = next_escape(bytes, start) {
        let b = bytes[i];
        out.push_str(&text[start..i]);
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x08 => out.push_str("\\b"),
            0x0c => out.push_str("\\f"),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.push_str("\\u00");
                out.push(HEX[usize::from(b >> 4)] as char);
                out.push(HEX[usize::from(b & 15)] as char);
            }
        }
        start = i + 1;
    }
    out.push_str(&text[start..]);
}

/// The first byte at or after `from` that is written escaped in a JSON string (`"`,
/// `\\` or a control character): the JSON check's string scan, sixteen bytes at a time.
fn next_escape(bytes: &[u8], from: usize) -> Option<usize> {
    json::find_special(bytes, from)
}

fn string(text: &str, out: &mut String) {
    out.push('"');
    escape_into(text, out);
    out.push('"');
}

fn value(v: Option<&Data>, out: &mut String) {
    match v {
        None => out.push_str("null"),
        Some(Data::Str(s)) => string(s, out),
        Some(Data::Int(n)) => out.push_str(&n.to_string()),
        Some(Data::Bool(b)) => out.push_str(if *b { "true" } else { "false" }),
        Some(Data::Bytes(b)) => string(&String::from_utf8_lossy(b), out),
        Some(Data::List(items)) if items.is_empty() => out.push_str("null"),
        Some(Data::List(items)) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                value(Some(item), out);
            }
            out.push(']');
        }
    }
}

/// The JSON object (keys sorted, compact).
fn json_line(format: &Format, alert: &Alert, offset: i64, out: &mut String) {
    out.push_str("{\"hostname\":");
    string(alert.hostname, out);
    if format.include_message {
        out.push_str(",\"message\":");
        string(alert.message, out);
    }
    if format.include_output {
        // the text line, escaped as it is written (the time needs no escape)
        out.push_str(",\"output\":\"");
        time(format, alert, offset, out);
        out.push_str(": ");
        escape_into(alert.priority, out);
        out.push(' ');
        escape_into(alert.message, out);
        out.push('"');
    }
    if format.include_fields {
        out.push_str(",\"output_fields\":");
        output_fields(format, alert, out);
    }
    out.push_str(",\"priority\":");
    string(alert.priority, out);
    out.push_str(",\"rule\":");
    string(alert.rule, out);
    out.push_str(",\"source\":");
    string(alert.source, out);
    if format.include_tags {
        let mut tags: Vec<&str> = alert.tags.iter().map(String::as_str).collect();
        tags.sort_unstable();
        tags.dedup();
        out.push_str(",\"tags\":[");
        for (i, tag) in tags.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            string(tag, out);
        }
        out.push(']');
    }
    out.push_str(",\"time\":\"");
    clock::iso(alert.ts, "Z", out);
    out.push_str("\"}");
}

fn output_fields(format: &Format, alert: &Alert, out: &mut String) {
    let time_key = if format.iso8601 {
        "evt.time.iso8601"
    } else {
        "evt.time"
    };
    // a dict: a later duplicate key wins; then the time key
    let mut entries: Vec<(&str, Option<&Data>)> = Vec::with_capacity(alert.fields.len() + 1);
    for (key, v) in alert.fields {
        match entries.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = v.as_ref(),
            None => entries.push((key, v.as_ref())),
        }
    }
    entries.sort_by(|a, b| a.0.cmp(b.0));
    let ts = Data::Int(i128::from(alert.ts));
    let mut placed = false;
    out.push('{');
    let mut first = true;
    let mut emit = |key: &str, v: Option<&Data>, out: &mut String| {
        if !first {
            out.push(',');
        }
        first = false;
        string(key, out);
        out.push(':');
        value(v, out);
    };
    for (key, v) in entries {
        if !placed && key >= time_key {
            placed = true;
            emit(time_key, Some(&ts), out);
            if key == time_key {
                continue;
            }
        }
        let base = key.split('[').next().unwrap_or(key);
        if v.is_some() && TIME_STRING_FIELDS.contains(&base) {
            emit(key, Some(&ts), out);
        } else {
            emit(key, v, out);
        }
    }
    if !placed {
        emit(time_key, Some(&ts), out);
    }
    out.push('}');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_escapes_like_json() {
        let mut s = String::new();
        escape_text("a \"b\" \\ \u{1}\n é", &mut s);
        assert_eq!(s, "a \\\"b\\\" \\\\ \\u0001\\n é");
        s.clear();
        escape_text("plain é \u{7f}", &mut s);
        assert_eq!(s, "plain é \u{7f}");
        for text in [
            "0123456789abcdef\"",
            "0123456789abcd\x1f",
            "\\0123456789",
            "é€😀é€😀é€😀\t",
        ] {
            let naive = text
                .bytes()
                .position(|b| b < 0x20 || b == b'"' || b == b'\\');
            assert_eq!(next_escape(text.as_bytes(), 0), naive, "{text:?}");
        }
    }

    #[test]
    fn json_object_sorted() {
        let fields = [
            ("ct.user", Some(Data::Str("al\"ice".into()))),
            ("evt.time", Some(Data::Str("x".into()))),
            ("a.b", None),
        ];
        let tags = vec!["z".to_string(), "a".to_string()];
        let alert = Alert {
            rule: "R",
            priority: "Critical",
            source: "aws_cloudtrail",
            tags: &tags,
            hostname: "h",
            ts: 1_632_360_600_000_000_000,
            message: "m",
            fields: &fields,
        };
        let format = Format {
            json: true,
            include_output: true,
            include_tags: true,
            include_fields: true,
            ..Format::default()
        };
        let mut s = String::new();
        line(&format, &alert, 0, &mut s);
        assert_eq!(
            s,
            "{\"hostname\":\"h\",\"output\":\"01:30:00.000000000: Critical m\",\"output_fields\":{\"a.b\":null,\
             \"ct.user\":\"al\\\"ice\",\"evt.time\":1632360600000000000},\"priority\":\"Critical\",\"rule\":\"R\",\
             \"source\":\"aws_cloudtrail\",\"tags\":[\"a\",\"z\"],\"time\":\"2021-09-23T01:30:00.000000000Z\"}"
        );
    }
}
