//! The selected rules of one event source, compiled from the plan Python writes
//! (scaptools/engine/native.py `source_plan`), and the dispatch of an event to them
//! (docs/rules-language.md §7): the index field's value picks the candidate rules,
//! tested in index order, the first match only unless `rule_matching` is `all`.
//!
//! A rule the core cannot evaluate exactly as Python does is a *Python rule*; every
//! event whose candidates include one is handed back whole to the Python path.

use std::cell::Cell;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use serde_json::Value as Json;

use super::fieldtab::{Fields, RecordFields, SysValues};
use super::output::Output;
use crate::cond::{compile, Expr, Extract, Values};
use crate::fields::{Header, Origin, Record};
use crate::sysfields::Ctx;
use crate::value::Value;

/// One compiled rule.
#[derive(Debug)]
pub struct Rule {
    pub name: String,
    /// the priority's name in alerts (`Critical`)
    pub priority: String,
    pub tags: Vec<String>,
    pub source: String,
    body: Option<Body>,
    /// why the rule runs in Python (`None`: in the core)
    pub python: Option<String>,
}

#[derive(Debug)]
struct Body {
    cond: Expr,
    /// the condition without the index checks the event's group already satisfies
    indexed: Option<Expr>,
    output: Output,
}

/// Candidates of one index value: (rule number, reached through the index).
#[derive(Debug, Default)]
struct Group {
    rules: Vec<(usize, bool)>,
    python: bool,
}

/// What a source's rules say about one event.
#[derive(Debug, PartialEq)]
pub enum Verdict {
    /// the event meets a Python rule: the Python path evaluates it whole
    Python,
    /// the rules that fired, in order (empty: no alert)
    Fired(Vec<usize>),
}

/// The compiled rules of one source.
#[derive(Debug)]
pub struct Source {
    pub name: String,
    pub plugin: Option<String>,
    pub hostname: String,
    pub rules: Vec<Rule>,
    fields: Fields,
    index: Option<usize>,
    /// the candidates of each index value; number 0 ([`DEFAULT`]) for any other value
    groups: Vec<Group>,
    keys: HashMap<String, GroupId, BuildHasherDefault<Fnv>>,
    first: bool,
    /// the index field is the syscall `evt.type`
    by_type: bool,
}

/// The number of a group of candidates in a [`Source`].
pub type GroupId = usize;

/// The candidates of an index value the groups do not list (or of every event without
/// an index field).
pub const DEFAULT: GroupId = 0;

fn text(json: &Json, key: &str) -> String {
    json.get(key)
        .and_then(Json::as_str)
        .unwrap_or_default()
        .to_string()
}

impl Source {
    /// Compile a source's plan (JSON text).
    pub fn compile(plan: &str) -> Result<Source, String> {
        let json: Json = serde_json::from_str(plan).map_err(|e| format!("bad plan: {e}"))?;
        let rows = json
            .get("fields")
            .and_then(Json::as_array)
            .cloned()
            .unwrap_or_default();
        let fields = Fields::compile(&text(&json, "source"), &rows);
        let plain = json
            .get("rules")
            .and_then(Json::as_array)
            .cloned()
            .unwrap_or_default();
        let rules: Vec<Rule> = plain.iter().map(|r| rule(r, &fields)).collect();
        let group = |cands: &Json| -> Group {
            let list: Vec<(usize, bool)> = cands
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or(&[])
                .iter()
                .filter_map(|c| Some((c.get(0)?.as_u64()? as usize, c.get(1)?.as_bool()?)))
                .filter(|(n, _)| *n < rules.len())
                .collect();
            let python = list.iter().any(|(n, _)| rules[*n].python.is_some());
            Group {
                rules: list,
                python,
            }
        };
        let mut groups = vec![group(json.get("default").unwrap_or(&Json::Null))];
        let mut keys = HashMap::default();
        if let Some(map) = json.get("groups").and_then(Json::as_object) {
            for (key, cands) in map {
                keys.insert(key.clone(), groups.len());
                groups.push(group(cands));
            }
        }
        let index = json.get("index").and_then(Json::as_u64).map(|n| n as usize);
        let index = index.filter(|n| fields.has(*n));
        let by_type = fields.is_syscall()
            && index.and_then(|n| rows.get(n)).is_some_and(|row| {
                row.get(0) == Some(&Json::from("evt.type")) && row.get(1).is_none_or(Json::is_null)
            });
        Ok(Source {
            name: text(&json, "source"),
            plugin: json
                .get("plugin")
                .and_then(Json::as_str)
                .map(str::to_string),
            hostname: text(&json, "hostname"),
            rules,
            fields,
            index,
            groups,
            keys,
            first: json.get("first").and_then(Json::as_bool).unwrap_or(true),
            by_type,
        })
    }

