//! Python access to rule evaluation in the core (`crate::replay`).
//!
//! `Rules(plan)` compiles the plan of one event source (JSON written by
//! scaptools/engine/native.py); `.python` lists, per rule, why it runs in Python
//! (`None`: in the core). `.match_event(raw, num)` evaluates one plugin event given
//! its v2 bytes: `None` when no rule fires, `False` when the Python path must evaluate
//! it, else a list of `(rule number, message, [(key, value), ...])`.
//!
//! `Replay(path, name, sources, routes, slots, ...)` runs the replay loop of
//! `crate::replay::run` over a capture file; `.step(max_alerts, utc_offset)` gives one
//! batch: `(text, alerts, counts, warnings, stop)` where `stop` is `None` (full),
//! `("event", (offset, num, ts, cpu, tid, type, nparams, raw, flags))` for an event the
//! Python path handles, `("damaged", (...same...))` for an event whose parameters the
//! syscall state cannot read, `("metadata", offset, block_type, order, body, why)` for a
//! metadata block it cannot read (the Python path raises their errors), `("error",
//! kind, message, path, offset, block_type)` or `("end",)`.
//!
//! `chunk_events`: events walked per chunk (0: the default; small ones for the tests).
//! `syscall=n`: source number `n` is the syscall source (every rule of its plan in the
//! core); the loop keeps the syscall state (at most `max_threads` threads) and tests its
//! rules on every syscall event.

use std::cell::Cell;
use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyList, PyString, PyTuple};

use crate::cond::{Data, Values};
use crate::fields::Record;
use crate::replay::render::Format;
use crate::replay::run::{Batch, Handoff, Options, Route, Run, Stop};
use crate::replay::{plugin_event, Source, Verdict};
use crate::walk::source::PlainSource;
use crate::walk::{ErrorKind, WalkError, Walker};

/// The compiled rules of one source.
#[pyclass(name = "Rules", module = "scaptools._core", frozen)]
pub struct PyRules {
    pub source: Source,
}

#[pymethods]
impl PyRules {
    #[new]
    fn new(plan: &str) -> PyResult<PyRules> {
        Source::compile(plan)
            .map(|source| PyRules { source })
            .map_err(PyValueError::new_err)
    }

