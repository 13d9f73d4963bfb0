//! `scap slice` in the core (docs/core.md, "Where the core runs"): the walk, the syscall
//! state, the filter and the choice of events, handing Python the blocks to write. It
//! does what `cut` of scaptools/ops/slice.py does, event for event (the Python path is
//! the reference):
//!
//! - metadata blocks seed the [`State`] when the next event comes; machine and
//!   interface blocks are carried into the slice;
//! - the window is known at the first event (times after it are offsets from it);
//! - at the first event in the window the slice starts: its metadata is the carried
//!   blocks and the state as lists ([`State::dump`]); the calls in progress then, of
//!   types with an exit, wait for their thread's next event;
//! - syscall events update the state; an event in the window is kept when the filter
//!   selects it or its type is one that changes state;
//! - the enter event of a waiting call is carried into the slice when its thread's next
//!   event is kept. Until no call waits, the kept events are held (by Python), and a
//!   batch ends when the last one is decided, so Python writes the carried enters
//!   first.
//!
//! Anything the core would not do exactly as Python does (a damaged event the state or
//! the filter reads, an event Python would refuse to write, a plugin event Python must
//! judge) stops the core: Python slices the capture again.

use std::collections::{HashMap, HashSet};

use crate::print::{plan::TypeSet, plugin_verdict, selects, Plan, PLUGINEVENT};
use crate::replay::Source;
use crate::state::{Enter, Held, State};
use crate::sysfields::Ctx;
use crate::walk::table::is_large;
use crate::walk::{
    is_event_block, is_metadata_block, EventRef, Item, Order, WalkError, Walker, BLOCK_EV_V2,
    BLOCK_EV_V2_LARGE, BLOCK_SHB, NON_LARGE_MAX,
};

/// A metadata block of the slice: its type, body and whether the body is big-endian.
pub type Block = (u32, Vec<u8>, bool);

/// Bytes of event blocks a batch holds at most before it goes to Python.
const BATCH_BYTES: usize = 4 << 20;
/// The block header and cpu before an event, and the trailer after it (§9.1).
const EVENT_AT: usize = 10;
const TRAILER: usize = 4;
/// Where an event's length is in its header (§9.2).
const EVENT_LEN_AT: usize = 16;
const HEADER_SIZE: usize = 26;

/// One end of the window: a time, or an offset from the first event's time.
#[derive(Debug, Clone, Copy)]
pub enum Edge {
    At(u128),
    After(u128),
}

impl Edge {
    fn time(self, first: u64) -> u128 {
        match self {
            Edge::At(t) => t,
            Edge::After(n) => u128::from(first) + n,
        }
    }
}

/// What a slice asks for beside the filter of its plan.
#[derive(Debug)]
pub struct Options {
    pub low: Edge,
    pub high: Edge,
    /// types kept whatever the filter (they change state)
    pub keep: TypeSet,
    /// enter types that have an exit: calls that can be carried
    pub paired: TypeSet,
    /// machine and interface list types: carried into the slice
    pub carried: Vec<u32>,
    /// whether a filter is given (else every event of the window is kept)
    pub filtered: bool,
}

/// What one step found.
#[derive(Debug, Default)]
pub struct Batch {
    /// the slice's metadata, when it starts in this batch (before `blocks`)
    pub start: Option<Vec<Block>>,
    /// event blocks to write, as Python's writer frames them
    pub blocks: Vec<u8>,
    pub count: u64,
    /// enter events of waiting calls whose exits are kept: (time, block)
    pub carried: Vec<(u64, Vec<u8>)>,
    /// whether calls still wait after this batch (its blocks are then held)
    pub waiting: bool,
    pub warnings: Vec<String>,
}

