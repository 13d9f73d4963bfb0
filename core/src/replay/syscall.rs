//! The syscall source in the replay loop (docs/core.md, "Conditions and the replay
//! loop"): the state (`crate::state`) kept from every event in walk order, as
//! `tracked_events` keeps the Python `State`, and the syscall rules tested on each event
//! right after the state took it, with the syscall fields (`crate::sysfields`).
//!
//! The walk (`feed.rs`) copies the syscall events and metadata blocks of a chunk into
//! it; [`Syscall::run`] takes them in order when the chunk becomes the current one (the
//! next chunk is walked on another thread meanwhile). Metadata blocks are applied when
//! the next event comes (plugin events included), as `tracked_events` applies them. An
//! event whose parameters the state cannot read, or a metadata block that does not
//! parse, ends the replay on the Python path's error.

use std::cell::Cell;
use std::collections::HashMap;
use std::mem;

use super::chunk::{alerts, At, Chunk, Outcome, Step, SysEvent};
use super::rules::{GroupId, Source, Verdict, DEFAULT};
use super::run::{Handoff, Options};
use crate::cond::{Extract, Values};
use crate::state::params::params_fit;
use crate::state::{table, State};
use crate::sysfields::Ctx;
use crate::walk::{BlockRef, EventRef, Order};

const PLUGINEVENT: u16 = 322;

/// The syscall code of a generic event (0 or 1): its first parameter, a u16 right
/// after the length array, when it is stored as one (`render.syscall_code`).
fn syscall_code(ev: &EventRef<'_>) -> Option<u16> {
    if ev.etype > 1 || ev.nparams == 0 || ev.large {
        return None;
    }
    let start = 26 + 2 * ev.nparams as usize;
    if ev.raw.get(26..28)? != [2, 0] {
        return None;
    }
    let code = ev.raw.get(start..start + 2)?;
    Some(u16::from_le_bytes([code[0], code[1]]))
}

/// A metadata block walked since the last event, owned until the next event applies it.
#[derive(Debug, Clone)]
pub struct Block {
    pub offset: u64,
    pub block_type: u32,
    pub order: Order,
    pub body: Vec<u8>,
}

/// What one syscall step gives.
#[derive(Debug)]
pub enum SysOut {
    /// its alerts
    Alerts(Outcome),
    /// the event goes to the Python path now
    Python,
    /// the replay stops on the Python path's error
    Fault(Fault),
}

/// An event as the Python path gets it.
pub fn handoff(ev: &EventRef<'_>) -> Handoff {
    Handoff {
        offset: ev.offset,
        num: ev.num,
        ts: ev.ts,
        tid: ev.tid,
        cpu: ev.cpu,
        etype: ev.etype,
        nparams: ev.nparams,
        flags: ev.flags,
        raw: ev.raw.to_vec(),
    }
}

/// Why the state could not take an event.
#[derive(Debug)]
pub enum Fault {
    /// parameters run past the end of an event where the state reads them: those of
    /// the event, or (`Some`) those of the thread's enter event its exit reads
    Damaged(Option<Box<Handoff>>),
    /// a metadata block before the event does not parse (what the state says)
    Metadata(Block, String),
}

/// The syscall side of one replay.
#[derive(Debug)]
pub struct Syscall {
    pub state: State,
    /// the syscall source's number among the run's sources (in its alerts)
    pub number: usize,
    pending: Vec<Block>,
    /// room for an event's field values, kept between events
    spare: Values<'static>,
    lines: String,
    /// the groups of event types and syscall codes once looked up
    groups: TypeGroups,
    /// per thread, its last enter event when that one is damaged (what an error met
    /// while the exit reads it names)
    damaged_enters: HashMap<u64, Box<Handoff>>,
}

impl Syscall {
    /// A new state for the syscall source number `number`.
    pub fn new(number: usize, max_threads: usize) -> Syscall {
        Syscall {
            state: State::with_max_threads(max_threads),
            number,
            pending: Vec::new(),
            spare: Values::new(0),
            lines: String::new(),
            groups: TypeGroups::default(),
            damaged_enters: HashMap::new(),
        }
    }

    /// What the syscall steps of `chunk` give, in order (only the steps with alerts, an
    /// event for Python, and the first fault, after which nothing is taken).
    pub fn run(
        &mut self,
        chunk: &Chunk,
        rules: &Source,
        options: &Options,
    ) -> Vec<(usize, SysOut)> {
        let mut out = Vec::new();
        for (at, step) in chunk.steps.iter().enumerate() {
            let done = match step {
                Step::Block(block) => {
                    self.pending.push(block.clone());
                    continue;
                }
                Step::Seed => self.seed().map(|()| None),
                Step::Sys(sys) => self.event(chunk, sys, rules, options),
                _ => continue,
            };
            match done {
                Ok(None) => {}
                Ok(Some(got)) => out.push((at, got)),
                Err(fault) => {
                    out.push((at, SysOut::Fault(fault)));
                    break;
                }
            }
        }
        out
    }

