//! The `[[patch]]` part of the generated hooks module: for each table, a wrapper factory
//! whose wrappers run the table's snippets around a call of the original callable, and the
//! call that hands the factory and the table's targets to the patching runtime
//! (`patch_runtime.py`, which finds, wraps and replaces the targets at run time).
//!
//! The snippets are written into the wrapper itself rather than into hook functions it would
//! call: a patched call then costs one Python frame, as a hand-written `functools.wraps`
//! wrapper does (docs/benchmarks.md). A wrapper:
//! - in guarded mode (switched on, once per process, by the first hook that re-entered patched
//!   callables and recursed), calls the original directly when the running thread is inside
//!   a patch hook, and marks the thread while its own hooks run;
//! - binds the target's static placeholders (`{module}`, `{qualname}`, ...) as locals, then
//!   `{thread_id}`, `{arguments}` and `{argN}` when a snippet uses them;
//! - runs function-enter, then the original (awaited for a coroutine function, delegated to
//!   with `yield from` for a generator function), then function-exit or function-error, each
//!   under `on-hook-error`; the original's result and exception pass through unchanged.

use crate::config::patch::Patch;
use crate::config::{Config, HookKind, OnHookError, Placeholder, Snippet};
use ruff_python_parser::{Mode, ParseOptions};

use crate::hooks_module::{indent_block, snippet_with_value};
use crate::syntax::{py_str, string_ranges};

/// The runtime support of patch wrappers, added to hooks modules that have `[[patch]]`
/// tables: a real Python file, so that linters check it.
const PATCH_RUNTIME: &str = include_str!("patch_runtime.py");

/// How the factory calls the original for each kind of callable: `(shape, def, call)`.
const SHAPES: [(&str, &str, &str); 3] = [
    (
        "coroutine",
        "async def",
        "await _equip_original(*_equip_args, **_equip_kwargs)",
    ),
    (
        "generator",
        "def",
        "yield from _equip_original(*_equip_args, **_equip_kwargs)",
    ),
    (
        "call",
        "def",
        "_equip_original(*_equip_args, **_equip_kwargs)",
    ),
];

/// The placeholders bound from the target when the wrapper is made, with the target's
/// attribute holding each.
const STATICS: [(Placeholder, &str); 6] = [
    (Placeholder::Module, "module"),
    (Placeholder::FileName, "file_name"),
    (Placeholder::Function, "function"),
    (Placeholder::Qualname, "qualname"),
    (Placeholder::ClassName, "class_name"),
    (Placeholder::Lineno, "lineno"),
];

/// The `[[patch]]` section of the hooks module, empty when the configuration has no tables.
pub fn render(config: &Config) -> String {
    if config.patches.is_empty() {
        return String::new();
    }
    let mut out = String::from("\n\n# [[patch]] support\n");
    out.push_str(PATCH_RUNTIME);
    for (i, patch) in config.patches.iter().enumerate() {
        out.push_str("\n\n");
        out.push_str(&factory(i, patch, config.hooks.on_hook_error));
    }
    out.push_str("\n\n");
    for (i, patch) in config.patches.iter().enumerate() {
        let targets: Vec<String> = patch
            .targets
            .iter()
            .map(|t| {
                format!(
                    "({}, {})",
                    t.module.as_deref().map_or("None".to_string(), py_str),
                    py_str(&t.path)
                )
            })
            .collect();
        out.push_str(&format!(
            "_equip_patch_install(({},), _equip_patch_{i}, {})\n",
            targets.join(", "),
            py_str(&format!("patch[{i}]")),
        ));
    }
    out
}

