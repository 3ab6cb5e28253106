//! Instrumenting one wheel end to end: open and validate it, instrument its modules in
//! parallel, add the hooks module and the provenance file, rename for a build tag or local
//! version, and write the output atomically (README.md, "The output wheel").

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;

use crate::bytecode;
use crate::caveats::{Caveat, Caveats};
use crate::config::{Config, OnShadowedModule, OnUnsupportedPyc};
use crate::error::{ConfigError, Error, WheelError, WheelProblem};
use crate::hooks_module::{self, ModuleFunctions};
use crate::module::{ModuleOutcome, ModuleTarget};
use crate::report::{ModuleKind, ModuleReport, Report, RequiresPythonChange, Skipped};
use crate::source::{self, SourceError};
use crate::wheel::filename::{DistInfoName, WheelName};
use crate::wheel::layout::{install_path, is_script, module_name};
use crate::wheel::limits::ReadLimits;
use crate::wheel::metadata::{self, PythonVersion, RequiresPython};
use crate::wheel::provenance::{
    InputIdentity, InstrumentedModule, PROVENANCE_FILE, Provenance, RequiresPythonRaise,
};
use crate::wheel::reader::{InputWheel, MemberInfo, SIGNATURE_FILES};
use crate::wheel::writer::{
    Content, Deflated, OutputMember, Timestamps, WriteOptions, deflate_within, write_wheel,
};

/// The oldest Python the instrumented code runs on: the generated `.py` code uses assignment
/// expressions (PEP 572, Python 3.8), and `.pyc` files are rewritten for 3.8 and later. The
/// output's `Requires-Python` is raised to it so that installers never put an instrumented
/// wheel on an older Python.
pub const OLDEST_PYTHON: PythonVersion = PythonVersion { major: 3, minor: 8 };

/// Options of [`instrument_wheel`].
#[derive(Debug, Clone)]
pub struct InstrumentOptions {
    /// The configuration.
    pub config: Arc<Config>,
    /// Directory for the output wheel (created if missing). Ignored with `in_place`.
    pub out_dir: PathBuf,
    /// Replace the input wheel (atomically) instead of writing to `out_dir`.
    pub in_place: bool,
    /// Plan and report only; write nothing.
    pub dry_run: bool,
    /// Set to true (e.g. from a signal handler) to stop between members.
    pub cancel: Option<Arc<AtomicBool>>,
}

impl InstrumentOptions {
    /// Options writing to `out_dir` with `config`.
    pub fn new(config: Arc<Config>, out_dir: impl Into<PathBuf>) -> Self {
        InstrumentOptions {
            config,
            out_dir: out_dir.into(),
            in_place: false,
            dry_run: false,
            cancel: None,
        }
    }

    fn cancelled(&self) -> bool {
        self.cancel
            .as_ref()
            .is_some_and(|c| c.load(Ordering::Relaxed))
    }
}

/// What became of one input member.
enum Outcome {
    Keep,
    Rewrite(Vec<u8>),
    /// Rewritten and already deflated for the output.
    Deflated(Deflated),
    Drop,
}

struct MemberResult {
    outcome: Outcome,
    module: Option<ModuleReport>,
    skipped: Option<Skipped>,
    warnings: Vec<String>,
    /// A module file that `[select]` selects (instrumented or not).
    selected: bool,
}

impl MemberResult {
    fn keep() -> Self {
        MemberResult {
            outcome: Outcome::Keep,
            module: None,
            skipped: None,
            warnings: Vec::new(),
            selected: false,
        }
    }
}

/// The header edits of the output's `<dist-info>/METADATA`.
struct MetadataEdits {
    /// The new `Version:` (with `output.local-version`).
    version: Option<String>,
    /// The new `Requires-Python:`, when the input's admits Pythons older than
    /// [`OLDEST_PYTHON`].
    requires_python: Option<RequiresPythonChange>,
}

