//! Unit tests of the JSON access and of a few fields.

use std::cell::Cell;

use super::json;
use super::{compile, Header, Origin, Record};
use crate::value::Value;

fn with_record<T>(payload: &[u8], f: impl FnOnce(&mut Record<'_>) -> T) -> T {
    let first = Cell::new(None);
    let origin = Origin {
        source: "aws_cloudtrail",
        plugin: Some("cloudtrail"),
        hostname: "h",
        first_ts: &first,
    };
    let mut rec = Record::new(
        payload,
        Header {
            ts: 1_600_000_000_123_456_789,
            num: 7,
        },
        &origin,
    );
    f(&mut rec)
}

fn field(name: &str, arg: Option<&str>, payload: &[u8]) -> Option<Value<'static>> {
    let f = compile(name, arg).unwrap();
    with_record(payload, |rec| f.extract(rec).map(owned))
}

fn owned(v: Value<'_>) -> Value<'static> {
    match v {
        Value::Str(s) => Value::Str(s.into_owned().into()),
        Value::List(items) => Value::List(items.into_iter().map(owned).collect()),
        Value::U64(n) => Value::U64(n),
        Value::I64(n) => Value::I64(n),
        Value::Bool(b) => Value::Bool(b),
    }
}

fn s(text: &str) -> Option<Value<'static>> {
    Some(Value::Str(text.to_owned().into()))
}

#[test]
fn valid_follows_orjson() {
    for ok in [
        &b"{}"[..],
        b" [1, -0, 2.5e-400, \"\\ud83d\\ude00\"] ",
        b"null",
        b"{\"a\":{\"b\":[true,false,null]}}",
    ] {
        assert!(json::valid(ok).is_some(), "{}", String::from_utf8_lossy(ok));
    }
    let bad: [&[u8]; 14] = [
        b"",
        b"{",
        b"[1,]",
        b"{\"a\":1,}",
        b"01",
        b"1.",
        b"1e400",
        b"\"\\ud800\"",
        b"\"\\udc00\"",
        b"\"a\tb\"",
        b"{}x",
        b"\xef\xbb\xbf{}",
        b"\"\xff\"",
        b"{\"a\" 1}",
    ];
    for doc in bad {
        assert!(
            json::valid(doc).is_none(),
            "{}",
            String::from_utf8_lossy(doc)
        );
    }
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(json::valid(deep.as_bytes()).is_some());
}

