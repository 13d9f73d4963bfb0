//! Seed the state from the metadata blocks (docs/format.md §5, §6, §8;
//! `scaptools/state/seed.py` over the schema of `scaptools/format/schema.py`).
//!
//! A list is entries while at least 4 bytes remain; an entry that does not parse ends
//! the list, and what is left must then be fewer than 4 bytes of padding.

use super::params::{ip_text, split_nul};
use super::thread::*;
use super::{Int, State, Thread, User};
use crate::walk::{BlockRef, Order};

/// Process list block types and their list version (§5).
const PL_VERSIONS: [(u32, u8); 12] = [
    (0x202, 1),
    (0x8000ABCD, 1),
    (0x207, 2),
    (0x8013ABCD, 2),
    (0x209, 3),
    (0x8014ABCD, 3),
    (0x210, 4),
    (0x211, 5),
    (0x212, 6),
    (0x213, 7),
    (0x214, 8),
    (0x215, 9),
];
/// The process list a dump writes.
pub(super) const PL_V9: u32 = 0x215;
const FDL_BLOCKS: [u32; 3] = [0x203, 0x8001ABCD, 0x218];
pub(super) const FDL_V2: u32 = 0x218;
const UL_BLOCKS: [u32; 3] = [0x206, 0x8012ABCD, 0x220];
const IL_BLOCKS: [u32; 3] = [0x205, 0x8011ABCD, 0x219];
const IL_V2: u32 = 0x219;
pub(super) const UL_V2: u32 = 0x220;
/// fd types whose payload is just a name (§6)
const NAMED_TYPES: [u8; 15] = [1, 2, 7, 9, 10, 11, 12, 13, 14, 15, 17, 18, 19, 20, 21];

/// A cursor over one block's bytes in its section's byte order.
struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
    order: Order,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let out = self.b.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(out)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u16(&mut self) -> Option<u16> {
        let order = self.order;
        self.take(2).map(|b| order.u16(b, 0))
    }
    fn u32(&mut self) -> Option<Int> {
        let order = self.order;
        self.take(4).map(|b| Int::from(order.u32(b, 0)))
    }
    fn u64(&mut self) -> Option<Int> {
        let order = self.order;
        self.take(8).map(|b| Int::from(order.u64(b, 0)))
    }
    fn i64(&mut self) -> Option<Int> {
        let order = self.order;
        self.take(8).map(|b| Int::from(order.u64(b, 0) as i64))
    }
    fn str16(&mut self) -> Option<&'a [u8]> {
        let n = self.u16()?;
        self.take(usize::from(n))
    }
    fn text(&mut self) -> Option<String> {
        self.str16()
            .map(|b| String::from_utf8_lossy(b).into_owned())
    }
    fn rest(&self) -> usize {
        self.b.len() - self.pos
    }
    /// A v2 entry: `u32 entry_len` (counting itself) then its bytes.
    fn prefixed(&mut self) -> Option<Reader<'a>> {
        let len = usize::try_from(self.u32()?).ok()?;
        self.entry(len.checked_sub(4)?)
    }
    /// The next `len` bytes as a reader of their own.
    fn entry(&mut self, len: usize) -> Option<Reader<'a>> {
        let body = self.take(len)?;
        Some(Reader {
            b: body,
            pos: 0,
            order: self.order,
        })
    }
}

/// Parse entries with `entry` until one fails; then fewer than 4 bytes may remain.
fn entries<'a, T>(
    r: &mut Reader<'a>,
    what: &str,
    mut entry: impl FnMut(&mut Reader<'a>) -> Option<T>,
) -> Result<Vec<T>, String> {
    let mut out = Vec::new();
    loop {
        let start = r.pos;
        match entry(r) {
            Some(v) => out.push(v),
            None => {
                r.pos = start;
                break;
            }
        }
    }
    if r.rest() >= 4 {
        return Err(format!(
            "{what}: entry at body offset {} does not parse",
            r.pos
        ));
    }
    Ok(out)
}

