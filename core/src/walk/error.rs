//! Errors of the walk, worded exactly as the Python reader words them
//! (`scaptools/errors.py`: `FormatError`, `TruncatedCapture`).

use std::error::Error;
use std::fmt;

/// Which Python exception an error stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// `FormatError`: a framing fault, a bad header, a file that cannot be read.
    Format,
    /// `TruncatedCapture`: the input ends inside a block, or a gzip stream is cut short.
    Truncated,
}

/// A fault of the capture (or of reading it): the file, the byte offset of the block,
/// the block type and the message, as the Python reader gives them.
#[derive(Debug)]
pub struct WalkError {
    pub kind: ErrorKind,
    /// the name of the capture, as the reader was given it
    pub path: String,
    /// byte offset of the block in the (decompressed) stream, when known
    pub offset: Option<u64>,
    pub block_type: Option<u32>,
    pub message: String,
    /// an error of a byte source the walk does not own (a Python file object), passed
    /// through untouched; `message` then holds its text
    pub cause: Option<Box<dyn Error + Send + Sync>>,
}

impl WalkError {
    /// A `FormatError` of `path` (offset and block type are added with the builders).
    pub fn format(path: &str, message: impl Into<String>) -> WalkError {
        WalkError {
            kind: ErrorKind::Format,
            path: path.to_string(),
            offset: None,
            block_type: None,
            message: message.into(),
            cause: None,
        }
    }

    /// A `TruncatedCapture` of `path`.
    pub fn truncated(path: &str, message: impl Into<String>) -> WalkError {
        WalkError {
            kind: ErrorKind::Truncated,
            ..WalkError::format(path, message)
        }
    }

    /// An error of a byte source that is not ours, kept whole for the caller.
    pub fn external(path: &str, cause: Box<dyn Error + Send + Sync>) -> WalkError {
        WalkError {
            message: cause.to_string(),
            cause: Some(cause),
            ..WalkError::format(path, "")
        }
    }

    pub fn at(mut self, offset: u64) -> WalkError {
        self.offset = Some(offset);
        self
    }

    pub fn block(mut self, block_type: Option<u32>) -> WalkError {
        self.block_type = block_type;
        self
    }
}

impl fmt::Display for WalkError {
    /// `path: offset 0x..: block 0x..: message`, the text of `FormatError.__str__`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path)?;
        if let Some(offset) = self.offset {
            write!(f, ": offset {offset:#x}")?;
        }
        if let Some(btype) = self.block_type {
            write!(f, ": block {btype:#x}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl Error for WalkError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match &self.cause {
            Some(cause) => Some(cause.as_ref()),
            None => None,
        }
    }
}

/// The text Python gives an OS error's `strerror` (`"No such file or directory"`):
/// Rust's message without its `" (os error N)"` suffix.
pub fn strerror(err: &std::io::Error) -> String {
    let text = err.to_string();
    match err.raw_os_error() {
        Some(code) => text
            .strip_suffix(&format!(" (os error {code})"))
            .unwrap_or(&text)
            .to_string(),
        None => text,
    }
}

/// The text of a Python `OSError` (`"[Errno 5] Input/output error"`).
pub fn os_error_text(err: &std::io::Error) -> String {
    match err.raw_os_error() {
        Some(code) => format!("[Errno {code}] {}", strerror(err)),
        None => err.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_the_python_text() {
        let err = WalkError::truncated("cut.scap", "capture ends inside a block (3 of 40 bytes)")
            .at(0x1c)
            .block(Some(0x216));
        assert_eq!(
            err.to_string(),
            "cut.scap: offset 0x1c: block 0x216: capture ends inside a block (3 of 40 bytes)"
        );
        assert_eq!(WalkError::format("x", "m").to_string(), "x: m");
        let missing = std::fs::File::open("/nonexistent/x").unwrap_err();
        assert_eq!(strerror(&missing), "No such file or directory");
        assert_eq!(
            os_error_text(&missing),
            "[Errno 2] No such file or directory"
        );
    }
}
