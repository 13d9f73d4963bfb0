//! From the plain form of a condition (JSON written by scaptools/engine/native.py)
//! to an [`Expr`].
//!
//! The plain form is the condition tree after list and macro expansion, with every
//! constant already converted by the Python compiler's own rules (field types,
//! numbers, booleans, hex strings):
//!
//! ```text
//! node     = ["and", [node...]] | ["or", [node...]] | ["not", node] | ["true"]
//!          | ["check", operand, op, right, modifier]
//! operand  = ["field", number, is_list]
//!          | ["tf", name, [arg...], selector, is_list]
//! arg      = operand | ["lit", text] | ["tuple", [arg...]]
//! right    = null (exists) | ["values", [const...]] | ["computed", operand]
//!          | ["ip", [address...]] | ["sides", "ip", [address...]]
//!          | ["sides", "port", [const...]]
//! const    = "text" | true | false | {"int": "123"} | {"hex": "0aff"}
//! address  = "1.2.3.4" | "::1" | "10.0.0.0/8"
//! ```
//!
//! `ip` and `sides` checks take `=`, `==`, `!=`, `in`, `intersects` (`ip.rs`); a port
//! side also `<`, `<=`, `>`, `>=`.
//!
//! Anything the core does not evaluate exactly as the Python path does is an
//! [`Unsupported`] error: the rule then runs on the Python path.

use std::borrow::Cow;

use serde_json::Value as Json;

use super::data::{Data, Set};
use super::expr::{Arg, Check, Cmp, Computed, Expr, Modifier, One, Operand, Test, TextTest};
use super::glob::{Glob, PathMatch};
use super::ip::{IpTest, SidesTest};
use super::transform::Single;

/// Why a condition stays on the Python path.
#[derive(Debug, Clone, PartialEq)]
pub struct Unsupported(pub String);

type Result<T> = std::result::Result<T, Unsupported>;

fn no<T>(what: impl std::fmt::Display) -> Result<T> {
    Err(Unsupported(what.to_string()))
}

fn array(json: &Json) -> Result<&[Json]> {
    match json.as_array() {
        Some(items) => Ok(items),
        None => no(format!("expected a list, got {json}")),
    }
}

fn text(json: &Json) -> Result<&str> {
    match json.as_str() {
        Some(s) => Ok(s),
        None => no(format!("expected a string, got {json}")),
    }
}

/// Compile one node of the plain form.
pub fn compile(json: &Json) -> Result<Expr> {
    let node = array(json)?;
    let kind = text(node.first().unwrap_or(&Json::Null))?;
    match (kind, node.len()) {
        ("true", 1) => Ok(Expr::True),
        ("and", 2) => Ok(Expr::And(
            array(&node[1])?
                .iter()
                .map(compile)
                .collect::<Result<_>>()?,
        )),
        ("or", 2) => Ok(Expr::Or(
            array(&node[1])?
                .iter()
                .map(compile)
                .collect::<Result<_>>()?,
        )),
        ("not", 2) => Ok(Expr::Not(Box::new(compile(&node[1])?))),
        ("check", 5) => Ok(Expr::Check(Box::new(check(node)?))),
        _ => no(format!("unknown node {json}")),
    }
}

/// An operand and whether it is a list; `fields` collects the fields it reads.
pub fn operand(json: &Json, fields: &mut Vec<usize>) -> Result<(Operand, bool)> {
    let node = array(json)?;
    let kind = text(node.first().unwrap_or(&Json::Null))?;
    let list = node.last().and_then(Json::as_bool).unwrap_or(false);
    match (kind, node.len()) {
        ("field", 3) => {
            let Some(id) = node[1].as_u64() else {
                return no("bad field number");
            };
            let id = id as usize;
            if !fields.contains(&id) {
                fields.push(id);
            }
            Ok((Operand::Field(id), list))
        }
        ("tf", 5) => Ok((transformer(node, fields)?, list)),
        _ => no(format!("unknown operand {json}")),
    }
}

