//! The stored parameters of an event (`Event.param_bytes`, docs/format.md §9.3) and
//! their raw values (`scaptools/events/params.py`): what `evt.rawarg`, `evt.rawres`
//! and the renderer read.

use std::borrow::Cow;

use super::table::PType;
use crate::state::HEADER_SIZE;
use crate::walk::EventRef;

/// The most parameters an event type of the table has: later ones are never read.
pub const MAX: usize = 32;

/// The first [`MAX`] stored parameters of an event, undecoded: where each starts.
pub struct Args<'a> {
    raw: &'a [u8],
    starts: [u32; MAX + 1],
    count: usize,
}

impl<'a> Args<'a> {
    /// Split `ev`'s parameters; `None` when the length array or a parameter runs past
    /// the end of the event (a damaged event, which Python refuses to split).
    pub fn split(ev: &EventRef<'a>) -> Option<Args<'a>> {
        let raw = ev.raw;
        let n = ev.nparams as usize;
        let width: usize = if ev.large { 4 } else { 2 };
        let mut args = Args {
            raw,
            starts: [0; MAX + 1],
            count: n.min(MAX),
        };
        if n == 0 {
            return Some(args);
        }
        let mut pos = HEADER_SIZE.checked_add(width.checked_mul(n)?)?;
        let lens = raw.get(HEADER_SIZE..pos)?;
        for (i, len) in lens.chunks_exact(width).enumerate() {
            let len = match *len {
                [a, b] => usize::from(u16::from_le_bytes([a, b])),
                [a, b, c, d] => u32::from_le_bytes([a, b, c, d]) as usize,
                _ => return None,
            };
            if i < MAX {
                args.starts[i] = u32::try_from(pos).ok()?;
            }
            pos = pos.checked_add(len)?;
            if i < MAX {
                args.starts[i + 1] = u32::try_from(pos).ok()?;
            }
        }
        (pos <= raw.len()).then_some(args)
    }

    /// The first parameter alone, read in place (what `evt.res` reads on every exit
    /// event); `None` when there is none or it runs past the event. The parameters after
    /// it are not checked (a damaged event is refused before its fields are read).
    pub fn first(ev: &EventRef<'a>) -> Option<&'a [u8]> {
        if ev.nparams == 0 {
            return None;
        }
        let width: usize = if ev.large { 4 } else { 2 };
        let start = HEADER_SIZE.checked_add(width.checked_mul(ev.nparams as usize)?)?;
        let lens = ev.raw.get(HEADER_SIZE..HEADER_SIZE + width)?;
        let len = if ev.large {
            u32::from_le_bytes(lens.try_into().ok()?) as usize
        } else {
            usize::from(u16::from_le_bytes(lens.try_into().ok()?))
        };
        ev.raw.get(start..start.checked_add(len)?)
    }

    /// How many parameters are stored (at most [`MAX`]).
    pub fn len(&self) -> usize {
        self.count
    }

    /// The bytes of parameter `i` (empty past the stored ones).
    pub fn get(&self, i: usize) -> &'a [u8] {
        if i >= self.count {
            return &[];
        }
        let (start, end) = (self.starts[i] as usize, self.starts[i + 1] as usize);
        self.raw.get(start..end).unwrap_or_default()
    }
}

/// A fixed-size number of `size` bytes, sign-extended when `signed`; `None` when `data`
/// is shorter.
pub fn number(data: &[u8], size: usize, signed: bool) -> Option<i128> {
    let value = match size {
        1 => u64::from(*data.first()?),
        2 => u64::from(u16::from_le_bytes(data.get(..2)?.try_into().ok()?)),
        4 => u64::from(u32::from_le_bytes(data.get(..4)?.try_into().ok()?)),
        8 => u64::from_le_bytes(data.get(..8)?.try_into().ok()?),
        _ => return None,
    };
    if signed {
        let shift = 64 - 8 * size as u32;
        Some(i128::from(((value << shift) as i64) >> shift))
    } else {
        Some(i128::from(value))
    }
}

/// The value of a numeric parameter type, `None` for other types or short data.
pub fn int(ptype: PType, data: &[u8]) -> Option<i128> {
    let (size, signed) = ptype.numeric()?;
    number(data, size, signed)
}

/// Text up to the first NUL, invalid UTF-8 replaced (`decode_text`); borrowed when
/// the bytes are valid.
pub fn cstr(data: &[u8]) -> Cow<'_, str> {
    let end = memchr::memchr(0, data).unwrap_or(data.len());
    String::from_utf8_lossy(&data[..end])
}

/// A raw parameter value as `evt.rawarg` gives it (`decode_value`).
pub enum Raw<'a> {
    /// an empty parameter or one too short for its type
    Missing,
    Int(i128),
    Text(Cow<'a, str>),
    /// buffers, addresses, lists: shown as their rendered text
    Rendered,
}

/// The raw value of a parameter of table type `ptype` (`dynamic`: the types of its
/// dynamic table).
pub fn raw<'a>(ptype: PType, data: &'a [u8], dynamic: &[PType]) -> Raw<'a> {
    if data.is_empty() {
        return Raw::Missing;
    }
    if ptype == PType::Double {
        return Raw::Rendered; // a float: no table parameter has this type
    }
    if ptype.numeric().is_some() {
        return int(ptype, data).map_or(Raw::Missing, Raw::Int);
    }
    match ptype {
        PType::Charbuf | PType::Fspath | PType::Fsrelpath => Raw::Text(cstr(data)),
        PType::Ipv4addr => match data.get(..4) {
            Some(ip) => Raw::Text(Cow::Owned(crate::state::params::ip_text(ip))),
            None => Raw::Missing,
        },
        PType::Ipv6addr => match data.get(..16) {
            Some(ip) => Raw::Text(Cow::Owned(crate::state::params::ip_text(ip))),
            None => Raw::Missing,
        },
        PType::Dyn => match dynamic.get(usize::from(data[0])) {
            Some(&inner) if inner != PType::Dyn => raw(inner, &data[1..], &[]),
            _ => Raw::Rendered,
        },
        _ => Raw::Rendered,
    }
}
