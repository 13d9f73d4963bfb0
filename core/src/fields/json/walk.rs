//! Walks over a JSON document that find a member or an element, the way the Python
//! path's walker does (`plugins/json/rawjson.py`): the first member of a name wins,
//! values are skipped without being checked. On text that is not JSON they still end
//! and never read out of bounds; their answer is then meaningless, and callers only
//! keep it for documents that [`super::valid`] accepts.

use super::scan::{skip_string, skip_ws, value_end};
use super::text::decode_string;

/// Where a scan of an object's members stands (positions only, so it can be kept
/// beside the document and resumed).
#[derive(Debug, Clone, Copy, Default)]
pub struct Members {
    next: Option<usize>,
    value: Option<usize>,
}

impl Members {
    /// A scan of the object whose `{` is at `at`.
    pub fn of(doc: &[u8], at: usize) -> Members {
        Members {
            next: Some(skip_ws(doc, at + 1)),
            value: None,
        }
    }

    /// The next member: `(key_start, key_end, value_start)`, the key's bytes being
    /// `doc[key_start..key_end]` without its quotes (escapes not decoded).
    pub fn next_in(&mut self, doc: &[u8]) -> Option<(usize, usize, usize)> {
        if let Some(value) = self.value.take() {
            let i = skip_ws(doc, value_end(doc, value));
            if doc.get(i) != Some(&b',') {
                self.next = None;
                return None;
            }
            self.next = Some(skip_ws(doc, i + 1));
        }
        let i = self.next?;
        if doc.get(i) != Some(&b'"') {
            self.next = None;
            return None;
        }
        let end = skip_string(doc, i);
        let value = skip_ws(doc, skip_ws(doc, end) + 1); // past the colon
        self.value = Some(value);
        Some((i + 1, end.saturating_sub(1).max(i + 1), value))
    }
}

/// Whether the raw key `doc[start..end]` (between its quotes) names `key`.
pub fn key_is(doc: &[u8], start: usize, end: usize, key: &str) -> bool {
    let Some(raw) = doc.get(start..end) else {
        return false;
    };
    if !raw.contains(&b'\\') {
        return raw == key.as_bytes();
    }
    decode_string(raw).is_some_and(|name| name == key)
}

/// Start of the value of the first member `key` of the object whose `{` is at `at`.
pub fn member(doc: &[u8], at: usize, key: &str) -> Option<usize> {
    let mut scan = Members::of(doc, at);
    while let Some((start, end, value)) = scan.next_in(doc) {
        if key_is(doc, start, end, key) {
            return Some(value);
        }
    }
    None
}

/// Start of element `index` of the array whose `[` is at `at`.
pub fn element(doc: &[u8], at: usize, index: usize) -> Option<usize> {
    let mut i = skip_ws(doc, at + 1);
    if matches!(doc.get(i), None | Some(b']')) {
        return None;
    }
    for _ in 0..index {
        i = skip_ws(doc, value_end(doc, i));
        if doc.get(i) != Some(&b',') {
            return None;
        }
        i = skip_ws(doc, i + 1);
    }
    Some(i)
}

/// A pointer token read as an array index the way Go's `strconv.Atoi` reads it (a
/// sign, then decimal digits, leading zeros allowed); `None` when it is not a number
/// or is negative. A number too large for `usize` reads as `usize::MAX`, which no
/// array reaches.
pub fn go_atoi(token: &str) -> Option<usize> {
    let (negative, body) = match token.as_bytes().first() {
        Some(b'+') => (false, &token[1..]),
        Some(b'-') => (true, &token[1..]),
        _ => (false, token),
    };
    if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let value = body.bytes().try_fold(0usize, |acc, b| {
        acc.checked_mul(10)?.checked_add(usize::from(b - b'0'))
    });
    match (negative, value) {
        (_, Some(0)) => Some(0),
        (true, _) => None,
        (false, value) => Some(value.unwrap_or(usize::MAX)),
    }
}
