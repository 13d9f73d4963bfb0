//! The replay loop over a capture (docs/core.md, "Conditions and the replay loop"):
//! the walk (`crate::walk`), the routing of plugin events by plugin id, the rules of
//! each source, and the alerts, in batches that Python writes out.
//!
//! It does what `replay_events` of scaptools/replay/loop.py does, event for event:
//! a plugin event's id is read from its first parameter (an event whose parameters
//! overflow it, and every async event, goes to Python, which raises or routes it);
//! an unknown id is skipped; a source with core rules is evaluated here unless its
//! rules hand the event to Python; every other event counts for the `syscall` source.
//! A batch ends when it is full, at an event Python must handle, at the end, or at
//! the walk's error (after the alerts of every event before it).

use std::cell::Cell;
use std::collections::{HashMap, HashSet};

use super::render::{line, Alert, Format};
use super::rules::{plugin_event, Source, Verdict};
use crate::cond::{Data, Values};
use crate::fields::Record;
use crate::walk::{is_event_block, is_metadata_block, Item, WalkError, Walker, BLOCK_SHB};

const PLUGINEVENT: u16 = 322;
const ASYNCEVENT: u16 = 402;

/// Where the events of one plugin id go.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Route {
    /// evaluated by the rules of source number `n`, counted in slot `slot`
    Core { source: usize, slot: usize },
    /// handed to the Python path
    Python,
    /// a loaded source without rules: counted in `slot` only
    Count(usize),
}

/// An event the Python path handles, with everything `Event` needs.
#[derive(Debug, Clone)]
pub struct Handoff {
    pub offset: u64,
    pub num: u64,
    pub ts: u64,
    pub tid: u64,
    pub cpu: u16,
    pub etype: u16,
    pub nparams: u32,
    pub flags: u32,
    pub raw: Vec<u8>,
}

/// One alert of a core rule when Python renders it.
#[derive(Debug, Clone)]
pub struct Fired {
    pub source: usize,
    pub rule: usize,
    pub num: u64,
    pub ts: u64,
    pub message: String,
    pub fields: Vec<(String, Option<Data<'static>>)>,
}

/// Why a batch ended.
#[derive(Debug)]
pub enum Stop {
    Full,
    Python(Handoff),
    Error(WalkError),
    End,
}

/// What one batch produced.
#[derive(Debug, Default)]
pub struct Batch {
    /// the rendered alert lines (with a format)
    pub text: String,
    /// the alerts to render in Python (without a format)
    pub alerts: Vec<Fired>,
    /// alerts per (source, rule), in the order each was first seen in this batch
    pub counts: Vec<(usize, usize, u64)>,
    /// warnings of the walk (unknown block types)
    pub warnings: Vec<String>,
}

/// Options of one replay.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// render lines in the core (`None`: hand the alerts to Python)
    pub format: Option<Format>,
    /// added to every event number (a `-j` range starts after other events)
    pub num_base: u64,
    /// `(jobs, k)`: only the events whose number is `k` modulo `jobs`, lines prefixed
    /// with the event number and alert sequence for the merge
    pub modulo: Option<(u64, u64)>,
    /// the UTC offset of local times, seconds
    pub utc_offset: i64,
}

/// The state of one capture's replay.
pub struct Run {
    walker: Walker,
    routes: HashMap<u32, Route>,
    pub options: Options,
    /// the first event's timestamp
    pub first_ts: Option<u64>,
    pub events: u64,
    pub skipped: u64,
    /// events per count slot (the sources of `routes`)
    pub slots: Vec<u64>,
    /// events of the `syscall` source
    pub syscall: u64,
    warned: HashSet<u32>,
    done: bool,
    name: String,
}

impl Run {
    /// A replay of the walk with these routes.
    pub fn new(walker: Walker, routes: HashMap<u32, Route>, slots: usize, options: Options) -> Run {
        Run {
            name: walker.path().to_string(),
            walker,
            routes,
            options,
            first_ts: None,
            events: 0,
            skipped: 0,
            slots: vec![0; slots],
            syscall: 0,
            warned: HashSet::new(),
            done: false,
        }
    }

