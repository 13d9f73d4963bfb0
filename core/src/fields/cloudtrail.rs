//! The 73 fields of the cloudtrail plugin (docs/cloudtrail-plugin.md §7.2), with the
//! semantics of `plugins/cloudtrail/fields.py`: the general string rule, JSON texts,
//! booleans as text, and the computed fields of [`super::compute`].

use std::borrow::Cow;

use super::compute;
use super::json;
use super::record::Record;
use super::FieldError;
use crate::value::Value;

/// One cloudtrail field, resolved from its name (and argument) once.
#[derive(Debug, Clone, PartialEq)]
pub enum Ct {
    /// `ct.name`: a bytes scan for `"eventName":` first, then the general rule
    Name(Box<NameScan>),
    /// the general string rule on a path
    Str(&'static [&'static str]),
    /// the value at a path as compact JSON text
    JsonText(&'static [&'static str]),
    /// `"true"` for JSON `true` at a top-level member, `"false"` for anything else
    BoolText(&'static str),
    ShortSrc,
    User,
    OriginalUser,
    AccountId,
    Info,
    /// `ct.request.documentname`: never a value (upstream quirk 1)
    Never,
    Resources,
    S3Uri,
    /// `s3.bytes` (both), `s3.bytes.in`, `s3.bytes.out`
    S3Bytes(&'static [&'static str]),
    /// `s3.cnt.get`/`put` (`Some(name)`) and `s3.cnt.other` (`None`)
    S3Count(Option<&'static str>),
    Ec2Name,
    Ec2ImageId,
    Ec2ImageIds(Option<usize>),
}

const STRINGS: &[(&str, &[&str])] = &[
    ("ct.id", &["eventID"]),
    ("ct.error", &["errorCode"]),
    ("ct.errormessage", &["errorMessage"]),
    ("ct.time", &["eventTime"]),
    ("ct.src", &["eventSource"]),
    ("ct.user.identitytype", &["userIdentity", "type"]),
    ("ct.user.principalid", &["userIdentity", "principalId"]),
    ("ct.user.arn", &["userIdentity", "arn"]),
    ("ct.region", &["awsRegion"]),
    ("ct.response.subnetid", &["responseElements", "subnetId"]),
    (
        "ct.response.reservationid",
        &["responseElements", "reservationId"],
    ),
    (
        "ct.request.availabilityzone",
        &["requestParameters", "availabilityZone"],
    ),
    ("ct.request.cluster", &["requestParameters", "cluster"]),
    (
        "ct.request.functionname",
        &["requestParameters", "functionName"],
    ),
    ("ct.request.groupname", &["requestParameters", "groupName"]),
    ("ct.request.host", &["requestParameters", "Host"]),
    ("ct.request.name", &["requestParameters", "name"]),
    ("ct.request.policy", &["requestParameters", "policy"]),
    ("ct.request.reason", &["requestParameters", "reason"]),
    ("ct.request.target", &["requestParameters", "target"]),
    (
        "ct.request.serialnumber",
        &["requestParameters", "serialNumber"],
    ),
    (
        "ct.request.servicename",
        &["requestParameters", "serviceName"],
    ),
    ("ct.request.subnetid", &["requestParameters", "subnetId"]),
    (
        "ct.request.taskdefinition",
        &["requestParameters", "taskDefinition"],
    ),
    ("ct.request.username", &["requestParameters", "userName"]),
    ("ct.srcip", &["sourceIPAddress"]),
    ("ct.useragent", &["userAgent"]),
    ("ct.requestid", &["requestID"]),
    ("ct.eventtype", &["eventType"]),
    ("ct.apiversion", &["apiVersion"]),
    ("ct.recipientaccountid", &["recipientAccountId"]),
    ("ct.serviceeventdetails", &["serviceEventDetails"]),
    ("ct.sharedeventid", &["sharedEventID"]),
    ("ct.vpcendpointid", &["vpcEndpointId"]),
    ("ct.eventcategory", &["eventCategory"]),
    ("ct.addendum.reason", &["addendum", "reason"]),
    ("ct.addendum.updatedfields", &["addendum", "updatedFields"]),
    (
        "ct.addendum.originalrequestid",
        &["addendum", "originalRequestID"],
    ),
    (
        "ct.addendum.originaleventid",
        &["addendum", "originalEventID"],
    ),
    ("ct.edgedevicedetails", &["edgeDeviceDetails"]),
    ("ct.tlsdetails.tlsversion", &["tlsDetails", "tlsVersion"]),
    ("ct.tlsdetails.ciphersuite", &["tlsDetails", "cipherSuite"]),
    (
        "ct.tlsdetails.clientprovidedhostheader",
        &["tlsDetails", "clientProvidedHostHeader"],
    ),
    ("s3.bucket", &["requestParameters", "bucketName"]),
    ("s3.key", &["requestParameters", "key"]),
    ("ecr.repository", &["requestParameters", "repositoryName"]),
    ("ecr.imagetag", &["requestParameters", "imageTag"]),
    ("iam.role", &["requestParameters", "roleName"]),
    ("iam.policy", &["requestParameters", "policyName"]),
];

