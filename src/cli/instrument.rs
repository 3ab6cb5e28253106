//! `equip-wheel instrument`: instrument several wheels in parallel. stderr gets a header and
//! one summary per wheel as each finishes; stdout gets, once all are done and in the order
//! given, the path of each written wheel, or with `--dry-run` the plan (the path it would
//! write and, indented, each module with its functions), or with `--report -` the report.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use rayon::prelude::*;

use super::output::{self, Verbosity};
use super::{EXIT_INTERRUPTED, InstrumentArgs, MAX_JOBS_PER_CPU, unique_inputs};
use crate::config;
use crate::error::{EXIT_FAILURE, EXIT_USAGE, Error};
use crate::instrument::{InstrumentOptions, instrument_wheel};
use crate::report::Report;
use crate::wheel::limits::ReadLimits;
use crate::wheel::writer::Timestamps;

/// Where `--report` goes.
enum ReportTarget {
    File(PathBuf),
    Stdout,
}

pub(super) fn run(args: InstrumentArgs, verbosity: Verbosity, cancel: Arc<AtomicBool>) -> i32 {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let config = match config::resolve(args.config.as_deref(), args.preset.as_deref(), &cwd) {
        Ok(c) => Arc::new(c),
        Err(e) => {
            output::error(e);
            return EXIT_USAGE;
        }
    };
    if let Err(e) = ReadLimits::from_env() {
        output::error(e);
        return EXIT_USAGE;
    }
    if !args.dry_run
        && let Err(message) = Timestamps::from_env()
    {
        output::error(format!("<environment>: {message}"));
        return EXIT_USAGE;
    }
    let (jobs, lowered) = worker_threads(args.jobs);
    if let Some(note) = lowered
        && verbosity > Verbosity::Quiet
    {
        output::note(note);
    }
    let pool = match rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .thread_name(|i| format!("equip-wheel-{i}"))
        .build()
    {
        Ok(pool) => pool,
        Err(e) => {
            output::error(format!("cannot start {jobs} worker thread(s): {e}"));
            return EXIT_FAILURE;
        }
    };
    let report_target = args.report.as_ref().map(|p| {
        if p.as_os_str() == "-" {
            ReportTarget::Stdout
        } else {
            ReportTarget::File(p.clone())
        }
    });
    let options = InstrumentOptions {
        config: config.clone(),
        out_dir: args.out_dir.clone(),
        in_place: args.in_place,
        dry_run: args.dry_run,
        cancel: Some(cancel.clone()),
    };
    let wheels = unique_inputs(args.wheels);
    if verbosity > Verbosity::Quiet {
        output::message(&format!(
            "equip-wheel {}: {} wheel(s), config {}",
            env!("CARGO_PKG_VERSION"),
            wheels.len(),
            crate::escape::printable(&config.origin)
        ));
    }
    let done = AtomicUsize::new(0);
    let total = wheels.len();
    let results: Vec<(PathBuf, Result<Report, Error>)> = pool.install(|| {
        wheels
            .par_iter()
            .map(|wheel| {
                let result = instrument_wheel(wheel, &options);
                let n = done.fetch_add(1, Ordering::SeqCst) + 1;
                match &result {
                    Ok(report) if verbosity > Verbosity::Quiet => {
                        let mut text = format!("[{n}/{total}] {}", report.summary());
                        if verbosity == Verbosity::Verbose {
                            text.push_str(&module_listing(report, usize::MAX));
                        }
                        output::message(&text);
                    }
                    Ok(_) => {}
                    Err(e) => output::error(format!("[{n}/{total}] {e}")),
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
    let plan_dir = args
        .dry_run
        .then(|| (!args.in_place).then_some(args.out_dir.as_path()));
    match &report_target {
        Some(ReportTarget::Stdout) => output::stdout(&report_json(&results)),
        Some(ReportTarget::File(path)) => {
            let mut text = report_json(&results);
            text.push('\n');
            if let Err(e) = std::fs::write(path, text) {
                output::error(format!(
                    "{}: cannot write the report: {e}",
                    crate::escape::path(path)
                ));
                code = code.max(EXIT_FAILURE);
            }
            print_results(&results, plan_dir);
        }
        None => print_results(&results, plan_dir),
    }
    code
}

/// The machine output on stdout: each written path, or with `--dry-run` (`plan_dir` is
/// the output directory, `None` for `--in-place`) the plan.
fn print_results(results: &[(PathBuf, Result<Report, Error>)], plan_dir: Option<Option<&Path>>) {
    let mut out = std::io::stdout().lock();
    for report in results.iter().filter_map(|(_, r)| r.as_ref().ok()) {
        let line = match (&report.output, plan_dir) {
            (_, Some(out_dir)) => format!(
                "{}{}",
                crate::escape::path(&planned_path(report, out_dir)),
                module_listing(report, 8)
            ),
            (Some(path), None) => crate::escape::path(path),
            (None, None) => continue,
        };
        if writeln!(out, "{line}").is_err() {
            return;
        }
    }
    let _ = out.flush();
}

/// Where a dry run's wheel would be written: next to the input with `--in-place`, else in
/// the output directory.
fn planned_path(report: &Report, out_dir: Option<&Path>) -> PathBuf {
    let dir = match out_dir {
        Some(dir) => dir,
        None => report.input.parent().unwrap_or(Path::new("")),
    };
    dir.join(&report.output_name)
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

/// One indented line per instrumented module, `module (member): f, g, ...`, naming at most
/// `shown` functions per module.
fn module_listing(report: &Report, shown: usize) -> String {
    let mut s = String::new();
    for m in &report.modules {
        s.push_str(&format!(
            "\n    {} ({}): ",
            crate::escape::escape(&m.module),
            crate::escape::escape(&m.member)
        ));
        let names: Vec<_> = m
            .functions
            .iter()
            .take(shown)
            .map(|f| crate::escape::escape(f))
            .collect();
        s.push_str(&names.join(", "));
        if m.functions.len() > shown {
            s.push_str(&format!(", ... ({} functions)", m.functions.len()));
        }
    }
    s
}

/// The `--report` document: the version, every wheel's report, every failed wheel's error.
fn report_json(results: &[(PathBuf, Result<Report, Error>)]) -> String {
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
    serde_json::to_string_pretty(&value).expect("JSON values serialize")
}
