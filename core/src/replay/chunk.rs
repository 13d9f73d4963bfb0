//! A chunk of walked events and their evaluation, spread over threads.
//!
//! The replay loop (`run.rs`) walks a chunk of events, copying the plugin events of core
//! sources into one arena; each of them is then evaluated on its own (its fields, its
//! source's rules, its alert lines), which depends on nothing but the event, so the
//! chunk is cut into as many runs as there are threads. The loop then takes the
//! outcomes in event order.

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::render::{line, Alert};
use super::rules::{plugin_event, Source, Verdict};
use super::run::{Fired, Handoff, Options};
use super::syscall::Block;
use crate::cond::{Data, Extract, Values};
use crate::fields::{Origin, Record};
use crate::walk::{EventRef, WalkError};

/// A plugin event of a core source, waiting for its evaluation.
#[derive(Debug)]
pub struct Walked {
    pub source: usize,
    pub slot: usize,
    /// the event's header fields (`raw` empty: the bytes are in the arena)
    pub head: Handoff,
    pub start: usize,
    pub end: usize,
}

/// One step of a chunk, in walk order.
#[derive(Debug)]
pub enum Step {
    Eval(Walked),
    /// an event for the syscall state (and rules), its bytes in the arena
    Sys(SysEvent),
    /// a metadata block for the syscall state
    Block(Block),
    /// the syscall state applies the blocks walked so far (a plugin event came)
    Seed,
    Python(Handoff),
    Error(WalkError),
    End,
}

/// An event the syscall state takes: its header (`raw` empty), where its bytes are in
/// the arena, and whether it goes to Python after the state took it (an async event of
/// a loaded plugin) instead of the syscall rules.
#[derive(Debug)]
pub struct SysEvent {
    pub ev: EventRef<'static>,
    pub start: usize,
    pub end: usize,
    pub python: bool,
}

/// What evaluating one event gave.
#[derive(Debug, Default)]
pub struct Outcome {
    /// the event meets a Python rule (it goes to the Python path whole)
    pub python: bool,
    /// the rendered lines (with a format)
    pub text: String,
    /// the alerts (without a format)
    pub alerts: Vec<Fired>,
    /// the rules that fired, in order
    pub rules: Vec<usize>,
}

/// The walked events of one chunk.
#[derive(Debug, Default)]
pub struct Chunk {
    pub arena: Vec<u8>,
    pub steps: Vec<Step>,
    /// warnings of the walk (unknown block types) met while walking this chunk
    pub warnings: Vec<String>,
}

impl Chunk {
    /// Forget the previous chunk (keeping the memory).
    pub fn clear(&mut self) {
        self.arena.clear();
        self.steps.clear();
        self.warnings.clear();
    }

    /// The outcome of every `Eval` step, in order, over `threads` threads, while the
    /// calling thread runs `meanwhile` (the walk of the next chunk) and then helps.
    /// The threads take slices of the chunk's events in turn, so a thread slowed by
    /// other work of the machine holds up no more than a slice.
    pub fn evaluate(
        &self,
        sources: &[&Source],
        options: &Options,
        first_ts: Option<u64>,
        threads: usize,
        meanwhile: impl FnOnce(),
    ) -> Vec<Outcome> {
        let work: Vec<&Walked> = self
            .steps
            .iter()
            .filter_map(|s| match s {
                Step::Eval(w) => Some(w),
                _ => None,
            })
            .collect();
        let slices = work.len().div_ceil(SLICE);
        let taken = AtomicUsize::new(0);
        let one = || -> Vec<(usize, Vec<Outcome>)> {
            // per thread: the sources' origins and one table of field values, reused
            let cells: Vec<Cell<Option<u64>>> =
                sources.iter().map(|_| Cell::new(first_ts)).collect();
            let origins: Vec<Origin> = sources
                .iter()
                .zip(&cells)
                .map(|(s, c)| s.origin(c))
                .collect();
            let mut values = Values::new(0);
            let mut lines = String::new();
            let mut done = Vec::new();
            loop {
                let n = taken.fetch_add(1, Ordering::Relaxed);
                if n >= slices {
                    return done;
                }
                let part = &work[n * SLICE..((n + 1) * SLICE).min(work.len())];
                let outcomes = part
                    .iter()
                    .map(|w| {
                        values.clear();
                        let raw = &self.arena[w.start..w.end];
                        let (source, origin) = (sources[w.source], &origins[w.source]);
                        evaluate(source, origin, options, w, raw, &mut values, &mut lines)
                    })
                    .collect();
                done.push((n, outcomes));
            }
        };
        let threads = threads.max(1);
        let parts = if threads == 1 || work.len() < 64 {
            meanwhile();
            one()
        } else {
            std::thread::scope(|scope| {
                let handles: Vec<_> = (0..threads).map(|_| scope.spawn(one)).collect();
                meanwhile();
                let mut parts = one();
                for handle in handles {
                    match handle.join() {
                        Ok(part) => parts.extend(part),
                        Err(panic) => std::panic::resume_unwind(panic),
                    }
                }
                parts
            })
        };
        let mut ordered: Vec<Vec<Outcome>> = Vec::new();
        ordered.resize_with(slices, Vec::new);
        for (n, outcomes) in parts {
            ordered[n] = outcomes;
        }
        ordered.into_iter().flatten().collect()
    }
}