/// `_equip_patch_<i>(original, target, shape)`: returns the wrapper of `original`.
fn factory(index: usize, patch: &Patch, policy: OnHookError) -> String {
    let snippets: Vec<&Snippet> = [&patch.enter, &patch.exit, &patch.error]
        .into_iter()
        .flatten()
        .collect();
    let uses = |p: Placeholder| snippets.iter().any(|s| s.uses.contains(&p));
    let aliases = |name: &str| snippets.iter().any(|s| s.function_aliases.contains(name));
    let targets: Vec<String> = patch.targets.iter().map(ToString::to_string).collect();
    let mut f = format!(
        "# patch[{index}]: {}\ndef _equip_patch_{index}(_equip_original, _equip_target, _equip_shape):\n",
        targets.join(", ")
    );
    let statics: Vec<(Placeholder, &str)> = STATICS.into_iter().filter(|(p, _)| uses(*p)).collect();
    for (_, name) in &statics {
        f.push_str(&format!("    _equip_v_{name} = _equip_target.{name}\n"));
    }
    // The per-call prologue: the statics as locals (a snippet may rebind them), then the
    // values computed per call.
    let mut prologue = Vec::new();
    for (_, name) in &statics {
        prologue.push(format!("{name} = _equip_v_{name}"));
    }
    if aliases("method_name") {
        prologue.push("method_name = function".to_string());
    }
    if uses(Placeholder::ThreadId) {
        prologue.push("thread_id = _equip_get_ident()".to_string());
    }
    if uses(Placeholder::Arguments) {
        prologue.push("arguments = _equip_target.arguments(_equip_args, _equip_kwargs)".into());
    }
    for n in 0..=crate::config::placeholder::MAX_ARG_INDEX {
        if uses(Placeholder::Arg(n)) {
            prologue.push(format!(
                "arg{n} = _equip_target.arg(_equip_args, _equip_kwargs, {n})"
            ));
        }
    }
    for (k, (shape, def, call)) in SHAPES.iter().enumerate() {
        let keyword = match k {
            0 => "if",
            1 => "elif",
            _ => "else",
        };
        if keyword == "else" {
            f.push_str("    else:\n");
        } else {
            f.push_str(&format!(
                "    {keyword} _equip_shape == {}:\n",
                py_str(shape)
            ));
        }
        f.push_str(&format!(
            "        {def} _equip_patched(*_equip_args, **_equip_kwargs):\n"
        ));
        let body = wrapper_body(index, patch, policy, &prologue, call, shape);
        f.push_str(&indent_python(&body, "            "));
    }
    f.push_str("    return _equip_patched\n");
    f
}

/// The body of one wrapper, unindented.
fn wrapper_body(
    index: usize,
    patch: &Patch,
    policy: OnHookError,
    prologue: &[String],
    call: &str,
    shape: &str,
) -> String {
    let label = |kind: HookKind| {
        let key = kind.config_key();
        py_str(&format!(
            "patch[{index}].{}",
            key.trim_start_matches("hooks.")
        ))
    };
    // A `return` in a generator ends it with that value; `yield from` gives it.
    let bypass = if shape == "generator" {
        format!("return ({call})")
    } else {
        format!("return {call}")
    };
    // Guarded mode (patch_runtime.py): calls from inside hooks bypass them, and the thread is
    // marked busy while its own hooks run. Otherwise the same without the marking.
    let mut b = format!(
        "if _equip_patch_guard[0]:\n    _equip_local = _equip_patch_local\n    if _equip_local.busy:\n        {bypass}\n"
    );
    b.push_str(&indent_python(
        &hook_regions(patch, policy, prologue, call, &label, true),
        "    ",
    ));
    b.push_str(&hook_regions(patch, policy, prologue, call, &label, false));
    b
}

/// Enter, the call, exit or error, and the return; with `guarded`, each hook region marks
/// the thread busy (`_equip_local`) while it runs.
fn hook_regions(
    patch: &Patch,
    policy: OnHookError,
    prologue: &[String],
    call: &str,
    label: &dyn Fn(HookKind) -> String,
    guarded: bool,
) -> String {
    let region = |body: &str| -> String {
        if guarded {
            format!(
                "_equip_local.busy = True\ntry:\n{}finally:\n    _equip_local.busy = False\n",
                indent_python(body, "    ")
            )
        } else {
            body.to_string()
        }
    };
    let mut inner = prologue.join("\n");
    inner.push_str("\nenter_value = None\n");
    if let Some(enter) = &patch.enter {
        inner.push_str(&guarded_snippet(
            enter,
            true,
            policy,
            &label(HookKind::FunctionEnter),
        ));
    }
    let mut b = region(&inner);
    match &patch.error {
        Some(error) => {
            b.push_str(&format!(
                "try:\n    _equip_result = {call}\nexcept BaseException as exception:\n"
            ));
            let mut handler = region(&guarded_snippet(
                error,
                false,
                policy,
                &label(HookKind::FunctionError),
            ));
            handler.push_str("raise\n");
            b.push_str(&indent_python(&handler, "    "));
        }
        None => b.push_str(&format!("_equip_result = {call}\n")),
    }
    if let Some(exit) = &patch.exit {
        let mut body = String::from("return_value = _equip_result\n");
        body.push_str(&guarded_snippet(
            exit,
            false,
            policy,
            &label(HookKind::FunctionExit),
        ));
        b.push_str(&region(&body));
    }
    b.push_str("return _equip_result\n");
    b
}

