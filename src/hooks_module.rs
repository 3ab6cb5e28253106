//! The generated runtime module `_equip_hooks_<dist>.py` and the calling convention (ABI)
//! that instrumented `.py` and `.pyc` code uses to reach it.
//!
//! Every configured snippet becomes one function of the module (see
//! [`HookKind::function_name`]). A call site passes, positionally:
//! 1. with `on-hook-error = "warn"`, the *site tuple* `(hook label, file name, line, where)`,
//!    a constant used to warn once per site;
//! 2. the value of each placeholder in [`HookAbi::params`], in that order: static ones as
//!    constants, `{arguments}` as a dict built at entry, `{enter_value}` from the hidden local,
//!    `{return_value}`/`{exception}`/`{locals}` from the frame.
//!
//! The function-enter hook returns the snippet's value (`{enter_value}`); the function-exit
//! hook returns the `return_value` it was given, so a site can write
//! `return _equip_h._equip_function_exit(..., value)` without the hook changing the result.

use crate::config::{Config, HookKind, OnHookError, Placeholder, Snippet};
use crate::source::syntax::{Edit, apply_edits, line_starts};

/// The alias instrumented modules bind the hooks module to.
pub const MODULE_ALIAS: &str = "_equip_h";

/// The hooks module's name for a distribution: `_equip_hooks_<normalized name>`.
pub fn module_name(distribution: &str) -> String {
    format!(
        "_equip_hooks_{}",
        crate::wheel::filename::dist_name_identifier(distribution)
    )
}

/// How call sites invoke one hook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookAbi {
    /// The hook point.
    pub kind: HookKind,
    /// The function's name in the hooks module.
    pub function: String,
    /// Whether the first argument is the site tuple (`on-hook-error = "warn"`).
    pub site_arg: bool,
    /// The placeholder arguments after it, in order.
    pub params: Vec<Placeholder>,
}

impl HookAbi {
    /// The ABI of `kind` under `config`, or `None` when that hook is not configured.
    pub fn of(config: &Config, kind: HookKind) -> Option<HookAbi> {
        let snippet = snippet_for(config, kind)?;
        let mut params: Vec<Placeholder> = snippet.params().collect();
        if kind == HookKind::FunctionExit && !params.contains(&Placeholder::ReturnValue) {
            params.push(Placeholder::ReturnValue);
            params.sort();
        }
        Some(HookAbi {
            kind,
            function: kind.function_name(),
            site_arg: config.hooks.on_hook_error == OnHookError::Warn,
            params,
        })
    }

    /// Whether a placeholder is passed.
    pub fn uses(&self, p: Placeholder) -> bool {
        self.params.contains(&p)
    }
}

fn snippet_for(config: &Config, kind: HookKind) -> Option<&Snippet> {
    match kind {
        HookKind::Probe(i) => config.probes.get(i).map(|p| &p.snippet),
        other => config.hooks.get(other),
    }
}

/// Renders the hooks module for `distribution` `version` under `config`.
pub fn render(config: &Config, distribution: &str, version: &str) -> String {
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
    out
}

/// Support code every hooks module starts with (hidden names only).
const RUNTIME_SUPPORT: &str = r#"
from _thread import get_ident as _equip_get_ident
import sys as _equip_sys
import warnings as _equip_warnings

__all__ = []
_equip_warned = set()


def _equip_failed(site, exc):
    # on-hook-error = "warn": one RuntimeWarning per site, pointing at the instrumented code.
    if site in _equip_warned:
        return
    _equip_warned.add(site)
    hook, file_name, lineno, where = site
    _equip_warnings.warn(
        "equip-wheel: the %s hook at %s:%s (%s) raised %s: %s "
        "(further failures at this site are not reported)"
        % (hook, file_name, lineno, where, type(exc).__name__, exc),
        RuntimeWarning,
        stacklevel=3,
    )


def _equip_locals():
    # {locals} at a probe: the variables of the frame that called this.
    return _equip_sys._getframe(1).f_locals


def _equip_visible_locals(names):
    # {locals}: the frame's variables without equip-wheel's hidden ones.
    return {k: v for k, v in names.items() if not k.startswith("_equip_")}
"#;

/// One hook function: parameters, bound aliases, the snippet body, the failure policy.
fn hook_function(abi: &HookAbi, snippet: &Snippet, policy: OnHookError) -> String {
    let mut params = Vec::new();
    if abi.site_arg {
        params.push("_equip_site".to_string());
    }
    params.extend(abi.params.iter().map(Placeholder::param_name));
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
    let body = snippet_body(snippet, returns_value);

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
    f.push_str(&indent_block(
        &body,
        indent,
        &snippet_string_ranges(snippet, &body),
    ));
    if guarded {
        match policy {
            OnHookError::Warn => f.push_str(
                "    except Exception as _equip_exc:\n        _equip_failed(_equip_site, _equip_exc)\n",
            ),
            _ => f.push_str("    except Exception:\n        pass\n"),
        }
    }
    if exit_passthrough {
        f.push_str("    return return_value\n");
    }
    f
}

/// The snippet body, with `return (...)` around its value expression when it has one.
fn snippet_body(snippet: &Snippet, returns_value: bool) -> String {
    match (returns_value, snippet.value_range) {
        (true, Some((start, end))) => apply_edits(
            &snippet.body,
            vec![Edit::insert(start, "return ("), Edit::insert(end, ")")],
        ),
        _ => snippet.body.clone(),
    }
}

/// String ranges of `body` (which may be the snippet body with `return (` inserted).
fn snippet_string_ranges(snippet: &Snippet, body: &str) -> Vec<(usize, usize)> {
    if body.len() == snippet.body.len() {
        return snippet.string_ranges.clone();
    }
    let shift = "return (".len();
    let start = snippet.value_range.map_or(usize::MAX, |r| r.0);
    snippet
        .string_ranges
        .iter()
        .map(|&(s, e)| {
            let d = if s >= start { shift } else { 0 };
            (s + d, e + d)
        })
        .collect()
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
        let text = render(&c, "demo", "1.0");
        ruff_python_parser::parse_module(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert!(text.contains("def _equip_function_enter(_equip_site, qualname, arguments):"));
        assert!(text.contains("\n        return ((arguments))\n"), "{text}");
        assert!(
            text.contains("\nb'''"),
            "string interior must not be indented:\n{text}"
        );
        assert!(text.contains("def _equip_function_exit(_equip_site, function, return_value):"));
        assert!(text.contains("method_name = function"));
        assert!(text.contains("    return return_value\n"));
    }

    #[test]
    fn abi_follows_policy_and_placeholders() {
        let c = config("[hooks]\non-hook-error = \"raise\"\nfunction-exit = \"print({lineno})\"\n");
        let abi = HookAbi::of(&c, HookKind::FunctionExit).unwrap();
        assert!(!abi.site_arg);
        assert_eq!(
            abi.params,
            vec![Placeholder::Lineno, Placeholder::ReturnValue]
        );
        assert!(HookAbi::of(&c, HookKind::FunctionEnter).is_none());
        let text = render(&c, "demo", "1.0");
        assert!(!text.contains("try:\n        print"), "{text}");
    }
}
