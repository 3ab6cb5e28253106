//! Where the command line writes what. Messages (progress, notes, warnings, errors) go to
//! stderr; machine output (written paths, the `--dry-run` plan, `--report -`, `--json`) goes
//! to stdout, so `equip-wheel instrument ... | xargs pip install` works.
//!
//! Colour: the `error:` and `note:` labels are coloured only when stderr is a
//! terminal; `NO_COLOR` (any value) turns colour off and `CLICOLOR_FORCE` on (the
//! conventions of no-color.org and bixense.com/clicolors, as `anstream` implements them).
//! Unprintable characters in messages are escaped, so a hostile name can neither split a
//! line nor reach the terminal raw.

use std::io::Write;

use anstyle::{AnsiColor, Style};

/// How much the command line says on stderr (`-q`, default, `-v`). Errors are always
/// printed; stdout output does not depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    /// `-q`: errors only.
    Quiet,
    /// The default: a header, one summary per wheel, notes and warnings.
    Normal,
    /// `-v`: also each instrumented module and its functions, and every skipped member.
    Verbose,
}

impl Verbosity {
    /// From the `-q` flag and the number of `-v` flags (clap makes them exclusive).
    pub fn from_flags(quiet: bool, verbose: u8) -> Self {
        match (quiet, verbose) {
            (true, _) => Verbosity::Quiet,
            (false, 0) => Verbosity::Normal,
            (false, _) => Verbosity::Verbose,
        }
    }
}

const ERROR: Style = AnsiColor::Red.on_default().bold();
const NOTE: Style = AnsiColor::Cyan.on_default().bold();

fn labelled(label: &str, style: Style, message: &str) {
    let message = crate::escape::printable(message);
    let mut err = anstream::stderr().lock();
    let _ = writeln!(err, "equip-wheel: {style}{label}:{style:#} {message}");
}

/// Prints `equip-wheel: error: MESSAGE` on stderr, always (whatever the verbosity).
pub fn error(message: impl std::fmt::Display) {
    labelled("error", ERROR, &message.to_string());
}

/// Prints `equip-wheel: note: MESSAGE` on stderr.
pub fn note(message: impl std::fmt::Display) {
    labelled("note", NOTE, &message.to_string());
}

/// Prints a message block (already escaped by its builder) on stderr as one write, so
/// that parallel workers do not interleave lines.
pub fn message(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{text}");
}

/// Prints machine output on stdout. A closed stdout (`| head`) is not an error worth a
/// message: the result is on disk either way.
pub fn stdout(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}");
    let _ = out.flush();
}