    /// The syscall fields a syscall plan has on top of `SysFields` (both ends of a
    /// connection, the networks of one end: for conditions).
    #[staticmethod]
    fn extra_fields() -> Vec<&'static str> {
        crate::replay::sides::NAMES.to_vec()
    }

    /// Whether the Python extractor of the syscall field `name[arg]` reads the
    /// parameters of the walk's last event (`replay::damage`; for the tests).
    #[staticmethod]
    #[pyo3(signature = (name, arg, walk))]
    fn reads_params(
        name: &str,
        arg: Option<&str>,
        walk: PyRef<'_, super::state::PyStateWalk>,
    ) -> PyResult<bool> {
        let Some((head, raw)) = &walk.last else {
            return Err(PyValueError::new_err("the walk has no current event"));
        };
        let ev = crate::walk::EventRef { raw, ..*head };
        Ok(crate::replay::damage::reads(name, arg).touches(&ev, &walk.state))
    }

    /// Per rule, why it runs on the Python path (`None`: it runs in the core).
    #[getter]
    fn python(&self) -> Vec<Option<String>> {
        self.source.rules.iter().map(|r| r.python.clone()).collect()
    }

    /// The alerts of one plugin event (see the module doc).
    fn match_event<'py>(
        &self,
        py: Python<'py>,
        raw: &[u8],
        num: u64,
    ) -> PyResult<Bound<'py, PyAny>> {
        let Some((header, _, payload)) = plugin_event(raw, num) else {
            return Ok(PyBool::new(py, false).to_owned().into_any());
        };
        let first = Cell::new(None);
        let origin = self.source.origin(&first);
        let mut rec = Record::new(payload, header, &origin);
        let mut values = Values::new(self.source.field_count());
        let mut fields = self.source.record(&mut rec);
        let fired = match self.source.evaluate(&mut fields, &mut values) {
            Verdict::Python => return Ok(PyBool::new(py, false).to_owned().into_any()),
            Verdict::Fired(fired) if fired.is_empty() => return Ok(py.None().into_bound(py)),
            Verdict::Fired(fired) => fired,
        };
        let out = PyList::empty(py);
        for number in fired {
            self.source.fill_output(number, &mut fields, &mut values);
            let Some(output) = self.source.output(number) else {
                return Ok(PyBool::new(py, false).to_owned().into_any());
            };
            let pairs = PyList::empty(py);
            for (key, value) in output.fields(&values) {
                pairs.append((key, to_python(py, value.as_ref())?))?;
            }
            let message = output.message(&values);
            out.append(PyTuple::new(
                py,
                [
                    number.into_pyobject(py)?.into_any(),
                    PyString::new(py, &message).into_any(),
                    pairs.into_any(),
                ],
            )?)?;
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

/// The replay loop over one capture.
#[pyclass(name = "Replay", module = "scaptools._core", unsendable)]
struct PyReplay {
    run: Option<Run>,
    sources: Vec<Py<PyRules>>,
    /// the error of opening the capture, given by the first `step`
    failed: Option<WalkError>,
}

type Routes = HashMap<u32, (String, usize, usize)>;

#[pymethods]
impl PyReplay {
    /// `routes`: plugin id -> `("core", source, slot)`, `("python", 0, 0)` or
    /// `("count", 0, slot)`; `format`: Falco's output options (`None`: alerts go back to
    /// Python); `window`: `(head, start, end)` reads bytes `[0, head)` then
    /// `[start, end)` of the file (a `-j` range).
    #[new]
    #[pyo3(signature = (path, name, sources, routes, slots, format=None, num_base=0, modulo=None, window=None, threads=0, syscall=None, max_threads=131072, chunk_events=0))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        path: PathBuf,
        name: String,
        sources: Vec<Py<PyRules>>,
        routes: Routes,
        slots: usize,
        format: Option<HashMap<String, bool>>,
        num_base: u64,
        modulo: Option<(u64, u64)>,
        window: Option<(u64, u64, u64)>,
        threads: usize,
        syscall: Option<usize>,
        max_threads: usize,
        chunk_events: usize,
    ) -> PyResult<PyReplay> {
        if let Some(n) = syscall {
            let ok = sources.get(n).is_some_and(|s| {
                let s = &s.get().source;
                s.is_syscall() && s.rules.iter().all(|r| r.python.is_none())
            });
            if !ok || window.is_some() || modulo.is_some() {
                return Err(PyValueError::new_err(
                    "the syscall source must be a syscall plan whose rules all run in the core, \
                     over a whole capture",
                ));
            }
        }
        let mut table = HashMap::new();
        for (pid, (kind, source, slot)) in routes {
            let route = match kind.as_str() {
                "core" if source < sources.len() && slot < slots => Route::Core { source, slot },
                "count" if slot < slots => Route::Count(slot),
                "python" => Route::Python,
                _ => return Err(PyValueError::new_err(format!("bad route {kind}"))),
            };
            table.insert(pid, route);
        }
        let format = format.map(|f| {
            let on = |k: &str| f.get(k).copied().unwrap_or(false);
            Format {
                json: on("json"),
                iso8601: on("iso8601"),
                include_output: on("include_output"),
                include_tags: on("include_tags"),
                include_message: on("include_message"),
                include_fields: on("include_fields"),
            }
        });
        let options = Options {
            format,
            num_base,
            modulo,
            utc_offset: 0,
            threads,
            chunk_events,
        };
        let (run, failed) = match open(&path, &name, window) {
            Ok(walker) => {
                let run = Run::new(walker, table, slots, options);
                let run = match syscall {
                    Some(n) => run.with_syscall(n, max_threads),
                    None => run,
                };
                (Some(run), None)
            }
            Err(err) => (None, Some(err)),
        };
        Ok(PyReplay {
            run,
            sources,
            failed,
        })
    }

    /// One batch (see the module doc).
    fn step<'py>(
        &mut self,
        py: Python<'py>,
        max_alerts: usize,
        utc_offset: i64,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let mut batch = Batch::default();
        let stop = match self.run.as_mut() {
            None => match self.failed.take() {
                Some(err) => Stop::Error(err),
                None => Stop::End,
            },
            Some(run) => {
                run.options.utc_offset = utc_offset;
                let rules: Vec<&Source> = self.sources.iter().map(|s| &s.get().source).collect();
                match catch_unwind(AssertUnwindSafe(|| {
                    run.step(&rules, max_alerts, &mut batch)
                })) {
                    Ok(stop) => stop,
                    Err(_) => Stop::Error(
                        WalkError::format(run.path(), "internal error of the core's replay loop")
                            .at(run.offset()),
                    ),
                }
            }
        };
        let alerts = PyList::empty(py);
        for a in &batch.alerts {
            let pairs = PyList::empty(py);
            for (key, value) in &a.fields {
                pairs.append((key, to_python(py, value.as_ref())?))?;
            }
            alerts.append((a.source, a.rule, a.num, a.ts, &a.message, pairs))?;
        }
        let stop = stop_value(py, stop)?;
        (batch.text, alerts, batch.counts, batch.warnings, stop).into_pyobject(py)
    }

    /// `(events, skipped, per-slot events, syscall events, first timestamp)`.
    fn counts(&self) -> (u64, u64, Vec<u64>, u64, Option<u64>) {
        match &self.run {
            Some(r) => {
                let f = &r.feed;
                (f.events, f.skipped, f.slots.clone(), f.syscall, f.first_ts)
            }
            None => (0, 0, Vec::new(), 0, None),
        }
    }
}