fn transformer(node: &[Json], fields: &mut Vec<usize>) -> Result<Operand> {
    let name = text(&node[1])?;
    let args = array(&node[2])?;
    let selector = match &node[3] {
        Json::Null => None,
        sel => {
            let mut chars = text(sel)?.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => Some(c),
                _ => return no("getopt selector"),
            }
        }
    };
    if let Some(single) = Single::named(name) {
        if args.len() != 1 || selector.is_some() {
            return no(format!("{name} arguments"));
        }
        let (inner, _) = operand(&args[0], fields)?;
        return Ok(Operand::Single(single, Box::new(inner)));
    }
    let mut parts = Vec::with_capacity(args.len());
    for a in args {
        parts.push(arg(a, fields)?);
    }
    match (name, parts.len(), selector) {
        ("concat", n, None) if n >= 2 => {
            if parts.iter().any(|p| matches!(p, Arg::Tuple(_))) {
                return no("concat of a list literal");
            }
            Ok(Operand::Concat(parts))
        }
        ("join", 2, None) => {
            let list = parts.pop().map(Box::new);
            let sep = parts.pop().map(Box::new);
            match (sep, list) {
                (Some(sep), Some(list)) if matches!(*sep, Arg::Text(_)) => {
                    Ok(Operand::Join(sep, list))
                }
                _ => no("join with a computed separator"),
            }
        }
        ("getopt", 2, sel) => {
            let opts = parts.pop().map(Box::new);
            let args = parts.pop().map(Box::new);
            match (args, opts) {
                (Some(a), Some(o)) => Ok(Operand::Getopt(a, o, sel)),
                _ => no("getopt arguments"),
            }
        }
        _ => no(format!("transformer {name}")),
    }
}

fn arg(json: &Json, fields: &mut Vec<usize>) -> Result<Arg> {
    let node = array(json)?;
    match (node.first().and_then(Json::as_str), node.len()) {
        (Some("lit"), 2) => Ok(Arg::Text(text(&node[1])?.to_string())),
        (Some("tuple"), 2) => Ok(Arg::Tuple(
            array(&node[1])?
                .iter()
                .map(|a| arg(a, fields))
                .collect::<Result<_>>()?,
        )),
        _ => Ok(Arg::Operand(operand(json, fields)?.0)),
    }
}

/// A converted constant.
pub fn constant(json: &Json) -> Result<Data<'static>> {
    match json {
        Json::String(s) => Ok(Data::Str(Cow::Owned(s.clone()))),
        Json::Bool(b) => Ok(Data::Bool(*b)),
        Json::Object(map) => {
            if let Some(n) = map.get("int").and_then(Json::as_str) {
                return match n.parse::<i128>() {
                    Ok(n) => Ok(Data::Int(n)),
                    Err(_) => no(format!("integer {n}")),
                };
            }
            if let Some(h) = map.get("hex").and_then(Json::as_str) {
                return hex(h).map(|b| Data::Bytes(Cow::Owned(b)));
            }
            no(format!("constant {json}"))
        }
        _ => no(format!("constant {json}")),
    }
}

fn hex(text: &str) -> Result<Vec<u8>> {
    let digits = text.as_bytes();
    if digits.len() % 2 == 1 {
        return no("odd hex string");
    }
    let mut out = Vec::with_capacity(digits.len() / 2);
    for pair in digits.chunks(2) {
        let pair = std::str::from_utf8(pair).map_err(|_| Unsupported("hex".into()))?;
        out.push(u8::from_str_radix(pair, 16).map_err(|_| Unsupported("hex".into()))?);
    }
    Ok(out)
}

fn check(node: &[Json]) -> Result<Check> {
    let mut fields = Vec::new();
    let (left, list) = operand(&node[1], &mut fields)?;
    let op = text(&node[2])?;
    let modifier = match &node[4] {
        Json::Null => None,
        m => Some(text(m)?),
    };
    let right = &node[3];
    let test = match right {
        Json::Null if op == "exists" => Test::Exists,
        Json::Null => return no(format!("{op} without a value")),
        _ => {
            let parts = array(right)?;
            match (parts.first().and_then(Json::as_str), parts.len()) {
                (Some("computed"), 2) => {
                    let (value, right_list) = operand(&parts[1], &mut fields)?;
                    if right_list != list {
                        return no("computed side of another list-ness");
                    }
                    Test::Computed(value, computed_op(op, list)?)
                }
                (Some("ip"), 2) => Test::Ip(ip_test(op, &parts[1])?),
                (Some("sides"), 3) => Test::Sides(sides_test(op, text(&parts[1])?, &parts[2])?),
                (Some("values"), 2) => {
                    let consts = array(&parts[1])?
                        .iter()
                        .map(constant)
                        .collect::<Result<Vec<_>>>()?;
                    match modifier {
                        Some(m) => modified(op, m, consts)?,
                        None => valued(op, list, consts)?,
                    }
                }
                _ => return no(format!("right side {right}")),
            }
        }
    };
    Ok(Check {
        left,
        list,
        test,
        fields,
    })
}

/// The constants of an `ip` or `sides` check as texts.
fn texts(consts: &Json) -> Result<Vec<&str>> {
    array(consts)?.iter().map(text).collect()
}

