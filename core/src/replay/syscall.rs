//! The syscall source in the replay loop (docs/core.md, "Conditions and the replay
//! loop"): the state (`crate::state`) kept from every event in walk order, as
//! `tracked_events` keeps the Python `State`, and the syscall rules tested on each event
//! right after the state took it, with the syscall fields (`crate::sysfields`).
//!
//! Metadata blocks are applied when the next event comes (plugin events included), as
//! `tracked_events` applies them. An event whose parameters the state cannot read, or a
//! metadata block that does not parse, ends the replay on the Python path's error.

use std::cell::Cell;
use std::collections::HashMap;
use std::mem;

use super::chunk::{alerts, At, Outcome};
use super::rules::{GroupId, Source, Verdict, DEFAULT};
use super::run::{Handoff, Options};
use crate::cond::{Extract, Values};
use crate::state::params::params_fit;
use crate::state::{table, State};
use crate::sysfields::Ctx;
use crate::walk::{is_metadata_block, BlockRef, EventRef, Order};

const PLUGINEVENT: u16 = 322;

/// A metadata block walked since the last event, owned until the next event applies it.
#[derive(Debug, Clone)]
pub struct Block {
    pub offset: u64,
    pub block_type: u32,
    pub order: Order,
    pub body: Vec<u8>,
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
    /// per event type above 1, its group once looked up (`evt.type` is the type's name)
    by_type: Vec<Option<GroupId>>,
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
            by_type: Vec::new(),
            damaged_enters: HashMap::new(),
        }
    }

    /// Keep a metadata block for the next event (other blocks are ignored).
    pub fn block(&mut self, block: &BlockRef<'_>) {
        if is_metadata_block(block.block_type) {
            self.pending.push(Block {
                offset: block.offset,
                block_type: block.block_type,
                order: block.order,
                body: block.body.to_vec(),
            });
        }
    }

    /// Apply the pending metadata blocks, then the event (`head`: as the Python path
    /// sees it), to the state.
    pub fn take(&mut self, ev: &EventRef<'_>, head: impl Fn() -> Handoff) -> Result<(), Fault> {
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
        let fits = params_fit(ev.raw, ev.nparams as usize, ev.large);
        // an enter event a thread keeps as its last (`ThreadInfo.last_enter`)
        let kept = table::event(ev.etype).is_none_or(|i| i.enter && !i.skip)
            && ev.etype != PLUGINEVENT
            && ev.tid != 0
            && ev.tid < 1 << 62;
        if kept && (!fits || !self.damaged_enters.is_empty()) {
            if fits {
                self.damaged_enters.remove(&ev.tid);
            } else {
                self.damaged_enters.insert(ev.tid, Box::new(head()));
            }
        }
        match self.state.update(ev) {
            Ok(()) => Ok(()),
            // the exit's own parameters are read first; else the enter's failed
            Err(_) if fits => Err(Fault::Damaged(self.damaged_enters.remove(&ev.tid))),
            Err(_) => Err(Fault::Damaged(None)),
        }
    }

    /// The alerts of the syscall rules for the event the state took last; `Err` when a
    /// field would read the parameters of a damaged event (the Python path raises).
    pub fn evaluate(
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
        let hit = Cell::new(false);
        let damaged = !params_fit(ev.raw, ev.nparams as usize, ev.large);
        let mut fields = rules.syscall(&cx, damaged.then_some(&hit));
        let group = match rules.index_field() {
            None => DEFAULT,
            Some(index) if ev.etype > 1 && rules.index_is_type() => {
                let at = usize::from(ev.etype);
                if at >= self.by_type.len() {
                    self.by_type.resize(at + 1, None);
                }
                *self.by_type[at]
                    .get_or_insert_with(|| rules.group_of(fields.extract(index).as_ref()))
            }
            Some(index) => rules.group_of(fields.extract(index).as_ref()),
        };
        if !rules.has_candidates(group) {
            return Ok(Outcome::default());
        }
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
