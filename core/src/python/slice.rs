//! `scaptools._core.Slice`: `scap slice` of one capture file in the core (`crate::slice`,
//! used by scaptools/ops/slice_core.py).
//!
//! `Slice(path, name, plan, rules, classes, low, high)`: `plan` is a print plan
//! (`crate::print::plan`, its filter and plugin routes) with a `"slice"` object:
//! `{"keep": [id...], "paired": [id...], "carried": [block type...], "filtered": bool}`;
//! `low` and `high` are `(after_first, ns)`: a time, or an offset from the first
//! event's. A `ValueError` says what the core cannot do (Python slices then).
//! `.step()` gives one batch: `(start, blocks, count, carried, waiting, warnings, stop)`:
//! the slice's metadata `[(type, body, big_endian)...]` when it starts in this batch (else `None`),
//! the event blocks and their number, the enter events carried `[(ts, block)...]`,
//! whether calls still wait (the blocks are then held), and `stop`: `None` (go on),
//! `("end", metadata)` (the metadata of a slice without events), `("error", exception)`,
//! `("window",)` (the end is before the start) or `("python", reason)`.

use std::path::PathBuf;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple, PyType};
use serde_json::Value as Json;

use super::eval::PyRules;
use super::fileloop::{FileLoop, Ran};
use crate::print::plan::TypeSet;
use crate::print::Plan;
use crate::slice::{Batch, Block, Edge, Options, Slicer, Stop};

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PySlice>()
}

#[pyclass(name = "Slice", module = "scaptools._core", unsendable)]
struct PySlice(FileLoop<Slicer>);

fn numbers(json: &Json, key: &str) -> PyResult<Vec<u64>> {
    json.get(key)
        .and_then(Json::as_array)
        .map(|items| items.iter().filter_map(Json::as_u64).collect())
        .ok_or_else(|| PyValueError::new_err(format!("the slice plan has no {key}")))
}

fn bound((after, ns): (bool, u128)) -> Edge {
    if after {
        Edge::After(ns)
    } else {
        Edge::At(ns)
    }
}

fn blocks<'py>(py: Python<'py>, meta: &[Block]) -> PyResult<Bound<'py, PyList>> {
    let out = PyList::empty(py);
    for (btype, body, big) in meta {
        out.append((btype, PyBytes::new(py, body), big))?;
    }
    Ok(out)
}

#[pymethods]
impl PySlice {
    #[new]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        path: PathBuf,
        name: String,
        plan: &str,
        rules: Vec<Py<PyRules>>,
        classes: (Bound<'_, PyType>, Bound<'_, PyAny>, Bound<'_, PyAny>),
        low: (bool, u128),
        high: (bool, u128),
    ) -> PyResult<PySlice> {
        let json: Json =
            serde_json::from_str(plan).map_err(|e| PyValueError::new_err(e.to_string()))?;
        let slice = json.get("slice").cloned().unwrap_or(Json::Null);
        let options = Options {
            low: bound(low),
            high: bound(high),
            keep: TypeSet::of(numbers(&slice, "keep")?),
            paired: TypeSet::of(numbers(&slice, "paired")?),
            carried: numbers(&slice, "carried")?
                .into_iter()
                .filter_map(|t| u32::try_from(t).ok())
                .collect(),
            filtered: slice
                .get("filtered")
                .and_then(Json::as_bool)
                .unwrap_or(true),
        };
        let plan = Plan::parse(plan).map_err(PyValueError::new_err)?;
        FileLoop::open(py, &path, &name, rules, classes, |walker| {
            Slicer::new(walker, plan, options)
        })
        .map(PySlice)
    }

    /// One batch (see the module doc).
    fn step<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let mut batch = Batch::default();
        let stop = match self
            .0
            .step(|slicer, sources| slicer.step(sources, &mut batch))
        {
            Ran::Stop(stop) => stop,
            Ran::Failed(err) => Stop::Error(err),
            Ran::Over => Stop::Python("the slice has ended".into()),
            Ran::Broke => Stop::Python("internal error of the core's slice loop".into()),
        };
        if !matches!(stop, Stop::Full) {
            self.0.close();
        }
        let start = match &batch.start {
            Some(meta) => blocks(py, meta)?.into_any(),
            None => py.None().into_bound(py),
        };
        let carried = PyList::empty(py);
        for (ts, block) in &batch.carried {
            carried.append((ts, PyBytes::new(py, block)))?;
        }
        let stop = match stop {
            Stop::Full => py.None().into_bound(py),
            Stop::End(meta) => ("end", blocks(py, &meta)?).into_pyobject(py)?.into_any(),
            Stop::Window => ("window",).into_pyobject(py)?.into_any(),
            Stop::Python(why) => ("python", why).into_pyobject(py)?.into_any(),
            Stop::Error(err) => ("error", self.0.classes.error(py, err)?)
                .into_pyobject(py)?
                .into_any(),
        };
        (
            start,
            PyBytes::new(py, &batch.blocks),
            batch.count,
            carried,
            batch.waiting,
            batch.warnings,
            stop,
        )
            .into_pyobject(py)
    }
}
