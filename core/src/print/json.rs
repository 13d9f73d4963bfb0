//! JSON text as the Python path writes it with `orjson.dumps` (compact, keys sorted by
//! the caller), and Python's `int(text)` for the numeric fields of `-j -p` objects.

use std::fmt::Write;

/// Append `text` as a JSON string the way orjson writes it: `"` and `\` escaped, the
/// control characters below 0x20 as `\b \t \n \f \r` or `\u00xx`, everything else
/// (DEL and non-ASCII included) as it is.
pub fn string(text: &str, out: &mut String) {
    out.push('"');
    let bytes = text.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let short = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\t' => "\\t",
            b'\r' => "\\r",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&text[start..i]);
        if short.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(short);
        }
        start = i + 1;
    }
    out.push_str(&text[start..]);
    out.push('"');
}

/// What `int(text)` gives for a field value text.
#[derive(Debug, PartialEq, Eq)]
pub enum Int {
    /// an integer JSON can hold (orjson: from -2^63 to 2^64 - 1)
    Number(i128),
    /// not an integer: Python writes the text
    Text,
    /// a case this module does not decide (non-ASCII text, an integer past 64 bits)
    Unsure,
}

/// Python's `int(text)` for ASCII text: white space around, a sign, decimal digits
/// with single underscores between them.
pub fn python_int(text: &str) -> Int {
    if !text.is_ascii() {
        return Int::Unsure;
    }
    // in ASCII, `int` strips \t \n \v \f \r and space (not the separators 0x1c-0x1f)
    let t = text.trim_matches(|c: char| matches!(c, '\t'..='\r' | ' '));
    let (negative, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let bytes = digits.as_bytes();
    if bytes.is_empty() || bytes[0] == b'_' || bytes[bytes.len() - 1] == b'_' {
        return Int::Text;
    }
    let mut value: i128 = 0;
    let mut last_underscore = false;
    for &b in bytes {
        match b {
            b'_' if !last_underscore => last_underscore = true,
            b'0'..=b'9' => {
                last_underscore = false;
                value = match value
                    .checked_mul(10)
                    .and_then(|v| v.checked_add(i128::from(b - b'0')))
                {
                    Some(v) => v,
                    None => return Int::Unsure,
                };
            }
            _ => return Int::Text,
        }
    }
    let value = if negative { -value } else { value };
    if value < i128::from(i64::MIN) || value > i128::from(u64::MAX) {
        return Int::Unsure;
    }
    Int::Number(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_as_orjson_writes_them() {
        let mut out = String::new();
        string("a\"b\\c\n\t\r\x08\x0c\x01\x1f\x7fé", &mut out);
        assert_eq!(out, "\"a\\\"b\\\\c\\n\\t\\r\\b\\f\\u0001\\u001f\x7fé\"");
    }

    #[test]
    fn python_int_of_texts() {
        assert_eq!(python_int("12"), Int::Number(12));
        assert_eq!(python_int(" -1_000\n"), Int::Number(-1000));
        assert_eq!(python_int("+0"), Int::Number(0));
        assert_eq!(python_int("1__0"), Int::Text);
        assert_eq!(python_int("_1"), Int::Text);
        assert_eq!(python_int("1_"), Int::Text);
        assert_eq!(python_int(""), Int::Text);
        assert_eq!(python_int("-"), Int::Text);
        assert_eq!(python_int("0x10"), Int::Text);
        assert_eq!(python_int("/etc"), Int::Text);
        assert_eq!(python_int("18446744073709551616"), Int::Unsure);
        assert_eq!(python_int("١"), Int::Unsure);
        assert_eq!(python_int("\x1c5"), Int::Text);
        assert_eq!(python_int("\x0b7\x0c"), Int::Number(7));
    }
}
