//! Assembly of a [`Body`] back into `co_code`, the line table and the exception table, and
//! the stack depth computed from the control-flow graph.
//!
//! Jump arguments depend on offsets, which depend on how many EXTENDED_ARG prefixes the
//! arguments need: sizes start at each instruction's original size and only grow, until
//! no size changes (a fixpoint reached in a few rounds). Tables are written the way CPython
//! writes them (`Python/compile.c` 3.8–3.10 `assemble_lnotab`/`assemble_line_range`,
//! `Python/assemble.c` 3.11+ `write_location_info_entry`,
//! `assemble_emit_exception_table_entry`), so an unmodified body gives back the original
//! bytes.

use std::fmt;

use super::disasm::{Body, END, Id, Location};
use super::tables::flags;

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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsmError(pub String);

impl fmt::Display for AsmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for AsmError {}

/// Deepest stack accepted; deeper means code whose loops grow the stack (not CPython's).
const MAX_STACK: i64 = 1 << 20;

/// How many times, on average, the stack-depth walk may visit an instruction.
const WALKS_PER_INSTRUCTION: usize = 8;

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
        let mut out = Vec::with_capacity(self.lines.len() * 2);
        match self.table.minor {
            8 | 9 => {
                let mut prev_off = 0u32;
                let mut prev_line = self.firstlineno;
                for (e, &off) in self.lines.iter().zip(&offs) {
                    let line = e.loc.line.unwrap_or(prev_line);
                    let mut bdelta = off - prev_off;
                    let mut ldelta = line - prev_line;
                    while bdelta > 255 {
                        out.extend_from_slice(&[255, 0]);
                        bdelta -= 255;
                    }
                    while ldelta > 127 {
                        out.extend_from_slice(&[bdelta as u8, 127]);
                        bdelta = 0;
                        ldelta -= 127;
                    }
                    while ldelta < -128 {
                        out.extend_from_slice(&[bdelta as u8, (-128i8) as u8]);
                        bdelta = 0;
                        ldelta += 128;
                    }
                    out.extend_from_slice(&[bdelta as u8, (ldelta as i8) as u8]);
                    prev_off = off;
                    prev_line = line;
                }
            }
            10 => {
                let mut prev_line = self.firstlineno;
                for (k, e) in self.lines.iter().enumerate() {
                    let end = offs.get(k + 1).copied().unwrap_or(2 * layout.total);
                    let mut bdelta = end - offs[k];
                    if bdelta == 0 {
                        continue;
                    }
                    let mut ldelta = match e.loc.line {
                        None => -128,
                        Some(line) => {
                            let mut d = line - prev_line;
                            prev_line = line;
                            while d > 127 {
                                out.extend_from_slice(&[0, 127]);
                                d -= 127;
                            }
                            while d < -127 {
                                out.extend_from_slice(&[0, (-127i8) as u8]);
                                d += 127;
                            }
                            d
                        }
                    };
                    while bdelta > 254 {
                        out.extend_from_slice(&[254, (ldelta as i8) as u8]);
                        ldelta = if e.loc.line.is_none() { -128 } else { 0 };
                        bdelta -= 254;
                    }
                    out.extend_from_slice(&[bdelta as u8, (ldelta as i8) as u8]);
                }
            }
            _ => {
                let mut prev_line = i64::from(self.firstlineno);
                for (k, e) in self.lines.iter().enumerate() {
                    let end = offs.get(k + 1).copied().unwrap_or(2 * layout.total);
                    let mut len = (end - offs[k]) / 2;
                    while len > 0 {
                        let chunk = len.min(8);
                        write_location(&mut out, &e.loc, chunk, &mut prev_line)?;
                        len -= chunk;
                    }
                }
            }
        }
        Ok(out)
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
            let (start, end) = (layout.of(e.start), layout.of(e.end));
            if end <= start {
                return Err(AsmError(format!("empty exception range at unit {start}")));
            }
            exc_varint(&mut out, start, 0x80);
            exc_varint(&mut out, end - start, 0);
            exc_varint(&mut out, layout.of(e.target), 0);
            exc_varint(&mut out, e.depth << 1 | u32::from(e.lasti), 0);
        }
        Ok(out)
    }

    /// The stack depth the code needs (`co_stacksize`), from the control-flow graph: every
    /// reachable instruction is visited with its entry depth; jumps carry the depth of the
    /// taken branch, 3.11+ handlers start at their table depth + 1 (+1 with lasti).
    pub fn stack_depth(&self) -> Result<u32, AsmError> {
        let n = self.instrs.len();
        let mut pos_of_id = vec![usize::MAX; self.next_id as usize];
        for (i, ins) in self.instrs.iter().enumerate() {
            pos_of_id[ins.id as usize] = i;
        }
        let pos = |id: Id| -> Result<usize, AsmError> {
            pos_of_id
                .get(id as usize)
                .copied()
                .filter(|&p| p != usize::MAX)
                .ok_or_else(|| AsmError("reference to a missing instruction".into()))
        };
        let call_finally = self.table.op("CALL_FINALLY");
        // 3.14+ END_ASYNC_FOR "jumps" back to its loop's END_SEND only so that monitoring
        // knows the branch source (`JUMPBY(0)`): control never goes there.
        let end_async_for = self
            .table
            .op("END_ASYNC_FOR")
            .filter(|&op| self.table.info(op).is_jump());
        // RETURN_GENERATOR (3.11+) returns the new generator; the frame resumes after it
        // with the first sent value on the stack, which the following POP_TOP drops.
        let return_generator = self.table.op("RETURN_GENERATOR");
        // GEN_START (3.10) drops the first sent value, which the compiler does not count.
        let gen_start = self.table.op("GEN_START");
        // On 3.13 RETURN_CONST is LOAD_CONST + RETURN_VALUE fused after CPython computed the
        // depth: count its momentary push as that compiler does (3.12 does not).
        let return_const = self
            .table
            .op("RETURN_CONST")
            .filter(|_| self.table.minor >= 13);
        let mut seen = vec![-1i64; n];
        // An instruction is walked again only when reached deeper than before. In code a
        // compiler made, that happens a few times at most (3.8-3.10 `finally` blocks are
        // entered at two depths); code whose loops deepen the stack on every pass would be
        // walked once per level up to MAX_STACK: a budget of walked instructions stops it.
        let mut budget = n.saturating_mul(WALKS_PER_INSTRUCTION).saturating_add(64);
        let mut work: Vec<(usize, i64)> = vec![(0, 0)];
        let mut max = 0i64;
        for e in &self.exc {
            let d = i64::from(e.depth) + 1 + i64::from(e.lasti);
            max = max.max(d);
            work.push((pos(e.target)?, d));
        }
        while let Some((mut p, mut depth)) = work.pop() {
            while p < n {
                if seen[p] >= depth {
                    break;
                }
                if budget == 0 {
                    return Err(AsmError(format!(
                        "stack depth does not settle (instruction {p} reached ever deeper)"
                    )));
                }
                budget -= 1;
                seen[p] = depth;
                let ins = &self.instrs[p];
                let info = self.table.info(ins.op);
                let effect = if Some(ins.op) == return_generator {
                    1
                } else if Some(ins.op) == gen_start {
                    0
                } else {
                    info.effect.at(ins.arg).ok_or_else(|| {
                        AsmError(format!(
                            "no stack effect known for {} {}",
                            info.name, ins.arg
                        ))
                    })?
                };
                let new = depth + i64::from(effect);
                if new < 0 {
                    return Err(AsmError(format!(
                        "stack underflow at {} (instruction {p})",
                        info.name
                    )));
                }
                max = max.max(new);
                if max > MAX_STACK {
                    return Err(AsmError(format!(
                        "stack depth grows without bound (past {MAX_STACK}) at {} (instruction {p})",
                        info.name
                    )));
                }
                if Some(ins.op) == return_const {
                    max = max.max(depth + 1);
                }
                if let Some(target) = ins.target {
                    let jump = info.jump_effect.at(ins.arg).ok_or_else(|| {
                        AsmError(format!("no jump stack effect for {}", info.name))
                    })?;
                    let d = depth + i64::from(jump);
                    max = max.max(d);
                    if Some(ins.op) != call_finally && Some(ins.op) != end_async_for {
                        work.push((pos(target)?, d));
                    }
                }
                if info.has(flags::NO_FALLTHROUGH) {
                    break;
                }
                depth = new;
                p += 1;
            }
        }
        u32::try_from(max).map_err(|_| AsmError("stack depth out of range".into()))
    }
}

