//! The TOML schema of `equip.toml` and of the `[tool.equip-wheel]` table (README.md,
//! "Configuration"), as read by serde. Unknown keys are errors.

use serde::Deserialize;
use toml::Spanned;

/// The whole configuration as written.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawConfig {
    /// Start from this embedded preset; keys given here replace the preset's.
    pub preset: Option<Spanned<String>>,
    /// What to instrument.
    #[serde(default)]
    pub select: Option<RawSelect>,
    /// The snippets and where they run.
    #[serde(default)]
    pub hooks: Option<RawHooks>,
    /// Line probes.
    #[serde(default)]
    pub probes: Option<Vec<RawProbe>>,
    /// Hooks on callables of other modules.
    #[serde(default)]
    pub patch: Option<Vec<RawPatch>>,
    /// Output naming.
    #[serde(default)]
    pub output: Option<RawOutput>,
    /// `skip` (default: warn and copy the file unchanged) or `fail`.
    pub on_syntax_error: Option<Spanned<String>>,
    /// `fail` (default) or `skip`: .pyc members compiled for a Python this tool cannot rewrite.
    pub on_unsupported_pyc: Option<Spanned<String>>,
    /// `warn` (default) or `skip`: a module shadowed by an extension module of the same name.
    pub on_shadowed_module: Option<Spanned<String>>,
    /// PEP 517 wrapper only: the real build backend.
    pub build_backend: Option<String>,
    /// PEP 517 wrapper only: where the real backend is loaded from.
    pub backend_path: Option<Vec<String>>,
    /// PEP 517 wrapper only: read the instrumentation config from this file instead.
    pub config: Option<Spanned<String>>,
    /// PEP 517 wrapper only: `false` builds uninstrumented wheels.
    pub enabled: Option<bool>,
}

/// `[select]`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawSelect {
    /// Dotted-name globs of modules to instrument (default: all).
    pub modules: Option<Vec<String>>,
    /// Dotted-name globs of modules to leave alone.
    pub exclude_modules: Option<Vec<String>>,
    /// Qualname globs of functions to instrument (default: all).
    pub functions: Option<Vec<String>>,
    /// Qualname globs of functions to leave alone.
    pub exclude_functions: Option<Vec<String>>,
}

/// `[hooks]`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawHooks {
    /// Statements at the top of the generated hooks module.
    pub imports: Option<Vec<Spanned<String>>>,
    /// Python statements run once after the imports: helpers and state for the snippets.
    pub setup: Option<Spanned<String>>,
    /// Runs before the module body.
    pub module_enter: Option<Spanned<String>>,
    /// Runs after the module body completes.
    pub module_exit: Option<Spanned<String>>,
    /// An expression run before a function body; its value is `{enter_value}`.
    pub function_enter: Option<Spanned<String>>,
    /// Runs before every return and on falling off the end.
    pub function_exit: Option<Spanned<String>>,
    /// Runs when an exception propagates out of a function.
    pub function_error: Option<Spanned<String>>,
    /// `warn` (default), `raise` or `ignore`.
    pub on_hook_error: Option<Spanned<String>>,
}

/// One `[[probes]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawProbe {
    /// Dotted module name.
    pub module: String,
    /// 1-based line of the statement to run before.
    pub line: u32,
    /// The snippet.
    pub snippet: Spanned<String>,
}

/// One `[[patch]]` table: dotted targets and the function hooks run around their calls.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawPatch {
    /// `module.attribute.path` or `module:attribute.path`.
    pub targets: Spanned<Vec<Spanned<String>>>,
    /// Before the call; its value is `{enter_value}`.
    pub function_enter: Option<Spanned<String>>,
    /// After the call returned.
    pub function_exit: Option<Spanned<String>>,
    /// When the call raised.
    pub function_error: Option<Spanned<String>>,
}

/// `[output]`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawOutput {
    /// Build tag for the output wheel (starts with a digit).
    pub build_tag: Option<Spanned<String>>,
    /// Local version label appended to the version (`1.0+traced`).
    pub local_version: Option<Spanned<String>>,
}

impl RawConfig {
    /// Whether the config gives anything to inject: a hook snippet, `imports`, `setup`, a
    /// probe or a `[[patch]]` table with snippets of its own. (`on-hook-error` alone only
    /// tunes hooks given elsewhere; a patch table without snippets takes the hooks.)
    pub fn injects_anything(&self) -> bool {
        let hooks = self.hooks.as_ref().is_some_and(|h| {
            h.imports.is_some()
                || h.setup.is_some()
                || h.module_enter.is_some()
                || h.module_exit.is_some()
                || h.function_enter.is_some()
                || h.function_exit.is_some()
                || h.function_error.is_some()
        });
        let probes = self.probes.as_ref().is_some_and(|p| !p.is_empty());
        let patches = self.patch.as_ref().is_some_and(|p| {
            p.iter().any(|t| {
                t.function_enter.is_some()
                    || t.function_exit.is_some()
                    || t.function_error.is_some()
            })
        });
        hooks || probes || patches
    }

    /// Overlays `self` (the user's keys) on `base` (a preset): each key given in `self`
    /// replaces the preset's; `[hooks]` and `[select]` are merged key by key.
    pub fn over(self, base: RawConfig) -> RawConfig {
        RawConfig {
            preset: self.preset,
            select: merge_select(self.select, base.select),
            hooks: merge_hooks(self.hooks, base.hooks),
            probes: self.probes.or(base.probes),
            patch: self.patch.or(base.patch),
            output: self.output.or(base.output),
            on_syntax_error: self.on_syntax_error.or(base.on_syntax_error),
            on_unsupported_pyc: self.on_unsupported_pyc.or(base.on_unsupported_pyc),
            on_shadowed_module: self.on_shadowed_module.or(base.on_shadowed_module),
            build_backend: self.build_backend,
            backend_path: self.backend_path,
            config: self.config,
            enabled: self.enabled,
        }
    }
}

fn merge_select(user: Option<RawSelect>, base: Option<RawSelect>) -> Option<RawSelect> {
    match (user, base) {
        (Some(u), Some(b)) => Some(RawSelect {
            modules: u.modules.or(b.modules),
            exclude_modules: u.exclude_modules.or(b.exclude_modules),
            functions: u.functions.or(b.functions),
            exclude_functions: u.exclude_functions.or(b.exclude_functions),
        }),
        (u, b) => u.or(b),
    }
}

fn merge_hooks(user: Option<RawHooks>, base: Option<RawHooks>) -> Option<RawHooks> {
    match (user, base) {
        (Some(u), Some(b)) => Some(RawHooks {
            imports: u.imports.or(b.imports),
            setup: u.setup.or(b.setup),
            module_enter: u.module_enter.or(b.module_enter),
            module_exit: u.module_exit.or(b.module_exit),
            function_enter: u.function_enter.or(b.function_enter),
            function_exit: u.function_exit.or(b.function_exit),
            function_error: u.function_error.or(b.function_error),
            on_hook_error: u.on_hook_error.or(b.on_hook_error),
        }),
        (u, b) => u.or(b),
    }
}
