//! `.pyc` instrumentation for CPython 3.8–3.15, without running Python.
//!
//! A `.pyc` is a 16-byte PEP 552 header and a marshalled module code object. This module
//! reads the header (the magic number says which CPython wrote it), the marshal stream
//! ([`marshal`]), disassembles every code object ([`disasm`]) with the opcode tables of
//! that version ([`tables`]), injects the hook calls of `docs/semantics.md` ([`inject`]),
//! reassembles ([`asm`]) and writes the file back with the header unchanged.
//!
//! Facts and pitfalls per CPython version: `docs/pyc.md`.

pub(crate) mod analysis;
pub(crate) mod asm;
pub(crate) mod cfg;
pub(crate) mod code;
pub(crate) mod disasm;
pub(crate) mod dominators;
pub(crate) mod exctable;
#[doc(hidden)]
pub mod fuzzing;
pub(crate) mod inject;
pub(crate) mod linetable;
pub(crate) mod marshal;
pub(crate) mod tables;

use std::fmt;

use crate::config::Config;
use crate::module::{ModuleOutcome, ModuleTarget};
use asm::AsmError;
use code::{CodeEdit, CodeView, Field};
use disasm::Body;
use marshal::{Marshal, MarshalError, NodeId};
use tables::{OpTable, minor_of_magic};

/// Size of the PEP 552 header.
pub const HEADER_LEN: usize = 16;

/// Why a `.pyc` could not be instrumented.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PycError {
    /// Compiled by a Python this crate does not support (3.16+, pre-3.8) or not a .pyc.
    #[error("{0}")]
    Unsupported(String),
    /// The header or the marshal data is broken.
    #[error("{0}")]
    Corrupt(String),
    /// A code object could not be rewritten.
    #[error("in {qualname}: {message}")]
    Code {
        /// The code object (`co_qualname`-style).
        qualname: String,
        /// What went wrong (with the bytecode offset).
        message: String,
    },
    /// A configured probe does not fit this module.
    #[error("{0}")]
    Probe(String),
}

impl PycError {
    /// Whether the file was compiled for a Python version this crate cannot instrument.
    pub fn is_unsupported(&self) -> bool {
        matches!(self, PycError::Unsupported(_))
    }
}

impl From<MarshalError> for PycError {
    fn from(e: MarshalError) -> Self {
        PycError::Corrupt(format!("{e} (after the {HEADER_LEN}-byte header)"))
    }
}

/// A parsed `.pyc`: the header as it was, the version and the module code.
#[derive(Debug, Clone)]
pub struct Pyc {
    /// The PEP 552 header, kept byte for byte.
    pub header: [u8; HEADER_LEN],
    /// The opcode table of the version that wrote it.
    pub table: &'static OpTable,
    /// The marshalled module code object.
    pub marshal: Marshal,
}

/// The Python version a magic number belongs to, as text (`3.14`), for messages.
pub fn python_version_of(magic: u16) -> String {
    match minor_of_magic(magic) {
        Some(minor) => format!("Python 3.{minor}"),
        None => format!("an unknown Python (magic number {magic})"),
    }
}

impl Pyc {
    /// Reads a `.pyc`. Errors: [`PycError::Unsupported`] for a magic number outside
    /// 3.8–3.15 (the message names the version), [`PycError::Corrupt`] for a bad header or
    /// marshal stream.
    pub fn read(bytes: &[u8]) -> Result<Pyc, PycError> {
        if bytes.len() < HEADER_LEN {
            return Err(PycError::Corrupt(format!(
                "{} bytes: shorter than the {HEADER_LEN}-byte .pyc header",
                bytes.len()
            )));
        }
        let magic = u16::from_le_bytes([bytes[0], bytes[1]]);
        if bytes[2..4] != *b"\r\n" {
            return Err(PycError::Unsupported(
                "not a .pyc file (no magic number)".into(),
            ));
        }
        let minor = minor_of_magic(magic);
        let table = minor.and_then(OpTable::for_minor).ok_or_else(|| {
            PycError::Unsupported(format!(
                "compiled for {} (magic number {magic}); .pyc instrumentation supports Python 3.8 to 3.15",
                python_version_of(magic)
            ))
        })?;
        let flags = u32::from_le_bytes(bytes[4..8].try_into().expect("4 bytes"));
        if flags & !0b11 != 0 {
            return Err(PycError::Corrupt(format!(
                "invalid PEP 552 flags {flags:#x} in the header"
            )));
        }
        let marshal = Marshal::read(&bytes[HEADER_LEN..], table.minor)?;
        if CodeView::new(&marshal, marshal.root).is_none() {
            return Err(PycError::Corrupt(
                "the marshalled object is not a code object".into(),
            ));
        }
        let mut header = [0u8; HEADER_LEN];
        header.copy_from_slice(&bytes[..HEADER_LEN]);
        Ok(Pyc {
            header,
            table,
            marshal,
        })
    }

