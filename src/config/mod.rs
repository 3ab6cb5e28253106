//! Configuration: loading (`equip.toml`, `[tool.equip-wheel]` of `pyproject.toml`, embedded
//! presets), validation with located errors, and the validated [`Config`].
//!
//! Resolution order used by the CLI ([`Config::discover`]): `--config FILE`, else
//! `--preset NAME`, else `[tool.equip-wheel]` of `./pyproject.toml`, else `./equip.toml`,
//! else the `calls` preset.

pub(crate) mod call_shape;
pub(crate) mod patch;
pub(crate) mod placeholder;
pub(crate) mod presets;
pub(crate) mod schema;
pub(crate) mod snippet;

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Serialize;
use toml::Spanned;

pub use placeholder::{HookKind, Placeholder};
use schema::{RawConfig, RawHooks};
pub use snippet::Snippet;

use crate::error::ConfigError;
use crate::line::LineNumber;
use crate::select::Selection;
use crate::wheel::filename::validate_build_tag;
use crate::wheel::metadata::validate_local_label;

/// What happens when a hook raises (`hooks.on-hook-error`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum OnHookError {
    /// One `RuntimeWarning` per site, then go on.
    #[default]
    Warn,
    /// Let the exception propagate into the instrumented program.
    Raise,
    /// Swallow it silently.
    Ignore,
}

/// What happens to a `.py` file that does not parse (`on-syntax-error`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum OnSyntaxError {
    /// Copy it unchanged and list it in the report's warnings.
    #[default]
    Skip,
    /// Fail the wheel.
    Fail,
}

/// What happens to a `.pyc` member compiled for an unsupported Python (`on-unsupported-pyc`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum OnUnsupportedPyc {
    /// Fail the wheel, naming the member and its Python version.
    #[default]
    Fail,
    /// Copy it unchanged with a warning.
    Skip,
}

/// What happens to a `.py`/`.pyc` module shadowed by an extension module of the same dotted
/// name (`on-shadowed-module`): the import system loads the extension, so instrumenting the
/// Python file has no effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum OnShadowedModule {
    /// Instrument it anyway and warn, naming the extension module.
    #[default]
    Warn,
    /// Copy it unchanged and list it under `skipped`.
    Skip,
}

/// The validated hooks.
#[derive(Debug, Clone, Default)]
pub struct Hooks {
    /// Statements placed at the top of the hooks module.
    pub imports: Vec<String>,
    /// Helper code run once after the imports.
    pub setup: Option<String>,
    /// Names the imports and setup bind at the hooks module's top level (callees that call
    /// sites may reach directly, see [`call_shape`]).
    pub module_names: std::collections::BTreeSet<String>,
    /// Before the module body.
    pub module_enter: Option<Snippet>,
    /// After the module body.
    pub module_exit: Option<Snippet>,
    /// Before a function body; value is `{enter_value}`.
    pub function_enter: Option<Snippet>,
    /// Before every return / falling off the end.
    pub function_exit: Option<Snippet>,
    /// When an exception propagates out.
    pub function_error: Option<Snippet>,
    /// Failure policy.
    pub on_hook_error: OnHookError,
}

impl Hooks {
    /// The configured snippet for `kind` (probes are in [`Config::probes`]).
    pub fn get(&self, kind: HookKind) -> Option<&Snippet> {
        match kind {
            HookKind::ModuleEnter => self.module_enter.as_ref(),
            HookKind::ModuleExit => self.module_exit.as_ref(),
            HookKind::FunctionEnter => self.function_enter.as_ref(),
            HookKind::FunctionExit => self.function_exit.as_ref(),
            HookKind::FunctionError => self.function_error.as_ref(),
            HookKind::Probe(_) => None,
        }
    }

    /// Whether any function hook is configured.
    pub fn any_function_hook(&self) -> bool {
        self.function_enter.is_some()
            || self.function_exit.is_some()
            || self.function_error.is_some()
    }
}

/// One validated `[[probes]]` entry.
#[derive(Debug, Clone)]
pub struct Probe {
    /// Dotted module name.
    pub module: String,
    /// The line of the statement the probe runs before.
    pub line: LineNumber,
    /// The snippet (kind `Probe(index)`).
    pub snippet: Snippet,
}

/// `[output]`, validated.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct OutputOptions {
    /// Build tag of the output wheel.
    pub build_tag: Option<String>,
    /// Local version label added to the version.
    pub local_version: Option<String>,
}

/// Settings of the PEP 517 wrapper (`[tool.equip-wheel]` only).
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct BackendOptions {
    /// The real build backend, e.g. `setuptools.build_meta`.
    pub build_backend: Option<String>,
    /// Paths (relative to the project) the backend is loaded from.
    pub backend_path: Vec<String>,
    /// `false` disables instrumentation.
    pub enabled: Option<bool>,
}

