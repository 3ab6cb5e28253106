//! `[[patch]]` tables: callables of other modules (`os.system`, `subprocess.Popen.__init__`,
//! `builtins.open`) wrapped at run time by the hooks module, with function hooks around each
//! call (README.md, "Hooks on other modules' callables").
//!
//! A table's snippets are compiled as function hooks (the same placeholders, with values
//! taken from the target: see docs/semantics.md). A table without snippets takes the
//! configuration's own `hooks.function-*`, so a preset can count or trace patched calls too.

use std::collections::BTreeMap;
use std::fmt;

use ruff_python_ast::Expr;
use toml::Spanned;

use super::schema::RawPatch;
use super::{HookKind, Hooks, Placeholder, Snippet, Source, compile_at, located};
use crate::error::ConfigError;

/// A validated patch target: the module that holds it (when written `module:path`) and the
/// attribute path, each a dotted Python name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PatchTarget {
    /// The module, when the target says it (`xml.etree.ElementTree:parse`); otherwise the
    /// longest dotted prefix that is an imported module, found at run time.
    pub module: Option<String>,
    /// The dotted path: after the `:` when there is one, else the whole target.
    pub path: String,
}

impl fmt::Display for PatchTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.module {
            Some(m) => write!(f, "{m}:{}", self.path),
            None => f.write_str(&self.path),
        }
    }
}

/// Built-in types whose attributes cannot be set (`str.join`, `dict.get`): a target under
/// one of them can never be patched. Exceptions are recognized by their suffix.
const BUILTIN_TYPES: &[&str] = &[
    "bool",
    "bytearray",
    "bytes",
    "classmethod",
    "complex",
    "dict",
    "enumerate",
    "filter",
    "float",
    "frozenset",
    "int",
    "list",
    "map",
    "memoryview",
    "object",
    "property",
    "range",
    "reversed",
    "set",
    "slice",
    "staticmethod",
    "str",
    "super",
    "tuple",
    "type",
    "zip",
];

impl PatchTarget {
    /// Parses `module.path` or `module:path`.
    ///
    /// Errors: a part that is not a dotted Python name, a target of one name only (nothing
    /// holds it), and an attribute of a built-in type (read-only at run time).
    pub fn parse(text: &str) -> Result<PatchTarget, PatchTargetError> {
        let (module, path) = match text.split_once(':') {
            Some((m, p)) => (Some(m), p),
            None => (None, text),
        };
        if let Some(m) = module {
            check_dotted(m).map_err(|_| PatchTargetError::ModuleNotDotted(m.to_string()))?;
        }
        check_dotted(path)?;
        let segments: Vec<&str> = module
            .into_iter()
            .flat_map(|m| m.split('.'))
            .chain(path.split('.'))
            .collect();
        if segments.len() < 2 {
            return Err(PatchTargetError::NoAttribute(text.to_string()));
        }
        if segments[0] == "builtins" && segments.len() > 2 {
            let owner = segments[1];
            let exception = ["Error", "Exception", "Warning"]
                .iter()
                .any(|s| owner.ends_with(s));
            if BUILTIN_TYPES.contains(&owner) || exception {
                return Err(PatchTargetError::BuiltinType {
                    target: text.to_string(),
                    owner: owner.to_string(),
                });
            }
        }
        Ok(PatchTarget {
            module: module.map(str::to_string),
            path: path.to_string(),
        })
    }
}

/// Why a `[[patch]]` target is refused when the config is read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatchTargetError {
    /// The target (or the part after `:`) is not a dotted Python name.
    #[error("{0:?} is not a dotted Python name")]
    NotDotted(String),
    /// The part before `:` is not a dotted Python name.
    #[error("module {0:?}: {0:?} is not a dotted Python name")]
    ModuleNotDotted(String),
    /// One name only: nothing holds it, so nothing can be replaced.
    #[error(
        "{0:?} names no attribute: write the module and the callable, like \"os.system\" or \
         \"subprocess.Popen.__init__\""
    )]
    NoAttribute(String),
    /// An attribute of a built-in type, which is read-only at run time.
    #[error(
        "{target:?} is an attribute of the built-in type {owner}, whose attributes cannot be replaced"
    )]
    BuiltinType {
        /// The target as written.
        target: String,
        /// The built-in type (`str`, `ValueError`).
        owner: String,
    },
}