fn varint(out: &mut Vec<u8>, mut v: u32) {
    while v >= 64 {
        out.push(64 | (v & 63) as u8);
        v >>= 6;
    }
    out.push(v as u8);
}

fn svarint(out: &mut Vec<u8>, v: i64) {
    let u = if v < 0 { ((-v) << 1) | 1 } else { v << 1 };
    varint(out, u as u32);
}

fn exc_varint(out: &mut Vec<u8>, v: u32, mut msb: u8) {
    for shift in [24, 18, 12, 6] {
        if v >= 1 << shift {
            out.push(((v >> shift) & 63) as u8 | 64 | msb);
            msb = 0;
        }
    }
    out.push((v & 63) as u8 | msb);
}

/// One 3.11+ location entry of `len` (1..=8) code units, in the form CPython picks.
fn write_location(
    out: &mut Vec<u8>,
    loc: &Location,
    len: u32,
    prev_line: &mut i64,
) -> Result<(), AsmError> {
    let head = |code: u8| 0x80 | (code << 3) | (len - 1) as u8;
    let Some(line) = loc.line else {
        out.push(head(15));
        return Ok(());
    };
    let line = i64::from(line);
    let delta = line - *prev_line;
    let col = loc.col.map_or(-1, i64::from);
    let end_col = loc.end_col.map_or(-1, i64::from);
    let end_line = loc.end_line.map_or(-1, i64::from);
    if col < 0 || end_col < 0 {
        if end_line == line || end_line == -1 {
            out.push(head(13));
            svarint(out, delta);
            *prev_line = line;
            return Ok(());
        }
    } else if end_line == line {
        if delta == 0 && col < 80 && end_col - col < 16 && end_col >= col {
            out.push(head((col / 8) as u8));
            out.push((((col % 8) << 4) | (end_col - col)) as u8);
            return Ok(());
        }
        if (0..3).contains(&delta) && col < 128 && end_col < 128 {
            out.push(head(10 + delta as u8));
            out.push(col as u8);
            out.push(end_col as u8);
            *prev_line = line;
            return Ok(());
        }
    }
    if end_line < line {
        return Err(AsmError(format!(
            "location ends (line {end_line}) before it starts (line {line})"
        )));
    }
    out.push(head(14));
    svarint(out, delta);
    varint(out, (end_line - line) as u32);
    varint(out, (col + 1) as u32);
    varint(out, (end_col + 1) as u32);
    *prev_line = line;
    Ok(())
}
