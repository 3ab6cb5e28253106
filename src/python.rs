//! The `equip_wheel._native` extension module (PyO3): the CLI entry point used by the
//! console script and `python -m equip_wheel`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use pyo3::prelude::*;

use crate::cli;

/// Runs the equip-wheel command line with `argv` (program name first) and returns the exit
/// code. The work runs without the GIL; Ctrl-C cancels it between members and raises
/// `KeyboardInterrupt` once the worker has stopped (no partial output is left).
#[pyfunction]
fn main(py: Python<'_>, argv: Vec<String>) -> PyResult<i32> {
    run_interruptible(py, move |cancel| cli::run_with_cancel(argv, cancel))
}

/// Runs `work` on a thread, polling Python's signal handlers while it runs.
fn run_interruptible<T: Send + 'static>(
    py: Python<'_>,
    work: impl FnOnce(Arc<AtomicBool>) -> T + Send + 'static,
) -> PyResult<T> {
    let cancel = Arc::new(AtomicBool::new(false));
    let flag = cancel.clone();
    let handle = std::thread::spawn(move || work(flag));
    loop {
        if handle.is_finished() {
            break;
        }
        if let Err(interrupt) = py.check_signals() {
            cancel.store(true, Ordering::SeqCst);
            let _ = py.detach(|| handle.join());
            return Err(interrupt);
        }
        py.detach(|| std::thread::sleep(Duration::from_millis(20)));
    }
    py.detach(|| handle.join())
        .map_err(|_| pyo3::exceptions::PyRuntimeError::new_err("equip-wheel worker panicked"))
}

/// The extension module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(main, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
