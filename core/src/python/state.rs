//! `scaptools._core.StateWalk`: the core's syscall state over one capture, for the
//! differential tests (tests/core/test_core_state*.py). `step()` seeds the state from
//! the metadata blocks up to the next event and applies that event; the tables, the
//! event's cache and the containers read back as plain Python values.

use std::path::PathBuf;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::state::threads::MAX_THREADS;
use crate::state::{ContainerKey, ContainerValue, Fd, Held, State, Thread};
use crate::walk::{is_metadata_block, EventRef, Item, Walker};

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyStateWalk>()
}

/// The walk of one capture with the state kept current.
#[pyclass(name = "StateWalk", module = "scaptools._core", unsendable)]
pub struct PyStateWalk {
    walker: Walker,
    pub(crate) state: State,
    /// metadata blocks seen since the last event: (offset, type, order, body)
    pending: Held,
    /// the last event applied, its bytes owned (what `SysFields.values` reads)
    pub(crate) last: Option<(EventRef<'static>, Vec<u8>)>,
}

#[pymethods]
impl PyStateWalk {
    /// Open the capture at `path` (plain or gzip) for a state of at most `max_threads`
    /// threads; a walk error is a `ValueError`.
    #[new]
    #[pyo3(signature = (path, max_threads = MAX_THREADS))]
    fn new(path: PathBuf, max_threads: usize) -> PyResult<Self> {
        let name = path.display().to_string();
        let walker = Walker::open(&path, &name).map_err(|e| PyValueError::new_err(e.message))?;
        Ok(PyStateWalk {
            walker,
            state: State::with_max_threads(max_threads),
            pending: Held::default(),
            last: None,
        })
    }

    /// Walk to the next event and apply it: `(num, type, tid)` of the event, or `None`
    /// at the end. The metadata blocks before it are applied first, as
    /// `tracked_events` applies them (when the next event comes); a walk error, a list
    /// that does not parse or a damaged event the state has to read raises
    /// `ValueError` (after every event before it).
    fn step(&mut self) -> PyResult<Option<(u64, u16, u64)>> {
        let PyStateWalk {
            walker,
            state,
            pending,
            last,
        } = self;
        *last = None;
        while let Some(item) = walker.next_item() {
            match item.map_err(|e| PyValueError::new_err(e.message))? {
                Item::Block(block) => {
                    if !is_metadata_block(block.block_type) {
                        continue;
                    }
                    State::new().seed(&block).map_err(|e| {
                        PyValueError::new_err(format!("block at {}: {e}", block.offset))
                    })?;
                    pending.hold(&block);
                }
                Item::Event(ev) => {
                    pending
                        .apply(state)
                        .map_err(|(_, why)| PyValueError::new_err(why))?;
                    state
                        .update(&ev)
                        .map_err(|e| PyValueError::new_err(format!("event {}: {e}", ev.num)))?;
                    let head = EventRef { raw: &[], ..ev };
                    *last = Some((head, ev.raw.to_vec()));
                    return Ok(Some((ev.num, ev.etype, ev.tid)));
                }
            }
        }
        Ok(None)
    }

    /// `{tid: {field: value, ..., "fds": {num: {field: value}}, "fdtable": id}}`; threads
    /// with the same `fdtable` id share one fd table.
    fn threads<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let out = PyDict::new(py);
        for (tid, thread) in self.state.threads.iter() {
            out.set_item(tid, thread_dict(py, thread)?)?;
        }
        Ok(out)
    }

    /// The tids of the thread table.
    fn tids(&self) -> Vec<i128> {
        self.state.threads.keys().copied().collect()
    }

    /// One thread as `threads()` gives it, or `None`.
    fn thread<'py>(&self, py: Python<'py>, tid: i128) -> PyResult<Option<Bound<'py, PyDict>>> {
        self.state
            .threads
            .get(&tid)
            .map(|t| thread_dict(py, t))
            .transpose()
    }

    /// `{uid: {"uid", "gid", "name", "home", "shell"}}`.
    fn users<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let out = PyDict::new(py);
        for (uid, user) in &self.state.users {
            let one = PyDict::new(py);
            one.set_item("uid", user.uid)?;
            one.set_item("gid", user.gid)?;
            one.set_item("name", &user.name)?;
            one.set_item("home", &user.home)?;
            one.set_item("shell", &user.shell)?;
            out.set_item(uid, one)?;
        }
        Ok(out)
    }

    /// The interface addresses (4 or 16 bytes each), sorted.
    fn interfaces(&self) -> Vec<Vec<u8>> {
        let mut all: Vec<Vec<u8>> = self.state.interfaces.iter().cloned().collect();
        all.sort();
        all
    }

    /// The time of the first event that is not a plugin event, or `None`.
    fn first_ts(&self) -> Option<u64> {
        self.state.first_ts
    }

    /// The last event's cache: `{"thread": tid or None, "gone": the thread was dropped
    /// from the table by its own event, "fd": as `threads()` gives an fd plus
    /// "pending", or None, "fd_new", "latency", "exectime"}`.
    fn cache<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let state = &self.state;
        let d = PyDict::new(py);
        let thread = state.event_thread();
        d.set_item("thread", thread.map(|t| t.tid))?;
        let gone = thread.is_some_and(|t| {
            !state
                .threads
                .get(&t.tid)
                .is_some_and(|k| std::ptr::eq(k, t))
        });
        d.set_item("gone", gone)?;
        match state.event_fd() {
            Some(fd) => {
                let one = fd_dict(py, fd)?;
                one.set_item("pending", fd.pending())?;
                d.set_item("fd", one)?;
            }
            None => d.set_item("fd", py.None())?,
        }
        d.set_item("fd_new", state.fd_new())?;
        d.set_item("latency", state.event_latency())?;
        d.set_item("exectime", state.event_exectime())?;
        Ok(d)
    }

    /// `{id: JSON text}`: what the container events said, by 12-character id.
    fn containers<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let out = PyDict::new(py);
        for (id, info) in self.state.containers() {
            out.set_item(id, info.to_string())?;
        }
        Ok(out)
    }

    /// `container_value(state, thread, key)` of thread `tid` for each key: the value,
    /// or None; `None` for no such thread. Reading sets the thread's container id, as
    /// the Python reading does.
    fn container_values<'py>(
        &self,
        py: Python<'py>,
        tid: i128,
        keys: Vec<String>,
    ) -> PyResult<Option<Bound<'py, PyList>>> {
        let Some(thread) = self.state.threads.get(&tid) else {
            return Ok(None);
        };
        let out = PyList::empty(py);
        for key in keys {
            let key = ContainerKey::of(&key)
                .ok_or_else(|| PyValueError::new_err(format!("no container key {key}")))?;
            match self.state.container_value(thread, key) {
                None => out.append(py.None())?,
                Some(ContainerValue::Text(text)) => out.append(text.as_ref())?,
                Some(ContainerValue::Json(value)) => out.append(json_to_python(py, value)?)?,
            }
        }
        Ok(Some(out))
    }

    /// `{gid: name}`.
    fn groups<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let out = PyDict::new(py);
        for (gid, name) in &self.state.groups {
            out.set_item(gid, name)?;
        }
        Ok(out)
    }
}

