//! `scaptools._core.Print`: `scap print` of one capture file in the core
//! (`crate::print`, used by scaptools/view/incore.py).
//!
//! `Print(path, name, plan)` compiles the plan (a `ValueError` says what the core
//! cannot do: Python prints then). `.step(max_lines)` gives one batch:
//! `(text, lines, plugins, warnings, stop)`: the lines, their number, the plugin events
//! for Python to filter and render as `[(at, (offset, num, ts, cpu, tid, type, nparams,
//! raw, flags)), ...]` (`at`: where in `text` their line goes), and `stop`: `None`
//! (full), `("end",)`, `("error", kind, message, path, offset, block_type)` for a
//! walk error, or `("python", reason)` when Python must print the rest (after the
//! lines written so far).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};

use crate::print::{Batch, Plan, Printer, Stop};
use crate::walk::{ErrorKind, WalkError, Walker};

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyPrint>()
}

#[pyclass(name = "Print", module = "scaptools._core", unsendable)]
struct PyPrint {
    printer: Option<Printer>,
    /// the error of opening the capture, given by the first `step`
    failed: Option<WalkError>,
}

#[pymethods]
impl PyPrint {
    #[new]
    fn new(path: PathBuf, name: String, plan: &str) -> PyResult<PyPrint> {
        let plan = Plan::parse(plan).map_err(PyValueError::new_err)?;
        Ok(match Walker::open(&path, &name) {
            Ok(walker) => PyPrint {
                printer: Some(Printer::new(walker, plan)),
                failed: None,
            },
            Err(err) => PyPrint {
                printer: None,
                failed: Some(err),
            },
        })
    }

    /// One batch (see the module doc).
    fn step<'py>(&mut self, py: Python<'py>, max_lines: u64) -> PyResult<Bound<'py, PyTuple>> {
        let mut batch = Batch::default();
        let stop = match self.printer.as_mut() {
            None => match self.failed.take() {
                Some(err) => Stop::Error(err),
                None => Stop::End,
            },
            Some(printer) => {
                match catch_unwind(AssertUnwindSafe(|| printer.step(max_lines, &mut batch))) {
                    Ok(stop) => stop,
                    Err(_) => {
                        self.printer = None;
                        Stop::Python("internal error of the core's print loop".into())
                    }
                }
            }
        };
        let stop = stop_value(py, stop)?;
        let plugins = PyList::empty(py);
        for (at, h) in &batch.plugins {
            let raw = PyBytes::new(py, &h.raw);
            let event = (
                h.offset, h.num, h.ts, h.cpu, h.tid, h.etype, h.nparams, raw, h.flags,
            );
            plugins.append((at, event))?;
        }
        (batch.text, batch.lines, plugins, batch.warnings, stop).into_pyobject(py)
    }
}

fn stop_value<'py>(py: Python<'py>, stop: Stop) -> PyResult<Bound<'py, PyAny>> {
    Ok(match stop {
        Stop::Full => py.None().into_bound(py),
        Stop::End => ("end",).into_pyobject(py)?.into_any(),
        Stop::Python(why) => ("python", why).into_pyobject(py)?.into_any(),
        Stop::Error(err) => {
            let kind = if err.kind == ErrorKind::Truncated {
                "truncated"
            } else {
                "format"
            };
            (
                "error",
                kind,
                err.message,
                err.path,
                err.offset,
                err.block_type,
            )
                .into_pyobject(py)?
                .into_any()
        }
    })
}