/// A validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where it came from: a file path or `preset:NAME`.
    pub origin: String,
    /// Module and function selection.
    pub selection: Selection,
    /// The hooks.
    pub hooks: Hooks,
    /// Line probes.
    pub probes: Vec<Probe>,
    /// Hooks on callables of other modules (`[[patch]]`).
    pub patches: Vec<patch::Patch>,
    /// Output naming.
    pub output: OutputOptions,
    /// Policy for unparseable `.py` files.
    pub on_syntax_error: OnSyntaxError,
    /// Policy for `.pyc` files of unsupported Pythons.
    pub on_unsupported_pyc: OnUnsupportedPyc,
    /// Policy for modules shadowed by an extension module.
    pub on_shadowed_module: OnShadowedModule,
    /// PEP 517 wrapper settings, when loaded from `pyproject.toml`.
    pub backend: BackendOptions,
    /// The effective configuration as canonical JSON (recorded in the provenance file).
    pub normalized: serde_json::Value,
    /// sha256 (hex) of `normalized` serialized compactly with sorted keys.
    pub sha256: String,
}

/// Which `pyproject.toml` key holds our table.
const TOOL_TABLE: &str = "tool.equip-wheel";

/// Largest configuration file read, in bytes (a `pyproject.toml` of a large project is tens
/// of kilobytes).
pub const MAX_CONFIG_BYTES: u64 = 4 << 20;

/// Longest chain of `config = FILE` inclusions followed (`pyproject.toml` naming another
/// `pyproject.toml` ...).
pub const MAX_INCLUDE_DEPTH: usize = 16;

/// The configuration files being loaded, outermost first (canonical paths): the chain of
/// `config = FILE` inclusions, to refuse cycles.
#[derive(Debug, Default)]
struct Includes(Vec<PathBuf>);

impl Includes {
    /// Enters `path`; errors (naming the whole chain) when it is already being loaded, or
    /// when the chain is already [`MAX_INCLUDE_DEPTH`] long.
    fn enter(&mut self, path: &Path, from: &Path) -> Result<(), IncludeError> {
        let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        if let Some(first) = self.0.iter().position(|p| *p == canonical) {
            let mut chain = self.0[first..].to_vec();
            chain.push(canonical);
            return Err(IncludeError::Cycle(chain));
        }
        if self.0.len() >= MAX_INCLUDE_DEPTH {
            return Err(IncludeError::TooDeep(from.to_path_buf()));
        }
        self.0.push(canonical);
        Ok(())
    }
}

/// A `config = FILE` inclusion that cannot be followed.
#[derive(Debug, thiserror::Error)]
enum IncludeError {
    /// The file is already being loaded: the chain from its first entry back to itself.
    #[error("config inclusion cycle: {}", display_chain(.0))]
    Cycle(Vec<PathBuf>),
    /// More than [`MAX_INCLUDE_DEPTH`] nested inclusions; holds the including file.
    #[error(
        "more than {MAX_INCLUDE_DEPTH} nested `config = FILE` inclusions (last: {})",
        .0.display()
    )]
    TooDeep(PathBuf),
}

/// `a -> b -> a`.
fn display_chain(chain: &[PathBuf]) -> String {
    let chain: Vec<String> = chain.iter().map(|p| p.display().to_string()).collect();
    chain.join(" -> ")
}

impl Config {
    /// The configuration the CLI uses when given neither `--config` nor `--preset`:
    /// `[tool.equip-wheel]` of `dir/pyproject.toml`, else `dir/equip.toml`, else the `calls`
    /// preset.
    pub fn discover(dir: &Path) -> Result<Config, ConfigError> {
        let pyproject = dir.join("pyproject.toml");
        if pyproject.is_file() {
            let text = read(&pyproject)?;
            let mut includes = Includes::default();
            let _ = includes.enter(&pyproject, &pyproject);
            if let Some(config) = Config::pyproject_in(&text, &pyproject, &mut includes)? {
                return Ok(config);
            }
        }
        let equip = dir.join("equip.toml");
        if equip.is_file() {
            return Config::from_file(&equip);
        }
        Config::preset(presets::DEFAULT)
    }