fn thread_dict<'py>(py: Python<'py>, t: &Thread) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    let ints = [
        ("tid", t.tid),
        ("pid", t.pid),
        ("ptid", t.ptid),
        ("sid", t.sid),
        ("vpgid", t.vpgid),
        ("pgid", t.pgid),
        ("fdlimit", t.fdlimit),
        ("flags", t.flags),
        ("uid", t.uid),
        ("gid", t.gid),
        ("loginuid", t.loginuid),
        ("vtid", t.vtid),
        ("vpid", t.vpid),
        ("vmsize_kb", t.vmsize_kb),
        ("vmrss_kb", t.vmrss_kb),
        ("vmswap_kb", t.vmswap_kb),
        ("pfmajor", t.pfmajor),
        ("pfminor", t.pfminor),
        ("tty", t.tty),
        ("exe_writable", t.exe_writable),
        ("cap_inheritable", t.cap_inheritable),
        ("cap_permitted", t.cap_permitted),
        ("cap_effective", t.cap_effective),
        ("clone_ts", t.clone_ts),
        ("pidns_init_start_ts", t.pidns_init_start_ts),
        ("lastexec_ts", t.lastexec_ts),
        ("last_latency", t.last_latency),
        ("totexectime", t.totexectime),
    ];
    for (key, value) in ints {
        d.set_item(key, value)?;
    }
    let texts = [
        ("comm", &t.comm),
        ("exe", &t.exe),
        ("exepath", &t.exepath),
        ("cwd", &t.cwd),
        ("root", &t.root),
    ];
    for (key, value) in texts {
        d.set_item(key, value)?;
    }
    d.set_item("args", &t.args)?;
    d.set_item("env", &t.env)?;
    d.set_item("cgroups", &t.cgroups)?;
    d.set_item("exited", t.exited)?;
    d.set_item("dummy", t.dummy)?;
    d.set_item("in_call", t.in_call)?;
    d.set_item("lastevent_fd", t.lastevent_fd)?;
    d.set_item("fdtable", t.fdtable.id())?;
    let fds = PyDict::new(py);
    for (num, fd) in t.fdtable.borrow().iter() {
        fds.set_item(num, fd_dict(py, fd)?)?;
    }
    d.set_item("fds", fds)?;
    Ok(d)
}

fn fd_dict<'py>(py: Python<'py>, f: &Fd) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    let ints = [
        ("num", f.num),
        ("type", f.ftype),
        ("l4proto", f.l4proto),
        ("sport", f.sport),
        ("dport", f.dport),
        ("flags", f.flags),
        ("ino", f.ino),
        ("dev", f.dev),
        ("pending_l4", f.pending_l4),
    ];
    for (key, value) in ints {
        d.set_item(key, value)?;
    }
    d.set_item("name", &f.name)?;
    d.set_item("sip", &f.sip)?;
    d.set_item("dip", &f.dip)?;
    d.set_item("pdip", &f.pdip)?;
    d.set_item("is_server", f.is_server)?;
    d.set_item("client", f.client)?;
    Ok(d)
}

fn json_to_python<'py>(py: Python<'py>, value: &serde_json::Value) -> PyResult<Bound<'py, PyAny>> {
    use serde_json::Value as Json;
    Ok(match value {
        Json::Null => py.None().into_bound(py),
        Json::Bool(b) => b.into_pyobject(py)?.to_owned().into_any(),
        Json::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(v), _) => v.into_pyobject(py)?.into_any(),
            (None, Some(v)) => v.into_pyobject(py)?.into_any(),
            _ => n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any(),
        },
        Json::String(s) => s.into_pyobject(py)?.into_any(),
        Json::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(json_to_python(py, item)?)?;
            }
            list.into_any()
        }
        Json::Object(members) => {
            let dict = PyDict::new(py);
            for (key, item) in members {
                dict.set_item(key, json_to_python(py, item)?)?;
            }
            dict.into_any()
        }
    })
}
