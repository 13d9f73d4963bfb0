//! A compiled condition and its evaluation (docs/rules-language.md §4.3, §6).
//!
//! Each check mirrors the expression the Python compiler generates for it
//! (scaptools/engine/condition/compiler.py): a missing value makes every check
//! false, `exists` on a list needs an element, `in`/`intersects` on a list field
//! need every / one element in the set, modifiers test each value in turn.

use std::cmp::Ordering;

use memchr::memmem;

use super::data::{Data, Set};
use super::glob::{Glob, PathMatch};
use super::ip::{IpTest, SidesTest};
use super::transform::{self, Single};
use super::values::{Extract, Values};

/// A compiled condition.
#[derive(Debug, Clone)]
pub enum Expr {
    /// always true (a rule reached through its index with nothing else to test)
    True,
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    Check(Box<Check>),
}

/// The left side of a check, or a computed right side.
#[derive(Debug, Clone)]
pub enum Operand {
    Field(usize),
    Single(Single, Box<Operand>),
    Concat(Vec<Arg>),
    Join(Box<Arg>, Box<Arg>),
    Getopt(Box<Arg>, Box<Arg>, Option<char>),
}

/// An argument of `concat`, `join` and `getopt`.
#[derive(Debug, Clone)]
pub enum Arg {
    Operand(Operand),
    Text(String),
    Tuple(Vec<Arg>),
}

/// One check: its left operand, whether that is a list, its test, and every field
/// it reads (extracted before the test runs).
#[derive(Debug, Clone)]
pub struct Check {
    pub left: Operand,
    pub list: bool,
    pub test: Test,
    pub fields: Vec<usize>,
}

