//! The generated runtime module `_equip_hooks_<dist>.py`: one function per configured hook,
//! the `_reporting` and leave functions, the support code they share and the binding code
//! object instrumented modules look for. What call sites pass to these functions is the
//! calling convention of `hook_abi`.

use crate::config::{Config, HookKind, OnHookError, Placeholder, Snippet};
use crate::hook_abi::{Binding, HookAbi, HookSet, module_name, snippet_for};
use crate::syntax::{Edit, apply_edits, line_starts, py_str};

/// The name under which the hooks module defines its inventory of instrumented functions:
/// a dict from dotted module name to the tuple of its instrumented qualnames, in source
/// order. Written only when `hooks.setup` uses the name (a large package has tens of
/// thousands of functions, and the text is parsed at import); defined before the setup code
/// runs. The `calls` preset uses it to report functions that were never called.
pub const INVENTORY_NAME: &str = "_equip_functions";

/// The instrumented functions of one module, for the inventory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleFunctions {
    /// The dotted module name.
    pub module: String,
    /// The qualnames of its instrumented functions, each once, in source order.
    pub qualnames: Vec<String>,
}

/// Renders the hooks module for `distribution` `version` under `config`; `inventory` lists
/// the instrumented functions (see [`INVENTORY_NAME`]).
pub fn render(
    config: &Config,
    distribution: &str,
    version: &str,
    inventory: &[ModuleFunctions],
) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "\"\"\"Hooks injected by equip-wheel {} into {} {}.\n\nGenerated from {} (config sha256 {}); do not edit.\n\"\"\"\n",
        env!("CARGO_PKG_VERSION"),
        distribution,
        version,
        config.origin.replace('\\', "/").replace("\"\"\"", "'''"),
        config.sha256,
    ));
    out.push_str(RUNTIME_SUPPORT);
    if !config.hooks.imports.is_empty() {
        out.push_str("\n# hooks.imports\n");
        for import in &config.hooks.imports {
            out.push_str(import);
            out.push('\n');
        }
    }
    if let Some(setup) = &config.hooks.setup {
        if setup.contains(INVENTORY_NAME) {
            out.push_str(&inventory_source(inventory));
        }
        out.push_str("\n# hooks.setup\n");
        out.push_str(setup.trim_end());
        out.push('\n');
    }
    let kinds = [
        HookKind::ModuleEnter,
        HookKind::ModuleExit,
        HookKind::FunctionEnter,
        HookKind::FunctionExit,
        HookKind::FunctionError,
    ]
    .into_iter()
    .chain((0..config.probes.len()).map(HookKind::Probe));
    for kind in kinds {
        if let (Some(abi), Some(snippet)) = (HookAbi::of(config, kind), snippet_for(config, kind)) {
            out.push_str("\n\n");
            out.push_str(&hook_function(&abi, snippet, config.hooks.on_hook_error));
        }
    }
    let hooks = HookSet::of(config);
    let pairs = [
        (&hooks.reporting_enter, &hooks.enter),
        (&hooks.reporting_exit, &hooks.exit),
    ];
    for (reporting, hook) in pairs {
        if let (Some(reporting), Some(hook), Some(error)) = (reporting, hook, &hooks.error) {
            out.push_str("\n\n");
            out.push_str(&reporting_function(reporting, hook, error));
        }
    }
    if let (Some(leave), Some(exit)) = (&hooks.leave, &hooks.exit) {
        out.push_str("\n\n");
        out.push_str(&leave_function(leave, exit, hooks.error.as_ref()));
    }
    out.push_str(&crate::hooks_patch::render(config));
    // Last, so that a module importing this one while it is still being imported (a circular
    // import through hooks.imports) finds no binding and runs uninstrumented.
    let binding = Binding::of(config, &module_name(distribution));
    out.push_str(&format!(
        "\n\n# How instrumented modules bind these hooks (see equip-wheel's docs/semantics.md).\n{} = compile({}, '<equip-wheel binding>', 'exec')\n",
        binding.attribute,
        py_str(&binding.source)
    ));
    out
}