impl MetadataEdits {
    /// Plans the edits of `input`'s METADATA; errors when the input admits no Python the
    /// instrumented code runs on (its tags or its `Requires-Python`).
    fn plan(input: &InputWheel, naming: &Naming, config: &Config) -> Result<Self, Error> {
        let unsupported = |member: String, what: String| Error::Instrument {
            wheel: input.path.clone(),
            member,
            cause: format!(
                "{what} no Python the instrumented code runs on ({OLDEST_PYTHON} or later)"
            )
            .into(),
        };
        if !metadata::tags_admit(&input.name.tags, OLDEST_PYTHON) {
            return Err(unsupported(
                input.name.to_string(),
                format!("its tags {} name", input.name.tags),
            ));
        }
        let member = format!("{}/METADATA", input.dist_info);
        let text = match input.members.iter().find(|m| m.name == member) {
            Some(m) => String::from_utf8_lossy(&input.read_member(m)?).into_owned(),
            None => String::new(),
        };
        let declared = metadata::header_value(&text, "Requires-Python");
        let requires_python = match metadata::require_python(declared, OLDEST_PYTHON) {
            RequiresPython::Unchanged => None,
            RequiresPython::Tightened(output) => Some(RequiresPythonChange {
                input: declared.map(str::to_string),
                output,
            }),
            RequiresPython::Unsatisfiable => {
                let declared = declared.unwrap_or_default();
                return Err(unsupported(
                    member,
                    format!("Requires-Python {declared:?} admits"),
                ));
            }
        };
        Ok(MetadataEdits {
            version: config
                .output
                .local_version
                .as_ref()
                .map(|_| naming.output_version.clone()),
            requires_python,
        })
    }

    /// `text` with the edits applied, or `None` when there are none.
    fn apply(&self, text: &str) -> Option<String> {
        if self.version.is_none() && self.requires_python.is_none() {
            return None;
        }
        let mut text = text.to_string();
        if let Some(version) = &self.version {
            text = metadata::set_header(&text, "Version", version);
        }
        if let Some(change) = &self.requires_python {
            text = metadata::set_header(&text, "Requires-Python", &change.output);
        }
        Some(text)
    }
}

/// The names the output uses.
struct Naming {
    /// Input `.dist-info` dir and its output name.
    dist_info: (String, String),
    /// Input `.data` dir and its output name.
    data_dir: (String, String),
    output_version: String,
    file_name: WheelName,
}

impl Naming {
    fn new(input: &InputWheel, config: &Config) -> Self {
        let input_names = DistInfoName::parse(&input.dist_info).expect("validated dist-info name");
        let output_version = match &config.output.local_version {
            Some(label) => metadata::with_local_label(&input_names.version, label),
            None => input_names.version.clone(),
        };
        let output_names = input_names.with_version(output_version.clone());
        let mut file_name = input.name.clone();
        file_name.version = match &config.output.local_version {
            Some(label) => metadata::with_local_label(&file_name.version, label),
            None => file_name.version.clone(),
        };
        if let Some(tag) = &config.output.build_tag {
            file_name.build_tag = Some(tag.clone());
        }
        Naming {
            dist_info: (input.dist_info.clone(), output_names.dist_info_dir()),
            data_dir: (input_names.data_dir(), output_names.data_dir()),
            output_version,
            file_name,
        }
    }

    /// The output name of an input member.
    fn rename(&self, name: &str) -> String {
        for (from, to) in [&self.dist_info, &self.data_dir] {
            if let Some(rest) = name.strip_prefix(from.as_str())
                && rest.starts_with('/')
            {
                return format!("{to}{rest}");
            }
        }
        name.to_string()
    }
}

