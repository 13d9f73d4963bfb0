//! The walk side of a replay (`run.rs`): the walker, the routing of each event as
//! `replay_events` of scaptools/replay/loop.py routes it, what it counts, and, with a
//! syscall source in the core, the syscall state and rules (`syscall.rs`), which take
//! every event in walk order while the chunk is walked.

use std::collections::{HashMap, HashSet};

use super::chunk::{Chunk, Step, SysEvent, Walked};
use super::run::{Options, Route};
use super::syscall::{handoff, Block};
use crate::walk::{is_event_block, is_metadata_block, EventRef, Item, Walker, BLOCK_SHB};

const PLUGINEVENT: u16 = 322;
const ASYNCEVENT: u16 = 402;

/// Events walked per chunk (unless told), and the most bytes of events a chunk copies.
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
    pub(crate) name: String,
    /// the walk has ended (or failed): no further chunk
    pub(crate) walked: bool,
    /// the syscall source runs in the core: syscall events and metadata blocks become
    /// steps of the chunk for its state
    pub track: bool,
    /// metadata blocks were walked since the last event
    seed: bool,
    /// events per chunk
    chunk_events: usize,
}

impl Feed {
    pub fn new(
        walker: Walker,
        routes: HashMap<u32, Route>,
        slots: usize,
        options: &Options,
    ) -> Feed {
        Feed {
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
            track: false,
            seed: false,
            chunk_events: match options.chunk_events {
                0 => CHUNK_EVENTS,
                n => n,
            },
        }
    }

    /// The offset of the block the walk is at.
    pub fn offset(&self) -> u64 {
        self.walker.block_offset()
    }

    /// Walk the next chunk into `chunk` (cleared): count what needs no evaluation, copy
    /// what does (with a tracked syscall source, every syscall event and metadata block).
    pub fn fill(&mut self, chunk: &mut Chunk) {
        chunk.clear();
        let mut events = 0;
        while events < self.chunk_events && chunk.arena.len() < CHUNK_BYTES {
            let item = match self.walker.next_item() {
                None => return self.stop(chunk, Step::End),
                Some(Err(err)) => return self.stop(chunk, Step::Error(err)),
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
                    if self.track && is_metadata_block(t) {
                        chunk.steps.push(Step::Block(Block {
                            offset: block.offset,
                            block_type: t,
                            order: block.order,
                            body: block.body.to_vec(),
                        }));
                        self.seed = true;
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
            let place = place(&ev, &self.routes);
            if self.track && ev.etype != PLUGINEVENT {
                // the state takes it first; an async event of a loaded plugin then goes
                // to Python, any other syscall event to the syscall rules
                let python = ev.etype == ASYNCEVENT && !async_is_syscall(&ev, &self.routes);
                if !python {
                    self.syscall += 1;
                }
                self.seed = false;
                let start = chunk.arena.len();
                chunk.arena.extend_from_slice(ev.raw);
                chunk.steps.push(Step::Sys(SysEvent {
                    ev: EventRef {
                        raw: &[],
                        num,
                        ..ev
                    },
                    start,
                    end: chunk.arena.len(),
                    python,
                }));
                continue;
            }
            if self.seed {
                chunk.steps.push(Step::Seed); // a plugin event applies the blocks too
                self.seed = false;
            }
            match place {
                Place::Syscall => self.syscall += 1,
                Place::Skip => self.skipped += 1,
                Place::Count(slot) => self.slots[slot] += 1,
                Place::Python => chunk
                    .steps
                    .push(Step::Python(handoff(&EventRef { num, ..ev }))),
                Place::Core { source, slot } => {
                    let start = chunk.arena.len();
                    chunk.arena.extend_from_slice(ev.raw);
                    let end = chunk.arena.len();
                    let head = handoff(&EventRef {
                        num,
                        raw: &[],
                        ..ev
                    });
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

    /// End the walk with `step`.
    fn stop(&mut self, chunk: &mut Chunk, step: Step) {
        self.walked = true;
        chunk.steps.push(step);
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

/// Whether an async event belongs to the `syscall` source as `_async_source` of the
/// Python loop says: no parameter, a plugin id of 0 or of no loaded plugin. An event
/// whose plugin id runs past its end is not (the Python path raises).
fn async_is_syscall(ev: &EventRef, routes: &[(u32, Route)]) -> bool {
    if ev.nparams == 0 {
        return true;
    }
    let start = 26 + 4 * ev.nparams as usize; // u32 lengths
    let Some(bytes) = ev.raw.get(start..start + 4) else {
        return false;
    };
    let pid = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    pid == 0 || !routes.iter().any(|(id, _)| *id == pid)
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