    /// The number of fields in the plan's table (the size of an event's [`Values`]).
    pub fn field_count(&self) -> usize {
        self.fields.len()
    }

    /// The plugin fields of the event `rec` reads.
    pub fn record<'s, 'r, 'a>(&'s self, rec: &'r mut Record<'a>) -> RecordFields<'s, 'r, 'a> {
        RecordFields {
            fields: self.fields.plugin(),
            rec,
        }
    }

    /// The syscall fields of the event and state `cx` holds (`damaged`: see
    /// [`SysValues`]).
    pub fn syscall<'s, 'c, 'a>(
        &'s self,
        cx: &'c Ctx<'a>,
        damaged: Option<&'c Cell<bool>>,
    ) -> SysValues<'s, 'c, 'a> {
        SysValues {
            fields: self.fields.syscall(),
            cx,
            damaged,
        }
    }

    /// Whether the plan's fields are syscall fields.
    pub fn is_syscall(&self) -> bool {
        self.fields.is_syscall()
    }

    /// Whether the index field is the syscall `evt.type`, whose value for an event type
    /// above 1 is the type's name (generic events, 0 and 1, name the syscall).
    pub fn index_is_type(&self) -> bool {
        self.by_type
    }

    /// The number of the index field in the plan's table (`None`: no index).
    pub fn index_field(&self) -> Option<usize> {
        self.index
    }

    /// The group of candidates of an event whose index field has the value `key`.
    pub fn group_of(&self, key: Option<&Value>) -> GroupId {
        match key {
            Some(Value::Str(key)) => self.keys.get(key.as_ref()).copied().unwrap_or(DEFAULT),
            _ => DEFAULT,
        }
    }

    /// Whether an event of group `group` has candidate rules to test.
    pub fn has_candidates(&self, group: GroupId) -> bool {
        self.groups.get(group).is_some_and(|g| !g.rules.is_empty())
    }

    /// The rules that fire for the event whose fields `source` gives (or `Python`).
    pub fn evaluate<'a>(&self, source: &mut dyn Extract<'a>, values: &mut Values<'a>) -> Verdict {
        let group = match self.index {
            None => DEFAULT,
            Some(field) => {
                values.fill(field, source);
                self.group_of(values.get(field))
            }
        };
        self.test(group, source, values)
    }

    /// The rules of group `group` that fire for the event whose fields `source` gives
    /// (or `Python`).
    pub fn test<'a>(
        &self,
        group: GroupId,
        source: &mut dyn Extract<'a>,
        values: &mut Values<'a>,
    ) -> Verdict {
        let Some(group) = self.groups.get(group) else {
            return Verdict::Fired(Vec::new());
        };
        if group.python {
            return Verdict::Python;
        }
        let mut fired = Vec::new();
        for &(number, indexed) in &group.rules {
            let Some(body) = &self.rules[number].body else {
                return Verdict::Python;
            };
            let cond = if indexed {
                body.indexed.as_ref().unwrap_or(&body.cond)
            } else {
                &body.cond
            };
            if cond.eval(values, source) {
                fired.push(number);
                if self.first {
                    break;
                }
            }
        }
        Verdict::Fired(fired)
    }

    /// Extract every field the output of rule `number` shows.
    pub fn fill_output<'a>(
        &self,
        number: usize,
        source: &mut dyn Extract<'a>,
        values: &mut Values<'a>,
    ) {
        if let Some(body) = &self.rules[number].body {
            for &field in &body.output.fields {
                values.fill(field, source);
            }
        }
    }

    /// The output of rule `number` (a core rule).
    pub fn output(&self, number: usize) -> Option<&Output> {
        self.rules.get(number)?.body.as_ref().map(|b| &b.output)
    }

    /// The origin of this source's events, for their [`Record`]s.
    pub fn origin<'s>(&'s self, first_ts: &'s Cell<Option<u64>>) -> Origin<'s> {
        Origin {
            source: &self.name,
            plugin: self.plugin.as_deref(),
            hostname: &self.hostname,
            first_ts,
        }
    }
}

