//! The control-flow graph of a [`Body`]: basic blocks with typed successor edges, and the
//! stack depth (`co_stacksize`) computed on it.
//!
//! A basic block is a run of instructions entered only at its first one and left only
//! after its last one. A block starts (is a *leader*) at the first instruction, at every
//! jump target, after every jump and every instruction that does not fall through
//! (returns, raises, unconditional jumps), at every exception handler, and where a 3.11+
//! exception table range starts or ends (so each block is wholly inside or outside every
//! range). Edges ([`EdgeKind`]): `Normal` to the next block when the last instruction falls
//! through, `Jump` to a jump's target, `Exception` to a handler: on 3.11+ from every block
//! an exception table range covers, on 3.8–3.10 from the `SETUP_*` instruction that pushes
//! the handler's block. The 3.14+ `END_ASYNC_FOR` has a jump argument only so that
//! monitoring knows its loop; control never goes there, so it has no edge.
//!
//! This follows CPython's own split (`Python/flowgraph.c` builds basic blocks and computes
//! the stack depth on them; `Python/assemble.c` lays them out).

use super::asm::AsmError;
use super::disasm::{Body, END, Id};
use super::tables::flags;

/// Deepest stack accepted; deeper means code whose loops grow the stack (not CPython's).
const MAX_STACK: i64 = 1 << 20;

/// How many times, on average, the stack-depth walk may visit an instruction.
const WALKS_PER_INSTRUCTION: usize = 8;

/// How control gets from one block to another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EdgeKind {
    /// Falling through into the next block.
    Normal,
    /// A taken jump.
    Jump,
    /// An exception raised in the block (3.11+), or in the block a `SETUP_*` sets up
    /// (3.8–3.10), going to its handler.
    Exception,
}

/// A successor edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Edge {
    /// How control goes there.
    pub kind: EdgeKind,
    /// The successor block (index into [`Cfg::blocks`]).
    pub to: usize,
}

/// A basic block: instructions `start..end` of [`Body::instrs`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// Position of the first instruction.
    pub start: usize,
    /// Position after the last instruction.
    pub end: usize,
    /// Successors, each (kind, block) once: `Normal` first, then `Jump`, then `Exception`
    /// edges in exception table order.
    pub succs: Vec<Edge>,
}

/// The control-flow graph of a body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cfg {
    /// Blocks in code order (block 0 is the entry when the body is not empty).
    pub blocks: Vec<Block>,
    /// Block of each instruction position.
    block_of: Vec<usize>,
    /// Position of each instruction id (`usize::MAX` for ids not in the body).
    pos_of_id: Vec<usize>,
}

impl Cfg {
    /// Builds the graph of `body`. Errors when a jump or exception table entry refers to an
    /// instruction that is not in the body.
    pub fn build(body: &Body) -> Result<Cfg, AsmError> {
        let n = body.instrs.len();
        let mut pos_of_id = vec![usize::MAX; body.next_id as usize];
        for (i, ins) in body.instrs.iter().enumerate() {
            pos_of_id[ins.id as usize] = i;
        }
        // Position of an instruction; `bound` also takes END (position `n`).
        let pos = |id: Id| -> Result<usize, AsmError> {
            pos_of_id
                .get(id as usize)
                .copied()
                .filter(|&p| p != usize::MAX)
                .ok_or_else(|| AsmError("reference to a missing instruction".into()))
        };
        let bound = |id: Id| if id == END { Ok(n) } else { pos(id) };
        let no_edge = body
            .table
            .op("END_ASYNC_FOR")
            .filter(|&op| body.table.info(op).is_jump());
        let mut leader = vec![false; n + 1];
        leader[0] = true;
        for (i, ins) in body.instrs.iter().enumerate() {
            let info = body.table.info(ins.op);
            if let Some(target) = ins.target {
                leader[pos(target)?] = true;
                leader[i + 1] = true;
            }
            if info.has(flags::NO_FALLTHROUGH) {
                leader[i + 1] = true;
            }
        }
        let mut ranges = Vec::with_capacity(body.exc.len());
        for e in &body.exc {
            let target = pos(e.target)?;
            let (start, end) = (bound(e.start)?, bound(e.end)?);
            leader[start] = true;
            leader[end] = true;
            leader[target] = true;
            ranges.push((start, end, target));
        }
        let mut blocks = Vec::new();
        let mut block_of = vec![0; n];
        for i in 0..n {
            if leader[i] {
                blocks.push(Block {
                    start: i,
                    end: i,
                    succs: Vec::new(),
                });
            }
            let b = blocks.len() - 1;
            blocks[b].end = i + 1;
            block_of[i] = b;
        }
        for b in 0..blocks.len() {
            let last = &body.instrs[blocks[b].end - 1];
            let info = body.table.info(last.op);
            let mut succs = Vec::new();
            if !info.has(flags::NO_FALLTHROUGH) && b + 1 < blocks.len() {
                succs.push(Edge {
                    kind: EdgeKind::Normal,
                    to: b + 1,
                });
            }
            if let Some(target) = last.target
                && Some(last.op) != no_edge
            {
                let kind = if info.has(flags::BLOCK_SETUP) {
                    EdgeKind::Exception
                } else {
                    EdgeKind::Jump
                };
                succs.push(Edge {
                    kind,
                    to: block_of[pos(target)?],
                });
            }
            for &(start, end, target) in &ranges {
                let edge = Edge {
                    kind: EdgeKind::Exception,
                    to: block_of[target],
                };
                if start <= blocks[b].start && blocks[b].end <= end && !succs.contains(&edge) {
                    succs.push(edge);
                }
            }
            blocks[b].succs = succs;
        }
        Ok(Cfg {
            blocks,
            block_of,
            pos_of_id,
        })
    }

