//! `equip-wheel show`: what an instrumented wheel's provenance file records, like
//! `auditwheel show` for repaired wheels. stdout gets one block per wheel (or with
//! `--json` the provenance file itself, one document per line); a wheel equip-wheel did not
//! write is an error line on stderr and exit code 1.

use std::path::PathBuf;

use super::output;
use crate::error::{EXIT_FAILURE, EXIT_USAGE};
use crate::escape::{escape, path as escape_path};
use crate::wheel::limits::ReadLimits;
use crate::wheel::provenance::{PROVENANCE_FILE, Provenance};

/// The hook keys of the configuration, in the order `show` lists the ones that are set.
const HOOK_KEYS: [&str; 6] = [
    "module-enter",
    "module-exit",
    "function-enter",
    "function-exit",
    "function-error",
    "on-hook-error",
];

pub(super) fn run(wheels: &[PathBuf], json: bool) -> i32 {
    let limits = match ReadLimits::from_env() {
        Ok(limits) => limits,
        Err(e) => {
            output::error(e);
            return EXIT_USAGE;
        }
    };
    let mut code = 0;
    for wheel in wheels {
        match Provenance::read(wheel, &limits) {
            Ok(Some((_, provenance))) if json => {
                output::stdout(&serde_json::to_string(&provenance).expect("provenance serializes"))
            }
            Ok(Some((member, provenance))) => {
                output::stdout(&describe(wheel, &member, &provenance));
            }
            Ok(None) => {
                code = EXIT_FAILURE;
                output::error(format!(
                    "{}: not instrumented by equip-wheel (it has no {PROVENANCE_FILE} in its \
                     .dist-info)",
                    escape_path(wheel)
                ));
            }
            Err(e) => {
                code = EXIT_FAILURE;
                output::error(e);
            }
        }
    }
    code
}

/// The human-readable block for one wheel.
fn describe(wheel: &std::path::Path, member: &str, p: &Provenance) -> String {
    let mut lines = vec![
        escape_path(wheel),
        format!(
            "  instrumented by {} {} (recorded in {})",
            escape(&p.tool),
            escape(&p.tool_version),
            escape(member)
        ),
        format!(
            "  input wheel: {} (sha256 {})",
            escape(&p.input.filename),
            escape(&p.input.sha256)
        ),
        format!("  config sha256: {}", escape(&p.config_sha256)),
    ];
    let hooks = &p.config["hooks"];
    for key in HOOK_KEYS {
        if let Some(value) = hooks[key].as_str() {
            let first = value.lines().next().unwrap_or_default();
            let more = if value.lines().nth(1).is_some() {
                " ..."
            } else {
                ""
            };
            lines.push(format!("    {key} = {}{more}", escape(first)));
        }
    }
    if let Some(probes) = p.config["probes"].as_array().filter(|a| !a.is_empty()) {
        lines.push(format!("    probes: {}", probes.len()));
    }
    lines.push(format!("  hooks module: {}", escape(&p.hooks_module)));
    lines.push(match &p.requires_python {
        Some(raise) => format!(
            "  Requires-Python: {} -> {}",
            escape(raise.input.as_deref().unwrap_or("(none)")),
            escape(&raise.output)
        ),
        None => "  Requires-Python: unchanged".to_string(),
    });
    let functions: usize = p.instrumented.iter().map(|m| m.functions).sum();
    let probes: usize = p.instrumented.iter().map(|m| m.probes).sum();
    lines.push(format!(
        "  instrumented: {functions} functions, {probes} probes, in {} modules",
        p.instrumented.len()
    ));
    for m in &p.instrumented {
        let probes = match m.probes {
            0 => String::new(),
            n => format!(", {n} probes"),
        };
        lines.push(format!(
            "    {} ({}): {} functions{probes}",
            escape(&m.module),
            escape(&m.member),
            m.functions
        ));
    }
    lines.join("\n")
}