    /// Loads `path`: a `pyproject.toml` (its `[tool.equip-wheel]` table, which must exist)
    /// or an `equip.toml`-style file.
    ///
    /// Errors: the file is not a regular file, is larger than [`MAX_CONFIG_BYTES`], is not
    /// UTF-8 TOML, is invalid, or its `config = FILE` inclusions form a cycle or go deeper
    /// than [`MAX_INCLUDE_DEPTH`].
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let mut includes = Includes::default();
        let _ = includes.enter(path, path);
        Config::file_in(path, &mut includes)
    }

    /// [`Config::from_file`] inside a chain of inclusions (`path` already entered).
    fn file_in(path: &Path, includes: &mut Includes) -> Result<Config, ConfigError> {
        let text = read(path)?;
        if path.file_name().is_some_and(|n| n == "pyproject.toml") {
            return Config::pyproject_in(&text, path, includes)?.ok_or_else(|| {
                ConfigError::new(
                    path.display().to_string(),
                    format!("has no [{TOOL_TABLE}] table"),
                )
            });
        }
        Config::from_toml_str(&text, &path.display().to_string())
    }

    /// Loads an embedded preset by name (see [`presets::names`]).
    pub fn preset(name: &str) -> Result<Config, ConfigError> {
        let text = presets::text(name).ok_or_else(|| {
            ConfigError::new(
                "<command line>",
                format!(
                    "unknown preset {name:?}; available: {}",
                    presets::names().collect::<Vec<_>>().join(", ")
                ),
            )
        })?;
        Config::from_toml_str(text, &format!("preset:{name}"))
    }

    /// Parses an `equip.toml`-style document; `origin` names it in errors.
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| toml_error(text, origin, &e))?;
        let src = Source { origin, text };
        for (key, present) in [
            ("build-backend", raw.build_backend.is_some()),
            ("backend-path", raw.backend_path.is_some()),
            ("config", raw.config.is_some()),
            ("enabled", raw.enabled.is_some()),
        ] {
            if present {
                return Err(ConfigError::new(origin, format!(
                    "{key} is a setting of the PEP 517 backend; it belongs in [{TOOL_TABLE}] of pyproject.toml"
                ))
                .with_key(key));
            }
        }
        validate(raw, &src, BackendOptions::default())
    }

    /// Parses the `[tool.equip-wheel]` table of a pyproject.toml; `Ok(None)` without one.
    /// A table holding only the PEP 517 wrapper's keys (`build-backend`, `backend-path`,
    /// `enabled`) configures nothing, so it gives the default preset.
    pub fn from_pyproject_text(text: &str, path: &Path) -> Result<Option<Config>, ConfigError> {
        let mut includes = Includes::default();
        let _ = includes.enter(path, path);
        Config::pyproject_in(text, path, &mut includes)
    }

    /// [`Config::from_pyproject_text`] inside a chain of inclusions (`path` already entered).
    fn pyproject_in(
        text: &str,
        path: &Path,
        includes: &mut Includes,
    ) -> Result<Option<Config>, ConfigError> {
        #[derive(serde::Deserialize)]
        struct PyProject {
            tool: Option<Tool>,
        }
        #[derive(serde::Deserialize)]
        struct Tool {
            #[serde(rename = "equip-wheel")]
            equip_wheel: Option<RawConfig>,
        }
        let origin = path.display().to_string();
        let doc: PyProject =
            toml::from_str(text).map_err(|e| toml_error_in_table(text, &origin, &e, TOOL_TABLE))?;
        let Some(raw) = doc.tool.and_then(|t| t.equip_wheel) else {
            return Ok(None);
        };
        let backend = BackendOptions {
            build_backend: raw.build_backend.clone(),
            backend_path: raw.backend_path.clone().unwrap_or_default(),
            enabled: raw.enabled,
        };
        if let Some(file) = &raw.config {
            let has_inline = raw.hooks.is_some()
                || raw.select.is_some()
                || raw.probes.is_some()
                || raw.patch.is_some()
                || raw.output.is_some()
                || raw.preset.is_some();
            if has_inline {
                return Err(located(
                    &Source {
                        origin: &origin,
                        text,
                    },
                    file.span(),
                    "config",
                    "give either `config = FILE` or inline settings in this table, not both".into(),
                ));
            }
            let dir = path.parent().unwrap_or(Path::new("."));
            let target = dir.join(file.get_ref());
            let src = Source {
                origin: &origin,
                text,
            };
            includes
                .enter(&target, path)
                .map_err(|e| located(&src, file.span(), "config", e.to_string()))?;
            let mut config = Config::file_in(&target, includes)?;
            config.backend = backend;
            return Ok(Some(config));
        }
        let has_settings = raw.hooks.is_some()
            || raw.select.is_some()
            || raw.probes.is_some()
            || raw.patch.is_some()
            || raw.output.is_some()
            || raw.preset.is_some()
            || raw.on_syntax_error.is_some()
            || raw.on_unsupported_pyc.is_some()
            || raw.on_shadowed_module.is_some();
        if !has_settings {
            // Only the PEP 517 wrapper's keys: no configuration at all, so the default preset.
            let mut config = Config::preset(presets::DEFAULT)?;
            config.backend = backend;
            return Ok(Some(config));
        }
        let src = Source {
            origin: &origin,
            text,
        };
        validate(raw, &src, backend).map(Some)
    }
}

