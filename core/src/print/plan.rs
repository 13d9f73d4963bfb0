//! What one `scap print` asks for, from the JSON plan Python writes
//! (scaptools/view/incore.py): the filter, the events shown, and how lines look.
//!
//! ```text
//! plan   = {"filter": {"fields": [[name, arg]...], "cond": null | "never" | node,
//!                      "types": null | [id...], "names": null | [name...]},
//!           "hidden": [id...], "count": null | n, "hostname": text, "render": render,
//!           "plugins": {"default": route, "ids": [[id, route, source]...]}}
//! route  = "skip" | "python" | "core"  (plugin events: not shown / to Python / tested by
//!                                       the core's rules of source number `source`)
//! render = {"kind": "line" | "json" | "none"}
//!        | {"kind": "format", "json": bool, "keep_all": bool, "fields": [[name, arg]...],
//!           "parts": [text | [field, pad9, time_string, json_int, key]...]}
//! ```
//!
//! `cond` is the plain form of `crate::cond` (null: no filter, every syscall event
//! passes; `"never"`: the filter has no meaning for syscall events).

use serde_json::Value as Json;

use crate::cond::{self, Expr};
use crate::replay::sides::{self, SideField};
use crate::sysfields::{self, Ctx, SysField};
use crate::value::Value;

/// Event types: one bit per id.
#[derive(Debug, Clone)]
pub struct TypeSet(Vec<u64>);

impl TypeSet {
    pub fn of(ids: impl IntoIterator<Item = u64>) -> TypeSet {
        let mut bits = vec![0u64; 1 << 10];
        for id in ids {
            if let Some(word) = bits.get_mut((id >> 6) as usize) {
                *word |= 1 << (id & 63);
            }
        }
        TypeSet(bits)
    }

    #[inline]
    pub fn has(&self, etype: u16) -> bool {
        self.0[usize::from(etype >> 6)] >> (etype & 63) & 1 == 1
    }
}

/// The syscall side of the filter.
#[derive(Debug)]
pub enum Cond {
    /// no filter: every syscall event passes
    All,
    /// a filter that no syscall event meets
    Never,
    /// a condition over `fields`
    Expr(Expr),
}

/// The filter's `evt.type` gate (`filtering.type_names` / `gate_types`).
#[derive(Debug)]
pub struct Gate {
    pub types: TypeSet,
    /// the `evt.type` names a generic event must have
    pub names: Vec<String>,
    /// `evt.type`, read for generic events
    pub type_field: SysField,
}

/// One piece of a `-p` format.
#[derive(Debug)]
pub enum Part {
    Text(String),
    Field(Token),
}

/// What a format token reads.
#[derive(Debug)]
pub enum Extractor {
    Field(SysField),
    /// `evt.info` or `evt.args` (the same text), byte buffers cut as the printer cuts
    /// them (the Python state's `buffer_limit`: 80 characters, whole with `-j`)
    Args {
        limit: Option<usize>,
    },
}

/// A `%field` of a `-p` format.
#[derive(Debug)]
pub struct Token {
    /// its number in `Render::Format::fields`
    pub field: usize,
    /// numbers with nine digits at least (`pad9` tag)
    pub pad9: bool,
    /// written as the event's timestamp in JSON (`time_string` tag)
    pub time: bool,
    /// a numeric type: JSON writes a text value as the integer it spells
    pub json_int: bool,
    /// the JSON key (the token without `%`)
    pub key: String,
}

/// How a shown event is written.
#[derive(Debug)]
pub enum Render {
    /// sysdig's default line
    Line,
    /// sysdig's `-j` object
    Json,
    /// nothing: the format has no meaning for syscall events
    Nothing,
    /// a `-p` format
    Format {
        json: bool,
        keep_all: bool,
        fields: Vec<Extractor>,
        parts: Vec<Part>,
        /// the JSON keys in the order they are written (sorted, each once): the
        /// number of their first token
        order: Vec<usize>,
    },
}

/// Where the plugin events of one plugin id go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// no line: the filter selects none of them
    Skip,
    /// to Python, which filters (with its plugins' fields) and renders them
    Python,
    /// tested by the rules of source number `n` (`_core.Rules`), then rendered by Python
    Rules(usize),
}

