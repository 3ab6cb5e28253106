//! `equip-wheel verify`: every check equip-wheel makes on an input wheel (structure, names,
//! RECORD coverage, every member's sha256 and size, zip header consistency), collecting all
//! member problems instead of stopping at the first.

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

use super::reader::InputWheel;
use crate::error::WheelError;

/// The result of verifying one wheel.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    /// The wheel checked.
    pub wheel: PathBuf,
    /// Number of file members checked.
    pub members: usize,
    /// Every problem found, one line each; empty when the wheel is valid.
    pub problems: Vec<String>,
}

impl VerifyReport {
    /// Whether no problem was found.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Verifies the wheel at `path`.
///
/// A structural problem (not a zip, bad names, RECORD missing or not covering the archive,
/// ...) is reported alone, since nothing after it can be trusted; content problems (hash or
/// size mismatches, corrupt data) are all reported. This never returns `Err`: problems are
/// data here.
pub fn verify_wheel(path: &Path) -> VerifyReport {
    let input = match InputWheel::open(path) {
        Ok(w) => w,
        Err(e) => {
            return VerifyReport {
                wheel: path.to_path_buf(),
                members: 0,
                problems: vec![e.to_string()],
            };
        }
    };
    let mut problems: Vec<String> = input
        .members
        .par_iter()
        .filter_map(|m| {
            input
                .read_member(m)
                .err()
                .map(|e: WheelError| e.to_string())
        })
        .collect();
    let mut archive = input.archive();
    if let Err(e) = archive.validate_header_consistency() {
        problems.push(format!("{}: {e}", path.display()));
    }
    VerifyReport {
        wheel: path.to_path_buf(),
        members: input.members.len(),
        problems,
    }
}
