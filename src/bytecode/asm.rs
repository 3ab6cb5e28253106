//! Assembly of a [`Body`] back into `co_code`, the line table and the exception table; the
//! stack depth comes from its control-flow graph ([`super::cfg`]).
//!
//! Jump arguments depend on offsets, which depend on how many EXTENDED_ARG prefixes the
//! arguments need: sizes start at each instruction's original size and only grow, until
//! no size changes (a fixpoint reached in a few rounds). The line table and the exception
//! table are encoded by [`super::linetable`] and [`super::exctable`] from the offsets of
//! that layout, the way CPython writes them, so an unmodified body gives back the original
//! bytes.

use super::cfg::Cfg;
use super::disasm::{Body, END, Id};
use super::tables::flags;
use super::{exctable, linetable};

/// The assembled tables of a code object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assembled {
    /// `co_code`.
    pub code: Vec<u8>,
    /// `co_lnotab` (3.8/3.9) or `co_linetable`.
    pub line_table: Vec<u8>,
    /// `co_exceptiontable` (empty before 3.11).
    pub exc_table: Vec<u8>,
}

/// Why a body could not be assembled or analysed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct AsmError(pub String);

/// Code units an argument needs (1 plus its EXTENDED_ARG prefixes).
fn units_for(arg: u32) -> u32 {
    match arg {
        0..=0xff => 1,
        0x100..=0xffff => 2,
        0x1_0000..=0xff_ffff => 3,
        _ => 4,
    }
}

/// Offsets of an assembled body.
struct Layout {
    /// Per instruction (in order): units without caches, start unit, argument.
    units: Vec<u32>,
    starts: Vec<u32>,
    args: Vec<u32>,
    /// Start unit of each id (`u32::MAX` for ids not in the body).
    start_of_id: Vec<u32>,
    /// Total code units.
    total: u32,
}

impl Layout {
    fn of(&self, id: Id) -> u32 {
        if id == END {
            self.total
        } else {
            self.start_of_id[id as usize]
        }
    }
}

impl Body {
    fn layout(&self) -> Result<Layout, AsmError> {
        let n = self.instrs.len();
        let mut units: Vec<u32> = self
            .instrs
            .iter()
            .map(|i| u32::from(i.min_units).max(units_for(i.arg)))
            .collect();
        let mut args: Vec<u32> = self.instrs.iter().map(|i| i.arg).collect();
        let mut starts = vec![0u32; n];
        let mut start_of_id = vec![u32::MAX; self.next_id as usize];
        let scale = if self.byte_units() { 2 } else { 1 };
        for _round in 0..64 {
            let mut at = 0u32;
            for (i, ins) in self.instrs.iter().enumerate() {
                starts[i] = at;
                start_of_id[ins.id as usize] = at;
                at += units[i] + self.cache(ins.op);
            }
            let mut changed = false;
            for (i, ins) in self.instrs.iter().enumerate() {
                let Some(target) = ins.target else { continue };
                let t = start_of_id
                    .get(target as usize)
                    .copied()
                    .filter(|&t| t != u32::MAX)
                    .ok_or_else(|| {
                        AsmError(format!("jump at instruction {i} to a missing instruction"))
                    })?;
                let info = self.table.info(ins.op);
                let next = starts[i] + units[i] + self.cache(ins.op);
                let arg = if info.has(flags::JABS) {
                    t * scale
                } else if info.has(flags::BACKWARD) {
                    next.checked_sub(t).ok_or_else(|| {
                        AsmError(format!("{} at unit {} jumps forward", info.name, starts[i]))
                    })? * scale
                } else {
                    t.checked_sub(next).ok_or_else(|| {
                        AsmError(format!(
                            "{} at unit {} jumps backward",
                            info.name, starts[i]
                        ))
                    })? * scale
                };
                args[i] = arg;
                let need = units_for(arg);
                if need > units[i] {
                    units[i] = need;
                    changed = true;
                }
            }
            if !changed {
                return Ok(Layout {
                    units,
                    starts,
                    args,
                    start_of_id,
                    total: at,
                });
            }
        }
        Err(AsmError("jump sizes do not settle".into()))
    }