/// Indents Python `text` (wrapper code around snippets) by `indent`, leaving alone the lines
/// that start inside a string token (a snippet's multi-line string keeps its content).
fn indent_python(text: &str, indent: &str) -> String {
    // `return`, `await` and `yield from` outside a function are errors of the compiler, not
    // of the parser: the fragment parses, and its string tokens are where they will be.
    let parsed = ruff_python_parser::parse_unchecked(text, ParseOptions::from(Mode::Module));
    let strings: Vec<(usize, usize)> = match parsed.try_into_module() {
        Some(module) => string_ranges(module.suite())
            .into_iter()
            .map(|r| (r.start().into(), r.end().into()))
            .collect(),
        None => Vec::new(),
    };
    indent_block(text, indent, &strings)
}

/// A snippet under the failure policy: as is for `raise`, else in `try`/`except Exception`.
fn guarded_snippet(snippet: &Snippet, enter: bool, policy: OnHookError, label: &str) -> String {
    let (body, strings) = snippet_with_value(snippet, enter, "enter_value = (");
    match policy {
        OnHookError::Raise => indent_block(&body, "", &strings),
        OnHookError::Warn | OnHookError::Ignore => {
            let mut s = String::from("try:\n");
            s.push_str(&indent_block(&body, "    ", &strings));
            match policy {
                OnHookError::Warn => s.push_str(&format!(
                    "except Exception as _equip_exc:\n    _equip_patch_failed({label}, _equip_target, _equip_exc)\n"
                )),
                _ => s.push_str(
                    "except Exception as _equip_exc:\n    _equip_patch_ignored(_equip_exc)\n",
                ),
            }
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> Config {
        Config::from_toml_str(text, "equip.toml").unwrap()
    }

    #[test]
    fn no_tables_no_text() {
        assert_eq!(
            render(&config("[hooks]\nfunction-enter = \"print(1)\"\n")),
            ""
        );
    }

    #[test]
    fn one_factory_and_one_install_per_table() {
        let c = config(
            r#"
[hooks]
imports = ["import audit"]
[[patch]]
targets = ["os.system", "xml.etree.ElementTree:parse"]
function-enter = "audit.start({qualname}, {arguments}, {thread_id})"
function-exit = "audit.end({enter_value}, {return_value})"
function-error = "audit.fail({enter_value}, {exception})"
[[patch]]
targets = ["builtins.open"]
function-enter = "audit.opened({arg0})"
"#,
        );
        let text = render(&c);
        assert!(text.contains("def _equip_patch_0(_equip_original, _equip_target, _equip_shape):"));
        assert!(text.contains("def _equip_patch_1("));
        assert!(text.contains(
            "_equip_patch_install(((None, 'os.system'), ('xml.etree.ElementTree', 'parse'),), _equip_patch_0, 'patch[0]')"
        ));
        assert!(text.contains("arg0 = _equip_target.arg(_equip_args, _equip_kwargs, 0)"));
        assert!(text.contains("enter_value = (audit.start((qualname), (arguments), (thread_id)))"));
    }

    #[test]
    fn multi_line_strings_keep_their_content() {
        let c = config(concat!(
            "[hooks]\nsetup = \"seen = []\"\n[[patch]]\ntargets = [\"os.getcwd\"]\n",
            "function-enter = \"\"\"\nseen.append('''a\nb''')\n\"\"\"\n",
        ));
        let text = render(&c);
        assert!(text.contains("seen.append('''a\nb''')"), "{text}");
    }
}