/// Instruments the wheel at `path`; see the module documentation.
///
/// The input is read under the limits of the environment ([`ReadLimits::from_env`]) and
/// checked exactly as `verify` checks it: a wheel `verify` refuses is refused here with
/// the same message (the first problem in archive order).
///
/// Errors: [`Error::Config`] for an invalid `EQUIP_WHEEL_MAX_*` variable, [`Error::Wheel`]
/// for a broken input (nothing is written), [`Error::Instrument`] for a member that cannot
/// be instrumented under the config's policies, [`Error::Io`] when the output cannot be
/// written, [`Error::Interrupted`] when cancelled. The input is never modified, except
/// replaced as a whole with `in_place`.
pub fn instrument_wheel(path: &Path, options: &InstrumentOptions) -> Result<Report, Error> {
    let config = options.config.as_ref();
    let limits = ReadLimits::from_env()?;
    let input = InputWheel::open(path, &limits)?;
    if let Some(provenance) = &input.provenance {
        return Err(
            WheelError::new(path, WheelProblem::AlreadyInstrumented(provenance.clone())).into(),
        );
    }
    let naming = Naming::new(&input, config);
    let edits = MetadataEdits::plan(&input, &naming, config)?;
    let caveats = Caveats::scan(
        input.members.iter().map(|m| m.name.as_str()),
        |member| install_path(member, &naming.data_dir.0),
        |member| match input.members.iter().find(|m| m.name == member) {
            Some(m) => input.read_member(m),
            None => Ok(Vec::new()),
        },
    )?;
    let hooks_name = crate::hook_abi::module_name(&input.name.distribution);
    let hooks_member = format!("{hooks_name}.py");
    if input.members.iter().any(|m| m.name == hooks_member) {
        return Err(WheelError::member(
            path,
            &hooks_member,
            WheelProblem::Metadata(
                "the wheel already has a member with the hooks module's name".into(),
            ),
        )
        .into());
    }

    let timestamps = match options.dry_run {
        true => Timestamps::PerMember, // nothing is written
        false => {
            Timestamps::from_env().map_err(|e| ConfigError::new("<environment>", e.to_string()))?
        }
    };
    let results: Vec<Result<MemberResult, Error>> = input
        .members
        .par_iter()
        .map(|m| {
            if options.cancelled() {
                return Err(Error::Interrupted);
            }
            let context = MemberContext {
                naming: &naming,
                edits: &edits,
                caveats: &caveats,
                hooks_name: &hooks_name,
            };
            let mut r = process_member(&input, m, &context, config)?;
            // Deflate rewritten modules right away: holding every module's new text until
            // the end would make peak memory the whole uncompressed output.
            if !options.dry_run
                && let Outcome::Rewrite(bytes) = &r.outcome
                && m.name.ends_with(".py")
            {
                let time = timestamps.apply(m.modified);
                let name = naming.rename(&m.name);
                let d = deflate_within(&name, bytes, m.permissions.unwrap_or(0o644), time, &limits)
                    .map_err(|e| Error::io(path, std::io::Error::other(e.to_string())))?;
                r.outcome = Outcome::Deflated(d);
            }
            Ok(r)
        })
        .collect();
    let results = first_error(results)?;

    let mut report = Report {
        input: path.to_path_buf(),
        distribution: input.name.distribution.clone(),
        version: input.name.version.clone(),
        output_version: naming.output_version.clone(),
        output_name: naming.file_name.to_string(),
        hooks_module: hooks_member.clone(),
        dry_run: options.dry_run,
        requires_python: edits.requires_python.clone(),
        ..Report::default()
    };
    if let Some(change) = &report.requires_python {
        report.notices.push(format!(
            "Requires-Python {} -> {:?}: the instrumented code needs Python {OLDEST_PYTHON} or later",
            change.input.as_deref().map_or("(none)".to_string(), |v| format!("{v:?}")),
            change.output
        ));
    }
    for s in &input.signatures {
        report.notices.push(format!(
            "dropped the signature {s}: instrumenting changes the content it signs"
        ));
    }
    let mut members = Vec::with_capacity(input.members.len() + 2);
    let latest = input
        .members
        .iter()
        .map(|m| m.modified)
        .max()
        .unwrap_or_default();
    let selected = results.iter().filter(|r| r.selected).count();
    for (m, r) in input.members.iter().zip(results) {
        if let Some(module) = r.module {
            report.modules.push(module);
        }
        if let Some(skipped) = r.skipped {
            report.skipped.push(skipped);
        }
        report.warnings.extend(r.warnings);
        let name = naming.rename(&m.name);
        let content = match r.outcome {
            Outcome::Drop => continue,
            Outcome::Rewrite(bytes) => Content::Bytes(bytes),
            Outcome::Deflated(d) => Content::Deflated(d),
            Outcome::Keep if name == m.name && m.plain_headers => {
                let hash = input
                    .record_entry(&m.name)
                    .and_then(|entry| entry.hash.clone())
                    .expect("coverage checked at open");
                Content::Raw {
                    index: m.index,
                    hash,
                    size: m.size,
                }
            }
            // Renamed or carrying extra headers: written fresh so the headers are ours.
            Outcome::Keep => Content::Bytes(input.read_member(m)?),
        };
        members.push(OutputMember {
            name,
            content,
            permissions: m.permissions.unwrap_or(0o644),
            modified: m.modified,
        });
    }
    report.compute_totals();
    if report.totals.modules == 0 {
        report.warnings.push(match selected {
            0 => "nothing was instrumented: no module of the wheel matched the selection".into(),
            n => format!(
                "nothing was instrumented: {n} module files matched the selection, but no \
                 function in them matched and no module hook or probe applies"
            ),
        });
    }

    let hooks_source = hooks_module::render(
        config,
        &input.name.distribution,
        &naming.output_version,
        &inventory(&report),
    );
    members.push(OutputMember {
        name: hooks_member,
        content: Content::Bytes(hooks_source.into_bytes()),
        permissions: 0o644,
        modified: latest,
    });
    let provenance = provenance(&input, config, &report, &hooks_name);
    members.push(OutputMember {
        name: format!("{}/{PROVENANCE_FILE}", naming.dist_info.1),
        content: Content::Bytes(provenance),
        permissions: 0o644,
        modified: latest,
    });

    if options.dry_run {
        return Ok(report);
    }
    let out_dir = if options.in_place {
        path.parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf()
    } else {
        options.out_dir.clone()
    };
    std::fs::create_dir_all(&out_dir).map_err(|e| Error::io(&out_dir, e))?;
    let dest = out_dir.join(naming.file_name.to_string());
    if !options.in_place && same_file(&dest, path) {
        return Err(Error::io(
            &dest,
            std::io::Error::other(
                "the output would overwrite the input wheel; choose another --out-dir or use --in-place",
            ),
        ));
    }
    if options.cancelled() {
        return Err(Error::Interrupted);
    }
    // A new file gets the mode any new file of the user gets (the umask decides); an
    // in-place rewrite keeps the input's.
    let mode = match options.in_place {
        true => Some(file_mode(path)?),
        false => None,
    };
    let write_options = WriteOptions {
        mode,
        cancel: options.cancel.as_deref(),
    };
    let digest = write_wheel(
        &input,
        members,
        &naming.dist_info.1,
        &dest,
        timestamps,
        &write_options,
    )?;
    if options.in_place && !same_file(&dest, path) {
        std::fs::remove_file(path).map_err(|e| Error::io(path, e))?;
    }
    report.output = Some(dest);
    report.output_sha256 = Some(digest);
    Ok(report)
}

