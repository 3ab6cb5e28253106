//! The floor of the tool-speed benchmark (`benchmarks/tool_speed.py`): what `equip-wheel
//! instrument` costs with the instrumentation step skipped.
//!
//! It runs the same pipeline as the tool through the library's public API — open and
//! validate the wheel, read every member and check it against RECORD, decode and parse each
//! module with the same parser, deflate again the members the tool would change (modules
//! with at least one function), copy the rest raw, regenerate RECORD, write atomically —
//! but writes each changed module back unmodified instead of instrumenting it.
//!
//! A cargo example rather than a CLI option: it is a measuring instrument, not a feature,
//! and users should never see it in `--help`.
//!
//! Usage: `bench_floor WHEEL OUT_DIR [--jobs N]`

use std::path::PathBuf;
use std::process::ExitCode;

use equip_wheel::source::encoding;
use equip_wheel::wheel::layout::module_name;
use equip_wheel::wheel::limits::ReadLimits;
use equip_wheel::wheel::reader::InputWheel;
use equip_wheel::wheel::writer::{Content, OutputMember, Timestamps, WriteOptions, write_wheel};
use rayon::prelude::*;
use ruff_python_ast::Stmt;
use ruff_python_ast::statement_visitor::{StatementVisitor, walk_stmt};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (wheel, out_dir, jobs) = match args.as_slice() {
        [w, o] => (w, o, None),
        [w, o, flag, n] if flag == "--jobs" => (w, o, n.parse::<usize>().ok()),
        _ => {
            eprintln!("usage: bench_floor WHEEL OUT_DIR [--jobs N]");
            return ExitCode::from(2);
        }
    };
    if let Some(n) = jobs {
        // The same global pool setup as the CLI's --jobs.
        rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build_global()
            .expect("first pool");
    }
    match run(PathBuf::from(wheel), PathBuf::from(out_dir)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench_floor: {e}");
            ExitCode::from(1)
        }
    }
}

fn run(wheel: PathBuf, out_dir: PathBuf) -> Result<(), Box<dyn std::error::Error>> {
    let input = InputWheel::open(&wheel, &ReadLimits::from_env()?)?;
    let data_dir = input.data_dir();
    let record = input.record_path();
    let members: Vec<Option<OutputMember>> = input
        .members
        .par_iter()
        .map(
            |m| -> Result<Option<OutputMember>, Box<dyn std::error::Error + Send + Sync>> {
                let data = input.read_member(m)?;
                if m.name == record {
                    return Ok(None);
                }
                let is_module =
                    m.name.ends_with(".py") && module_name(&m.name, &data_dir).is_some();
                let changed = is_module && parses_with_functions(&data);
                let content = if changed {
                    Content::Bytes(data)
                } else {
                    let hash = input
                        .record_entry(&m.name)
                        .and_then(|entry| entry.hash.clone())
                        .expect("RECORD covers members");
                    Content::Raw {
                        index: m.index,
                        hash,
                        size: m.size,
                    }
                };
                Ok(Some(OutputMember {
                    name: m.name.clone(),
                    content,
                    permissions: m.permissions.unwrap_or(0o644),
                    modified: m.modified,
                }))
            },
        )
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    let members: Vec<OutputMember> = members.into_iter().flatten().collect();
    std::fs::create_dir_all(&out_dir)?;
    let dest = out_dir.join(input.name.to_string());
    write_wheel(
        &input,
        members,
        &input.dist_info,
        &dest,
        Timestamps::from_env()?,
        &WriteOptions::default(),
    )?;
    Ok(())
}

/// Decodes and parses a module (the tool's first two steps); true when it defines a function,
/// i.e. when full hooks would rewrite it.
fn parses_with_functions(bytes: &[u8]) -> bool {
    let Ok(decoded) = encoding::decode(bytes) else {
        return false;
    };
    let Ok(parsed) = ruff_python_parser::parse_module(&decoded.text) else {
        return false;
    };
    struct HasDef(bool);
    impl<'a> StatementVisitor<'a> for HasDef {
        fn visit_stmt(&mut self, stmt: &'a Stmt) {
            if matches!(stmt, Stmt::FunctionDef(_)) {
                self.0 = true;
            } else if !self.0 {
                walk_stmt(self, stmt);
            }
        }
    }
    let mut v = HasDef(false);
    v.visit_body(parsed.suite());
    v.0
}
