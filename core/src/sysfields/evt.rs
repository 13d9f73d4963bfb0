//! The syscall fields of the class `evt` (`scaptools/fields/syscall/evt.py` and the
//! generic time fields of `scaptools/fields/generic.py`), with sysdig's rendering of
//! arguments (`evt.args`, `evt.info`, `evt.arg.NAME`, `evt.rawarg.NAME`; `render.rs`).
//!
//! Left to the Python path (`FieldError::Unknown`): `evt.buffer` (bytes), `evt.around`
//! (a window test of the compiler), `evt.deltatime*` (the time of the event a printer
//! showed last).
//!
//! `evt.info`, `evt.args` and `evt.arg` cut byte buffers at 80 characters (the Python
//! state's default `buffer_limit`); printers of sysdig's JSON lines, which keep them
//! whole, call [`push_event_args`] with no limit. A plugin event (type 322) reads no
//! state, as the Python tracker hands it on untouched.

mod args;
mod calls;
mod compile;
mod net;
mod render;
mod table;
#[cfg(test)]
mod tests;
mod text;

use std::borrow::Cow;

use super::Ctx;
use crate::fields::clock;
use crate::state::State;
use crate::value::Value;
use crate::walk::EventRef;
use args::Args;
pub use compile::compile;
use render::Renderer;
pub use text::MAX_BUF_LEN;

const NS: u64 = 1_000_000_000;
const PLUGIN_EVENT: u16 = 322;

/// Which part of a time span a field gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Whole,
    /// whole seconds (floor)
    S,
    /// the nanoseconds after them
    Ns,
}

/// Which parameter `evt.arg`/`evt.rawarg` reads: by position, or by name (its position
/// in each event type, worked out once).
#[derive(Debug, Clone, PartialEq)]
pub enum Sel {
    Index(usize),
    Name(Vec<Option<u8>>),
}

/// A compiled field of this module.
#[derive(Debug, Clone, PartialEq)]
pub enum EvtField {
    Num,
    /// `evt.time`, `evt.datetime`, ...
    Clock(clock::Text),
    Rawtime(Part),
    Reltime(Part),
    Latency(Part),
    LatencyHuman,
    WaitLatency,
    Dir,
    Type,
    TypeIs(String),
    SyscallType,
    Category,
    Cpu,
    Args,
    Info,
    Arg(Sel),
    RawArg(Sel),
    Buflen,
    Res,
    RawRes,
    Failed,
    IsIo,
    IsIoRead,
    IsIoWrite,
    IoDir,
    IsWait,
    Count,
    CountExit,
    CountError(Option<calls::ErrorKind>),
    IsSyslog,
    IsOpenRead,
    IsOpenWrite,
    IsOpenExec,
    Source,
    Hostname,
    /// `evt.pluginname`, `evt.plugininfo`: never a value on syscall events
    Nothing,
    /// the `n`-th relative path of a call with a directory fd, made absolute
    Abspath(usize),
}

fn text<'a>(s: String) -> Option<Value<'a>> {
    Some(Value::Str(Cow::Owned(s)))
}

fn name<'a>(s: &'static str) -> Option<Value<'a>> {
    Some(Value::Str(Cow::Borrowed(s)))
}

/// An integer value: `U64` when not negative.
fn int<'a>(v: i128) -> Option<Value<'a>> {
    match u64::try_from(v) {
        Ok(v) => Some(Value::U64(v)),
        Err(_) => Some(Value::I64(i64::try_from(v).unwrap_or(i64::MIN))),
    }
}

fn split<'a>(v: i128, part: Part) -> Option<Value<'a>> {
    let ns = i128::from(NS);
    int(match part {
        Part::Whole => v,
        Part::S => v.div_euclid(ns),
        Part::Ns => v.rem_euclid(ns),
    })
}

fn flag<'a>(b: bool) -> Option<Value<'a>> {
    Some(Value::Bool(b))
}

/// The state an event's fields read: none for plugin events, which the Python tracker
/// hands on untouched.
fn state_of<'a>(cx: &Ctx<'a>) -> Option<&'a State> {
    (cx.ev.etype != PLUGIN_EVENT).then_some(cx.state)
}

