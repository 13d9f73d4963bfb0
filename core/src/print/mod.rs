//! `scap print` of syscall (and mixed) captures in the core (docs/core.md, "Where the
//! core runs"): the walk, the syscall state, the filter and the lines, handing Python
//! only finished text. It does what `print_capture` of scaptools/view/printer.py does,
//! event for event (the Python path is the reference):
//!
//! - metadata blocks seed the [`State`] when the next event comes (`tracked_events`),
//!   every event updates it;
//! - `-n N` stops at the first event numbered past N (after the state took it);
//! - hidden events (internal ones without `-D`, container events) are skipped, then
//!   the filter's `evt.type` gate, then the condition ([`plan`]);
//! - plugin events are routed by plugin id ([`plan::Routes`]): a source whose filter the
//!   core's rules evaluate (`view/filtering.py` `in_core`) is tested here; the events
//!   that may be shown go back to Python with the batch, each at its place in the text,
//!   to be rendered by their plugin (and filtered, when the core did not decide). They
//!   have no syscall state. No field of the core reads the time of the last event shown
//!   (`evt.deltatime` stays on the Python path), so the core does not wait for Python's
//!   verdict on them;
//! - anything the core would not write exactly as Python does (a damaged event, an
//!   event the state cannot take, a value it does not format) ends the core's part:
//!   Python prints the capture again and writes only what comes after the lines the
//!   core wrote.
//!
//! A walk error (a cut or damaged capture) comes after the lines of every event before
//! it, with the reader's message.

mod json;
pub mod plan;
mod render;
#[cfg(test)]
mod tests;

use std::cell::Cell;
use std::collections::HashSet;

use crate::cond::{Extract, Values};
use crate::fields::Record;
use crate::replay::run::Handoff;
use crate::replay::syscall::handoff;
use crate::replay::{plugin_event, Source, Verdict};
use crate::state::{Held, State};
use crate::sysfields::Ctx;
use crate::value::Value;
use crate::walk::tally::params_fit;
use crate::walk::{
    is_event_block, is_metadata_block, EventRef, Item, WalkError, Walker, BLOCK_SHB,
};
pub use plan::Plan;
use plan::{Cond, FilterField, Render, Route};
use render::{Clock, Shown};

pub const PLUGINEVENT: u16 = 322;
/// Bytes of text a batch holds at most before it goes to Python.
const BATCH_TEXT: usize = 1 << 20;
/// Plugin events a batch hands to Python at most.
const BATCH_PLUGINS: usize = 256;

/// What one step wrote.
#[derive(Debug, Default)]
pub struct Batch {
    /// the lines, each ending with a newline
    pub text: String,
    pub lines: u64,
    /// plugin events for Python to render, each with the length of `text` when it came
    /// (where its line goes) and whether the core's rules selected it (else Python's
    /// filter decides)
    pub plugins: Vec<(usize, Handoff, bool)>,
    /// warnings of the walk (unknown block types)
    pub warnings: Vec<String>,
}

impl Batch {
    /// Whether the batch holds `max_lines` lines (plugin events included), its text is
    /// long enough to go out, or it holds enough plugin events (Python keeps each one,
    /// with its parsed payload, until the batch is written).
    fn full(&self, max_lines: u64) -> bool {
        self.lines + self.plugins.len() as u64 >= max_lines
            || self.text.len() >= BATCH_TEXT
            || self.plugins.len() >= BATCH_PLUGINS
    }
}

/// Why a step ended.
#[derive(Debug)]
pub enum Stop {
    /// the batch is full
    Full,
    /// the capture (or `-n`) ended
    End,
    /// the walk failed (after every event before the fault)
    Error(WalkError),
    /// the core stops here: Python prints the rest (the reason)
    Python(String),
}

/// The print of one capture.
pub struct Printer {
    walker: Walker,
    state: State,
    /// metadata blocks seen since the last event: (offset, type, order, body)
    pending: Held,
    plan: Plan,
    clock: Clock,
    warned: HashSet<u32>,
    /// the walk's name of the capture
    name: String,
    ended: bool,
}

/// The filter's fields of one event, extracted on demand.
struct Fields<'f, 'a> {
    fields: &'f [FilterField],
    cx: &'f Ctx<'a>,
}

impl<'a> Extract<'a> for Fields<'_, 'a> {
    fn extract(&mut self, field: usize) -> Option<Value<'a>> {
        self.fields.get(field)?.extract(self.cx)
    }
}

impl Printer {
    pub fn new(walker: Walker, plan: Plan) -> Printer {
        Printer {
            name: walker.path().to_owned(),
            walker,
            state: State::new(),
            pending: Held::default(),
            plan,
            clock: Clock::default(),
            warned: HashSet::new(),
            ended: false,
        }
    }

    /// The walk's name of the capture.
    pub fn path(&self) -> &str {
        &self.name
    }

    /// The offset of the block the walk is at.
    pub fn offset(&self) -> u64 {
        self.walker.block_offset()
    }

