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
    /// where its `fd` parameter (`PT_FD`) is, if it has one (`Plan.fd_index`)
    pub fd_index: Option<usize>,
    /// it works on an fd (`EF_USES_FD`, `EF_CREATES_FD`, `EF_DESTROYS_FD`; not the
    /// memory-mapping calls, which sysdig 0.29.3's table does not mark)
    pub uses_fd: bool,
    /// the memory counters it carries (`plans.MemoryPlan`)
    pub memory: Option<Memory>,
}

/// Where an event type's memory counters are: the counters, and the sizes of its
/// parameters up to the last counter (`None` when one of them has no fixed size: then
/// every read checks the whole event).
#[derive(Debug, Clone)]
pub struct Memory {
    pub counters: Vec<Counter>,
    pub sizes: Option<Vec<usize>>,
}

/// One memory counter parameter: its position, size and the thread field it sets.
#[derive(Debug, Clone, Copy)]
pub struct Counter {
    pub index: usize,
    pub size: usize,
    pub field: MemoryField,
}

/// The thread fields memory counters set; the `Vm*` ones belong to the process (its
/// main thread), the page faults to the thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemoryField {
    VmSize,
    VmRss,
    VmSwap,
    PfMajor,
    PfMinor,
}

impl MemoryField {
    /// The field of a parameter name (`vm_size`, ... `pgft_min`).
    pub fn of(name: &str) -> Option<MemoryField> {
        Some(match name {
            "vm_size" => MemoryField::VmSize,
            "vm_rss" => MemoryField::VmRss,
            "vm_swap" => MemoryField::VmSwap,
            "pgft_maj" => MemoryField::PfMajor,
            "pgft_min" => MemoryField::PfMinor,
            _ => return None,
        })
    }

    pub fn of_process(self) -> bool {
        matches!(
            self,
            MemoryField::VmSize | MemoryField::VmRss | MemoryField::VmSwap
        )
    }
}

/// The size of a fixed-size numeric parameter type (`params.NUMERIC`).
pub fn fixed_size(ptype: &str) -> Option<usize> {
    Some(match ptype {
        "PT_INT8" | "PT_UINT8" | "PT_FLAGS8" | "PT_ENUMFLAGS8" | "PT_SIGTYPE" | "PT_L4PROTO"
        | "PT_SOCKFAMILY" => 1,
        "PT_INT16" | "PT_UINT16" | "PT_FLAGS16" | "PT_ENUMFLAGS16" | "PT_SYSCALLID" | "PT_PORT" => {
            2
        }
        "PT_INT32" | "PT_UINT32" | "PT_FD32" | "PT_PID32" | "PT_UID" | "PT_GID" | "PT_MODE"
        | "PT_SIGSET" | "PT_BOOL" | "PT_FLAGS32" | "PT_ENUMFLAGS32" => 4,
        "PT_INT64" | "PT_UINT64" | "PT_ERRNO" | "PT_FD" | "PT_PID" | "PT_RELTIME"
        | "PT_ABSTIME" | "PT_DOUBLE" => 8,
        _ => return None,
    })
}

fn memory(name: &str, params: &[ParamInfo]) -> Option<Memory> {
    if matches!(name, "clone" | "fork" | "vfork" | "clone3") {
        return None; // libsinsp ignores the parent's counters a clone exit carries
    }
    let counters: Vec<Counter> = params
        .iter()
        .enumerate()
        .filter(|(_, p)| matches!(p.ptype.as_str(), "PT_UINT32" | "PT_UINT64"))
        .filter_map(|(index, p)| {
            Some(Counter {
                index,
                size: fixed_size(&p.ptype)?,
                field: MemoryField::of(&p.name)?,
            })
        })
        .collect();
    let last = counters.last()?.index;
    let sizes = params[..=last]
        .iter()
        .map(|p| fixed_size(&p.ptype))
        .collect();
    Some(Memory { counters, sizes })
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
            let params: Vec<ParamInfo> = e["params"]
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
            let name = text(e, "name");
            let uses_fd = ["EF_USES_FD", "EF_CREATES_FD", "EF_DESTROYS_FD"]
                .iter()
                .any(|f| flags.contains(f))
                && !matches!(name.as_str(), "mmap" | "mmap2" | "munmap");
            let fd_index = params
                .iter()
                .position(|p| p.name == "fd" && p.ptype == "PT_FD");
            EventInfo {
                fd_index,
                memory: memory(&name, &params),
                name,
                enter: e["direction"].as_str() == Some("enter"),
                params,
                skip: flags.contains(&"EF_SKIPPARSERESET") || bits.contains(&"EC_SCHEDULER"),
                creates: flags.contains(&"EF_CREATES_FD"),
                uses_fd,
            }
        })
        .collect()
}