    fn block_of_id(&self, id: Id) -> usize {
        self.block_of[self.pos_of_id[id as usize]]
    }

    /// The stack depth `body` (the body this graph was built from) needs
    /// (`co_stacksize`): every reachable block is walked with its entry depth, again
    /// whenever it is reached with a deeper one; jumps carry the depth of the taken branch,
    /// 3.11+ handlers start at their table depth + 1 (+1 with lasti). As CPython computes
    /// it, the targets of 3.8's `CALL_FINALLY` and 3.14+'s `END_ASYNC_FOR` are not followed
    /// (their depth still counts toward the maximum).
    ///
    /// Errors: an opcode without a known stack effect, a stack underflow, a depth growing
    /// past 2^20 (code whose loops grow the stack).
    pub fn stack_depth(&self, body: &Body) -> Result<u32, AsmError> {
        let call_finally = body.table.op("CALL_FINALLY");
        // 3.14+ END_ASYNC_FOR "jumps" back to its loop's END_SEND only so that monitoring
        // knows the branch source (`JUMPBY(0)`): control never goes there.
        let end_async_for = body
            .table
            .op("END_ASYNC_FOR")
            .filter(|&op| body.table.info(op).is_jump());
        // RETURN_GENERATOR (3.11+) returns the new generator; the frame resumes after it
        // with the first sent value on the stack, which the following POP_TOP drops.
        let return_generator = body.table.op("RETURN_GENERATOR");
        // GEN_START (3.10) drops the first sent value, which the compiler does not count.
        let gen_start = body.table.op("GEN_START");
        // On 3.13 RETURN_CONST is LOAD_CONST + RETURN_VALUE fused after CPython computed the
        // depth: count its momentary push as that compiler does (3.12 does not).
        let return_const = body
            .table
            .op("RETURN_CONST")
            .filter(|_| body.table.minor >= 13);
        // Deepest entry depth each block was walked with (-1: not yet).
        let mut seen = vec![-1i64; self.blocks.len()];
        // A block is walked again only when entered deeper than before. In code a compiler
        // made, that happens a few times at most (3.8-3.10 `finally` blocks are entered at
        // two depths); code whose loops deepen the stack on every pass would be walked once
        // per level up to MAX_STACK: a budget of walked instructions stops it.
        let mut budget = body
            .instrs
            .len()
            .saturating_mul(WALKS_PER_INSTRUCTION)
            .saturating_add(64);
        let mut work: Vec<(usize, i64)> = Vec::new();
        if !self.blocks.is_empty() {
            work.push((0, 0));
        }
        let mut max = 0i64;
        for e in &body.exc {
            let d = i64::from(e.depth) + 1 + i64::from(e.lasti);
            max = max.max(d);
            work.push((self.block_of_id(e.target), d));
        }
        while let Some((mut b, mut depth)) = work.pop() {
            'blocks: loop {
                if seen[b] >= depth {
                    break;
                }
                seen[b] = depth;
                let block = &self.blocks[b];
                budget = budget.checked_sub(block.end - block.start).ok_or_else(|| {
                    AsmError(format!(
                        "stack depth does not settle (instruction {} reached ever deeper)",
                        block.start
                    ))
                })?;
                for p in block.start..block.end {
                    let ins = &body.instrs[p];
                    let info = body.table.info(ins.op);
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
                            work.push((self.block_of_id(target), d));
                        }
                    }
                    if info.has(flags::NO_FALLTHROUGH) {
                        break 'blocks;
                    }
                    depth = new;
                }
                if b + 1 == self.blocks.len() {
                    break;
                }
                b += 1;
            }
        }
        u32::try_from(max).map_err(|_| AsmError("stack depth out of range".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bytecode::disasm::{ExcEntry, Instr};
    use crate::bytecode::tables::OpTable;

    /// A body of CPython 3.`minor` from (opcode name, jump target position) pairs; ids are
    /// positions.
    fn body(minor: u8, code: &[(&str, Option<u32>)], exc: Vec<ExcEntry>) -> Body {
        let table = OpTable::for_minor(minor).unwrap();
        let instrs = code
            .iter()
            .enumerate()
            .map(|(i, &(name, target))| Instr {
                id: i as Id,
                op: table.op(name).unwrap_or_else(|| panic!("{name}")),
                arg: 0,
                target,
                min_units: 1,
            })
            .collect();
        Body {
            table,
            firstlineno: 1,
            instrs,
            lines: Vec::new(),
            exc,
            next_id: code.len() as Id,
        }
    }

    /// A block as (start, end, successors as (kind, block)).
    type Shape = (usize, usize, Vec<(EdgeKind, usize)>);

    fn edges(cfg: &Cfg) -> Vec<Shape> {
        cfg.blocks
            .iter()
            .map(|b| {
                (
                    b.start,
                    b.end,
                    b.succs.iter().map(|e| (e.kind, e.to)).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn branches() {
        // if c: return c
        // return c
        let b = body(
            12,
            &[
                ("LOAD_CONST", None),
                ("POP_JUMP_IF_FALSE", Some(4)),
                ("LOAD_CONST", None),
                ("RETURN_VALUE", None),
                ("LOAD_CONST", None),
                ("RETURN_VALUE", None),
            ],
            Vec::new(),
        );
        let cfg = Cfg::build(&b).unwrap();
        use EdgeKind::*;
        assert_eq!(
            edges(&cfg),
            [
                (0, 2, vec![(Normal, 1), (Jump, 2)]),
                (2, 4, vec![]),
                (4, 6, vec![]),
            ]
        );
        assert_eq!(cfg.block_of[3], 1);
        assert_eq!(cfg.stack_depth(&b).unwrap(), 1);
        assert_eq!(b.stack_depth().unwrap(), 1);
    }

    #[test]
    fn loops_settle() {
        let b = body(
            12,
            &[
                ("NOP", None),
                ("LOAD_CONST", None),
                ("POP_TOP", None),
                ("JUMP_BACKWARD", Some(1)),
            ],
            Vec::new(),
        );
        let cfg = Cfg::build(&b).unwrap();
        use EdgeKind::*;
        assert_eq!(
            edges(&cfg),
            [(0, 1, vec![(Normal, 1)]), (1, 4, vec![(Jump, 1)])]
        );
        assert_eq!(cfg.stack_depth(&b).unwrap(), 1);
        // A loop that pushes on every turn never settles.
        let b = body(
            12,
            &[("LOAD_CONST", None), ("JUMP_BACKWARD", Some(0))],
            Vec::new(),
        );
        let e = Cfg::build(&b).unwrap().stack_depth(&b).unwrap_err();
        assert!(e.0.contains("does not settle"), "{e}");
    }

    #[test]
    fn exception_table_ranges_split_blocks() {
        // try: <1, 2> except: PUSH_EXC_INFO; POP_EXCEPT; RERAISE 1 (lasti pushed)
        let b = body(
            12,
            &[
                ("NOP", None),
                ("LOAD_CONST", None),
                ("POP_TOP", None),
                ("LOAD_CONST", None),
                ("RETURN_VALUE", None),
                ("PUSH_EXC_INFO", None),
                ("POP_EXCEPT", None),
                ("RERAISE", None),
            ],
            vec![ExcEntry {
                start: 1,
                end: 3,
                target: 5,
                depth: 0,
                lasti: true,
            }],
        );
        let cfg = Cfg::build(&b).unwrap();
        use EdgeKind::*;
        assert_eq!(
            edges(&cfg),
            [
                (0, 1, vec![(Normal, 1)]),
                (1, 3, vec![(Normal, 2), (Exception, 3)]),
                (3, 5, vec![]),
                (5, 8, vec![]),
            ]
        );
        // The handler starts at depth 0 + exception + lasti = 2, PUSH_EXC_INFO makes 3.
        assert_eq!(cfg.stack_depth(&b).unwrap(), 3);
    }

    #[test]
    fn setup_blocks_are_exception_edges() {
        // 3.8: SETUP_FINALLY pushes the handler, which starts 6 deep.
        let b = body(
            8,
            &[
                ("SETUP_FINALLY", Some(4)),
                ("POP_BLOCK", None),
                ("LOAD_CONST", None),
                ("RETURN_VALUE", None),
                ("POP_TOP", None),
                ("POP_TOP", None),
                ("POP_TOP", None),
                ("LOAD_CONST", None),
                ("RETURN_VALUE", None),
            ],
            Vec::new(),
        );
        let cfg = Cfg::build(&b).unwrap();
        use EdgeKind::*;
        assert_eq!(
            edges(&cfg),
            [
                (0, 1, vec![(Normal, 1), (Exception, 2)]),
                (1, 4, vec![]),
                (4, 9, vec![]),
            ]
        );
        assert_eq!(cfg.stack_depth(&b).unwrap(), 6);
    }

    #[test]
    fn errors() {
        let b = body(12, &[("JUMP_FORWARD", Some(7))], Vec::new());
        assert_eq!(
            Cfg::build(&b).unwrap_err().0,
            "reference to a missing instruction"
        );
        let b = body(12, &[("POP_TOP", None)], Vec::new());
        let e = Cfg::build(&b).unwrap().stack_depth(&b).unwrap_err();
        assert_eq!(e.0, "stack underflow at POP_TOP (instruction 0)");
    }
}
