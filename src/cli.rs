//! The command line, shared by the `equip-wheel` binary and the Python console script
//! (`equip_wheel._native.main`). Exit codes: 0 success (every output written), 1 a wheel
//! failed, 2 usage or configuration error, 130 interrupted by SIGINT (Ctrl-C) and 143 by
//! SIGTERM before every output was written. An interruption never leaves a partial file:
//! each output is either absent or complete, and if the last one was already in place when
//! the signal came the exit code is 0.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use clap::{Args, Parser, Subcommand};
use rayon::prelude::*;

use crate::config::{self, presets};
use crate::error::{EXIT_FAILURE, EXIT_USAGE, Error};
use crate::instrument::{InstrumentOptions, instrument_wheel};
use crate::report::Report;
use crate::wheel::limits::ReadLimits;
use crate::wheel::verify::verify_wheel;
use crate::wheel::writer::Timestamps;

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
  equip-wheel instrument dist/*.whl --config equip.toml --report report.json
  equip-wheel instrument dist/pkg-1.0-py3-none-any.whl --preset trace --dry-run
  equip-wheel verify wheelhouse/*.whl
  equip-wheel presets --show calls

Configuration: --config FILE, else --preset NAME, else [tool.equip-wheel] in ./pyproject.toml,
else ./equip.toml, else the `calls` preset. See README.md for the schema.";

/// Instrument built Python wheels: inject Python snippets at function entry, return,
/// exception, chosen lines and module import, in .py and .pyc modules.
#[derive(Debug, Parser)]
#[command(name = "equip-wheel", version, after_help = AFTER_HELP)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write instrumented copies of wheels (several wheels are processed in parallel).
    Instrument(InstrumentArgs),
    /// Check wheels: zip structure, member names, RECORD coverage, every hash and size.
    /// Exits 1 if any wheel has a problem.
    Verify {
        /// Wheels to check.
        #[arg(required = true, value_name = "WHEEL")]
        wheels: Vec<PathBuf>,
    },
    /// List the embedded configuration presets, or print one.
    Presets {
        /// Print the TOML of this preset (a starting point for your own equip.toml).
        #[arg(long, value_name = "NAME")]
        show: Option<String>,
    },
}

#[derive(Debug, Args)]
struct InstrumentArgs {
    /// Wheels to instrument.
    #[arg(required = true, value_name = "WHEEL")]
    wheels: Vec<PathBuf>,
    /// Configuration file: an equip.toml, or a pyproject.toml with [tool.equip-wheel].
    #[arg(short, long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Use an embedded preset (see `equip-wheel presets`) instead of a config file.
    #[arg(short, long, value_name = "NAME")]
    preset: Option<String>,
    /// Directory for the instrumented wheels.
    #[arg(
        short,
        long,
        value_name = "DIR",
        default_value = "wheelhouse",
        conflicts_with = "in_place"
    )]
    out_dir: PathBuf,
    /// Replace each input wheel with its instrumented version (atomically).
    #[arg(long)]
    in_place: bool,
    /// Show what would be instrumented; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Write the machine-readable report of every wheel to this JSON file.
    #[arg(long, value_name = "FILE.json")]
    report: Option<PathBuf>,
    /// Worker threads (default: one per core; at most 4 per core, larger values are lowered).
    #[arg(short, long, value_name = "N")]
    jobs: Option<usize>,
    /// Print only errors.
    #[arg(short, long)]
    quiet: bool,
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
    match cli.command {
        Command::Instrument(args) => instrument(args, cancel),
        Command::Verify { wheels } => verify(&wheels),
        Command::Presets { show } => list_presets(show.as_deref()),
    }
}

/// Prints one error line; unprintable characters in `message` are escaped (once: text
/// escaped earlier is left as is), so a hostile name can neither split the line nor reach
/// the terminal raw.
fn error_line(message: impl std::fmt::Display) {
    let message = message.to_string();
    eprintln!("equip-wheel: error: {}", crate::escape::printable(&message));
}

fn instrument(args: InstrumentArgs, cancel: Arc<AtomicBool>) -> i32 {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let config = match config::resolve(args.config.as_deref(), args.preset.as_deref(), &cwd) {
        Ok(c) => Arc::new(c),
        Err(e) => {
            error_line(e);
            return EXIT_USAGE;
        }
    };
    if let Err(e) = ReadLimits::from_env() {
        error_line(e);
        return EXIT_USAGE;
    }
    if !args.dry_run
        && let Err(message) = Timestamps::from_env()
    {
        error_line(format!("<environment>: {message}"));
        return EXIT_USAGE;
    }
    let jobs = match worker_threads(args.jobs) {
        (jobs, Some(note)) if !args.quiet => {
            eprintln!("equip-wheel: note: {note}");
            jobs
        }
        (jobs, _) => jobs,
    };
    let pool = match rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .thread_name(|i| format!("equip-wheel-{i}"))
        .build()
    {
        Ok(pool) => pool,
        Err(e) => {
            error_line(format!("cannot start {jobs} worker thread(s): {e}"));
            return EXIT_FAILURE;
        }
    };
    let options = InstrumentOptions {
        config: config.clone(),
        out_dir: args.out_dir.clone(),
        in_place: args.in_place,
        dry_run: args.dry_run,
        cancel: Some(cancel.clone()),
    };
    if !args.quiet {
        eprintln!(
            "equip-wheel {}: {} wheel(s), config {}",
            env!("CARGO_PKG_VERSION"),
            args.wheels.len(),
            crate::escape::printable(&config.origin)
        );
    }
    let done = AtomicUsize::new(0);
    let total = args.wheels.len();
    let results: Vec<(PathBuf, Result<Report, Error>)> = pool.install(|| {
        args.wheels
            .par_iter()
            .map(|wheel| {
                let result = instrument_wheel(wheel, &options);
                let n = done.fetch_add(1, Ordering::SeqCst) + 1;
                match &result {
                    Ok(report) if !args.quiet => {
                        let mut text = format!("[{n}/{total}] {}", report.summary());
                        if args.dry_run {
                            text.push_str(&dry_run_listing(report));
                        }
                        let mut err = std::io::stderr().lock();
                        let _ = writeln!(err, "{text}");
                    }
                    Ok(_) => {}
                    Err(e) => error_line(format!("[{n}/{total}] {e}")),
                }
                (wheel.clone(), result)
            })
            .collect()
    });

    let mut code = 0;
    for (_, r) in &results {
        if let Err(e) = r {
            code = code.max(match e {
                Error::Interrupted => EXIT_INTERRUPTED,
                other => other.exit_code(),
            });
        }
    }
    if let Some(path) = &args.report
        && let Err(e) = write_report(path, &results)
    {
        error_line(format!(
            "{}: cannot write the report: {e}",
            crate::escape::path(path)
        ));
        code = code.max(EXIT_FAILURE);
    }
    code
}

/// The number of worker threads for `--jobs` (default: the available parallelism), capped
/// at [`MAX_JOBS_PER_CPU`] per CPU, with a note when it was lowered.
fn worker_threads(requested: Option<usize>) -> (usize, Option<String>) {
    let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let cap = cpus.saturating_mul(MAX_JOBS_PER_CPU);
    match requested {
        None => (cpus, None),
        Some(n) if n > cap => (
            cap,
            Some(format!(
                "--jobs {n} lowered to {cap} ({MAX_JOBS_PER_CPU} per available CPU, {cpus} CPU(s))"
            )),
        ),
        Some(n) => (n.max(1), None),
    }
}

fn dry_run_listing(report: &Report) -> String {
    let mut s = String::new();
    for m in &report.modules {
        s.push_str(&format!(
            "\n    {} ({}): ",
            crate::escape::escape(&m.module),
            crate::escape::escape(&m.member)
        ));
        let shown: Vec<_> = m
            .functions
            .iter()
            .take(8)
            .map(|f| crate::escape::escape(f))
            .collect();
        s.push_str(&shown.join(", "));
        if m.functions.len() > 8 {
            s.push_str(&format!(", ... ({} functions)", m.functions.len()));
        }
    }
    s
}

fn write_report(path: &Path, results: &[(PathBuf, Result<Report, Error>)]) -> std::io::Result<()> {
    let wheels: Vec<&Report> = results
        .iter()
        .filter_map(|(_, r)| r.as_ref().ok())
        .collect();
    let errors: Vec<serde_json::Value> = results
        .iter()
        .filter_map(|(w, r)| {
            r.as_ref()
                .err()
                .map(|e| serde_json::json!({"wheel": w, "error": e.to_string()}))
        })
        .collect();
    let value = serde_json::json!({
        "equip_wheel_version": env!("CARGO_PKG_VERSION"),
        "wheels": wheels,
        "errors": errors,
    });
    let mut text = serde_json::to_vec_pretty(&value).map_err(std::io::Error::other)?;
    text.push(b'\n');
    std::fs::write(path, text)
}

fn verify(wheels: &[PathBuf]) -> i32 {
    if let Err(e) = ReadLimits::from_env() {
        error_line(e);
        return EXIT_USAGE;
    }
    let reports: Vec<_> = wheels.par_iter().map(|w| verify_wheel(w)).collect();
    let mut code = 0;
    for r in reports {
        if r.ok() {
            println!(
                "{}: OK ({} members)",
                crate::escape::path(&r.wheel),
                r.members
            );
        } else {
            code = EXIT_FAILURE;
            for p in &r.problems {
                error_line(p);
            }
        }
    }
    code
}

fn list_presets(show: Option<&str>) -> i32 {
    match show {
        Some(name) => match presets::text(name) {
            Some(text) => {
                print!("{text}");
                0
            }
            None => {
                error_line(format!(
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