/// Reads a configuration file: only a regular file (not a directory, FIFO or device, which
/// could block or never end), of at most [`MAX_CONFIG_BYTES`], in UTF-8.
fn read(path: &Path) -> Result<String, ConfigError> {
    let error = |m: String| ConfigError::new(path.display().to_string(), m);
    // Checked before opening: opening a FIFO for reading blocks until a writer comes.
    let meta = std::fs::metadata(path).map_err(|e| error(format!("cannot read: {e}")))?;
    check_regular(&meta).map_err(|e| error(e.to_string()))?;
    let file = std::fs::File::open(path).map_err(|e| error(format!("cannot read: {e}")))?;
    // And again on the open file, in case the path was replaced in between.
    let meta = file
        .metadata()
        .map_err(|e| error(format!("cannot read: {e}")))?;
    check_regular(&meta).map_err(|e| error(e.to_string()))?;
    let mut bytes = Vec::new();
    file.take(MAX_CONFIG_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| error(format!("cannot read: {e}")))?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(error(format!(
            "larger than {} MiB: not a configuration file",
            MAX_CONFIG_BYTES >> 20
        )));
    }
    String::from_utf8(bytes).map_err(|e| {
        error(format!(
            "not UTF-8 (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        ))
    })
}

/// Only regular files are configuration files.
fn check_regular(meta: &std::fs::Metadata) -> Result<(), NotRegular> {
    let kind = meta.file_type();
    if kind.is_file() {
        return Ok(());
    }
    Err(if kind.is_dir() {
        NotRegular::Directory
    } else {
        NotRegular::Special
    })
}

/// A configuration path that is not a regular file.
#[derive(Debug, thiserror::Error)]
enum NotRegular {
    /// A directory.
    #[error("cannot read: a directory")]
    Directory,
    /// A device, FIFO or socket.
    #[error("cannot read: not a regular file (a device, FIFO or socket)")]
    Special,
}

/// The document being validated, for locating errors.
struct Source<'a> {
    origin: &'a str,
    text: &'a str,
}

/// A TOML syntax or type error, located at its line and column and, for a wrong value,
/// naming its dotted key (`select.modules`).
pub(crate) fn toml_error(text: &str, origin: &str, e: &toml::de::Error) -> ConfigError {
    toml_error_in_table(text, origin, e, "")
}

/// [`toml_error`] for a document whose settings sit under `table` (`tool.equip-wheel` in a
/// pyproject.toml): keys inside it are named relative to it, like every other error does.
pub(crate) fn toml_error_in_table(
    text: &str,
    origin: &str,
    e: &toml::de::Error,
    table: &str,
) -> ConfigError {
    let mut message = e.message().trim().to_string();
    if message == "duplicate key" {
        // The parser names the key only through its span: quote it as written.
        let written = e.span().and_then(|span| text.get(span)).map(|k| {
            let first_line = k.lines().next().unwrap_or("");
            first_line.split('=').next().unwrap_or("").trim()
        });
        if let Some(key) = written.filter(|k| !k.is_empty()) {
            message = format!("duplicate key `{key}`");
        }
    }
    // An unknown key names itself in the message; the path would only name its table.
    let names_itself = e.message().starts_with("unknown field");
    let mut err = ConfigError::new(origin, message);
    if let Some(key) = toml_error_key(e).filter(|_| !names_itself) {
        let relative = key
            .strip_prefix(table)
            .and_then(|k| k.strip_prefix('.'))
            .filter(|_| !table.is_empty())
            .unwrap_or(&key);
        err = err.with_key(relative);
    }
    if let Some(span) = e.span() {
        let (line, col) = snippet::line_col(text, span.start);
        err = err.at(line, col);
    }
    err
}

/// The dotted key path of a value that failed to deserialize, if the error has one.
///
/// `toml::de::Error` keeps the path privately and prints it (`in `a.b``) after the message
/// when it has no input text to quote; that rendering is the only public access.
fn toml_error_key(e: &toml::de::Error) -> Option<String> {
    let mut bare = e.clone();
    bare.set_input(None);
    let rendered = bare.to_string();
    let rest = rendered.trim_end().strip_prefix(e.message())?;
    let key = rest.trim().strip_prefix("in `")?.strip_suffix('`')?;
    (!key.is_empty()).then(|| key.to_string())
}

fn located(src: &Source, span: std::ops::Range<usize>, key: &str, message: String) -> ConfigError {
    let (line, col) = snippet::line_col(src.text, span.start);
    ConfigError::new(src.origin, message)
        .with_key(key)
        .at(line, col)
}

/// Compiles a snippet, mapping its errors to the position in the config file.
fn compile_at(
    src: &Source,
    value: &Spanned<String>,
    kind: HookKind,
    key: &str,
) -> Result<Snippet, ConfigError> {
    snippet::compile(value.get_ref(), kind).map_err(|e| {
        let span = value.span();
        let (line, col) = snippet_position(src.text, span.start, e.line, e.column);
        ConfigError::new(src.origin, e.message)
            .with_key(key)
            .at(line, col)
    })
}