const IN: &[&str] = &["bytesTransferredIn"];
const OUT: &[&str] = &["bytesTransferredOut"];
const BOTH: &[&str] = &["bytesTransferredIn", "bytesTransferredOut"];

/// The field `name` without its argument; `None` when it is not a cloudtrail field.
fn plain(name: &str) -> Option<Ct> {
    if let Some((_, path)) = STRINGS.iter().find(|(n, _)| *n == name) {
        return Some(Ct::Str(path));
    }
    Some(match name {
        "ct.name" => Ct::Name(Box::new(NameScan::new())),
        "ct.response" => Ct::JsonText(&["responseElements"]),
        "ct.request" => Ct::JsonText(&["requestParameters"]),
        "ct.additionaleventdata" => Ct::JsonText(&["additionalEventData"]),
        "ct.managementevent" => Ct::BoolText("managementEvent"),
        "ct.readonly" => Ct::BoolText("readOnly"),
        "ct.sessioncredentialfromconsole" => Ct::BoolText("sessionCredentialFromConsole"),
        "ct.shortsrc" => Ct::ShortSrc,
        "ct.user" => Ct::User,
        "ct.originaluser" => Ct::OriginalUser,
        "ct.user.accountid" => Ct::AccountId,
        "ct.info" => Ct::Info,
        "ct.request.documentname" => Ct::Never,
        "ct.resources" => Ct::Resources,
        "s3.uri" => Ct::S3Uri,
        "s3.bytes" => Ct::S3Bytes(BOTH),
        "s3.bytes.in" => Ct::S3Bytes(IN),
        "s3.bytes.out" => Ct::S3Bytes(OUT),
        "s3.cnt.get" => Ct::S3Count(Some("GetObject")),
        "s3.cnt.put" => Ct::S3Count(Some("PutObject")),
        "s3.cnt.other" => Ct::S3Count(None),
        "ec2.name" => Ct::Ec2Name,
        "ec2.imageid" => Ct::Ec2ImageId,
        "ec2.imageids" => Ct::Ec2ImageIds(None),
        _ => return None,
    })
}

/// The cloudtrail field `name[arg]`: `Ok(None)` when `name` is not one of them.
pub fn compile(name: &str, arg: Option<&str>) -> Result<Option<Ct>, FieldError> {
    let Some(field) = plain(name) else {
        return Ok(None);
    };
    match (field, arg) {
        (Ct::Ec2ImageIds(_), Some(arg)) => Ok(Some(Ct::Ec2ImageIds(Some(index_arg(name, arg)?)))),
        (field, None) => Ok(Some(field)),
        (_, Some(arg)) => Err(FieldError::Argument(format!(
            "filter {name} does not allow nor require an argument but one is provided: {arg}"
        ))),
    }
}

/// An index argument: decimal digits without a leading zero (`[01]` is refused).
fn index_arg(name: &str, arg: &str) -> Result<usize, FieldError> {
    let digits = !arg.is_empty() && arg.bytes().all(|b| b.is_ascii_digit());
    if !digits || (arg.len() > 1 && arg.starts_with('0')) {
        return Err(FieldError::Argument(format!(
            "filter {name}: invalid index argument '{arg}'"
        )));
    }
    // a number beyond usize is beyond every array: the same answers as its true value
    Ok(arg.parse().unwrap_or(usize::MAX))
}

impl Ct {
    /// The field's value for the event, or `None` (no value).
    pub fn extract<'a>(&self, rec: &mut Record<'a>) -> Option<Value<'a>> {
        let text = |s: Cow<'a, str>| Some(Value::Str(s));
        match self {
            Ct::Name(scan) => name(scan, rec).map(Value::Str),
            Ct::Str(path) => string_at(rec, path).map(Value::Str),
            Ct::JsonText(path) => json_text(rec, path).and_then(text),
            Ct::BoolText(key) => {
                let at = rec.top_member(key)?;
                let doc = rec.text()?;
                let yes = doc.as_bytes().get(at..at + 4) == Some(b"true");
                text(Cow::Borrowed(if yes { "true" } else { "false" }))
            }
            Ct::ShortSrc => compute::shortsrc(rec).map(Value::Str),
            Ct::User => compute::user(rec).map(Value::Str),
            Ct::OriginalUser => compute::original_user(rec).map(Value::Str),
            Ct::AccountId => {
                let at = rec.path(&["userIdentity", "accountId"]);
                let at = at.or_else(|| rec.top_member("recipientAccountId"))?;
                string_value(rec, at).map(Value::Str)
            }
            Ct::Info => compute::info(rec).map(|s| Value::Str(Cow::Owned(s))),
            Ct::Never => None,
            Ct::Resources => resources(rec).and_then(text),
            Ct::S3Uri => compute::s3_uri(rec).map(|s| Value::Str(Cow::Owned(s))),
            Ct::S3Bytes(keys) => compute::s3_bytes(rec, keys).map(Value::U64),
            Ct::S3Count(wanted) => compute::s3_count(rec, *wanted).map(Value::U64),
            Ct::Ec2Name => compute::ec2_name(rec).map(Value::Str),
            Ct::Ec2ImageId => {
                let ids = compute::ec2_imageids(rec, Some(0))?;
                ids.into_iter().next().map(Value::Str)
            }
            Ct::Ec2ImageIds(index) => {
                let ids = compute::ec2_imageids(rec, *index)?;
                Some(Value::List(ids.into_iter().map(Value::Str).collect()))
            }
        }
    }
}

