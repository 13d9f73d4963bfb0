//! `fdlist.*`: the fds of a poll event's `fds` parameter, looked up in the thread's
//! table; sysdig 0.29.3 gives each list as one comma-separated text.

use std::fmt::Write;

use super::super::Ctx;
use crate::state::params::{param_len, params_fit};
use crate::state::{table, Thread, HEADER_SIZE};
use crate::value::Value;
use crate::walk::EventRef;

/// What an `fdlist` field lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    Nums,
    Names,
    Cips,
    Sips,
    Cports,
    Sports,
}

/// The size of one entry of a `PT_FDLIST`: i64 fd, u16 flags.
const ENTRY: usize = 10;

pub fn extract<'a>(kind: ListKind, cx: &Ctx<'a>) -> Option<Value<'a>> {
    let data = fds_param(&cx.ev)?;
    let thread = cx.state.event_thread()?;
    let mut out = String::new();
    let mut count = 0usize;
    for num in fd_numbers(data) {
        if push(kind, thread, num, &mut out, count > 0) {
            count += 1;
        }
    }
    (count > 0).then(|| Value::Str(out.into()))
}

/// Append fd `num`'s item (after a comma when `comma`); false when it has none.
fn push(kind: ListKind, thread: &Thread, num: i64, out: &mut String, comma: bool) -> bool {
    let table = thread.fdtable.borrow();
    let info = table.get(&num.into());
    let sep = if comma { "," } else { "" };
    let written = match (kind, info) {
        (ListKind::Nums, _) => write!(out, "{sep}{num}"),
        (_, None) => return false,
        (ListKind::Names, Some(fd)) => write!(out, "{sep}{}", fd.name),
        (_, Some(fd)) if !fd.is_socket() || fd.dip.is_empty() => return false,
        (ListKind::Cips, Some(fd)) => write!(out, "{sep}{}", fd.sip),
        (ListKind::Sips, Some(fd)) => write!(out, "{sep}{}", fd.dip),
        (ListKind::Cports, Some(fd)) => write!(out, "{sep}{}", fd.sport),
        (ListKind::Sports, Some(fd)) => write!(out, "{sep}{}", fd.dport),
    };
    written.is_ok()
}

/// The fd numbers of a `PT_FDLIST` (u16 count, then count x (i64 fd, u16 flags)), cut
/// at the end of the data.
fn fd_numbers(data: &[u8]) -> impl Iterator<Item = i64> + '_ {
    let count = data
        .get(..2)
        .map_or(0, |b| usize::from(u16::from_le_bytes([b[0], b[1]])));
    data.get(2..)
        .unwrap_or_default()
        .chunks_exact(ENTRY)
        .take(count)
        .map(|entry| {
            let mut fd = [0u8; 8];
            fd.copy_from_slice(&entry[..8]);
            i64::from_le_bytes(fd)
        })
}

/// The data of the event's `fds` parameter; `None` when the event has none, it is
/// empty, or a parameter runs past the end of the event.
fn fds_param<'a>(ev: &EventRef<'a>) -> Option<&'a [u8]> {
    let info = table::event(ev.etype)?;
    let index = info
        .params
        .iter()
        .position(|p| p.name == "fds" && p.ptype == "PT_FDLIST")?;
    let (raw, nparams, large) = (ev.raw, ev.nparams as usize, ev.large);
    if index >= nparams || !params_fit(raw, nparams, large) {
        return None;
    }
    let width = if large { 4 } else { 2 };
    let before: usize = (0..index).map(|i| param_len(raw, i, large)).sum();
    let start = HEADER_SIZE + width * nparams + before;
    let data = raw.get(start..start + param_len(raw, index, large))?;
    (!data.is_empty()).then_some(data)
}

#[cfg(test)]
mod tests {
    use super::fd_numbers;

    #[test]
    fn fd_lists_cut_at_the_data_end() {
        let mut data = vec![3, 0];
        for fd in [5i64, -1] {
            data.extend_from_slice(&fd.to_le_bytes());
            data.extend_from_slice(&[1, 0]);
        }
        data.extend_from_slice(&[9, 9]); // a cut third entry
        assert_eq!(fd_numbers(&data).collect::<Vec<_>>(), vec![5, -1]);
        assert_eq!(fd_numbers(&[1]).count(), 0);
        assert_eq!(fd_numbers(&[]).count(), 0);
    }
}
