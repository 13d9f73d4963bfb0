//! The small texts of sysdig's argument rendering (`scaptools/events/render.py`):
//! byte buffers, names without control characters, numbers in their print format,
//! flag names, C's `%g`, and sysdig's short durations.

use std::fmt::Write;

use super::table::{Fmt, PType};

/// sysdig's default cut of byte buffers in `evt.args` (`MAX_BUF_LEN`).
pub const MAX_BUF_LEN: usize = 80;

/// Bytes as sysdig prints them: printable ASCII kept, the rest as `.`; cut to `limit`
/// characters with `...` at the end (`buffer_text`).
pub fn push_buffer(data: &[u8], limit: Option<usize>, out: &mut String) {
    let show = |b: &u8| {
        if (32..=126).contains(b) {
            char::from(*b)
        } else {
            '.'
        }
    };
    match limit {
        Some(limit) if limit > 0 && data.len() > limit => {
            let keep = limit.saturating_sub(3);
            out.extend(data[..keep].iter().map(show));
            out.push_str("...");
        }
        _ => out.extend(data.iter().map(show)),
    }
}

/// Whether `text` has only the characters sysdig keeps in names (`" "..="~"`).
pub fn is_clean(text: &str) -> bool {
    text.bytes().all(|b| (b' '..=b'~').contains(&b))
}

/// `text` without the characters sysdig drops from names (`sanitize`).
pub fn push_sanitized(text: &str, out: &mut String) {
    if is_clean(text) {
        out.push_str(text);
    } else {
        out.extend(text.chars().filter(|c| (' '..='~').contains(c)));
    }
}

/// A number in the table's print format (`format_number`).
pub fn push_number(value: i128, size: usize, fmt: Fmt, ptype: PType, out: &mut String) {
    let bits = 8 * size as u32;
    let mask = (1i128 << bits) - 1;
    match fmt {
        Fmt::Hex => {
            let _ = write!(out, "{:X}", value & mask);
        }
        Fmt::Oct => {
            if value == 0 {
                out.push('0');
            } else {
                let _ = write!(out, "0{:o}", value & mask);
            }
        }
        Fmt::Dec | Fmt::Padded => {
            // sysdig prints unsigned 32/64-bit values with a signed conversion
            let mut value = value;
            if matches!(ptype, PType::Uint32 | PType::Uint64) && (value >> (bits - 1)) != 0 {
                value -= 1i128 << bits;
            }
            if fmt == Fmt::Padded {
                let _ = write!(out, "{value:09}");
            } else {
                let _ = write!(out, "{value}");
            }
        }
    }
}

/// Names of the flags set in `value`, in table order, `|`-joined (`flag_names`).
pub fn push_flags(value: i128, table: &[(u64, String)], exact: bool, out: &mut String) {
    let mut rest = value;
    let mut first = true;
    let mut name = |n: &str, out: &mut String| {
        if !first {
            out.push('|');
        }
        first = false;
        out.push_str(n);
    };
    for (flag, text) in table {
        let flag = i128::from(*flag);
        if flag == value {
            name(text, out);
            break;
        }
        if exact {
            continue;
        }
        if (flag == 0 && value == 0) || (flag != 0 && value != 0 && rest & flag == flag) {
            name(text, out);
            rest &= !flag;
        }
    }
}

/// C's `%g` of a non-negative number (Python's `format(x, "g")`): six significant
/// digits, trailing zeros dropped, an exponent below 1e-4 and from 1e6.
pub fn push_g(x: f64, out: &mut String) {
    if x == 0.0 {
        out.push('0');
        return;
    }
    let sci = format!("{x:.5e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..6).contains(&exp) {
        out.push_str(trim_zeros(mantissa));
        let _ = write!(
            out,
            "e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.unsigned_abs()
        );
    } else {
        let fixed = format!("{:.*}", (5 - exp) as usize, x);
        out.push_str(trim_zeros(&fixed));
    }
}

fn trim_zeros(text: &str) -> &str {
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        text
    }
}

/// sysdig's short duration text: 0ns, 252ns, 1.79us, 8.12ms, 3.12s (cut, not rounded).
pub fn human(ns: i128) -> String {
    if ns < 1000 {
        return format!("{ns}ns");
    }
    let two = |ns: i128, div: i128, unit: &str| {
        let k = ns * 100 / div;
        format!("{}.{:02}{unit}", k / 100, k % 100)
    };
    for (unit, div) in [("us", 1_000i128), ("ms", 1_000_000)] {
        if ns < div * 10 {
            return two(ns, div, unit);
        }
        if ns < div * 1000 {
            return format!("{}{unit}", ns / div);
        }
    }
    if ns < 10_000_000_000 {
        two(ns, 1_000_000_000, "s")
    } else {
        format!("{}s", ns / 1_000_000_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(x: f64) -> String {
        let mut s = String::new();
        push_g(x, &mut s);
        s
    }

    #[test]
    fn texts() {
        assert_eq!(g(1.5), "1.5");
        assert_eq!(g(0.001), "0.001");
        assert_eq!(g(0.00001), "1e-05");
        assert_eq!(g(1234567.0), "1.23457e+06");
        assert_eq!(g(999999.5), "1e+06");
        assert_eq!(g(100.0), "100");
        assert_eq!(human(252), "252ns");
        assert_eq!(human(1789), "1.78us");
        assert_eq!(human(8_129_999), "8.12ms");
        assert_eq!(human(123_456_789_012), "123s");
        let mut s = String::new();
        push_buffer(&[b'a'; 100], Some(80), &mut s);
        assert_eq!(s.len(), 80);
        assert!(s.ends_with("a..."));
        let mut s = String::new();
        push_number(-1, 4, Fmt::Oct, PType::Int32, &mut s);
        assert_eq!(s, "037777777777");
        let mut s = String::new();
        push_number(0xFFFF_FFFF, 4, Fmt::Dec, PType::Uint32, &mut s);
        assert_eq!(s, "-1");
    }
}
