//! Socket fields: the client, server, local and remote ends of an inet socket, its
//! protocol and family, and whether it is the server side.

use std::borrow::Cow;
use std::net::IpAddr;

use crate::state::thread::*;
use crate::state::{Fd, Int, State};

/// Which end of a connection a field reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Client,
    Server,
    Local(Local),
}

/// The local end, or the remote one (the server end of an accepted socket is local).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Local {
    Near,
    Far,
}

fn listening(fd: &Fd) -> bool {
    fd.ftype == FD_IPV4_SERVSOCK || fd.ftype == FD_IPV6_SERVSOCK
}

fn connected(fd: &Fd) -> bool {
    fd.is_socket() && !fd.dip.is_empty()
}

/// Whether the local end of a connected socket is its source end.
fn use_source(fd: &Fd, local: Local) -> bool {
    let local_is_source = !fd.is_server;
    match local {
        Local::Near => local_is_source,
        Local::Far => !local_is_source,
    }
}

/// fd.cip, fd.sip, fd.lip, fd.rip.
pub fn ip(fd: &Fd, side: Side) -> Option<&str> {
    if !fd.is_socket() {
        return None;
    }
    match side {
        Side::Client => connected(fd).then_some(fd.sip.as_str()),
        Side::Server if connected(fd) => Some(&fd.dip),
        // a listening socket's own address is its server address
        Side::Server => (listening(fd) && !fd.sip.is_empty()).then_some(fd.sip.as_str()),
        Side::Local(local) if connected(fd) => Some(if use_source(fd, local) {
            &fd.sip
        } else {
            &fd.dip
        }),
        Side::Local(_) => None,
    }
}

/// fd.cport, fd.sport, fd.lport, fd.rport.
pub fn port(fd: &Fd, side: Side) -> Option<Int> {
    if !fd.is_socket() {
        return None;
    }
    match side {
        Side::Client if connected(fd) => Some(fd.sport),
        Side::Client => listening(fd).then_some(0), // a listening socket has no client
        Side::Server if connected(fd) => Some(fd.dport),
        Side::Server => listening(fd).then_some(fd.sport),
        Side::Local(local) if connected(fd) => Some(if use_source(fd, local) {
            fd.sport
        } else {
            fd.dport
        }),
        Side::Local(_) => None,
    }
}

/// fd.cproto and the like: the port of a connected socket as text (no service
/// names), the empty text for a listening one.
pub fn proto<'a>(fd: &Fd, side: Side) -> Option<Cow<'a, str>> {
    let port = port(fd, side)?;
    Some(if connected(fd) {
        Cow::Owned(port.to_string())
    } else {
        Cow::Borrowed("")
    })
}

/// fd.l4proto: sysdig gives the text `<NA>` (a value) for other fds.
pub fn l4_name(fd: &Fd) -> &'static str {
    if !fd.is_socket() {
        return "<NA>";
    }
    match fd.l4proto {
        L4_TCP => "tcp",
        L4_UDP => "udp",
        L4_ICMP => "icmp",
        L4_RAW => "raw",
        _ => "<NA>",
    }
}

/// fd.sockfamily.
pub fn family(fd: &Fd) -> Option<&'static str> {
    if fd.is_socket() {
        Some("ip")
    } else if fd.ftype == FD_UNIX_SOCK {
        Some("unix")
    } else {
        None
    }
}

/// fd.is_server (libsinsp): a listening socket is a server; an inet socket is one when
/// its server address (a connect enter's address when it has none yet; unset: zeros)
/// belongs to the machine.
pub fn is_server(fd: &Fd, state: &State) -> bool {
    if listening(fd) {
        return true;
    }
    if fd.ftype != FD_IPV4_SOCK && fd.ftype != FD_IPV6_SOCK {
        return false;
    }
    let dip = if fd.dip.is_empty() { &fd.pdip } else { &fd.dip };
    let v6 = dip.contains(':') || (dip.is_empty() && fd.ftype == FD_IPV6_SOCK);
    is_local(state, dip, v6)
}

/// `State.is_local`: an IPv4 address equal to an interface's, or an IPv6 address in an
/// interface's /64.
fn is_local(state: &State, ip: &str, v6: bool) -> bool {
    let ip = match ip {
        "" if v6 => "::",
        "" => "0.0.0.0",
        ip => ip,
    };
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V4(addr)) => state.interfaces.contains(addr.octets().as_slice()),
        Ok(IpAddr::V6(addr)) => {
            let prefix = &addr.octets()[..8];
            state
                .interfaces
                .iter()
                .any(|a| a.len() == 16 && a.get(..8) == Some(prefix))
        }
        Err(_) => false,
    }
}
