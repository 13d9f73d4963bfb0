//! Memory and page-fault counters carried by brk, mmap, munmap, switch, execve ...
//! (`plans.update_memory`): read in place when the parameters up to the last counter
//! have their fixed sizes, else each counter whose own length is right, after a check
//! of the whole event. The `vm*` counters belong to the process: they go to its main
//! thread.

use super::params::{param_len, params_fit};
use super::table::{EventInfo, Memory, MemoryField};
use super::{Int, State, Thread, HEADER_SIZE};
use crate::walk::EventRef;

/// At most this many counters per event (five memory and page-fault fields).
const MAX_COUNTERS: usize = 8;

/// The counters of one event: `(field, value)`; `Err` for a damaged event.
fn read(memory: &Memory, ev: &EventRef<'_>) -> Result<Counters, String> {
    let nparams = ev.nparams as usize;
    let mut out = Counters::default();
    if nparams > 32 || ev.large {
        return Ok(out);
    }
    let raw = ev.raw;
    let start = HEADER_SIZE + 2 * nparams;
    let mut lens = [0usize; 32];
    for (i, len) in lens.iter_mut().enumerate().take(nparams) {
        *len = param_len(raw, i, false);
    }
    let lens = &lens[..nparams];
    let in_place = memory.sizes.as_ref().is_some_and(|sizes| {
        nparams >= sizes.len()
            && lens[..sizes.len()] == sizes[..]
            && start + sizes.iter().sum::<usize>() <= raw.len()
    });
    if !in_place && !params_fit(raw, nparams, false) {
        return Err("a parameter runs past the end of the event".into());
    }
    for counter in &memory.counters {
        if counter.index >= nparams || lens[counter.index] != counter.size {
            continue;
        }
        let at = start + lens[..counter.index].iter().sum::<usize>();
        let mut buf = [0u8; 8];
        buf[..counter.size].copy_from_slice(&raw[at..at + counter.size]);
        out.push(counter.field, Int::from(u64::from_le_bytes(buf)));
    }
    Ok(out)
}

/// The counters one event carries (no allocation per event).
#[derive(Default)]
struct Counters {
    items: [Option<(MemoryField, Int)>; MAX_COUNTERS],
    len: usize,
}

impl Counters {
    fn push(&mut self, field: MemoryField, value: Int) {
        if let Some(slot) = self.items.get_mut(self.len) {
            *slot = Some((field, value));
            self.len += 1;
        }
    }
}

/// Set one counter field of a thread.
pub fn set(thread: &mut Thread, field: MemoryField, value: Int) {
    let slot = match field {
        MemoryField::VmSize => &mut thread.vmsize_kb,
        MemoryField::VmRss => &mut thread.vmrss_kb,
        MemoryField::VmSwap => &mut thread.vmswap_kb,
        MemoryField::PfMajor => &mut thread.pfmajor,
        MemoryField::PfMinor => &mut thread.pfminor,
    };
    *slot = value;
}

/// Apply the counters of `ev` to `thread` (out of the table while it runs) and its
/// main thread.
pub fn apply(
    state: &mut State,
    thread: &mut Thread,
    info: Option<&'static EventInfo>,
    ev: &EventRef<'_>,
) -> Result<(), String> {
    let Some(memory) = info.and_then(|i| i.memory.as_ref()) else {
        return Ok(());
    };
    for (field, value) in read(memory, ev)?.items.into_iter().flatten() {
        let main = if field.of_process() && thread.pid != thread.tid {
            state.threads.get_mut(&thread.pid)
        } else {
            None
        };
        match main {
            Some(main) => set(main, field, value),
            None => set(thread, field, value),
        }
    }
    Ok(())
}