/// Maps (line, column) inside a TOML string value starting at `value_start` (its opening
/// quote) to the file. Exact for strings without escape sequences.
fn snippet_position(
    text: &str,
    value_start: usize,
    line: LineNumber,
    column: usize,
) -> (LineNumber, usize) {
    let (l0, c0) = snippet::line_col(text, value_start);
    let rest = &text[value_start.min(text.len())..];
    let delim = if rest.starts_with("\"\"\"") || rest.starts_with("'''") {
        3
    } else {
        1
    };
    let after = &rest[delim.min(rest.len())..];
    let skips_newline = delim == 3 && (after.starts_with('\n') || after.starts_with("\r\n"));
    if skips_newline {
        (l0.saturating_add(line.to_zero_indexed() + 1), column)
    } else if line == LineNumber::FIRST {
        (l0, c0 + delim + column - 1)
    } else {
        (l0.saturating_add(line.to_zero_indexed()), column)
    }
}

fn parse_choice<T: Copy>(
    src: &Source,
    value: &Option<Spanned<String>>,
    key: &str,
    choices: &[(&str, T)],
    default: T,
) -> Result<T, ConfigError> {
    let Some(v) = value else { return Ok(default) };
    choices
        .iter()
        .find(|(name, _)| *name == v.get_ref())
        .map(|(_, t)| *t)
        .ok_or_else(|| {
            let names: Vec<_> = choices.iter().map(|(n, _)| format!("{n:?}")).collect();
            located(
                src,
                v.span(),
                key,
                format!("{:?} is not one of {}", v.get_ref(), names.join(", ")),
            )
        })
}

fn validate(raw: RawConfig, src: &Source, backend: BackendOptions) -> Result<Config, ConfigError> {
    let raw = match &raw.preset {
        Some(name) => {
            let base = preset_base(name.get_ref()).ok_or_else(|| {
                located(
                    src,
                    name.span(),
                    "preset",
                    format!(
                        "unknown preset {:?}; available: {}",
                        name.get_ref(),
                        presets::names().collect::<Vec<_>>().join(", ")
                    ),
                )
            })??;
            raw.over(base)
        }
        // Nothing to inject (only `[select]`, `[output]`, policies or `on-hook-error`): the
        // default preset's hooks run over the given selection.
        None if !raw.injects_anything() => {
            let base = preset_base(presets::DEFAULT).expect("the default preset exists")?;
            raw.over(base)
        }
        None => raw,
    };

    let select = raw.select.clone().unwrap_or_default();
    let selection = Selection::new(
        select.modules.as_deref(),
        select.exclude_modules.as_deref().unwrap_or_default(),
        select.functions.as_deref(),
        select.exclude_functions.as_deref().unwrap_or_default(),
    )
    .map_err(|(key, index, message)| {
        ConfigError::new(src.origin, format!("pattern {index}: {message}")).with_key(key)
    })?;

    let raw_hooks = raw.hooks.clone().unwrap_or_default();
    let hooks = validate_hooks(&raw_hooks, src)?;

    let mut probes = Vec::new();
    for (i, p) in raw
        .probes
        .clone()
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        let key = format!("probes[{i}]");
        if crate::select::compile(&p.module).is_err() || p.module.contains(['*', '?', '[']) {
            return Err(ConfigError::new(
                src.origin,
                format!("module {:?} is not a dotted module name", p.module),
            )
            .with_key(format!("{key}.module")));
        }
        let Some(line) = LineNumber::new(p.line) else {
            return Err(ConfigError::new(src.origin, "line numbers start at 1")
                .with_key(format!("{key}.line")));
        };
        let snippet = compile_at(
            src,
            &p.snippet,
            HookKind::Probe(i),
            &format!("{key}.snippet"),
        )?;
        probes.push(Probe {
            module: p.module,
            line,
            snippet,
        });
    }

    let patches = patch::validate(raw.patch.as_deref().unwrap_or_default(), &hooks, src)?;

    let raw_output = raw.output.clone().unwrap_or_default();
    if let Some(tag) = &raw_output.build_tag {
        validate_build_tag(tag.get_ref())
            .map_err(|e| located(src, tag.span(), "output.build-tag", e.to_string()))?;
    }
    if let Some(label) = &raw_output.local_version {
        validate_local_label(label.get_ref())
            .map_err(|e| located(src, label.span(), "output.local-version", e.to_string()))?;
    }
    let output = OutputOptions {
        build_tag: raw_output.build_tag.map(Spanned::into_inner),
        local_version: raw_output.local_version.map(Spanned::into_inner),
    };
    let on_syntax_error = parse_choice(
        src,
        &raw.on_syntax_error,
        "on-syntax-error",
        &[("skip", OnSyntaxError::Skip), ("fail", OnSyntaxError::Fail)],
        OnSyntaxError::Skip,
    )?;
    let on_unsupported_pyc = parse_choice(
        src,
        &raw.on_unsupported_pyc,
        "on-unsupported-pyc",
        &[
            ("fail", OnUnsupportedPyc::Fail),
            ("skip", OnUnsupportedPyc::Skip),
        ],
        OnUnsupportedPyc::Fail,
    )?;
    let on_shadowed_module = parse_choice(
        src,
        &raw.on_shadowed_module,
        "on-shadowed-module",
        &[
            ("warn", OnShadowedModule::Warn),
            ("skip", OnShadowedModule::Skip),
        ],
        OnShadowedModule::Warn,
    )?;

    let mut normalized = normalize(
        &select,
        &hooks,
        &probes,
        &output,
        on_syntax_error,
        on_unsupported_pyc,
        on_shadowed_module,
    );
    // Only when there are patches: a configuration without them keeps the normalized form
    // (and so the sha256 in the provenance file) it had before `[[patch]]` existed.
    if !patches.is_empty() {
        normalized["patch"] = patch::normalized(&patches);
    }
    let canonical = serde_json::to_vec(&normalized).expect("JSON values serialize");
    Ok(Config {
        origin: src.origin.to_string(),
        selection,
        hooks,
        probes,
        patches,
        output,
        on_syntax_error,
        on_unsupported_pyc,
        on_shadowed_module,
        backend,
        normalized,
        sha256: crate::wheel::record::sha256_hex(&canonical),
    })
}

