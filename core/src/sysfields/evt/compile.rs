//! Names and arguments of the `evt.*` syscall fields to [`EvtField`]s, with the load
//! errors of the Python field set (`FieldSet.extractor`) for missing or unexpected
//! arguments.

use super::calls::ErrorKind;
use super::table;
use super::{EvtField, Part, Sel};
use crate::fields::FieldError;

/// The fields that take a dotted argument (`evt.arg.fd` is `evt.arg[fd]`).
const DOTTED: [&str; 2] = ["evt.arg", "evt.rawarg"];

/// `Ok(None)`: `name` is not a field of this module. `Err(Unknown)`: a field of the
/// Python path only.
pub fn compile(name: &str, arg: Option<&str>) -> Result<Option<EvtField>, FieldError> {
    let (name, arg) = dotted(name).unwrap_or((name, arg));
    if let Some(field) = plain(name) {
        return match arg {
            None => field,
            Some(_) => Err(FieldError::Argument(format!(
                "filter {name} does not support an argument"
            ))),
        };
    }
    if !matches!(
        name,
        "evt.arg" | "evt.rawarg" | "evt.type.is" | "evt.around"
    ) {
        return Ok(None);
    }
    let Some(arg) = arg else {
        return Err(FieldError::Argument(format!(
            "filter {name} requires an argument"
        )));
    };
    match name {
        "evt.type.is" => Ok(Some(EvtField::TypeIs(arg.to_string()))),
        "evt.around" => Err(around(arg)),
        _ => {
            let sel = selector(arg).ok_or_else(|| FieldError::Unknown(format!("{name}.{arg}")))?;
            Ok(Some(if name == "evt.arg" {
                EvtField::Arg(sel)
            } else {
                EvtField::RawArg(sel)
            }))
        }
    }
}

/// `evt.arg.X` -> (`evt.arg`, `X`) (`split_dotted`).
fn dotted(name: &str) -> Option<(&str, Option<&str>)> {
    DOTTED.iter().find_map(|base| {
        let rest = name.strip_prefix(base)?.strip_prefix('.')?;
        Some((*base, Some(rest)))
    })
}

/// A field without argument: `Some(Ok(Some(f)))` for the core's, `Some(Err(Unknown))`
/// for those left to Python; `None`: not such a field.
fn plain(name: &str) -> Option<Result<Option<EvtField>, FieldError>> {
    use EvtField as F;
    if let Some(kind) = crate::fields::clock::Text::of(name) {
        return Some(Ok(Some(F::Clock(kind))));
    }
    let field = match name {
        "evt.num" => F::Num,
        "evt.rawtime" => F::Rawtime(Part::Whole),
        "evt.rawtime.s" => F::Rawtime(Part::S),
        "evt.rawtime.ns" => F::Rawtime(Part::Ns),
        "evt.reltime" => F::Reltime(Part::Whole),
        "evt.reltime.s" => F::Reltime(Part::S),
        "evt.reltime.ns" => F::Reltime(Part::Ns),
        "evt.latency" => F::Latency(Part::Whole),
        "evt.latency.s" => F::Latency(Part::S),
        "evt.latency.ns" => F::Latency(Part::Ns),
        "evt.latency.human" => F::LatencyHuman,
        "evt.wait_latency" => F::WaitLatency,
        "evt.dir" => F::Dir,
        "evt.type" => F::Type,
        "syscall.type" => F::SyscallType,
        "evt.category" => F::Category,
        "evt.cpu" => F::Cpu,
        "evt.args" => F::Args,
        "evt.info" => F::Info,
        "evt.buflen" => F::Buflen,
        "evt.res" => F::Res,
        "evt.rawres" => F::RawRes,
        "evt.failed" => F::Failed,
        "evt.is_io" => F::IsIo,
        "evt.is_io_read" => F::IsIoRead,
        "evt.is_io_write" => F::IsIoWrite,
        "evt.io_dir" => F::IoDir,
        "evt.is_wait" => F::IsWait,
        "evt.count" => F::Count,
        "evt.count.exit" => F::CountExit,
        "evt.count.error" => F::CountError(None),
        "evt.count.error.file" => F::CountError(Some(ErrorKind::File)),
        "evt.count.error.net" => F::CountError(Some(ErrorKind::Net)),
        "evt.count.error.memory" => F::CountError(Some(ErrorKind::Memory)),
        "evt.count.error.other" => F::CountError(Some(ErrorKind::Other)),
        "evt.is_syslog" => F::IsSyslog,
        "evt.is_open_read" => F::IsOpenRead,
        "evt.is_open_write" => F::IsOpenWrite,
        "evt.is_open_exec" => F::IsOpenExec,
        "evt.source" => F::Source,
        "evt.hostname" => F::Hostname,
        "evt.pluginname" | "evt.plugininfo" => F::Nothing,
        "evt.abspath" | "evt.abspath.src" => F::Abspath(0),
        "evt.abspath.dst" => F::Abspath(1),
        "evt.buffer" | "evt.deltatime" | "evt.deltatime.s" | "evt.deltatime.ns" => {
            return Some(Err(FieldError::Unknown(name.to_string())))
        }
        _ => return None,
    };
    Some(Ok(Some(field)))
}

/// The parameter an `evt.arg` argument names: digits are a position, else a name
/// (`arg.isdigit()`); non-ASCII arguments stay with Python (its digits are Unicode's).
fn selector(arg: &str) -> Option<Sel> {
    if !arg.is_ascii() {
        return None;
    }
    if !arg.is_empty() && arg.bytes().all(|b| b.is_ascii_digit()) {
        return Some(Sel::Index(arg.parse().unwrap_or(usize::MAX)));
    }
    let by_type = table::table()
        .events
        .iter()
        .map(|e| e.index(arg).and_then(|i| u8::try_from(i).ok()))
        .collect();
    Some(Sel::Name(by_type))
}

/// `evt.around[T]` is a window test of the Python compiler: a valid `T` stays with
/// Python, another is the load error libsinsp gives (`parseu64`).
fn around(arg: &str) -> FieldError {
    let rest = arg.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let digits = rest.strip_prefix(['+', '-']).unwrap_or(rest);
    let valid = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    if valid || !arg.is_ascii() {
        FieldError::Unknown("evt.around".into())
    } else {
        FieldError::Argument(format!("{arg} is not a valid number"))
    }
}