/// `_equip_functions = {...}`: one line per module.
fn inventory_source(inventory: &[ModuleFunctions]) -> String {
    let mut out = format!(
        "\n# The functions instrumented in this distribution, by module.\n{INVENTORY_NAME} = {{\n"
    );
    for m in inventory {
        let names: Vec<String> = m.qualnames.iter().map(|q| py_str(q)).collect();
        // A one-element tuple needs its trailing comma.
        out.push_str(&format!(
            "    {}: ({},),\n",
            py_str(&m.module),
            names.join(", ")
        ));
    }
    out.push_str("}\n");
    out
}

/// Support code every hooks module starts with (hidden names only), after a blank line:
/// `hooks_runtime.py`, a real Python file so that linters check it.
const RUNTIME_SUPPORT: &str = concat!("\n", include_str!("hooks_runtime.py"));

/// One hook function: parameters, bound aliases, the snippet body, the failure policy.
fn hook_function(abi: &HookAbi, snippet: &Snippet, policy: OnHookError) -> String {
    let params: Vec<String> = abi.params.iter().map(Placeholder::param_name).collect();
    let mut prologue = Vec::new();
    if snippet.function_aliases.contains("method_name") {
        prologue.push("method_name = function".to_string());
    }
    if snippet.uses.contains(&Placeholder::ThreadId) {
        prologue.push("thread_id = _equip_get_ident()".to_string());
    }
    if snippet.uses.contains(&Placeholder::Locals) {
        prologue.push("locals = _equip_visible_locals(locals)".to_string());
    }
    let returns_value = abi.kind == HookKind::FunctionEnter;
    let (body, strings) = snippet_with_value(snippet, returns_value, "return (");

    let mut f = format!(
        "# {}\ndef {}({}):\n",
        abi.kind.config_key(),
        abi.function,
        params.join(", ")
    );
    let exit_passthrough = abi.kind == HookKind::FunctionExit;
    let (indent, guarded) = match policy {
        OnHookError::Raise => ("    ", false),
        _ => ("        ", true),
    };
    if guarded {
        f.push_str("    try:\n");
    }
    for line in &prologue {
        f.push_str(indent);
        f.push_str(line);
        f.push('\n');
    }
    f.push_str(&indent_block(&body, indent, &strings));
    if guarded {
        match policy {
            OnHookError::Warn => f.push_str(&format!(
                "    except Exception as _equip_exc:\n        _equip_failed({}, _equip_exc)\n",
                py_str(&abi.kind.label())
            )),
            _ => f.push_str("    except Exception:\n        pass\n"),
        }
    }
    if exit_passthrough {
        f.push_str("    return return_value\n");
    }
    f
}

/// The function of [`HookAbi::reporting`]: `hook`'s generated function, and on failure the
/// error hook's (with `{enter_value}` None when the enter hook failed), then a bare `raise`.
fn reporting_function(reporting: &HookAbi, hook: &HookAbi, error: &HookAbi) -> String {
    let args = |abi: &HookAbi| {
        let names: Vec<String> = abi
            .params
            .iter()
            .map(|p| match p {
                Placeholder::Exception => "_equip_exc".to_string(),
                Placeholder::EnterValue if hook.kind == HookKind::FunctionEnter => {
                    "None".to_string()
                }
                Placeholder::Lineno
                    if abi.kind == HookKind::FunctionError && reporting.error_lineno =>
                {
                    "error_lineno".to_string()
                }
                other => other.param_name(),
            })
            .collect();
        names.join(", ")
    };
    let mut params: Vec<String> = reporting
        .params
        .iter()
        .map(Placeholder::param_name)
        .collect();
    if reporting.error_lineno {
        params.push("error_lineno".to_string());
    }
    format!(
        "# {}, reporting its own failure to hooks.function-error (functions whose body cannot raise)\n\
         def {}({}):\n    try:\n        return {}({})\n    except BaseException as _equip_exc:\n        {}({})\n        raise\n",
        hook.kind.config_key(),
        reporting.function,
        params.join(", "),
        hook.function,
        args(hook),
        error.function,
        args(error),
    )
}

