//! `scaptools._core.Walker`: the capture walk for the Python reader
//! (`scaptools/core/walk.py`), its events built in batches as `Event` objects.
//!
//! A batch is a run of events, then the non-event block that ended the run (or the
//! error that ended the walk), so that Python sees every block in file order and
//! raises an error only after the events before it. Errors are the Python reader's
//! exception classes, handed in by the caller; a panic inside the walk comes out of
//! the walker as a `FormatError` naming the file and the offset of the block being read.

mod pysource;
mod slots;

use std::path::PathBuf;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple, PyType};

use crate::walk::{BlockRef, ErrorKind, EventRef, Item, Tally, WalkError, Walker};
use pysource::PySource;
use slots::SlotWriter;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyWalker>()
}

/// The Python classes a walk builds: `Event`, `FormatError`, `TruncatedCapture`.
pub(super) struct Classes {
    event: Py<PyType>,
    format_error: Py<PyAny>,
    truncated: Py<PyAny>,
    /// `object.__new__`: makes an `Event` without running its `__init__`
    new: Py<PyAny>,
    /// the slot names set on each event, interned once per walker
    names: [Py<PyString>; 8],
    /// writes the slots in place when `Event` is laid out as expected
    slots: Option<SlotWriter>,
}

impl Classes {
    pub(super) fn new(
        py: Python<'_>,
        classes: (Bound<'_, PyType>, Bound<'_, PyAny>, Bound<'_, PyAny>),
    ) -> PyResult<Classes> {
        let (event, format_error, truncated) = classes;
        let new = py.get_type::<pyo3::types::PyAny>().getattr("__new__")?;
        let names = [
            "num", "ts", "cpu", "tid", "type", "nparams", "raw", "_offset",
        ];
        Ok(Classes {
            slots: SlotWriter::new(&event, &names),
            event: event.unbind(),
            format_error: format_error.unbind(),
            truncated: truncated.unbind(),
            new: new.unbind(),
            names: names.map(|name| PyString::intern(py, name).unbind()),
        })
    }

    /// The Python exception for a walk error: the source's own exception when it
    /// came from a Python file object, else `FormatError`/`TruncatedCapture`.
    pub(super) fn error(&self, py: Python<'_>, err: WalkError) -> PyResult<Py<PyAny>> {
        if let Some(cause) = err.cause {
            if let Ok(pyerr) = cause.downcast::<PyErr>() {
                return Ok(pyerr.into_value(py).into_any());
            }
        }
        let class = match err.kind {
            ErrorKind::Format => &self.format_error,
            ErrorKind::Truncated => &self.truncated,
        };
        let exc = class
            .bind(py)
            .call1((err.message, err.path, err.offset, err.block_type))?;
        Ok(exc.unbind())
    }

    /// An `Event` with the fields the reader's fast path sets.
    pub(super) fn event<'py>(
        &self,
        py: Python<'py>,
        ev: &EventRef<'_>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let values = [
            ev.num.into_pyobject(py)?.into_any(),
            ev.ts.into_pyobject(py)?.into_any(),
            ev.cpu.into_pyobject(py)?.into_any(),
            ev.tid.into_pyobject(py)?.into_any(),
            ev.etype.into_pyobject(py)?.into_any(),
            ev.nparams.into_pyobject(py)?.into_any(),
            PyBytes::new(py, ev.raw).into_any(),
            ev.offset.into_pyobject(py)?.into_any(),
        ];
        let obj = match &self.slots {
            Some(slots) => slots.make(self.event.bind(py), values)?,
            None => {
                let obj = self.new.bind(py).call1((self.event.bind(py),))?;
                for (name, value) in self.names.iter().zip(values) {
                    obj.setattr(name.bind(py), value)?;
                }
                obj
            }
        };
        if ev.flags != 0 {
            obj.setattr("_flags", ev.flags)?;
        }
        Ok(obj)
    }
}

/// What `next_batch` returns: events, then the block or the error that ended them.
type Batch<'py> = (
    Bound<'py, PyList>,
    Option<Bound<'py, PyTuple>>,
    Option<Py<PyAny>>,
);

/// What `tally` returns: events counted, then the block or the error that ended them,
/// and the first damaged event.
type Tallied<'py> = (
    usize,
    Option<Bound<'py, PyTuple>>,
    Option<Py<PyAny>>,
    Option<Bound<'py, PyAny>>,
);

/// `(offset, type, body, order)` of a non-event block, as the reader takes it.
fn block_tuple<'py>(py: Python<'py>, block: &BlockRef<'_>) -> PyResult<Bound<'py, PyTuple>> {
    let body = PyBytes::new(py, block.body);
    let head = (block.offset, block.block_type, body, block.order.code());
    PyTuple::new(py, head.into_pyobject(py)?)
}

/// The walk of one capture, for `scaptools.core.walk`.
#[pyclass(name = "Walker", module = "scaptools._core")]
pub struct PyWalker {
    walker: Walker,
    classes: Classes,
    /// the events counted by `tally`, and whether its first damaged event was given
    tally: Tally,
    damaged_given: bool,
}

impl PyWalker {
    fn new(walker: Walker, classes: Classes) -> PyWalker {
        PyWalker {
            walker,
            classes,
            tally: Tally::default(),
            damaged_given: false,
        }
    }
}