/// Checks that `text` is a dotted Python name (`a`, `a.b_c.D`), by the Python parser.
fn check_dotted(text: &str) -> Result<(), PatchTargetError> {
    let not_dotted = || PatchTargetError::NotDotted(text.to_string());
    if text.is_empty() || text.trim() != text || text.contains(char::is_whitespace) {
        return Err(not_dotted());
    }
    let parsed = ruff_python_parser::parse_expression(text).map_err(|_| not_dotted())?;
    let mut expr = parsed.expr();
    loop {
        match expr {
            Expr::Name(_) => return Ok(()),
            Expr::Attribute(a) => expr = &a.value,
            _ => return Err(not_dotted()),
        }
    }
}

/// One validated `[[patch]]` table.
#[derive(Debug, Clone)]
pub struct Patch {
    /// What to wrap, in the order written.
    pub targets: Vec<PatchTarget>,
    /// Before each call; its value is `{enter_value}`.
    pub enter: Option<Snippet>,
    /// After each call that returned.
    pub exit: Option<Snippet>,
    /// After each call that raised (the exception then propagates unchanged).
    pub error: Option<Snippet>,
    /// Whether the snippets are the configuration's `hooks.function-*` (the table gave none).
    pub inherited: bool,
}

impl Patch {
    /// The snippet run at `kind` (`FunctionEnter`, `FunctionExit` or `FunctionError`).
    pub fn get(&self, kind: HookKind) -> Option<&Snippet> {
        match kind {
            HookKind::FunctionEnter => self.enter.as_ref(),
            HookKind::FunctionExit => self.exit.as_ref(),
            HookKind::FunctionError => self.error.as_ref(),
            _ => None,
        }
    }
}

/// Validates the `[[patch]]` tables; `hooks` are the configuration's validated hooks, which a
/// table without snippets takes.
pub(super) fn validate(
    raw: &[RawPatch],
    hooks: &Hooks,
    src: &Source,
) -> Result<Vec<Patch>, ConfigError> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut patches = Vec::new();
    for (i, table) in raw.iter().enumerate() {
        let key = format!("patch[{i}]");
        let targets = parse_targets(&table.targets, &key, i, &mut seen, src)?;
        let own = [
            (&table.function_enter, HookKind::FunctionEnter),
            (&table.function_exit, HookKind::FunctionExit),
            (&table.function_error, HookKind::FunctionError),
        ];
        let inherited = own.iter().all(|(v, _)| v.is_none());
        let patch = if inherited {
            if !hooks.any_function_hook() {
                return Err(located(
                    src,
                    table.targets.span(),
                    &key,
                    "this table has no function-enter, function-exit or function-error, and \
                     hooks has none for it to take"
                        .into(),
                ));
            }
            Patch {
                targets,
                enter: hooks.function_enter.clone(),
                exit: hooks.function_exit.clone(),
                error: hooks.function_error.clone(),
                inherited,
            }
        } else {
            let mut compiled = own.iter().map(|(value, kind)| {
                value
                    .as_ref()
                    .map(|v| {
                        let name = kind.config_key();
                        let name = name.trim_start_matches("hooks.");
                        compile_at(src, v, *kind, &format!("{key}.{name}"))
                    })
                    .transpose()
            });
            let enter = compiled.next().expect("three snippets")?;
            let exit = compiled.next().expect("three snippets")?;
            let error = compiled.next().expect("three snippets")?;
            Patch {
                targets,
                enter,
                exit,
                error,
                inherited,
            }
        };
        check_enter_value(&patch, table, &key, src)?;
        check_no_locals(&patch, &key, src, table)?;
        patches.push(patch);
    }
    Ok(patches)
}

/// The tables as they go into the normalized configuration (and its sha256).
pub(super) fn normalized(patches: &[Patch]) -> serde_json::Value {
    let text = |s: &Option<Snippet>| s.as_ref().map(|s| s.text.clone());
    patches
        .iter()
        .map(|p| {
            serde_json::json!({
                "targets": p.targets.iter().map(ToString::to_string).collect::<Vec<_>>(),
                "function-enter": text(&p.enter),
                "function-exit": text(&p.exit),
                "function-error": text(&p.error),
                "inherited": p.inherited,
            })
        })
        .collect()
}

