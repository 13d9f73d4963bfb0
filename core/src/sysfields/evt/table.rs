//! What the `evt.*` fields and the argument rendering need from the event table
//! (`scaptools/events/data/event_table.json`, read by `scaptools/events/table.py`,
//! `params.py` and `render.py`): per type its name, direction, category and flags, per
//! parameter its type, print format, flag table, directory fd and dynamic table; the
//! flag tables, the errno names and libscap's syscall names and categories. Read once.

use std::collections::HashMap;
use std::sync::OnceLock;

/// A parameter type (`PT_...`); `Other` for the types rendered as a byte buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PType {
    Int8,
    Int16,
    Int32,
    Int64,
    Uint8,
    Uint16,
    Uint32,
    Uint64,
    Errno,
    Fd,
    Pid,
    Fd32,
    Pid32,
    Uid,
    Gid,
    Mode,
    Sigset,
    Bool,
    Flags(u8),
    EnumFlags(u8),
    Sigtype,
    L4proto,
    Sockfamily,
    Syscallid,
    Port,
    Reltime,
    Abstime,
    Double,
    Charbuf,
    Fspath,
    Fsrelpath,
    Bytebuf,
    Charbufarray,
    Sockaddr,
    Socktuple,
    Fdlist,
    Dyn,
    Ipv4addr,
    Ipv6addr,
    Other,
}

impl PType {
    fn of(name: &str) -> PType {
        use PType::*;
        match name {
            "PT_INT8" => Int8,
            "PT_INT16" => Int16,
            "PT_INT32" => Int32,
            "PT_INT64" => Int64,
            "PT_UINT8" => Uint8,
            "PT_UINT16" => Uint16,
            "PT_UINT32" => Uint32,
            "PT_UINT64" => Uint64,
            "PT_ERRNO" => Errno,
            "PT_FD" => Fd,
            "PT_PID" => Pid,
            "PT_FD32" => Fd32,
            "PT_PID32" => Pid32,
            "PT_UID" => Uid,
            "PT_GID" => Gid,
            "PT_MODE" => Mode,
            "PT_SIGSET" => Sigset,
            "PT_BOOL" => Bool,
            "PT_FLAGS8" => Flags(1),
            "PT_FLAGS16" => Flags(2),
            "PT_FLAGS32" => Flags(4),
            "PT_ENUMFLAGS8" => EnumFlags(1),
            "PT_ENUMFLAGS16" => EnumFlags(2),
            "PT_ENUMFLAGS32" => EnumFlags(4),
            "PT_SIGTYPE" => Sigtype,
            "PT_L4PROTO" => L4proto,
            "PT_SOCKFAMILY" => Sockfamily,
            "PT_SYSCALLID" => Syscallid,
            "PT_PORT" => Port,
            "PT_RELTIME" => Reltime,
            "PT_ABSTIME" => Abstime,
            "PT_DOUBLE" => Double,
            "PT_CHARBUF" => Charbuf,
            "PT_FSPATH" => Fspath,
            "PT_FSRELPATH" => Fsrelpath,
            "PT_BYTEBUF" => Bytebuf,
            "PT_CHARBUFARRAY" => Charbufarray,
            "PT_SOCKADDR" => Sockaddr,
            "PT_SOCKTUPLE" => Socktuple,
            "PT_FDLIST" => Fdlist,
            "PT_DYN" => Dyn,
            "PT_IPV4ADDR" => Ipv4addr,
            "PT_IPV6ADDR" => Ipv6addr,
            _ => Other,
        }
    }

    /// Size and signedness of a fixed-size numeric type (`params.NUMERIC`).
    pub fn numeric(self) -> Option<(usize, bool)> {
        use PType::*;
        Some(match self {
            Int8 => (1, true),
            Int16 => (2, true),
            Int32 | Fd32 | Pid32 => (4, true),
            Int64 | Errno | Fd | Pid => (8, true),
            Uint8 | Sigtype | L4proto | Sockfamily | Flags(1) | EnumFlags(1) => (1, false),
            Uint16 | Syscallid | Port | Flags(2) | EnumFlags(2) => (2, false),
            Uint32 | Uid | Gid | Mode | Sigset | Bool | Flags(_) | EnumFlags(_) => (4, false),
            Uint64 | Reltime | Abstime | Double => (8, false),
            _ => return None,
        })
    }

    /// The types sysdig prints as nothing (not `NULL`) when empty.
    pub fn is_buffer(self) -> bool {
        matches!(self, PType::Bytebuf | PType::Charbuf | PType::Charbufarray)
    }
}

/// A print format (`PF_...`); every other one prints in decimal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fmt {
    Dec,
    Hex,
    Oct,
    Padded,
}

/// One parameter of an event type.
#[derive(Debug, Clone)]
pub struct Param {
    pub name: String,
    pub ptype: PType,
    pub fmt: Fmt,
    /// index into [`Table::flag_tables`]
    pub flags: Option<usize>,
    /// the parameter holding the directory fd of a relative path
    pub dirfd: Option<usize>,
    /// index into [`Table::dyn_tables`]
    pub dynamic: Option<usize>,
}

/// One event type.
#[derive(Debug, Clone)]
pub struct Event {
    pub name: String,
    pub enter: bool,
    /// `EC_FILE`, `EC_IO_READ`, ...
    pub category: String,
    pub syscall: bool,
    pub scheduler: bool,
    pub waits: bool,
    pub params: Vec<Param>,
}

impl Event {
    pub fn is_io_read(&self) -> bool {
        self.category == "EC_IO_READ"
    }