fn ip_test(op: &str, consts: &Json) -> Result<IpTest> {
    IpTest::new(op, &texts(consts)?).map_err(Unsupported)
}

fn sides_test(op: &str, kind: &str, consts: &Json) -> Result<SidesTest> {
    match kind {
        "ip" => SidesTest::ips(op, &texts(consts)?),
        "port" => {
            let values = array(consts)?
                .iter()
                .map(constant)
                .collect::<Result<Vec<_>>>()?;
            let cmp = if op == "in" {
                Some(Cmp::Eq)
            } else {
                cmp_of(op)
            };
            SidesTest::ports(op, cmp, values)
        }
        _ => Err(format!("sides of {kind}")),
    }
    .map_err(Unsupported)
}

fn cmp_of(op: &str) -> Option<Cmp> {
    Some(match op {
        "=" | "==" => Cmp::Eq,
        "!=" => Cmp::Ne,
        "<" => Cmp::Lt,
        "<=" => Cmp::Le,
        ">" => Cmp::Gt,
        ">=" => Cmp::Ge,
        _ => return None,
    })
}

fn single(consts: Vec<Data<'static>>) -> Result<Data<'static>> {
    let mut consts = consts;
    match (consts.pop(), consts.is_empty()) {
        (Some(c), true) => Ok(c),
        _ => no("expected one value"),
    }
}

fn valued(op: &str, list: bool, consts: Vec<Data<'static>>) -> Result<Test> {
    if list {
        return match op {
            "in" => Ok(Test::ListIn(Set::new(consts))),
            "intersects" => Ok(Test::ListIntersects(Set::new(consts))),
            _ => no(format!("{op} on a list")),
        };
    }
    match op {
        "in" | "intersects" => Ok(Test::In(Set::new(consts))),
        "=" | "==" => Ok(Test::Equal(single(consts)?)),
        "pmatch" => {
            let texts: Option<Vec<String>> = consts
                .iter()
                .map(|c| c.text().map(str::to_string))
                .collect();
            match texts.as_deref().and_then(PathMatch::new) {
                Some(m) => Ok(Test::PathMatch(m)),
                None => no("pmatch pattern"),
            }
        }
        _ => match cmp_of(op) {
            Some(cmp) => Ok(Test::Order(cmp, single(consts)?)),
            None => Ok(Test::Text(text_test(op, single(consts)?)?)),
        },
    }
}

fn text_test(op: &str, c: Data<'static>) -> Result<TextTest> {
    let pattern = |c: &Data| {
        c.text()
            .map(str::to_string)
            .ok_or(Unsupported("pattern".into()))
    };
    Ok(match op {
        "contains" | "bcontains" => TextTest::Contains(c),
        "startswith" | "bstartswith" => TextTest::StartsWith(c),
        "endswith" => TextTest::EndsWith(c),
        "icontains" => TextTest::IContains(pattern(&c)?.to_ascii_lowercase()),
        "glob" | "iglob" => {
            let Some(glob) = Glob::new(&pattern(&c)?, op == "iglob") else {
                return no("glob pattern");
            };
            if op == "glob" {
                TextTest::Glob(glob)
            } else {
                TextTest::IGlob(glob)
            }
        }
        _ => return no(format!("operator {op}")),
    })
}

fn modified(op: &str, modifier: &str, consts: Vec<Data<'static>>) -> Result<Test> {
    let kind = match modifier {
        "anyof" => Modifier::AnyOf,
        "allof" => Modifier::AllOf,
        "oneof" => Modifier::OneOf,
        _ => return no(format!("modifier {modifier}")),
    };
    let mut ones = Vec::with_capacity(consts.len());
    for c in consts {
        ones.push(match cmp_of(op) {
            Some(cmp) => One::Cmp(cmp, c),
            None => One::Text(text_test(op, c)?),
        });
    }
    Ok(Test::Modifier(kind, ones))
}

fn computed_op(op: &str, list: bool) -> Result<Computed> {
    if let Some(cmp) = cmp_of(op) {
        return Ok(Computed::Cmp(cmp));
    }
    Ok(match (op, list) {
        ("in", true) => Computed::ListIn,
        ("intersects", true) => Computed::ListIntersects,
        ("in" | "intersects", false) => Computed::Same,
        ("contains", _) => Computed::Contains,
        ("icontains", _) => Computed::IContains,
        ("startswith" | "bstartswith", _) => Computed::StartsWith,
        ("endswith", _) => Computed::EndsWith,
        _ => return no(format!("operator {op} with a computed side")),
    })
}
