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

use std::path::PathBuf;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple, PyType};

use super::eval::PyRules;
use super::fileloop::{FileLoop, Ran};
use crate::print::{Batch, Plan, Printer, Stop};
use crate::walk::EventRef;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyPrint>()
}

#[pyclass(name = "Print", module = "scaptools._core", unsendable)]
struct PyPrint(FileLoop<Printer>);

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
        FileLoop::open(py, &path, &name, rules, classes, |walker| {
            Printer::new(walker, plan)
        })
        .map(PyPrint)
    }

    /// One batch (see the module doc).
    fn step<'py>(&mut self, py: Python<'py>, max_lines: u64) -> PyResult<Bound<'py, PyTuple>> {
        let mut batch = Batch::default();
        let stop = match self
            .0
            .step(|printer, sources| printer.step(sources, max_lines, &mut batch))
        {
            Ran::Stop(stop) => stop,
            Ran::Failed(err) => Stop::Error(err),
            Ran::Over => Stop::End,
            Ran::Broke => Stop::Python("internal error of the core's print loop".into()),
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
            plugins.append((at, self.0.classes.event(py, &ev)?, selected))?;
        }
        let stop = match stop {
            Stop::Full => py.None().into_bound(py),
            Stop::End => ("end",).into_pyobject(py)?.into_any(),
            Stop::Python(why) => ("python", why).into_pyobject(py)?.into_any(),
            Stop::Error(err) => ("error", self.0.classes.error(py, err)?)
                .into_pyobject(py)?
                .into_any(),
        };
        (batch.text, batch.lines, plugins, batch.warnings, stop).into_pyobject(py)
    }
}
