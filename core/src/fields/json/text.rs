//! Renderings of JSON values: a string decoded, a value as compact text, the whole
//! document indented (Go's `json.Indent` as `plugins/json/rawjson.py` writes it), and
//! a number read the way the cloudtrail plugin counts bytes.

use std::borrow::Cow;

use super::check::hex4;
use super::scan::{is_ws, skip_string};

/// The content of a JSON string (the bytes between its quotes) with its escapes
/// decoded; `None` when it is not valid (bad UTF-8, a bad escape, a lone surrogate).
pub fn decode_string(raw: &[u8]) -> Option<Cow<'_, str>> {
    let text = std::str::from_utf8(raw).ok()?;
    if !raw.contains(&b'\\') {
        return Some(Cow::Borrowed(text));
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = text;
    while let Some(p) = rest.find('\\') {
        out.push_str(&rest[..p]);
        let esc = &rest.as_bytes()[p + 1..];
        let (ch, used) = match esc.first()? {
            b'"' => ('"', 1),
            b'\\' => ('\\', 1),
            b'/' => ('/', 1),
            b'b' => ('\u{8}', 1),
            b'f' => ('\u{c}', 1),
            b'n' => ('\n', 1),
            b'r' => ('\r', 1),
            b't' => ('\t', 1),
            b'u' => unicode_escape(esc)?,
            _ => return None,
        };
        out.push(ch);
        rest = rest.get(p + 1 + used..)?;
    }
    out.push_str(rest);
    Some(Cow::Owned(out))
}

/// The character of `u` escape `esc` (`u` then hex digits, maybe a second `\u` for a
/// surrogate pair) and how many bytes it used after the backslash.
fn unicode_escape(esc: &[u8]) -> Option<(char, usize)> {
    let unit = hex4(esc, 1)?;
    match unit {
        0xD800..=0xDBFF => {
            if esc.get(5..7) != Some(b"\\u") {
                return None;
            }
            let low = hex4(esc, 7)?;
            if !(0xDC00..=0xDFFF).contains(&low) {
                return None;
            }
            let code = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
            Some((char::from_u32(code)?, 11))
        }
        _ => Some((char::from_u32(unit)?, 5)),
    }
}

/// The JSON text without whitespace outside strings (borrowed when it has none).
pub fn compact(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let mut out: Option<String> = None;
    let (mut i, mut kept) = (0, 0);
    while i < bytes.len() {
        match bytes[i] {
            b'"' => i = skip_string(bytes, i),
            b if is_ws(b) => {
                let end = i + bytes[i..].iter().take_while(|b| is_ws(**b)).count();
                let buf = out.get_or_insert_with(|| String::with_capacity(text.len()));
                buf.push_str(&text[kept..i]);
                kept = end;
                i = end;
            }
            _ => i += 1,
        }
    }
    match out {
        None => Cow::Borrowed(text),
        Some(mut buf) => {
            buf.push_str(&text[kept..]);
            Cow::Owned(buf)
        }
    }
}

/// The document indented by two spaces per level, `": "` after keys, empty containers
/// on one line, whitespace at the end kept as it was; `None` when the text would pass
/// [`indent_limit`] (the text of a deeply nested document grows with the square of its
/// depth, and an untrusted payload must not make the core exhaust memory).
pub fn indent(doc: &str) -> Option<String> {
    let limit = indent_limit(doc.len());
    let bytes = doc.as_bytes();
    let body_end = bytes.len() - bytes.iter().rev().take_while(|b| is_ws(**b)).count();
    let mut out = String::with_capacity(doc.len() * 2);
    let (mut level, mut fresh) = (0usize, false); // `fresh`: a container was just opened
    let newline = |out: &mut String, level: usize| {
        out.push('\n');
        for _ in 0..level {
            out.push_str("  ");
        }
    };
    let mut i = 0;
    while i < body_end {
        if out.len() > limit {
            return None;
        }
        let b = bytes[i];
        if is_ws(b) {
            i += 1;
            continue;
        }
        if fresh && b != b'}' && b != b']' {
            newline(&mut out, level);
        }
        let was_fresh = std::mem::replace(&mut fresh, false);
        match b {
            b'{' | b'[' => {
                out.push(b as char);
                level += 1;
                fresh = true;
                i += 1;
            }
            b'}' | b']' => {
                level = level.saturating_sub(1);
                if !was_fresh {
                    newline(&mut out, level);
                }
                out.push(b as char);
                i += 1;
            }
            b',' => {
                out.push(',');
                newline(&mut out, level);
                i += 1;
            }
            b':' => {
                out.push_str(": ");
                i += 1;
            }
            _ => {
                let end = if b == b'"' {
                    skip_string(bytes, i).min(body_end)
                } else {
                    i + bytes[i..body_end]
                        .iter()
                        .position(|c| is_ws(*c) || b"[]{},:\"".contains(c))
                        .unwrap_or(body_end - i)
                };
                out.push_str(doc.get(i..end).unwrap_or(""));
                i = end.max(i + 1);
            }
        }
    }
    out.push_str(doc.get(body_end..).unwrap_or(""));
    (out.len() <= limit).then_some(out)
}

/// The longest indented text [`indent`] builds for a document of `len` bytes: 16 times
/// its length plus 1 MiB (real records take 2 to 4 times theirs).
pub fn indent_limit(len: usize) -> usize {
    len.saturating_mul(16).saturating_add(1 << 20)
}

/// A number as the cloudtrail plugin counts bytes: an integer that fits 64 bits
/// (signed or not) modulo 2^64, any other number (fractions, exponents, larger
/// integers) as a double cut toward zero, modulo 2^64. `text` is a valid JSON number.
pub fn number_u64(text: &str) -> u64 {
    if !text.bytes().any(|b| matches!(b, b'.' | b'e' | b'E')) {
        if let Ok(v) = text.parse::<u64>() {
            return v;
        }
        if let Ok(v) = text.parse::<i64>() {
            return v as u64; // two's complement: the value modulo 2^64
        }
    }
    text.parse::<f64>().map_or(0, float_u64)
}

/// A finite double cut toward zero, modulo 2^64 (Python's `int(f) % 2**64`).
fn float_u64(f: f64) -> u64 {
    if !f.is_finite() || f.abs() < 1.0 {
        return 0;
    }
    let bits = f.to_bits();
    let exp = ((bits >> 52) & 0x7FF) as i32 - 1075;
    let mantissa = (bits & ((1 << 52) - 1)) | (1 << 52);
    let magnitude = if exp >= 64 {
        0
    } else if exp >= 0 {
        ((u128::from(mantissa)) << exp) as u64
    } else if exp > -64 {
        mantissa >> -exp
    } else {
        0
    };
    if f < 0.0 {
        magnitude.wrapping_neg()
    } else {
        magnitude
    }
}
