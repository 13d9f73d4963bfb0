//! Metadata blocks held until the next event: `tracked_events` applies the blocks a
//! reader has met when the next event comes, so a walk that keeps the state does too.

use super::State;
use crate::walk::{BlockRef, Order};

/// The metadata blocks met since the last event, their bodies owned.
#[derive(Debug, Default)]
pub struct Held(Vec<(u64, u32, Order, Vec<u8>)>);

impl Held {
    /// Keep `block` for the next event.
    pub fn hold(&mut self, block: &BlockRef<'_>) {
        self.0.push((
            block.offset,
            block.block_type,
            block.order,
            block.body.to_vec(),
        ));
    }

    /// Seed `state` with the held blocks in order and forget them; `Err` gives the
    /// offset of the block that does not parse and why.
    pub fn apply(&mut self, state: &mut State) -> Result<(), (u64, String)> {
        for (offset, block_type, order, body) in self.0.drain(..) {
            let block = BlockRef {
                offset,
                block_type,
                order,
                body: &body,
            };
            state.seed(&block).map_err(|why| (offset, why))?;
        }
        Ok(())
    }
}
