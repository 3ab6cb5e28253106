//! Disassembly: `co_code` plus line and exception tables into a [`Body`] of instructions
//! whose jumps, line entries and exception ranges refer to instructions (by [`Id`]) rather
//! than to offsets, so code can be inserted and the whole reassembled by [`super::asm`].
//!
//! The line table is decoded by [`super::linetable`] into byte offsets, the exception
//! table by [`super::exctable`] into code units; both are then anchored to instructions.
//!
//! Units: offsets here are code units (2 bytes). 3.8/3.9 jump arguments and line tables
//! count bytes; 3.10+ count code units (`Objects/lnotab_notes.txt`, `Objects/locations.md`,
//! `InternalDocs/exception_handling.md`).

use super::tables::{OpTable, flags};
use super::{exctable, linetable};

/// Stable name of an instruction (its index at disassembly; new ones get fresh numbers).
pub type Id = u32;

/// Stands for "the end of the code" where an anchor needs an instruction.
pub const END: Id = u32::MAX;

/// One instruction, EXTENDED_ARG prefixes folded in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instr {
    /// Stable id.
    pub id: Id,
    /// The opcode.
    pub op: u8,
    /// The full argument (EXTENDED_ARGs applied); for jumps, recomputed on assembly.
    pub arg: u32,
    /// Jump target.
    pub target: Option<Id>,
    /// Code units the instruction must at least take, prefixes included, caches excluded:
    /// the original size, so reassembly keeps CPython's redundant `EXTENDED_ARG 0`.
    pub min_units: u8,
}

/// A source location (3.11+ has all four parts; 3.8–3.10 only `line`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Location {
    /// Line, `None` for no location.
    pub line: Option<i32>,
    /// End line.
    pub end_line: Option<i32>,
    /// Start column (UTF-8 bytes).
    pub col: Option<i32>,
    /// End column.
    pub end_col: Option<i32>,
}

impl Location {
    /// A location with a line only (what 3.8–3.10 tables hold; the 3.11+ "no column" form).
    pub fn line(line: i32) -> Location {
        Location {
            line: Some(line),
            end_line: Some(line),
            col: None,
            end_col: None,
        }
    }
}

/// One entry of the line table: from `byte` bytes into instruction `anchor` on, the
/// location is `loc` (until the next entry). The offset is almost always 0; 3.8/3.9 tables
/// split long byte gaps into 255-byte steps, which can end inside an instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineEntry {
    /// The instruction the entry starts in ([`END`] for the end of the code).
    pub anchor: Id,
    /// Bytes into that instruction (0 almost always).
    pub byte: u32,
    /// The location.
    pub loc: Location,
}

/// One 3.11+ exception table entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExcEntry {
    /// First instruction covered.
    pub start: Id,
    /// First instruction after the range ([`END`] for the end of the code).
    pub end: Id,
    /// The handler.
    pub target: Id,
    /// Stack depth to pop to.
    pub depth: u32,
    /// Whether the offset of the raising instruction is pushed.
    pub lasti: bool,
}

/// A disassembled code object.
#[derive(Debug, Clone)]
pub struct Body {
    /// The opcode table of the version.
    pub table: &'static OpTable,
    /// `co_firstlineno`: the line tables count from it.
    pub firstlineno: i32,
    /// Instructions in code order.
    pub instrs: Vec<Instr>,
    /// Line table entries in code order.
    pub lines: Vec<LineEntry>,
    /// Exception table entries (3.11+), in table order.
    pub exc: Vec<ExcEntry>,
    /// Next free [`Id`].
    pub next_id: Id,
}

/// Why code could not be disassembled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bytecode offset {offset}: {message}")]
pub struct DisasmError {
    /// Byte offset in `co_code` (or in the table named by the message).
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

/// A decoding error at byte `offset` (of the code or of the table being read); shared by
/// the line-table and exception-table decoders.
pub(super) fn err(offset: usize, message: impl Into<String>) -> DisasmError {
    DisasmError {
        offset,
        message: message.into(),
    }
}

/// The byte of a line or exception table at `*pos`, advancing `*pos`; "table truncated"
/// past its end.
pub(super) fn table_byte(data: &[u8], pos: &mut usize) -> Result<u8, DisasmError> {
    let b = *data.get(*pos).ok_or_else(|| err(*pos, "table truncated"))?;
    *pos += 1;
    Ok(b)
}

impl Body {
    /// Whether jump arguments and line tables count bytes (3.8/3.9) rather than code units.
    pub fn byte_units(&self) -> bool {
        self.table.minor <= 9
    }

    /// Inline cache units after `op`.
    pub fn cache(&self, op: u8) -> u32 {
        u32::from(self.table.info(op).cache)
    }

    /// A fresh instruction id.
    pub fn new_id(&mut self) -> Id {
        self.next_id += 1;
        self.next_id - 1
    }

    /// Position of instruction `id` in [`Body::instrs`].
    pub fn position(&self, id: Id) -> Option<usize> {
        self.instrs.iter().position(|i| i.id == id)
    }

    /// Where each instruction is in [`Body::instrs`], by its [`Id`] (ids are stable across
    /// edits; positions are not, so take this after the last insertion).
    pub fn positions(&self) -> std::collections::HashMap<Id, usize> {
        self.instrs
            .iter()
            .enumerate()
            .map(|(i, ins)| (ins.id, i))
            .collect()
    }