/// The raw config of embedded preset `name`, `None` if there is no such preset.
fn preset_base(name: &str) -> Option<Result<RawConfig, ConfigError>> {
    let text = presets::text(name)?;
    Some(toml::from_str(text).map_err(|e| toml_error(text, &format!("preset:{name}"), &e)))
}

fn validate_hooks(raw: &RawHooks, src: &Source) -> Result<Hooks, ConfigError> {
    let mut imports = Vec::new();
    for (i, stmt) in raw.imports.clone().unwrap_or_default().iter().enumerate() {
        let key = format!("hooks.imports[{i}]");
        let parsed = ruff_python_parser::parse_module(stmt.get_ref()).map_err(|e| {
            located(
                src,
                stmt.span(),
                &key,
                format!("invalid Python: {}", e.error),
            )
        })?;
        let all_imports = !parsed.suite().is_empty()
            && parsed.suite().iter().all(|s| {
                matches!(
                    s,
                    ruff_python_ast::Stmt::Import(_) | ruff_python_ast::Stmt::ImportFrom(_)
                )
            });
        let future = parsed.suite().iter().any(|s| {
            matches!(s, ruff_python_ast::Stmt::ImportFrom(i)
                if i.module.as_ref().is_some_and(|m| m.as_str() == "__future__"))
        });
        if future {
            return Err(located(
                src,
                stmt.span(),
                &key,
                "`from __future__` imports must begin a file; the hooks module cannot take them"
                    .into(),
            ));
        }
        if !all_imports {
            return Err(located(
                src,
                stmt.span(),
                &key,
                "must be an import statement (put other code in hooks.setup)".into(),
            ));
        }
        imports.push(stmt.get_ref().trim().to_string());
    }
    let setup = match &raw.setup {
        Some(s) => {
            snippet::check_setup(s.get_ref()).map_err(|(offset, message)| {
                let (l, c) = snippet::line_col(s.get_ref(), offset.into());
                let (line, col) = snippet_position(src.text, s.span().start, l, c);
                ConfigError::new(src.origin, message)
                    .with_key("hooks.setup")
                    .at(line, col)
            })?;
            Some(s.get_ref().clone())
        }
        None => None,
    };
    let snippet = |v: &Option<Spanned<String>>, kind: HookKind| {
        v.as_ref()
            .map(|v| compile_at(src, v, kind, &kind.config_key()))
            .transpose()
    };
    let mut module_names = call_shape::top_level_bindings(&imports.join("\n"));
    module_names.extend(call_shape::top_level_bindings(
        setup.as_deref().unwrap_or(""),
    ));
    let hooks = Hooks {
        imports,
        setup,
        module_names,
        module_enter: snippet(&raw.module_enter, HookKind::ModuleEnter)?,
        module_exit: snippet(&raw.module_exit, HookKind::ModuleExit)?,
        function_enter: snippet(&raw.function_enter, HookKind::FunctionEnter)?,
        function_exit: snippet(&raw.function_exit, HookKind::FunctionExit)?,
        function_error: snippet(&raw.function_error, HookKind::FunctionError)?,
        on_hook_error: parse_choice(
            src,
            &raw.on_hook_error,
            "hooks.on-hook-error",
            &[
                ("warn", OnHookError::Warn),
                ("raise", OnHookError::Raise),
                ("ignore", OnHookError::Ignore),
            ],
            OnHookError::Warn,
        )?,
    };
    if hooks.function_enter.is_none() {
        for (value, kind) in [
            (&raw.function_exit, HookKind::FunctionExit),
            (&raw.function_error, HookKind::FunctionError),
        ] {
            let uses_enter = hooks
                .get(kind)
                .is_some_and(|s| s.uses.contains(&Placeholder::EnterValue));
            if uses_enter {
                let v = value.as_ref().expect("snippet exists");
                return Err(located(
                    src,
                    v.span(),
                    &kind.config_key(),
                    "{enter_value} needs a hooks.function-enter expression".into(),
                ));
            }
        }
    }
    Ok(hooks)
}