    /// Go on until `max_lines` lines are written (plugin events count as lines) or a
    /// stop; `sources` are the rules of the plugin routes.
    pub fn step(&mut self, sources: &[&Source], max_lines: u64, batch: &mut Batch) -> Stop {
        let Printer {
            walker,
            state,
            pending,
            plan,
            clock,
            warned,
            name,
            ended,
        } = self;
        while !*ended && !batch.full(max_lines) {
            let item = match walker.next_item() {
                None => {
                    *ended = true;
                    break;
                }
                Some(Err(err)) => {
                    *ended = true;
                    return Stop::Error(err);
                }
                Some(Ok(item)) => item,
            };
            let ev = match item {
                Item::Block(block) => {
                    let t = block.block_type;
                    if is_metadata_block(t) {
                        pending.hold(&block);
                    } else if t != BLOCK_SHB && !is_event_block(t) && warned.insert(t) {
                        batch.warnings.push(format!(
                            "{}: offset {:#x}: skipping unknown block type {t:#x}",
                            name, block.offset
                        ));
                    }
                    continue;
                }
                Item::Event(ev) => ev,
            };
            if let Err((offset, why)) = pending.apply(state) {
                return Stop::Python(format!("block at {offset}: {why}"));
            }
            if let Err(why) = state.update(&ev) {
                return Stop::Python(format!("event {}: {why}", ev.num));
            }
            if plan.count.is_some_and(|n| ev.num > n) {
                *ended = true;
                break;
            }
            if plan.hidden.has(ev.etype) {
                continue;
            }
            if ev.etype == PLUGINEVENT {
                let selected = match plugin_verdict(plan, sources, &ev) {
                    Some(false) => continue,
                    Some(true) => true,
                    None => false,
                };
                let handoff = handoff(&ev);
                batch.plugins.push((batch.text.len(), handoff, selected));
                continue;
            }
            let cx = Ctx {
                ev,
                state,
                hostname: &plan.hostname,
            };
            if matches!(plan.render, Render::Nothing) {
                continue;
            }
            match selects(plan, &cx) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(why) => return Stop::Python(why),
            }
            if !params_fit(ev.raw, ev.etype, ev.nparams) {
                return Stop::Python(format!("event {} is damaged", ev.num));
            }
            match render::event(plan, &cx, clock, &mut batch.text) {
                Shown::Line => {
                    batch.text.push('\n');
                    batch.lines += 1;
                }
                Shown::Skip => {}
                Shown::Python(why) => return Stop::Python(format!("event {}: {why}", ev.num)),
            }
        }
        if *ended {
            Stop::End
        } else {
            Stop::Full
        }
    }
}

/// Whether the filter of `plan` selects syscall event `cx.ev`: the `evt.type` gate, then
/// the condition. `Err` when the condition would read a damaged event (Python decides).
pub fn selects(plan: &Plan, cx: &Ctx<'_>) -> Result<bool, String> {
    let ev = &cx.ev;
    if let Some(gate) = &plan.gate {
        if !gate.types.has(ev.etype) {
            return Ok(false);
        }
        if ev.etype < 2 {
            let name = gate.type_field.extract(cx);
            let known = |n: &str| gate.names.iter().any(|g| g == n);
            if !matches!(&name, Some(Value::Str(n)) if known(n)) {
                return Ok(false);
            }
        }
    }
    match &plan.cond {
        Cond::All => Ok(true),
        Cond::Never => Ok(false),
        Cond::Expr(expr) => {
            if !params_fit(ev.raw, ev.etype, ev.nparams) {
                return Err(format!("event {} is damaged", ev.num));
            }
            let mut values = Values::new(plan.fields.len());
            let mut fields = Fields {
                fields: &plan.fields,
                cx,
            };
            Ok(expr.eval(&mut values, &mut fields))
        }
    }
}

/// The filter's verdict on plugin event `ev`: `Some(true)` when the core's rules of its
/// route select it, `Some(false)` when nothing selects it, `None` when Python decides.
pub fn plugin_verdict(plan: &Plan, sources: &[&Source], ev: &EventRef<'_>) -> Option<bool> {
    match plan.plugins.of(plain_plugin_id(ev.raw, ev.nparams)?) {
        Route::Python => None,
        Route::Skip => Some(false),
        Route::Rules(n) => verdict(sources.get(n)?, ev.raw, ev.num),
    }
}

/// The plugin id of a plugin event when it is read in place (`Event.plugin_id`: two
/// parameters, the first 4 bytes long, both inside the event); `None` otherwise
/// (Python reads it then, or raises).
fn plain_plugin_id(raw: &[u8], nparams: u32) -> Option<u32> {
    const AT: usize = 26; // the two u32 parameter lengths after the v2 header
    if nparams != 2 {
        return None;
    }
    let first = u32::from_le_bytes(raw.get(AT..AT + 4)?.try_into().ok()?);
    let second = u32::from_le_bytes(raw.get(AT + 4..AT + 8)?.try_into().ok()?);
    if first != 4 || (AT as u64 + 8 + 4 + u64::from(second)) > raw.len() as u64 {
        return None;
    }
    Some(u32::from_le_bytes(
        raw.get(AT + 8..AT + 12)?.try_into().ok()?,
    ))
}

/// Whether the core's rules of `source` select the plugin event (`_core.Rules.match_event`
/// for a filter: a rule fired); `None` when Python must decide.
fn verdict(source: &Source, raw: &[u8], num: u64) -> Option<bool> {
    let (header, _, payload) = plugin_event(raw, num)?;
    let first = Cell::new(None);
    let origin = source.origin(&first);
    let mut rec = Record::new(payload, header, &origin);
    let mut values = Values::new(source.field_count());
    let mut fields = source.record(&mut rec);
    match source.evaluate(&mut fields, &mut values) {
        Verdict::Python => None,
        Verdict::Fired(fired) => Some(!fired.is_empty()),
    }
}
