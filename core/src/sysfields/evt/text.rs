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

/// `value` in decimal (what `write!(out, "{value}")` gives, without the formatter).
pub fn push_int(value: i128, out: &mut String) {
    const PAIRS: &[u8; 200] =
        b"00010203040506070809101112131415161718192021222324252627282930313233343536373839\
        40414243444546474849505152535455565758596061626364656667686970717273747576777879\
        8081828384858687888990919293949596979899";
    let Ok(mut n) = u64::try_from(value.unsigned_abs()) else {
        let _ = write!(out, "{value}"); // past 64 bits: never from a parameter
        return;
    };
    let mut buf = [0u8; 21];
    let mut at = buf.len();
    while n >= 100 {
        let pair = (n % 100) as usize * 2;
        n /= 100;
        at -= 2;
        buf[at..at + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
    }
    if n >= 10 {
        at -= 2;
        buf[at..at + 2].copy_from_slice(&PAIRS[n as usize * 2..n as usize * 2 + 2]);
    } else {
        at -= 1;
        buf[at] = b'0' + n as u8;
    }
    if value < 0 {
        at -= 1;
        buf[at] = b'-';
    }
    out.push_str(std::str::from_utf8(&buf[at..]).unwrap_or_default());
}

/// `value` in hexadecimal, upper case (`{:X}`) or lower case.
pub fn push_hex(value: u64, upper: bool, out: &mut String) {
    let digits: &[u8; 16] = if upper {
        b"0123456789ABCDEF"
    } else {
        b"0123456789abcdef"
    };
    let mut buf = [0u8; 16];
    let (mut n, mut at) = (value, buf.len());
    loop {
        at -= 1;
        buf[at] = digits[(n & 15) as usize];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    out.push_str(std::str::from_utf8(&buf[at..]).unwrap_or_default());
}

/// A number in the table's print format (`format_number`).
pub fn push_number(value: i128, size: usize, fmt: Fmt, ptype: PType, out: &mut String) {
    let bits = 8 * size as u32;
    let mask = (1i128 << bits) - 1;
    match fmt {
        Fmt::Hex => push_hex((value & mask) as u64, true, out),
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
                push_int(value, out);
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
        for v in [
            0i128,
            7,
            -7,
            i128::from(i64::MIN),
            i128::from(u64::MAX),
            1 << 70,
        ] {
            let mut s = String::new();
            push_int(v, &mut s);
            assert_eq!(s, v.to_string());
        }
        for v in [0u64, 0xAB, u64::MAX] {
            let (mut upper, mut lower) = (String::new(), String::new());
            push_hex(v, true, &mut upper);
            push_hex(v, false, &mut lower);
            assert_eq!((upper, lower), (format!("{v:X}"), format!("{v:x}")));
        }
    }
}
