//! A field's value for one event, as extractors hand it to the condition evaluator.
//!
//! "No value" is `Option::None` wherever a value is returned: every check on a
//! missing value is false (docs/rules-language.md, missing values).

use std::borrow::Cow;

/// One value of a field for one event. Strings borrow from the event's bytes where
/// they can (JSON strings without escapes), and own their text otherwise.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Str(Cow<'a, str>),
    U64(u64),
    I64(i64),
    Bool(bool),
    /// the elements of a list field (for example `ct.resources`)
    List(Vec<Value<'a>>),
}
