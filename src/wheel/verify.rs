//! `equip-wheel verify`: every check equip-wheel makes on an input wheel, through the same
//! [`InputWheel::open`] and [`InputWheel::check_member`] that `instrument` uses (so the two
//! always agree), collecting all member problems instead of stopping at the first.

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

use super::limits::ReadLimits;
use super::reader::InputWheel;
use crate::error::{Error, WheelError};

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

/// Verifies the wheel at `path` under the read limits of the environment
/// ([`ReadLimits::from_env`]).
///
/// A structural problem (not a zip, an inconsistent zip, bad names, a size past the limits,
/// RECORD missing or not covering the archive, ...) is reported alone, since nothing after
/// it can be trusted; content problems (hash or size mismatches, corrupt data) are all
/// reported, in archive order. Content is checked as a stream (memory: one chunk per
/// thread). Problems are data here, including an invalid `EQUIP_WHEEL_MAX_*` variable.
///
/// Errors: only [`Error::Io`], when the file is missing or cannot be read (there is no
/// wheel to report on).
pub fn verify_wheel(path: &Path) -> Result<VerifyReport, Error> {
    let failed = |problem: String| VerifyReport {
        wheel: path.to_path_buf(),
        members: 0,
        problems: vec![problem],
    };
    let limits = match ReadLimits::from_env() {
        Ok(limits) => limits,
        Err(e) => return Ok(failed(e.to_string())),
    };
    let input = match InputWheel::open(path, &limits) {
        Ok(w) => w,
        Err(e @ Error::Io { .. }) => return Err(e),
        Err(e) => return Ok(failed(e.to_string())),
    };
    let problems: Vec<String> = input
        .members
        .par_iter()
        .filter_map(|m| {
            input
                .check_member(m)
                .err()
                .map(|e: WheelError| e.to_string())
        })
        .collect();
    Ok(VerifyReport {
        wheel: path.to_path_buf(),
        members: input.members.len(),
        problems,
    })
}
