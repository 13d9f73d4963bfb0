//! What the state needs from the event table (`scaptools/events/data/event_table.json`,
//! docs/format.md §10): each type's name, direction, parameters and the flags that
//! decide how the state treats it (`scaptools/state/plans.py`).

use std::sync::OnceLock;

/// One parameter of an event type: its name and table type (`PT_...`).
#[derive(Debug, Clone)]
pub struct ParamInfo {
    pub name: String,
    pub ptype: String,
}

/// One event type of the table.
#[derive(Debug, Clone)]
pub struct EventInfo {
    pub name: String,
    pub enter: bool,
    pub params: Vec<ParamInfo>,
    /// scheduler and internal events: never create their thread, leave its syscall
    /// context alone (`EF_SKIPPARSERESET` or `EC_SCHEDULER`)
    pub skip: bool,
    /// `EF_CREATES_FD`
    pub creates: bool,
}

/// The event type plugin events have (§9): the state leaves them alone.
pub const PLUGIN_EVENT: u16 = 322;

/// The event table, read once from the JSON file the Python package ships.
pub fn events() -> &'static [EventInfo] {
    static TABLE: OnceLock<Vec<EventInfo>> = OnceLock::new();
    TABLE.get_or_init(|| {
        parse(include_str!(
            "../../../scaptools/events/data/event_table.json"
        ))
    })
}

/// The table's entry for `etype`, or `None` past its end.
pub fn event(etype: u16) -> Option<&'static EventInfo> {
    events().get(usize::from(etype))
}

fn strings(value: &serde_json::Value) -> Vec<&str> {
    value
        .as_array()
        .map(|all| all.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default()
}

fn text(value: &serde_json::Value, key: &str) -> String {
    value[key].as_str().unwrap_or_default().to_string()
}

fn parse(json: &str) -> Vec<EventInfo> {
    let doc: serde_json::Value = serde_json::from_str(json).unwrap_or_default();
    let list = doc["events"].as_array().cloned().unwrap_or_default();
    list.iter()
        .map(|e| {
            let flags = strings(&e["flags"]);
            let bits = strings(&e["category_bits"]);
            let params = e["params"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .map(|p| ParamInfo {
                            name: text(p, "name"),
                            ptype: text(p, "type"),
                        })
                        .collect()
                })
                .unwrap_or_default();
            EventInfo {
                name: text(e, "name"),
                enter: e["direction"].as_str() == Some("enter"),
                params,
                skip: flags.contains(&"EF_SKIPPARSERESET") || bits.contains(&"EC_SCHEDULER"),
                creates: flags.contains(&"EF_CREATES_FD"),
            }
        })
        .collect()
}
