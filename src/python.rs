//! The `equip_wheel._native` extension module (PyO3): the CLI entry point used by the
//! console script and `python -m equip_wheel`, and the primitives under the typed Python API
//! (`python/equip_wheel/_api.py`) and the PEP 517 wrapper (`python/equip_wheel/build.py`).
//!
//! Reports cross the boundary as JSON text (the same serialization as `--report`); the
//! Python side turns them into typed objects. Errors are raised as the classes of
//! `equip_wheel.errors`, with their structured fields set. Long work (instrumenting,
//! verifying) runs on a worker thread without the GIL while this thread polls for Ctrl-C.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use pyo3::exceptions::{PyKeyboardInterrupt, PyOSError, PyRuntimeError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::cli;
use crate::config::{self, Config};
use crate::error::{ConfigError, Error};
use crate::instrument::{InstrumentOptions, instrument_wheel as instrument};
use crate::wheel::filename::{self, WheelName};
use crate::wheel::metadata;
use crate::wheel::verify::verify_wheel as verify;

/// Runs the equip-wheel command line with `argv` (program name first) and returns the exit
/// code. The work runs without the GIL; a signal whose Python handler raises (Ctrl-C:
/// `KeyboardInterrupt`) cancels it between members, and the exception is re-raised once the
/// worker has stopped without writing every output (no partial output is left). If every
/// output was already in place, the run's own exit code is returned instead.
///
/// `exit_after`: the caller exits right after (the console script). SIGINT and SIGTERM are
/// then ignored from the moment the work ends, so that a signal arriving after it cannot
/// turn a completed run's exit code into an interruption's.
#[pyfunction]
#[pyo3(signature = (argv, exit_after=false))]
fn main(py: Python<'_>, argv: Vec<String>, exit_after: bool) -> PyResult<i32> {
    if let Some(exe) = host_python(py)? {
        cli::set_host_python(exe);
    }
    let outcome = run_polling(py, move |cancel| cli::run_with_cancel(argv, cancel))?;
    if exit_after {
        let signal = py.import("signal")?;
        let ignore = signal.getattr("SIG_IGN")?;
        for name in ["SIGINT", "SIGTERM"] {
            let number = signal.getattr(name)?;
            // `signal.signal` first runs the handlers of signals already pending, which may
            // raise: that signal came after the work, its exception is dropped.
            let mut set = signal.call_method1("signal", (&number, &ignore));
            for _ in 0..3 {
                if set.is_ok() {
                    break;
                }
                set = signal.call_method1("signal", (&number, &ignore));
            }
            set?;
        }
    }
    match outcome {
        (cli::EXIT_INTERRUPTED, Some(signal)) => Err(signal),
        (code, _) => Ok(code),
    }
}

/// Runs `work` on a thread, polling Python's signal handlers while it runs; raises the
/// signal's exception once the cancelled worker has stopped.
fn run_interruptible<T: Send + 'static>(
    py: Python<'_>,
    work: impl FnOnce(Arc<AtomicBool>) -> T + Send + 'static,
) -> PyResult<T> {
    match run_polling(py, work)? {
        (_, Some(signal)) => Err(signal),
        (result, None) => Ok(result),
    }
}

/// Runs `work` on a thread, polling Python's signal handlers while it runs. When a handler
/// raises, sets the cancellation flag, waits for the worker and returns its result with the
/// exception.
fn run_polling<T: Send + 'static>(
    py: Python<'_>,
    work: impl FnOnce(Arc<AtomicBool>) -> T + Send + 'static,
) -> PyResult<(T, Option<PyErr>)> {
    let cancel = Arc::new(AtomicBool::new(false));
    let flag = cancel.clone();
    let handle = std::thread::Builder::new()
        .name("equip-wheel".into())
        .spawn(move || work(flag))
        .map_err(|e| PyOSError::new_err(format!("cannot start a worker thread: {e}")))?;
    let mut signal = None;
    while !handle.is_finished() {
        if let Err(raised) = py.check_signals() {
            cancel.store(true, Ordering::SeqCst);
            signal = Some(raised);
            break;
        }
        py.detach(|| std::thread::sleep(Duration::from_millis(20)));
    }
    let result = py
        .detach(|| handle.join())
        .map_err(|_| PyRuntimeError::new_err("equip-wheel worker panicked"))?;
    Ok((result, signal))
}