    /// The file bytes: the original header and the marshal stream.
    pub fn write(&self) -> Vec<u8> {
        let mut out = self.header.to_vec();
        out.extend(self.marshal.write());
        out
    }

    /// Every code object, the module first, depth first in `co_consts` order; an object
    /// shared through back-references (several `co_consts` holding it) comes once.
    pub fn code_objects(&self) -> Vec<NodeId> {
        let mut out = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut stack = vec![self.marshal.resolve(self.marshal.root)];
        while let Some(node) = stack.pop() {
            if !seen.insert(node) {
                continue;
            }
            out.push(node);
            let view = CodeView::new(&self.marshal, node).expect("code objects only");
            for (_, child) in view.nested().into_iter().rev() {
                stack.push(child);
            }
        }
        out
    }

    /// Disassembles one code object.
    pub fn disassemble(&self, node: NodeId) -> Result<Body, PycError> {
        let view = CodeView::new(&self.marshal, node).ok_or_else(|| PycError::Code {
            qualname: "?".into(),
            message: "not a code object".into(),
        })?;
        let code = view.bytes(Field::Code).unwrap_or_default();
        let lines = view.bytes(Field::LineTable).unwrap_or_default();
        let exc = view.bytes(Field::ExceptionTable).unwrap_or_default();
        Body::disassemble(self.table, code, lines, exc, view.ints().firstlineno).map_err(|e| {
            PycError::Code {
                qualname: code_label(&view),
                message: e.to_string(),
            }
        })
    }

    /// Writes an assembled body into code object `node` (fields whose bytes did not change
    /// keep their original objects).
    pub fn store(&mut self, node: NodeId, body: &Body) -> Result<(), PycError> {
        let assembled = body.assemble().map_err(|e| PycError::Code {
            qualname: code_label(&CodeView::new(&self.marshal, node).expect("code")),
            message: e.to_string(),
        })?;
        let minor = self.table.minor;
        let mut edit = CodeEdit {
            m: &mut self.marshal,
            node,
        };
        edit.set_bytes(Field::Code, assembled.code);
        edit.set_bytes(Field::LineTable, assembled.line_table);
        if minor >= 11 {
            edit.set_bytes(Field::ExceptionTable, assembled.exc_table);
        }
        Ok(())
    }
}

/// `co_qualname` (3.11+) or `co_name` of a code object, for messages.
pub fn code_label(view: &CodeView) -> String {
    view.text(Field::Qualname).unwrap_or_else(|| view.name())
}

/// Instruments one `.pyc` file's bytes under `config`: the `.pyc` counterpart of
/// [`crate::source::instrument`], with the same semantics (`docs/semantics.md`).
///
/// Errors: [`PycError::Unsupported`] (the caller applies `on-unsupported-pyc`),
/// [`PycError::Corrupt`], [`PycError::Code`], [`PycError::Probe`].
pub fn instrument_pyc(
    bytes: &[u8],
    target: ModuleTarget<'_>,
    config: &Config,
) -> Result<ModuleOutcome, PycError> {
    let mut pyc = Pyc::read(bytes)?;
    inject::instrument(&mut pyc, target, config)
}

impl fmt::Display for Pyc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<.pyc for Python 3.{}>", self.table.minor)
    }
}

/// Result of [`round_trip`]: how many code objects were checked and how the recomputed
/// stack depth compared with `co_stacksize`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoundTrip {
    /// Code objects disassembled and reassembled.
    pub code_objects: usize,
    /// Of those, whose recomputed stack depth equals `co_stacksize`.
    pub depth_equal: usize,
    /// Whose recomputed depth is below `co_stacksize` (CPython 3.8/3.9 compute it before
    /// the peephole pass removes code).
    pub depth_below: usize,
    /// The first code object whose depth was below, for diagnostics.
    pub first_below: Option<String>,
}

