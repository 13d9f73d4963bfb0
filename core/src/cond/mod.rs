//! Rule conditions evaluated in the core (docs/core.md, "Conditions and the replay loop").
//!
//! Python parses a rule's condition, expands its lists and macros and converts its
//! constants by the field types (scaptools/engine/condition/); scaptools/engine/native.py
//! writes that tree in a plain JSON form, which [`compile()`] turns into an
//! [`Expr`] once. [`Expr::eval`] then evaluates it per event over the event's field
//! values ([`Values`], filled on demand through an [`Extract`]), with exactly the
//! semantics of the Python compiler: the Python path is the reference, and anything
//! compiled here that could differ from it is refused as [`Unsupported`], which sends
//! that rule to the Python path.
//!
//! - `data`: the values and Python's comparisons, sets;
//! - `glob`: `glob`, `iglob`, `pmatch`;
//! - `ip`: IP address, network and connection-end checks;
//! - `transform`: the transformers;
//! - `expr`: the compiled tree and its evaluation;
//! - `compile`: plain form to tree;
//! - `values`: the per-event field values.

pub mod compile;
pub mod data;
pub mod expr;
pub mod glob;
pub mod ip;
pub mod transform;
pub mod values;

pub use compile::{compile, Unsupported};
pub use data::Data;
pub use expr::Expr;
pub use values::{Extract, Values};

#[cfg(test)]
mod tests;
