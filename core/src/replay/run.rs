//! The replay loop over a capture (docs/core.md, "Conditions and the replay loop"):
//! the walk (`crate::walk`), the routing of plugin events by plugin id, the rules of
//! each source, and the alerts, in batches that Python writes out.
//!
//! It does what `replay_events` of scaptools/replay/loop.py does, event for event
//! (`feed.rs`): a plugin event's id is read from its first parameter (an event whose
//! parameters overflow it goes to Python, which raises); an unknown id is skipped; a
//! source with core rules is evaluated here unless its rules hand the event to Python.
//! Syscall events (and async events of the syscall source) go through the syscall
//! state and rules when the syscall source runs in the core (`syscall.rs`), else they
//! are counted; other async events go to Python.
//! A batch ends when it is full, at an event Python must handle, at the end, or at
//! the walk's error (after the alerts of every event before it). Events are walked a
//! chunk at a time and the chunk's plugin events evaluated over threads (`chunk.rs`).

use std::collections::HashMap;

use super::chunk::{Chunk, Outcome, Step, SysEvent};
use super::feed::Feed;
use super::render::Format;
use super::rules::Source;
use super::syscall::{handoff, Block, Fault, SysOut, Syscall};
use crate::cond::Data;
use crate::walk::{EventRef, WalkError, Walker};

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
    /// an event whose parameters the syscall state cannot read (Python raises its error)
    Damaged(Handoff),
    /// a metadata block the syscall state cannot read (Python raises its error)
    Metadata(Block, String),
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
    /// events walked per chunk (0: 4096)
    pub chunk_events: usize,
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
    /// the syscall state and rules, when the syscall source runs in the core
    sys: Option<Syscall>,
    /// what the chunk's syscall steps gave, by step
    sys_out: std::iter::Peekable<std::vec::IntoIter<(usize, SysOut)>>,
}

impl Run {
    /// A replay of the walk with these routes.
    pub fn new(walker: Walker, routes: HashMap<u32, Route>, slots: usize, options: Options) -> Run {
        Run {
            feed: Feed::new(walker, routes, slots, &options),
            options,
            chunk: Chunk::default(),
            ahead: None,
            spare: Chunk::default(),
            outcomes: Vec::new().into_iter(),
            at: 0,
            sys: None,
            sys_out: Vec::new().into_iter().peekable(),
        }
    }

    /// Keep the syscall state and test the syscall rules of source number `number`
    /// (its plan's rules all run in the core) on every syscall event.
    pub fn with_syscall(mut self, number: usize, max_threads: usize) -> Run {
        self.sys = Some(Syscall::new(number, max_threads));
        self.feed.track = true;
        self
    }

    /// The walk's name of the capture.
    pub fn path(&self) -> &str {
        &self.feed.name
    }

    /// The offset of the block the walk is at (where an internal error is reported).
    pub fn offset(&self) -> u64 {
        self.feed.offset()
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
            let at = self.at;
            let step = std::mem::replace(&mut self.chunk.steps[at], Step::End);
            self.at += 1;
            let walked = match step {
                Step::Eval(walked) => walked,
                Step::Sys(sys) => {
                    let Some((_, out)) = self.sys_out.next_if(|(n, _)| *n == at) else {
                        continue; // no alert
                    };
                    match out {
                        SysOut::Alerts(outcome) => {
                            alerts += outcome.rules.len();
                            let number = self.sys.as_ref().map_or(0, |s| s.number);
                            take(outcome, number, batch);
                        }
                        SysOut::Python => {
                            let raw = &self.chunk.arena[sys.start..sys.end];
                            return Stop::Python(handoff(&EventRef { raw, ..sys.ev }));
                        }
                        SysOut::Fault(fault) => return self.fault(fault, &sys),
                    }
                    continue;
                }
                Step::Block(_) => continue,
                Step::Seed => match self.sys_out.next_if(|(n, _)| *n == at) {
                    Some((_, SysOut::Fault(Fault::Metadata(block, why)))) => {
                        return Stop::Metadata(block, why)
                    }
                    _ => continue,
                },
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
            take(outcome, walked.source, batch);
        }
        Stop::Full
    }

    /// The stop of a fault of the syscall state at event `sys`.
    fn fault(&self, fault: Fault, sys: &SysEvent) -> Stop {
        match fault {
            Fault::Damaged(Some(enter)) => Stop::Damaged(*enter),
            Fault::Damaged(None) => {
                let raw = &self.chunk.arena[sys.start..sys.end];
                Stop::Damaged(handoff(&EventRef { raw, ..sys.ev }))
            }
            Fault::Metadata(block, why) => Stop::Metadata(block, why),
        }
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
        let (feed, options) = (&mut self.feed, &self.options);
        let rules = self
            .sys
            .as_ref()
            .and_then(|s| sources.get(s.number).copied());
        let mut sys_out = Vec::new();
        let mut syscall = |chunk: &Chunk| {
            if let (Some(sys), Some(rules)) = (self.sys.as_mut(), rules) {
                sys_out = sys.run(chunk, rules, options);
            }
        };
        let outcomes = if threads > 1 && !feed.walked && rules.is_some() {
            // the syscall steps here, the plugin events over threads, the next walk on
            // one more thread
            let mut next = std::mem::take(&mut self.spare);
            let outcomes = std::thread::scope(|scope| {
                let walk = scope.spawn(|| feed.fill(&mut next));
                let outcomes =
                    chunk.evaluate(sources, options, first_ts, threads, || syscall(&chunk));
                if let Err(panic) = walk.join() {
                    std::panic::resume_unwind(panic);
                }
                outcomes
            });
            self.ahead = Some(next);
            outcomes
        } else if threads > 1 && !feed.walked {
            let mut next = std::mem::take(&mut self.spare);
            let outcomes =
                chunk.evaluate(sources, options, first_ts, threads, || feed.fill(&mut next));
            self.ahead = Some(next);
            outcomes
        } else {
            syscall(&chunk);
            chunk.evaluate(sources, options, first_ts, threads, || {})
        };
        self.sys_out = sys_out.into_iter().peekable();
        self.chunk = chunk;
        self.outcomes = outcomes.into_iter();
        self.at = 0;
    }
}

/// An event's alerts into the batch.
fn take(outcome: Outcome, source: usize, batch: &mut Batch) {
    for &rule in &outcome.rules {
        count(&mut batch.counts, source, rule);
    }
    batch.text.push_str(&outcome.text);
    batch.alerts.extend(outcome.alerts);
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