/// The members' results, or the error to report: an interruption first, then the first
/// broken member in archive order (the problem `verify` lists first), then the first member
/// that could not be instrumented. Deterministic whatever order the threads finished in.
fn first_error(results: Vec<Result<MemberResult, Error>>) -> Result<Vec<MemberResult>, Error> {
    if !results.iter().any(Result::is_err) {
        return Ok(results.into_iter().flatten().collect());
    }
    let rank = |e: &Error| match e {
        Error::Interrupted => 0,
        Error::Wheel(_) => 1,
        _ => 2,
    };
    let errors = results.into_iter().filter_map(Result::err);
    Err(errors
        .min_by_key(rank)
        .expect("at least one result is an error"))
}

/// The Unix mode bits of the file at `path` (`None` where there are none).
fn file_mode(path: &Path) -> Result<u32, Error> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    #[cfg(unix)]
    let mode = std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o7777;
    #[cfg(not(unix))]
    let mode = if meta.permissions().readonly() {
        0o444
    } else {
        0o644
    };
    Ok(mode)
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// What every member's processing shares, planned from the whole wheel.
struct MemberContext<'a> {
    naming: &'a Naming,
    edits: &'a MetadataEdits,
    caveats: &'a Caveats,
    hooks_name: &'a str,
}

/// Reads, verifies and transforms one member.
fn process_member(
    input: &InputWheel,
    m: &MemberInfo,
    context: &MemberContext<'_>,
    config: &Config,
) -> Result<MemberResult, Error> {
    let MemberContext {
        naming,
        edits,
        caveats,
        hooks_name,
    } = *context;
    let dist_info = &naming.dist_info.0;
    if let Some(file) = m
        .name
        .strip_prefix(dist_info.as_str())
        .and_then(|r| r.strip_prefix('/'))
    {
        let outcome = match file {
            "RECORD" => Outcome::Drop,
            f if SIGNATURE_FILES.contains(&f) => Outcome::Drop,
            "METADATA" => {
                let data = input.read_member(m)?;
                match edits.apply(&String::from_utf8_lossy(&data)) {
                    Some(text) => Outcome::Rewrite(text.into_bytes()),
                    None => Outcome::Keep,
                }
            }
            "WHEEL" if config.output.build_tag.is_some() => {
                let data = input.read_member(m)?;
                let text = String::from_utf8_lossy(&data);
                let tag = config.output.build_tag.as_deref().expect("checked");
                Outcome::Rewrite(metadata::set_header(&text, "Build", tag).into_bytes())
            }
            _ => Outcome::Keep,
        };
        if !matches!(outcome, Outcome::Rewrite(_)) {
            input.check_member(m)?;
        }
        return Ok(MemberResult {
            outcome,
            ..MemberResult::keep()
        });
    }
    // Members that are not rewritten are checked as a stream, never held in memory.
    let Some(module) = module_name(&m.name, &naming.data_dir.0) else {
        input.check_member(m)?;
        return Ok(MemberResult {
            skipped: is_script(&m.name, &naming.data_dir.0).then(|| Skipped {
                member: m.name.clone(),
                reason: "a script installed to the environment's scripts directory and run by \
                         path, not a module of the package: not instrumented"
                    .to_string(),
            }),
            ..MemberResult::keep()
        });
    };
    if !config.selection.module(&module) {
        input.check_member(m)?;
        return Ok(MemberResult::keep());
    }
    let caveats = caveats.of(&module);
    let shadowed_by = caveats.iter().find_map(|c| match c {
        Caveat::ShadowedBy(extension) => Some(extension),
        Caveat::ImportedByPth(_) => None,
    });
    if let Some(extension) = shadowed_by
        && config.on_shadowed_module == OnShadowedModule::Skip
    {
        input.check_member(m)?;
        return Ok(MemberResult {
            skipped: Some(Skipped {
                member: m.name.clone(),
                reason: format!(
                    "shadowed by the extension module {extension} (on-shadowed-module = \"skip\")"
                ),
            }),
            selected: true,
            ..MemberResult::keep()
        });
    }
    let data = input.read_member(m)?;
    let target = ModuleTarget {
        module: &module,
        file_name: &m.name,
        hooks_module: hooks_name,
    };
    let mut result = if m.name.ends_with(".pyc") {
        process_pyc(input, m, &data, &module, target, config)?
    } else {
        process_py(input, m, &data, module.clone(), target, config)?
    };
    result.selected = true;
    if result.module.is_some() {
        result
            .warnings
            .extend(caveats.iter().map(|c| caveat_warning(&m.name, &module, c)));
    }
    Ok(result)
}