fn normalize(
    select: &schema::RawSelect,
    hooks: &Hooks,
    probes: &[Probe],
    output: &OutputOptions,
    on_syntax_error: OnSyntaxError,
    on_unsupported_pyc: OnUnsupportedPyc,
    on_shadowed_module: OnShadowedModule,
) -> serde_json::Value {
    let text = |s: &Option<Snippet>| s.as_ref().map(|s| s.text.clone());
    serde_json::json!({
        "select": {
            "modules": select.modules,
            "exclude-modules": select.exclude_modules.clone().unwrap_or_default(),
            "functions": select.functions,
            "exclude-functions": select.exclude_functions.clone().unwrap_or_default(),
        },
        "hooks": {
            "imports": hooks.imports,
            "setup": hooks.setup,
            "module-enter": text(&hooks.module_enter),
            "module-exit": text(&hooks.module_exit),
            "function-enter": text(&hooks.function_enter),
            "function-exit": text(&hooks.function_exit),
            "function-error": text(&hooks.function_error),
            "on-hook-error": hooks.on_hook_error,
        },
        "probes": probes.iter().map(|p| serde_json::json!({
            "module": p.module, "line": p.line, "snippet": p.snippet.text,
        })).collect::<Vec<_>>(),
        "output": output,
        "on-syntax-error": on_syntax_error,
        "on-unsupported-pyc": on_unsupported_pyc,
        "on-shadowed-module": on_shadowed_module,
    })
}