#[test]
fn member_takes_the_first_of_duplicates() {
    let doc = br#"{"a":1,"b":{"c":"x"},"a":2,"\u0064":3}"#;
    let at = json::member(doc, 0, "a").unwrap();
    assert_eq!(&doc[at..at + 1], b"1");
    let at = json::member(doc, 0, "d").unwrap();
    assert_eq!(&doc[at..at + 1], b"3");
    assert_eq!(json::member(doc, 0, "c"), None);
    assert_eq!(
        field("ct.id", None, br#"{"eventID":"one","eventID":"two"}"#),
        s("one")
    );
}

#[test]
fn the_index_and_the_scans_agree() {
    // nested duplicates, an escaped nested key, and tables too small for the members
    let mut doc = String::from(r#"{"requestParameters":{"a":1,"a":2,"\u0062":"B","c":{"d":"D"}}"#);
    for i in 0..40 {
        doc.push_str(&format!(r#","k{i}":{{"x":{i}}}"#));
    }
    doc.push_str(r#","big":{"#);
    for i in 0..70 {
        doc.push_str(&format!(r#""m{i}":{i},"#));
    }
    doc.push_str(r#""last":"L"},"eventName":"E"}"#);
    let doc = doc.as_bytes();
    assert_eq!(
        field("json.value", Some("/requestParameters/a"), doc),
        s("1")
    );
    assert_eq!(
        field("json.value", Some("/requestParameters/b"), doc),
        s("B")
    );
    assert_eq!(
        field("json.value", Some("/requestParameters/c/d"), doc),
        s("D")
    );
    assert_eq!(field("json.value", Some("/k3/x"), doc), s("3"));
    assert_eq!(field("json.value", Some("/k39/x"), doc), s("39"));
    assert_eq!(field("json.value", Some("/big/m69"), doc), s("69"));
    assert_eq!(field("json.value", Some("/big/last"), doc), s("L"));
    assert_eq!(field("json.value", Some("/big/nothere"), doc), None);
    assert_eq!(field("ct.name", None, doc), s("E"));
    with_record(doc, |rec| {
        let at = rec.top_member("big").unwrap();
        for key in ["m0", "m33", "last", "none"] {
            assert_eq!(rec.member_of(at, key), json::member(doc, at, key), "{key}");
        }
    });
}

#[test]
fn strings_decode_and_other_values_give_empty_text() {
    let doc =
        br#"{"errorCode":"caf\u00e9\n","errorMessage":null,"awsRegion":5,"eventSource":{"x":1}}"#;
    assert_eq!(field("ct.error", None, doc), s("caf\u{e9}\n"));
    assert_eq!(field("ct.errormessage", None, doc), s(""));
    assert_eq!(field("ct.region", None, doc), s(""));
    assert_eq!(field("ct.src", None, doc), s(""));
    assert_eq!(field("ct.id", None, doc), None);
    assert_eq!(field("ct.error", None, br#"{"errorCode":"x""#), None); // not JSON
}

#[test]
fn json_texts_and_numbers() {
    let doc = br#"{ "requestParameters" : { "a" : [1, 2.50, "x y"] }, "additionalEventData": {"bytesTransferredIn": -5.5, "bytesTransferredOut": 1e19}, "resources":[{"ARN":"a"}, 7]}"#;
    assert_eq!(field("ct.request", None, doc), s(r#"{"a":[1,2.50,"x y"]}"#));
    assert_eq!(field("ct.resources", None, doc), s(r#"{"ARN":"a"},7"#));
    assert_eq!(
        field("s3.bytes.in", None, doc),
        Some(Value::U64(5u64.wrapping_neg()))
    );
    assert_eq!(
        field("s3.bytes", None, doc),
        Some(Value::U64(10_000_000_000_000_000_000u64.wrapping_sub(5)))
    );
    assert_eq!(json::number_u64("18446744073709551616"), 0);
    assert_eq!(json::number_u64("-1"), u64::MAX);
    assert_eq!(
        json::number_u64("1e30"),
        (1e30f64 as u128 % (1u128 << 64)) as u64
    );
}

#[test]
fn ct_name_fast_scan_and_fallback() {
    // the scan does not check the document (as the Python fast path)
    assert_eq!(field("ct.name", None, br#"{"eventName":"Get"#), None);
    assert_eq!(
        field("ct.name", None, br#"{"x":{"eventName":"Deep"}"#),
        s("Deep")
    );
    // an escape, or a second occurrence, goes to the general rule
    assert_eq!(
        field("ct.name", None, br#"{"eventName":"A\u0042"}"#),
        s("AB")
    );
    assert_eq!(
        field(
            "ct.name",
            None,
            br#"{"eventName":"A","x":{"eventName":"B"}}"#
        ),
        s("A")
    );
    // an "eventName" before the first `"eventName":` also sends it to the general rule
    assert_eq!(
        field("ct.name", None, br#"{"eventName" :"A","eventName":"B"}"#),
        s("A")
    );
    assert_eq!(
        field("ct.name", None, br#"{"x":1}"eventName":"eventName":"#),
        s("eventName")
    );
}

#[test]
fn users_info_and_plugininfo() {
    let doc = br#"{"eventSource":"s3.amazonaws.com","awsRegion":"us-east-1","eventName":"GetObject","readOnly":true,"sourceIPAddress":"1.2.3.4","userIdentity":{"type":"IAMUser","userName":"alice"},"requestParameters":{"bucketName":"b","key":"k"},"additionalEventData":{"bytesTransferredOut":1024}}"#;
    assert_eq!(field("ct.user", None, doc), s("alice"));
    assert_eq!(
        field("ct.info", None, doc),
        s("alice via 1.2.3.4 \u{2190} GetObject Size=1024 URI=s3://b/k")
    );
    assert_eq!(
        field("evt.plugininfo", None, doc),
        s("us-east-1 alice s3 GetObject alice via 1.2.3.4 \u{2190} GetObject Size=1024 URI=s3://b/k")
    );
    let role =
        br#"{"userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/r/sess"}}"#;
    assert_eq!(field("ct.user", None, role), s("AssumedRole"));
    assert_eq!(field("ct.originaluser", None, role), s("sess"));
    assert_eq!(
        field("ct.info", None, b"[1]"),
        s("<invalid cloudtrail event: userIdentity field missing>")
    );
    assert_eq!(field("ct.info", None, b"null"), None);
}

#[test]
fn ec2_and_json_plugin() {
    let doc = br#"{"responseElements":{"instancesSet":{"items":[{"imageId":"ami-1"},{"imageId":""},{"imageId":"ami-2"}]}}}"#;
    let ids = Some(Value::List(vec![
        Value::Str("ami-1".into()),
        Value::Str("ami-2".into()),
    ]));
    assert_eq!(field("ec2.imageids", None, doc), ids);
    assert_eq!(
        field("ec2.imageids", Some("1"), doc),
        Some(Value::List(vec![Value::Str("".into())]))
    );
    assert_eq!(field("ec2.imageid", None, doc), s("ami-1"));
    assert!(compile("ec2.imageids", Some("01")).is_err());
    let doc = br#"{"a/b":{"m~n":7},"t":[1,2.50,"x"],"e":null}"#;
    assert_eq!(field("json.value", Some("/a~1b/m~0n"), doc), s("7"));
    assert_eq!(field("jevt.value", Some("t/1"), doc), s("2.50"));
    assert_eq!(field("json.value", Some("/t/-0"), doc), s("1"));
    assert_eq!(field("json.value", Some("/e"), doc), s("null"));
    assert_eq!(field("json.value", Some("/t/3"), doc), None);
    assert_eq!(
        field("json.obj", None, br#"{"a":1,"b":[true,{}]}"#),
        s("{\n  \"a\": 1,\n  \"b\": [\n    true,\n    {}\n  ]\n}")
    );
    assert_eq!(field("json.rawtime", None, b" {}"), None);
    assert_eq!(field("json.rawtime", None, b"{}"), s("1600000000123456789"));
}

#[test]
fn deep_documents_neither_recurse_nor_blow_up() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert_eq!(
        field("json.value", Some("/0/0"), deep.as_bytes()).map(|v| matches!(v, Value::Str(_))),
        Some(true)
    );
    // the indented text would grow with the square of the depth: no value past the limit
    assert_eq!(field("json.obj", None, deep.as_bytes()), None);
    let shallow = format!("{}{}", "[".repeat(50), "]".repeat(50));
    let Some(Value::Str(text)) = field("json.obj", None, shallow.as_bytes()) else {
        panic!()
    };
    assert!(text.len() < json::indent_limit(shallow.len()) && text.ends_with(']'));
}

#[test]
fn generic_fields() {
    assert_eq!(field("evt.num", None, b""), Some(Value::U64(7)));
    assert_eq!(
        field("evt.time.iso8601", None, b""),
        s("2020-09-13T12:26:40.123456789+0000")
    );
    assert_eq!(
        field("evt.rawtime.ns", None, b""),
        Some(Value::U64(123_456_789))
    );
    assert_eq!(field("evt.reltime", None, b""), Some(Value::U64(0)));
    assert_eq!(field("evt.source", None, b""), s("aws_cloudtrail"));
    assert_eq!(
        field("evt.plugininfo", None, b"x"),
        s("<invalid JSON: event did not contain a source>")
    );
    assert!(matches!(
        compile("proc.name", None),
        Err(super::FieldError::Unknown(_))
    ));
}