impl EvtField {
    pub fn extract<'a>(&self, cx: &Ctx<'a>) -> Option<Value<'a>> {
        let ev = &cx.ev;
        let info = table::event(ev.etype);
        match self {
            EvtField::Num => Some(Value::U64(ev.num)),
            EvtField::Clock(kind) => kind.of_time(ev.ts).and_then(text),
            EvtField::Rawtime(part) => split(i128::from(ev.ts), *part),
            EvtField::Reltime(part) => split(reltime(ev, state_of(cx)), *part),
            EvtField::Latency(part) => split(calls::latency(ev, state_of(cx)), *part),
            EvtField::LatencyHuman => text(text::human(calls::latency(ev, state_of(cx)))),
            EvtField::WaitLatency => {
                let wait = info.is_some_and(|i| i.waits && !i.enter);
                wait.then(|| calls::latency(ev, state_of(cx))).and_then(int)
            }
            EvtField::Dir => name(if calls::is_exit(ev.etype) { "<" } else { ">" }),
            EvtField::Type => name(calls::type_name(ev)),
            EvtField::TypeIs(want) => flag(calls::type_name(ev) == want),
            EvtField::SyscallType => info
                .filter(|i| i.syscall)
                .and_then(|_| name(calls::type_name(ev))),
            EvtField::Category => name(calls::category(ev, state_of(cx))),
            EvtField::Cpu => Some(Value::U64(u64::from(ev.cpu))),
            // both are `evt.info` in the Python field set (a space after each argument)
            EvtField::Args | EvtField::Info => args_text(cx, true).and_then(text),
            EvtField::Arg(sel) => arg(cx, sel),
            EvtField::RawArg(sel) => raw_arg(ev, sel),
            EvtField::Buflen => calls::buflen(ev, state_of(cx)).and_then(int),
            EvtField::Res => calls::res(ev).and_then(|r| res_text(r).and_then(text)),
            EvtField::RawRes => calls::res(ev).and_then(int),
            EvtField::Failed => flag(calls::res(ev).is_some_and(|r| r < 0)),
            EvtField::IsIo => flag(info.is_some_and(|i| i.is_io_read() || i.is_io_write())),
            EvtField::IsIoRead => flag(info.is_some_and(table::Event::is_io_read)),
            EvtField::IsIoWrite => flag(info.is_some_and(table::Event::is_io_write)),
            EvtField::IoDir => match info {
                Some(i) if i.is_io_read() => name("read"),
                Some(i) if i.is_io_write() => name("write"),
                _ => None,
            },
            EvtField::IsWait => flag(info.is_some_and(|i| i.waits)),
            EvtField::Count => Some(Value::U64(1)),
            EvtField::CountExit => calls::is_exit(ev.etype).then_some(Value::U64(1)),
            EvtField::CountError(kind) => {
                let failed = calls::res(ev).is_some_and(|r| r < 0);
                let counts =
                    failed && kind.is_none_or(|k| calls::error_kind(ev, state_of(cx)) == k);
                counts.then_some(Value::U64(1))
            }
            EvtField::IsSyslog => flag(calls::is_syslog(ev, state_of(cx))),
            EvtField::IsOpenRead => flag(calls::open_mode(ev, false)),
            EvtField::IsOpenWrite => flag(calls::open_mode(ev, true)),
            EvtField::IsOpenExec => flag(false),
            EvtField::Source => name("syscall"),
            EvtField::Hostname => Some(Value::Str(Cow::Borrowed(cx.hostname))),
            EvtField::Nothing => None,
            EvtField::Abspath(which) => abspath(cx, *which).and_then(text),
        }
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            EvtField::Num
            | EvtField::Buflen
            | EvtField::Count
            | EvtField::CountExit
            | EvtField::CountError(_) => "uint64",
            EvtField::Rawtime(_) => "abstime",
            EvtField::Reltime(_) | EvtField::Latency(_) | EvtField::WaitLatency => "reltime",
            EvtField::Cpu | EvtField::RawArg(_) | EvtField::RawRes => "int64",
            EvtField::TypeIs(_)
            | EvtField::Failed
            | EvtField::IsIo
            | EvtField::IsIoRead
            | EvtField::IsIoWrite
            | EvtField::IsWait
            | EvtField::IsSyslog
            | EvtField::IsOpenRead
            | EvtField::IsOpenWrite
            | EvtField::IsOpenExec => "bool",
            _ => "string",
        }
    }

    pub fn is_list(&self) -> bool {
        false
    }
}

/// ns since the capture's first event (0 without a state).
fn reltime(ev: &EventRef<'_>, state: Option<&State>) -> i128 {
    let first = state.and_then(|s| s.first_ts).unwrap_or(ev.ts);
    i128::from(ev.ts) - i128::from(first)
}

