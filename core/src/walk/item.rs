//! What the walk hands out: events, other blocks, sections, counts of blocks.

use std::collections::BTreeMap;

use super::{Order, BLOCK_EV, BLOCK_EV_V2, BLOCK_EV_V2_LARGE};

/// What a section header said (§3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Section {
    pub major: u16,
    pub minor: u16,
    pub order: Order,
    /// offset of the section header block
    pub offset: u64,
}

/// One event, its bytes in the v2 little-endian layout (`Event.raw`).
#[derive(Debug, Clone, Copy)]
pub struct EventRef<'a> {
    /// offset of the event's block in the (decompressed) stream
    pub offset: u64,
    /// 1-based position among the events of the capture
    pub num: u64,
    pub ts: u64,
    pub tid: u64,
    pub cpu: u16,
    pub etype: u16,
    pub nparams: u32,
    /// dump flags of a flags-word block, else 0 (§9.1)
    pub flags: u32,
    pub block_type: u32,
    /// whether the type has u32 parameter lengths (§9.3)
    pub large: bool,
    pub raw: &'a [u8],
}

/// A block that is not an event: section header, metadata or unknown. `body` is what
/// lies between the 8-byte header and the trailer, padding included.
#[derive(Debug, Clone, Copy)]
pub struct BlockRef<'a> {
    pub offset: u64,
    pub block_type: u32,
    pub order: Order,
    pub body: &'a [u8],
}

/// One step of the walk.
#[derive(Debug, Clone, Copy)]
pub enum Item<'a> {
    Event(EventRef<'a>),
    Block(BlockRef<'a>),
}

/// Blocks seen, by type: every block whose frame was sound counts, as in
/// `CaptureReader.block_counts`.
#[derive(Debug, Clone, Default)]
pub struct Counts {
    ev_v2: u64,
    ev_large: u64,
    ev_v1: u64,
    others: BTreeMap<u32, u64>,
}

impl Counts {
    #[inline]
    pub(super) fn add(&mut self, btype: u32) {
        match btype {
            BLOCK_EV_V2 => self.ev_v2 += 1,
            BLOCK_EV_V2_LARGE => self.ev_large += 1,
            BLOCK_EV => self.ev_v1 += 1,
            _ => *self.others.entry(btype).or_default() += 1,
        }
    }

    /// `(block type, count)` of every type seen, by type.
    pub fn by_type(&self) -> Vec<(u32, u64)> {
        let mut all = self.others.clone();
        for (btype, n) in [
            (BLOCK_EV_V2, self.ev_v2),
            (BLOCK_EV_V2_LARGE, self.ev_large),
            (BLOCK_EV, self.ev_v1),
        ] {
            if n > 0 {
                all.insert(btype, n);
            }
        }
        all.into_iter().collect()
    }
}
