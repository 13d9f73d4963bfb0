//! Event parameters as the state's parsers read them (`scaptools/events/params.py`):
//! integers for the numeric types, text up to the first NUL, byte buffers, socket
//! addresses and tuples; an empty parameter is `Null`. Also the text helpers the
//! parsers share: IP addresses, sysdig's path join, NUL-separated lists.

use super::table::EventInfo;
use super::Int;

pub const AF_UNIX: u8 = 1;
pub const AF_INET: u8 = 2;
pub const AF_INET6: u8 = 10;

/// One side of a socket tuple: an address text (inet) or a kernel pointer (unix).
#[derive(Debug, Clone, PartialEq)]
pub enum Side {
    Text(String),
    Ptr(u64),
}

/// A `PT_SOCKADDR`: family, then ip text and port (inet) or path (unix).
#[derive(Debug, Clone, PartialEq)]
pub struct SockAddr {
    pub family: u8,
    pub addr: String,
    pub port: Int,
}

/// A `PT_SOCKTUPLE` (`sip` is `Text("")` when the tuple is too short).
#[derive(Debug, Clone, PartialEq)]
pub struct SockTuple {
    pub family: u8,
    pub sip: Side,
    pub sport: Int,
    pub dip: Side,
    pub dport: Int,
    pub path: String,
}

/// A decoded parameter value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(Int),
    Text(String),
    Bytes(Vec<u8>),
    Addr(SockAddr),
    Tuple(SockTuple),
    /// a value of a type the state never reads (floats, fd lists, ...)
    Other,
}

impl Value {
    pub fn int(&self) -> Option<Int> {
        match self {
            Value::Int(v) => Some(*v),
            _ => None,
        }
    }

    /// Python's truth of the value (`x or default`).
    pub fn truthy(&self) -> bool {
        match self {
            Value::Null => false,
            Value::Int(v) => *v != 0,
            Value::Text(s) => !s.is_empty(),
            Value::Bytes(b) => !b.is_empty(),
            _ => true,
        }
    }
}

/// The decoded parameters of one event: `(name, value)` in table order; a name that
/// appears twice reads as its last value (a Python dict).
#[derive(Debug, Clone, Default)]
pub struct Params(pub Vec<(&'static str, Value)>);

impl Params {
    /// `params.get(name)`: `None` when absent, `Some(&Value::Null)` when empty.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0
            .iter()
            .rev()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v)
    }

    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The parameter as an integer (`isinstance(v, int)`), else `None`.
    pub fn int(&self, name: &str) -> Option<Int> {
        self.get(name).and_then(Value::int)
    }

    /// The parameter as text, else `None`.
    pub fn text(&self, name: &str) -> Option<&str> {
        match self.get(name) {
            Some(Value::Text(s)) => Some(s),
            _ => None,
        }
    }
}

/// Decode the parameters of a v2 little-endian event (§9.3); `Err` when the lengths
/// run past the end of the event (a damaged event).
pub fn decode(
    info: &'static EventInfo,
    raw: &[u8],
    nparams: usize,
    large: bool,
) -> Result<Params, String> {
    let width = if large { 4 } else { 2 };
    let at = super::HEADER_SIZE;
    let mut pos = at + width * nparams;
    if pos > raw.len() {
        return Err("the parameter lengths run past the end of the event".into());
    }
    if !params_fit(raw, nparams, large) {
        return Err("a parameter runs past the end of the event".into());
    }
    let mut out = Vec::with_capacity(nparams.min(info.params.len()));
    for (i, param) in info.params.iter().enumerate().take(nparams) {
        let lat = at + width * i;
        let size = if large {
            u32::from_le_bytes(raw[lat..lat + 4].try_into().unwrap_or([0; 4])) as usize
        } else {
            usize::from(u16::from_le_bytes([raw[lat], raw[lat + 1]]))
        };
        if pos + size > raw.len() {
            return Err(format!(
                "parameter {} runs past the end of the event",
                param.name
            ));
        }
        let value = value(&param.ptype, &raw[pos..pos + size]);
        out.push((param.name.as_str(), value));
        pos += size;
    }
    Ok(Params(out))
}

