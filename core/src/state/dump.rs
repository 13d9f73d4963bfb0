//! The state as metadata blocks (`scaptools/state/dump.py`, docs/format.md §5, §6, §8):
//! a process list V9, one fd list v2 per fd table, a user list v2. `scap slice` starts
//! a slice with them, so the threads, fds and users of its first event are known.
//!
//! The bytes are those the Python dump writes, field for field: threads in table order
//! with main threads first, fds by number, users by uid, then groups by gid. Numbers
//! keep their low bits (a damaged capture can give a thread any value), texts are cut
//! to their length field.

use std::collections::HashSet;
use std::net::IpAddr;

use super::seed::{FDL_V2 as BLOCK_FDL_V2, PL_V9 as BLOCK_PL_V9, UL_V2 as BLOCK_UL_V2};
use super::thread::{
    FD_FILE_V2, FD_IPV4_SERVSOCK, FD_IPV4_SOCK, FD_IPV6_SERVSOCK, FD_IPV6_SOCK, FD_UNIX_SOCK,
};
use super::{Enter, Fd, Int, State, Thread};

/// The longest text of a u16 length field, and of an fd name.
const TEXT_MAX: usize = 0xFFFF;
const FD_NAME_MAX: usize = 1023;

/// One metadata block: its type and body.
pub type Block = (u32, Vec<u8>);

impl State {
    /// The process list, fd lists (one per table, under its first main thread) and user
    /// list of the state.
    pub fn dump(&self) -> Vec<Block> {
        let mut threads: Vec<&Thread> = self.threads.in_order().collect();
        threads.sort_by_key(|t| t.tid != t.pid); // stable: main threads first own the fds
        let mut list = Vec::new();
        for t in &threads {
            prefixed(&mut list, |out| process_entry(out, t));
        }
        let mut blocks = vec![(BLOCK_PL_V9, list)];
        let mut seen = HashSet::new();
        for t in &threads {
            if !seen.insert(t.fdtable.id()) {
                continue;
            }
            let table = t.fdtable.borrow();
            let mut fds: Vec<&Fd> = table.values().filter(|fd| !fd.pending()).collect();
            fds.sort_by_key(|fd| fd.num);
            let mut body = (t.tid as u64).to_le_bytes().to_vec();
            for fd in fds {
                prefixed(&mut body, |out| fd_entry(out, fd));
            }
            blocks.push((BLOCK_FDL_V2, body));
        }
        let mut users: Vec<_> = self.users.values().collect();
        users.sort_by_key(|u| u.uid);
        let mut groups: Vec<_> = self.groups.iter().collect();
        groups.sort_by_key(|(gid, _)| **gid);
        let mut body = Vec::new();
        for u in users {
            prefixed(&mut body, |out| {
                out.push(0);
                u32_(out, u.uid);
                u32_(out, u.gid.unwrap_or(0));
                str16(out, &u.name, TEXT_MAX);
                str16(out, &u.home, TEXT_MAX);
                str16(out, &u.shell, TEXT_MAX);
            });
        }
        for (gid, name) in groups {
            prefixed(&mut body, |out| {
                out.push(1);
                u32_(out, *gid);
                str16(out, name, TEXT_MAX);
            });
        }
        blocks.push((BLOCK_UL_V2, body));
        blocks
    }

    /// The enter events of the calls the threads are in (their exits come later), by
    /// time, with the thread's tid.
    pub fn calls_in_progress(&self) -> Vec<(Int, &Enter)> {
        let mut calls: Vec<(Int, &Enter)> = self
            .threads
            .in_order()
            .filter(|t| t.in_call)
            .filter_map(|t| Some((t.tid, t.last_enter.as_deref()?)))
            .collect();
        calls.sort_by_key(|(_, e)| e.ts);
        calls
    }
}

/// Append an entry written by `write` after its u32 length (the length counts itself).
fn prefixed(out: &mut Vec<u8>, write: impl FnOnce(&mut Vec<u8>)) {
    let at = out.len();
    out.extend_from_slice(&[0; 4]);
    write(out);
    let size = (out.len() - at) as u32;
    out[at..at + 4].copy_from_slice(&size.to_le_bytes());
}

fn i64_(out: &mut Vec<u8>, v: Int) {
    out.extend_from_slice(&(v as i64).to_le_bytes());
}

