//! The table of fields a source's plan reads, and what extracts them for one event:
//! plugin fields (`crate::fields`) over a [`Record`], or syscall fields
//! (`crate::sysfields`) over a [`Ctx`] (the event and the state right after it).

use serde_json::Value as Json;

use std::cell::Cell;

use super::damage::{self, Reads};
use super::sides::{self, SideField};
use crate::cond::Extract;
use crate::fields::{self, Field, Record};
use crate::sysfields::{self, Ctx, SysField};
use crate::value::Value;

/// The name of the syscall source: its plan's fields are syscall fields.
pub const SYSCALL: &str = "syscall";

/// The compiled fields of a plan, by number (`None`: the core lacks that field).
#[derive(Debug)]
pub enum Fields {
    Plugin(Vec<Option<Field>>),
    Syscall(Vec<Option<SysCol>>),
}

/// A syscall field of a plan: one of `crate::sysfields`, or a both-ends field; and how
/// its Python extractor reads the event's parameters (`damage.rs`).
#[derive(Debug)]
pub struct SysCol {
    kind: SysKind,
    reads: Reads,
}

#[derive(Debug)]
enum SysKind {
    Field(SysField),
    Sides(SideField),
}

impl SysCol {
    fn compile(name: &str, arg: Option<&str>) -> Option<SysCol> {
        let reads = damage::reads(name, arg);
        let name = sides::address_of(name).unwrap_or(name);
        let kind = match sysfields::compile(name, arg) {
            Ok(field) => SysKind::Field(field),
            Err(_) => SysKind::Sides(sides::compile(name, arg)?),
        };
        Some(SysCol { kind, reads })
    }

    fn extract<'a>(&self, cx: &Ctx<'a>) -> Option<Value<'a>> {
        match &self.kind {
            SysKind::Field(field) => field.extract(cx),
            SysKind::Sides(field) => field.extract(cx),
        }
    }
}

impl Fields {
    /// Compile the plan's rows (`[name, argument]`) for `source`.
    pub fn compile(source: &str, rows: &[Json]) -> Fields {
        if source == SYSCALL {
            Fields::Syscall(
                rows.iter()
                    .map(|row| {
                        let (name, arg) = name_arg(row)?;
                        SysCol::compile(name, arg)
                    })
                    .collect(),
            )
        } else {
            Fields::Plugin(
                rows.iter()
                    .map(|row| {
                        let (name, arg) = name_arg(row)?;
                        fields::compile(name, arg).ok()
                    })
                    .collect(),
            )
        }
    }

    /// How many fields the table has.
    pub fn len(&self) -> usize {
        match self {
            Fields::Plugin(f) => f.len(),
            Fields::Syscall(f) => f.len(),
        }
    }

    /// Whether the fields are syscall fields.
    pub fn is_syscall(&self) -> bool {
        matches!(self, Fields::Syscall(_))
    }

    /// Whether the table has no field.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether field `n` is compiled.
    pub fn has(&self, n: usize) -> bool {
        match self {
            Fields::Plugin(f) => f.get(n).is_some_and(Option::is_some),
            Fields::Syscall(f) => f.get(n).is_some_and(Option::is_some),
        }
    }

    /// The plugin fields (empty for a syscall table).
    pub fn plugin(&self) -> &[Option<Field>] {
        match self {
            Fields::Plugin(f) => f,
            Fields::Syscall(_) => &[],
        }
    }

    /// The syscall fields (empty for a plugin table).
    pub fn syscall(&self) -> &[Option<SysCol>] {
        match self {
            Fields::Plugin(_) => &[],
            Fields::Syscall(f) => f,
        }
    }
}

/// A plan row's name and argument.
fn name_arg(row: &Json) -> Option<(&str, Option<&str>)> {
    let name = row.get(0).and_then(Json::as_str)?;
    Some((name, row.get(1).and_then(Json::as_str)))
}

/// Plugin fields of one event, read from its [`Record`].
pub struct RecordFields<'s, 'r, 'a> {
    pub fields: &'s [Option<Field>],
    pub rec: &'r mut Record<'a>,
}

impl<'a> Extract<'a> for RecordFields<'_, '_, 'a> {
    fn extract(&mut self, field: usize) -> Option<Value<'a>> {
        self.fields.get(field)?.as_ref()?.extract(self.rec)
    }
}

/// Syscall fields of one event, read from the event and the state. `damaged`: the
/// event's parameters run past its end, and the cell is set when a field the Python
/// path would have read them for is extracted (that field gives no value).
pub struct SysValues<'s, 'c, 'a> {
    pub fields: &'s [Option<SysCol>],
    pub cx: &'c Ctx<'a>,
    pub damaged: Option<&'c Cell<bool>>,
}

impl<'a> Extract<'a> for SysValues<'_, '_, 'a> {
    fn extract(&mut self, field: usize) -> Option<Value<'a>> {
        let col = self.fields.get(field)?.as_ref()?;
        if let Some(hit) = self.damaged {
            if col.reads.touches(&self.cx.ev, self.cx.state) {
                hit.set(true);
                return None;
            }
        }
        col.extract(self.cx)
    }
}
