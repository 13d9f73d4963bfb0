//! Unit tests of the print loop over made captures (the Python differential tests are
//! the judge: tests/print/test_print_core_syscall.py).

use super::plan::Plan;
use super::{Batch, Printer, Stop};
use crate::walk::source::from_bytes;
use crate::walk::Walker;

const CLOSE_E: u16 = 4;
const CLOSE_X: u16 = 5;
const PROCINFO: u16 = 234; // internal (hidden without -D)

fn block(btype: u32, body: &[u8]) -> Vec<u8> {
    let total = (12 + body.len()).div_ceil(4) * 4;
    let mut out = Vec::new();
    out.extend(btype.to_le_bytes());
    out.extend((total as u32).to_le_bytes());
    out.extend(body);
    out.resize(total - 4, 0);
    out.extend((total as u32).to_le_bytes());
    out
}

fn shb() -> Vec<u8> {
    let mut body = Vec::new();
    body.extend(0x1A2B_3C4Du32.to_le_bytes());
    body.extend(1u16.to_le_bytes());
    body.extend(2u16.to_le_bytes());
    body.extend(u64::MAX.to_le_bytes());
    block(0x0A0D_0D0A, &body)
}

/// A v2 event block (cpu 1, tid 4242) with the given parameters.
fn event(ts: u64, etype: u16, params: &[&[u8]]) -> Vec<u8> {
    let len = 26 + 2 * params.len() + params.iter().map(|p| p.len()).sum::<usize>();
    let mut body = Vec::new();
    body.extend(1u16.to_le_bytes());
    body.extend(ts.to_le_bytes());
    body.extend(4242u64.to_le_bytes());
    body.extend((len as u32).to_le_bytes());
    body.extend(etype.to_le_bytes());
    body.extend((params.len() as u32).to_le_bytes());
    for p in params {
        body.extend((p.len() as u16).to_le_bytes());
    }
    for p in params {
        body.extend(*p);
    }
    block(0x216, &body)
}

/// Closes of fds 0..n (enter and exit), with a procinfo event after the first pair.
fn capture(n: i64) -> Vec<u8> {
    let mut out = shb();
    for fd in 0..n {
        let ts = 1_000_000_000 + fd as u64 * 10;
        out.extend(event(ts, CLOSE_E, &[&fd.to_le_bytes()]));
        out.extend(event(ts + 1, CLOSE_X, &[&0i64.to_le_bytes()]));
        if fd == 0 {
            out.extend(event(
                ts + 2,
                PROCINFO,
                &[&1u64.to_le_bytes(), &2u64.to_le_bytes()],
            ));
        }
    }
    out
}

fn plan(filter: &str, hidden: &str, count: &str, render: &str) -> Plan {
    let text = format!(
        r#"{{"filter": {filter}, "hidden": {hidden}, "count": {count}, "hostname": "h",
            "plugins": {{"default": "skip", "ids": []}}, "render": {render}}}"#
    );
    Plan::parse(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

const NO_FILTER: &str = r#"{"fields": [], "cond": null, "types": null, "names": null}"#;

fn format(parts: &str, fields: &str, json: bool, keep_all: bool) -> String {
    format!(
        r#"{{"kind": "format", "json": {json}, "keep_all": {keep_all}, "fields": {fields},
            "parts": {parts}}}"#
    )
}

/// Every batch of the print: its text and the stop that ended it.
fn print(data: Vec<u8>, plan: Plan) -> (String, Stop) {
    let walker = Walker::new(from_bytes(data, "t.scap"), "t.scap");
    let mut printer = Printer::new(walker, plan);
    let mut text = String::new();
    loop {
        let mut batch = Batch::default();
        let stop = printer.step(&[], 2, &mut batch);
        text.push_str(&batch.text);
        if !matches!(stop, Stop::Full) {
            return (text, stop);
        }
    }
}