/// The routes of plugin events, by plugin id.
#[derive(Debug, Clone)]
pub struct Routes {
    pub ids: Vec<(u32, Route)>,
    /// the route of ids without a plugin
    pub default: Route,
}

impl Routes {
    pub fn of(&self, id: u32) -> Route {
        self.ids
            .iter()
            .find(|(i, _)| *i == id)
            .map_or(self.default, |(_, r)| *r)
    }
}

/// A whole print plan.
#[derive(Debug)]
pub struct Plan {
    pub fields: Vec<FilterField>,
    pub cond: Cond,
    pub gate: Option<Gate>,
    pub hidden: TypeSet,
    pub count: Option<u64>,
    pub plugins: Routes,
    pub hostname: String,
    pub render: Render,
    /// the fields of the default lines: `evt.dir`, `evt.type`
    pub line_fields: Option<[SysField; 2]>,
}

type Result<T> = std::result::Result<T, String>;

fn get<'j>(json: &'j Json, key: &str) -> &'j Json {
    json.get(key).unwrap_or(&Json::Null)
}

fn ids(json: &Json) -> Result<Vec<u64>> {
    match json.as_array() {
        Some(items) => items
            .iter()
            .map(|i| i.as_u64().ok_or_else(|| format!("bad type id {i}")))
            .collect(),
        None => Err(format!("expected a list of ids, got {json}")),
    }
}

/// A field of the filter: a syscall field, or one of both ends of a connection (`fd.ip`,
/// `fd.port`, ...: `crate::replay::sides`, for conditions only).
#[derive(Debug)]
pub enum FilterField {
    Field(SysField),
    Sides(SideField),
}

impl FilterField {
    pub fn extract<'a>(&self, cx: &Ctx<'a>) -> Option<Value<'a>> {
        match self {
            FilterField::Field(field) => field.extract(cx),
            FilterField::Sides(field) => field.extract(cx),
        }
    }
}

/// Compile `[[name, arg], ...]`; an error names the first field the core lacks.
fn fields(json: &Json) -> Result<Vec<FilterField>> {
    let rows = json.as_array().map(Vec::as_slice).unwrap_or_default();
    rows.iter()
        .map(|row| {
            let name = row.get(0).and_then(Json::as_str).unwrap_or_default();
            let arg = row.get(1).and_then(Json::as_str);
            // a network field of one end reads its address field
            let field = sides::address_of(name).unwrap_or(name);
            match sysfields::compile(field, arg) {
                Ok(f) => Ok(FilterField::Field(f)),
                Err(e) => sides::compile(field, arg)
                    .map(FilterField::Sides)
                    .ok_or_else(|| format!("field {name}: {e}")),
            }
        })
        .collect()
}

/// A field the plan needs by name (`evt.type`, the default line's fields).
fn named(name: &str) -> Result<SysField> {
    sysfields::compile(name, None).map_err(|e| format!("field {name}: {e}"))
}

impl Plan {
    /// Read the plan; an error says what the core cannot do (Python prints then).
    pub fn parse(text: &str) -> Result<Plan> {
        let json: Json = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let filter = get(&json, "filter");
        let cond = match get(filter, "cond") {
            Json::Null => Cond::All,
            Json::String(s) if s == "never" => Cond::Never,
            node => Cond::Expr(cond::compile(node).map_err(|e| e.0)?),
        };
        let gate = match get(filter, "types") {
            Json::Null => None,
            types => Some(Gate {
                types: TypeSet::of(ids(types)?),
                names: get(filter, "names")
                    .as_array()
                    .map(Vec::as_slice)
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|n| n.as_str().map(str::to_owned))
                    .collect(),
                type_field: named("evt.type")?,
            }),
        };
        let render = render(get(&json, "render"))?;
        let line_fields = match render {
            Render::Line | Render::Json => Some([named("evt.dir")?, named("evt.type")?]),
            _ => None,
        };
        Ok(Plan {
            fields: fields(get(filter, "fields"))?,
            cond,
            gate,
            hidden: TypeSet::of(ids(get(&json, "hidden"))?),
            count: get(&json, "count").as_u64(),
            plugins: routes(get(&json, "plugins"))?,
            hostname: get(&json, "hostname").as_str().unwrap_or_default().into(),
            render,
            line_fields,
        })
    }
}