/// `SUCCESS` or the errno name (the number when it has none).
fn res_text(res: i128) -> Option<String> {
    if res >= 0 {
        return Some("SUCCESS".into());
    }
    Some(match table::table().errno.get(&-res) {
        Some(name) => name.clone(),
        None => res.to_string(),
    })
}

/// `evt.args`/`evt.info` with byte buffers cut at `limit` characters (the Python
/// state's `buffer_limit`); `None` for a damaged event.
fn args_text(cx: &Ctx<'_>, info: bool) -> Option<String> {
    let mut out = String::new();
    push_event_args(cx, Some(MAX_BUF_LEN), info, &mut out)?;
    Some(out)
}

/// Append the event's `evt.info` (`info`) or `evt.args` to `out`, byte buffers cut at
/// `limit` characters (`None`: whole, as sysdig's JSON output): for the printers'
/// default lines. `None` when the event is damaged (its parameters run past its end).
pub fn push_event_args(
    cx: &Ctx<'_>,
    limit: Option<usize>,
    info: bool,
    out: &mut String,
) -> Option<()> {
    let args = Args::split(&cx.ev)?;
    let r = Renderer {
        ev: &cx.ev,
        args: &args,
        state: state_of(cx),
        limit,
    };
    if info {
        render::push_info(&r, out);
    } else {
        render::push_args(&r, out);
    }
    Some(())
}

/// The position `sel` names in the event, when the event stores it.
fn position(ev: &EventRef<'_>, sel: &Sel) -> Option<usize> {
    let info = table::event(ev.etype)?;
    let index = match sel {
        Sel::Index(i) => *i,
        Sel::Name(by_type) => usize::from((*by_type.get(usize::from(ev.etype))?)?),
    };
    (index < info.params.len().min(ev.nparams as usize)).then_some(index)
}

/// `evt.arg`: the parameter's resolution when it has one, else its text.
fn arg<'a>(cx: &Ctx<'a>, sel: &Sel) -> Option<Value<'a>> {
    let ev = &cx.ev;
    let index = position(ev, sel)?;
    let param = &table::event(ev.etype)?.params[index];
    let args = Args::split(ev)?;
    let r = Renderer {
        ev,
        args: &args,
        state: state_of(cx),
        limit: Some(MAX_BUF_LEN),
    };
    let mut buf = String::new();
    let split = r.param(index, param, &mut buf);
    if split < buf.len() && buf[..split] != buf[split..] {
        buf.replace_range(..split, ""); // the resolution
    } else {
        buf.truncate(split);
    }
    text(buf)
}

/// `evt.rawarg`: integers and text as decoded, other values as their text.
fn raw_arg<'a>(ev: &EventRef<'a>, sel: &Sel) -> Option<Value<'a>> {
    let index = position(ev, sel)?;
    let param = &table::event(ev.etype)?.params[index];
    let args = Args::split(ev)?;
    let data = args.get(index);
    let dynamic = param
        .dynamic
        .and_then(|d| table::table().dyn_tables.get(d))
        .map_or(&[][..], Vec::as_slice);
    match args::raw(param.ptype, data, dynamic) {
        args::Raw::Missing => None,
        args::Raw::Int(v) => int(v),
        args::Raw::Text(s) => Some(Value::Str(s)),
        args::Raw::Rendered => {
            let r = Renderer {
                ev,
                args: &args,
                state: None,
                limit: None,
            };
            let mut buf = String::new();
            let split = r.param(index, param, &mut buf);
            buf.truncate(split);
            text(buf)
        }
    }
}

/// `evt.abspath*`: the `which`-th relative path with a directory fd, resolved.
fn abspath(cx: &Ctx<'_>, which: usize) -> Option<String> {
    let ev = &cx.ev;
    let info = table::event(ev.etype)?;
    let index = info
        .params
        .iter()
        .enumerate()
        .filter(|(_, p)| p.ptype == table::PType::Fsrelpath && p.dirfd.is_some())
        .nth(which)?
        .0;
    if index >= ev.nparams as usize {
        return None;
    }
    let args = Args::split(ev)?;
    let r = Renderer {
        ev,
        args: &args,
        state: state_of(cx),
        limit: None,
    };
    let mut buf = String::new();
    let split = r.param(index, &info.params[index], &mut buf);
    buf.replace_range(..split, "");
    (!buf.is_empty()).then_some(buf)
}
