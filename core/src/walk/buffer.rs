//! The walk's window on the stream: the bytes read and not yet walked, refilled one
//! chunk at a time, with the stream offset of each byte.
//!
//! Memory stays bounded: besides one chunk, the buffer only ever holds the block being
//! read, and only as many of its bytes as the input really has; a block length is
//! never used to allocate.

use super::error::WalkError;
use super::source::Source;

/// Decompressed bytes added per refill (`reader.CHUNK` on the Python side).
pub const CHUNK: usize = 1 << 20;

/// Bytes read from a source, and where the walk is in them.
pub struct Buffer {
    source: Box<dyn Source>,
    data: Vec<u8>,
    pos: usize,
    /// stream offset of `data[0]`
    base: u64,
}

impl Buffer {
    pub fn new(source: Box<dyn Source>) -> Buffer {
        Buffer {
            source,
            data: Vec::new(),
            pos: 0,
            base: 0,
        }
    }

    /// Bytes buffered from the current position on.
    #[inline]
    pub fn avail(&self) -> usize {
        self.data.len() - self.pos
    }

    /// Stream offset of the current position.
    #[inline]
    pub fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// The buffered bytes from the current position on.
    #[inline]
    pub fn rest(&self) -> &[u8] {
        &self.data[self.pos..]
    }

    /// The bytes `start..end` counted from the current position.
    #[inline]
    pub fn slice(&self, start: usize, end: usize) -> &[u8] {
        &self.data[self.pos + start..self.pos + end]
    }

    /// Move the position on by `n` buffered bytes.
    #[inline]
    pub fn advance(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.data.len());
    }

    pub fn source(&self) -> &dyn Source {
        self.source.as_ref()
    }

    /// Close the source's file (see `Source::close`).
    pub fn close(&mut self) {
        self.source.close();
    }

    /// Make `need` bytes available at the position if the input has them, reading
    /// one chunk at a time (as many as needed, none when enough are buffered). At the
    /// end of the input the source is asked again each time, as the Python reader asks
    /// its source (a file closed meanwhile then fails as it does there).
    #[inline]
    pub fn ensure(&mut self, need: usize) -> Result<(), WalkError> {
        if self.avail() >= need {
            return Ok(());
        }
        self.refill(need)
    }

    /// The bytes from the position to the end of the input, when that is sure to be
    /// fewer than `need` without reading them (a plain file knows its size).
    pub fn short_of(&self, need: usize) -> Option<u64> {
        let left = self.source.remaining()?;
        let have = self.avail() as u64 + left;
        (have < need as u64).then_some(have)
    }

    fn refill(&mut self, need: usize) -> Result<(), WalkError> {
        if self.pos > 0 {
            self.data.drain(..self.pos);
            self.base += self.pos as u64;
            self.pos = 0;
        }
        if self.data.capacity() > 4 * CHUNK && self.data.len() < CHUNK {
            self.data.shrink_to(2 * CHUNK); // a large block is behind us
        }
        loop {
            if self.source.read(&mut self.data, CHUNK)? == 0 {
                return Ok(());
            }
            if self.data.len() >= need {
                return Ok(());
            }
        }
    }
}
