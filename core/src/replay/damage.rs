//! Which syscall fields read the parameters of an event, and so fail on an event whose
//! parameters run past its end: the Python extractors read them through `Event.params`
//! or `param_bytes`, which raise `DamagedEvent` there, and the replay stops on that
//! error (after the alerts of every event before it). The core's fields give no value
//! instead; the replay loop asks [`Reads::touches`] for each field it extracts from a
//! damaged event, and stops as the Python path does when one would have raised.
//!
//! The cases are those of scaptools/fields/syscall/evt.py and fd.py (`_res`,
//! `_buflen`, `_info`, `_arg_factory`, `_buffer`, `_open_mode`, `_abspath`,
//! `_fdlist_values`); every other syscall field reads the event's header and the state
//! only. tests/core/test_core_replay_damage.py holds this table to the Python extractors
//! on damaged copies of every event of the shared captures.

use std::sync::OnceLock;

use serde_json::Value as Json;

use crate::state::table;
use crate::state::State;
use crate::walk::EventRef;

/// How a field reads an event's parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reads {
    /// never
    No,
    /// the return value of an exit (`evt.res`, `evt.rawres`, `evt.failed`,
    /// `evt.count.error*`)
    Result,
    /// `evt.buflen`: the return value of an I/O call on an fd
    Buflen,
    /// `evt.args`, `evt.info`: every stored parameter (none for generic events)
    Info,
    /// `evt.arg`, `evt.rawarg`: one parameter, by position or by name
    Arg(Arg),
    /// `evt.buffer`: the `data` parameter
    Buffer,
    /// `evt.is_open_read`, `evt.is_open_write`: the flags of an open's exit
    OpenMode,
    /// `evt.abspath*`: the n-th path relative to a directory fd
    Abspath(usize),
    /// `fdlist.*`: the `fds` parameter, looked up on every event
    Always,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    Index(usize),
    Name(String),
}

/// How the syscall field `name[arg]` reads parameters.
pub fn reads(name: &str, arg: Option<&str>) -> Reads {
    match name {
        "evt.res" | "evt.rawres" | "evt.failed" => Reads::Result,
        n if n.starts_with("evt.count.error") => Reads::Result,
        "evt.buflen" => Reads::Buflen,
        "evt.args" | "evt.info" => Reads::Info,
        "evt.arg" | "evt.rawarg" => match arg {
            Some(a) if !a.is_empty() && a.bytes().all(|b| b.is_ascii_digit()) => {
                a.parse().map_or(Reads::No, |i| Reads::Arg(Arg::Index(i)))
            }
            Some(a) => Reads::Arg(Arg::Name(a.to_string())),
            None => Reads::No,
        },
        "evt.buffer" => Reads::Buffer,
        "evt.is_open_read" | "evt.is_open_write" => Reads::OpenMode,
        "evt.abspath" | "evt.abspath.src" => Reads::Abspath(0),
        "evt.abspath.dst" => Reads::Abspath(1),
        n if n.starts_with("fdlist.") => Reads::Always,
        _ => Reads::No,
    }
}

const OPENS: [&str; 5] = ["open", "openat", "openat2", "creat", "open_by_handle_at"];

/// Per event type: whether its category is I/O, and its paths relative to a dirfd.
struct Extra {
    io: bool,
    relpaths: Vec<usize>,
}

fn extras() -> &'static [Extra] {
    static EXTRAS: OnceLock<Vec<Extra>> = OnceLock::new();
    EXTRAS.get_or_init(|| {
        let doc: Json = serde_json::from_str(include_str!(
            "../../../scaptools/events/data/event_table.json"
        ))
        .unwrap_or_default();
        let events = doc.get("events").and_then(Json::as_array);
        events
            .map(Vec::as_slice)
            .unwrap_or(&[])
            .iter()
            .map(|e| Extra {
                io: e
                    .get("category")
                    .and_then(Json::as_str)
                    .is_some_and(|c| c.starts_with("EC_IO")),
                relpaths: e
                    .get("params")
                    .and_then(Json::as_array)
                    .map(Vec::as_slice)
                    .unwrap_or(&[])
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| {
                        p.get("type").and_then(Json::as_str) == Some("PT_FSRELPATH")
                            && p.get("dirfd_param").is_some_and(|d| !d.is_null())
                    })
                    .map(|(i, _)| i)
                    .collect(),
            })
            .collect()
    })
}

impl Reads {
    /// Whether the Python extractor reads the parameters of `ev` (the state right after
    /// it, for the event's fd).
    pub fn touches(&self, ev: &EventRef<'_>, state: &State) -> bool {
        let info = table::event(ev.etype);
        let nparams = ev.nparams as usize;
        let exit = info.is_some_and(|i| !i.enter);
        let params = info.map_or(&[][..], |i| i.params.as_slice());
        match self {
            Reads::No => false,
            Reads::Always => true,
            Reads::Result => result_read(exit, nparams, params),
            Reads::Buflen => {
                let io = extras().get(usize::from(ev.etype)).is_some_and(|e| e.io);
                let fd = state.event_fd().filter(|fd| !fd.pending());
                io && fd.is_some() && result_read(exit, nparams, params)
            }
            Reads::Info => ev.etype > 1 && nparams.min(params.len()) > 0,
            Reads::Arg(arg) => {
                let index = match arg {
                    Arg::Index(i) => Some(*i),
                    Arg::Name(name) => params.iter().position(|p| p.name == *name),
                };
                index.is_some_and(|i| i < nparams.min(params.len()))
            }
            Reads::Buffer => params
                .iter()
                .position(|p| p.name == "data")
                .is_some_and(|i| i < nparams),
            Reads::OpenMode => exit && info.is_some_and(|i| OPENS.contains(&i.name.as_str())),
            Reads::Abspath(which) => extras()
                .get(usize::from(ev.etype))
                .and_then(|e| e.relpaths.get(*which))
                .is_some_and(|i| *i < nparams),
        }
    }
}

/// `_res`: an exit with parameters whose first one is `res` or `fd`.
fn result_read(exit: bool, nparams: usize, params: &[table::ParamInfo]) -> bool {
    exit && nparams > 0
        && params
            .first()
            .is_some_and(|p| p.name == "res" || p.name == "fd")
}