/// Why a step ended.
#[derive(Debug)]
pub enum Stop {
    /// the batch is full, or the last waiting call was decided
    Full,
    /// the capture ended: the metadata of a slice without events (carried blocks and
    /// the state at the end)
    End(Vec<Block>),
    /// the walk failed (after every event before the fault)
    Error(WalkError),
    /// the window ends before it starts
    Window,
    /// the core stops: Python slices the capture (the reason)
    Python(String),
}

/// The slice of one capture.
pub struct Slicer {
    walker: Walker,
    cut: Cut,
}

/// Everything of the slice but the walk.
struct Cut {
    state: State,
    held: Held,
    plan: Plan,
    options: Options,
    /// the window, known at the first event
    window: Option<(u128, u128)>,
    /// machine and interface blocks met so far
    carried_meta: Vec<Block>,
    started: bool,
    /// threads whose call waits: tid -> the enter event's time and block
    waiting: HashMap<u64, (u64, Vec<u8>)>,
    warned: HashSet<u32>,
    name: String,
}

impl Slicer {
    pub fn new(walker: Walker, plan: Plan, options: Options) -> Slicer {
        Slicer {
            cut: Cut {
                name: walker.path().to_owned(),
                state: State::new(),
                held: Held::default(),
                plan,
                options,
                window: None,
                carried_meta: Vec::new(),
                started: false,
                waiting: HashMap::new(),
                warned: HashSet::new(),
            },
            walker,
        }
    }

    /// Go on until the batch is full, the last waiting call is decided, or a stop;
    /// `sources` are the rules of the plugin routes.
    pub fn step(&mut self, sources: &[&Source], batch: &mut Batch) -> Stop {
        let Slicer { walker, cut } = self;
        let stop = cut.run(walker, sources, batch);
        batch.waiting = !cut.waiting.is_empty();
        stop
    }
}

impl Cut {
    fn run(&mut self, walker: &mut Walker, sources: &[&Source], batch: &mut Batch) -> Stop {
        while batch.blocks.len() < BATCH_BYTES {
            let ev = match walker.next_item() {
                None => {
                    self.waiting.clear(); // those calls never returned
                    if let Err((offset, why)) = self.held.apply(&mut self.state) {
                        return Stop::Python(format!("block at {offset}: {why}"));
                    }
                    return Stop::End(self.metadata());
                }
                Some(Err(err)) => return Stop::Error(err),
                Some(Ok(Item::Block(block))) => {
                    let t = block.block_type;
                    if is_metadata_block(t) {
                        self.held.hold(&block);
                        if self.options.carried.contains(&t) {
                            self.carried_meta.push((
                                t,
                                block.body.to_vec(),
                                block.order == Order::Big,
                            ));
                        }
                    } else if t != BLOCK_SHB && !is_event_block(t) && self.warned.insert(t) {
                        batch.warnings.push(format!(
                            "{}: offset {:#x}: skipping unknown block type {t:#x}",
                            self.name, block.offset
                        ));
                    }
                    continue;
                }
                Some(Ok(Item::Event(ev))) => ev,
            };
            if let Err((offset, why)) = self.held.apply(&mut self.state) {
                return Stop::Python(format!("block at {offset}: {why}"));
            }
            let (low, high) = match self.window {
                Some(w) => w,
                None => {
                    let w = (self.options.low.time(ev.ts), self.options.high.time(ev.ts));
                    if w.1 < w.0 {
                        return Stop::Window;
                    }
                    *self.window.insert(w)
                }
            };
            let inside = (low..=high).contains(&u128::from(ev.ts));
            if inside && !self.started {
                self.started = true;
                if let Err(why) = self.begin(batch) {
                    return Stop::Python(why);
                }
            }
            if ev.etype != PLUGINEVENT {
                if let Err(why) = self.state.update(&ev) {
                    return Stop::Python(format!("event {}: {why}", ev.num));
                }
            }
            let keep = inside
                && match self.selected(sources, &ev) {
                    Ok(chosen) => chosen || self.options.keep.has(ev.etype),
                    Err(why) => return Stop::Python(why),
                };
            let decided = self.started && !self.waiting.is_empty() && self.see(&ev, keep, batch);
            if keep {
                if let Err(why) = frame(&ev, &mut batch.blocks) {
                    return Stop::Python(why);
                }
                batch.count += 1;
            }
            if decided {
                return Stop::Full;
            }
        }
        Stop::Full
    }