#[pymethods]
impl PyWalker {
    /// Open the capture at `path` (plain or gzip); `name` is its name in errors;
    /// `classes` = `(Event, FormatError, TruncatedCapture)`.
    #[staticmethod]
    fn open(
        py: Python<'_>,
        path: PathBuf,
        name: &str,
        classes: (Bound<'_, PyType>, Bound<'_, PyAny>, Bound<'_, PyAny>),
    ) -> PyResult<PyWalker> {
        let classes = Classes::new(py, classes)?;
        match Walker::open(&path, name) {
            Ok(walker) => Ok(PyWalker::new(walker, classes)),
            Err(err) => Err(PyErr::from_value(classes.error(py, err)?.into_bound(py))),
        }
    }

    /// Walk the bytes of a Python source object (`read(size)`, `cut_short`,
    /// `compression`); `name` is the capture's name in errors.
    #[staticmethod]
    fn from_source(
        py: Python<'_>,
        source: Bound<'_, PyAny>,
        name: &str,
        classes: (Bound<'_, PyType>, Bound<'_, PyAny>, Bound<'_, PyAny>),
    ) -> PyResult<PyWalker> {
        let classes = Classes::new(py, classes)?;
        let kind: String = source.getattr("compression")?.extract()?;
        let compression = if kind == "gzip" { "gzip" } else { "none" };
        let source = PySource {
            source: source.unbind(),
            compression,
            path: name.to_string(),
        };
        let walker = Walker::new(Box::new(source), name);
        Ok(PyWalker::new(walker, classes))
    }

    /// Up to `limit` events, then what ended the run: `(events, block, error)` with
    /// `block` = `(offset, type, body, order)` of the non-event block that followed
    /// them, `error` the exception to raise after them. `([], None, None)` at the end.
    /// With `pairs`, each event comes as `(offset, event)`, as `reader.blocks()` gives.
    fn next_batch<'py>(
        &mut self,
        py: Python<'py>,
        limit: usize,
        pairs: bool,
    ) -> PyResult<Batch<'py>> {
        let events = PyList::empty(py);
        let PyWalker {
            walker, classes, ..
        } = self;
        while events.len() < limit {
            let item = match walker.next_item() {
                Some(Ok(item)) => item,
                None => break,
                Some(Err(err)) => return Ok((events, None, Some(classes.error(py, err)?))),
            };
            match item {
                Item::Event(ev) if pairs => events.append((ev.offset, classes.event(py, &ev)?))?,
                Item::Event(ev) => events.append(classes.event(py, &ev)?)?,
                Item::Block(block) => {
                    let body = PyBytes::new(py, block.body);
                    let head = (block.offset, block.block_type, body, block.order.code());
                    return Ok((
                        events,
                        Some(PyTuple::new(py, head.into_pyobject(py)?)?),
                        None,
                    ));
                }
            }
        }
        Ok((events, None, None))
    }

    /// Count up to `limit` events in the core instead of returning them (what
    /// `scap info` counts), until a non-event block or an error:
    /// `(events counted, block, error, damaged)`, `damaged` being the first event whose
    /// parameters run past its end, once. `(0, None, None, None)` at the end.
    fn tally<'py>(&mut self, py: Python<'py>, limit: usize) -> PyResult<Tallied<'py>> {
        let PyWalker {
            walker,
            classes,
            tally,
            damaged_given,
        } = self;
        let mut counted = 0;
        let mut damaged = None;
        while counted < limit {
            let item = match walker.next_item() {
                Some(Ok(item)) => item,
                None => break,
                Some(Err(err)) => {
                    return Ok((counted, None, Some(classes.error(py, err)?), damaged))
                }
            };
            match item {
                Item::Event(ev) => {
                    counted += 1;
                    if tally.add(&ev) && !*damaged_given {
                        *damaged_given = true;
                        damaged = Some(classes.event(py, &ev)?);
                    }
                }
                Item::Block(block) => {
                    return Ok((counted, Some(block_tuple(py, &block)?), None, damaged))
                }
            }
        }
        Ok((counted, None, None, damaged))
    }

    /// What `tally` counted: a dict of `events` (type, count) pairs, `plugins` (plugin
    /// id or None, count) pairs, `first_ts`, `last_ts`, `earliest`, `latest`,
    /// `inversions`, `damaged`.
    fn tally_counts<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let t = &self.tally;
        let out = PyDict::new(py);
        out.set_item("events", t.by_type())?;
        out.set_item(
            "plugins",
            t.plugins.iter().map(|(k, v)| (*k, *v)).collect::<Vec<_>>(),
        )?;
        out.set_item("first_ts", t.first_ts)?;
        out.set_item("last_ts", t.last_ts)?;
        out.set_item("earliest", t.earliest)?;
        out.set_item("latest", t.latest)?;
        out.set_item("inversions", t.inversions)?;
        out.set_item("damaged", t.damaged)?;
        Ok(out)
    }

    /// Close the capture file the walker opened (`Walker.open`); the reader calls it
    /// from its `close()`.
    fn close(&mut self) {
        self.walker.close();
    }

    /// `(block type, count)` of every block type seen so far.
    fn counts(&self) -> Vec<(u32, u64)> {
        self.walker.counts().by_type()
    }

    #[getter]
    fn truncated(&self) -> bool {
        self.walker.truncated()
    }

    #[getter]
    fn compression(&self) -> &'static str {
        self.walker.compression()
    }

    #[getter]
    fn events_read(&self) -> u64 {
        self.walker.events_read()
    }
}
