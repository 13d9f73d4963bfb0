//! Gzip input of one or more concatenated members (docs/format.md §1.1), inflated with
//! flate2 (zlib-rs) a bounded piece at a time.
//!
//! Not `flate2::read::MultiGzDecoder`: the walk must fail where, and with the words
//! that, the Python reader (`scaptools/format/streams.py`, over Python's `zlib`) fails,
//! and yield the same events before. So this source makes the same calls as that one:
//! input read 1 MiB at a time, each `read` one `decompress(input, max)` whose output
//! grows in the blocks Python's output buffer uses; zero bytes between members are
//! skipped; a stream that stops inside a member is "cut short"; anything else after a
//! member is "garbage".

use std::io::Read;

use flate2::{Decompress, FlushDecompress, Status};

use super::error::WalkError;
use super::source::{read_up_to, Source, GZIP_MAGIC, READ_SIZE};

/// The sizes by which CPython's output buffer grows during one `decompress` call
/// (`Include/internal/pycore_blocks_output_buffer.h`), so that each inflate call here
/// gets the output room it gets there.
const OUTPUT_BLOCKS: [usize; 17] = [
    32 << 10,
    64 << 10,
    256 << 10,
    1 << 20,
    4 << 20,
    8 << 20,
    16 << 20,
    16 << 20,
    32 << 20,
    32 << 20,
    32 << 20,
    32 << 20,
    64 << 20,
    64 << 20,
    128 << 20,
    128 << 20,
    256 << 20,
];

/// zlib's window for a gzip stream (`wbits` 31 = 15 + 16 in Python).
const WINDOW_BITS: u8 = 15;

/// Decompressed bytes of the members of a gzip stream.
pub struct GzipSource<R> {
    /// the file; `None` once closed
    inner: Option<R>,
    input: Vec<u8>,
    at: usize,
    eof_input: bool,
    z: Decompress,
    member_done: bool,
    path: String,
    /// compressed bytes consumed so far (zero padding between members not counted,
    /// as in the Python source)
    compressed_offset: u64,
    cut_short: bool,
}

impl<R: Read + Send + Sync> GzipSource<R> {
    /// `first`: the bytes already read from `inner` (they start with the gzip magic).
    pub fn new(inner: R, first: Vec<u8>, path: &str) -> GzipSource<R> {
        GzipSource {
            inner: Some(inner),
            input: first,
            at: 0,
            eof_input: false,
            z: Decompress::new_gzip(WINDOW_BITS),
            member_done: false,
            path: path.to_string(),
            compressed_offset: 0,
            cut_short: false,
        }
    }

    fn input_left(&self) -> &[u8] {
        &self.input[self.at..]
    }

    /// Replace the consumed input with the next piece of the file.
    fn fill(&mut self) -> Result<(), WalkError> {
        self.input.clear();
        self.at = 0;
        read_up_to(self.inner.as_mut(), &mut self.input, READ_SIZE, &self.path)?;
        self.eof_input = self.input.is_empty();
        Ok(())
    }

    /// One Python `decompress(input, max)`: append at most `max` bytes to `out`.
    /// On an error nothing is appended and the input is left as it was.
    fn inflate(&mut self, out: &mut Vec<u8>, max: usize) -> Result<usize, WalkError> {
        let start = out.len();
        let start_in = self.z.total_in();
        let mut produced = 0;
        let last = OUTPUT_BLOCKS[OUTPUT_BLOCKS.len() - 1];
        for block in OUTPUT_BLOCKS.into_iter().chain(std::iter::repeat(last)) {
            let room = block.min(max - produced);
            if room == 0 {
                break; // the limit is reached: Python stops without another call
            }
            out.resize(start + produced + room, 0);
            let before_in = self.z.total_in();
            let before_out = self.z.total_out();
            let status = self.z.decompress(
                &self.input[self.at..],
                &mut out[start + produced..],
                FlushDecompress::Sync,
            );
            let written = (self.z.total_out() - before_out) as usize;
            self.at += (self.z.total_in() - before_in) as usize;
            produced += written;
            out.truncate(start + produced);
            match status {
                Err(err) => {
                    out.truncate(start);
                    let text = err.message().unwrap_or("invalid input data");
                    let message = format!(
                        "gzip data corrupt near compressed offset {:#x}: Error -3 while \
                         decompressing data: {text}",
                        self.compressed_offset
                    );
                    return Err(WalkError::format(&self.path, message));
                }
                Ok(Status::StreamEnd) => {
                    self.member_done = true;
                    break;
                }
                Ok(_) if written < room => break, // the input is used up
                Ok(_) => {}
            }
        }
        self.compressed_offset += self.z.total_in() - start_in;
        Ok(produced)
    }

    /// Start the next member, if any; zero bytes after a member are ignored.
    fn next_member(&mut self) -> Result<bool, WalkError> {
        loop {
            let zeros = self.input_left().iter().take_while(|&&b| b == 0).count();
            self.at += zeros;
            if !self.input_left().is_empty() || self.eof_input {
                break;
            }
            self.fill()?;
        }
        if self.input_left().is_empty() {
            return Ok(false);
        }
        if self.input_left().len() < 2 && !self.eof_input {
            self.input.drain(..self.at);
            self.at = 0;
            read_up_to(self.inner.as_mut(), &mut self.input, READ_SIZE, &self.path)?;
        }
        if !self.input_left().starts_with(&GZIP_MAGIC) {
            let message = format!(
                "garbage after gzip member at compressed offset {:#x}",
                self.compressed_offset
            );
            return Err(WalkError::format(&self.path, message));
        }
        self.z = Decompress::new_gzip(WINDOW_BITS);
        self.member_done = false;
        Ok(true)
    }
}

impl<R: Read + Send + Sync> Source for GzipSource<R> {
    fn read(&mut self, out: &mut Vec<u8>, max: usize) -> Result<usize, WalkError> {
        loop {
            if self.member_done && !self.next_member()? {
                return Ok(0);
            }
            if self.input_left().is_empty() && !self.eof_input {
                self.fill()?;
            }
            if self.input_left().is_empty() {
                if !self.member_done {
                    // the input is over inside a member
                    self.cut_short = true;
                    self.member_done = true;
                }
                return Ok(0);
            }
            let n = self.inflate(out, max)?;
            if n > 0 {
                return Ok(n);
            }
        }
    }

    fn cut_short(&self) -> bool {
        self.cut_short
    }

    fn compression(&self) -> &'static str {
        "gzip"
    }

    fn close(&mut self) {
        self.inner = None;
    }
}
