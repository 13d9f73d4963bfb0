//! The syscall fields of the classes fd, fdlist (`scaptools/fields/syscall/fd.py`).
//!
//! The event's fd is the one the state's per-event cache holds (`State::event_fd`): an
//! fd of the thread's table, or a placeholder with a negative type (the enter event of
//! an fd-creating call, a failed open, an fd the capture never described). Most fields
//! have no value on a placeholder; `fd.num`, `fd.typechar`, `fd.name`, `fd.directory`,
//! `fd.uid` and the container forms show what sysdig shows for it.
//!
//! Left to the Python path: the fields that match either end of a socket (tag `sides`:
//! `fd.ip`, `fd.port`, `fd.net`, `fd.proto`), the network fields (`fd.cnet`, `fd.snet`,
//! `fd.lnet`, `fd.rnet`: `ipnet` values only filters compare), and `fd.types` (its
//! order is the order fds entered the table, which the core's table does not keep).

mod list;
mod names;
mod net;

use super::Ctx;
use crate::fields::FieldError;
use crate::state::{Fd, Int};
use crate::value::Value;

use list::ListKind;
use net::{Local, Side};

/// A compiled field of this module.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FdField {
    Num,
    Type,
    TypeChar,
    Name,
    NameRaw,
    Directory,
    Filename,
    /// fd.cip, fd.sip, fd.lip, fd.rip
    Ip(Side),
    /// fd.cport, fd.sport, fd.lport, fd.rport
    Port(Side),
    /// fd.cproto, fd.sproto, fd.lproto, fd.rproto
    Proto(Side),
    L4proto,
    SockFamily,
    IsServer,
    Connected,
    NameChanged,
    /// fd.cip.name and the like: names are never resolved
    NoValue,
    Dev,
    DevMajor,
    DevMinor,
    Ino,
    Uid,
    ContainerName,
    ContainerDirectory,
    List(ListKind),
}

/// The fields this module computes, by name.
const FIELDS: &[(&str, FdField)] = &[
    ("fd.num", FdField::Num),
    ("fd.type", FdField::Type),
    ("fd.typechar", FdField::TypeChar),
    ("fd.name", FdField::Name),
    ("fd.nameraw", FdField::NameRaw),
    ("fd.directory", FdField::Directory),
    ("fd.filename", FdField::Filename),
    ("fd.cip", FdField::Ip(Side::Client)),
    ("fd.sip", FdField::Ip(Side::Server)),
    ("fd.lip", FdField::Ip(Side::Local(Local::Near))),
    ("fd.rip", FdField::Ip(Side::Local(Local::Far))),
    ("fd.cport", FdField::Port(Side::Client)),
    ("fd.sport", FdField::Port(Side::Server)),
    ("fd.lport", FdField::Port(Side::Local(Local::Near))),
    ("fd.rport", FdField::Port(Side::Local(Local::Far))),
    ("fd.cproto", FdField::Proto(Side::Client)),
    ("fd.sproto", FdField::Proto(Side::Server)),
    ("fd.lproto", FdField::Proto(Side::Local(Local::Near))),
    ("fd.rproto", FdField::Proto(Side::Local(Local::Far))),
    ("fd.l4proto", FdField::L4proto),
    ("fd.sockfamily", FdField::SockFamily),
    ("fd.is_server", FdField::IsServer),
    ("fd.connected", FdField::Connected),
    ("fd.name_changed", FdField::NameChanged),
    ("fd.cip.name", FdField::NoValue),
    ("fd.sip.name", FdField::NoValue),
    ("fd.lip.name", FdField::NoValue),
    ("fd.rip.name", FdField::NoValue),
    ("fd.dev", FdField::Dev),
    ("fd.dev.major", FdField::DevMajor),
    ("fd.dev.minor", FdField::DevMinor),
    ("fd.ino", FdField::Ino),
    ("fd.uid", FdField::Uid),
    ("fd.containername", FdField::ContainerName),
    ("fd.containerdirectory", FdField::ContainerDirectory),
    ("fdlist.nums", FdField::List(ListKind::Nums)),
    ("fdlist.names", FdField::List(ListKind::Names)),
    ("fdlist.cips", FdField::List(ListKind::Cips)),
    ("fdlist.sips", FdField::List(ListKind::Sips)),
    ("fdlist.cports", FdField::List(ListKind::Cports)),
    ("fdlist.sports", FdField::List(ListKind::Sports)),
];

