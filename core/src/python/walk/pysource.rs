//! A Python byte source under the walk: a file object or a pipe read exactly as the
//! Python reader reads it.

use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;

use crate::walk::{Source, WalkError};

/// Bytes from a Python source (`scaptools.format.streams.PlainSource`/`GzipSource`):
/// a file object or a pipe keeps exactly the Python reader's reads and errors.
pub struct PySource {
    pub source: Py<PyAny>,
    pub compression: &'static str,
    pub path: String,
}

impl Source for PySource {
    fn read(&mut self, out: &mut Vec<u8>, max: usize) -> Result<usize, WalkError> {
        Python::attach(|py| {
            let data = self
                .source
                .bind(py)
                .call_method1("read", (max,))
                .and_then(|data| data.extract::<PyBackedBytes>().map_err(PyErr::from));
            match data {
                Ok(data) => {
                    out.extend_from_slice(&data);
                    Ok(data.len())
                }
                Err(err) => Err(WalkError::external(&self.path, Box::new(err))),
            }
        })
    }

    fn cut_short(&self) -> bool {
        Python::attach(|py| {
            let flag = self.source.bind(py).getattr("cut_short");
            flag.and_then(|flag| flag.is_truthy()).unwrap_or(false)
        })
    }

    fn compression(&self) -> &'static str {
        self.compression
    }
}
