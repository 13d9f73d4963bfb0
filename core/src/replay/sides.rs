//! The syscall fields that give both ends of a connection, for conditions only
//! (`fd.ip`, `fd.net`: addresses; `fd.port`, `fd.proto`: ports), as `_sides` of
//! scaptools/fields/syscall/fd.py gives them: the one end of a listening socket, the
//! source and destination of a connected one, an unset end as zeros; no value for
//! other fds or without an fd (or a placeholder fd).
//!
//! `crate::cond::ip` tests them (`=`/`in`: one end matches, `!=`: every end differs).
//!
//! The network fields of one end (`fd.cnet`, `fd.snet`, `fd.lnet`, `fd.rnet`) read the
//! address of their address field (the same extractor in fd.py); only their checks
//! differ (networks), and those are the condition's.

use std::borrow::Cow;

use crate::state::thread::{FD_IPV4_SERVSOCK, FD_IPV4_SOCK, FD_IPV6_SERVSOCK, FD_IPV6_SOCK};
use crate::state::Int;
use crate::sysfields::Ctx;
use crate::value::Value;

/// The names the replay loop adds to the syscall fields.
pub const NAMES: [&str; 8] = [
    "fd.ip", "fd.net", "fd.port", "fd.proto", "fd.cnet", "fd.snet", "fd.lnet", "fd.rnet",
];

/// The address field whose value a network field of one end has.
pub fn address_of(name: &str) -> Option<&'static str> {
    Some(match name {
        "fd.cnet" => "fd.cip",
        "fd.snet" => "fd.sip",
        "fd.lnet" => "fd.lip",
        "fd.rnet" => "fd.rip",
        _ => return None,
    })
}

/// A both-ends field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SideField {
    Ip,
    Port,
}

/// The field `name` (no argument), or `None`.
pub fn compile(name: &str, arg: Option<&str>) -> Option<SideField> {
    match (name, arg) {
        ("fd.ip" | "fd.net", None) => Some(SideField::Ip),
        ("fd.port" | "fd.proto", None) => Some(SideField::Port),
        _ => None,
    }
}

fn port<'a>(n: Int) -> Value<'a> {
    match u64::try_from(n) {
        Ok(n) => Value::U64(n),
        Err(_) => Value::I64(i64::try_from(n).unwrap_or(i64::MIN)),
    }
}

impl SideField {
    /// The ends of the event's fd.
    pub fn extract<'a>(&self, cx: &Ctx<'a>) -> Option<Value<'a>> {
        let state = cx.state;
        let fd = state.event_fd().filter(|fd| !fd.pending())?;
        let zero = match fd.ftype {
            FD_IPV4_SOCK | FD_IPV4_SERVSOCK => "0.0.0.0",
            FD_IPV6_SOCK | FD_IPV6_SERVSOCK => "::",
            _ => return None,
        };
        let ip =
            |text: &'a str| Value::Str(Cow::Borrowed(if text.is_empty() { zero } else { text }));
        let server = fd.ftype == FD_IPV4_SERVSOCK || fd.ftype == FD_IPV6_SERVSOCK;
        Some(Value::List(match (self, server) {
            (SideField::Ip, true) => vec![ip(&fd.sip)],
            (SideField::Ip, false) => vec![ip(&fd.sip), ip(&fd.dip)],
            (SideField::Port, true) => vec![port(fd.sport)],
            (SideField::Port, false) => vec![port(fd.sport), port(fd.dport)],
        }))
    }
}