/// The report's warning for an instrumented module with a caveat.
fn caveat_warning(member: &str, module: &str, caveat: &Caveat) -> String {
    match caveat {
        Caveat::ShadowedBy(extension) => format!(
            "{member}: instrumented but never runs: the extension module {extension} is \
             imported as {module} instead (on-shadowed-module = \"skip\" leaves it unchanged; \
             a pure-Python wheel of the project can be traced)"
        ),
        Caveat::ImportedByPth(pth) => format!(
            "{member}: {pth} imports {module} at the start of every Python of the environment: \
             its hooks run in every process there (exclude it with [select] \
             exclude-modules = [\"{module}\"])"
        ),
    }
}

/// The member result of an instrumented module file: `.py` and `.pyc` outcomes become the
/// report's module entry here, and nowhere else.
fn rewritten(
    m: &MemberInfo,
    module: String,
    kind: ModuleKind,
    outcome: ModuleOutcome,
) -> MemberResult {
    let Some(bytes) = outcome.new_bytes else {
        return MemberResult::keep();
    };
    MemberResult {
        outcome: Outcome::Rewrite(bytes),
        module: Some(ModuleReport {
            member: m.name.clone(),
            module,
            kind,
            functions: outcome.functions,
            probes: outcome.probes,
            statements: outcome.statements,
            statements_moved: outcome.statements_moved,
            not_instrumented: outcome.not_instrumented,
        }),
        warnings: outcome.warnings,
        ..MemberResult::keep()
    }
}

