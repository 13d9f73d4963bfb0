//! Python access to the plugin-event fields of the core (`crate::fields`): the
//! differential tests compare it with the Python extractors, value for value.
//!
//! * `Fields([(name, arg), ...], source=..., plugin=..., hostname=..., first_ts=None)`
//!   compiles the fields once (`KeyError` for a field the core does not have,
//!   `ValueError` for a bad argument); `.extract(payload, ts, num)` gives their values
//!   for one plugin event as the Python extractors return them (`str`, `int`, `bool`,
//!   `list` or `None`); `.first_ts` is the timestamp `evt.reltime` counts from.
//! * `extract_fields(specs, payload, ts=0, num=0, ...)`: the same for one event.

use std::cell::Cell;

use pyo3::exceptions::{PyKeyError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyList, PyString};

use crate::fields::{compile, Field, FieldError, Header, Origin, Record};
use crate::value::Value;

/// Compiled fields and the origin of the events they read.
#[pyclass(name = "Fields", module = "scaptools._core")]
struct PyFields {
    fields: Vec<Field>,
    source: String,
    plugin: Option<String>,
    hostname: String,
    #[pyo3(get, set)]
    first_ts: Option<u64>,
}

#[pymethods]
impl PyFields {
    #[new]
    #[pyo3(signature = (specs, source="aws_cloudtrail".to_owned(), plugin=Some("cloudtrail".to_owned()), hostname=String::new(), first_ts=None))]
    fn new(
        specs: Vec<(String, Option<String>)>,
        source: String,
        plugin: Option<String>,
        hostname: String,
        first_ts: Option<u64>,
    ) -> PyResult<PyFields> {
        let fields = specs
            .iter()
            .map(|(name, arg)| compile(name, arg.as_deref()).map_err(to_error))
            .collect::<PyResult<Vec<_>>>()?;
        Ok(PyFields {
            fields,
            source,
            plugin,
            hostname,
            first_ts,
        })
    }

    /// The values of the fields for one plugin event.
    #[pyo3(signature = (payload, ts=0, num=0))]
    fn extract<'py>(
        &mut self,
        py: Python<'py>,
        payload: &[u8],
        ts: u64,
        num: u64,
    ) -> PyResult<Bound<'py, PyList>> {
        let first = Cell::new(self.first_ts);
        let origin = Origin {
            source: &self.source,
            plugin: self.plugin.as_deref(),
            hostname: &self.hostname,
            first_ts: &first,
        };
        let mut rec = Record::new(payload, Header { ts, num }, &origin);
        let out = PyList::empty(py);
        for field in &self.fields {
            match field.extract(&mut rec) {
                Some(value) => out.append(to_python(py, value)?)?,
                None => out.append(py.None())?,
            }
        }
        self.first_ts = first.get();
        Ok(out)
    }
}

/// The values of `specs` for one plugin event (compiled for this call).
#[pyfunction]
#[pyo3(signature = (specs, payload, ts=0, num=0, source="aws_cloudtrail".to_owned(), plugin=Some("cloudtrail".to_owned()), hostname=String::new(), first_ts=None))]
#[allow(clippy::too_many_arguments)]
fn extract_fields<'py>(
    py: Python<'py>,
    specs: Vec<(String, Option<String>)>,
    payload: &[u8],
    ts: u64,
    num: u64,
    source: String,
    plugin: Option<String>,
    hostname: String,
    first_ts: Option<u64>,
) -> PyResult<Bound<'py, PyList>> {
    PyFields::new(specs, source, plugin, hostname, first_ts)?.extract(py, payload, ts, num)
}

fn to_error(err: FieldError) -> PyErr {
    match err {
        FieldError::Unknown(name) => PyKeyError::new_err(name),
        FieldError::Argument(text) => PyValueError::new_err(text),
    }
}

/// A value as the Python extractors give it.
pub(crate) fn to_python<'py>(py: Python<'py>, value: Value<'_>) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::Str(text) => PyString::new(py, &text).into_any(),
        Value::U64(n) => n.into_pyobject(py)?.into_any(),
        Value::I64(n) => n.into_pyobject(py)?.into_any(),
        Value::Bool(b) => PyBool::new(py, b).to_owned().into_any(),
        Value::List(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(to_python(py, item)?)?;
            }
            list.into_any()
        }
    })
}

/// Adds `Fields` and `extract_fields` to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyFields>()?;
    m.add_function(wrap_pyfunction!(extract_fields, m)?)?;
    Ok(())
}