/// Events a thread takes at a time.
const SLICE: usize = 256;

/// The alerts of one plugin event of a core source (`values`: empty, for its fields).
fn evaluate<'a>(
    rules: &Source,
    origin: &'a Origin<'a>,
    options: &Options,
    w: &Walked,
    raw: &'a [u8],
    values: &mut Values<'a>,
    lines: &mut String,
) -> Outcome {
    let Some((header, _, payload)) = plugin_event(raw, w.head.num) else {
        return Outcome::python();
    };
    let mut rec = Record::new(payload, header, origin);
    let mut fields = rules.record(&mut rec);
    match rules.evaluate(&mut fields, values) {
        Verdict::Python => Outcome::python(),
        Verdict::Fired(fired) => {
            let at = At {
                source: w.source,
                num: w.head.num,
                ts: header.ts,
            };
            alerts(rules, fired, &mut fields, values, options, &at, lines)
        }
    }
}

/// Which event an outcome is of: its source's number, event number and time.
pub struct At {
    pub source: usize,
    pub num: u64,
    pub ts: u64,
}

impl Outcome {
    /// The outcome of an event the Python path evaluates whole.
    pub fn python() -> Outcome {
        Outcome {
            python: true,
            ..Outcome::default()
        }
    }
}

/// The alerts of the rules `fired` for one event whose fields `fields` gives: lines
/// rendered in `lines` (a buffer reused by the caller) with a format, else `Fired`.
pub fn alerts<'a>(
    rules: &Source,
    fired: Vec<usize>,
    fields: &mut dyn Extract<'a>,
    values: &mut Values<'a>,
    options: &Options,
    at: &At,
    lines: &mut String,
) -> Outcome {
    let mut out = Outcome::default();
    lines.clear();
    let json = options
        .format
        .as_ref()
        .is_none_or(|f| f.json && f.include_fields);
    for (seq, &number) in fired.iter().enumerate() {
        rules.fill_output(number, fields, values);
        let Some(output) = rules.output(number) else {
            return Outcome::python();
        };
        let message = output.message(values);
        let shown = if json {
            output.fields(values)
        } else {
            Vec::new()
        };
        let Some(format) = &options.format else {
            out.alerts.push(Fired {
                source: at.source,
                rule: number,
                num: at.num,
                ts: at.ts,
                message,
                fields: shown
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.as_ref().map(Data::owned)))
                    .collect(),
            });
            continue;
        };
        let rule = &rules.rules[number];
        if options.modulo.is_some() {
            lines.push_str(&format!("{:012}{:04} ", at.num, seq + 1));
        }
        let alert = Alert {
            rule: &rule.name,
            priority: &rule.priority,
            source: &rule.source,
            tags: &rule.tags,
            hostname: &rules.hostname,
            ts: at.ts,
            message: &message,
            fields: &shown,
        };
        line(format, &alert, options.utc_offset, lines);
        lines.push('\n');
    }
    // the lines are written in a buffer the caller reuses, then copied once
    out.text = String::from(lines.as_str());
    lines.clear();
    out.rules = fired;
    out
}