/// The function of [`HookAbi::leave`].
fn leave_function(leave: &HookAbi, exit: &HookAbi, error: Option<&HookAbi>) -> String {
    let args = |abi: &HookAbi| {
        let names: Vec<String> = abi
            .params
            .iter()
            .map(|p| match p {
                Placeholder::Exception => "_equip_exc".to_string(),
                Placeholder::Lineno
                    if abi.kind == HookKind::FunctionError && leave.error_lineno =>
                {
                    "error_lineno".to_string()
                }
                other => other.param_name(),
            })
            .collect();
        names.join(", ")
    };
    let mut params: Vec<String> = leave.params.iter().map(Placeholder::param_name).collect();
    if leave.error_lineno {
        params.push("error_lineno".to_string());
    }
    let mut f = format!(
        "# hooks.function-exit (or hooks.function-error) from the `finally` of a function whose exits wait for its cleanup\n\
         def {}({}):\n    _equip_exc = _equip_sys.exc_info()[1]\n    _equip_tb = getattr(_equip_exc, '__traceback__', None)\n    \
         if _equip_tb is None or _equip_tb.tb_frame is not _equip_sys._getframe(1):\n        \
         {}({})\n",
        leave.function,
        params.join(", "),
        exit.function,
        args(exit),
    );
    if let Some(error) = error {
        f.push_str(&format!(
            "    else:\n        _equip_tb = None\n        {}({})\n",
            error.function,
            args(error)
        ));
    }
    f
}

/// The snippet body with `prefix` (`return (`, `enter_value = (`) and `)` around its value
/// expression when `bind_value` is set and it has one, and the byte ranges of its string
/// tokens in that text.
pub(crate) fn snippet_with_value(
    snippet: &Snippet,
    bind_value: bool,
    prefix: &str,
) -> (String, Vec<(usize, usize)>) {
    match (bind_value, snippet.value_range) {
        (true, Some((start, end))) => {
            let body = apply_edits(
                &snippet.body,
                vec![Edit::insert(start, prefix), Edit::insert(end, ")")],
            );
            let shift = prefix.len();
            let strings = snippet
                .string_ranges
                .iter()
                .map(|&(s, e)| {
                    let d = if s >= start { shift } else { 0 };
                    (s + d, e + d)
                })
                .collect();
            (body, strings)
        }
        _ => (snippet.body.clone(), snippet.string_ranges.clone()),
    }
}

