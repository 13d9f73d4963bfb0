//! The computed cloudtrail fields (docs/cloudtrail-plugin.md §5, §7.3-7.5), as
//! `plugins/cloudtrail/compute.py` computes them: users, `ct.info`,
//! `evt.plugininfo`, the S3 and EC2 fields.
//!
//! Each function first asks for the checked document ([`Record::text`]): a payload
//! that is not JSON gives no value. Positions are offsets in that document.

use std::borrow::Cow;

use super::cloudtrail::string_of;
use super::json;
use super::record::Record;

const SUFFIX: &str = ".amazonaws.com";

/// The general string rule for a value that may be missing: missing stays `None`, a
/// string is its text, anything else `""`.
fn as_string(doc: &str, at: Option<usize>) -> Option<Cow<'_, str>> {
    at.map(|at| string_of(doc, at).unwrap_or(Cow::Borrowed("")))
}

/// The member `key` of the value at `at` when that value is an object.
fn member(rec: &Record<'_>, at: usize, key: &str) -> Option<usize> {
    rec.member_of(at, key)
}

/// The value at `keys` below the value at `at`, through objects only.
fn below(rec: &Record<'_>, at: usize, keys: &[&str]) -> Option<usize> {
    keys.iter().try_fold(at, |at, key| rec.member_of(at, key))
}

/// The start of every element of the array at `at` (nothing when it is not an array).
fn elements(doc: &str, at: usize) -> Vec<usize> {
    let bytes = doc.as_bytes();
    let mut out = Vec::new();
    if bytes.get(at) != Some(&b'[') {
        return out;
    }
    let mut i = json::skip_ws(bytes, at + 1);
    if matches!(bytes.get(i), None | Some(b']')) {
        return out;
    }
    loop {
        out.push(i);
        i = json::skip_ws(bytes, json::value_end(bytes, i));
        if bytes.get(i) != Some(&b',') {
            return out;
        }
        i = json::skip_ws(bytes, i + 1);
    }
}

/// Whether the value at `at` is a string whose text is `want`.
fn string_is(doc: &str, at: Option<usize>, want: &str) -> bool {
    at.and_then(|at| string_of(doc, at))
        .is_some_and(|s| s == want)
}

/// `ct.user` and, when it is absent, upstream's text for `evt.plugininfo` (§5, §7.3).
pub fn user_and_fallback<'a>(
    rec: &mut Record<'a>,
    doc: &'a str,
) -> (Option<Cow<'a, str>>, &'static str) {
    let Some(ident) = rec
        .top_member("userIdentity")
        .filter(|&at| doc.as_bytes().get(at) == Some(&b'{'))
    else {
        return (None, "");
    };
    let Some(kind) = member(rec, ident, "type").and_then(|at| string_of(doc, at)) else {
        return (None, "");
    };
    let named = |key| match member(rec, ident, key) {
        None => (None, "<NA>"),
        at => (as_string(doc, at), ""),
    };
    match kind.as_ref() {
        "Root" | "IAMUser" => named("userName"),
        "AWSService" => named("invokedBy"),
        "AssumedRole" => {
            match below(rec, ident, &["sessionContext", "sessionIssuer", "userName"]) {
                None => (Some(Cow::Borrowed("AssumedRole")), ""),
                at => (as_string(doc, at), ""),
            }
        }
        "AWSAccount" => (Some(Cow::Borrowed("AWSAccount")), ""),
        "FederatedUser" => (Some(Cow::Borrowed("FederatedUser")), ""),
        _ => (None, "<unknown user type>"),
    }
}

/// `ct.user` (§7.3).
pub fn user<'a>(rec: &mut Record<'a>) -> Option<Cow<'a, str>> {
    let doc = rec.text()?;
    user_and_fallback(rec, doc).0
}

/// Piece `index` of `text` cut at every `sep`, when there are exactly `count` pieces.
fn piece<'a>(text: Cow<'a, str>, sep: char, count: usize, index: usize) -> Option<Cow<'a, str>> {
    if text.split(sep).count() != count {
        return None;
    }
    match text {
        Cow::Borrowed(s) => s.split(sep).nth(index).map(Cow::Borrowed),
        Cow::Owned(s) => s.split(sep).nth(index).map(|p| Cow::Owned(p.to_owned())),
    }
}

/// `ct.originaluser` (§7.3): the assumed-role session name, else `userIdentity.userName`.
pub fn original_user<'a>(rec: &mut Record<'a>) -> Option<Cow<'a, str>> {
    let doc = rec.text()?;
    let ident = rec.top_member("userIdentity")?;
    if !string_is(doc, member(rec, ident, "type"), "AssumedRole") {
        return as_string(doc, member(rec, ident, "userName"));
    }
    if let Some(arn) = as_string(doc, member(rec, ident, "arn")) {
        if let Some(session) = piece(arn, '/', 3, 2) {
            return Some(session);
        }
    }
    let principal = as_string(doc, member(rec, ident, "principalId"))?;
    piece(principal, ':', 2, 1)
}