/// A validated configuration (wrapped by `equip_wheel.Config`).
#[pyclass(name = "NativeConfig", module = "equip_wheel._native", frozen)]
struct NativeConfig {
    inner: Arc<Config>,
}

#[pymethods]
impl NativeConfig {
    /// Where the configuration came from: a file path or `preset:NAME`.
    #[getter]
    fn origin(&self) -> &str {
        &self.inner.origin
    }

    /// sha256 (hex) of the normalized configuration.
    #[getter]
    fn sha256(&self) -> &str {
        &self.inner.sha256
    }

    /// The normalized configuration as JSON text (what the provenance file records).
    #[getter]
    fn normalized_json(&self) -> String {
        serde_json::to_string(&self.inner.normalized).expect("JSON values serialize")
    }

    /// `output.local-version`, if set.
    #[getter]
    fn local_version(&self) -> Option<&str> {
        self.inner.output.local_version.as_deref()
    }

    /// `output.build-tag`, if set.
    #[getter]
    fn build_tag(&self) -> Option<&str> {
        self.inner.output.build_tag.as_deref()
    }

    /// `build-backend` of `[tool.equip-wheel]`, if loaded from a pyproject.toml.
    #[getter]
    fn build_backend(&self) -> Option<&str> {
        self.inner.backend.build_backend.as_deref()
    }

    /// `backend-path` of `[tool.equip-wheel]` (empty if not given).
    #[getter]
    fn backend_path(&self) -> Vec<String> {
        self.inner.backend.backend_path.clone()
    }

    /// `enabled` of `[tool.equip-wheel]`, if given.
    #[getter]
    fn enabled(&self) -> Option<bool> {
        self.inner.backend.enabled
    }
}

/// Loads and validates a configuration: from `path` (an equip.toml, or a pyproject.toml's
/// `[tool.equip-wheel]`), a `preset`, equip.toml-style `text` (named `origin` in errors), or,
/// with none of them, discovered in `cwd` like the CLI does.
#[pyfunction]
#[pyo3(signature = (path=None, preset=None, text=None, origin=None, cwd=None))]
fn load_config(
    py: Python<'_>,
    path: Option<PathBuf>,
    preset: Option<String>,
    text: Option<String>,
    origin: Option<String>,
    cwd: Option<PathBuf>,
) -> PyResult<NativeConfig> {
    let result = py.detach(move || -> Result<Config, ConfigError> {
        let given = [path.is_some(), preset.is_some(), text.is_some()];
        if given.iter().filter(|g| **g).count() > 1 {
            return Err(ConfigError::new(
                "<arguments>",
                "give at most one of path, preset and text (a config text or file can start from a preset with `preset = \"NAME\"`)",
            ));
        }
        if let Some(text) = text {
            return Config::from_toml_str(&text, origin.as_deref().unwrap_or("<string>"));
        }
        let cwd = cwd.unwrap_or_else(|| PathBuf::from("."));
        config::resolve(path.as_deref(), preset.as_deref(), &cwd)
    });
    match result {
        Ok(c) => Ok(NativeConfig { inner: Arc::new(c) }),
        Err(e) => Err(to_py_err(py, Error::Config(e))),
    }
}

/// Instruments one wheel with `config`; returns the report as JSON text.
#[pyfunction]
#[pyo3(signature = (path, config, out_dir, in_place=false, dry_run=false))]
fn instrument_wheel(
    py: Python<'_>,
    path: PathBuf,
    config: &NativeConfig,
    out_dir: PathBuf,
    in_place: bool,
    dry_run: bool,
) -> PyResult<String> {
    let config = config.inner.clone();
    let result = run_interruptible(py, move |cancel| {
        let options = InstrumentOptions {
            config,
            out_dir,
            in_place,
            dry_run,
            cancel: Some(cancel),
        };
        instrument(&path, &options)
    })?;
    match result {
        Ok(report) => Ok(serde_json::to_string(&report).expect("reports serialize")),
        Err(e) => Err(to_py_err(py, e)),
    }
}

