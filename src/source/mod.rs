//! `.py` instrumentation: decode (PEP 263), parse (ruff), plan the injection points, edit the
//! text without moving original statements, encode back.

pub(crate) mod brackets;
pub mod encoding;
pub(crate) mod flow;
pub mod fuzzing;
pub(crate) mod inject;
pub(crate) mod layout;
pub(crate) mod lines;

use crate::config::Config;
use crate::line::LineNumber;
use crate::module::{ModuleOutcome, ModuleTarget};

/// Why a source file could not be instrumented.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    /// It is not valid Python (as far as the parser is concerned).
    #[error("line {line}, column {column}: {message}")]
    Syntax {
        /// The line.
        line: LineNumber,
        /// 1-based column.
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// Its bytes cannot be decoded or re-encoded exactly.
    #[error(transparent)]
    Encoding(#[from] encoding::DecodeError),
    /// A configured probe does not fit this file.
    #[error("{0}")]
    Probe(String),
}

/// Instruments one `.py` file's bytes under `config`.
///
/// Returns the new bytes (in the file's own encoding, BOM and line endings) or `None` when
/// nothing in the module is selected. Errors when the file does not decode or parse, nests
/// deeper than [`crate::depth::MAX_NESTING`], or a probe names a line without a statement.
///
/// Runs with the native stack [`crate::depth::with_stack`] guarantees, on any thread.
pub fn instrument(
    bytes: &[u8],
    target: ModuleTarget<'_>,
    config: &Config,
) -> Result<ModuleOutcome, SourceError> {
    let decoded = encoding::decode(bytes)?;
    let outcome =
        crate::depth::with_stack(|| inject::instrument_text(&decoded.text, target, config))?;
    let mut summary = outcome.summary;
    summary.new_bytes = outcome.text.map(|text| encoding::encode(&decoded, &text));
    Ok(summary)
}

/// Parses a module, refusing one nested deeper than [`crate::depth::MAX_NESTING`] (the tree
/// is then taken apart by [`crate::depth::dismantle`]).
///
/// Errors: the first syntax error, or the position of the first node past the limit, as a
/// [`SourceError::Syntax`] (line and column 1-based).
///
/// Brackets and f-strings nested past what CPython's tokenizer accepts are refused first by
/// a linear scan ([`brackets::too_deep`]), before the parser builds a tree for them.
pub fn parse_module(
    text: &str,
) -> Result<ruff_python_parser::Parsed<ruff_python_ast::ModModule>, SourceError> {
    brackets::too_deep(text)
        .map_or_else(
            || crate::depth::parse_module_within(text, crate::depth::MAX_NESTING),
            Err,
        )
        .map_err(|(offset, message)| {
            let (line, column) = crate::syntax::line_col(text, offset.into());
            SourceError::Syntax {
                line,
                column,
                message,
            }
        })
}
