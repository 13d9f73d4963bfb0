//! Socket parsers (`scaptools/state/parsers.py`): socket, connect, bind, accept and
//! datagrams give a socket fd its type, protocol and addresses.

use super::params::{Params, Side, SockTuple, Value, AF_INET, AF_INET6, AF_UNIX};
use super::parsers::{enter_params, event_fd, get_or};
use super::thread::*;
use super::{Int, Thread};

const IPPROTO_TCP: Int = 6;
const IPPROTO_UDP: Int = 17;
const IPPROTO_ICMP: Int = 1;
const SOCK_STREAM: Int = 1;
const SOCK_DGRAM: Int = 2;
const SOCK_RAW: Int = 3;
const AF_NETLINK: Int = 16;
const EINPROGRESS: Int = 115;

fn l4_of(stype: Int, proto: Int) -> Int {
    let stype = stype & 0xF;
    let raw = stype == SOCK_RAW;
    match proto {
        IPPROTO_TCP => {
            if raw {
                L4_RAW
            } else {
                L4_TCP
            }
        }
        IPPROTO_UDP => {
            if raw {
                L4_RAW
            } else {
                L4_UDP
            }
        }
        IPPROTO_ICMP => {
            if raw {
                L4_RAW
            } else {
                L4_ICMP
            }
        }
        0 => match stype {
            SOCK_STREAM => L4_TCP,
            SOCK_DGRAM => L4_UDP,
            SOCK_RAW => L4_RAW,
            _ => L4_UNKNOWN,
        },
        _ => L4_UNKNOWN,
    }
}

/// `value or 0` of an integer parameter.
pub(super) fn int_or_zero(v: Option<&Value>) -> Int {
    v.and_then(Value::int).unwrap_or(0)
}

pub(super) fn socket_exit(thread: &mut Thread, p: &Params) -> Result<(), String> {
    let Some(fd) = p.int("fd").filter(|fd| *fd >= 0) else {
        return Ok(());
    };
    let enter = enter_params(thread, "socket")?;
    let domain = get_or(p, "domain", &enter).and_then(Value::int);
    let l4 = l4_of(
        int_or_zero(get_or(p, "type", &enter)),
        int_or_zero(get_or(p, "proto", &enter)),
    );
    let ftype = match domain {
        Some(d) if d == Int::from(AF_INET) => FD_IPV4_SOCK,
        Some(d) if d == Int::from(AF_INET6) => FD_IPV6_SOCK,
        Some(d) if d == Int::from(AF_UNIX) => FD_UNIX_SOCK,
        Some(AF_NETLINK) => FD_NETLINK,
        _ => FD_UNKNOWN,
    };
    let mut info = Fd::new(fd, ftype);
    info.pending_l4 = l4;
    info.l4proto = if l4 == L4_RAW { L4_RAW } else { L4_UNKNOWN };
    thread.set_fd(info);
    Ok(())
}

fn unmap(ip: &str) -> String {
    match ip.strip_prefix("::ffff:") {
        Some(rest) if ip.contains('.') => rest.to_string(),
        _ => ip.to_string(),
    }
}

pub(super) fn connect_enter(thread: &mut Thread, p: &Params) {
    let (Some(fd), Some(Value::Addr(addr))) = (p.int("fd"), p.get("addr")) else {
        return;
    };
    if addr.family != AF_INET && addr.family != AF_INET6 {
        return;
    }
    thread.with_fd(fd, |info| {
        if (info.ftype == FD_IPV4_SOCK || info.ftype == FD_IPV6_SOCK) && !addr.addr.is_empty() {
            info.pdip = unmap(&addr.addr);
        }
    });
}

fn side(s: &Side) -> String {
    match s {
        Side::Text(t) => t.clone(),
        Side::Ptr(v) => format!("{v:x}"),
    }
}

fn set_tuple(info: &mut Fd, tup: &SockTuple) {
    if tup.family == AF_UNIX {
        info.ftype = FD_UNIX_SOCK;
        info.name = format!("{}->{} {}", side(&tup.sip), side(&tup.dip), tup.path);
        return;
    }
    let (Side::Text(sip), Side::Text(dip)) = (&tup.sip, &tup.dip) else {
        return;
    };
    if (tup.family != AF_INET && tup.family != AF_INET6) || sip.is_empty() {
        return;
    }
    info.sip = sip.clone();
    info.sport = tup.sport;
    info.dip = dip.clone();
    info.dport = tup.dport;
    info.ftype = if tup.family == AF_INET {
        FD_IPV4_SOCK
    } else {
        FD_IPV6_SOCK
    };
    info.name = format!("{}:{}->{}:{}", unmap(sip), tup.sport, unmap(dip), tup.dport);
    info.l4proto = info.pending_l4;
}