/// The length of parameter `i` of a v2 event whose length array fits `raw`.
pub fn param_len(raw: &[u8], i: usize, large: bool) -> usize {
    let at = super::HEADER_SIZE;
    if large {
        let b = &raw[at + 4 * i..at + 4 * i + 4];
        u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize
    } else {
        usize::from(u16::from_le_bytes([raw[at + 2 * i], raw[at + 2 * i + 1]]))
    }
}

/// Whether the length array and every parameter (also those past the table's list)
/// fit inside the event (`check_params`).
pub fn params_fit(raw: &[u8], nparams: usize, large: bool) -> bool {
    let width = if large { 4 } else { 2 };
    let start = super::HEADER_SIZE + width * nparams;
    if start > raw.len() {
        return false;
    }
    let data: usize = (0..nparams).map(|i| param_len(raw, i, large)).sum();
    start + data <= raw.len()
}

fn le(data: &[u8], size: usize) -> Option<u64> {
    let mut buf = [0u8; 8];
    buf[..size].copy_from_slice(data.get(..size)?);
    Some(u64::from_le_bytes(buf))
}

/// One stored value of table type `ptype` (`decode_value`).
pub fn value(ptype: &str, data: &[u8]) -> Value {
    if data.is_empty() {
        return Value::Null;
    }
    let signed = |size: usize| {
        le(data, size).map_or(Value::Null, |v| {
            let shift = 64 - 8 * size as u32;
            Value::Int(Int::from(((v << shift) as i64) >> shift))
        })
    };
    let unsigned = |size: usize| le(data, size).map_or(Value::Null, |v| Value::Int(Int::from(v)));
    match ptype {
        "PT_INT8" => signed(1),
        "PT_INT16" => signed(2),
        "PT_INT32" | "PT_FD32" | "PT_PID32" => signed(4),
        "PT_INT64" | "PT_ERRNO" | "PT_FD" | "PT_PID" => signed(8),
        "PT_UINT8" | "PT_FLAGS8" | "PT_ENUMFLAGS8" | "PT_SIGTYPE" | "PT_L4PROTO"
        | "PT_SOCKFAMILY" => unsigned(1),
        "PT_UINT16" | "PT_FLAGS16" | "PT_ENUMFLAGS16" | "PT_SYSCALLID" | "PT_PORT" => unsigned(2),
        "PT_UINT32" | "PT_UID" | "PT_GID" | "PT_MODE" | "PT_SIGSET" | "PT_BOOL" | "PT_FLAGS32"
        | "PT_ENUMFLAGS32" => unsigned(4),
        "PT_UINT64" | "PT_RELTIME" | "PT_ABSTIME" => unsigned(8),
        "PT_CHARBUF" | "PT_FSPATH" | "PT_FSRELPATH" => Value::Text(text(data)),
        "PT_BYTEBUF" => Value::Bytes(data.to_vec()),
        "PT_SOCKADDR" => Value::Addr(sockaddr(data)),
        "PT_SOCKTUPLE" => Value::Tuple(socktuple(data)),
        _ => Value::Other,
    }
}

/// Text up to the first NUL, invalid UTF-8 replaced.
pub fn text(data: &[u8]) -> String {
    let end = memchr::memchr(0, data).unwrap_or(data.len());
    String::from_utf8_lossy(&data[..end]).into_owned()
}

fn port(data: &[u8], at: usize) -> Int {
    Int::from(u16::from_le_bytes([data[at], data[at + 1]]))
}

fn sockaddr(data: &[u8]) -> SockAddr {
    let family = data[0];
    let (addr, port) = match family {
        AF_INET if data.len() >= 7 => (ip_text(&data[1..5]), port(data, 5)),
        AF_INET6 if data.len() >= 19 => (ip_text(&data[1..17]), port(data, 17)),
        AF_UNIX => (text(&data[1..]), 0),
        _ => (String::new(), 0),
    };
    SockAddr { family, addr, port }
}