/// Indents every line of `text` by `indent`, except lines that start inside a string token.
pub fn indent_block(text: &str, indent: &str, strings: &[(usize, usize)]) -> String {
    let mut out = String::with_capacity(text.len() + 16 * indent.len());
    let starts = line_starts(text);
    for (i, &start) in starts.iter().enumerate() {
        let end = starts.get(i + 1).copied().unwrap_or(text.len());
        let line = &text[start..end];
        let inside = strings.iter().any(|&(s, e)| s < start && start < e);
        if !inside && !line.trim().is_empty() {
            out.push_str(indent);
        }
        out.push_str(line);
    }
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> Config {
        Config::from_toml_str(text, "equip.toml").unwrap()
    }

    #[test]
    fn module_name_is_an_identifier() {
        assert_eq!(module_name("More.Itertools"), "_equip_hooks_more_itertools");
    }

    #[test]
    fn renders_a_module_that_python_parses() {
        let c = config(
            r#"
[hooks]
imports = ["import sys"]
setup = "events = []"
function-enter = "x = 1\nevents.append(({qualname}, {thread_id}, '''a\nb'''))\n{arguments}"
function-exit = "events.append(f'{method_name} -> {return_value!r}')"
"#,
        );
        let text = render(&c, "demo", "1.0", &[]);
        ruff_python_parser::parse_module(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert!(text.contains("def _equip_function_enter(qualname, arguments):"));
        assert!(
            text.contains("_equip_failed('function-enter', _equip_exc)"),
            "{text}"
        );
        assert!(text.contains("\n        return ((arguments))\n"), "{text}");
        assert!(
            text.contains("\nb'''"),
            "string interior must not be indented:\n{text}"
        );
        assert!(text.contains("def _equip_function_exit(function, return_value):"));
        assert!(text.contains("method_name = function"));
        assert!(text.contains("    return return_value\n"));
    }

    #[test]
    fn abi_follows_policy_and_placeholders() {
        let c = config("[hooks]\non-hook-error = \"raise\"\nfunction-exit = \"print({lineno})\"\n");
        let abi = HookAbi::of(&c, HookKind::FunctionExit).unwrap();
        assert_eq!(
            abi.params,
            vec![Placeholder::Lineno, Placeholder::ReturnValue]
        );
        assert!(HookAbi::of(&c, HookKind::FunctionEnter).is_none());
        let text = render(&c, "demo", "1.0", &[]);
        assert!(!text.contains("try:\n        print"), "{text}");
    }

    #[test]
    fn direct_calls_only_under_raise_for_bound_callees() {
        let hooks = r#"
imports = ["from t import enter, exit", "import tracer"]
function-enter = "enter({qualname}, 1)"
function-exit = "exit({enter_value}, {return_value})"
function-error = "tracer.fail({exception})"
module-enter = "print({module})"
"#;
        let c = config(&format!("[hooks]\non-hook-error = \"raise\"\n{hooks}"));
        let enter = HookAbi::of(&c, HookKind::FunctionEnter).unwrap();
        assert!(enter.direct.is_some());
        assert_eq!(enter.callee, "__equip_enter__");
        assert_eq!(enter.binding.as_deref(), Some("__equip_hooks__.enter"));
        let error = HookAbi::of(&c, HookKind::FunctionError).unwrap();
        assert_eq!(
            (error.callee.as_str(), error.binding),
            ("__equip_hooks__.tracer.fail", None)
        );
        // `print` is a builtin, not bound by the hooks module.
        let module = HookAbi::of(&c, HookKind::ModuleEnter).unwrap();
        assert!(module.direct.is_none());
        assert_eq!(
            (module.callee.as_str(), module.binding),
            ("__equip_hooks__._equip_module_enter", None)
        );
        // Other policies catch inside the generated function: no direct call, but function
        // hooks are still reached through a hidden global.
        let c = config(&format!("[hooks]\n{hooks}"));
        let enter = HookAbi::of(&c, HookKind::FunctionEnter).unwrap();
        assert!(enter.direct.is_none());
        assert_eq!(
            enter.binding.as_deref(),
            Some("__equip_hooks__._equip_function_enter")
        );
        // An exit call that does not pass {return_value} cannot return it.
        let c = config(
            "[hooks]\non-hook-error = \"raise\"\nimports = [\"from t import exit\"]\nfunction-exit = \"exit({lineno})\"\n",
        );
        assert!(
            HookAbi::of(&c, HookKind::FunctionExit)
                .unwrap()
                .direct
                .is_none()
        );
    }

    #[test]
    fn binding_names_the_module_its_tag_and_a_stand_in() {
        let c = config(
            "[hooks]\nfunction-enter = \"print({qualname})\"\nfunction-exit = \"print({lineno}, {return_value}, {enter_value})\"\n",
        );
        let b = Binding::of(&c, "_equip_hooks_demo");
        assert!(b.attribute.starts_with("_equip_bind_") && b.attribute.len() == 28);
        assert_eq!(
            b.source,
            "__equip_hooks__ = __import__('_equip_hooks_demo')\n\
             __equip_enter__ = __equip_hooks__._equip_function_enter\n\
             __equip_exit__ = __equip_hooks__._equip_function_exit\n"
        );
        // The stand-in's exit returns its `return_value`: second of (lineno, return_value,
        // enter_value), or by keyword (`.pyc` call sites on 3.8-3.10).
        assert!(
            b.fallback.contains(
                "def _equip_function_exit(self, *args, **kwargs):\n        return args[1] if args else kwargs['return_value']\n"
            ),
            "{}",
            b.fallback
        );
        ruff_python_parser::parse_module(&b.fallback).unwrap();
        ruff_python_parser::parse_module(&b.expression()).unwrap();
        // The hooks module keeps the binding code under the tag, after the hook functions.
        let text = render(&c, "demo", "1.0", &[]);
        let at = text.find(&format!("{} = compile(", b.attribute)).unwrap();
        assert!(at > text.find("def _equip_function_exit").unwrap());
        // Another config (another calling convention) has another tag.
        let other = config("[hooks]\nfunction-enter = \"print({module})\"\n");
        assert_ne!(
            Binding::of(&other, "_equip_hooks_demo").attribute,
            b.attribute
        );
    }
}