/// The walker of `path`, or of a `(head, start, end)` window of it.
fn open(path: &PathBuf, name: &str, window: Option<(u64, u64, u64)>) -> Result<Walker, WalkError> {
    let Some((head, start, end)) = window else {
        return Walker::open(path, name);
    };
    let cannot = |e: std::io::Error| WalkError::format(name, format!("cannot open: {e}"));
    let first = File::open(path).map_err(cannot)?;
    let mut second = File::open(path).map_err(cannot)?;
    second.seek(SeekFrom::Start(start)).map_err(cannot)?;
    let size = head + end.saturating_sub(start);
    let reader = first
        .take(head)
        .chain(second.take(end.saturating_sub(start)));
    Ok(Walker::new(
        Box::new(PlainSource::new(reader, Vec::new(), name, Some(size))),
        name,
    ))
}

fn stop_value<'py>(py: Python<'py>, stop: Stop) -> PyResult<Bound<'py, PyAny>> {
    Ok(match stop {
        Stop::Full => py.None().into_bound(py),
        Stop::End => ("end",).into_pyobject(py)?.into_any(),
        Stop::Python(h) => ("event", event(py, &h)).into_pyobject(py)?.into_any(),
        Stop::Damaged(h) => ("damaged", event(py, &h)).into_pyobject(py)?.into_any(),
        Stop::Metadata(block, why) => (
            "metadata",
            block.offset,
            block.block_type,
            block.order.code(),
            PyBytes::new(py, &block.body),
            why,
        )
            .into_pyobject(py)?
            .into_any(),
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

type EventTuple<'py> = (u64, u64, u64, u16, u64, u16, u32, Bound<'py, PyBytes>, u32);

/// An event's header and bytes, as `Event(...)` takes them.
fn event<'py>(py: Python<'py>, h: &Handoff) -> EventTuple<'py> {
    let raw = PyBytes::new(py, &h.raw);
    (
        h.offset, h.num, h.ts, h.cpu, h.tid, h.etype, h.nparams, raw, h.flags,
    )
}

/// Add the classes to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyRules>()?;
    m.add_class::<PyReplay>()?;
    Ok(())
}
