//! The generic `evt.*` fields of plugin events (docs/cloudtrail-plugin.md §6), as
//! `scaptools/fields/generic.py` gives them: the event number, its times, the time
//! since the first event, the source, the plugin and the host.

use std::borrow::Cow;

use super::clock;
use super::compute;
use super::record::Record;
use crate::value::Value;

const NS: u64 = 1_000_000_000;

/// One generic field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Evt {
    Num,
    /// `evt.time`, `evt.datetime`, ...
    Clock(clock::Text),
    Rawtime,
    RawtimeS,
    RawtimeNs,
    Reltime,
    ReltimeS,
    ReltimeNs,
    Source,
    Type,
    IsAsync,
    Asynctype,
    Hostname,
    Pluginname,
    /// the cloudtrail plugin's event text (compile it only for that plugin's source)
    Plugininfo,
}

/// The generic field `name`; `None` when it is not one of them.
pub fn compile(name: &str) -> Option<Evt> {
    if let Some(kind) = clock::Text::of(name) {
        return Some(Evt::Clock(kind));
    }
    Some(match name {
        "evt.num" => Evt::Num,
        "evt.rawtime" => Evt::Rawtime,
        "evt.rawtime.s" => Evt::RawtimeS,
        "evt.rawtime.ns" => Evt::RawtimeNs,
        "evt.reltime" => Evt::Reltime,
        "evt.reltime.s" => Evt::ReltimeS,
        "evt.reltime.ns" => Evt::ReltimeNs,
        "evt.source" => Evt::Source,
        "evt.type" => Evt::Type,
        "evt.is_async" => Evt::IsAsync,
        "evt.asynctype" => Evt::Asynctype,
        "evt.hostname" => Evt::Hostname,
        "evt.pluginname" => Evt::Pluginname,
        "evt.plugininfo" => Evt::Plugininfo,
        _ => return None,
    })
}

/// The type name of the field in the Python field set (`FieldInfo.type`).
pub fn type_name(field: Evt) -> &'static str {
    match field {
        Evt::Num => "uint64",
        Evt::Rawtime | Evt::RawtimeS | Evt::RawtimeNs => "abstime",
        Evt::Reltime | Evt::ReltimeS | Evt::ReltimeNs => "reltime",
        Evt::IsAsync => "bool",
        _ => "string",
    }
}

impl Evt {
    /// The field's value for the event, or `None`.
    pub fn extract<'a>(self, rec: &mut Record<'a>) -> Option<Value<'a>> {
        let ts = rec.header().ts;
        let nanos = ts % NS;
        let text = |s: String| Some(Value::Str(Cow::Owned(s)));
        match self {
            Evt::Num => Some(Value::U64(rec.header().num)),
            Evt::Clock(kind) => text(kind.of_time(ts)?),
            Evt::Rawtime => Some(Value::U64(ts)),
            Evt::RawtimeS => Some(Value::U64(ts / NS)),
            Evt::RawtimeNs => Some(Value::U64(nanos)),
            Evt::Reltime | Evt::ReltimeS | Evt::ReltimeNs => Some(reltime(self, rec)),
            Evt::Source => Some(Value::Str(Cow::Borrowed(rec.origin().source))),
            Evt::Type => Some(Value::Str(Cow::Borrowed("pluginevent"))),
            Evt::IsAsync => Some(Value::Bool(false)),
            Evt::Asynctype => None,
            Evt::Hostname => Some(Value::Str(Cow::Borrowed(rec.origin().hostname))),
            Evt::Pluginname => rec.origin().plugin.map(|p| Value::Str(Cow::Borrowed(p))),
            Evt::Plugininfo => text(compute::plugininfo(rec)),
        }
    }
}

/// The time since the first event asked for (that event sets the origin's cell), as
/// Python computes it: possibly negative, floor division and modulo.
fn reltime<'a>(field: Evt, rec: &Record<'a>) -> Value<'a> {
    let ts = rec.header().ts;
    let cell = rec.origin().first_ts;
    let first = cell.get().unwrap_or_else(|| {
        cell.set(Some(ts));
        ts
    });
    let rel = i128::from(ts) - i128::from(first);
    let ns = i128::from(NS);
    let value = match field {
        Evt::ReltimeS => rel.div_euclid(ns),
        Evt::ReltimeNs => rel.rem_euclid(ns),
        _ => rel,
    };
    match u64::try_from(value) {
        Ok(v) => Value::U64(v),
        // below -2^63 only with timestamps past the year 2262
        Err(_) => Value::I64(i64::try_from(value).unwrap_or(i64::MIN)),
    }
}