fn parse_targets(
    raw: &Spanned<Vec<Spanned<String>>>,
    key: &str,
    table: usize,
    seen: &mut BTreeMap<String, usize>,
    src: &Source,
) -> Result<Vec<PatchTarget>, ConfigError> {
    if raw.get_ref().is_empty() {
        return Err(located(
            src,
            raw.span(),
            &format!("{key}.targets"),
            "give at least one target, like \"os.system\"".into(),
        ));
    }
    let mut targets = Vec::new();
    for (j, t) in raw.get_ref().iter().enumerate() {
        let tkey = format!("{key}.targets[{j}]");
        let target = PatchTarget::parse(t.get_ref())
            .map_err(|e| located(src, t.span(), &tkey, e.to_string()))?;
        // `os.system` and `os:system` are one attribute: wrapping it twice would run the hooks
        // twice per call.
        let canonical = match &target.module {
            Some(m) => format!("{m}.{}", target.path),
            None => target.path.clone(),
        };
        if let Some(first) = seen.insert(canonical, table) {
            return Err(located(
                src,
                t.span(),
                &tkey,
                format!("{target} is already a target of patch[{first}]"),
            ));
        }
        targets.push(target);
    }
    Ok(targets)
}

/// `{enter_value}` needs an enter snippet in the same table.
fn check_enter_value(
    patch: &Patch,
    table: &RawPatch,
    key: &str,
    src: &Source,
) -> Result<(), ConfigError> {
    if patch.enter.is_some() {
        return Ok(());
    }
    for (snippet, raw, name) in [
        (&patch.exit, &table.function_exit, "function-exit"),
        (&patch.error, &table.function_error, "function-error"),
    ] {
        if snippet
            .as_ref()
            .is_some_and(|s| s.uses.contains(&Placeholder::EnterValue))
        {
            let span = raw.as_ref().map_or(table.targets.span(), Spanned::span);
            return Err(located(
                src,
                span,
                &format!("{key}.{name}"),
                "{enter_value} needs a function-enter expression in the same table".into(),
            ));
        }
    }
    Ok(())
}

/// `{locals}` has no value around a call made elsewhere (the compiler already refuses it in
/// function hooks; this names the table when the snippets are inherited).
fn check_no_locals(
    patch: &Patch,
    key: &str,
    src: &Source,
    table: &RawPatch,
) -> Result<(), ConfigError> {
    let uses_locals = [&patch.enter, &patch.exit, &patch.error].iter().any(|s| {
        s.as_ref()
            .is_some_and(|s| s.uses.contains(&Placeholder::Locals))
    });
    if uses_locals {
        return Err(located(
            src,
            table.targets.span(),
            key,
            "{locals} has no value in patched callables".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse() {
        let t = PatchTarget::parse("subprocess.Popen.__init__").unwrap();
        assert_eq!(t.module, None);
        assert_eq!(t.path, "subprocess.Popen.__init__");
        let t = PatchTarget::parse("xml.etree.ElementTree:parse").unwrap();
        assert_eq!(t.module.as_deref(), Some("xml.etree.ElementTree"));
        assert_eq!(t.path, "parse");
        assert_eq!(t.to_string(), "xml.etree.ElementTree:parse");
        assert!(PatchTarget::parse("builtins.open").is_ok());
        assert!(PatchTarget::parse("pkg:f").is_ok());
    }

    #[test]
    fn bad_targets_say_why() {
        for (text, needle) in [
            ("os", "names no attribute"),
            ("", "not a dotted Python name"),
            ("os..system", "not a dotted Python name"),
            ("os.system()", "not a dotted Python name"),
            ("os. system", "not a dotted Python name"),
            ("a.class", "not a dotted Python name"),
            ("os:", "not a dotted Python name"),
            (":system", "not a dotted Python name"),
            ("builtins.str.join", "built-in type str"),
            ("builtins.ValueError.__init__", "built-in type ValueError"),
        ] {
            let e = PatchTarget::parse(text).unwrap_err().to_string();
            assert!(e.contains(needle), "{text:?}: {e}");
        }
    }
}
