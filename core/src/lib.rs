//! The compiled core of scaptools: the per-event loop that the Python package hands
//! over when the extension `scaptools._core` is built (docs/core.md).
//!
//! The pure-Rust parts build and test without Python (`cargo test`); the bindings
//! live in `python/` behind the `python` feature.

pub mod cond;
pub mod fields;
pub mod print;
pub mod replay;
pub mod slice;
pub mod state;
pub mod sysfields;
pub mod value;
pub mod walk;

#[cfg(feature = "python")]
mod python;