/// `ct.shortsrc`: `eventSource` without a trailing `.amazonaws.com`.
pub fn shortsrc<'a>(rec: &mut Record<'a>) -> Option<Cow<'a, str>> {
    let at = rec.top_member("eventSource")?;
    let doc = rec.text()?;
    Some(short(as_string(doc, Some(at))?))
}

fn short(src: Cow<'_, str>) -> Cow<'_, str> {
    if src.len() <= SUFFIX.len() || !src.ends_with(SUFFIX) {
        return src;
    }
    let keep = src.len() - SUFFIX.len();
    match src {
        Cow::Borrowed(s) => Cow::Borrowed(&s[..keep]),
        Cow::Owned(mut s) => {
            s.truncate(keep);
            Cow::Owned(s)
        }
    }
}

/// `s3.uri`: `s3://bucket/key` when both members are strings.
pub fn s3_uri(rec: &mut Record<'_>) -> Option<String> {
    let doc = rec.text()?;
    let params = rec.top_member("requestParameters")?;
    let bucket = string_of(doc, member(rec, params, "bucketName")?)?;
    let key = string_of(doc, member(rec, params, "key")?)?;
    Some(format!("s3://{bucket}/{key}"))
}

/// The sum of the `keys` of `additionalEventData` that exist, each read as upstream
/// reads numbers (anything else counts 0); `None` when none exists.
pub fn s3_bytes(rec: &mut Record<'_>, keys: &[&str]) -> Option<u64> {
    let data = rec.top_member("additionalEventData")?;
    let doc = rec.text()?;
    let mut total: Option<u64> = None;
    for key in keys {
        if let Some(at) = member(rec, data, key) {
            total = Some(total.unwrap_or(0).wrapping_add(number_at(doc, at)));
        }
    }
    total
}

/// The number at `at` as [`json::number_u64`] reads it; 0 for any other value.
fn number_at(doc: &str, at: usize) -> u64 {
    let bytes = doc.as_bytes();
    if !matches!(bytes.get(at), Some(b'-' | b'0'..=b'9')) {
        return 0;
    }
    let len = bytes[at..]
        .iter()
        .take_while(|b| matches!(b, b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'))
        .count();
    doc.get(at..at + len).map_or(0, json::number_u64)
}

/// `s3.cnt.get`/`put` (1 for that `eventName`, else absent) and `s3.cnt.other`
/// (`wanted` `None`: absent for those two names, else 1).
pub fn s3_count(rec: &mut Record<'_>, wanted: Option<&str>) -> Option<u64> {
    let doc = rec.text()?;
    let name = rec
        .top_member("eventName")
        .and_then(|at| string_of(doc, at));
    let name = name.as_deref();
    match wanted {
        None => (!matches!(name, Some("GetObject" | "PutObject"))).then_some(1),
        Some(want) => (name == Some(want)).then_some(1),
    }
}

/// `ec2.name`: the `Name` tag of the last `instance` item of `tagSpecificationSet`
/// that has one; absent when empty.
pub fn ec2_name<'a>(rec: &mut Record<'a>) -> Option<Cow<'a, str>> {
    let doc = rec.text()?;
    let params = rec.top_member("requestParameters")?;
    let items = below(rec, params, &["tagSpecificationSet", "items"])?;
    if doc.as_bytes().get(items) != Some(&b'[') {
        return None;
    }
    let mut name = Cow::Borrowed("");
    for item in elements(doc, items) {
        if !string_is(doc, member(rec, item, "resourceType"), "instance") {
            continue;
        }
        let tags = member(rec, item, "tags").map_or_else(Vec::new, |at| elements(doc, at));
        if let Some(tag) = tags
            .into_iter()
            .find(|&tag| string_is(doc, member(rec, tag, "key"), "Name"))
        {
            name = as_string(doc, member(rec, tag, "value")).unwrap_or(Cow::Borrowed(""));
        }
    }
    (!name.is_empty()).then_some(name)
}

const IMAGE_FALLBACKS: [&[&str]; 3] = [
    &["imageId"],
    &["DescribeFastLaunchImagesRequest", "ImageId", "content"],
    &["launchSpecification", "imageId"],
];

/// `ec2.imageids[index]` (§7.5): the list, or `None` when absent.
pub fn ec2_imageids<'a>(rec: &mut Record<'a>, index: Option<usize>) -> Option<Vec<Cow<'a, str>>> {
    let doc = rec.text()?;
    let response = rec.top_member("responseElements");
    if let Some(items) = response.and_then(|at| below(rec, at, &["instancesSet", "items"])) {
        let Some(index) = index else {
            let ids: Vec<_> = elements(doc, items)
                .into_iter()
                .filter_map(|item| string_of(doc, member(rec, item, "imageId")?))
                .filter(|id| !id.is_empty())
                .collect();
            return (!ids.is_empty()).then_some(ids);
        };
        if doc.as_bytes().get(items) != Some(&b'[') {
            return None;
        }
        let item = json::element(doc.as_bytes(), items, index)?;
        return as_string(doc, Some(member(rec, item, "imageId")?)).map(|id| vec![id]);
    }
    if index.is_some_and(|i| i != 0) {
        return None;
    }
    let params = rec.top_member("requestParameters")?;
    let found = IMAGE_FALLBACKS
        .iter()
        .find_map(|path| below(rec, params, path))?;
    as_string(doc, Some(found)).map(|id| vec![id])
}

