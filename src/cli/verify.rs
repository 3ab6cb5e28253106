//! `equip-wheel verify`: check wheels with the same validation `instrument` applies. stdout
//! gets `WHEEL: OK (N members)` per valid wheel, or with `--json` one JSON array for all;
//! each problem is an error line on stderr. Exit code 1 if any wheel has a problem.

use std::path::PathBuf;

use rayon::prelude::*;

use super::output;
use crate::error::{EXIT_FAILURE, EXIT_USAGE};
use crate::wheel::limits::ReadLimits;
use crate::wheel::verify::{VerifyReport, verify_wheel};

pub(super) fn run(wheels: &[PathBuf], json: bool) -> i32 {
    if let Err(e) = ReadLimits::from_env() {
        output::error(e);
        return EXIT_USAGE;
    }
    let results: Vec<_> = wheels.par_iter().map(|w| (w, verify_wheel(w))).collect();
    let mut code = 0;
    let mut documents = Vec::new();
    for (wheel, result) in results {
        // A file that cannot be read is one problem of that wheel here, as in `--json`.
        let report = result.unwrap_or_else(|e| VerifyReport {
            wheel: wheel.clone(),
            members: 0,
            problems: vec![e.to_string()],
        });
        if !report.ok() {
            code = EXIT_FAILURE;
            for problem in &report.problems {
                output::error(problem);
            }
        } else if !json {
            output::stdout(&format!(
                "{}: OK ({} members)",
                crate::escape::path(&report.wheel),
                report.members
            ));
        }
        documents.push(serde_json::json!({
            "wheel": report.wheel,
            "ok": report.ok(),
            "members": report.members,
            "problems": report.problems,
        }));
    }
    if json {
        output::stdout(&serde_json::to_string_pretty(&documents).expect("JSON values serialize"));
    }
    code
}
