//! Property checks of the `.py` rewriter shared by the fuzz target
//! (`fuzz/fuzz_targets/py_rewrite.rs`) and the stable smoke test
//! (`tests/source_fuzz_smoke.rs`). They take arbitrary bytes and panic only when a property
//! is violated; input the rewriter cannot take must come back as an error, never a panic.

use super::{encoding, instrument};
use crate::config::Config;
use crate::depth;
use crate::module::ModuleTarget;

/// Rewrite property: `data` is taken as the bytes of `pkg/mod.py` and instrumented under
/// `config` (typically [`crate::bytecode::fuzzing::fuzz_config`], every hook). Instrumenting
/// must not panic; when it produces new bytes, they decode with the same encoding rules and
/// the text parses (the rewriter only takes sources that parse, and its output must stay
/// valid Python). The number of lines is not a property: the module-enter expression may take
/// a new line (see `docs/semantics.md`, "Finding the hooks").
///
/// Returns whether the source was rewritten.
pub fn rewrite_any(data: &[u8], config: &Config) -> bool {
    let target = ModuleTarget {
        module: "pkg.mod",
        file_name: "pkg/mod.py",
        hooks_module: "_equip_hooks_pkg",
    };
    let Ok(outcome) = instrument(data, target, config) else {
        return false;
    };
    let Some(bytes) = outcome.new_bytes else {
        return false;
    };
    let decoded = encoding::decode(&bytes).expect("the rewritten bytes decode");
    depth::with_stack(|| match ruff_python_parser::parse_module(&decoded.text) {
        Ok(parsed) => depth::dismantle(parsed.into_suite()),
        // The parser takes `return *x`, which CPython refuses; once wrapped in the exit call
        // it is refused: not a rewriter fault.
        Err(e)
            if e.error
                .to_string()
                .contains("Starred expression cannot be used here") => {}
        Err(e) => panic!("the rewritten source does not parse: {e}\n{}", decoded.text),
    });
    true
}
