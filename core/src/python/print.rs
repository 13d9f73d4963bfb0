//! `scaptools._core.Print`: `scap print` of one capture file in the core
//! (`crate::print`, used by scaptools/view/incore.py).
//!
//! `Print(path, name, plan, rules, classes)` compiles the plan (a `ValueError` says what
//! the core cannot do: Python prints then); `rules` are the `Rules` of the plan's plugin
//! routes, `classes` = `(Event, FormatError, TruncatedCapture)`. `.step(max_lines)`
//! gives one batch: `(text, lines, plugins, warnings, stop)`: the lines, their number,
//! the plugin events for Python to render as `[(at, event, selected), ...]` (`at`:
//! where in `text` their line goes; `selected`: the core's rules chose it, else Python's
//! filter decides), and `stop`: `None` (full), `("end",)`, `("error", exception)` for a
//! walk error, or `("python", reason)` when Python must print the rest (after the lines
//! written so far).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple, PyType};

use super::eval::PyRules;
use super::walk::Classes;
use crate::print::{Batch, Plan, Printer, Stop};
use crate::replay::Source;
use crate::walk::{EventRef, WalkError, Walker};

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyPrint>()
}

#[pyclass(name = "Print", module = "scaptools._core", unsendable)]
struct PyPrint {
    printer: Option<Printer>,
    /// the rules of the plugin routes
    rules: Vec<Py<PyRules>>,
    classes: Classes,
    /// the error of opening the capture, given by the first `step`
    failed: Option<WalkError>,
}

#[pymethods]
impl PyPrint {
    #[new]
    fn new(
        py: Python<'_>,
        path: PathBuf,
        name: String,
        plan: &str,
        rules: Vec<Py<PyRules>>,
        classes: (Bound<'_, PyType>, Bound<'_, PyAny>, Bound<'_, PyAny>),
    ) -> PyResult<PyPrint> {
        let plan = Plan::parse(plan).map_err(PyValueError::new_err)?;
        let classes = Classes::new(py, classes)?;
        let (printer, failed) = match Walker::open(&path, &name) {
            Ok(walker) => (Some(Printer::new(walker, plan)), None),
            Err(err) => (None, Some(err)),
        };
        Ok(PyPrint {
            printer,
            rules,
            classes,
            failed,
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
                let sources: Vec<&Source> = self.rules.iter().map(|r| &r.get().source).collect();
                let step = catch_unwind(AssertUnwindSafe(|| {
                    printer.step(&sources, max_lines, &mut batch)
                }));
                match step {
                    Ok(stop) => stop,
                    Err(_) => {
                        self.printer = None;
                        Stop::Python("internal error of the core's print loop".into())
                    }
                }
            }
        };
        let plugins = PyList::empty(py);
        for (at, h, selected) in &batch.plugins {
            let ev = EventRef {
                offset: h.offset,
                num: h.num,
                ts: h.ts,
                tid: h.tid,
                cpu: h.cpu,
                etype: h.etype,
                nparams: h.nparams,
                flags: h.flags,
                block_type: 0,
                large: true,
                raw: &h.raw,
            };
            plugins.append((at, self.classes.event(py, &ev)?, selected))?;
        }
        let stop = match stop {
            Stop::Full => py.None().into_bound(py),
            Stop::End => ("end",).into_pyobject(py)?.into_any(),
            Stop::Python(why) => ("python", why).into_pyobject(py)?.into_any(),
            Stop::Error(err) => ("error", self.classes.error(py, err)?)
                .into_pyobject(py)?
                .into_any(),
        };
        (batch.text, batch.lines, plugins, batch.warnings, stop).into_pyobject(py)
    }
}