/// Apply one block to `state`; blocks that are not process, fd, user or interface
/// lists are ignored.
pub fn seed_block(state: &mut State, block: &BlockRef<'_>) -> Result<(), String> {
    let mut r = Reader {
        b: block.body,
        pos: 0,
        order: block.order,
    };
    let btype = block.block_type;
    if let Some(&(_, version)) = PL_VERSIONS.iter().find(|(t, _)| *t == btype) {
        let threads = entries(&mut r, "process list", |r| {
            if version == 9 {
                let mut inner = r.prefixed()?;
                let mut thread = process_entry(&mut inner, version)?;
                tail(&mut thread, &inner.b[inner.pos..], inner.order);
                Some(thread)
            } else {
                process_entry(r, version)
            }
        })?;
        for thread in threads {
            state.add_thread(thread);
        }
    } else if FDL_BLOCKS.contains(&btype) {
        let v2 = btype == FDL_V2;
        let tid = r.u64().ok_or("fd list: no owner tid")?;
        let fds = entries(&mut r, "fd list", |r| {
            if v2 {
                fd_entry(&mut r.prefixed()?, true)
            } else {
                fd_entry(r, false)
            }
        })?;
        state.add_fds(tid, fds);
    } else if IL_BLOCKS.contains(&btype) {
        let v2 = btype == IL_V2;
        let addrs = entries(&mut r, "interface list", |r| {
            if v2 {
                // the v2 entry_len does not count itself (§7)
                let len = usize::try_from(r.u32()?).ok()?;
                interface_entry(&mut r.entry(len)?)
            } else {
                interface_entry(r)
            }
        })?;
        state.interfaces.extend(addrs);
    } else if UL_BLOCKS.contains(&btype) {
        let v2 = btype == UL_V2;
        let users = entries(&mut r, "user list", |r| {
            if v2 {
                user_entry(&mut r.prefixed()?)
            } else {
                user_entry(r)
            }
        })?;
        for (user, group) in users {
            match user {
                Some(user) => state.add_user(user),
                None => state.add_group(group.0, group.1),
            }
        }
    }
    Ok(())
}

/// One process entry of list version 1..9 (§5), as `thread_from_entry` makes it.
fn process_entry(r: &mut Reader<'_>, version: u8) -> Option<Thread> {
    let tid = r.i64()?;
    let mut t = Thread::new(tid);
    t.pid = r.i64()?;
    t.ptid = r.i64()?;
    if version >= 6 {
        t.sid = r.i64()?;
    }
    if version >= 8 {
        t.vpgid = r.i64()?;
    }
    t.comm = r.text()?;
    t.exe = r.text()?;
    if version >= 7 {
        t.exepath = r.text()?;
    }
    t.args = split_nul(r.str16()?);
    t.cwd = r.text()?;
    t.fdlimit = r.i64()?;
    t.flags = r.u32()?;
    t.uid = r.u32()?;
    t.gid = r.u32()?;
    if version >= 2 {
        t.vmsize_kb = r.u32()?;
        t.vmrss_kb = r.u32()?;
        t.vmswap_kb = r.u32()?;
        t.pfmajor = r.u64()?;
        t.pfminor = r.u64()?;
    }
    if version >= 3 {
        t.env = split_nul(r.str16()?);
    }
    if version >= 4 {
        t.vtid = r.i64()?;
        t.vpid = r.i64()?;
        t.cgroups = split_nul(r.str16()?);
    }
    if version >= 5 {
        t.root = r.text()?;
    }
    if !t.cwd.is_empty() && !t.cwd.ends_with('/') {
        t.cwd.push('/'); // libsinsp keeps directories with a trailing slash
    }
    Some(t)
}