/// `ct.info` (§7.4): always a value for a JSON payload.
pub fn info(rec: &mut Record<'_>) -> Option<String> {
    let doc = rec.text()?;
    Some(info_text(rec, doc))
}

fn info_text<'a>(rec: &mut Record<'a>, doc: &'a str) -> String {
    let Some(user) = user_and_fallback(rec, doc).0 else {
        return "<invalid cloudtrail event: userIdentity field missing>".into();
    };
    let Some(srcip) = as_string(doc, rec.top_member("sourceIPAddress")) else {
        return "<invalid cloudtrail event: eventSource field missing>".into();
    };
    let err = if rec.top_member("errorCode").is_some() {
        "!"
    } else {
        ""
    };
    let readonly = rec.top_member("readOnly");
    let writes = readonly.is_some_and(|at| doc.as_bytes().get(at..at + 4) != Some(b"true"));
    let rw = if writes { "\u{2192}" } else { "\u{2190}" };
    let Some(name) = as_string(doc, rec.top_member("eventName")) else {
        return "<invalid cloudtrail event: eventName field missing>".into();
    };
    let mut text = if user == srcip {
        format!("{user} {err}{rw} {name}")
    } else {
        format!("{user} via {srcip} {err}{rw} {name}")
    };
    let params = rec.top_member("requestParameters");
    if name == "PutBucketPublicAccessBlock" {
        let config = params.and_then(|at| member(rec, at, "PublicAccessBlockConfiguration"));
        if config.is_some_and(|at| doc.as_bytes().get(at) == Some(&b'{')) {
            // upstream reads the flags at the record's top level [quirk 5]
            for key in [
                "BlockPublicAcls",
                "BlockPublicPolicy",
                "IgnorePublicAcls",
                "RestrictPublicBuckets",
            ] {
                let yes = rec
                    .top_member(key)
                    .is_some_and(|at| doc.as_bytes().get(at..at + 4) == Some(b"true"));
                text.push_str(&format!(" {key}={yes}"));
            }
            text.push(' ');
        }
        return text;
    }
    if let Some(size) = s3_bytes(rec, &["bytesTransferredIn", "bytesTransferredOut"]) {
        text.push_str(&format!(" Size={size}"));
    }
    let uri = s3_uri(rec);
    let param = |key| as_string(doc, params.and_then(|at| member(rec, at, key)));
    let found = uri.map(|uri| ("URI", Cow::Owned(uri)));
    let found = found.or_else(|| param("bucketName").map(|v| ("Bucket", v)));
    let found = found.or_else(|| param("key").map(|v| ("Key", v)));
    let found = found.or_else(|| param("Host").map(|v| ("Host", v)));
    if let Some((label, value)) = found {
        text.push_str(&format!(" {label}={value}"));
    }
    text
}

/// `evt.plugininfo` of a cloudtrail event (§5): `<region><userpart> <shortsrc> <name>
/// <info>`, or upstream's message naming the first member that is not a string.
pub fn plugininfo(rec: &mut Record<'_>) -> String {
    const NO_SOURCE: &str = "<invalid JSON: event did not contain a source>";
    let Some(doc) = rec.text() else {
        return NO_SOURCE.into();
    };
    if doc.as_bytes().get(json::skip_ws(doc.as_bytes(), 0)) != Some(&b'{') {
        return NO_SOURCE.into();
    }
    let mut top = |key| rec.top_member(key).and_then(|at| string_of(doc, at));
    let (Some(source), region, name) = (top("eventSource"), top("awsRegion"), top("eventName"))
    else {
        return NO_SOURCE.into();
    };
    let Some(region) = region else {
        return "<invalid JSON: event did not contain an awsRegion>".into();
    };
    let Some(name) = name else {
        return "<invalid JSON: event did not contain an eventName>".into();
    };
    let userpart = match user_and_fallback(rec, doc) {
        (Some(user), _) if user.is_empty() => String::new(),
        (Some(user), _) => format!(" {user}"),
        (None, fallback) => fallback.to_owned(),
    };
    let info = info_text(rec, doc);
    format!("{region}{userpart} {} {name} {info}", short(source))
}