/// `Some(fd)`: a failed unix connect names a copy of its fd for this event only.
pub(super) fn connect_exit(
    thread: &mut Thread,
    name: &str,
    p: &Params,
) -> Result<Option<Fd>, String> {
    let res = p.int("res");
    let Some(fd) = event_fd(thread, name, p)? else {
        return Ok(None);
    };
    let tup = match p.get("tuple") {
        Some(Value::Tuple(t)) => Some(t),
        _ => None,
    };
    let mut shown = None;
    thread.with_fd(fd, |info| {
        if let Some(t) = tup.filter(|t| t.family == AF_UNIX) {
            if res.is_some_and(|r| r < 0 && r != -EINPROGRESS) {
                let mut copy = info.copy(info.num);
                set_tuple(&mut copy, t);
                shown = Some(copy);
            } else {
                set_tuple(info, t);
            }
            return;
        }
        let Some(res) = res else { return };
        if res < 0 && res != -EINPROGRESS {
            return;
        }
        if let Some(t) = tup {
            // a socket that already has its own address keeps its first tuple
            if info.sport == 0 || info.dip.is_empty() {
                let fresh = info.name.is_empty();
                set_tuple(info, t);
                info.client = info.client || fresh;
            }
        }
    });
    Ok(shown)
}

pub(super) fn datagram(thread: &mut Thread, name: &str, p: &Params) -> Result<(), String> {
    let tup = match p.get("tuple") {
        Some(Value::Tuple(t)) => Some(t.clone()),
        _ => match enter_params(thread, name)?.get("tuple") {
            Some(Value::Tuple(t)) => Some(t.clone()),
            _ => None,
        },
    };
    let (Some(fd), Some(mut tup)) = (event_fd(thread, name, p)?, tup) else {
        return Ok(());
    };
    thread.with_fd(fd, |info| {
        if !info.name.is_empty() || !info.is_socket() {
            return;
        }
        if name.starts_with("recv") {
            tup = SockTuple {
                family: tup.family,
                sip: tup.dip.clone(),
                sport: tup.dport,
                dip: tup.sip.clone(),
                dport: tup.sport,
                path: tup.path.clone(),
            };
        }
        if matches!(&tup.sip, Side::Text(s) if s == "::" || s == "0.0.0.0") {
            tup.sip = tup.dip.clone();
        }
        set_tuple(info, &tup);
    });
    Ok(())
}

pub(super) fn bind_exit(thread: &mut Thread, name: &str, p: &Params) -> Result<(), String> {
    let (Some(res), Some(fd)) = (p.int("res"), event_fd(thread, name, p)?) else {
        return Ok(());
    };
    let Some(Value::Addr(addr)) = p.get("addr") else {
        return Ok(());
    };
    if res < 0 {
        return Ok(());
    }
    thread.with_fd(fd, |info| {
        if (addr.family == AF_INET || addr.family == AF_INET6) && !addr.addr.is_empty() {
            info.name = format!("{}:{}", addr.addr, addr.port);
            info.sip = addr.addr.clone();
            info.sport = addr.port;
            if addr.port != 0 {
                info.ftype = if addr.family == AF_INET {
                    FD_IPV4_SERVSOCK
                } else {
                    FD_IPV6_SERVSOCK
                };
                info.is_server = true;
                info.l4proto = info.pending_l4;
            }
        } else if addr.family == AF_UNIX {
            info.name = addr.addr.clone();
        }
    });
    Ok(())
}

pub(super) fn accept_exit(thread: &mut Thread, p: &Params) {
    let Some(fd) = p.int("fd").filter(|fd| *fd >= 0) else {
        return;
    };
    let mut info = Fd::new(fd, FD_UNKNOWN);
    info.pending_l4 = L4_TCP;
    if let Some(Value::Tuple(t)) = p.get("tuple") {
        set_tuple(&mut info, t);
    }
    thread.set_fd(info);
}