/// The optional V9 tail: each field only if it fits; the layout by its size (§5).
fn tail(t: &mut Thread, extra: &[u8], order: Order) {
    let mut r = Reader {
        b: extra,
        pos: 0,
        order,
    };
    if extra.len() > 29 {
        let Some(v) = r.u64() else { return };
        t.pidns_init_start_ts = v;
        let Some(v) = r.u32() else { return };
        t.tty = v;
    }
    let Some(v) = r.u32() else { return };
    t.loginuid = v;
    let Some(v) = r.u8() else { return };
    t.exe_writable = Int::from(v);
    for slot in [
        &mut t.cap_inheritable,
        &mut t.cap_permitted,
        &mut t.cap_effective,
    ] {
        let Some(v) = r.u64() else { return };
        *slot = v;
    }
    if extra.len() > 29 {
        // exe_upper_layer, exe_ino, exe_ino_ctime, exe_ino_mtime, exe_from_memfd,
        // exe_lower_layer: not kept
        if r.take(1 + 24 + 2).is_none() {
            return;
        }
        if let Some(v) = r.i64() {
            t.pgid = v;
        }
    }
}

/// One fd entry (§6), as `fd_from_list_entry` makes it; v1 lists cannot go on past an
/// unknown type.
fn fd_entry(r: &mut Reader<'_>, v2: bool) -> Option<Fd> {
    let num = r.i64()?;
    let ino = r.u64()?;
    let ftype = r.u8()?;
    let mut fd = Fd::new(num, Int::from(ftype));
    fd.ino = ino;
    match ftype {
        3 | 4 => {
            let w = if ftype == 3 { 4 } else { 16 };
            fd.sip = ip_text(r.take(w)?);
            fd.dip = ip_text(r.take(w)?);
            fd.sport = Int::from(r.u16()?);
            fd.dport = Int::from(r.u16()?);
            fd.l4proto = Int::from(r.u8()?);
            fd.pending_l4 = fd.l4proto;
            fd.name = format!("{}:{}->{}:{}", fd.sip, fd.sport, fd.dip, fd.dport);
        }
        5 | 6 => {
            let w = if ftype == 5 { 4 } else { 16 };
            fd.sip = ip_text(r.take(w)?);
            fd.sport = Int::from(r.u16()?);
            fd.l4proto = Int::from(r.u8()?);
            fd.pending_l4 = fd.l4proto;
            fd.name = format!("{}:{}", fd.sip, fd.sport);
        }
        8 => {
            r.take(16)?; // source and destination pointers
            fd.name = r.text()?;
        }
        16 => {
            fd.flags = r.u32()?;
            fd.name = r.text()?;
        }
        t if NAMED_TYPES.contains(&t) => fd.name = r.text()?,
        _ if v2 => {}
        _ => return None,
    }
    Some(fd)
}

/// The address of one interface entry (§7): IPv4 or IPv6, with or without link speed.
fn interface_entry(r: &mut Reader<'_>) -> Option<Vec<u8>> {
    let kind = r.u16()?;
    let namelen = r.u16()?;
    let (width, speed) = match kind {
        1 => (4, true),
        2 => (16, true),
        3 => (4, false),
        4 => (16, false),
        _ => return None,
    };
    let addr = r.take(width)?.to_vec();
    r.take(2 * width)?; // netmask, broadcast
    if speed {
        r.take(8)?;
    }
    r.take(usize::from(namelen))?;
    Some(addr)
}

type UserOrGroup = (Option<User>, (Int, String));

/// One user (kind 0) or group entry (§8).
fn user_entry(r: &mut Reader<'_>) -> Option<UserOrGroup> {
    if r.u8()? == 0 {
        let uid = r.u32()?;
        let gid = Some(r.u32()?);
        let name = r.text()?;
        let home = r.text()?;
        let shell = r.text()?;
        let user = User {
            uid,
            gid,
            name,
            home,
            shell,
        };
        Some((Some(user), (0, String::new())))
    } else {
        let gid = r.u32()?;
        Some((None, (gid, r.text()?)))
    }
}