fn route(json: &Json, source: &Json) -> Result<Route> {
    match json.as_str() {
        Some("skip") => Ok(Route::Skip),
        Some("python") => Ok(Route::Python),
        Some("core") => match source.as_u64() {
            Some(n) => Ok(Route::Rules(n as usize)),
            None => Err(format!("bad source {source}")),
        },
        _ => Err(format!("bad route {json}")),
    }
}

fn routes(json: &Json) -> Result<Routes> {
    let mut ids = Vec::new();
    for row in get(json, "ids")
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        let id = row
            .get(0)
            .and_then(Json::as_u64)
            .and_then(|i| u32::try_from(i).ok());
        let Some(id) = id else {
            return Err(format!("bad plugin id in {row}"));
        };
        let r = route(
            row.get(1).unwrap_or(&Json::Null),
            row.get(2).unwrap_or(&Json::Null),
        )?;
        ids.push((id, r));
    }
    let default = match get(json, "default") {
        Json::Null => Route::Python,
        other => route(other, &Json::Null)?,
    };
    Ok(Routes { ids, default })
}

fn render(json: &Json) -> Result<Render> {
    match get(json, "kind").as_str() {
        Some("line") => Ok(Render::Line),
        Some("json") => Ok(Render::Json),
        Some("none") => Ok(Render::Nothing),
        Some("format") => format(json),
        _ => Err(format!("bad render {json}")),
    }
}

fn format(json: &Json) -> Result<Render> {
    let as_json = get(json, "json").as_bool().unwrap_or(false);
    let rows = get(json, "fields").as_array().map(Vec::as_slice);
    let fields = rows
        .unwrap_or_default()
        .iter()
        .map(|row| extractor(row, as_json))
        .collect::<Result<Vec<_>>>()?;
    let mut parts = Vec::new();
    let items = get(json, "parts").as_array().map(Vec::as_slice);
    for item in items.unwrap_or_default() {
        if let Some(text) = item.as_str() {
            parts.push(Part::Text(text.to_owned()));
            continue;
        }
        let flag = |i: usize| item.get(i).and_then(Json::as_bool).unwrap_or(false);
        let field = item.get(0).and_then(Json::as_u64).unwrap_or(u64::MAX) as usize;
        if field >= fields.len() {
            return Err(format!("bad format token {item}"));
        }
        parts.push(Part::Field(Token {
            field,
            pad9: flag(1),
            time: flag(2),
            json_int: flag(3),
            key: item
                .get(4)
                .and_then(Json::as_str)
                .unwrap_or_default()
                .into(),
        }));
    }
    let order = key_order(&parts);
    Ok(Render::Format {
        json: as_json,
        keep_all: get(json, "keep_all").as_bool().unwrap_or(false),
        fields,
        parts,
        order,
    })
}

/// The extractor of a format field: `evt.info` and `evt.args` with the printer's cut of
/// buffers; `evt.arg` (which cuts them at 80 characters) only in text lines.
fn extractor(row: &Json, as_json: bool) -> Result<Extractor> {
    let name = row.get(0).and_then(Json::as_str).unwrap_or_default();
    let arg = row.get(1).and_then(Json::as_str);
    let limit = (!as_json).then_some(crate::sysfields::MAX_BUF_LEN);
    match (name, arg) {
        ("evt.info" | "evt.args", None) => Ok(Extractor::Args { limit }),
        ("evt.arg", _) if as_json => Err("evt.arg with -j (buffers are not cut)".into()),
        _ => sysfields::compile(name, arg)
            .map(Extractor::Field)
            .map_err(|e| format!("field {name}: {e}")),
    }
}

/// The tokens of `parts` by key, sorted (byte order is code point order), each key once.
fn key_order(parts: &[Part]) -> Vec<usize> {
    let mut keys: Vec<(&str, usize)> = parts
        .iter()
        .enumerate()
        .filter_map(|(i, p)| match p {
            Part::Field(t) => Some((t.key.as_str(), i)),
            Part::Text(_) => None,
        })
        .collect();
    keys.sort();
    keys.dedup_by(|a, b| a.0 == b.0);
    keys.into_iter().map(|(_, i)| i).collect()
}
