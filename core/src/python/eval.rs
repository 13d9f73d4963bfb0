//! Python access to rule evaluation in the core (`crate::replay`).
//!
//! `Rules(plan)` compiles the plan of one event source (JSON written by
//! scaptools/engine/native.py); `.python` lists, per rule, why it runs in Python
//! (`None`: in the core). `.match_event(raw, num)` evaluates one plugin event given
//! its v2 bytes: `None` when no rule fires, `False` when the Python path must evaluate
//! it, else a list of `(rule number, message, [(key, value), ...])`.

use std::cell::Cell;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyList, PyString, PyTuple};

use crate::cond::{Data, Values};
use crate::fields::Record;
use crate::replay::{plugin_event, Source, Verdict};

/// The compiled rules of one source.
#[pyclass(name = "Rules", module = "scaptools._core", frozen)]
pub struct PyRules {
    pub source: Source,
}

#[pymethods]
impl PyRules {
    #[new]
    fn new(plan: &str) -> PyResult<PyRules> {
        Source::compile(plan).map(|source| PyRules { source }).map_err(PyValueError::new_err)
    }

    /// Per rule, why it runs on the Python path (`None`: it runs in the core).
    #[getter]
    fn python(&self) -> Vec<Option<String>> {
        self.source.rules.iter().map(|r| r.python.clone()).collect()
    }

    /// The alerts of one plugin event (see the module doc).
    fn match_event<'py>(&self, py: Python<'py>, raw: &[u8], num: u64) -> PyResult<Bound<'py, PyAny>> {
        let Some((header, _, payload)) = plugin_event(raw, num) else {
            return Ok(PyBool::new(py, false).to_owned().into_any());
        };
        let first = Cell::new(None);
        let origin = self.source.origin(&first);
        let mut rec = Record::new(payload, header, &origin);
        let mut values = Values::new(self.source.field_count());
        let fired = match self.source.evaluate(&mut rec, &mut values) {
            Verdict::Python => return Ok(PyBool::new(py, false).to_owned().into_any()),
            Verdict::Fired(fired) if fired.is_empty() => return Ok(py.None().into_bound(py)),
            Verdict::Fired(fired) => fired,
        };
        let out = PyList::empty(py);
        for number in fired {
            self.source.fill_output(number, &mut rec, &mut values);
            let Some(output) = self.source.output(number) else {
                return Ok(PyBool::new(py, false).to_owned().into_any());
            };
            let pairs = PyList::empty(py);
            for (key, value) in output.fields(&values) {
                pairs.append((key, to_python(py, value.as_ref())?))?;
            }
            let message = output.message(&values);
            out.append(PyTuple::new(py, [number.into_pyobject(py)?.into_any(), PyString::new(py, &message).into_any(), pairs.into_any()])?)?;
        }
        Ok(out.into_any())
    }
}

/// A value as the Python extractors and transformers give it.
pub fn to_python<'py>(py: Python<'py>, value: Option<&Data>) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        None => py.None().into_bound(py),
        Some(Data::Str(text)) => PyString::new(py, text).into_any(),
        Some(Data::Int(n)) => n.into_pyobject(py)?.into_any(),
        Some(Data::Bool(b)) => PyBool::new(py, *b).to_owned().into_any(),
        Some(Data::Bytes(b)) => PyBytes::new(py, b).into_any(),
        Some(Data::List(items)) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(to_python(py, Some(item))?)?;
            }
            list.into_any()
        }
    })
}

/// Add the classes to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyRules>()?;
    Ok(())
}