fn socktuple(data: &[u8]) -> SockTuple {
    let family = data[0];
    let inet = |a: usize, b: usize, w: usize| SockTuple {
        family,
        sip: Side::Text(ip_text(&data[a..a + w])),
        sport: port(data, a + w),
        dip: Side::Text(ip_text(&data[b..b + w])),
        dport: port(data, b + w),
        path: String::new(),
    };
    match family {
        AF_INET if data.len() >= 13 => inet(1, 7, 4),
        AF_INET6 if data.len() >= 37 => inet(1, 19, 16),
        AF_UNIX if data.len() >= 17 => SockTuple {
            family,
            sip: Side::Ptr(le(&data[1..], 8).unwrap_or(0)),
            sport: 0,
            dip: Side::Ptr(le(&data[9..], 8).unwrap_or(0)),
            dport: 0,
            path: text(&data[17..]),
        },
        _ => SockTuple {
            family,
            sip: Side::Text(String::new()),
            sport: 0,
            dip: Side::Text(String::new()),
            dport: 0,
            path: String::new(),
        },
    }
}

/// An IPv4 (4 bytes) or IPv6 (16 bytes) address as Python's `ipaddress` writes it
/// (IPv6: lowercase hex groups, the longest run of two or more zero groups as `::`,
/// the first of equal runs; no dotted IPv4 tail).
pub fn ip_text(raw: &[u8]) -> String {
    if raw.len() == 4 {
        return format!("{}.{}.{}.{}", raw[0], raw[1], raw[2], raw[3]);
    }
    let groups: Vec<u16> = raw
        .chunks_exact(2)
        .take(8)
        .map(|g| u16::from_be_bytes([g[0], g[1]]))
        .collect();
    let (mut best, mut best_len, mut run, mut run_len) = (0, 0, 0, 0);
    for (i, g) in groups.iter().enumerate() {
        if *g == 0 {
            if run_len == 0 {
                run = i;
            }
            run_len += 1;
            if run_len > best_len {
                (best, best_len) = (run, run_len);
            }
        } else {
            run_len = 0;
        }
    }
    let hex = |gs: &[u16]| {
        gs.iter()
            .map(|g| format!("{g:x}"))
            .collect::<Vec<_>>()
            .join(":")
    };
    if best_len > 1 {
        format!(
            "{}::{}",
            hex(&groups[..best]),
            hex(&groups[best + best_len..])
        )
    } else {
        hex(&groups)
    }
}

/// Python's `posixpath.normpath`.
pub fn normpath(path: &str) -> String {
    if path.is_empty() {
        return ".".into();
    }
    let slashes = if path.starts_with("//") && !path.starts_with("///") {
        2
    } else {
        usize::from(path.starts_with('/'))
    };
    let mut parts: Vec<&str> = Vec::new();
    for comp in path.split('/') {
        if comp.is_empty() || comp == "." {
            continue;
        }
        if comp != ".." || (slashes == 0 && parts.is_empty()) || parts.last() == Some(&"..") {
            parts.push(comp);
        } else {
            parts.pop();
        }
    }
    let out = "/".repeat(slashes) + &parts.join("/");
    if out.is_empty() {
        ".".into()
    } else {
        out
    }
}

/// `path` made absolute against `base` and normalised (sysdig's path join,
/// `scaptools.events.render.join_paths`).
pub fn join_paths(base: &str, path: &str) -> String {
    let joined;
    let path = if path.starts_with('/') {
        path
    } else {
        if base.is_empty() {
            return String::new();
        }
        joined = format!("{}/{}", base.trim_end_matches('/'), path);
        &joined
    };
    let norm = normpath(path);
    if norm == "/" {
        norm
    } else {
        format!("/{}", norm.trim_start_matches('/'))
    }
}

/// NUL-separated strings (args, env, cgroups; §5) as a list (`threads.split_nul`).
pub fn split_nul(data: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(data);
    if text.is_empty() {
        return Vec::new();
    }
    text.trim_end_matches('\0')
        .split('\0')
        .map(String::from)
        .collect()
}
