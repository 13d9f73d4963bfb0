//! What `scap info` counts of a capture's events (`Summary.add_events` in
//! `scaptools/ops/info.py`), counted during the walk without making event objects:
//! events by type, plugin events by plugin id, the timestamps in file order and in time
//! order, the events whose parameters run past their end.

use std::collections::BTreeMap;

use super::item::EventRef;
use super::table::is_large;

/// The type id of plugin events (`pluginevent`, docs/format.md §10.3).
const PLUGINEVENT: u16 = 322;
/// The v2 event header; the parameter lengths follow it (§9.2-§9.3).
const HEADER: usize = 26;

/// Counters over the events of a walk.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// count by event type id (all 65536 ids once the first event is counted)
    by_type: Vec<u64>,
    /// plugin events whose parameters fit, by plugin id (`None`: no 4-byte id)
    pub plugins: BTreeMap<Option<u32>, u64>,
    /// the first and last timestamps in file order
    pub first_ts: Option<u64>,
    pub last_ts: Option<u64>,
    pub earliest: Option<u64>,
    pub latest: Option<u64>,
    /// events earlier than the event before them
    pub inversions: u64,
    /// events whose parameter lengths run past their end
    pub damaged: u64,
    pub events: u64,
}

impl Tally {
    /// Count one event; true when its parameters do not fit it (a damaged event).
    pub fn add(&mut self, ev: &EventRef<'_>) -> bool {
        self.events += 1;
        if self.by_type.is_empty() {
            self.by_type = vec![0; 1 << 16];
        }
        self.by_type[usize::from(ev.etype)] += 1;
        let fits = params_fit(ev.raw, ev.etype, ev.nparams);
        if !fits {
            self.damaged += 1;
        } else if ev.etype == PLUGINEVENT {
            *self
                .plugins
                .entry(plugin_id(ev.raw, ev.nparams))
                .or_default() += 1;
        }
        self.add_time(ev.ts);
        !fits
    }

    fn add_time(&mut self, ts: u64) {
        match self.last_ts {
            None => {
                self.first_ts = Some(ts);
                self.earliest = Some(ts);
                self.latest = Some(ts);
            }
            Some(last) if ts < last => {
                self.inversions += 1;
                if self.earliest.is_some_and(|e| ts < e) {
                    self.earliest = Some(ts);
                }
            }
            Some(_) => {
                if self.latest.is_some_and(|l| ts > l) {
                    self.latest = Some(ts);
                }
            }
        }
        self.last_ts = Some(ts);
    }

    /// `(event type, count)` of every type seen, by type.
    pub fn by_type(&self) -> Vec<(u16, u64)> {
        let seen = self.by_type.iter().enumerate().filter(|(_, &n)| n > 0);
        seen.map(|(t, &n)| (t as u16, n)).collect()
    }
}

/// Whether every parameter of a v2 event fits inside it (`events.event.params_fit`):
/// its length array, then the data the lengths announce (§9.3).
pub fn params_fit(raw: &[u8], etype: u16, nparams: u32) -> bool {
    let width: usize = if is_large(etype) { 4 } else { 2 };
    let Some(start) = (nparams as usize)
        .checked_mul(width)
        .and_then(|n| n.checked_add(HEADER))
    else {
        return false;
    };
    if start > raw.len() {
        return false;
    }
    let lengths = raw[HEADER..start].chunks_exact(width);
    let data: u64 = lengths
        .map(|one| match *one {
            [a, b] => u64::from(u16::from_le_bytes([a, b])),
            [a, b, c, d] => u64::from(u32::from_le_bytes([a, b, c, d])),
            _ => 0,
        })
        .sum();
    start as u64 + data <= raw.len() as u64
}

/// The plugin id of a plugin event whose parameters fit: its first parameter when it
/// is 4 bytes long (`Event.plugin_id`).
pub fn plugin_id(raw: &[u8], nparams: u32) -> Option<u32> {
    if nparams < 1 {
        return None;
    }
    let start = HEADER + 4 * nparams as usize;
    let first = raw.get(HEADER..HEADER + 4)?;
    if u32::from_le_bytes(first.try_into().ok()?) != 4 {
        return None;
    }
    let id = raw.get(start..start + 4)?;
    Some(u32::from_le_bytes(id.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::super::source::from_bytes;
    use super::super::tests::{event_block, event_v2, shb};
    use super::super::{Walker, BLOCK_EV_V2, BLOCK_EV_V2_LARGE};
    use super::*;

    #[test]
    fn counts_types_plugins_times_and_damage() {
        let mut data = shb(false, 1, 2);
        for (ts, id) in [(5u64, 2u32), (3, 2), (9, 7)] {
            let ev = event_v2(false, ts, PLUGINEVENT, &[&id.to_le_bytes(), b"{}"]);
            data.extend(event_block(false, BLOCK_EV_V2_LARGE, 0, None, &ev));
        }
        let mut damaged = event_v2(false, 4, 3, &[&[0; 8]]);
        damaged[26] = 9; // a length of 9 where 8 bytes are left
        data.extend(event_block(false, BLOCK_EV_V2, 0, None, &damaged));
        let mut walker = Walker::new(from_bytes(data, "t"), "t");
        let mut tally = Tally::default();
        let mut flags = Vec::new();
        while let Some(ev) = walker.next_event() {
            flags.push(tally.add(&ev.unwrap()));
        }
        assert_eq!(flags, [false, false, false, true]);
        assert_eq!(tally.by_type(), [(3, 1), (PLUGINEVENT, 3)]);
        assert_eq!(
            tally.plugins.into_iter().collect::<Vec<_>>(),
            [(Some(2), 2), (Some(7), 1)]
        );
        let times = (tally.first_ts, tally.last_ts, tally.earliest, tally.latest);
        assert_eq!(times, (Some(5), Some(4), Some(3), Some(9)));
        assert_eq!((tally.inversions, tally.damaged, tally.events), (2, 1, 4));
    }

    #[test]
    fn parameters_that_fit_and_do_not() {
        let ok = event_v2(false, 1, 3, &[&[1, 2], b"abc"]);
        assert!(params_fit(&ok, 3, 2));
        assert!(!params_fit(&ok, 3, 3));
        assert!(!params_fit(&ok[..ok.len() - 1], 3, 2));
        assert!(!params_fit(&ok, 3, u32::MAX));
        let plugin = event_v2(false, 1, PLUGINEVENT, &[&[1, 2, 3], b"x"]);
        assert!(params_fit(&plugin, PLUGINEVENT, 2));
        assert_eq!(plugin_id(&plugin, 2), None); // a 3-byte id
    }
}
