//! Containers (`scaptools/state/containers.py`): what `container` events say (ids 228,
//! 272, 324; docs/format.md §10.3), by 12-character container id, and a thread's
//! container: the first 64-hex id its cgroups name (`/docker/<id>`,
//! `cri-containerd-<id>.scope`, ...), or `host`.

use std::borrow::Cow;

use serde_json::{Map, Value as Json};

use super::params::{Params, Value};
use super::{State, Thread};

/// The container fields' keys (`containers.container_value`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerKey {
    Id,
    Name,
    Image,
    ImageId,
    Repository,
    Tag,
    Digest,
    Type,
    Privileged,
}

impl ContainerKey {
    /// The key of a name as `container_value` takes it (`id`, `image_id`, ...).
    pub fn of(key: &str) -> Option<ContainerKey> {
        use ContainerKey::*;
        Some(match key {
            "id" => Id,
            "name" => Name,
            "image" => Image,
            "image_id" => ImageId,
            "repository" => Repository,
            "tag" => Tag,
            "digest" => Digest,
            "type" => Type,
            "privileged" => Privileged,
            _ => return None,
        })
    }

    /// The member of the event's JSON that holds it.
    fn member(self) -> &'static str {
        use ContainerKey::*;
        match self {
            Id => "id",
            Name => "name",
            Image => "image",
            ImageId => "imageid",
            Repository => "imagerepo",
            Tag => "imagetag",
            Digest => "imagedigest",
            Type => "type",
            Privileged => "privileged",
        }
    }
}

/// One container field's value.
#[derive(Debug, Clone, PartialEq)]
pub enum ContainerValue<'a> {
    /// the id, `host`, the name of a type number, the repository cut from the image
    Text(Cow<'a, str>),
    /// a member of the event's JSON as it stands (never `null`): a string mostly, but
    /// whatever the event put there (`privileged` is a bool)
    Json(&'a Json),
}

/// `CONTAINER_TYPES`: the name of a container type number.
fn type_name(value: i128) -> Option<&'static str> {
    const NAMES: [&str; 13] = [
        "docker",
        "lxc",
        "libvirt-lxc",
        "mesos",
        "rkt",
        "custom",
        "rkt",
        "cri",
        "containerd",
        "cri-o",
        "bpm",
        "static",
        "podman",
    ];
    usize::try_from(value)
        .ok()
        .and_then(|i| NAMES.get(i).copied())
}

/// Python's truth of a JSON value.
fn truthy(value: &Json) -> bool {
    match value {
        Json::Null => false,
        Json::Bool(b) => *b,
        Json::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Json::String(s) => !s.is_empty(),
        Json::Array(a) => !a.is_empty(),
        Json::Object(o) => !o.is_empty(),
    }
}

/// The integer of a JSON value as Python sees one (`isinstance(v, int)`: bools too).
fn json_int(value: &Json) -> Option<i128> {
    match value {
        Json::Bool(b) => Some(i128::from(*b)),
        Json::Number(n) => n
            .as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from)),
        _ => None,
    }
}

fn param_json(value: Option<&Value>) -> Json {
    match value {
        Some(Value::Text(s)) => Json::String(s.clone()),
        Some(Value::Int(v)) => i64::try_from(*v).map_or(Json::Null, Json::from),
        _ => Json::Null,
    }
}

/// The container id a cgroup path names (`_CGROUP_ID`): 64 hex digits after the start,
/// a `/` or a `-`, followed by the end, a `/`, or `.scope` and then one of those.
fn cgroup_id(path: &str) -> Option<&str> {
    let bytes = path.as_bytes();
    let hex = |b: &u8| b.is_ascii_digit() || (b'a'..=b'f').contains(b);
    let ends = |rest: &[u8]| matches!(rest, [] | [b'\n'] | [b'/', ..]);
    (0..bytes.len().saturating_sub(63)).find_map(|at| {
        if at > 0 && !matches!(bytes[at - 1], b'/' | b'-') {
            return None;
        }
        if !bytes[at..at + 64].iter().all(hex) {
            return None;
        }
        let rest = &bytes[at + 64..];
        let ok = ends(rest) || rest.strip_prefix(b".scope").is_some_and(ends);
        ok.then(|| &path[at..at + 64])
    })
}

/// The 12-character container id of a thread, or `host`; found on first use and kept
/// with the thread (`container_id`).
pub fn container_id(thread: &Thread) -> &str {
    thread.container.get_or_init(|| {
        thread
            .cgroups
            .iter()
            .find_map(|item| cgroup_id(item.split_once('=').map_or("", |(_, path)| path)))
            .map_or_else(|| "host".to_string(), |id| id[..12].to_string())
    })
}

impl State {
    /// Keep what a container event says (`on_container`); `Err` where the Python parser
    /// fails (a `container` member that is true but not an object).
    pub(super) fn on_container(&mut self, p: &Params) -> Result<(), String> {
        let info = if p.has("json") {
            let text = p.text("json").filter(|t| !t.is_empty()).unwrap_or("{}");
            let Ok(Json::Object(mut doc)) = serde_json::from_str::<Json>(text) else {
                return Ok(()); // not JSON, or not an object
            };
            match doc.remove("container") {
                Some(Json::Object(info)) => info,
                Some(value) if truthy(&value) => {
                    return Err("the container event's `container` is not an object".into())
                }
                _ => Map::new(),
            }
        } else {
            // the oldest event: id, type, name, image
            ["id", "type", "name", "image"]
                .into_iter()
                .map(|key| (key.to_string(), param_json(p.get(key))))
                .collect()
        };
        if let Some(Json::String(cid)) = info.get("id").filter(|v| truthy(v)) {
            let key: String = cid.chars().take(12).collect();
            self.containers.insert(key, Json::Object(info));
        }
        Ok(())
    }

    /// What the container events said, by 12-character id.
    pub fn containers(&self) -> impl Iterator<Item = (&str, &Json)> {
        self.containers.iter().map(|(id, info)| (id.as_str(), info))
    }

    /// One field of the thread's container (`container_value`; `None`: no value).
    pub fn container_value<'a>(
        &'a self,
        thread: &'a Thread,
        key: ContainerKey,
    ) -> Option<ContainerValue<'a>> {
        let cid = container_id(thread);
        if key == ContainerKey::Id {
            return Some(ContainerValue::Text(Cow::Borrowed(cid)));
        }
        if cid == "host" {
            let host = ContainerValue::Text(Cow::Borrowed("host"));
            return (key == ContainerKey::Name).then_some(host);
        }
        let info = self.containers.get(cid)?;
        let value = info.get(key.member()).filter(|v| !v.is_null());
        match key {
            ContainerKey::Type => match value.and_then(json_int) {
                Some(n) => Some(ContainerValue::Text(match type_name(n) {
                    Some(name) => Cow::Borrowed(name),
                    None => Cow::Owned(n.to_string()),
                })),
                None => value.map(ContainerValue::Json),
            },
            ContainerKey::Repository => {
                if let Some(repo) = value.filter(|v| truthy(v)) {
                    return Some(ContainerValue::Json(repo));
                }
                // the image without its tag (a non-text image: the Python field fails)
                let image = info.get("image")?.as_str()?;
                let repo = image.rsplit_once(':').map_or(image, |(repo, _)| repo);
                (!repo.is_empty()).then_some(ContainerValue::Text(Cow::Borrowed(repo)))
            }
            _ => value.map(ContainerValue::Json),
        }
    }
}
