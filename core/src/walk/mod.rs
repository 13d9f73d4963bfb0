//! The capture walk: every block of a `.scap` capture, plain or gzip, either byte
//! order, every section-header version, one block at a time from a bounded buffer
//! (docs/format.md §1-§3, §9; docs/core.md "The walker").
//!
//! ```no_run
//! use scaptools_core::walk::{Item, Walker};
//! let mut walker = Walker::open("capture.scap".as_ref(), "capture.scap")?;
//! while let Some(item) = walker.next_item() {
//!     match item? {
//!         Item::Event(ev) => println!("{} {} {}", ev.num, ev.ts, ev.raw.len()),
//!         Item::Block(block) => println!("block {:#x} at {}", block.block_type, block.offset),
//!     }
//! }
//! # Ok::<(), scaptools_core::walk::WalkError>(())
//! ```
//!
//! It yields what the Python reader (`scaptools/format/reader.py`) yields, in the same
//! order, and fails where it fails with the same error: a fault comes after every
//! complete event before it.

mod buffer;
pub mod error;
pub mod event;
pub mod frame;
mod gzip;
pub mod item;
pub mod source;
pub mod table;
pub mod tally;
mod walker;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_damage;

pub use error::{ErrorKind, WalkError};
pub use item::{BlockRef, Counts, EventRef, Item, Section};
pub use source::Source;
pub use tally::Tally;
pub use walker::Walker;

/// The section header block (§3); its id reads the same in both byte orders.
pub const BLOCK_SHB: u32 = 0x0A0D0D0A;
/// Event blocks (§9.1): v1, v1 with flags, v2, v2 with flags, large, large with flags.
pub const BLOCK_EV: u32 = 0x204;
pub const BLOCK_EV_INT: u32 = 0x8010ABCD;
pub const BLOCK_EVF: u32 = 0x208;
pub const BLOCK_EV_V2: u32 = 0x216;
pub const BLOCK_EVF_V2: u32 = 0x217;
pub const BLOCK_EV_V2_LARGE: u32 = 0x221;
pub const BLOCK_EVF_V2_LARGE: u32 = 0x222;
/// The metadata blocks (§4-§8): machine info, process, fd, interface and user lists.
pub const METADATA_BLOCKS: [u32; 23] = [
    0x201, 0x8002ABCD, 0x202, 0x8000ABCD, 0x207, 0x8013ABCD, 0x209, 0x8014ABCD, 0x210, 0x211,
    0x212, 0x213, 0x214, 0x215, 0x203, 0x8001ABCD, 0x218, 0x205, 0x8011ABCD, 0x219, 0x206,
    0x8012ABCD, 0x220,
];
/// The smallest block: type, length and trailer (§2).
pub const BLOCK_FRAME_SIZE: usize = 12;
/// libscap's limit for a non-large event block after its 8-byte header (§9.3).
pub const NON_LARGE_MAX: u32 = 65536;
/// The only major version there is (§3).
pub const SHB_MAJOR: u16 = 1;

/// Whether a block type is an event block.
pub fn is_event_block(btype: u32) -> bool {
    is_v2_event_block(btype) || matches!(btype, BLOCK_EV | BLOCK_EV_INT | BLOCK_EVF)
}

/// Whether a block type holds a v2 event header (§9.1).
pub fn is_v2_event_block(btype: u32) -> bool {
    matches!(
        btype,
        BLOCK_EV_V2 | BLOCK_EVF_V2 | BLOCK_EV_V2_LARGE | BLOCK_EVF_V2_LARGE
    )
}

/// Whether a block type is one of the metadata blocks Python parses.
pub fn is_metadata_block(btype: u32) -> bool {
    METADATA_BLOCKS.contains(&btype)
}

/// The byte order of a section (§1.2): every integer of its blocks is read in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    Little,
    Big,
}

impl Order {
    /// `"<"` or `">"`, as the Python reader names orders.
    pub fn code(self) -> &'static str {
        match self {
            Order::Little => "<",
            Order::Big => ">",
        }
    }

    /// The u16 at `at` (the caller has checked that `at + 2 <= b.len()`).
    #[inline]
    pub fn u16(self, b: &[u8], at: usize) -> u16 {
        let v = [b[at], b[at + 1]];
        match self {
            Order::Little => u16::from_le_bytes(v),
            Order::Big => u16::from_be_bytes(v),
        }
    }

    /// The u32 at `at` (the caller has checked that `at + 4 <= b.len()`).
    #[inline]
    pub fn u32(self, b: &[u8], at: usize) -> u32 {
        let v: [u8; 4] = b[at..at + 4].try_into().unwrap_or([0; 4]);
        match self {
            Order::Little => u32::from_le_bytes(v),
            Order::Big => u32::from_be_bytes(v),
        }
    }

    /// The u64 at `at` (the caller has checked that `at + 8 <= b.len()`).
    #[inline]
    pub fn u64(self, b: &[u8], at: usize) -> u64 {
        let v: [u8; 8] = b[at..at + 8].try_into().unwrap_or([0; 8]);
        match self {
            Order::Little => u64::from_le_bytes(v),
            Order::Big => u64::from_be_bytes(v),
        }
    }
}