    /// Assembles the body. Errors when a jump or table entry refers to an instruction that
    /// is not in the body, a jump goes the wrong way for its opcode, or the line table
    /// cannot express a location.
    pub fn assemble(&self) -> Result<Assembled, AsmError> {
        let layout = self.layout()?;
        let mut code = Vec::with_capacity(layout.total as usize * 2);
        let ext = self.table.extended_arg;
        for (i, ins) in self.instrs.iter().enumerate() {
            let units = layout.units[i];
            let arg = layout.args[i];
            for k in (1..units).rev() {
                code.push(ext);
                code.push(((arg >> (8 * k)) & 0xff) as u8);
            }
            code.push(ins.op);
            code.push((arg & 0xff) as u8);
            for _ in 0..self.cache(ins.op) {
                code.extend_from_slice(&[0, 0]);
            }
        }
        let line_table = self.line_table(&layout)?;
        let exc_table = self.exc_table(&layout)?;
        Ok(Assembled {
            code,
            line_table,
            exc_table,
        })
    }

    /// Byte offset of every line entry, checked to be in order.
    fn line_offsets(&self, layout: &Layout) -> Result<Vec<u32>, AsmError> {
        let mut pos_of_id = vec![usize::MAX; self.next_id as usize];
        for (i, ins) in self.instrs.iter().enumerate() {
            pos_of_id[ins.id as usize] = i;
        }
        let mut out = Vec::with_capacity(self.lines.len());
        let mut last = 0;
        for e in &self.lines {
            let off = if e.anchor == END {
                2 * layout.total
            } else {
                let p = *pos_of_id
                    .get(e.anchor as usize)
                    .filter(|&&p| p != usize::MAX)
                    .ok_or_else(|| AsmError("line entry for a missing instruction".into()))?;
                let size = layout.units[p] + self.cache(self.instrs[p].op);
                2 * layout.starts[p] + e.byte.min(2 * size)
            };
            if off < last {
                return Err(AsmError("line entries out of order".into()));
            }
            last = off;
            out.push(off);
        }
        Ok(out)
    }

    fn line_table(&self, layout: &Layout) -> Result<Vec<u8>, AsmError> {
        let offs = self.line_offsets(layout)?;
        let entries: Vec<linetable::Entry> = self
            .lines
            .iter()
            .zip(offs)
            .map(|(e, offset)| linetable::Entry { offset, loc: e.loc })
            .collect();
        linetable::encode(
            self.table.minor,
            &entries,
            self.firstlineno,
            2 * layout.total,
        )
    }

    fn exc_table(&self, layout: &Layout) -> Result<Vec<u8>, AsmError> {
        let mut out = Vec::with_capacity(self.exc.len() * 4);
        for e in &self.exc {
            let known = |id: Id| {
                id == END
                    || layout
                        .start_of_id
                        .get(id as usize)
                        .is_some_and(|&s| s != u32::MAX)
            };
            if !known(e.start) || !known(e.end) || !known(e.target) {
                return Err(AsmError("exception entry for a missing instruction".into()));
            }
            let entry = exctable::Entry {
                start: layout.of(e.start),
                end: layout.of(e.end),
                target: layout.of(e.target),
                depth: e.depth,
                lasti: e.lasti,
            };
            exctable::write_entry(&mut out, &entry)?;
        }
        Ok(out)
    }

    /// The stack depth the code needs (`co_stacksize`), computed on its control-flow graph
    /// ([`Cfg::stack_depth`]). Errors as [`Cfg::build`] and [`Cfg::stack_depth`] do.
    pub fn stack_depth(&self) -> Result<u32, AsmError> {
        Cfg::build(self)?.stack_depth(self)
    }
}