    /// The location in effect at the start of each instruction, in instruction order
    /// (from the line entries; instructions before the first entry get `None` lines).
    pub fn locations(&self) -> Vec<Location> {
        let mut out = Vec::with_capacity(self.instrs.len());
        let mut entries = self.lines.iter().peekable();
        let mut current = Location::default();
        let index = self.positions();
        let pos = |e: &LineEntry| {
            (
                if e.anchor == END {
                    usize::MAX
                } else {
                    index[&e.anchor]
                },
                e.byte,
            )
        };
        for (i, _) in self.instrs.iter().enumerate() {
            while let Some(e) = entries.peek() {
                if pos(e) <= (i, 0) {
                    current = e.loc;
                    entries.next();
                } else {
                    break;
                }
            }
            out.push(current);
        }
        out
    }

    /// Disassembles one code object of CPython 3.`table.minor`.
    ///
    /// `line_table` is `co_lnotab` (3.8/3.9) or `co_linetable` (3.10+); `exc_table` is
    /// `co_exceptiontable` (3.11+, empty before). Errors name the offset: truncated
    /// EXTENDED_ARG, non-zero inline caches, a jump or table entry that does not land on an
    /// instruction, malformed tables.
    pub fn disassemble(
        table: &'static OpTable,
        code: &[u8],
        line_table: &[u8],
        exc_table: &[u8],
        firstlineno: i32,
    ) -> Result<Body, DisasmError> {
        if !code.len().is_multiple_of(2) {
            return Err(err(code.len(), "co_code has an odd length"));
        }
        let n_units = code.len() / 2;
        let ext_op = table.extended_arg;
        let mut instrs: Vec<Instr> = Vec::with_capacity(n_units);
        // For each instruction: first unit (prefixes included) and total units.
        let mut starts: Vec<u32> = Vec::with_capacity(n_units);
        let mut unit_owner: Vec<u32> = vec![0; n_units];
        let mut u = 0usize;
        while u < n_units {
            let start = u;
            let mut arg: u32 = 0;
            let mut prefixes = 0u32;
            loop {
                if u >= n_units {
                    return Err(err(2 * start, "EXTENDED_ARG at the end of the code"));
                }
                let (op, a) = (code[2 * u], code[2 * u + 1]);
                arg = (arg << 8) | u32::from(a);
                u += 1;
                if op == ext_op {
                    prefixes += 1;
                    if prefixes > 3 {
                        return Err(err(2 * start, "more than three EXTENDED_ARG prefixes"));
                    }
                    continue;
                }
                let info = table.info(op);
                if info.name.is_empty() {
                    return Err(err(2 * (u - 1), format!("unknown opcode {op}")));
                }
                let cache = usize::from(info.cache);
                if u + cache > n_units {
                    return Err(err(2 * (u - 1), "inline cache runs past the end"));
                }
                if code[2 * u..2 * (u + cache)].iter().any(|&b| b != 0) {
                    return Err(err(2 * u, "non-zero inline cache"));
                }
                u += cache;
                let index = instrs.len() as u32;
                for owner in &mut unit_owner[start..u] {
                    *owner = index;
                }
                starts.push(start as u32);
                instrs.push(Instr {
                    id: index,
                    op,
                    arg,
                    target: None,
                    min_units: (prefixes + 1) as u8,
                });
                break;
            }
        }
        let at_unit = |unit: usize| -> Option<Id> {
            if unit == n_units {
                return Some(END);
            }
            let owner = *unit_owner.get(unit)?;
            (starts[owner as usize] as usize == unit).then_some(owner)
        };
        let bytes = table.minor <= 9;
        // Jump targets.
        for (i, ins) in instrs.iter_mut().enumerate() {
            let info = table.info(ins.op);
            if !info.is_jump() {
                continue;
            }
            let start = starts[i] as usize;
            let next = start + usize::from(ins.min_units) + usize::from(info.cache);
            let arg = if bytes {
                if ins.arg % 2 != 0 {
                    return Err(err(2 * start, "odd jump argument"));
                }
                ins.arg as usize / 2
            } else {
                ins.arg as usize
            };
            let target = if info.has(flags::JABS) {
                Some(arg)
            } else if info.has(flags::BACKWARD) {
                next.checked_sub(arg)
            } else {
                Some(next + arg)
            };
            let target = target
                .and_then(at_unit)
                .filter(|&t| t != END)
                .ok_or_else(|| {
                    err(
                        2 * start,
                        format!("{} does not jump to an instruction", info.name),
                    )
                })?;
            ins.target = Some(target);
        }
        // (instruction, bytes into it) of a byte offset.
        let anchor = |byte: usize| -> Result<(Id, u32), DisasmError> {
            if byte == code.len() {
                return Ok((END, 0));
            }
            let owner = *unit_owner
                .get(byte / 2)
                .ok_or_else(|| err(byte, "line table points past the code"))?;
            Ok((owner, (byte - 2 * starts[owner as usize] as usize) as u32))
        };
        let mut lines = Vec::new();
        for e in linetable::decode(table.minor, line_table, firstlineno, code.len())? {
            let (a, byte) = anchor(e.offset as usize)?;
            lines.push(LineEntry {
                anchor: a,
                byte,
                loc: e.loc,
            });
        }
        let mut exc = Vec::new();
        if table.minor >= 11 {
            for entry in exctable::entries(exc_table) {
                let (at, e) = entry?;
                let bad = || err(at, "exception table entry does not match instructions");
                let start = at_unit(e.start as usize)
                    .filter(|&s| s != END)
                    .ok_or_else(bad)?;
                let end = at_unit(e.end as usize).ok_or_else(bad)?;
                let target = at_unit(e.target as usize)
                    .filter(|&t| t != END)
                    .ok_or_else(bad)?;
                if e.end <= e.start {
                    return Err(bad());
                }
                exc.push(ExcEntry {
                    start,
                    end,
                    target,
                    depth: e.depth,
                    lasti: e.lasti,
                });
            }
        }
        let next_id = instrs.len() as Id;
        Ok(Body {
            table,
            firstlineno,
            instrs,
            lines,
            exc,
            next_id,
        })
    }
}
