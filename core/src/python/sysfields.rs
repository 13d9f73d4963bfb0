//! `scaptools._core.SysFields`: syscall fields computed in the core over a
//! `StateWalk`, for the differential tests (tests/core/test_core_sysfields*.py).
//!
//! `SysFields([(name, arg), ...], hostname)` compiles each field; `.unknown` lists,
//! per field, `None` or why the core has no such field (the Python load error for a
//! bad argument). `.values(walk)` gives the values of the walk's last event, one per
//! field: `None` (no value or not compiled), `str`, `int`, `bool` or a list.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyList;

use super::fields::to_python;
use super::state::PyStateWalk;
use crate::fields::FieldError;
use crate::sysfields::{compile, Ctx, SysField};
use crate::walk::EventRef;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PySysFields>()
}

#[pyclass(name = "SysFields", module = "scaptools._core", frozen)]
pub struct PySysFields {
    fields: Vec<Result<SysField, FieldError>>,
    hostname: String,
}

#[pymethods]
impl PySysFields {
    #[new]
    fn new(fields: Vec<(String, Option<String>)>, hostname: String) -> Self {
        let fields = fields
            .iter()
            .map(|(name, arg)| compile(name, arg.as_deref()))
            .collect();
        PySysFields { fields, hostname }
    }

    /// Per field: `None` when the core computes it, else why not (`unknown: ...` or the
    /// argument's load error).
    #[getter]
    fn unknown(&self) -> Vec<Option<String>> {
        self.fields
            .iter()
            .map(|f| match f {
                Ok(_) => None,
                Err(FieldError::Unknown(name)) => Some(format!("unknown: {name}")),
                Err(FieldError::Argument(text)) => Some(text.clone()),
            })
            .collect()
    }

    /// Per field, its type name as the Python field set gives it (`None`: not compiled).
    #[getter]
    fn types(&self) -> Vec<Option<&'static str>> {
        self.fields
            .iter()
            .map(|f| f.as_ref().ok().map(SysField::type_name))
            .collect()
    }

    /// The values of the walk's last event.
    fn values<'py>(
        &self,
        py: Python<'py>,
        walk: PyRef<'_, PyStateWalk>,
    ) -> PyResult<Bound<'py, PyList>> {
        let Some((head, raw)) = &walk.last else {
            return Err(PyValueError::new_err("the walk has no current event"));
        };
        let ev = EventRef { raw, ..*head };
        let cx = Ctx {
            ev,
            state: &walk.state,
            hostname: &self.hostname,
        };
        let out = PyList::empty(py);
        for field in &self.fields {
            match field.as_ref().ok().and_then(|f| f.extract(&cx)) {
                Some(value) => out.append(to_python(py, value)?)?,
                None => out.append(py.None())?,
            }
        }
        Ok(out)
    }
}