/// Fields of these classes that stay on the Python path (see the module text).
const PYTHON_ONLY: &[&str] = &[
    "fd.ip", "fd.port", "fd.net", "fd.proto", "fd.cnet", "fd.snet", "fd.lnet", "fd.rnet",
    "fd.types",
];

/// `Ok(None)`: `name` is not a field of this module.
pub fn compile(name: &str, arg: Option<&str>) -> Result<Option<FdField>, FieldError> {
    let found = FIELDS.iter().find(|(n, _)| *n == name).map(|(_, f)| *f);
    if found.is_none() && !PYTHON_ONLY.contains(&name) {
        return Ok(None);
    }
    if arg.is_some() {
        return Err(FieldError::Argument(format!(
            "filter {name} does not support an argument"
        )));
    }
    found
        .map(Some)
        .ok_or_else(|| FieldError::Unknown(name.to_owned()))
}

impl FdField {
    pub fn extract<'a>(&self, cx: &Ctx<'a>) -> Option<Value<'a>> {
        match *self {
            FdField::List(kind) => list::extract(kind, cx),
            FdField::NoValue => None,
            FdField::Num => cx.state.event_fd().map(|fd| int(fd.num)),
            FdField::NameChanged => {
                let fd = cx.state.event_fd()?;
                (!fd.pending()).then(|| Value::Bool(cx.state.fd_new()))
            }
            _ => {
                let fd = cx.state.event_fd()?;
                if fd.pending() && !self.shows_placeholders() {
                    return None;
                }
                self.of_fd(fd, cx)
            }
        }
    }

    /// Whether the field has a value on a placeholder fd (`on_fd(..., pending=True)`).
    fn shows_placeholders(&self) -> bool {
        matches!(
            self,
            FdField::TypeChar
                | FdField::Name
                | FdField::Directory
                | FdField::Uid
                | FdField::ContainerName
                | FdField::ContainerDirectory
        )
    }

    fn of_fd<'a>(&self, fd: &'a Fd, cx: &Ctx<'a>) -> Option<Value<'a>> {
        let text = |s: &'a str| Value::Str(s.into());
        match *self {
            FdField::Type => fd.type_name().map(text),
            FdField::TypeChar => Some(text(names::type_char(fd))),
            FdField::Name => names::name(fd, cx).map(text),
            FdField::NameRaw => Some(text(&fd.name)),
            FdField::Directory => names::directory(fd, cx).map(text),
            FdField::Filename => names::filename(fd).map(text),
            FdField::ContainerName => names::name(fd, cx).map(|n| owned(format!(":{n}"))),
            FdField::ContainerDirectory => names::directory(fd, cx).map(|d| owned(format!(":{d}"))),
            FdField::Uid => Some(owned(format!("{}{}", cx.ev.tid, fd.num))),
            FdField::Ip(side) => net::ip(fd, side).map(text),
            FdField::Port(side) => net::port(fd, side).map(int),
            FdField::Proto(side) => net::proto(fd, side).map(Value::Str),
            FdField::L4proto => Some(text(net::l4_name(fd))),
            FdField::SockFamily => net::family(fd).map(text),
            FdField::IsServer => Some(Value::Bool(net::is_server(fd, cx.state))),
            FdField::Connected => Some(Value::Bool(fd.is_socket() && !fd.dip.is_empty())),
            FdField::Dev => Some(int(fd.dev)),
            FdField::DevMajor => Some(int(fd.dev >> 20)),
            FdField::DevMinor => Some(int(fd.dev & 0xF_FFFF)),
            FdField::Ino => Some(int(fd.ino)),
            FdField::Num | FdField::NameChanged | FdField::NoValue | FdField::List(_) => None,
        }
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            FdField::Num => "int64",
            FdField::Ip(_) => "ipaddr",
            FdField::Port(_) => "port",
            FdField::IsServer | FdField::Connected | FdField::NameChanged => "bool",
            FdField::Dev | FdField::DevMajor | FdField::DevMinor | FdField::Ino => "uint64",
            _ => "string",
        }
    }

    pub fn is_list(&self) -> bool {
        false
    }
}

fn owned<'a>(text: String) -> Value<'a> {
    Value::Str(text.into())
}

/// An integer of the tables as the Python int it is.
pub(super) fn int<'a>(n: Int) -> Value<'a> {
    match u64::try_from(n) {
        Ok(n) => Value::U64(n),
        Err(_) => Value::I64(i64::try_from(n).unwrap_or(i64::MIN)),
    }
}