/// What a check tests its left value with.
#[derive(Debug, Clone)]
pub enum Test {
    Exists,
    Equal(Data<'static>),
    Order(Cmp, Data<'static>),
    In(Set),
    ListIn(Set),
    ListIntersects(Set),
    Text(TextTest),
    PathMatch(PathMatch),
    Modifier(Modifier, Vec<One>),
    Computed(Operand, Computed),
    /// an IP address field against addresses and networks
    Ip(IpTest),
    /// a field of both ends of a connection (`fd.ip`, `fd.port`, ...)
    Sides(SidesTest),
}

/// `!=`, `<`, `<=`, `>`, `>=` (and `=` inside modifiers).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// The string and byte operators, each with its constant.
#[derive(Debug, Clone)]
pub enum TextTest {
    Contains(Data<'static>),
    IContains(String),
    StartsWith(Data<'static>),
    EndsWith(Data<'static>),
    Glob(Glob),
    IGlob(Glob),
}

/// One value's test inside `anyof`/`allof`/`oneof`.
#[derive(Debug, Clone)]
pub enum One {
    Cmp(Cmp, Data<'static>),
    Text(TextTest),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Modifier {
    AnyOf,
    AllOf,
    OneOf,
}

/// The operator of a check whose right side is computed (`val(f)`, a transformer).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Computed {
    Cmp(Cmp),
    ListIn,
    ListIntersects,
    Same,
    Contains,
    IContains,
    StartsWith,
    EndsWith,
}

impl Expr {
    /// Whether the condition holds for the event whose fields `source` gives.
    pub fn eval<'a>(&self, values: &mut Values<'a>, source: &mut dyn Extract<'a>) -> bool {
        match self {
            Expr::True => true,
            Expr::And(kids) => kids.iter().all(|k| k.eval(values, source)),
            Expr::Or(kids) => kids.iter().any(|k| k.eval(values, source)),
            Expr::Not(kid) => !kid.eval(values, source),
            Expr::Check(check) => {
                for &field in &check.fields {
                    values.fill(field, source);
                }
                check.holds(values)
            }
        }
    }
}

impl Operand {
    /// The operand's value for the event (its fields extracted already).
    pub fn data<'v>(&'v self, values: &'v Values<'_>) -> Option<Data<'v>> {
        match self {
            Operand::Field(field) => values.get(*field).map(Data::of),
            Operand::Single(op, inner) => op.apply(inner.data(values)),
            Operand::Concat(args) => {
                transform::concat(args.iter().map(|a| a.data(values)).collect())
            }
            Operand::Join(sep, list) => transform::join(sep.data(values), list.data(values)),
            Operand::Getopt(args, opts, sel) => {
                transform::getopt(args.data(values), opts.data(values), *sel)
            }
        }
    }
}

impl Arg {
    fn data<'v>(&'v self, values: &'v Values<'_>) -> Option<Data<'v>> {
        match self {
            Arg::Operand(op) => op.data(values),
            Arg::Text(text) => Some(Data::Str(text.as_str().into())),
            Arg::Tuple(items) => {
                let all: Option<Vec<Data>> = items.iter().map(|a| a.data(values)).collect();
                all.map(Data::List)
            }
        }
    }
}

impl Check {
    fn holds(&self, values: &Values) -> bool {
        let left = self.left.data(values);
        match &self.test {
            Test::Exists if self.list => left.is_some_and(|v| v.truthy()),
            Test::Exists => left.is_some(),
            Test::Equal(c) => left.is_some_and(|v| v.equals(c)),
            Test::In(set) => left.is_some_and(|v| set.contains(&v)),
            Test::ListIn(set) => {
                list_items(left).is_some_and(|v| v.iter().all(|x| set.contains(x)))
            }
            Test::ListIntersects(set) => {
                list_items(left).is_some_and(|v| v.iter().any(|x| set.contains(x)))
            }
            Test::Order(cmp, c) => left.is_some_and(|v| compare(*cmp, &v, c)),
            Test::Text(test) => left.is_some_and(|v| test.holds(&v)),
            Test::PathMatch(m) => left.is_some_and(|v| v.text().is_some_and(|t| m.matches(t))),
            Test::Modifier(kind, ones) => left.is_some_and(|v| modifier(*kind, ones, &v)),
            Test::Ip(test) => left.is_some_and(|v| test.holds(&v)),
            Test::Sides(test) => left.is_some_and(|v| test.holds(&v, compare)),
            Test::Computed(right, op) => {
                let (Some(a), Some(b)) = (left, right.data(values)) else {
                    return false;
                };
                if self.list && !(a.truthy() && b.truthy()) {
                    return false;
                }
                computed(*op, &a, &b)
            }
        }
    }
}

/// The elements of a list value with at least one element.
fn list_items(value: Option<Data>) -> Option<Vec<Data>> {
    match value? {
        Data::List(items) if !items.is_empty() => Some(items),
        _ => None,
    }
}

fn compare(cmp: Cmp, a: &Data, b: &Data) -> bool {
    match cmp {
        Cmp::Eq => a.equals(b),
        Cmp::Ne => !a.equals(b),
        _ => match a.order(b) {
            None => false,
            Some(o) => match cmp {
                Cmp::Lt => o == Ordering::Less,
                Cmp::Le => o != Ordering::Greater,
                Cmp::Gt => o == Ordering::Greater,
                _ => o != Ordering::Less,
            },
        },
    }
}

fn modifier(kind: Modifier, ones: &[One], value: &Data) -> bool {
    let test = |one: &One| match one {
        One::Cmp(cmp, c) => compare(*cmp, value, c),
        One::Text(t) => t.holds(value),
    };
    match kind {
        Modifier::AnyOf => ones.iter().any(test),
        Modifier::AllOf => !ones.is_empty() && ones.iter().all(test),
        Modifier::OneOf => ones.iter().filter(|o| test(o)).count() == 1,
    }
}

/// Both sides as text, or both as bytes (Python refuses to mix them).
fn same_kind<'x>(a: &'x Data, b: &'x Data) -> Option<(&'x [u8], &'x [u8])> {
    match (a, b) {
        (Data::Str(x), Data::Str(y)) => Some((x.as_bytes(), y.as_bytes())),
        (Data::Bytes(x), Data::Bytes(y)) => Some((x, y)),
        _ => None,
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || memmem::find(hay, needle).is_some()
}

impl TextTest {
    fn holds(&self, value: &Data) -> bool {
        match self {
            TextTest::Contains(c) => same_kind(value, c).is_some_and(|(v, c)| contains(v, c)),
            TextTest::IContains(c) => value
                .text()
                .is_some_and(|v| contains(v.to_ascii_lowercase().as_bytes(), c.as_bytes())),
            TextTest::StartsWith(c) => same_kind(value, c).is_some_and(|(v, c)| v.starts_with(c)),
            TextTest::EndsWith(c) => same_kind(value, c).is_some_and(|(v, c)| v.ends_with(c)),
            TextTest::Glob(g) => value.text().is_some_and(|v| g.matches(v)),
            TextTest::IGlob(g) => value
                .text()
                .is_some_and(|v| g.matches(&v.to_ascii_lowercase())),
        }
    }
}

fn computed(op: Computed, a: &Data, b: &Data) -> bool {
    match op {
        Computed::Cmp(cmp) => compare(cmp, a, b),
        Computed::Same => a.equals(b),
        Computed::ListIn | Computed::ListIntersects => {
            let (Data::List(xs), Data::List(ys)) = (a, b) else {
                return false;
            };
            let member = |x: &Data| ys.iter().any(|y| y.equals(x));
            if op == Computed::ListIn {
                xs.iter().all(member)
            } else {
                xs.iter().any(member)
            }
        }
        Computed::Contains => same_kind(a, b).is_some_and(|(a, b)| contains(a, b)),
        Computed::IContains => match (a.text(), b.text()) {
            (Some(a), Some(b)) => contains(
                a.to_ascii_lowercase().as_bytes(),
                b.to_ascii_lowercase().as_bytes(),
            ),
            _ => false,
        },
        Computed::StartsWith => same_kind(a, b).is_some_and(|(a, b)| a.starts_with(b)),
        Computed::EndsWith => same_kind(a, b).is_some_and(|(a, b)| a.ends_with(b)),
    }
}
