//! The command line, shared by the `equip-wheel` binary and the Python console script
//! (`equip_wheel._native.main`). Exit codes: 0 success (every output written), 1 a wheel
//! failed, 2 usage or configuration error, 130 interrupted by SIGINT (Ctrl-C) and 143 by
//! SIGTERM before every output was written. An interruption never leaves a partial file:
//! each output is either absent or complete, and if the last one was already in place when
//! the signal came the exit code is 0.
//!
//! Messages go to stderr, machine output to stdout ([`output`]).

mod calls;
mod cfg;
mod instrument;
mod output;
mod show;
mod verify;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use clap::{Args, CommandFactory, Parser, Subcommand};

use crate::config::presets;
use crate::error::EXIT_USAGE;
pub use cfg::set_host_python;
use output::Verbosity;

/// Exit code after Ctrl-C (SIGINT): 128 + 2.
pub const EXIT_INTERRUPTED: i32 = 130;
/// Exit code after SIGTERM: 128 + 15.
pub const EXIT_TERMINATED: i32 = 143;

/// Worker threads per available CPU that `--jobs` may ask for; more only costs memory
/// (the work is CPU-bound).
pub const MAX_JOBS_PER_CPU: usize = 4;

const AFTER_HELP: &str = "\
Examples:
  equip-wheel instrument dist/pkg-1.0-py3-none-any.whl
      count calls (the default `calls` preset); writes wheelhouse/pkg-1.0-py3-none-any.whl
      and prints its path on stdout
  equip-wheel instrument dist/*.whl --config equip.toml -w traced/ --report report.json
  equip-wheel instrument dist/pkg-1.0-py3-none-any.whl --preset trace --dry-run
  equip-wheel show wheelhouse/pkg-1.0-py3-none-any.whl
  equip-wheel verify wheelhouse/*.whl
  equip-wheel cfg dist/pkg-1.0-py3-none-any.whl pkg.mod:Class.method --format dot | dot -Tsvg > cfg.svg
  equip-wheel presets --show calls
  equip-wheel calls merge --uncalled equip-calls-*.json
  equip-wheel completions bash > ~/.local/share/bash-completion/completions/equip-wheel

Configuration: --config FILE, else --preset NAME, else [tool.equip-wheel] in ./pyproject.toml,
else ./equip.toml, else the `calls` preset. See README.md for the schema.

Output: messages on stderr (colour on a terminal; NO_COLOR turns it off), results on stdout.";

/// Instrument built Python wheels: inject Python snippets at function entry, return,
/// exception, chosen lines and module import, in .py and .pyc modules.
#[derive(Debug, Parser)]
#[command(name = "equip-wheel", version, after_help = AFTER_HELP)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Print only errors on stderr.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    /// Say more on stderr: every instrumented module with its functions, every skipped
    /// member.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write instrumented copies of wheels (several wheels are processed in parallel) and
    /// print the written paths on stdout.
    Instrument(InstrumentArgs),
    /// Check wheels: zip structure, member names, RECORD coverage, every hash and size.
    /// Exits 1 if any wheel has a problem.
    Verify {
        /// Wheels to check.
        #[arg(required = true, value_name = "WHEEL")]
        wheels: Vec<PathBuf>,
        /// Print the results as a JSON array on stdout: one object per wheel with `wheel`,
        /// `ok`, `members` and `problems`.
        #[arg(long)]
        json: bool,
    },
    /// Print what an instrumented wheel's provenance file records: the equip-wheel version,
    /// the input wheel and its sha256, the configuration and what was instrumented.
    /// Exits 1 for a wheel equip-wheel did not write.
    Show {
        /// Instrumented wheels.
        #[arg(required = true, value_name = "WHEEL")]
        wheels: Vec<PathBuf>,
        /// Print the provenance file itself (JSON) instead; with several wheels, one JSON
        /// document per line.
        #[arg(long)]
        json: bool,
    },
    /// Print the control-flow graph of a module's code objects: basic blocks (instructions
    /// with byte offsets, arguments and lines), edges (normal, jump, exception), immediate
    /// dominators and the dominator tree, post-dominators (towards a virtual exit joining
    /// every block without successors), dominance frontiers, and depth-first pre-, post- and
    /// reverse post-order. A .pyc member is read as it is; a .py member is compiled by a
    /// Python interpreter (see --python), which the output names. Exits 2 for a module or
    /// qualname the wheel does not have (near names are listed), 1 for a broken wheel or a
    /// member that does not compile or was compiled for a Python other than 3.8-3.15.
    #[command(after_help = CFG_AFTER_HELP)]
    Cfg(CfgArgs),
    /// List the embedded configuration presets, or print one.
    Presets {
        /// Print the TOML of this preset (a starting point for your own equip.toml).
        #[arg(long, value_name = "NAME")]
        show: Option<String>,
    },
    /// Work with the files of the `calls` preset.
    #[command(subcommand)]
    Calls(CallsCommand),
    /// Print a shell completion script on stdout.
    Completions {
        /// The shell to complete in.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Subcommand)]
enum CallsCommand {
    /// Sum per-process call counts (`equip-calls-<pid>.json`) per function and print them.
    Merge {
        /// Files written by instrumented processes (or by an earlier merge).
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Print only the functions that no process called.
        #[arg(long)]
        uncalled: bool,
        /// How to print: a table, or an equip-calls/1 JSON document.
        #[arg(long, value_enum, default_value = "table")]
        format: calls::CallsFormat,
    },
}

const CFG_AFTER_HELP: &str = "\
Examples:
  equip-wheel cfg six-1.16.0-py2.py3-none-any.whl six
      every code object of the module six: module body, classes, functions, nested
      functions, lambdas, comprehensions
  equip-wheel cfg click-8.1.7-py3-none-any.whl click.core:Context.invoke --format json
  equip-wheel cfg attrs-24.2.0-py3-none-any.whl attr._make:_ClassBuilder.__init__ \\
      --format dot | dot -Tsvg > cfg.svg
  equip-wheel cfg pkg.whl 'pkg.mod:outer.<locals>.inner' --python python3.13

The JSON document (schema equip-cfg/1) is described in docs/cfg.md.";

#[derive(Debug, Args)]
struct CfgArgs {
    /// The wheel.
    #[arg(value_name = "WHEEL")]
    wheel: PathBuf,
    /// A dotted module name (a package is its __init__), optionally with the qualname of one
    /// code object: `pkg.mod`, `pkg.mod:Class.method`, `pkg.mod:outer.<locals>.inner`,
    /// `pkg.mod:<module>`. Every code object with that qualname is printed.
    #[arg(value_name = "MODULE[:QUALNAME]")]
    target: String,
    /// How to print: a text listing, the equip-cfg/1 JSON document, or Graphviz digraphs.
    #[arg(long, value_enum, default_value = "text")]
    format: cfg::CfgFormat,
    /// The Python interpreter that compiles a .py member (default: the interpreter running
    /// the `equip-wheel` console script, else `python3` on PATH). Not used for .pyc members.
    #[arg(long, value_name = "PATH")]
    python: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct InstrumentArgs {
    /// Wheels to instrument (a wheel named twice is processed once).
    #[arg(required = true, value_name = "WHEEL")]
    wheels: Vec<PathBuf>,
    /// Configuration file: an equip.toml, or a pyproject.toml with [tool.equip-wheel].
    #[arg(short, long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Use an embedded preset (see `equip-wheel presets`) instead of a config file.
    #[arg(short, long, value_name = "NAME")]
    preset: Option<String>,
    /// Directory for the instrumented wheels (`-w`/`--wheel-dir` as in auditwheel, delocate
    /// and pip).
    #[arg(
        short,
        long,
        value_name = "DIR",
        default_value = "wheelhouse",
        conflicts_with = "in_place",
        short_alias = 'w',
        visible_alias = "wheel-dir"
    )]
    out_dir: PathBuf,
    /// Replace each input wheel with its instrumented version (atomically).
    #[arg(long)]
    in_place: bool,
    /// Print on stdout what would be written and instrumented; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Write the machine-readable report of every wheel to this JSON file (`-`: stdout,
    /// instead of the written paths).
    #[arg(long, value_name = "FILE.json")]
    report: Option<PathBuf>,
    /// Worker threads (default: one per core; at most 4 per core, larger values are lowered).
    #[arg(short, long, value_name = "N")]
    jobs: Option<usize>,
}

/// Runs the CLI with `argv` (including the program name); returns the exit code.
///
/// SIGINT and SIGTERM stop the work between members, and at the latest just before an
/// output file gets its name; the exit code is then 130 or 143 (see the module docs). A
/// second signal ends the process at once (with Linux unnamed temporary files, even that
/// leaves no file behind).
pub fn run(argv: Vec<String>) -> i32 {
    let signals = signals();
    signals.cancel.store(false, Ordering::SeqCst);
    signals.exit_code.store(0, Ordering::SeqCst);
    let code = run_with_cancel(argv, signals.cancel.clone());
    match code {
        EXIT_INTERRUPTED => match signals.exit_code.load(Ordering::SeqCst) {
            0 => EXIT_INTERRUPTED,
            by_signal => by_signal as i32,
        },
        other => other,
    }
}

/// The cancellation flag SIGINT and SIGTERM set, and the exit code of the latest of them.
struct Signals {
    cancel: Arc<AtomicBool>,
    exit_code: Arc<AtomicUsize>,
}

/// Installs the handlers once per process (later calls share them).
fn signals() -> &'static Signals {
    static SIGNALS: OnceLock<Signals> = OnceLock::new();
    SIGNALS.get_or_init(|| {
        use signal_hook::consts::{SIGINT, SIGTERM};
        use signal_hook::flag;
        let signals = Signals {
            cancel: Arc::new(AtomicBool::new(false)),
            exit_code: Arc::new(AtomicUsize::new(0)),
        };
        for (signal, code) in [(SIGINT, EXIT_INTERRUPTED), (SIGTERM, EXIT_TERMINATED)] {
            // Registered before the flag: it exits only when a first signal already set it.
            let _ = flag::register_conditional_shutdown(signal, code, signals.cancel.clone());
            let _ = flag::register_usize(signal, signals.exit_code.clone(), code as usize);
            let _ = flag::register(signal, signals.cancel.clone());
        }
        signals
    })
}

/// Like [`run`], with a caller-owned cancellation flag (the Python front sets it on Ctrl-C).
pub fn run_with_cancel(argv: Vec<String>, cancel: Arc<AtomicBool>) -> i32 {
    let cli = match Cli::try_parse_from(argv) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { EXIT_USAGE } else { 0 };
        }
    };
    let verbosity = Verbosity::from_flags(cli.quiet, cli.verbose);
    match cli.command {
        Command::Instrument(args) => instrument::run(args, verbosity, cancel),
        Command::Verify { wheels, json } => verify::run(&unique_inputs(wheels), json),
        Command::Show { wheels, json } => show::run(&unique_inputs(wheels), json),
        Command::Cfg(args) => cfg::run(&args.wheel, &args.target, args.format, args.python),
        Command::Presets { show } => list_presets(show.as_deref()),
        Command::Calls(CallsCommand::Merge {
            files,
            uncalled,
            format,
        }) => calls::merge_files(&unique_inputs(files), uncalled, format),
        Command::Completions { shell } => {
            let mut command = Cli::command();
            clap_complete::generate(shell, &mut command, "equip-wheel", &mut std::io::stdout());
            0
        }
    }
}

/// `paths` without repeats, in their first order: a wheel named twice (even spelled
/// differently, `./a.whl` and `a.whl`) is processed once. Paths that do not resolve
/// (missing files) are compared as written; their error comes later, once.
fn unique_inputs(paths: Vec<PathBuf>) -> Vec<PathBuf> {
    let mut seen = std::collections::HashSet::new();
    paths
        .into_iter()
        .filter(|p| seen.insert(std::fs::canonicalize(p).unwrap_or_else(|_| p.clone())))
        .collect()
}

fn list_presets(show: Option<&str>) -> i32 {
    match show {
        Some(name) => match presets::text(name) {
            Some(text) => {
                print!("{text}");
                0
            }
            None => {
                output::error(format!(
                    "unknown preset {name:?}; available: {}",
                    presets::names().collect::<Vec<_>>().join(", ")
                ));
                EXIT_USAGE
            }
        },
        None => {
            for (name, description) in presets::descriptions() {
                let default = if name == presets::DEFAULT {
                    " (default)"
                } else {
                    ""
                };
                println!("{name}{default}: {description}");
            }
            0
        }
    }
}
