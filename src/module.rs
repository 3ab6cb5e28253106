//! What the `.py` rewriter and the `.pyc` injector share about the module they instrument:
//! which module it is ([`ModuleTarget`]), what they leave alone ([`NotInstrumented`]) and
//! what they hand back ([`ModuleOutcome`]). Both sit above this module; it depends on neither.

use serde::Serialize;

/// Which module a source file is, inside the wheel.
#[derive(Debug, Clone, Copy)]
pub struct ModuleTarget<'a> {
    /// Dotted module name (`pkg.sub.mod`; `pkg` for `pkg/__init__.py`).
    pub module: &'a str,
    /// The member path inside the wheel (`pkg/sub/mod.py`).
    pub file_name: &'a str,
    /// Name of the generated hooks module (`_equip_hooks_<dist>`).
    pub hooks_module: &'a str,
}

/// Constructs the instrumenter leaves alone, counted for the report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct NotInstrumented {
    /// `lambda` expressions.
    pub lambdas: usize,
    /// List/set/dict comprehensions and generator expressions.
    pub comprehensions: usize,
    /// `class` bodies.
    pub class_bodies: usize,
    /// PEP 649/749 annotation functions (`__annotate__`, what CPython 3.14+ compiles the
    /// annotations of a function, class body or module into): `annotationlib` runs them
    /// with fake globals, so hooks in them would misbehave. In `.pyc` files, the code
    /// objects found; in `.py` files, the scopes whose annotations 3.14+ compiles into one.
    pub annotate_functions: usize,
}

impl NotInstrumented {
    /// Adds another file's counts.
    pub fn add(&mut self, other: &NotInstrumented) {
        self.lambdas += other.lambdas;
        self.comprehensions += other.comprehensions;
        self.class_bodies += other.class_bodies;
        self.annotate_functions += other.annotate_functions;
    }
}

/// What instrumenting one module file produced, `.py` and `.pyc` alike; the driver turns it
/// into the report's module entry in one place.
#[derive(Debug, Clone, Default)]
pub struct ModuleOutcome {
    /// The new file (in the input's encoding for `.py`, a whole `.pyc` with its header), or
    /// `None` when nothing in the module was selected.
    pub new_bytes: Option<Vec<u8>>,
    /// Qualnames of the instrumented functions, in source (or code object) order.
    pub functions: Vec<String>,
    /// Probes placed.
    pub probes: usize,
    /// What was left alone by design.
    pub not_instrumented: NotInstrumented,
    /// Original statements, counted for `.py` only (0 for `.pyc`: no statement of it moves,
    /// every instruction keeps its line).
    pub statements: usize,
    /// Original statements whose line number changed (`.py` only; 0 for `.pyc`).
    pub statements_moved: usize,
    /// Hooks that could not be placed, with the reason (report warnings).
    pub warnings: Vec<String>,
}