/// Verifies one wheel; returns the verify report as JSON text (problems are data, not
/// errors). Raises `FileError` when the file is missing or cannot be read.
#[pyfunction]
fn verify_wheel(py: Python<'_>, path: PathBuf) -> PyResult<String> {
    match run_interruptible(py, move |_| verify(&path))? {
        Ok(report) => Ok(serde_json::to_string(&report).expect("reports serialize")),
        Err(e) => Err(to_py_err(py, e)),
    }
}

/// `sys.executable`, unless empty (an embedded interpreter that does not know its program).
fn host_python(py: Python<'_>) -> PyResult<Option<PathBuf>> {
    let exe: Option<String> = py.import("sys")?.getattr("executable")?.extract()?;
    Ok(exe.filter(|e| !e.is_empty()).map(PathBuf::from))
}

/// The control-flow analysis of `target` (`MODULE` or `MODULE:QUALNAME`) in the wheel at
/// `path`, as the `equip-cfg/1` JSON text of `equip-wheel cfg --format json`. A `.py`
/// member is compiled by `python`, by default this interpreter (`sys.executable`). Raises
/// `ConfigError` for a target the wheel does not have or an interpreter that cannot run,
/// `WheelError`/`FileError` for the wheel, `InstrumentError` for a member that does not
/// compile or whose bytecode is not of CPython 3.8–3.15.
#[pyfunction]
#[pyo3(name = "cfg", signature = (path, target, python=None))]
fn control_flow(
    py: Python<'_>,
    path: PathBuf,
    target: &str,
    python: Option<PathBuf>,
) -> PyResult<String> {
    let target =
        crate::control_flow::Target::parse(target).map_err(|e| to_py_err(py, Error::Config(e)))?;
    let python = crate::control_flow::choose_python(python, host_python(py)?);
    let result = run_interruptible(py, move |_| {
        crate::control_flow::analyse(&path, &target, &python)
    })?;
    match result {
        Ok(doc) => Ok(serde_json::to_string(&doc).expect("the document serializes")),
        Err(e) => Err(to_py_err(py, e)),
    }
}

/// The version with a local label added, exactly as the instrumented wheel spells it:
/// `1.0` + `traced` -> `1.0+traced`; `1.0+cpu` + `traced` -> `1.0+cpu.traced`.
#[pyfunction]
fn with_local_label(version: &str, label: &str) -> String {
    metadata::with_local_label(version, label)
}

/// METADATA text with its `Version:` header set to `version`, byte for byte as the
/// instrumented wheel's METADATA gets it.
#[pyfunction]
fn set_metadata_version(text: &str, version: &str) -> String {
    metadata::set_header(text, "Version", version)
}

/// The settings of the PEP 517 wrapper in a pyproject.toml's `[tool.equip-wheel]`, read
/// without validating the instrumentation keys (so that a build with instrumentation
/// switched off does not depend on them). `None` if the table is absent; otherwise a dict
/// with `build-backend` (str or None), `backend-path` (list of str), `enabled` (bool or None)
/// and `config` (str or None).
#[pyfunction]
fn read_backend_table<'py>(
    py: Python<'py>,
    text: &str,
    origin: &str,
) -> PyResult<Option<Bound<'py, PyDict>>> {
    #[derive(serde::Deserialize)]
    struct PyProject {
        tool: Option<Tool>,
    }
    #[derive(serde::Deserialize)]
    struct Tool {
        #[serde(rename = "equip-wheel")]
        equip_wheel: Option<Table>,
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "kebab-case")]
    struct Table {
        build_backend: Option<String>,
        backend_path: Option<Vec<String>>,
        enabled: Option<bool>,
        config: Option<String>,
    }
    let doc: PyProject = match toml::from_str(text) {
        Ok(doc) => doc,
        Err(e) => {
            let err = config::toml_error_in_table(text, origin, &e, "tool.equip-wheel");
            return Err(to_py_err(py, Error::Config(err)));
        }
    };
    let Some(table) = doc.tool.and_then(|t| t.equip_wheel) else {
        return Ok(None);
    };
    let dict = PyDict::new(py);
    dict.set_item("build-backend", table.build_backend)?;
    dict.set_item("backend-path", table.backend_path.unwrap_or_default())?;
    dict.set_item("enabled", table.enabled)?;
    dict.set_item("config", table.config)?;
    Ok(Some(dict))
}

