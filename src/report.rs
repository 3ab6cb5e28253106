//! The report of one instrumentation run: what was instrumented, skipped, moved and warned
//! about. Serialized as JSON by `--report FILE.json` and exposed to Python.

use std::path::PathBuf;

use serde::Serialize;

use crate::module::NotInstrumented;

/// What happened to one wheel.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// The input wheel.
    pub input: PathBuf,
    /// The written wheel (`None` with `--dry-run`).
    pub output: Option<PathBuf>,
    /// sha256 (hex) of the written wheel.
    pub output_sha256: Option<String>,
    /// The file name the output has (or would have).
    pub output_name: String,
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// Distribution name.
    pub distribution: String,
    /// Input version.
    pub version: String,
    /// Output version (differs with `output.local-version`).
    pub output_version: String,
    /// The generated hooks module's member name.
    pub hooks_module: String,
    /// How `Requires-Python` in METADATA was raised, `None` when the input's already
    /// excluded every Python the instrumented code cannot run on.
    pub requires_python: Option<RequiresPythonChange>,
    /// One entry per instrumented module file, in archive order.
    pub modules: Vec<ModuleReport>,
    /// Members left unchanged on purpose, with the reason.
    pub skipped: Vec<Skipped>,
    /// Problems worth a look that did not stop the run.
    pub warnings: Vec<String>,
    /// Things done that the user should know about (e.g. signatures dropped).
    pub notices: Vec<String>,
    /// Totals over `modules`.
    pub totals: Totals,
}

/// A `Requires-Python` raised so that installers skip Pythons the instrumented code cannot
/// run on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequiresPythonChange {
    /// The input's value (`None`: it declared none).
    pub input: Option<String>,
    /// The output's value, e.g. `>=3.8` or `>=3.8, <4`.
    pub output: String,
}

/// The two kinds of module file the instrumenter rewrites.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ModuleKind {
    /// Python source (`.py`), rewritten as text.
    #[default]
    Py,
    /// Compiled bytecode (`.pyc`), rewritten code object by code object.
    Pyc,
}

/// One instrumented module file.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ModuleReport {
    /// The member path.
    pub member: String,
    /// The dotted module name.
    pub module: String,
    /// Whether it is a source or a bytecode file (`"py"` / `"pyc"` in JSON).
    pub kind: ModuleKind,
    /// Qualnames of the instrumented functions.
    pub functions: Vec<String>,
    /// Probes placed in it.
    pub probes: usize,
    /// Original statements (`.py` only).
    pub statements: usize,
    /// Original statements whose line number changed (`.py` only).
    pub statements_moved: usize,
    /// Constructs left alone.
    pub not_instrumented: NotInstrumented,
}

/// A member deliberately left unchanged.
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    /// The member path.
    pub member: String,
    /// Why.
    pub reason: String,
}

/// Totals over all modules of a report.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Totals {
    /// Module files changed.
    pub modules: usize,
    /// Functions instrumented.
    pub functions: usize,
    /// Probes placed.
    pub probes: usize,
    /// Original statements in instrumented `.py` files.
    pub statements: usize,
    /// Of those, statements whose line number changed.
    pub statements_moved: usize,
    /// Members skipped.
    pub skipped: usize,
    /// Constructs left alone.
    pub not_instrumented: NotInstrumented,
}

impl Report {
    /// Recomputes [`Report::totals`] from the module list.
    pub fn compute_totals(&mut self) {
        let mut t = Totals {
            skipped: self.skipped.len(),
            ..Totals::default()
        };
        for m in &self.modules {
            t.modules += 1;
            t.functions += m.functions.len();
            t.probes += m.probes;
            t.statements += m.statements;
            t.statements_moved += m.statements_moved;
            t.not_instrumented.add(&m.not_instrumented);
        }
        self.totals = t;
    }

    /// A one-paragraph human summary for the CLI.
    pub fn summary(&self) -> String {
        let t = &self.totals;
        let target = match (&self.output, self.dry_run) {
            (_, true) => format!("would write {}", crate::escape::escape(&self.output_name)),
            (Some(p), false) => format!("wrote {}", crate::escape::path(p)),
            (None, false) => "no output".to_string(),
        };
        let mut s = format!(
            "{}: {} functions in {} modules instrumented",
            crate::escape::path(&self.input),
            t.functions,
            t.modules
        );
        if t.probes > 0 {
            s.push_str(&format!(", {} probes", t.probes));
        }
        s.push_str(&format!("; {target}"));
        let ni = &t.not_instrumented;
        s.push_str(&format!(
            "\n  not instrumented (by design): {} lambdas, {} comprehensions, {} class bodies, {} annotation functions",
            ni.lambdas, ni.comprehensions, ni.class_bodies, ni.annotate_functions
        ));
        if t.statements > 0 {
            s.push_str(&format!(
                "\n  line fidelity: {}/{} statements kept their line",
                t.statements - t.statements_moved,
                t.statements
            ));
        }
        if !self.skipped.is_empty() {
            s.push_str(&format!("\n  skipped {} members", self.skipped.len()));
            for sk in self.skipped.iter().take(10) {
                s.push_str(&format!(
                    "\n    {}: {}",
                    crate::escape::escape(&sk.member),
                    crate::escape::escape(&sk.reason)
                ));
            }
            if self.skipped.len() > 10 {
                s.push_str(&format!(
                    "\n    ... and {} more (see --report)",
                    self.skipped.len() - 10
                ));
            }
        }
        for n in &self.notices {
            s.push_str(&format!("\n  notice: {}", crate::escape::escape(n)));
        }
        for w in &self.warnings {
            s.push_str(&format!("\n  warning: {}", crate::escape::escape(w)));
        }
        s
    }
}