fn u64_(out: &mut Vec<u8>, v: Int) {
    out.extend_from_slice(&(v as u64).to_le_bytes());
}

fn u32_(out: &mut Vec<u8>, v: Int) {
    out.extend_from_slice(&(v as u32).to_le_bytes());
}

fn u16_(out: &mut Vec<u8>, v: Int) {
    out.extend_from_slice(&(v as u16).to_le_bytes());
}

/// A text after its u16 length, cut to `max` bytes.
fn str16(out: &mut Vec<u8>, text: &str, max: usize) {
    let data = &text.as_bytes()[..text.len().min(max)];
    out.extend_from_slice(&(data.len() as u16).to_le_bytes());
    out.extend_from_slice(data);
}

/// Items each followed by a NUL, cut to a u16 length field's longest text, after it.
fn nul_joined(out: &mut Vec<u8>, items: &[String]) {
    let mut data = Vec::new();
    for item in items {
        data.extend_from_slice(item.as_bytes());
        data.push(0);
    }
    data.truncate(TEXT_MAX);
    out.extend_from_slice(&(data.len() as u16).to_le_bytes());
    out.extend_from_slice(&data);
}

/// One V9 entry, with the 5-byte tail (loginuid, exe_writable) that old and current
/// readers decode alike.
fn process_entry(out: &mut Vec<u8>, t: &Thread) {
    for v in [t.tid, t.pid, t.ptid, t.sid, t.vpgid] {
        i64_(out, v);
    }
    str16(out, &t.comm, TEXT_MAX);
    str16(out, &t.exe, TEXT_MAX);
    str16(out, &t.exepath, TEXT_MAX);
    nul_joined(out, &t.args);
    str16(out, &t.cwd, TEXT_MAX);
    i64_(out, t.fdlimit);
    for v in [t.flags, t.uid, t.gid, t.vmsize_kb, t.vmrss_kb, t.vmswap_kb] {
        u32_(out, v);
    }
    u64_(out, t.pfmajor);
    u64_(out, t.pfminor);
    nul_joined(out, &t.env);
    i64_(out, t.vtid);
    i64_(out, t.vpid);
    nul_joined(out, &t.cgroups);
    str16(out, &t.root, TEXT_MAX);
    u32_(out, t.loginuid);
    out.push(u8::from(t.exe_writable != 0));
}

/// An address text as `size` bytes (an IPv4 address in IPv6 form when 16 are asked);
/// zeros when it does not read as one.
fn ip(out: &mut Vec<u8>, text: &str, size: usize) {
    let packed: Vec<u8> = match text.parse::<IpAddr>() {
        Ok(IpAddr::V4(a)) if size == 16 => a.to_ipv6_mapped().octets().to_vec(),
        Ok(IpAddr::V4(a)) => a.octets().to_vec(),
        Ok(IpAddr::V6(a)) => a.octets().to_vec(),
        Err(_) => Vec::new(),
    };
    if packed.len() == size {
        out.extend_from_slice(&packed);
    } else {
        out.resize(out.len() + size, 0);
    }
}

/// One v2 fd-list entry (not for placeholders).
fn fd_entry(out: &mut Vec<u8>, fd: &Fd) {
    i64_(out, fd.num);
    u64_(out, fd.ino);
    out.push(fd.ftype as u8);
    match fd.ftype {
        FD_IPV4_SOCK | FD_IPV6_SOCK => {
            let size = if fd.ftype == FD_IPV4_SOCK { 4 } else { 16 };
            ip(out, &fd.sip, size);
            ip(out, &fd.dip, size);
            u16_(out, fd.sport);
            u16_(out, fd.dport);
            out.push(fd.l4proto as u8);
        }
        FD_IPV4_SERVSOCK | FD_IPV6_SERVSOCK => {
            let size = if fd.ftype == FD_IPV4_SERVSOCK { 4 } else { 16 };
            ip(out, &fd.sip, size);
            u16_(out, fd.sport);
            out.push(fd.l4proto as u8);
        }
        FD_UNIX_SOCK => {
            out.extend_from_slice(&[0; 16]);
            str16(out, &fd.name, FD_NAME_MAX);
        }
        FD_FILE_V2 => {
            u32_(out, fd.flags);
            str16(out, &fd.name, FD_NAME_MAX);
            u32_(out, fd.dev);
        }
        _ => str16(out, &fd.name, FD_NAME_MAX),
    }
}