/// Instruments one `.py` member; a file that does not parse is skipped or fails the wheel
/// as `on-syntax-error` says.
fn process_py(
    input: &InputWheel,
    m: &MemberInfo,
    data: &[u8],
    module: String,
    target: ModuleTarget<'_>,
    config: &Config,
) -> Result<MemberResult, Error> {
    match source::instrument(data, target, config) {
        Ok(outcome) => Ok(rewritten(m, module, ModuleKind::Py, outcome)),
        Err(e @ (SourceError::Syntax { .. } | SourceError::Encoding(_)))
            if config.on_syntax_error == crate::config::OnSyntaxError::Skip =>
        {
            Ok(MemberResult {
                skipped: Some(Skipped {
                    member: m.name.clone(),
                    reason: format!("not instrumented: {e}"),
                }),
                ..MemberResult::keep()
            })
        }
        Err(e) => Err(Error::Instrument {
            wheel: input.path.clone(),
            member: m.name.clone(),
            cause: e.into(),
        }),
    }
}

/// Instruments one `.pyc` member; a file compiled for an unsupported Python fails the wheel,
/// or with `on-unsupported-pyc = "skip"` is copied unchanged with a warning.
fn process_pyc(
    input: &InputWheel,
    m: &MemberInfo,
    data: &[u8],
    module: &str,
    target: ModuleTarget<'_>,
    config: &Config,
) -> Result<MemberResult, Error> {
    match bytecode::instrument_pyc(data, target, config) {
        Ok(outcome) => Ok(rewritten(m, module.to_string(), ModuleKind::Pyc, outcome)),
        Err(e) if e.is_unsupported() && config.on_unsupported_pyc == OnUnsupportedPyc::Skip => {
            Ok(MemberResult {
                skipped: Some(Skipped {
                    member: m.name.clone(),
                    reason: format!("not instrumented: {e}"),
                }),
                warnings: vec![format!(
                    "{}: copied unchanged (on-unsupported-pyc = \"skip\"): {e}",
                    m.name
                )],
                ..MemberResult::keep()
            })
        }
        Err(e) => Err(Error::Instrument {
            wheel: input.path.clone(),
            member: m.name.clone(),
            cause: e.into(),
        }),
    }
}

/// The instrumented functions by module, for the hooks module: a module present as both
/// `.py` and `.pyc` is listed once, each qualname once, in the order first met.
fn inventory(report: &Report) -> Vec<ModuleFunctions> {
    let mut modules: Vec<ModuleFunctions> = Vec::new();
    let mut index: HashMap<&str, (usize, HashSet<&str>)> = HashMap::new();
    for m in &report.modules {
        let (i, seen) = index.entry(&m.module).or_insert_with(|| {
            modules.push(ModuleFunctions {
                module: m.module.clone(),
                qualnames: Vec::new(),
            });
            (modules.len() - 1, HashSet::new())
        });
        for q in &m.functions {
            if seen.insert(q) {
                modules[*i].qualnames.push(q.clone());
            }
        }
    }
    modules.retain(|m| !m.qualnames.is_empty());
    modules
}

/// `<dist-info>/equip-wheel.json`: tool, config, input and what was instrumented.
fn provenance(input: &InputWheel, config: &Config, report: &Report, hooks_name: &str) -> Vec<u8> {
    Provenance {
        tool: "equip-wheel".to_string(),
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        config: config.normalized.clone(),
        config_sha256: config.sha256.clone(),
        input: InputIdentity {
            filename: input.name.to_string(),
            sha256: input.sha256(),
        },
        hooks_module: hooks_name.to_string(),
        requires_python: report
            .requires_python
            .as_ref()
            .map(|change| RequiresPythonRaise {
                input: change.input.clone(),
                output: change.output.clone(),
            }),
        instrumented: report
            .modules
            .iter()
            .map(|m| InstrumentedModule {
                member: m.member.clone(),
                module: m.module.clone(),
                functions: m.functions.len(),
                probes: m.probes,
            })
            .collect(),
        totals: serde_json::to_value(report.totals).expect("totals serialize"),
    }
    .to_bytes()
}
