//! Whether a payload is one JSON document, exactly as the Python path's parser
//! (orjson) decides it: RFC 8259 with valid UTF-8, surrogate escapes in pairs, no
//! number that overflows a double, any depth, whitespace around the value.
//!
//! The check is iterative (a bit per open container), so a deeply nested payload
//! costs memory in proportion to its depth and never the stack.

use super::scan::{find_special, skip_ws};

/// `doc` as text when it is one JSON value surrounded by optional whitespace.
pub fn valid(doc: &[u8]) -> Option<&str> {
    valid_with(doc, |_| {})
}

/// A member of the top-level object or of an object directly in it, as [`valid_with`]
/// reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopMember {
    /// 1 for a member of the top-level object, 2 for a member of an object that is the
    /// value of a top-level member (the last level-1 member reported before it)
    pub level: u8,
    /// the key's bytes are `doc[key_start..key_end]` (between its quotes)
    pub key_start: usize,
    pub key_end: usize,
    /// whether the key holds an escape (then it must be decoded to be compared)
    pub escaped: bool,
    /// where the member's value starts
    pub value: usize,
}

/// [`valid`], handing `member` each member of the top-level object (when it is an
/// object) and of the objects that are its members' values, in order, duplicates
/// included; the check goes on to the end either way.
pub fn valid_with(doc: &[u8], member: impl FnMut(TopMember)) -> Option<&str> {
    let text = std::str::from_utf8(doc).ok()?;
    structure(doc, member).then_some(text)
}

/// The open containers: one bit per level, set for an object.
#[derive(Default)]
struct Nesting {
    low: u64,
    high: Vec<u64>,
    depth: usize,
}

impl Nesting {
    fn push(&mut self, object: bool) {
        let (word, bit) = (self.depth / 64, self.depth % 64);
        if word == 0 {
            self.low = (self.low & !(1 << bit)) | (u64::from(object) << bit);
        } else {
            if self.high.len() < word {
                self.high.push(0);
            }
            if let Some(w) = self.high.get_mut(word - 1) {
                *w = (*w & !(1 << bit)) | (u64::from(object) << bit);
            }
        }
        self.depth += 1;
    }

    /// The innermost open container (`Some(true)` for an object), if any.
    fn top(&self) -> Option<bool> {
        let level = self.depth.checked_sub(1)?;
        let (word, bit) = (level / 64, level % 64);
        let w = if word == 0 {
            self.low
        } else {
            *self.high.get(word - 1)?
        };
        Some(w >> bit & 1 == 1)
    }

    fn pop(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }
}

/// The grammar, on a document already known to be valid UTF-8.
fn structure(doc: &[u8], mut report: impl FnMut(TopMember)) -> bool {
    let mut open = Nesting::default();
    // `objects`: the kinds of the two outer levels (bit 0 the top level, bit 1 the next)
    let mut head = |doc: &[u8], i: usize, depth: usize, objects: u64| {
        let (key_end, escaped, value) = member_head(doc, i)?;
        if depth == 1 || (depth == 2 && objects & 3 == 3) {
            report(TopMember {
                level: depth as u8,
                key_start: i + 1,
                key_end,
                escaped,
                value,
            });
        }
        Some(value)
    };
    let mut i = skip_ws(doc, 0);
    loop {
        // a value starts at `i`
        match doc.get(i) {
            Some(b'{') => {
                i = skip_ws(doc, i + 1);
                if doc.get(i) == Some(&b'}') {
                    i += 1;
                } else {
                    open.push(true);
                    match head(doc, i, open.depth, open.low) {
                        Some(next) => {
                            i = next;
                            continue;
                        }
                        None => return false,
                    }
                }
            }
            Some(b'[') => {
                i = skip_ws(doc, i + 1);
                if doc.get(i) == Some(&b']') {
                    i += 1;
                } else {
                    open.push(false);
                    continue;
                }
            }
            Some(b'"') => match string_end(doc, i) {
                Some((end, _)) => i = end,
                None => return false,
            },
            Some(b't') => match literal(doc, i, b"true") {
                Some(end) => i = end,
                None => return false,
            },
            Some(b'f') => match literal(doc, i, b"false") {
                Some(end) => i = end,
                None => return false,
            },
            Some(b'n') => match literal(doc, i, b"null") {
                Some(end) => i = end,
                None => return false,
            },
            Some(b'-' | b'0'..=b'9') => match number_end(doc, i) {
                Some(end) => i = end,
                None => return false,
            },
            _ => return false,
        }
        // after a value: close containers until a comma opens the next value
        loop {
            i = skip_ws(doc, i);
            let Some(object) = open.top() else {
                return i == doc.len();
            };
            match (doc.get(i), object) {
                (Some(b','), true) => match head(doc, skip_ws(doc, i + 1), open.depth, open.low) {
                    Some(next) => {
                        i = next;
                        break;
                    }
                    None => return false,
                },
                (Some(b','), false) => {
                    i = skip_ws(doc, i + 1);
                    break;
                }
                (Some(b'}'), true) | (Some(b']'), false) => {
                    open.pop();
                    i += 1;
                }
                _ => return false,
            }
        }
    }
}

