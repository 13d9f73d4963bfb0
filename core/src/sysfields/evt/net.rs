//! The texts of socket addresses, socket tuples, fds and errno numbers in sysdig's
//! argument rendering (`scaptools/events/render.py`).

use std::fmt::Write;

use super::args;
use super::table;
use super::text::{push_hex, push_int, push_sanitized};
use crate::state::params::{ip_text, AF_INET, AF_INET6, AF_UNIX};
use crate::state::{Fd, FdTable};

/// The errno name of `errno` (a positive number), when it has one.
pub fn push_errno(errno: i128, out: &mut String) {
    if let Some(name) = table::table().errno.get(&errno) {
        out.push_str(name);
    }
}

/// `<type>name` as sysdig resolves an fd (`fd_text`: `<4t>1.2.3.4:5->...`).
pub fn push_fd(fd: &Fd, out: &mut String) {
    let kind = fd.typechar();
    out.push('<');
    out.push(kind);
    if kind == '4' || kind == '6' {
        match fd.l4proto {
            2 => out.push('t'),
            3 => out.push('u'),
            4 => out.push('i'),
            5 => out.push('r'),
            _ => {}
        }
    }
    out.push('>');
    push_sanitized(&fd.name, out);
}

fn port(data: &[u8], at: usize) -> i128 {
    args::number(&data[at..], 2, false).unwrap_or(0)
}

/// A `PT_SOCKADDR` (not empty): the unix path, `ip:port`, or `family N`.
pub fn sockaddr(data: &[u8], out: &mut String) {
    let family = data[0];
    let (ip, at) = match family {
        AF_UNIX => return push_sanitized(&args::cstr(&data[1..]), out),
        AF_INET if data.len() >= 7 => (&data[1..5], 5),
        AF_INET6 if data.len() >= 19 => (&data[1..17], 17),
        _ => {
            let _ = write!(out, "family {family}");
            return;
        }
    };
    out.push_str(&ip_text(ip));
    out.push(':');
    push_int(port(data, at), out);
}

/// A `PT_SOCKTUPLE` (not empty): `sip:sport->dip:dport`, the unix pair and path, or
/// `family N`.
pub fn socktuple(data: &[u8], out: &mut String) {
    let family = data[0];
    let (src, dst, width) = match family {
        AF_INET if data.len() >= 13 => (1, 7, 4),
        AF_INET6 if data.len() >= 37 => (1, 19, 16),
        AF_UNIX if data.len() >= 17 => {
            let ptr = |at: usize| args::number(&data[at..], 8, false).unwrap_or(0) as u64;
            push_hex(ptr(1), false, out);
            out.push_str("->");
            push_hex(ptr(9), false, out);
            out.push(' ');
            return push_sanitized(&args::cstr(&data[17..]), out);
        }
        _ => {
            let _ = write!(out, "family {family}");
            return;
        }
    };
    out.push_str(unmap(&ip_text(&data[src..src + width])));
    out.push(':');
    push_int(port(data, src + width), out);
    out.push_str("->");
    out.push_str(unmap(&ip_text(&data[dst..dst + width])));
    out.push(':');
    push_int(port(data, dst + width), out);
}

/// An IPv4-mapped IPv6 address written with its IPv4 tail shows as the IPv4 address.
fn unmap(ip: &str) -> &str {
    match ip.strip_prefix("::ffff:") {
        Some(v4) if v4.contains('.') => v4,
        _ => ip,
    }
}

/// A `PT_FDLIST` against the thread's fds: `fd:<letter><flags in hex>` each.
pub fn fdlist(data: &[u8], fds: &FdTable, out: &mut String) {
    let Some(count) = args::number(data, 2, false) else {
        return;
    };
    let fds = fds.borrow();
    for i in 0..count as usize {
        let at = 2 + 10 * i;
        let Some(item) = data.get(at..at + 10) else {
            break;
        };
        let num = args::number(item, 8, true).unwrap_or(0);
        let flags = args::number(&item[8..], 2, false).unwrap_or(0) as u64;
        if i > 0 {
            out.push(' ');
        }
        push_int(num, out);
        out.push(':');
        out.push(fds.get(&num).map_or('?', Fd::typechar));
        push_hex(flags, false, out);
    }
}