    /// The slice's metadata now: the carried blocks, then the state as lists.
    fn metadata(&self) -> Vec<Block> {
        let mut meta = self.carried_meta.clone();
        let dump = self.state.dump().into_iter();
        meta.extend(dump.map(|(t, body)| (t, body, false)));
        meta
    }

    /// The slice starts: its metadata, and the calls that wait.
    fn begin(&mut self, batch: &mut Batch) -> Result<(), String> {
        batch.start = Some(self.metadata());
        for (tid, enter) in self.state.calls_in_progress() {
            if self.options.paired.has(enter.etype) {
                let mut block = Vec::new();
                frame_enter(enter, &mut block)?;
                self.waiting.insert(tid as u64, (enter.ts, block));
            }
        }
        Ok(())
    }

    /// Whether the filter selects `ev` (every event without a filter).
    fn selected(&self, sources: &[&Source], ev: &EventRef<'_>) -> Result<bool, String> {
        if !self.options.filtered {
            return Ok(true);
        }
        if ev.etype == PLUGINEVENT {
            return plugin_verdict(&self.plan, sources, ev)
                .ok_or_else(|| format!("plugin event {} is judged by Python", ev.num));
        }
        let cx = Ctx {
            ev: *ev,
            state: &self.state,
            hostname: &self.plan.hostname,
        };
        selects(&self.plan, &cx)
    }

    /// The next event of a thread whose call waits decides it: its enter is carried
    /// when the event is kept. True when it was the last call waiting.
    fn see(&mut self, ev: &EventRef<'_>, keep: bool, batch: &mut Batch) -> bool {
        let Some((ts, block)) = self.waiting.remove(&ev.tid) else {
            return false;
        };
        if keep {
            batch.carried.push((ts, block));
        }
        self.waiting.is_empty()
    }
}

/// Append the block Python's writer makes of an event (`event_block`): a v2 block
/// (large for the types with u32 parameter lengths) with its cpu; `Err` when Python
/// would refuse it.
fn frame(ev: &EventRef<'_>, out: &mut Vec<u8>) -> Result<(), String> {
    frame_raw(ev.num, ev.etype, ev.cpu, ev.raw, out)
}

fn frame_enter(enter: &Enter, out: &mut Vec<u8>) -> Result<(), String> {
    frame_raw(0, enter.etype, enter.cpu, &enter.raw, out)
}

fn frame_raw(num: u64, etype: u16, cpu: u16, raw: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
    let stated = raw
        .get(EVENT_LEN_AT..EVENT_LEN_AT + 4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    if raw.len() < HEADER_SIZE || stated != Some(raw.len() as u32) {
        return Err(format!("event {num}: its length does not match its bytes"));
    }
    let large = is_large(etype);
    let pad = (4 - (raw.len() + EVENT_AT) % 4) % 4;
    let total = EVENT_AT + raw.len() + pad + TRAILER;
    if !large && total - 8 > NON_LARGE_MAX as usize {
        return Err(format!(
            "event {num} is too large for a non-large event block"
        ));
    }
    let total = u32::try_from(total).map_err(|_| format!("event {num} is too large"))?;
    let btype = if large {
        BLOCK_EV_V2_LARGE
    } else {
        BLOCK_EV_V2
    };
    out.extend_from_slice(&btype.to_le_bytes());
    out.extend_from_slice(&total.to_le_bytes());
    out.extend_from_slice(&cpu.to_le_bytes());
    out.extend_from_slice(raw);
    out.extend_from_slice(&[0; 3][..pad]);
    out.extend_from_slice(&total.to_le_bytes());
    Ok(())
}
