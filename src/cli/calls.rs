//! `equip-wheel calls merge`: combine the per-process files of the `calls` preset. stdout
//! gets the merged counts as a table (count, then `module:qualname`, most called first) or
//! as an `equip-calls/1` JSON document; with `--uncalled`, only the functions no process
//! called (as a table: one `module:qualname` per line, sorted). Any unreadable or invalid
//! file is an error line and exit code 1, with nothing on stdout: a merge that misses a
//! process would call its functions unused.

use std::path::PathBuf;

use super::output;
use crate::calls::{CallsFile, merge, uncalled};
use crate::error::EXIT_FAILURE;

/// How `calls merge` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(super) enum CallsFormat {
    /// Aligned columns for people.
    Table,
    /// An `equip-calls/1` document (with `pids`), which `calls merge` reads again.
    Json,
}

pub(super) fn merge_files(files: &[PathBuf], only_uncalled: bool, format: CallsFormat) -> i32 {
    let mut read = Vec::with_capacity(files.len());
    let mut failed = false;
    for path in files {
        match CallsFile::read(path) {
            Ok(file) => read.push(file),
            Err(e) => {
                output::error(e);
                failed = true;
            }
        }
    }
    if failed {
        return EXIT_FAILURE;
    }
    let mut merged = merge(&read);
    if only_uncalled {
        for functions in merged.calls.values_mut() {
            functions.retain(|_, count| *count == 0);
        }
        merged.calls.retain(|_, functions| !functions.is_empty());
    }
    let text = match format {
        CallsFormat::Json => serde_json::to_string_pretty(&merged).expect("calls files serialize"),
        CallsFormat::Table if only_uncalled => uncalled(&merged.calls)
            .iter()
            .map(|(module, qualname)| {
                crate::escape::escape(&format!("{module}:{qualname}")).into_owned()
            })
            .collect::<Vec<_>>()
            .join("\n"),
        CallsFormat::Table => table(&merged),
    };
    if !text.is_empty() {
        output::stdout(&text);
    }
    0
}

/// `COUNT  module:qualname` rows, most called first, then by name.
fn table(merged: &CallsFile) -> String {
    let mut rows: Vec<(u64, String)> = merged
        .calls
        .iter()
        .flat_map(|(module, functions)| {
            functions.iter().map(move |(qualname, count)| {
                (
                    *count,
                    crate::escape::escape(&format!("{module}:{qualname}")).into_owned(),
                )
            })
        })
        .collect();
    rows.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    let width = rows
        .iter()
        .map(|(count, _)| count.to_string().len())
        .max()
        .unwrap_or(0)
        .max("calls".len());
    let mut lines = vec![format!("{:>width$}  function", "calls")];
    lines.extend(
        rows.iter()
            .map(|(count, name)| format!("{count:>width$}  {name}")),
    );
    lines.join("\n")
}
