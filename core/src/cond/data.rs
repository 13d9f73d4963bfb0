//! The values a condition works on, with Python's comparison rules.
//!
//! The Python compiler (scaptools/engine/condition/compiler.py) compares the values
//! extractors return with Python's operators; `Data` is the same set of values here:
//! text, bytes (only `b64` makes them), integers (every numeric type is a Python int,
//! so one signed 128-bit integer holds them all), booleans and lists. A boolean equals
//! the integer 0 or 1, as `True == 1` holds in Python.

use std::borrow::Cow;
use std::cmp::Ordering;

use crate::value::Value;

/// One operand's value for one event.
#[derive(Debug, Clone, PartialEq)]
pub enum Data<'r> {
    Str(Cow<'r, str>),
    Bytes(Cow<'r, [u8]>),
    Int(i128),
    Bool(bool),
    List(Vec<Data<'r>>),
}

impl<'r> Data<'r> {
    /// A field's value as the evaluator sees it (strings are borrowed, not copied).
    pub fn of(value: &'r Value<'_>) -> Data<'r> {
        match value {
            Value::Str(text) => Data::Str(Cow::Borrowed(text.as_ref())),
            Value::U64(n) => Data::Int(i128::from(*n)),
            Value::I64(n) => Data::Int(i128::from(*n)),
            Value::Bool(b) => Data::Bool(*b),
            Value::List(items) => Data::List(items.iter().map(Data::of).collect()),
        }
    }

    /// Python's truth value of an operand (`bool(v)`): used by `exists` on lists.
    pub fn truthy(&self) -> bool {
        match self {
            Data::Str(s) => !s.is_empty(),
            Data::Bytes(b) => !b.is_empty(),
            Data::Int(n) => *n != 0,
            Data::Bool(b) => *b,
            Data::List(items) => !items.is_empty(),
        }
    }

    /// The integer of a number or a boolean.
    fn number(&self) -> Option<i128> {
        match self {
            Data::Int(n) => Some(*n),
            Data::Bool(b) => Some(i128::from(*b)),
            _ => None,
        }
    }

    /// Python's `==`.
    pub fn equals(&self, other: &Data) -> bool {
        match (self, other) {
            (Data::Str(a), Data::Str(b)) => a == b,
            (Data::Bytes(a), Data::Bytes(b)) => a == b,
            (Data::List(a), Data::List(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.equals(y))
            }
            _ => match (self.number(), other.number()) {
                (Some(a), Some(b)) => a == b,
                _ => false,
            },
        }
    }

    /// Python's ordering of two values (`<`, `<=`, ...); `None` where Python would
    /// refuse to compare them (the check is then false).
    pub fn order(&self, other: &Data) -> Option<Ordering> {
        match (self, other) {
            (Data::Str(a), Data::Str(b)) => Some(a.as_bytes().cmp(b.as_bytes())),
            (Data::Bytes(a), Data::Bytes(b)) => Some(a.as_ref().cmp(b.as_ref())),
            (Data::List(a), Data::List(b)) => list_order(a, b),
            _ => Some(self.number()?.cmp(&other.number()?)),
        }
    }

    /// The bytes of text or a byte string (what `contains` and friends look into).
    pub fn bytes(&self) -> Option<&[u8]> {
        match self {
            Data::Str(s) => Some(s.as_bytes()),
            Data::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// The text of a string value.
    pub fn text(&self) -> Option<&str> {
        match self {
            Data::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A copy that owns everything it holds.
    pub fn owned(&self) -> Data<'static> {
        match self {
            Data::Str(s) => Data::Str(Cow::Owned(s.to_string())),
            Data::Bytes(b) => Data::Bytes(Cow::Owned(b.to_vec())),
            Data::Int(n) => Data::Int(*n),
            Data::Bool(b) => Data::Bool(*b),
            Data::List(items) => Data::List(items.iter().map(Data::owned).collect()),
        }
    }

    /// Python's `str(v)` of a value inside `join` and `concat`; `None` for a byte
    /// string or a list (their Python text is a repr, which the core does not write).
    pub fn python_str(&self) -> Option<Cow<'_, str>> {
        match self {
            Data::Str(s) => Some(Cow::Borrowed(s)),
            Data::Int(n) => Some(Cow::Owned(n.to_string())),
            Data::Bool(true) => Some(Cow::Borrowed("True")),
            Data::Bool(false) => Some(Cow::Borrowed("False")),
            Data::Bytes(_) | Data::List(_) => None,
        }
    }
}

fn list_order(a: &[Data], b: &[Data]) -> Option<Ordering> {
    for (x, y) in a.iter().zip(b) {
        if !x.equals(y) {
            return x.order(y);
        }
    }
    Some(a.len().cmp(&b.len()))
}

/// A set of constants (the right side of `in` and `intersects`), with Python's set
/// membership: equal values are members, booleans and integers mix.
#[derive(Debug, Clone, Default)]
pub struct Set {
    texts: Vec<Box<str>>,
    others: Vec<Data<'static>>,
    sorted: bool,
}

impl Set {
    /// The set of `items`.
    pub fn new(items: Vec<Data<'static>>) -> Set {
        let mut set = Set::default();
        for item in items {
            match item {
                Data::Str(s) => set.texts.push(s.into_owned().into_boxed_str()),
                other => set.others.push(other),
            }
        }
        set.texts.sort();
        set.texts.dedup();
        set.sorted = true;
        set
    }

    /// Whether `value` equals a member.
    pub fn contains(&self, value: &Data) -> bool {
        match value {
            Data::Str(s) => {
                let key: &str = s;
                if self.sorted && self.texts.len() > 8 {
                    self.texts.binary_search_by(|t| (**t).cmp(key)).is_ok()
                } else {
                    self.texts.iter().any(|t| &**t == key)
                }
            }
            other => self.others.iter().any(|c| c.equals(other)),
        }
    }

    /// Whether the set has no member.
    pub fn is_empty(&self) -> bool {
        self.texts.is_empty() && self.others.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(text: &str) -> Data<'static> {
        Data::Str(Cow::Owned(text.to_string()))
    }

    #[test]
    fn booleans_equal_integers_as_in_python() {
        assert!(Data::Bool(true).equals(&Data::Int(1)));
        assert!(!Data::Bool(true).equals(&s("1")));
        assert!(Set::new(vec![Data::Int(1)]).contains(&Data::Bool(true)));
    }

    #[test]
    fn strings_order_by_code_point() {
        assert_eq!(s("a").order(&s("b")), Some(Ordering::Less));
        assert_eq!(s("é").order(&s("z")), Some(Ordering::Greater));
        assert_eq!(s("1").order(&Data::Int(1)), None);
    }

    #[test]
    fn large_sets_search_sorted_text() {
        let items: Vec<_> = (0..20).map(|n| s(&format!("v{n}"))).collect();
        let set = Set::new(items);
        assert!(set.contains(&s("v13")));
        assert!(!set.contains(&s("v20")));
        assert!(!set.contains(&Data::Int(3)));
    }

    #[test]
    fn python_str_of_values() {
        assert_eq!(Data::Bool(true).python_str().unwrap(), "True");
        assert_eq!(Data::Int(-3).python_str().unwrap(), "-3");
        assert!(Data::List(vec![]).python_str().is_none());
    }
}
