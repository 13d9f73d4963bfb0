//! The replay of plugin events in the core (docs/core.md, "Conditions and the replay
//! loop"): a source's rules compiled from the plan Python writes ([`rules`]), their
//! outputs ([`output`]), and the alert lines in Falco's text and JSON forms
//! ([`render`]), and the loop over a capture's events ([`run`]).

pub mod chunk;
pub mod damage;
pub mod feed;
pub mod fieldtab;
pub mod output;
pub mod render;
pub mod rules;
pub mod run;
pub mod sides;
pub mod syscall;

pub use rules::{plugin_event, Source, Verdict};
