//! Event blocks to events in the v2 little-endian layout that `Event.raw` always holds
//! (docs/format.md §9.1-§9.4): v2 events as stored, v1 events with their parameter
//! count worked out, big-endian events rewritten little-endian. Mirrors
//! `scaptools/format/blocks.py` (`event_from_v2_block`, `event_from_v1`).

use super::table::{is_large, nparams_of, NPARAMS};
use super::Order;

/// The v2 event header: ts u64, tid u64, len u32, type u16, nparams u32 (§9.2).
pub const HEADER_SIZE: usize = 26;
/// The v1 event header: the v2 one without nparams.
pub const HEADER_V1_SIZE: usize = 22;
/// Types whose v1 `len` old writers stored 3 bytes too large (§9.4).
const LEN_QUIRK: [u16; 2] = [280, 286];
const LEN_EXCESS: i64 = 3;

/// An event's header fields, with the cpu and dump flags of its block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    pub ts: u64,
    pub tid: u64,
    pub cpu: u16,
    pub etype: u16,
    pub nparams: u32,
    pub flags: u32,
}

/// Where an event's v2 bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Raw {
    /// `start..start+len` of the block body, as stored (little-endian v2)
    Body(usize, usize),
    /// rebuilt in the walk's scratch buffer (v1, big-endian)
    Scratch,
}

/// Whether a block type carries the u32 dump-flags word after the cpuid (§9.1).
pub fn has_flags(btype: u32) -> bool {
    matches!(btype, 0x208 | 0x217 | 0x222)
}

/// Bytes in front of the event: cpuid, and the flags word when the block has one.
fn prefix_size(btype: u32) -> usize {
    if has_flags(btype) {
        6
    } else {
        2
    }
}

fn prefix(body: &[u8], btype: u32, order: Order) -> (u16, u32) {
    let flags = if has_flags(btype) {
        order.u32(body, 2)
    } else {
        0
    };
    (order.u16(body, 0), flags)
}

/// The event of a `0x216`/`0x217`/`0x221`/`0x222` body. The error is the message of
/// the Python reader's `FormatError`.
pub fn v2_event(
    btype: u32,
    body: &[u8],
    order: Order,
    scratch: &mut Vec<u8>,
) -> Result<(Head, Raw), String> {
    let at = prefix_size(btype);
    if body.len() < at + HEADER_SIZE {
        return Err("event block too short for an event header".into());
    }
    let (cpu, flags) = prefix(body, btype, order);
    let h = &body[at..];
    let (ts, tid, elen) = (order.u64(h, 0), order.u64(h, 8), order.u32(h, 16));
    let (etype, nparams) = (order.u16(h, 20), order.u32(h, 22));
    let len = elen as usize;
    if len < HEADER_SIZE || at as u64 + u64::from(elen) > body.len() as u64 {
        return Err(format!("event length {elen} does not fit its block"));
    }
    let large = is_large(etype);
    let width: u64 = if large { 4 } else { 2 };
    if HEADER_SIZE as u64 + width * u64::from(nparams) > u64::from(elen) {
        return Err(format!(
            "{nparams} parameter lengths do not fit event length {elen}"
        ));
    }
    let head = Head {
        ts,
        tid,
        cpu,
        etype,
        nparams,
        flags,
    };
    if order == Order::Little {
        return Ok((head, Raw::Body(at, len)));
    }
    let raw = &body[at..at + len];
    scratch.clear();
    push_header(scratch, ts, tid, elen, etype, nparams);
    let count = nparams as usize; // checked above: the lengths fit inside the event
    let data = HEADER_SIZE + width as usize * count;
    swap_lengths(scratch, &raw[HEADER_SIZE..data], width as usize);
    scratch.extend_from_slice(&raw[data..]);
    Ok((head, Raw::Scratch))
}

/// The event of a `0x204`/`0x8010ABCD`/`0x208` body, converted to v2 in `scratch`.
/// `memory` keeps the last parameter count found per type (see [`v1_nparams`]).
pub fn v1_event(
    btype: u32,
    body: &[u8],
    order: Order,
    scratch: &mut Vec<u8>,
    memory: &mut [u8; NPARAMS.len()],
) -> Result<Head, String> {
    let at = prefix_size(btype);
    if body.len() < at + HEADER_V1_SIZE {
        return Err("event block too short for a v1 event header".into());
    }
    let (cpu, flags) = prefix(body, btype, order);
    let h = &body[at..];
    let (ts, tid, etype) = (order.u64(h, 0), order.u64(h, 8), order.u16(h, 20));
    let mut elen = i64::from(order.u32(h, 16));
    if LEN_QUIRK.contains(&etype) {
        elen -= LEN_EXCESS;
    }
    if elen < HEADER_V1_SIZE as i64 || at as i64 + elen > body.len() as i64 {
        return Err(format!("v1 event length {elen} does not fit its block"));
    }
    let rest = &body[at + HEADER_V1_SIZE..at + elen as usize];
    let nparams = v1_nparams(rest, etype, order, memory);
    scratch.clear();
    // elen + 4 fits a u32: elen <= the body, which is shorter than a u32 block length
    push_header(scratch, ts, tid, (elen + 4) as u32, etype, nparams as u32);
    let lengths = 2 * nparams;
    if order == Order::Little {
        scratch.extend_from_slice(rest);
    } else {
        swap_lengths(scratch, &rest[..lengths], 2);
        scratch.extend_from_slice(&rest[lengths..]);
    }
    let head = Head {
        ts,
        tid,
        cpu,
        etype,
        nparams: nparams as u32,
        flags,
    };
    Ok(head)
}

/// The parameter count of a v1 event: the largest `n` no greater than the table's
/// count whose `n` u16 lengths plus the data they announce fill `rest` exactly (§9.4,
/// lenient variant); 0 when none does or the type is not in the table.
///
/// At most one count can fit (each extra parameter adds 2 bytes of length and never
/// less data), so the count last found for the type is tried first.
pub fn v1_nparams(
    rest: &[u8],
    etype: u16,
    order: Order,
    memory: &mut [u8; NPARAMS.len()],
) -> usize {
    let Some(most) = nparams_of(etype) else {
        return 0;
    };
    let slot = &mut memory[usize::from(etype)];
    if usize::from(*slot) <= most && fills(rest, usize::from(*slot), order) {
        return usize::from(*slot);
    }
    for n in (0..=most).rev() {
        if fills(rest, n, order) {
            *slot = n as u8; // n <= most, which is a u8 of the table
            return n;
        }
    }
    0
}

/// Whether `n` u16 lengths at the start of `rest` plus their data fill it exactly.
fn fills(rest: &[u8], n: usize, order: Order) -> bool {
    let lengths = 2 * n;
    if lengths > rest.len() {
        return false;
    }
    let data: usize = (0..n).map(|i| usize::from(order.u16(rest, 2 * i))).sum();
    lengths + data == rest.len()
}

fn push_header(out: &mut Vec<u8>, ts: u64, tid: u64, len: u32, etype: u16, nparams: u32) {
    out.extend_from_slice(&ts.to_le_bytes());
    out.extend_from_slice(&tid.to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&etype.to_le_bytes());
    out.extend_from_slice(&nparams.to_le_bytes());
}

/// Append the big-endian lengths of `lengths` (each `width` bytes) little-endian.
fn swap_lengths(out: &mut Vec<u8>, lengths: &[u8], width: usize) {
    for one in lengths.chunks_exact(width) {
        out.extend(one.iter().rev());
    }
}
