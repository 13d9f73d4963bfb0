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
//! the walk's error (after the alerts of every event before it). Events are walked a
//! chunk at a time and the chunk's plugin events evaluated over threads (`chunk.rs`).

use std::collections::{HashMap, HashSet};

use super::chunk::{Chunk, Outcome, Step, Walked};
use super::render::Format;
use super::rules::Source;
use crate::cond::Data;
use crate::walk::{
    is_event_block, is_metadata_block, EventRef, Item, WalkError, Walker, BLOCK_SHB,
};

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
    /// threads that evaluate a chunk (0: one per CPU)
    pub threads: usize,
}

/// Events walked per chunk, and the most bytes of plugin events a chunk copies.
const CHUNK_EVENTS: usize = 4096;
const CHUNK_BYTES: usize = 8 << 20;

/// The walk side of a replay: the walker, the routing, and what it counts.
pub struct Feed {
    walker: Walker,
    /// by plugin id (a few: a list is quicker to look in than a hash table)
    routes: Vec<(u32, Route)>,
    num_base: u64,
    modulo: Option<(u64, u64)>,
    /// the first event's timestamp
    pub first_ts: Option<u64>,
    pub events: u64,
    pub skipped: u64,
    /// events per count slot (the sources of `routes`)
    pub slots: Vec<u64>,
    /// events of the `syscall` source
    pub syscall: u64,
    warned: HashSet<u32>,
    name: String,
    /// the walk has ended (or failed): no further chunk
    walked: bool,
}

/// The state of one capture's replay.
///
/// With more than one thread, the next chunk is walked while the threads evaluate the
/// current one; its warnings reach the batch when it becomes the current chunk, so
/// the lines, warnings and stops come in the same order as without the overlap.
pub struct Run {
    pub feed: Feed,
    pub options: Options,
    chunk: Chunk,
    /// the chunk walked ahead (`None`: not walked yet)
    ahead: Option<Chunk>,
    /// a cleared chunk whose memory the next walk reuses
    spare: Chunk,
    outcomes: std::vec::IntoIter<Outcome>,
    /// the next step of the chunk to hand out
    at: usize,
}

impl Run {
    /// A replay of the walk with these routes.
    pub fn new(walker: Walker, routes: HashMap<u32, Route>, slots: usize, options: Options) -> Run {
        Run {
            feed: Feed {
                name: walker.path().to_string(),
                walker,
                routes: routes.into_iter().collect(),
                num_base: options.num_base,
                modulo: options.modulo,
                first_ts: None,
                events: 0,
                skipped: 0,
                slots: vec![0; slots],
                syscall: 0,
                warned: HashSet::new(),
                walked: false,
            },
            options,
            chunk: Chunk::default(),
            ahead: None,
            spare: Chunk::default(),
            outcomes: Vec::new().into_iter(),
            at: 0,
        }
    }

    /// The walk's name of the capture.
    pub fn path(&self) -> &str {
        &self.feed.name
    }

    /// The offset of the block the walk is at (where an internal error is reported).
    pub fn offset(&self) -> u64 {
        self.feed.walker.block_offset()
    }

    /// Go on until `max_alerts` alerts are out or a stop; `sources[n]` are the rules
    /// of source number `n`.
    pub fn step(&mut self, sources: &[&Source], max_alerts: usize, batch: &mut Batch) -> Stop {
        let mut alerts = 0;
        while alerts < max_alerts {
            if self.at == self.chunk.steps.len() {
                if self.ahead.is_none() && self.feed.walked {
                    return Stop::End;
                }
                self.next_chunk(sources, batch);
                continue;
            }
            let step = std::mem::replace(&mut self.chunk.steps[self.at], Step::End);
            self.at += 1;
            let walked = match step {
                Step::Eval(walked) => walked,
                Step::Python(handoff) => return Stop::Python(handoff),
                Step::Error(err) => return Stop::Error(err),
                Step::End => return Stop::End,
            };
            let outcome = self.outcomes.next().unwrap_or_default();
            if outcome.python {
                let mut handoff = walked.head;
                handoff.raw = self.chunk.arena[walked.start..walked.end].to_vec();
                return Stop::Python(handoff);
            }
            self.feed.slots[walked.slot] += 1;
            alerts += outcome.rules.len();
            for &rule in &outcome.rules {
                count(&mut batch.counts, walked.source, rule);
            }
            batch.text.push_str(&outcome.text);
            batch.alerts.extend(outcome.alerts);
        }
        Stop::Full
    }

