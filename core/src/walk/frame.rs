//! The checks of a block's frame (docs/format.md §2, §3, §9.3), worded as
//! `scaptools/format/ranges.py` words them.

use super::{is_event_block, Order, BLOCK_EVF_V2_LARGE, BLOCK_EV_V2_LARGE, BLOCK_FRAME_SIZE};
use super::{BLOCK_SHB, NON_LARGE_MAX};

const HEADER: u32 = 8;
const MAGIC_LE: [u8; 4] = [0x4d, 0x3c, 0x2b, 0x1a];
const MAGIC_BE: [u8; 4] = [0x1a, 0x2b, 0x3c, 0x4d];

/// The byte order of the section header block that `head` starts, `None` when it does
/// not start one (or is too short to say), and the message when its byte-order magic is
/// neither order's (§3; `ranges.section_order`).
pub fn section_order(head: &[u8]) -> Result<Option<Order>, String> {
    let head = &head[..head.len().min(BLOCK_FRAME_SIZE)];
    if head.len() < BLOCK_FRAME_SIZE || Order::Little.u32(head, 0) != BLOCK_SHB {
        return Ok(None); // the SHB type reads the same in both orders
    }
    let magic = &head[8..12];
    if magic == MAGIC_LE {
        return Ok(Some(Order::Little));
    }
    if magic == MAGIC_BE {
        return Ok(Some(Order::Big));
    }
    let hex: String = magic.iter().map(|b| format!("{b:02x}")).collect();
    Err(format!("bad byte-order magic {hex} in section header"))
}

/// What is wrong with a block's total length, or `None` (§2; `ranges.length_fault`).
pub fn length_fault(total: u32) -> Option<String> {
    if (total as usize) < BLOCK_FRAME_SIZE || total & 3 != 0 {
        return Some(format!(
            "bad block length {total} (must be >= {BLOCK_FRAME_SIZE} and a multiple of 4)"
        ));
    }
    None
}

/// A non-large event block longer than libscap's buffer (§9.3; `ranges.size_fault`).
pub fn size_fault(btype: u32, total: u32) -> Option<String> {
    let large = matches!(btype, BLOCK_EV_V2_LARGE | BLOCK_EVF_V2_LARGE);
    if is_event_block(btype) && !large && total.saturating_sub(HEADER) > NON_LARGE_MAX {
        return Some(format!(
            "event block length {total} exceeds the {NON_LARGE_MAX}-byte limit of non-large \
             event blocks"
        ));
    }
    None
}