/// FNV-1a: the index lookup hashes one short key per event; SipHash's strength against
/// chosen keys is not needed for a table built from the rules.
#[derive(Default)]
pub struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

/// A plugin event's parts: the header the fields read and the payload.
pub fn plugin_event(raw: &[u8], num: u64) -> Option<(Header, u32, &[u8])> {
    // v2 header: ts u64, tid u64, len u32, type u16, nparams u32; two u32 lengths
    if raw.len() < 34 || u16::from_le_bytes([raw[20], raw[21]]) != 322 {
        return None;
    }
    let nparams = u32::from_le_bytes(raw[22..26].try_into().ok()?);
    let first = u32::from_le_bytes(raw[26..30].try_into().ok()?) as usize;
    let size = u32::from_le_bytes(raw[30..34].try_into().ok()?) as usize;
    if nparams != 2 || first != 4 || 34 + first + size > raw.len() {
        return None;
    }
    let ts = u64::from_le_bytes(raw[0..8].try_into().ok()?);
    let pid = u32::from_le_bytes(raw[34..38].try_into().ok()?);
    Some((Header { ts, num }, pid, &raw[38..38 + size]))
}

fn rule(json: &Json, fields: &Fields) -> Rule {
    let mut out = Rule {
        name: text(json, "name"),
        priority: text(json, "priority"),
        tags: json
            .get("tags")
            .and_then(Json::as_array)
            .map(|t| {
                t.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
        source: text(json, "source"),
        body: None,
        python: json
            .get("python")
            .and_then(Json::as_str)
            .map(str::to_string),
    };
    if out.python.is_some() {
        return out;
    }
    match body(json, fields) {
        Ok(body) => out.body = Some(body),
        Err(why) => out.python = Some(why),
    }
    out
}

fn body(json: &Json, fields: &Fields) -> Result<Body, String> {
    let cond = compile(json.get("cond").unwrap_or(&Json::Null)).map_err(|e| e.0)?;
    let indexed = match json.get("indexed") {
        None | Some(Json::Null) => None,
        Some(node) => Some(compile(node).map_err(|e| e.0)?),
    };
    let output = Output::compile(json.get("output").unwrap_or(&Json::Null)).map_err(|e| e.0)?;
    let mut used = Vec::new();
    collect(json.get("cond"), &mut used);
    collect(json.get("indexed"), &mut used);
    used.extend(&output.fields);
    if let Some(missing) = used.iter().find(|f| !fields.has(**f)) {
        return Err(format!("field number {missing} is not in the core"));
    }
    Ok(Body {
        cond,
        indexed,
        output,
    })
}

/// The field numbers of a plain condition (`["field", n, list]` anywhere in it).
fn collect(json: Option<&Json>, out: &mut Vec<usize>) {
    let Some(Json::Array(items)) = json else {
        return;
    };
    if items.len() == 3 && items[0] == "field" {
        if let Some(n) = items[1].as_u64() {
            out.push(n as usize);
        }
        return;
    }
    for item in items {
        collect(Some(item), out);
    }
}

#[cfg(test)]
#[path = "rules_tests.rs"]
mod tests;