    fn event(
        &mut self,
        chunk: &Chunk,
        sys: &SysEvent,
        rules: &Source,
        options: &Options,
    ) -> Result<Option<SysOut>, Fault> {
        let raw = chunk.arena.get(sys.start..sys.end).unwrap_or(&[]);
        let ev = EventRef { raw, ..sys.ev };
        self.take(&ev)?;
        if sys.python {
            return Ok(Some(SysOut::Python));
        }
        let outcome = self.evaluate(&ev, rules, options)?;
        Ok((outcome.python || !outcome.rules.is_empty()).then_some(SysOut::Alerts(outcome)))
    }

    /// Apply the pending metadata blocks.
    fn seed(&mut self) -> Result<(), Fault> {
        for block in mem::take(&mut self.pending) {
            let seeded = self.state.seed(&BlockRef {
                offset: block.offset,
                block_type: block.block_type,
                order: block.order,
                body: &block.body,
            });
            if let Err(why) = seeded {
                return Err(Fault::Metadata(block, why));
            }
        }
        Ok(())
    }

    /// Apply the pending metadata blocks, then the event, to the state.
    fn take(&mut self, ev: &EventRef<'_>) -> Result<(), Fault> {
        if !self.pending.is_empty() {
            self.seed()?;
        }
        let fits = || params_fit(ev.raw, ev.nparams as usize, ev.large);
        // an enter event a thread keeps as its last (`ThreadInfo.last_enter`)
        let kept = table::event(ev.etype).is_none_or(|i| i.enter && !i.skip)
            && ev.etype != PLUGINEVENT
            && ev.tid != 0
            && ev.tid < 1 << 62;
        if kept {
            if !fits() {
                self.damaged_enters.insert(ev.tid, Box::new(handoff(ev)));
            } else if !self.damaged_enters.is_empty() {
                self.damaged_enters.remove(&ev.tid);
            }
        }
        match self.state.update(ev) {
            Ok(()) => Ok(()),
            // the exit's own parameters are read first; else the enter's failed
            Err(_) if fits() => Err(Fault::Damaged(self.damaged_enters.remove(&ev.tid))),
            Err(_) => Err(Fault::Damaged(None)),
        }
    }

    /// The alerts of the syscall rules for the event the state took last; `Err` when a
    /// field would read the parameters of a damaged event (the Python path raises).
    fn evaluate(
        &mut self,
        ev: &EventRef<'_>,
        rules: &Source,
        options: &Options,
    ) -> Result<Outcome, Fault> {
        let cx = Ctx {
            ev: *ev,
            state: &self.state,
            hostname: &rules.hostname,
        };
        let group = self.groups.of(&cx, rules);
        if !rules.has_candidates(group) {
            return Ok(Outcome::default());
        }
        let hit = Cell::new(false);
        let damaged = !params_fit(ev.raw, ev.nparams as usize, ev.large);
        let mut fields = rules.syscall(&cx, damaged.then_some(&hit));
        let mut values = mem::take(&mut self.spare).recycle();
        let out = match rules.test(group, &mut fields, &mut values) {
            Verdict::Fired(fired) if fired.is_empty() => Outcome::default(),
            Verdict::Fired(fired) => {
                let at = At {
                    source: self.number,
                    num: ev.num,
                    ts: ev.ts,
                };
                alerts(
                    rules,
                    fired,
                    &mut fields,
                    &mut values,
                    options,
                    &at,
                    &mut self.lines,
                )
            }
            // a syscall plan runs in the core only when every rule does (`Replay`)
            Verdict::Python => Outcome::python(),
        };
        self.spare = values.recycle();
        if hit.get() {
            return Err(Fault::Damaged(None));
        }
        Ok(out)
    }
}

/// Per event type above 1 (`evt.type` is the type's name) and per syscall code of a
/// generic event, its group once looked up.
#[derive(Debug, Default)]
struct TypeGroups {
    by_type: Vec<Option<GroupId>>,
    by_code: Vec<Option<GroupId>>,
}

impl TypeGroups {
    /// The group of candidates of the event: by its `evt.type`, kept per event type
    /// above 1 (its name) and per syscall code of a generic event once looked up (the
    /// index field reads no parameter: no damage to check).
    fn of(&mut self, cx: &Ctx<'_>, rules: &Source) -> GroupId {
        let Some(index) = rules.index_field() else {
            return DEFAULT;
        };
        let mut fields = rules.syscall(cx, None);
        let mut lookup = || rules.group_of(fields.extract(index).as_ref());
        if !rules.index_is_type() {
            return lookup();
        }
        let (table, at) = match (cx.ev.etype, syscall_code(&cx.ev)) {
            (etype, _) if etype > 1 => (&mut self.by_type, usize::from(etype)),
            (_, Some(code)) => (&mut self.by_code, usize::from(code)),
            _ => return lookup(),
        };
        if at >= table.len() {
            table.resize(at + 1, None);
        }
        *table[at].get_or_insert_with(lookup)
    }
}