    /// Make the next chunk the current one and evaluate it; with threads, walk the one
    /// after it meanwhile.
    fn next_chunk(&mut self, sources: &[&Source], batch: &mut Batch) {
        let mut done = std::mem::take(&mut self.chunk);
        done.clear();
        let mut chunk = match self.ahead.take() {
            Some(chunk) => {
                self.spare = done;
                chunk
            }
            None => {
                self.feed.fill(&mut done);
                done
            }
        };
        batch.warnings.append(&mut chunk.warnings);
        let threads = match self.options.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get().min(8)),
            n => n,
        };
        let first_ts = self.feed.first_ts;
        let outcomes = if threads > 1 && !self.feed.walked {
            let mut next = std::mem::take(&mut self.spare);
            let feed = &mut self.feed;
            let outcomes = chunk.evaluate(sources, &self.options, first_ts, threads, || {
                feed.fill(&mut next)
            });
            self.ahead = Some(next);
            outcomes
        } else {
            chunk.evaluate(sources, &self.options, first_ts, threads, || {})
        };
        self.chunk = chunk;
        self.outcomes = outcomes.into_iter();
        self.at = 0;
    }
}

impl Feed {
    /// Walk the next chunk into `chunk` (cleared): count what needs no evaluation, copy
    /// what does.
    fn fill(&mut self, chunk: &mut Chunk) {
        chunk.clear();
        let mut events = 0;
        while events < CHUNK_EVENTS && chunk.arena.len() < CHUNK_BYTES {
            let item = match self.walker.next_item() {
                None => {
                    self.walked = true;
                    chunk.steps.push(Step::End);
                    return;
                }
                Some(Err(err)) => {
                    self.walked = true;
                    chunk.steps.push(Step::Error(err));
                    return;
                }
                Some(Ok(item)) => item,
            };
            let ev = match item {
                Item::Block(block) => {
                    let t = block.block_type;
                    if t != BLOCK_SHB
                        && !is_event_block(t)
                        && !is_metadata_block(t)
                        && self.warned.insert(t)
                    {
                        chunk.warnings.push(format!(
                            "{}: offset {:#x}: skipping unknown block type {t:#x}",
                            self.name, block.offset
                        ));
                    }
                    continue;
                }
                Item::Event(ev) => ev,
            };
            events += 1;
            let num = ev.num + self.num_base;
            self.first_ts.get_or_insert(ev.ts);
            if let Some((jobs, k)) = self.modulo {
                if num % jobs != k {
                    continue;
                }
            }
            self.events += 1;
            let head = |raw: Vec<u8>| Handoff {
                offset: ev.offset,
                num,
                ts: ev.ts,
                tid: ev.tid,
                cpu: ev.cpu,
                etype: ev.etype,
                nparams: ev.nparams,
                flags: ev.flags,
                raw,
            };
            match place(&ev, &self.routes) {
                Place::Syscall => self.syscall += 1,
                Place::Skip => self.skipped += 1,
                Place::Count(slot) => self.slots[slot] += 1,
                Place::Python => chunk.steps.push(Step::Python(head(ev.raw.to_vec()))),
                Place::Core { source, slot } => {
                    let start = chunk.arena.len();
                    chunk.arena.extend_from_slice(ev.raw);
                    let end = chunk.arena.len();
                    let head = head(Vec::new());
                    chunk.steps.push(Step::Eval(Walked {
                        source,
                        slot,
                        head,
                        start,
                        end,
                    }));
                }
            }
        }
    }
}

/// Where one event goes (the Python loop's routing, `replay_events`).
enum Place {
    Syscall,
    Skip,
    Count(usize),
    Python,
    Core { source: usize, slot: usize },
}

fn place(ev: &EventRef, routes: &[(u32, Route)]) -> Place {
    if ev.etype == ASYNCEVENT {
        return Place::Python;
    }
    if ev.etype != PLUGINEVENT {
        return Place::Syscall;
    }
    let Some(pid) = plugin_id(ev.raw, ev.nparams) else {
        return Place::Python; // its parameters overflow the event: Python raises
    };
    let route = pid.and_then(|p| routes.iter().find(|(id, _)| *id == p));
    match route.map(|(_, r)| *r) {
        None => Place::Skip,
        Some(Route::Python) => Place::Python,
        Some(Route::Count(slot)) => Place::Count(slot),
        Some(Route::Core { source, slot }) => Place::Core { source, slot },
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
