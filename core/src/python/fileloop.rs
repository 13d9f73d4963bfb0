//! What the bindings of the core's loops over one capture file share (`Print`,
//! `Slice`): the loop, the `Rules` of its plugin routes, the Python classes of events
//! and errors, and the error of opening the capture, which the first step gives.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use pyo3::prelude::*;
use pyo3::types::PyType;

use super::eval::PyRules;
use super::walk::Classes;
use crate::replay::Source;
use crate::walk::{WalkError, Walker};

/// How one step of a loop ended, as far as this module is concerned.
pub(super) enum Ran<S> {
    /// the loop's own stop
    Stop(S),
    /// the capture could not be opened
    Failed(WalkError),
    /// the loop has ended (or broke) before
    Over,
    /// the loop panicked: it is dropped, Python takes over
    Broke,
}

pub(super) struct FileLoop<T> {
    inner: Option<T>,
    rules: Vec<Py<PyRules>>,
    pub(super) classes: Classes,
    failed: Option<WalkError>,
}

impl<T> FileLoop<T> {
    /// Open the capture at `path` (named `name` in errors) and make the loop over it.
    pub(super) fn open(
        py: Python<'_>,
        path: &Path,
        name: &str,
        rules: Vec<Py<PyRules>>,
        classes: (Bound<'_, PyType>, Bound<'_, PyAny>, Bound<'_, PyAny>),
        make: impl FnOnce(Walker) -> T,
    ) -> PyResult<FileLoop<T>> {
        let classes = Classes::new(py, classes)?;
        let (inner, failed) = match Walker::open(path, name) {
            Ok(walker) => (Some(make(walker)), None),
            Err(err) => (None, Some(err)),
        };
        Ok(FileLoop {
            inner,
            rules,
            classes,
            failed,
        })
    }

    /// One step of the loop with the rules' sources; a panic drops the loop.
    pub(super) fn step<S>(&mut self, run: impl FnOnce(&mut T, &[&Source]) -> S) -> Ran<S> {
        let Some(inner) = self.inner.as_mut() else {
            return self.failed.take().map_or(Ran::Over, Ran::Failed);
        };
        let sources: Vec<&Source> = self.rules.iter().map(|r| &r.get().source).collect();
        match catch_unwind(AssertUnwindSafe(|| run(inner, &sources))) {
            Ok(stop) => Ran::Stop(stop),
            Err(_) => {
                self.inner = None;
                Ran::Broke
            }
        }
    }

    /// Drop the loop: the next steps are `Ran::Over`.
    pub(super) fn close(&mut self) {
        self.inner = None;
    }
}
