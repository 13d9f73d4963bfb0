//! Byte sources of the walk: a plain file, or a gzip stream of one or more members
//! (docs/format.md §1.1), told apart by the gzip magic and never by the file name.
//! Mirrors `scaptools/format/streams.py`: same read sizes, same messages.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use super::error::{os_error_text, strerror, WalkError};
use super::gzip::GzipSource;

/// Bytes asked from the underlying file per read (`streams.READ_SIZE`).
pub const READ_SIZE: usize = 1 << 20;
/// The first two bytes of every gzip member.
pub const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Where the walk gets its bytes from.
pub trait Source: Send + Sync {
    /// Append up to `max` bytes to `out` and return how many; 0 only at the end of
    /// the input.
    fn read(&mut self, out: &mut Vec<u8>, max: usize) -> Result<usize, WalkError>;

    /// Whether the input ended inside a gzip member (plain input never is).
    fn cut_short(&self) -> bool {
        false
    }

    /// `"none"` or `"gzip"`, as `CaptureReader.compression` says.
    fn compression(&self) -> &'static str;

    /// Close the underlying file: bytes the source holds are still given, then a read
    /// of the file fails as reading a closed Python file does.
    fn close(&mut self) {}

    /// How many bytes are left to read, when the source knows it for sure (a plain
    /// file): lets the walk report a block longer than the rest of the file without
    /// reading the rest.
    fn remaining(&self) -> Option<u64> {
        None
    }
}

/// Uncompressed bytes straight from a reader, starting with bytes already read.
pub struct PlainSource<R> {
    inner: Option<R>,
    pending: Vec<u8>,
    taken: usize,
    path: String,
    left: Option<u64>,
}

impl<R: Read + Send + Sync> PlainSource<R> {
    /// `first`: bytes already read from `inner`; `size`: the bytes left in `inner`
    /// after them, when known.
    pub fn new(inner: R, first: Vec<u8>, path: &str, size: Option<u64>) -> PlainSource<R> {
        PlainSource {
            inner: Some(inner),
            pending: first,
            taken: 0,
            path: path.to_string(),
            left: size,
        }
    }
}

impl<R: Read + Send + Sync> Source for PlainSource<R> {
    fn read(&mut self, out: &mut Vec<u8>, max: usize) -> Result<usize, WalkError> {
        if self.taken < self.pending.len() {
            let end = self.pending.len().min(self.taken + max);
            out.extend_from_slice(&self.pending[self.taken..end]);
            let n = end - self.taken;
            self.taken = end;
            if self.taken == self.pending.len() {
                self.pending = Vec::new();
                self.taken = 0;
            }
            return Ok(n);
        }
        let n = read_up_to(self.inner.as_mut(), out, max, &self.path)?;
        if let Some(left) = self.left.as_mut() {
            *left = left.saturating_sub(n as u64);
        }
        Ok(n)
    }

    fn compression(&self) -> &'static str {
        "none"
    }

    fn close(&mut self) {
        self.inner = None;
        self.left = Some(0);
    }

    fn remaining(&self) -> Option<u64> {
        let pending = (self.pending.len() - self.taken) as u64;
        self.left.map(|left| left + pending)
    }
}

/// Append up to `max` bytes of `inner` to `out` (fewer only at its end), as Python's
/// buffered `read(max)` does. A failure reads `read failed: [Errno N] text`.
pub fn read_up_to<R: Read>(
    inner: Option<&mut R>,
    out: &mut Vec<u8>,
    max: usize,
    path: &str,
) -> Result<usize, WalkError> {
    let Some(inner) = inner else {
        return Err(WalkError::format(path, "read failed: read of closed file"));
    };
    let start = out.len();
    // std's read_to_end grows `out` as data arrives: no zero-filling of `max` bytes
    match inner.by_ref().take(max as u64).read_to_end(out) {
        Ok(got) => Ok(got),
        Err(err) => {
            out.truncate(start);
            let text = format!("read failed: {}", os_error_text(&err));
            Err(WalkError::format(path, text))
        }
    }
}

/// Open a capture file, plain or gzip (by its first two bytes). `name` is the name
/// errors give it (the path unless the caller says otherwise).
pub fn open_path(path: &Path, name: &str) -> Result<Box<dyn Source>, WalkError> {
    let cannot =
        |err: &std::io::Error| WalkError::format(name, format!("cannot open: {}", strerror(err)));
    let mut file = File::open(path).map_err(|err| cannot(&err))?;
    let meta = file.metadata().map_err(|err| cannot(&err))?;
    if meta.is_dir() {
        // Python's open() refuses a directory; File::open does not
        return Err(WalkError::format(name, "cannot open: Is a directory"));
    }
    let mut first = Vec::new();
    read_up_to(Some(&mut file), &mut first, READ_SIZE, name)?;
    if first.starts_with(&GZIP_MAGIC) {
        return Ok(Box::new(GzipSource::new(file, first, name)));
    }
    let size = meta
        .is_file()
        .then(|| meta.len().saturating_sub(first.len() as u64));
    Ok(Box::new(PlainSource::new(file, first, name, size)))
}

/// A source over bytes in memory (tests, and callers that hold a whole capture):
/// plain or gzip by the first two bytes, as for a file.
pub fn from_bytes(data: Vec<u8>, name: &str) -> Box<dyn Source> {
    let first: Vec<u8> = data[..data.len().min(READ_SIZE)].to_vec();
    let rest = std::io::Cursor::new(data[first.len()..].to_vec());
    if first.starts_with(&GZIP_MAGIC) {
        return Box::new(GzipSource::new(rest, first, name));
    }
    let left = rest.get_ref().len() as u64;
    Box::new(PlainSource::new(rest, first, name, Some(left)))
}