/// Resolves the CLI's choice of configuration.
pub fn resolve(
    config: Option<&Path>,
    preset: Option<&str>,
    cwd: &Path,
) -> Result<Config, ConfigError> {
    match (config, preset) {
        (Some(_), Some(_)) => Err(ConfigError::new(
            "<command line>",
            "give --config or --preset, not both (a config file can start from a preset with `preset = \"NAME\"`)",
        )),
        (Some(path), None) => Config::from_file(path),
        (None, Some(name)) => Config::preset(name),
        (None, None) => Config::discover(cwd),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Config, ConfigError> {
        Config::from_toml_str(text, "equip.toml")
    }

    #[test]
    fn full_schema_loads() {
        let c = load(
            r#"
[select]
modules = ["mypkg", "mypkg.**"]
exclude-modules = ["mypkg._vendor.**"]
functions = ["**"]
exclude-functions = ["**.__repr__"]

[hooks]
imports = ["import time", "from mytracer import tracer"]
module-enter = "tracer.module({module})"
function-enter = "tracer.start({qualname}, {arguments})"
function-exit = "tracer.finish({enter_value}, {return_value})"
function-error = "tracer.fail({enter_value}, {exception})"
on-hook-error = "raise"

[[probes]]
module = "mypkg.core"
line = 120
snippet = "print({lineno}, {locals})"

[output]
build-tag = "1traced"
local-version = "traced"
"#,
        )
        .unwrap();
        assert_eq!(c.hooks.on_hook_error, OnHookError::Raise);
        assert_eq!(c.probes.len(), 1);
        assert_eq!(c.output.build_tag.as_deref(), Some("1traced"));
        assert!(c.selection.module("mypkg.core"));
        assert!(!c.selection.module("mypkg._vendor.x"));
        assert_eq!(c.sha256.len(), 64);
    }

    #[test]
    fn unknown_keys_are_located() {
        let e = load("[hooks]\nfunction-entr = \"x()\"\n").unwrap_err();
        assert_eq!(e.line.map(LineNumber::get), Some(2));
        assert!(e.message.contains("unknown field `function-entr`"), "{e}");
        let e = load("[selct]\n").unwrap_err();
        assert_eq!(e.line.map(LineNumber::get), Some(1));
    }

    #[test]
    fn duplicate_keys_are_named() {
        let e = load("preset = \"calls\"\npreset = \"trace\"\n").unwrap_err();
        assert_eq!(e.line.map(LineNumber::get), Some(2));
        assert!(e.message.contains("duplicate key `preset`"), "{e}");
    }

    #[test]
    fn config_errors_print_escaped_on_one_line() {
        let e = load("\"\\u001b[31mred\\nx\" = 1\n").unwrap_err();
        assert!(
            e.message.contains('\u{1b}'),
            "the error keeps the key as found"
        );
        let shown = e.to_string();
        assert!(shown.contains("\\x1b[31mred\\nx"), "{shown}");
        assert!(!shown.chars().any(char::is_control), "{shown}");
        let e = load("[hooks]\nfunction-enter = \"\\u001b[2J(\"\n").unwrap_err();
        let shown = e.to_string();
        assert!(shown.contains("invalid Python"), "{shown}");
        assert!(!shown.chars().any(char::is_control), "{shown}");
    }

    #[test]
    fn snippet_errors_point_into_the_file() {
        let e = load("[hooks]\nfunction-enter = \"print({qualnam})\"\n").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("hooks.function-enter"));
        assert_eq!((e.line.map(LineNumber::get), e.column), (Some(2), Some(25)));
        let e = load("[hooks]\nsetup = '''\nx = 1\ndef (:\n'''\n").unwrap_err();
        assert_eq!(e.line.map(LineNumber::get), Some(4));
        let e = load("[hooks]\nfunction-exit = \"f({enter_value})\"\n").unwrap_err();
        assert!(e.message.contains("needs a hooks.function-enter"), "{e}");
        let e = load("[hooks]\nimports = [\"x = 1\"]\n").unwrap_err();
        assert!(e.message.contains("import statement"), "{e}");
        let e = load("[hooks]\non-hook-error = \"loud\"\n").unwrap_err();
        assert!(e.to_string().contains("[hooks.on-hook-error]"), "{e}");
        let e = load("[output]\nbuild-tag = \"traced\"\n").unwrap_err();
        assert!(e.message.contains("start with a digit"), "{e}");
        let e = load("build-backend = \"setuptools.build_meta\"\n").unwrap_err();
        assert!(e.message.contains("pyproject.toml"), "{e}");
    }

    #[test]
    fn presets_load_and_merge() {
        for name in presets::names() {
            Config::preset(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        let c = load("preset = \"calls\"\n[select]\nmodules = [\"a\"]\n").unwrap();
        assert!(c.hooks.function_enter.is_some());
        assert!(!c.selection.module("b"));
        assert!(load("preset = \"nope\"\n").is_err());
    }

    #[test]
    fn configs_without_hooks_get_the_default_presets_hooks() {
        let calls = Config::preset(presets::DEFAULT).unwrap();
        let c = load("[select]\nmodules = [\"a\", \"a.**\"]\n").unwrap();
        assert_eq!(c.normalized["hooks"], calls.normalized["hooks"]);
        assert!(c.selection.module("a.b") && !c.selection.module("b"));
        let c = load("[output]\nlocal-version = \"traced\"\n").unwrap();
        assert_eq!(c.normalized["hooks"], calls.normalized["hooks"]);
        assert_eq!(c.output.local_version.as_deref(), Some("traced"));
        let c = load("").unwrap();
        assert_eq!(c.normalized["hooks"], calls.normalized["hooks"]);

        let c = load("[hooks]\non-hook-error = \"raise\"\n").unwrap();
        assert!(c.hooks.function_enter.is_some());
        assert_eq!(c.hooks.on_hook_error, OnHookError::Raise);

        let c = load("[hooks]\nfunction-exit = \"print({qualname})\"\n").unwrap();
        assert!(c.hooks.function_enter.is_none() && c.hooks.imports.is_empty());
        let probes_only = "[[probes]]\nmodule = \"a\"\nline = 1\nsnippet = \"print(1)\"\n";
        let c = load(probes_only).unwrap();
        assert!(!c.hooks.any_function_hook() && c.hooks.setup.is_none());
    }

    #[test]
    fn pyproject_table() {
        let text = "[project]\nname = \"x\"\n[tool.equip-wheel]\nbuild-backend = \"setuptools.build_meta\"\npreset = \"calls\"\n";
        let c = Config::from_pyproject_text(text, Path::new("pyproject.toml"))
            .unwrap()
            .unwrap();
        assert_eq!(
            c.backend.build_backend.as_deref(),
            Some("setuptools.build_meta")
        );
        let c = Config::from_pyproject_text(
            "[tool.equip-wheel]\nbuild-backend = \"hatchling.build\"\nenabled = false\n",
            Path::new("pyproject.toml"),
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            c.origin, "preset:calls",
            "only wrapper keys: the default preset"
        );
        assert!(c.hooks.function_enter.is_some());
        assert_eq!(c.backend.enabled, Some(false));
        assert!(
            Config::from_pyproject_text("[project]\n", Path::new("pyproject.toml"))
                .unwrap()
                .is_none()
        );
    }
}