/// The first difference [`round_trip`] found.
#[derive(Debug, thiserror::Error)]
pub enum RoundTripError {
    /// The `.pyc` does not read, a code object does not disassemble, or a body does not
    /// store.
    #[error(transparent)]
    Pyc(#[from] PycError),
    /// Reading and writing the marshal data without disassembling changes the bytes.
    #[error("marshal read+write is not byte-identical")]
    MarshalNotIdentical,
    /// A code object's body does not assemble or its stack depth cannot be computed.
    #[error("{code}: {source}")]
    Asm {
        /// The code object (its qualname and first line).
        code: String,
        /// The assembler's error.
        #[source]
        source: AsmError,
    },
    /// A reassembled field differs from the original.
    #[error("{code}: reassembled {field} differs:\n  old {old:?}\n  new {new:?}")]
    FieldDiffers {
        /// The code object (its qualname and first line).
        code: String,
        /// `co_code`, `line table` or `exception table`.
        field: &'static str,
        /// The original bytes.
        old: Vec<u8>,
        /// The reassembled bytes.
        new: Vec<u8>,
    },
    /// The recomputed stack depth is above the declared `co_stacksize`.
    #[error("{code}: recomputed stack depth {depth} exceeds co_stacksize {declared}")]
    DepthExceeds {
        /// The code object (its qualname and first line).
        code: String,
        /// The recomputed depth.
        depth: u32,
        /// `co_stacksize`.
        declared: u32,
    },
    /// Every code object reassembles identically but the written file differs.
    #[error("disassemble+reassemble is not byte-identical")]
    FileNotIdentical,
}

/// Reads a `.pyc`, disassembles and reassembles every code object without changing it,
/// writes it again and checks the bytes are identical. Returns the counts, or the first
/// difference.
pub fn round_trip(bytes: &[u8]) -> Result<RoundTrip, RoundTripError> {
    let mut pyc = Pyc::read(bytes)?;
    if pyc.write() != bytes {
        return Err(RoundTripError::MarshalNotIdentical);
    }
    let mut stats = RoundTrip::default();
    for node in pyc.code_objects() {
        let body = pyc.disassemble(node)?;
        let view = CodeView::new(&pyc.marshal, node).expect("code");
        let label = code_label(&view);
        let asm = |source| RoundTripError::Asm {
            code: label.clone(),
            source,
        };
        let assembled = body.assemble().map_err(asm)?;
        for (what, new, old) in [
            ("co_code", &assembled.code, view.bytes(Field::Code)),
            (
                "line table",
                &assembled.line_table,
                view.bytes(Field::LineTable),
            ),
            (
                "exception table",
                &assembled.exc_table,
                view.bytes(Field::ExceptionTable).or(Some(&[][..])),
            ),
        ] {
            if Some(new.as_slice()) != old {
                return Err(RoundTripError::FieldDiffers {
                    code: label.clone(),
                    field: what,
                    old: old.unwrap_or_default().to_vec(),
                    new: new.clone(),
                });
            }
        }
        let depth = body.stack_depth().map_err(asm)?;
        let declared = view.ints().stacksize as u32;
        stats.code_objects += 1;
        if depth == declared {
            stats.depth_equal += 1;
        } else if depth < declared {
            stats.depth_below += 1;
            if stats.first_below.is_none() {
                stats.first_below = Some(format!("{label}: {depth} < {declared}"));
            }
        } else {
            return Err(RoundTripError::DepthExceeds {
                code: label,
                depth,
                declared,
            });
        }
        pyc.store(node, &body)?;
    }
    if pyc.write() != bytes {
        return Err(RoundTripError::FileNotIdentical);
    }
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_versions_are_named() {
        for (magic, version) in [
            (3394u16, "Python 3.7"),
            (3700, "Python 3.16"),
            (9999, "unknown"),
        ] {
            let mut bytes = magic.to_le_bytes().to_vec();
            bytes.extend_from_slice(b"\r\n");
            bytes.extend_from_slice(&[0; 12]);
            bytes.push(b'N');
            let e = Pyc::read(&bytes).unwrap_err();
            assert!(e.is_unsupported(), "{e}");
            let text = e.to_string();
            assert!(
                text.contains(version) && text.contains(&magic.to_string()),
                "{text}"
            );
        }
    }
}