    pub fn is_io_write(&self) -> bool {
        self.category == "EC_IO_WRITE"
    }

    /// The position of parameter `name` (`params.param_index`).
    pub fn index(&self, name: &str) -> Option<usize> {
        self.params.iter().position(|p| p.name == name)
    }
}

/// The whole table.
#[derive(Debug, Default)]
pub struct Table {
    pub events: Vec<Event>,
    /// (value, name) in table order
    pub flag_tables: Vec<Vec<(u64, String)>>,
    /// the types of each dynamic table, by the index byte
    pub dyn_tables: Vec<Vec<PType>>,
    pub errno: HashMap<i128, String>,
    /// libscap's syscall names and categories by PPM_SC code (generic events)
    pub syscall_names: HashMap<u64, String>,
    pub syscall_categories: HashMap<u64, String>,
}

/// The table, read once from the files the Python package ships.
pub fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table = parse(include_str!(
            "../../../../scaptools/events/data/event_table.json"
        ));
        table.syscall_names = by_code(include_str!(
            "../../../../scaptools/events/data/syscall_names.json"
        ));
        table.syscall_categories = by_code(include_str!(
            "../../../../scaptools/events/data/syscall_categories.json"
        ));
        table
    })
}

/// The table's entry for `etype`, or `None` past its end.
pub fn event(etype: u16) -> Option<&'static Event> {
    table().events.get(usize::from(etype))
}

fn by_code(json: &str) -> HashMap<u64, String> {
    let doc: serde_json::Value = serde_json::from_str(json).unwrap_or_default();
    doc.as_object()
        .map(|all| {
            all.iter()
                .filter_map(|(k, v)| Some((k.parse().ok()?, v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

fn text(value: &serde_json::Value, key: &str) -> String {
    value[key].as_str().unwrap_or_default().to_string()
}

fn has(value: &serde_json::Value, key: &str, item: &str) -> bool {
    value[key]
        .as_array()
        .is_some_and(|all| all.iter().any(|v| v.as_str() == Some(item)))
}

fn parse(json: &str) -> Table {
    let doc: serde_json::Value = serde_json::from_str(json).unwrap_or_default();
    let mut table = Table::default();
    let mut flag_names: HashMap<String, usize> = HashMap::new();
    if let Some(tables) = doc["flag_tables"].as_object() {
        for (name, entries) in tables {
            let list = entries.as_array().cloned().unwrap_or_default();
            let entries = list
                .iter()
                .map(|e| (e["value"].as_u64().unwrap_or(0), text(e, "name")))
                .collect();
            flag_names.insert(name.clone(), table.flag_tables.len());
            table.flag_tables.push(entries);
        }
    }
    let mut dyn_names: HashMap<String, usize> = HashMap::new();
    if let Some(tables) = doc["dynamic_tables"].as_object() {
        for (name, entries) in tables {
            let mut list = entries.as_array().cloned().unwrap_or_default();
            list.sort_by_key(|e| e["index"].as_u64().unwrap_or(0));
            dyn_names.insert(name.clone(), table.dyn_tables.len());
            let types = list.iter().map(|e| PType::of(&text(e, "type"))).collect();
            table.dyn_tables.push(types);
        }
    }
    if let Some(list) = doc["errno"].as_array() {
        for e in list {
            if let Some(value) = e["value"].as_i64() {
                table.errno.insert(i128::from(value), text(e, "name"));
            }
        }
    }
    let events = doc["events"].as_array().cloned().unwrap_or_default();
    table.events = events
        .iter()
        .map(|e| Event {
            name: text(e, "name"),
            enter: e["direction"].as_str() == Some("enter"),
            category: text(e, "category"),
            syscall: has(e, "category_bits", "EC_SYSCALL"),
            scheduler: has(e, "category_bits", "EC_SCHEDULER"),
            waits: has(e, "flags", "EF_WAITS"),
            params: e["params"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .map(|p| param(p, &flag_names, &dyn_names))
                        .collect()
                })
                .unwrap_or_default(),
        })
        .collect();
    table
}

fn param(
    p: &serde_json::Value,
    flag_names: &HashMap<String, usize>,
    dyn_names: &HashMap<String, usize>,
) -> Param {
    let fmt = match p["fmt"].as_str() {
        Some("PF_HEX") => Fmt::Hex,
        Some("PF_OCT") => Fmt::Oct,
        Some("PF_10_PADDED_DEC") => Fmt::Padded,
        _ => Fmt::Dec,
    };
    Param {
        name: text(p, "name"),
        ptype: PType::of(p["type"].as_str().unwrap_or_default()),
        fmt,
        flags: p["flags_table"]
            .as_str()
            .and_then(|n| flag_names.get(n).copied()),
        dirfd: p["dirfd_param"].as_u64().map(|v| v as usize),
        dynamic: p["dynamic_table"]
            .as_str()
            .and_then(|n| dyn_names.get(n).copied()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_read() {
        let t = table();
        assert_eq!(t.events.len(), 454);
        let open = &t.events[3];
        assert_eq!((open.name.as_str(), open.enter), ("open", false));
        assert_eq!(open.params[2].ptype, PType::Flags(4));
        assert_eq!(open.params[3].fmt, Fmt::Oct);
        assert!(open.params[2].flags.is_some());
        assert_eq!(t.errno.get(&2).map(String::as_str), Some("ENOENT"));
        assert_eq!(
            t.syscall_names.get(&1).map(String::as_str),
            Some("restart_syscall")
        );
        assert_eq!(t.dyn_tables.len(), 4);
    }
}
