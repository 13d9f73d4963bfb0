//! Tests of a source's plan and dispatch (`rules.rs`).

use super::*;
use serde_json::json;

fn plan(first: bool) -> Source {
    let name = json!(["field", 0, false]);
    let error = json!(["check", ["field", 1, false], "exists", null, null]);
    let rule = |n: &str, cond| {
        json!({"name": n, "priority": "Warning", "tags": ["a"],
                                      "source": "aws_cloudtrail", "cond": cond,
                                      "indexed": ["not", error.clone()],
                                      "output": ["user=", ["f", 2, null, false, "ct.user"]]})
    };
    let is = |v: &str| json!(["check", name.clone(), "=", ["values", [v]], null]);
    let plan = json!({
        "source": "aws_cloudtrail", "plugin": "cloudtrail", "hostname": "h", "first": first,
        "fields": [["ct.name", null], ["ct.error", null], ["ct.user", null]],
        "rules": [rule("A", is("X")), rule("B", is("X")), {"name": "P", "python": "regex"}],
        "index": 0, "default": [],
        "groups": {"X": [[0, true], [1, true]], "Y": [[2, false]]}
    });
    Source::compile(&plan.to_string()).unwrap()
}

fn verdict(source: &Source, payload: &[u8]) -> Verdict {
    let first = Cell::new(None);
    let origin = source.origin(&first);
    let mut rec = Record::new(payload, Header { ts: 1, num: 1 }, &origin);
    let mut values = Values::new(source.field_count());
    source.evaluate(&mut source.record(&mut rec), &mut values)
}

#[test]
fn index_groups_first_and_all() {
    let x = br#"{"eventName":"X","userIdentity":{"type":"IAMUser","userName":"u"}}"#;
    assert_eq!(verdict(&plan(true), x), Verdict::Fired(vec![0]));
    assert_eq!(verdict(&plan(false), x), Verdict::Fired(vec![0, 1]));
    let failed = br#"{"eventName":"X","errorCode":"E"}"#;
    assert_eq!(verdict(&plan(false), failed), Verdict::Fired(vec![]));
    assert_eq!(
        verdict(&plan(true), br#"{"eventName":"Z"}"#),
        Verdict::Fired(vec![])
    );
    assert_eq!(verdict(&plan(true), b"not json"), Verdict::Fired(vec![]));
}

#[test]
fn python_rules_hand_the_event_back() {
    let source = plan(true);
    assert_eq!(source.rules[2].python.as_deref(), Some("regex"));
    assert_eq!(verdict(&source, br#"{"eventName":"Y"}"#), Verdict::Python);
}

#[test]
fn plugin_events_are_read_with_checks() {
    let mut raw = vec![0u8; 26];
    raw[20..22].copy_from_slice(&322u16.to_le_bytes());
    raw[22..26].copy_from_slice(&2u32.to_le_bytes());
    raw.extend_from_slice(&4u32.to_le_bytes());
    raw.extend_from_slice(&2u32.to_le_bytes());
    raw.extend_from_slice(&7u32.to_le_bytes());
    raw.extend_from_slice(b"{}");
    let (header, pid, payload) = plugin_event(&raw, 5).unwrap();
    assert_eq!((header.num, pid, payload), (5, 7, &b"{}"[..]));
    raw.truncate(raw.len() - 1); // the payload runs past the end
    assert!(plugin_event(&raw, 5).is_none());
    assert!(plugin_event(&raw[..20], 5).is_none());
}
