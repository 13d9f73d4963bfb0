//! The per-event context every field of one plugin event reads: the payload, the
//! event header, where the event comes from, and what is known of the payload's JSON.
//!
//! Nothing is parsed up front. The first field that reads the payload checks the
//! whole document once (UTF-8 and grammar, [`json::valid_with`]: a payload that is
//! not JSON gives no value) and the same pass notes where each top-level member
//! starts; every later lookup of the event is a look in that table, then a scan of
//! the one nested object it goes into. No tree is built and no string is decoded
//! unless a field returns it.

use std::cell::Cell;

use super::json::{self, TopMember};

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
/// How many members of the objects held by top-level members the index keeps.
const NESTED: usize = 64;

/// One plugin event as its fields see it (see the module doc).
pub struct Record<'a> {
    payload: &'a [u8],
    /// the payload without NUL bytes at its ends (the cloudtrail plugin's document)
    doc: &'a [u8],
    header: Header,
    origin: &'a Origin<'a>,
    /// `None`: not checked yet; `Some(None)`: not JSON (or `null`); `Some(Some(text))`
    checked: Option<Option<&'a str>>,
    /// made by the check, so that an event no field reads costs no table
    top: Option<Box<Top>>,
}

/// Where the members of the first two levels are, found by the check.
struct Top {
    /// where the object starts, when the document is an object
    at: Option<usize>,
    /// the first top-level members: (key start, key end, value start, escaped key)
    seen: [(u32, u32, u32, bool); INDEXED],
    /// how many entries of `seen` are filled
    kept: usize,
    /// how many top-level members the check reported (the table keeps [`INDEXED`])
    len: usize,
    /// more top-level members than the table holds (or a document too long for u32)
    more: bool,
    /// the first members of objects that are values of members in `seen`: (parent,
    /// where `parent` is the index in `seen` with bit 31 set for an escaped key; key
    /// start, key end, value start)
    inner: [(u32, u32, u32, u32); NESTED],
    /// how many entries of `inner` are filled
    nested: usize,
    /// `inner` holds every member of the objects of `seen[..complete]`
    complete: usize,
}

const ESCAPED: u32 = 1 << 31;

impl Top {
    /// Note one member reported by the check.
    #[inline]
    fn note(&mut self, m: TopMember) {
        // offsets fit u32: the caller does not index a longer document
        let (start, end, value) = (m.key_start as u32, m.key_end as u32, m.value as u32);
        if m.level == 1 {
            if self.len < INDEXED {
                self.seen[self.len] = (start, end, value, m.escaped);
                self.kept = self.len + 1;
            } else {
                self.more = true;
            }
            self.len = (self.len + 1).min(INDEXED + 1); // INDEXED + 1: a parent not kept
        } else if let Some(parent) = self.len.checked_sub(1).filter(|p| *p < INDEXED) {
            if self.nested < NESTED {
                let flags = parent as u32 | if m.escaped { ESCAPED } else { 0 };
                self.inner[self.nested] = (flags, start, end, value);
                self.nested += 1;
            } else {
                self.complete = self.complete.min(parent);
            }
        }
    }

    fn kept(&self) -> usize {
        self.kept
    }
}

/// Whether the raw key `doc[start..end]` (between its quotes) names `key`.
fn key_matches(doc: &[u8], start: u32, end: u32, escaped: bool, key: &str) -> bool {
    let raw = doc.get(start as usize..end as usize).unwrap_or_default();
    if escaped {
        json::decode_string(raw).is_some_and(|name| name == key)
    } else {
        raw == key.as_bytes()
    }
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
            top: None,
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
    /// condition for any of its fields to have a value. Checked once per event; the
    /// same pass indexes the top-level members.
    pub fn text(&mut self) -> Option<&'a str> {
        if let Some(known) = self.checked {
            return known;
        }
        let doc = self.doc;
        let fits = u32::try_from(doc.len()).is_ok();
        let top = self.top.insert(Box::new(Top {
            at: None,
            seen: [(0, 0, 0, false); INDEXED],
            kept: 0,
            len: 0,
            more: !fits,
            inner: [(0, 0, 0, 0); NESTED],
            nested: 0,
            complete: INDEXED,
        }));
        let text = json::valid_with(doc, |m: TopMember| {
            if fits {
                top.note(m);
            }
        });
        let first = json::skip_ws(doc, 0);
        let text = text.filter(|_| doc.get(first) != Some(&b'n')); // `null` is no record
        top.at = text.and_then(|_| (doc.get(first) == Some(&b'{')).then_some(first));
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
    /// member of that name); `None` when the document is not JSON, not an object, or
    /// lacks the member.
    pub fn top_member(&mut self, key: &str) -> Option<usize> {
        self.text()?;
        let doc = self.doc;
        let top = self.top.as_deref()?;
        let at = top.at?;
        for &(start, end, value, escaped) in &top.seen[..top.kept()] {
            if key_matches(doc, start, end, escaped, key) {
                return Some(value as usize);
            }
        }
        if top.more {
            return json::member(doc, at, key);
        }
        None
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

    /// Where the value of member `key` (the first of that name) of the object at `at`
    /// starts; `None` when there is no object at `at` or it lacks the member. An object
    /// held by a top-level member is looked up in the index.
    pub fn member_of(&self, at: usize, key: &str) -> Option<usize> {
        let doc = self.doc;
        if doc.get(at) != Some(&b'{') {
            return None;
        }
        let Some(top) = self.top.as_deref() else {
            return json::member(doc, at, key);
        };
        let parent = top.seen[..top.kept()]
            .iter()
            .position(|m| m.2 as usize == at);
        match parent {
            Some(parent) if parent < top.complete => {
                let parent = parent as u32;
                top.inner[..top.nested]
                    .iter()
                    .filter(|m| m.0 & !ESCAPED == parent)
                    .find(|m| key_matches(doc, m.1, m.2, m.0 & ESCAPED != 0, key))
                    .map(|m| m.3 as usize)
            }
            _ => json::member(doc, at, key),
        }
    }
}