/// A member's `"key":` at `i`: the end of the key's text (before its closing quote),
/// whether it holds an escape, and the start of the member's value.
fn member_head(doc: &[u8], i: usize) -> Option<(usize, bool, usize)> {
    if doc.get(i) != Some(&b'"') {
        return None;
    }
    let (end, escaped) = string_end(doc, i)?;
    let colon = skip_ws(doc, end);
    (doc.get(colon) == Some(&b':')).then(|| (end - 1, escaped, skip_ws(doc, colon + 1)))
}

fn literal(doc: &[u8], i: usize, word: &[u8]) -> Option<usize> {
    let end = i + word.len();
    (doc.get(i..end) == Some(word)).then_some(end)
}

/// End of the string whose opening quote is at `i` (past its closing quote) and
/// whether it holds an escape, checking escapes and control characters; `None` when
/// it is not a valid JSON string.
#[inline]
fn string_end(doc: &[u8], i: usize) -> Option<(usize, bool)> {
    let (mut i, mut escaped) = (i + 1, false);
    loop {
        i = find_special(doc, i)?;
        match doc.get(i)? {
            b'"' => return Some((i + 1, escaped)),
            b'\\' => {
                escaped = true;
                i = escape_end(doc, i + 1)?;
            }
            _ => return None, // a control character
        }
    }
}

/// Past the escape whose letter is at `i` (after the backslash).
#[cold]
#[inline(never)]
fn escape_end(doc: &[u8], i: usize) -> Option<usize> {
    match doc.get(i)? {
        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => Some(i + 1),
        b'u' => {
            let unit = hex4(doc, i + 1)?;
            match unit {
                0xD800..=0xDBFF => {
                    let low = doc.get(i + 5..i + 7).filter(|p| *p == b"\\u");
                    let low = low.and_then(|_| hex4(doc, i + 7))?;
                    (0xDC00..=0xDFFF).contains(&low).then_some(i + 11)
                }
                0xDC00..=0xDFFF => None,
                _ => Some(i + 5),
            }
        }
        _ => None,
    }
}

/// The four hex digits at `i` as a number.
pub fn hex4(doc: &[u8], i: usize) -> Option<u32> {
    let digits = doc.get(i..i + 4)?;
    digits.iter().try_fold(0u32, |acc, &b| {
        let d = (b as char).to_digit(16)?;
        Some(acc << 4 | d)
    })
}

/// End of the number that starts at `i`; `None` for a malformed number or one whose
/// double value is infinite (which orjson refuses).
fn number_end(doc: &[u8], start: usize) -> Option<usize> {
    let digits = |mut i: usize| {
        let from = i;
        while doc.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        (i > from).then_some(i)
    };
    let mut i = start + usize::from(doc.get(start) == Some(&b'-'));
    let int_start = i;
    i = if doc.get(i) == Some(&b'0') {
        i + 1
    } else {
        digits(i)?
    };
    let int_digits = i - int_start;
    if doc.get(i) == Some(&b'.') {
        i = digits(i + 1)?;
    }
    let mut exponent = false;
    if matches!(doc.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(doc.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        i = digits(i)?;
        exponent = true;
    }
    if exponent || int_digits > 308 {
        let text = std::str::from_utf8(doc.get(start..i)?).ok()?;
        if text.parse::<f64>().ok()?.is_infinite() {
            return None;
        }
    }
    // a digit right after `0` ("01") is refused by whatever follows the number
    Some(i)
}
