//! The call-count files the `calls` preset writes (`equip-calls/1`), and merging them:
//! one file per process, summed per function by `equip-wheel calls merge`.
//!
//! ```json
//! {"format": "equip-calls/1", "pid": 123, "calls": {"pkg.mod": {"Class.method": 3, "unused": 0}}}
//! ```
//!
//! Every instrumented function of the wheel appears with its count, zero included; a merged
//! file has `pids` (every process merged) instead of `pid` and can itself be merged again.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::files::{ReadFileError, read_regular_file};

/// The value of the `format` key.
pub const FORMAT: &str = "equip-calls/1";

/// The largest calls file read (bytes): far beyond the counts of any package, small enough
/// that a hostile path (`/dev/zero` is refused anyway) cannot exhaust memory.
pub const MAX_FILE_SIZE: u64 = 1 << 30;

/// Call counts by dotted module name, then qualname.
pub type CallCounts = BTreeMap<String, BTreeMap<String, u64>>;

/// One calls file, as written by a process or by a merge.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallsFile {
    /// Always [`FORMAT`].
    pub format: String,
    /// The writing process (files written by the preset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u64>,
    /// The processes merged (files written by `calls merge`), ascending.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pids: Vec<u64>,
    /// The counts.
    pub calls: CallCounts,
}

/// Why a calls file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CallsFileError {
    /// The file is missing or cannot be read.
    #[error("{}: {}", crate::escape::path(.path), crate::error::io_reason(.source))]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// The path is not a regular file, or the file is too large.
    #[error("{}: {source}", crate::escape::path(.path))]
    NotReadable {
        /// The file.
        path: PathBuf,
        /// What it is.
        source: ReadFileError,
    },
    /// The content is not an `equip-calls/1` document.
    #[error("{}: not an {FORMAT} file: {reason}", crate::escape::path(.path))]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

impl CallsFile {
    /// Reads and checks the calls file at `path`.
    ///
    /// Errors: [`CallsFileError::Io`] (a missing file reads "no such file or directory"),
    /// [`CallsFileError::NotReadable`],
    /// [`CallsFileError::Format`] for invalid JSON, another `format`, or counts that are not
    /// non-negative integers.
    pub fn read(path: &Path) -> Result<Self, CallsFileError> {
        let path_buf = path.to_path_buf();
        let bytes = read_regular_file(path, Some(MAX_FILE_SIZE)).map_err(|e| match e {
            ReadFileError::Io(source) => CallsFileError::Io {
                path: path_buf,
                source,
            },
            source => CallsFileError::NotReadable {
                path: path_buf,
                source,
            },
        })?;
        let format_error = |reason: String| CallsFileError::Format {
            path: path.to_path_buf(),
            reason,
        };
        let file: CallsFile =
            serde_json::from_slice(&bytes).map_err(|e| format_error(e.to_string()))?;
        if file.format != FORMAT {
            return Err(format_error(format!(
                "its format is {:?}",
                crate::escape::escape(&file.format)
            )));
        }
        Ok(file)
    }

    /// The processes this file counts: its `pid`, or its `pids`.
    fn processes(&self) -> impl Iterator<Item = u64> + '_ {
        self.pid.into_iter().chain(self.pids.iter().copied())
    }
}

/// Sums `files` per function (saturating at `u64::MAX`); a function listed by any file is
/// in the result, with 0 if no process called it.
pub fn merge(files: &[CallsFile]) -> CallsFile {
    let mut merged = CallsFile {
        format: FORMAT.to_string(),
        ..CallsFile::default()
    };
    for file in files {
        merged.pids.extend(file.processes());
        for (module, functions) in &file.calls {
            let into = merged.calls.entry(module.clone()).or_default();
            for (qualname, count) in functions {
                let total = into.entry(qualname.clone()).or_default();
                *total = total.saturating_add(*count);
            }
        }
    }
    merged.pids.sort_unstable();
    merged.pids.dedup();
    merged
}

/// The functions no process called: (module, qualname) pairs in sorted order.
pub fn uncalled(counts: &CallCounts) -> Vec<(&str, &str)> {
    counts
        .iter()
        .flat_map(|(module, functions)| {
            functions
                .iter()
                .filter(|(_, count)| **count == 0)
                .map(move |(qualname, _)| (module.as_str(), qualname.as_str()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(pid: u64, counts: &[(&str, &str, u64)]) -> CallsFile {
        let mut calls = CallCounts::new();
        for (module, qualname, count) in counts {
            calls
                .entry(module.to_string())
                .or_default()
                .insert(qualname.to_string(), *count);
        }
        CallsFile {
            format: FORMAT.into(),
            pid: Some(pid),
            pids: vec![],
            calls,
        }
    }

    #[test]
    fn merging_sums_and_keeps_zeros() {
        let a = file(1, &[("m", "f", 2), ("m", "g", 0), ("n", "h", 0)]);
        let b = file(2, &[("m", "f", 1), ("m", "g", 0), ("n", "h", 5)]);
        let merged = merge(&[a, b]);
        assert_eq!(merged.pids, vec![1, 2]);
        assert_eq!(merged.calls["m"]["f"], 3);
        assert_eq!(uncalled(&merged.calls), vec![("m", "g")]);
        // A merged file merges again, with its processes.
        let again = merge(&[merged, file(3, &[("m", "g", 1)])]);
        assert_eq!(again.pids, vec![1, 2, 3]);
        assert!(uncalled(&again.calls).is_empty());
    }

    #[test]
    fn counts_saturate() {
        let merged = merge(&[file(1, &[("m", "f", u64::MAX)]), file(2, &[("m", "f", 1)])]);
        assert_eq!(merged.calls["m"]["f"], u64::MAX);
    }
}