/// The general string rule at `path`: absent stays absent, a string is its decoded
/// text, anything else (number, boolean, `null`, object, array) is `""`.
pub fn string_at<'a>(rec: &mut Record<'a>, path: &[&str]) -> Option<Cow<'a, str>> {
    let at = rec.path(path)?;
    string_value(rec, at)
}

/// The general string rule for the value at `at` (`None` when the payload is not JSON).
pub fn string_value<'a>(rec: &mut Record<'a>, at: usize) -> Option<Cow<'a, str>> {
    let doc = rec.text()?;
    Some(string_of(doc, at).unwrap_or(Cow::Borrowed("")))
}

/// The decoded text of the string value at `at` of a valid document, `None` when the
/// value there is not a string.
pub fn string_of(doc: &str, at: usize) -> Option<Cow<'_, str>> {
    let bytes = doc.as_bytes();
    if bytes.get(at) != Some(&b'"') {
        return None;
    }
    let (end, escaped) = json::string_span(bytes, at);
    let inner = doc.get(at + 1..end.checked_sub(1)?.max(at + 1))?;
    if !escaped {
        return Some(Cow::Borrowed(inner));
    }
    json::decode_string(inner.as_bytes()).map(|text| Cow::Owned(text.into_owned()))
}

/// The value at `path` as compact JSON text (strings keep their quotes and escapes).
fn json_text<'a>(rec: &mut Record<'a>, path: &[&str]) -> Option<Cow<'a, str>> {
    let at = rec.path(path)?;
    let doc = rec.text()?;
    let end = json::value_end(doc.as_bytes(), at);
    Some(json::compact(doc.get(at..end)?))
}

/// `ct.resources`: a non-empty array's compact text without its brackets.
fn resources<'a>(rec: &mut Record<'a>) -> Option<Cow<'a, str>> {
    let at = rec.top_member("resources")?;
    let doc = rec.text()?;
    let bytes = doc.as_bytes();
    if bytes.get(at) != Some(&b'[') || bytes.get(json::skip_ws(bytes, at + 1)) == Some(&b']') {
        return None;
    }
    let end = json::value_end(bytes, at);
    match json::compact(doc.get(at..end)?) {
        Cow::Borrowed(s) => s.get(1..s.len() - 1).map(Cow::Borrowed),
        Cow::Owned(s) => s.get(1..s.len() - 1).map(|s| Cow::Owned(s.to_owned())),
    }
}

/// The searcher of `ct.name`'s scan, built once with the field.
#[derive(Debug, Clone)]
pub struct NameScan(memchr::memmem::Finder<'static>);

impl NameScan {
    fn new() -> NameScan {
        NameScan(memchr::memmem::Finder::new(b"\"eventName\""))
    }
}

impl PartialEq for NameScan {
    fn eq(&self, _: &NameScan) -> bool {
        true // always built from the same needle
    }
}

/// `ct.name`: the Python path's fast scan (a first `"eventName"` that is followed by a
/// colon and a string without escapes, when no other `"eventName"` begins after that
/// string) gives the value without checking the document; otherwise the general
/// string rule. One pass over the payload finds every `"eventName"`.
fn name<'a>(scan: &NameScan, rec: &mut Record<'a>) -> Option<Cow<'a, str>> {
    let payload = rec.payload();
    let mut found = scan.0.find_iter(payload);
    // the first `"eventName"`, which must be the key
    let key = found
        .next()
        .filter(|&at| payload.get(at + 11) == Some(&b':'));
    let value = key.and_then(|at| {
        let start = at + 13; // past `"eventName":"`
        if payload.get(at + 12) != Some(&b'"') {
            return None;
        }
        let rest = payload.get(start..)?;
        let p = memchr::memchr2(b'"', b'\\', rest)?;
        (rest[p] == b'"').then_some((start, start + p))
    });
    if let Some((start, end)) = value {
        // no `"eventName"` may begin after the value's closing quote
        if found.all(|at| at <= end) {
            if let Ok(text) = std::str::from_utf8(&payload[start..end]) {
                return Some(Cow::Borrowed(text));
            }
        }
    }
    string_at(rec, &["eventName"])
}
