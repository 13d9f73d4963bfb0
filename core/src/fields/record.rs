//! The per-event context every field of one plugin event reads: the payload, the
//! event header, where the event comes from, and what is known of the payload's JSON.
//!
//! Nothing is parsed up front. A field looks its members up straight in the bytes;
//! the top-level members are indexed as far as the lookups have gone, so every field
//! of the event shares one scan. The whole document is checked (UTF-8 and grammar,
//! [`json::valid`]) at most once, and only when a field is about to give a value: a
//! payload that is not JSON gives no value, but an absent member needs no check.

use std::cell::Cell;

use super::json::{self, key_is, Members};

/// The header fields of a plugin event that the generic `evt.*` fields read.
#[derive(Debug, Clone, Copy, Default)]
pub struct Header {
    /// the timestamp, ns since the epoch
    pub ts: u64,
    /// the event number (from 1)
    pub num: u64,
}

/// What is the same for every event of a source.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    /// the event source, `evt.source` (for example `aws_cloudtrail`)
    pub source: &'a str,
    /// the source plugin's name, `evt.pluginname`
    pub plugin: Option<&'a str>,
    /// `evt.hostname`: `FALCO_HOSTNAME` or the machine's name
    pub hostname: &'a str,
    /// the timestamp of the first event whose `evt.reltime*` was asked for; set by the
    /// first such request (one cell per registry, as `Registry.first_ts` in Python)
    pub first_ts: &'a Cell<Option<u64>>,
}

/// How many top-level members the index keeps; lookups past a larger object scan it.
const INDEXED: usize = 32;

/// One plugin event as its fields see it (see the module doc).
pub struct Record<'a> {
    payload: &'a [u8],
    /// the payload without NUL bytes at its ends (the cloudtrail plugin's document)
    doc: &'a [u8],
    header: Header,
    origin: &'a Origin<'a>,
    /// `None`: not checked yet; `Some(None)`: not JSON (or `null`); `Some(Some(text))`
    checked: Option<Option<&'a str>>,
    top: Top,
}

/// The members of the top-level object found so far: `(key start, key end, value)`.
struct Top {
    started: bool,
    at: Option<usize>,
    scan: Members,
    seen: [(u32, u32, u32); INDEXED],
    len: usize,
    /// the table is full (or the document too long for it): look further by scanning
    full: bool,
}

impl<'a> Record<'a> {
    /// The context of a plugin event with this payload and header.
    pub fn new(payload: &'a [u8], header: Header, origin: &'a Origin<'a>) -> Record<'a> {
        let doc = if payload.first() == Some(&0) || payload.last() == Some(&0) {
            let start = payload
                .iter()
                .position(|&b| b != 0)
                .unwrap_or(payload.len());
            let end = payload
                .iter()
                .rposition(|&b| b != 0)
                .map_or(start, |p| p + 1);
            &payload[start..end.max(start)]
        } else {
            payload
        };
        Record {
            payload,
            doc,
            header,
            origin,
            checked: None,
            top: Top {
                started: false,
                at: None,
                scan: Members::default(),
                seen: [(0, 0, 0); INDEXED],
                len: 0,
                full: false,
            },
        }
    }

    /// The raw payload, as stored in the event.
    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }

    /// The document's bytes (the payload without NULs at its ends).
    pub fn doc(&self) -> &'a [u8] {
        self.doc
    }

    pub fn header(&self) -> Header {
        self.header
    }

    pub fn origin(&self) -> &'a Origin<'a> {
        self.origin
    }

    /// The document as text when it is JSON and not `null`, the cloudtrail plugin's
    /// condition for any of its fields to have a value; checked once per event.
    pub fn text(&mut self) -> Option<&'a str> {
        if let Some(known) = self.checked {
            return known;
        }
        let text = json::valid(self.doc).filter(|text| {
            let t = text.trim_start_matches([' ', '\t', '\n', '\r']);
            !t.starts_with("null")
        });
        self.checked = Some(text);
        text
    }

    /// The payload as text when the json plugin reads it: its first byte is `{` or `[`
    /// and it is JSON as it stands (no NUL trimmed).
    pub fn json_text(&mut self) -> Option<&'a str> {
        if self.doc.len() != self.payload.len()
            || !matches!(self.payload.first(), Some(b'{' | b'['))
        {
            return None;
        }
        self.text()
    }

    /// Where the value of top-level member `key` starts in [`Record::doc`] (the first
    /// member of that name); `None` when the document is not an object or lacks it.
    pub fn top_member(&mut self, key: &str) -> Option<usize> {
        let doc = self.doc;
        let top = &mut self.top;
        if !top.started {
            top.started = true;
            let at = json::skip_ws(doc, 0);
            if doc.get(at) == Some(&b'{') {
                top.at = Some(at);
                top.scan = Members::of(doc, at);
                top.full = u32::try_from(doc.len()).is_err();
            }
        }
        let at = top.at?;
        for &(start, end, value) in &top.seen[..top.len] {
            if key_is(doc, start as usize, end as usize, key) {
                return Some(value as usize);
            }
        }
        while !top.full {
            let (start, end, value) = top.scan.next_in(doc)?;
            // positions fit u32: `full` is set for a longer document
            top.seen[top.len] = (start as u32, end as u32, value as u32);
            top.len += 1;
            top.full = top.len == INDEXED;
            if key_is(doc, start, end, key) {
                return Some(value);
            }
        }
        json::member(doc, at, key)
    }

    /// Where the value at `path` (member names from the top) starts; `None` when a step
    /// is missing or is not an object.
    pub fn path(&mut self, path: &[&str]) -> Option<usize> {
        let (first, rest) = path.split_first()?;
        let mut at = self.top_member(first)?;
        for key in rest {
            at = self.member_of(at, key)?;
        }
        Some(at)
    }

    /// Where the value of member `key` of the object at `at` starts.
    pub fn member_of(&self, at: usize, key: &str) -> Option<usize> {
        if self.doc.get(at) != Some(&b'{') {
            return None;
        }
        json::member(self.doc, at, key)
    }
}