    /// Walk on until `max_alerts` alerts are out or a stop; `sources[n]` are the rules
    /// of source number `n`.
    pub fn step(&mut self, sources: &[&Source], max_alerts: usize, batch: &mut Batch) -> Stop {
        if self.done {
            return Stop::End;
        }
        let mut alerts = 0;
        let Run {
            walker,
            routes,
            options,
            first_ts,
            events,
            skipped,
            slots,
            syscall,
            warned,
            done,
            name,
        } = self;
        while alerts < max_alerts {
            let item = match walker.next_item() {
                None => {
                    *done = true;
                    return Stop::End;
                }
                Some(Err(err)) => {
                    *done = true;
                    return Stop::Error(err);
                }
                Some(Ok(item)) => item,
            };
            let ev = match item {
                Item::Block(block) => {
                    let t = block.block_type;
                    if t != BLOCK_SHB
                        && !is_event_block(t)
                        && !is_metadata_block(t)
                        && warned.insert(t)
                    {
                        batch.warnings.push(format!(
                            "{name}: offset {:#x}: skipping unknown block type {t:#x}",
                            block.offset
                        ));
                    }
                    continue;
                }
                Item::Event(ev) => ev,
            };
            let num = ev.num + options.num_base;
            first_ts.get_or_insert(ev.ts);
            if let Some((jobs, k)) = options.modulo {
                if num % jobs != k {
                    continue;
                }
            }
            *events += 1;
            let handoff = || Handoff {
                offset: ev.offset,
                num,
                ts: ev.ts,
                tid: ev.tid,
                cpu: ev.cpu,
                etype: ev.etype,
                nparams: ev.nparams,
                flags: ev.flags,
                raw: ev.raw.to_vec(),
            };
            if ev.etype == ASYNCEVENT {
                return Stop::Python(handoff());
            }
            if ev.etype != PLUGINEVENT {
                *syscall += 1;
                continue;
            }
            let Some(pid) = plugin_id(ev.raw, ev.nparams) else {
                return Stop::Python(handoff()); // its parameters overflow the event
            };
            let route = pid.and_then(|p| routes.get(&p).copied());
            let (source, slot) = match route {
                None => {
                    *skipped += 1;
                    continue;
                }
                Some(Route::Python) => return Stop::Python(handoff()),
                Some(Route::Count(slot)) => {
                    slots[slot] += 1;
                    continue;
                }
                Some(Route::Core { source, slot }) => (source, slot),
            };
            let rules = sources[source];
            match evaluate(options, *first_ts, rules, source, ev.raw, num, batch) {
                Some(n) => {
                    slots[slot] += 1;
                    alerts += n;
                }
                None => return Stop::Python(handoff()),
            }
        }
        Stop::Full
    }

    /// The walk's name of the capture.
    pub fn path(&self) -> &str {
        &self.name
    }
}

/// The alerts of one plugin event of a core source; `None`: Python evaluates it.
fn evaluate(
    options: &Options,
    first_ts: Option<u64>,
    rules: &Source,
    source: usize,
    raw: &[u8],
    num: u64,
    batch: &mut Batch,
) -> Option<usize> {
    {
        let (header, _, payload) = plugin_event(raw, num)?;
        let first = Cell::new(first_ts);
        let origin = rules.origin(&first);
        let mut rec = Record::new(payload, header, &origin);
        let mut values = Values::new(rules.field_count());
        let fired = match rules.evaluate(&mut rec, &mut values) {
            Verdict::Python => return None,
            Verdict::Fired(fired) => fired,
        };
        for (seq, &number) in fired.iter().enumerate() {
            rules.fill_output(number, &mut rec, &mut values);
            let output = rules.output(number)?;
            let message = output.message(&values);
            let fields = output.fields(&values);
            count(&mut batch.counts, source, number);
            let Some(format) = &options.format else {
                batch.alerts.push(Fired {
                    source,
                    rule: number,
                    num,
                    ts: header.ts,
                    message,
                    fields: fields
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.as_ref().map(Data::owned)))
                        .collect(),
                });
                continue;
            };
            let rule = &rules.rules[number];
            if options.modulo.is_some() {
                batch.text.push_str(&format!("{num:012}{:04} ", seq + 1));
            }
            let alert = Alert {
                rule: &rule.name,
                priority: &rule.priority,
                source: &rule.source,
                tags: &rule.tags,
                hostname: &rules.hostname,
                ts: header.ts,
                message: &message,
                fields: &fields,
            };
            line(format, &alert, options.utc_offset, &mut batch.text);
            batch.text.push('\n');
        }
        Some(fired.len())
    }
}

fn count(counts: &mut Vec<(usize, usize, u64)>, source: usize, rule: usize) {
    match counts
        .iter_mut()
        .find(|(s, r, _)| *s == source && *r == rule)
    {
        Some(entry) => entry.2 += 1,
        None => counts.push((source, rule, 1)),
    }
}

/// The plugin id of a plugin event as the Python loop reads it: `Some(None)` when it
/// has none (not two parameters, or a first parameter that is not 4 bytes), `None`
/// when its parameters run past its end.
fn plugin_id(raw: &[u8], nparams: u32) -> Option<Option<u32>> {
    if nparams != 2 || raw.len() < 34 {
        return Some(None);
    }
    let first = u32::from_le_bytes(raw[26..30].try_into().ok()?) as u64;
    let size = u32::from_le_bytes(raw[30..34].try_into().ok()?) as u64;
    if 34 + first + size > raw.len() as u64 {
        return None;
    }
    if first != 4 {
        return Some(None);
    }
    Some(Some(u32::from_le_bytes(raw[34..38].try_into().ok()?)))
}