/// `%evt.num %evt.dir%evt.type %evt.rawarg.fd`
fn numbered() -> String {
    format(
        r#"[[0, false, false, false, "evt.num"], " ", [1, false, false, false, "evt.dir"],
            [2, false, false, false, "evt.type"], " ", [3, false, false, true, "evt.rawarg.fd"]]"#,
        r#"[["evt.num", null], ["evt.dir", null], ["evt.type", null], ["evt.rawarg", "fd"]]"#,
        false,
        false,
    )
}

#[test]
fn a_plan_with_an_unknown_field_is_refused() {
    let text = r#"{"filter": {"fields": [["no.such", null]], "cond": null, "types": null},
                   "hidden": [], "render": {"kind": "none"}}"#;
    let err = Plan::parse(text).err().unwrap_or_default();
    assert!(err.contains("no.such"), "{err}");
}

#[test]
fn formats_skip_events_without_a_value_and_hide_internal_events() {
    let (text, stop) = print(capture(3), plan(NO_FILTER, "[234]", "null", &numbered()));
    assert!(matches!(stop, Stop::End));
    assert_eq!(text, "1 >close 0\n4 >close 1\n6 >close 2\n");
    // shown with -D (the procinfo event has no fd argument: skipped by the format)
    let (shown, _) = print(capture(3), plan(NO_FILTER, "[]", "null", &numbered()));
    assert_eq!(shown, text);
}

#[test]
fn the_gate_the_condition_and_the_count() {
    let filter = r#"{"fields": [["evt.rawarg", "fd"]], "types": [4], "names": ["close"],
                     "cond": ["check", ["field", 0, false], ">", ["values", [{"int": "0"}]], null]}"#;
    let (text, _) = print(capture(4), plan(filter, "[234]", "null", &numbered()));
    assert_eq!(text, "4 >close 1\n6 >close 2\n8 >close 3\n");
    let (text, stop) = print(capture(4), plan(filter, "[234]", "6", &numbered()));
    assert_eq!(text, "4 >close 1\n6 >close 2\n");
    assert!(matches!(stop, Stop::End));
    let never = r#"{"fields": [], "cond": "never", "types": null, "names": null}"#;
    assert_eq!(
        print(capture(4), plan(never, "[]", "null", &numbered())).0,
        ""
    );
}

#[test]
fn json_formats_sort_their_keys_and_keep_missing_values_with_a_star() {
    let render = format(
        r#"[[0, false, false, false, "evt.type"], [1, false, true, false, "evt.time"],
            [2, false, false, true, "evt.rawarg.fd"]]"#,
        r#"[["evt.type", null], ["evt.time", null], ["evt.rawarg", "fd"]]"#,
        true,
        true,
    );
    let (text, _) = print(capture(1), plan(NO_FILTER, "[]", "null", &render));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines,
        [
            r#"{"evt.rawarg.fd":0,"evt.time":1000000000,"evt.type":"close"}"#,
            r#"{"evt.rawarg.fd":null,"evt.time":1000000001,"evt.type":"close"}"#,
            r#"{"evt.rawarg.fd":null,"evt.time":1000000002,"evt.type":"procinfo"}"#,
        ]
    );
}

#[test]
fn a_cut_capture_ends_with_the_walk_error_after_its_lines() {
    let data = capture(3);
    let (text, stop) = print(
        data[..data.len() - 7].to_vec(),
        plan(NO_FILTER, "[234]", "null", &numbered()),
    );
    assert_eq!(text, "1 >close 0\n4 >close 1\n6 >close 2\n");
    match stop {
        Stop::Error(err) => assert!(
            err.message.contains("ends inside a block"),
            "{}",
            err.message
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_damaged_event_hands_the_print_to_python() {
    let mut data = capture(3);
    let bad = event(5, CLOSE_E, &[&3i64.to_le_bytes()]);
    let at = data.len() - bad.len(); // the last close exit: its length past its end
    data.truncate(at);
    let mut damaged = bad.clone();
    damaged[8 + 2 + 26] = 0xff;
    data.extend(damaged);
    let (text, stop) = print(data, plan(NO_FILTER, "[234]", "null", &numbered()));
    assert_eq!(text, "1 >close 0\n4 >close 1\n6 >close 2\n");
    assert!(matches!(stop, Stop::Python(_)), "{stop:?}");
}