/// The PEP 503 normalized form of a distribution name: ASCII-lowercased, each run of `-`,
/// `_` and `.` replaced by one `-` (`Zope...Interface` -> `zope-interface`).
#[pyfunction]
fn normalize_dist_name(name: &str) -> String {
    filename::normalize_dist_name(name)
}

/// The trimmed value of the first header `key` (case-insensitive) in the header block of a
/// METADATA or PKG-INFO `text` (up to its first empty line; continuation lines of folded
/// headers skipped); `None` when absent.
#[pyfunction]
fn metadata_header(text: &str, key: &str) -> Option<String> {
    metadata::header_value(text, key).map(str::to_string)
}

/// The parts of a wheel file name (without directory), `(distribution, version, build tag
/// or None, tags)` with tags as `python-abi-platform`; `None` when it is not
/// `NAME-VERSION(-BUILD)?-PY-ABI-PLATFORM.whl`.
#[pyfunction]
fn parse_wheel_name(file_name: &str) -> Option<(String, String, Option<String>, String)> {
    let name = WheelName::parse(file_name).ok()?;
    Some((name.distribution, name.version, name.build_tag, name.tags))
}

/// Converts an [`Error`] into the matching `equip_wheel.errors` exception.
fn to_py_err(py: Python<'_>, error: Error) -> PyErr {
    match build_py_err(py, &error) {
        Ok(err) => err,
        // The Python half of the package is missing or broken: still say what went wrong.
        Err(import_error) => {
            let err = PyRuntimeError::new_err(error.to_string());
            err.set_cause(py, Some(import_error));
            err
        }
    }
}

fn build_py_err(py: Python<'_>, error: &Error) -> PyResult<PyErr> {
    if let Error::Interrupted = error {
        return Ok(PyKeyboardInterrupt::new_err("interrupted"));
    }
    let errors = py.import("equip_wheel.errors")?;
    let kwargs = PyDict::new(py);
    let class = match error {
        Error::Config(c) => {
            kwargs.set_item("file", &c.file)?;
            kwargs.set_item("key", c.key.as_deref())?;
            kwargs.set_item("line", c.line.map(crate::line::LineNumber::get))?;
            kwargs.set_item("column", c.column)?;
            kwargs.set_item("reason", crate::escape::printable(&c.message))?;
            "ConfigError"
        }
        Error::Wheel(w) => {
            kwargs.set_item("wheel", path_str(&w.wheel))?;
            kwargs.set_item("member", w.member.as_deref())?;
            kwargs.set_item("reason", w.problem.printable())?;
            "WheelError"
        }
        Error::Instrument {
            wheel,
            member,
            cause,
        } => {
            kwargs.set_item("wheel", path_str(wheel))?;
            kwargs.set_item("member", member)?;
            kwargs.set_item("reason", cause.to_string())?;
            "InstrumentError"
        }
        Error::Io { path, source } => {
            kwargs.set_item("path", path_str(path))?;
            kwargs.set_item("errno", source.raw_os_error())?;
            "FileError"
        }
        Error::Interrupted => unreachable!("handled above"),
    };
    let instance = errors
        .getattr(class)?
        .call((error.to_string(),), Some(&kwargs))?;
    Ok(PyErr::from_value(instance))
}

fn path_str(path: &Path) -> String {
    path.display().to_string()
}

/// The extension module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(main, m)?)?;
    m.add_function(wrap_pyfunction!(load_config, m)?)?;
    m.add_function(wrap_pyfunction!(instrument_wheel, m)?)?;
    m.add_function(wrap_pyfunction!(verify_wheel, m)?)?;
    m.add_function(wrap_pyfunction!(control_flow, m)?)?;
    m.add_function(wrap_pyfunction!(with_local_label, m)?)?;
    m.add_function(wrap_pyfunction!(set_metadata_version, m)?)?;
    m.add_function(wrap_pyfunction!(read_backend_table, m)?)?;
    m.add_function(wrap_pyfunction!(normalize_dist_name, m)?)?;
    m.add_function(wrap_pyfunction!(metadata_header, m)?)?;
    m.add_function(wrap_pyfunction!(parse_wheel_name, m)?)?;
    m.add_class::<NativeConfig>()?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
