//! Conditions in their plain form, evaluated over fixed field values.

use std::borrow::Cow;

use serde_json::json;

use super::{compile, Expr, Values};
use crate::value::Value;

fn s(text: &str) -> Option<Value<'static>> {
    Some(Value::Str(Cow::Owned(text.to_string())))
}

/// Field 0: "ConsoleLogin"; 1: missing; 2: 7; 3: ["a", "b"]; 4: "/var/run/x"; 5: "AbC"
fn record() -> Vec<Option<Value<'static>>> {
    vec![
        s("ConsoleLogin"),
        None,
        Some(Value::U64(7)),
        Some(Value::List(vec![
            Value::Str("a".into()),
            Value::Str("b".into()),
        ])),
        s("/var/run/x"),
        s("AbC"),
        Some(Value::List(vec![])),
    ]
}

fn field(n: usize) -> serde_json::Value {
    json!(["field", n, n == 3 || n == 6])
}

fn check(left: serde_json::Value, op: &str, values: serde_json::Value) -> serde_json::Value {
    json!(["check", left, op, ["values", values], null])
}

fn holds(node: serde_json::Value) -> bool {
    let expr: Expr = compile(&node).expect("compiles");
    let mut rec = record();
    let mut values = Values::new(8);
    expr.eval(&mut values, &mut rec)
}

#[test]
fn equality_and_missing_values() {
    assert!(holds(check(field(0), "=", json!(["ConsoleLogin"]))));
    assert!(!holds(check(field(1), "=", json!(["x"]))));
    assert!(!holds(check(field(1), "!=", json!(["x"]))));
    assert!(holds(json!(["not", check(field(1), "!=", json!(["x"]))])));
    assert!(holds(check(field(2), "=", json!([{"int": "7"}]))));
    assert!(!holds(check(field(2), "=", json!(["7"]))));
}

#[test]
fn exists_on_scalars_and_lists() {
    let exists = |n| json!(["check", field(n), "exists", null, null]);
    assert!(holds(exists(0)));
    assert!(!holds(exists(1)));
    assert!(holds(exists(3)));
    assert!(!holds(exists(6)));
}

#[test]
fn numeric_and_text_order() {
    assert!(holds(check(field(2), ">", json!([{"int": "6"}]))));
    assert!(!holds(check(field(2), "<", json!([{"int": "7"}]))));
    assert!(holds(check(field(2), "<=", json!([{"int": "7"}]))));
    assert!(holds(check(field(0), ">", json!(["Console"]))));
}

#[test]
fn string_operators() {
    assert!(holds(check(field(0), "contains", json!(["Login"]))));
    assert!(holds(check(field(0), "contains", json!([""]))));
    assert!(holds(check(field(5), "icontains", json!(["bc"]))));
    assert!(holds(check(field(0), "startswith", json!(["Console"]))));
    assert!(holds(check(field(0), "endswith", json!(["Login"]))));
    assert!(holds(check(field(0), "glob", json!(["Con*L?gin"]))));
    assert!(holds(check(field(5), "iglob", json!(["ABC"]))));
    assert!(holds(check(
        field(4),
        "pmatch",
        json!(["/tmp", "/var/run"])
    )));
    assert!(!holds(check(field(1), "pmatch", json!(["/"]))));
}

#[test]
fn sets_on_scalars_and_lists() {
    assert!(holds(check(field(0), "in", json!(["x", "ConsoleLogin"]))));
    assert!(!holds(check(field(0), "in", json!([]))));
    assert!(holds(check(field(3), "in", json!(["a", "b", "c"]))));
    assert!(!holds(check(field(3), "in", json!(["a"]))));
    assert!(holds(check(field(3), "intersects", json!(["a"]))));
    assert!(!holds(check(field(6), "intersects", json!(["a"]))));
}

#[test]
fn modifiers() {
    let m = |op: &str, m: &str, v| json!(["check", field(0), op, ["values", v], m]);
    assert!(holds(m("startswith", "anyof", json!(["X", "Con"]))));
    assert!(!holds(m("startswith", "allof", json!(["X", "Con"]))));
    assert!(holds(m("contains", "oneof", json!(["X", "Con"]))));
    assert!(!holds(m("contains", "oneof", json!(["Log", "Con"]))));
    assert!(!holds(m("=", "allof", json!([]))));
    assert!(holds(m("!=", "allof", json!(["a", "b"]))));
}

#[test]
fn transformers_and_computed_sides() {
    let tf = |name: &str, inner| json!(["tf", name, [inner], null, false]);
    assert!(holds(check(tf("tolower", field(5)), "=", json!(["abc"]))));
    assert!(holds(check(tf("toupper", field(5)), "=", json!(["ABC"]))));
    assert!(holds(check(tf("basename", field(4)), "=", json!(["x"]))));
    assert!(holds(check(
        tf("len", field(0)),
        "=",
        json!([{"int": "12"}])
    )));
    let concat = json!([
        "tf",
        "concat",
        [field(5), ["lit", "-"], field(0)],
        null,
        false
    ]);
    assert!(holds(check(concat, "=", json!(["AbC-ConsoleLogin"]))));
    let join = json!(["tf", "join", [["lit", "+"], field(3)], null, false]);
    assert!(holds(check(join, "=", json!(["a+b"]))));
    let same = json!([
        "check",
        field(5),
        "=",
        ["computed", tf("toupper", field(5))],
        null
    ]);
    assert!(!holds(same));
    let val = json!([
        "check",
        field(0),
        "startswith",
        ["computed", field(0)],
        null
    ]);
    assert!(holds(val));
    let missing = json!(["check", field(0), "!=", ["computed", field(1)], null]);
    assert!(!holds(missing));
}

#[test]
fn b64_gives_bytes() {
    let b64 = json!(["tf", "b64", [field(0)], null, false]);
    assert!(holds(json!(["check", b64, "exists", null, null])));
    let bad = json!(["tf", "b64", [field(4)], null, false]); // "/var/run/x": 10 letters
    assert!(holds(json!(["check", bad, "exists", null, null])));
    let b64 = json!(["tf", "b64", [field(0)], null, false]);
    assert!(holds(check(b64, "bstartswith", json!([{"hex": "0a89ec"}]))));
    let bad = json!(["tf", "b64", [field(5)], null, false]); // "AbC": 3 letters, fine
    assert!(holds(check(bad, "=", json!([{"hex": "01b0"}]))));
}

#[test]
fn unsupported_forms_are_refused() {
    assert!(compile(&json!([
        "check",
        field(0),
        "regex",
        ["values", ["a"]],
        null
    ]))
    .is_err());
    assert!(compile(&json!(["check", field(0), "=", ["values", [1.5]], null])).is_err());
    assert!(compile(&json!(["nand", []])).is_err());
    assert!(compile(&json!([
        "check",
        field(0),
        "glob",
        ["values", ["[z-a]"]],
        null
    ]))
    .is_err());
}
