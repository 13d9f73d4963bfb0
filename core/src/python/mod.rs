//! The extension module `scaptools._core`: one `register` per part of the core.

use pyo3::prelude::*;

mod eval;
mod fields;
mod fileloop;
mod print;
mod slice;
mod state;
mod sysfields;
mod walk;

/// The module Python imports as `scaptools._core`.
#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("VERSION", env!("CARGO_PKG_VERSION"))?;
    eval::register(m)?;
    fields::register(m)?;
    print::register(m)?;
    slice::register(m)?;
    state::register(m)?;
    sysfields::register(m)?;
    walk::register(m)?;
    Ok(())
}
