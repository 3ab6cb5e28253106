//! Snippet placeholders (`{module}`, `{qualname}`, ...) and the hook points they are valid in
//! (README.md, "Configuration": the placeholder table).

use std::fmt;

/// A point where a snippet runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HookKind {
    /// Before the module body (after `from __future__` imports and the docstring).
    ModuleEnter,
    /// After the module body completes.
    ModuleExit,
    /// Before the first statement of a function body.
    FunctionEnter,
    /// Before every `return` and on falling off the end.
    FunctionExit,
    /// When an exception propagates out of a function.
    FunctionError,
    /// Before the statement starting on a configured line (`[[probes]]`, by index).
    Probe(usize),
}

impl HookKind {
    /// The config key of the hook (`function-enter`, `probes[2].snippet`, ...).
    pub fn config_key(&self) -> String {
        match self {
            HookKind::ModuleEnter => "hooks.module-enter".into(),
            HookKind::ModuleExit => "hooks.module-exit".into(),
            HookKind::FunctionEnter => "hooks.function-enter".into(),
            HookKind::FunctionExit => "hooks.function-exit".into(),
            HookKind::FunctionError => "hooks.function-error".into(),
            HookKind::Probe(i) => format!("probes[{i}].snippet"),
        }
    }

    /// The name of the generated function in the hooks module.
    pub fn function_name(&self) -> String {
        match self {
            HookKind::ModuleEnter => "_equip_module_enter".into(),
            HookKind::ModuleExit => "_equip_module_exit".into(),
            HookKind::FunctionEnter => "_equip_function_enter".into(),
            HookKind::FunctionExit => "_equip_function_exit".into(),
            HookKind::FunctionError => "_equip_function_error".into(),
            HookKind::Probe(i) => format!("_equip_probe_{i}"),
        }
    }

    /// A short label for messages and warnings (`function-enter`, `probe 2`).
    pub fn label(&self) -> String {
        match self {
            HookKind::Probe(i) => format!("probe {i}"),
            other => other.config_key().trim_start_matches("hooks.").to_string(),
        }
    }
}

/// A placeholder usable in snippets.
///
/// The declaration order is the canonical order of hook-function parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Placeholder {
    /// Dotted module name.
    Module,
    /// Path of the file inside the wheel.
    FileName,
    /// Function name (`{function}` and its alias `{method_name}`).
    Function,
    /// `__qualname__`-style name.
    Qualname,
    /// Enclosing class name, or None.
    ClassName,
    /// Line of the point.
    Lineno,
    /// Dict of parameter name to value, captured at entry.
    Arguments,
    /// The Nth parameter's value (None when the function has fewer).
    Arg(u8),
    /// The value being returned.
    ReturnValue,
    /// The exception propagating out.
    Exception,
    /// The value of the function-enter expression for this call.
    EnterValue,
    /// Dict of the frame's local variables (hidden `_equip_` names removed).
    Locals,
    /// `threading.get_ident()` of the running thread; computed inside the hook.
    ThreadId,
}

/// Highest N accepted in `{argN}`.
pub const MAX_ARG_INDEX: u8 = 63;

impl Placeholder {
    /// Resolves a placeholder name as written in a snippet. `method_name` is an alias of
    /// `function`.
    pub fn from_name(name: &str) -> Option<Placeholder> {
        Some(match name {
            "module" => Placeholder::Module,
            "file_name" => Placeholder::FileName,
            "function" | "method_name" => Placeholder::Function,
            "qualname" => Placeholder::Qualname,
            "class_name" => Placeholder::ClassName,
            "lineno" => Placeholder::Lineno,
            "arguments" => Placeholder::Arguments,
            "return_value" => Placeholder::ReturnValue,
            "exception" => Placeholder::Exception,
            "enter_value" => Placeholder::EnterValue,
            "locals" => Placeholder::Locals,
            "thread_id" => Placeholder::ThreadId,
            _ => {
                let n = name.strip_prefix("arg")?;
                if n.is_empty() || (n.len() > 1 && n.starts_with('0')) {
                    return None;
                }
                let n: u8 = n.parse().ok()?;
                if n > MAX_ARG_INDEX {
                    return None;
                }
                Placeholder::Arg(n)
            }
        })
    }

    /// The parameter name the hook function binds this placeholder to.
    pub fn param_name(&self) -> String {
        match self {
            Placeholder::Module => "module".into(),
            Placeholder::FileName => "file_name".into(),
            Placeholder::Function => "function".into(),
            Placeholder::Qualname => "qualname".into(),
            Placeholder::ClassName => "class_name".into(),
            Placeholder::Lineno => "lineno".into(),
            Placeholder::Arguments => "arguments".into(),
            Placeholder::Arg(n) => format!("arg{n}"),
            Placeholder::ReturnValue => "return_value".into(),
            Placeholder::Exception => "exception".into(),
            Placeholder::EnterValue => "enter_value".into(),
            Placeholder::Locals => "locals".into(),
            Placeholder::ThreadId => "thread_id".into(),
        }
    }

    /// True for values known when the wheel is instrumented (passed as constants); these are
    /// also substituted as text inside plain string literals.
    pub fn is_static(&self) -> bool {
        matches!(
            self,
            Placeholder::Module
                | Placeholder::FileName
                | Placeholder::Function
                | Placeholder::Qualname
                | Placeholder::ClassName
                | Placeholder::Lineno
        )
    }

    /// Whether the placeholder has a value at `kind`.
    pub fn valid_in(&self, kind: HookKind) -> bool {
        use HookKind::*;
        match self {
            Placeholder::Module
            | Placeholder::FileName
            | Placeholder::Lineno
            | Placeholder::ThreadId => true,
            Placeholder::Function | Placeholder::Qualname | Placeholder::ClassName => {
                matches!(
                    kind,
                    FunctionEnter | FunctionExit | FunctionError | Probe(_)
                )
            }
            Placeholder::Arguments | Placeholder::Arg(_) => {
                matches!(kind, FunctionEnter | FunctionExit | FunctionError)
            }
            Placeholder::ReturnValue => kind == FunctionExit,
            Placeholder::Exception => kind == FunctionError,
            Placeholder::EnterValue => matches!(kind, FunctionExit | FunctionError),
            Placeholder::Locals => matches!(kind, Probe(_)),
        }
    }

    /// Every placeholder name, for error messages.
    pub fn all_names() -> &'static str {
        "module, file_name, function, method_name, qualname, class_name, lineno, arguments, \
         arg0..arg63, return_value, exception, enter_value, locals, thread_id"
    }
}

impl fmt::Display for Placeholder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{{}}}", self.param_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_aliases() {
        assert_eq!(
            Placeholder::from_name("method_name"),
            Some(Placeholder::Function)
        );
        assert_eq!(Placeholder::from_name("arg12"), Some(Placeholder::Arg(12)));
        assert_eq!(Placeholder::from_name("arg012"), None);
        assert_eq!(Placeholder::from_name("arg64"), None);
        assert_eq!(Placeholder::from_name("args"), None);
        assert_eq!(Placeholder::from_name("nope"), None);
    }

    #[test]
    fn validity_per_hook() {
        assert!(Placeholder::ReturnValue.valid_in(HookKind::FunctionExit));
        assert!(!Placeholder::ReturnValue.valid_in(HookKind::FunctionEnter));
        assert!(!Placeholder::Qualname.valid_in(HookKind::ModuleEnter));
        assert!(Placeholder::Locals.valid_in(HookKind::Probe(0)));
        assert!(!Placeholder::EnterValue.valid_in(HookKind::FunctionEnter));
    }
}
