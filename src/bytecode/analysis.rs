//! Control-flow analysis of the code objects of a `.pyc`: the basic blocks and edges of
//! [`super::cfg::Cfg`] (the graph the injector uses), with byte offsets, opcode names,
//! arguments and lines, and on them the depth-first orders, dominators, post-dominators and
//! dominance frontiers of [`super::dominators`]. Serialized as the `code_objects` of the
//! `equip-cfg/1` JSON document (`docs/cfg.md`).
//!
//! Offsets are bytes into `co_code`, as `dis` shows them: an instruction's `offset` is that
//! of its opcode, after its `EXTENDED_ARG` prefixes (which `dis` lists as instructions of
//! their own and this analysis folds into the instruction they extend); inline caches
//! (3.11+) belong to the instruction before them.

use std::collections::HashMap;

use serde::Serialize;

use super::cfg::{Cfg, EdgeKind};
use super::code::{CodeView, Scope};
use super::disasm::{Body, END, Id};
use super::dominators::{Dominators, post_dominators, reverse_with_exit};
use super::inject::walk;
use super::tables::flags;
use super::{Pyc, PycError};

/// One instruction of a block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FlowInstruction {
    /// Byte offset of the opcode in `co_code` (`dis`'s `offset`).
    pub offset: u32,
    /// `EXTENDED_ARG` prefixes before it (at the 2-byte units just before `offset`).
    pub extended_args: u8,
    /// `dis`'s opname.
    pub opname: &'static str,
    /// The full argument (prefixes applied), `None` for an opcode without one.
    pub arg: Option<u32>,
    /// For a jump (or a 3.8–3.10 `SETUP_*`), the byte offset where control lands: the first
    /// prefix of the target instruction (`dis`'s `argval` of a jump).
    pub target: Option<u32>,
    /// The source line in effect at the instruction (`None`: no line).
    pub line: Option<i32>,
}

/// How control goes along an edge, as JSON names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FlowEdgeKind {
    /// Falling through to the next block.
    Normal,
    /// A taken jump.
    Jump,
    /// To an exception handler.
    Exception,
}

impl From<EdgeKind> for FlowEdgeKind {
    fn from(kind: EdgeKind) -> Self {
        match kind {
            EdgeKind::Normal => FlowEdgeKind::Normal,
            EdgeKind::Jump => FlowEdgeKind::Jump,
            EdgeKind::Exception => FlowEdgeKind::Exception,
        }
    }
}

/// An edge between two blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FlowEdge {
    /// The block control leaves.
    pub from: usize,
    /// The block control enters.
    pub to: usize,
    /// How.
    pub kind: FlowEdgeKind,
}

/// A basic block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FlowBlock {
    /// Index in [`CodeFlow::blocks`] (code order).
    pub index: usize,
    /// Byte offset of its first code unit (an `EXTENDED_ARG` prefix, if any).
    pub start: u32,
    /// Byte offset after its last instruction and that instruction's inline caches.
    pub end: u32,
    /// The instructions, in code order.
    pub instructions: Vec<FlowInstruction>,
}

/// The depth-first orders from the entry block (unreachable blocks are in none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Traversals {
    /// Blocks in the order the search first reaches them.
    pub preorder: Vec<usize>,
    /// Blocks in the order the search finishes them.
    pub postorder: Vec<usize>,
    /// The reverse of `postorder`.
    pub reverse_postorder: Vec<usize>,
}

/// Dominators of the blocks from the entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct DominatorInfo {
    /// Immediate dominator of each block; `None` for the entry and unreachable blocks.
    pub idom: Vec<Option<usize>>,
    /// Children of each block in the dominator tree, ascending.
    pub tree: Vec<Vec<usize>>,
    /// Dominance frontier of each block, ascending.
    pub frontiers: Vec<Vec<usize>>,
}

/// Post-dominators: dominators of the reverse graph from a virtual exit block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct PostDominatorInfo {
    /// The number standing for the virtual exit (the number of blocks); its reverse edges
    /// go to every block without successors.
    pub exit: usize,
    /// Immediate post-dominator of each block (`exit` for a block only the exit
    /// post-dominates); `None` for a block from which no exit can be reached.
    pub ipdom: Vec<Option<usize>>,
    /// Children of each block, then of the exit (one more entry than blocks), in the
    /// post-dominator tree, ascending.
    pub tree: Vec<Vec<usize>>,
    /// Post-dominance frontier of each block (the dominance frontier on the reverse graph),
    /// ascending.
    pub frontiers: Vec<Vec<usize>>,
    /// Blocks from which no exit can be reached (endless loops), ascending.
    pub no_exit: Vec<usize>,
}

/// The control-flow analysis of one code object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CodeFlow {
    /// `co_qualname` (reconstructed on 3.8–3.10 as CPython spells it: `C.m`,
    /// `f.<locals>.g`, `f.<locals>.<lambda>`); `<module>` for the module body.
    pub qualname: String,
    /// `co_name`.
    pub name: String,
    /// `module`, `class`, `function`, `lambda`, `comprehension`, `annotate` (3.14+
    /// `__annotate__`) or `other` (type-parameter scopes and other compiler-made ones).
    pub kind: &'static str,
    /// `co_firstlineno`.
    pub firstlineno: i32,
    /// The basic blocks in code order.
    pub blocks: Vec<FlowBlock>,
    /// Every edge, by source block, then normal, jump, exception (handlers in exception
    /// table order).
    pub edges: Vec<FlowEdge>,
    /// The entry block (`None` only for an empty body).
    pub entry: Option<usize>,
    /// Blocks the entry cannot reach, ascending.
    pub unreachable: Vec<usize>,
    /// Depth-first orders.
    pub traversal: Traversals,
    /// Dominators.
    pub dominators: DominatorInfo,
    /// Post-dominators.
    pub post_dominators: PostDominatorInfo,
}

/// The name of a scope kind in [`CodeFlow::kind`].
pub fn kind_name(scope: Scope) -> &'static str {
    match scope {
        Scope::Module => "module",
        Scope::Class => "class",
        Scope::Function => "function",
        Scope::Lambda => "lambda",
        Scope::Comprehension => "comprehension",
        Scope::Annotate => "annotate",
        Scope::Other => "other",
    }
}

/// Analyses every code object of `pyc`: the module body first, then `co_consts` depth
/// first (each object once, however many `co_consts` share it).
///
/// Errors: [`PycError::Code`] for a code object that does not disassemble or whose jumps or
/// exception table refer to no instruction.
pub fn analyse(pyc: &Pyc) -> Result<Vec<CodeFlow>, PycError> {
    walk(&pyc.marshal)
        .into_iter()
        .map(|info| {
            let body = pyc.disassemble(info.node)?;
            let view = CodeView::new(&pyc.marshal, info.node).expect("walk yields code objects");
            let qualname = if info.qualname.is_empty() {
                "<module>".to_string()
            } else {
                info.qualname
            };
            let cfg = Cfg::build(&body).map_err(|e| PycError::Code {
                qualname: qualname.clone(),
                message: e.0,
            })?;
            Ok(code_flow(
                &body,
                &cfg,
                qualname,
                info.name,
                kind_name(info.scope),
                view.ints().firstlineno,
            ))
        })
        .collect()
}

/// The line in effect at each instruction's opcode, where `dis` places the instruction
/// (after its `EXTENDED_ARG` prefixes: a 3.8/3.9 line table can start a line at a prefix
/// and the next one at the opcode it extends). A 3.8/3.9 `co_lnotab` starts at
/// `co_firstlineno`, so instructions before its first entry are on that line; 3.10+ tables
/// cover every instruction, some with no line.
fn opcode_lines(body: &Body, positions: &HashMap<Id, usize>) -> Vec<Option<i32>> {
    let mut entries = body
        .lines
        .iter()
        .map(|e| {
            let position = if e.anchor == END {
                usize::MAX
            } else {
                positions.get(&e.anchor).copied().unwrap_or(usize::MAX)
            };
            ((position, e.byte), e.loc.line)
        })
        .peekable();
    let mut current = body.byte_units().then_some(body.firstlineno);
    body.instrs
        .iter()
        .enumerate()
        .map(|(i, ins)| {
            let opcode = (i, 2 * u32::from(ins.min_units.saturating_sub(1)));
            while let Some(&(at, line)) = entries.peek() {
                if at > opcode {
                    break;
                }
                current = line;
                entries.next();
            }
            current
        })
        .collect()
}

/// The analysis of one disassembled body and its graph.
pub fn code_flow(
    body: &Body,
    cfg: &Cfg,
    qualname: String,
    name: String,
    kind: &'static str,
    firstlineno: i32,
) -> CodeFlow {
    // Byte offset of each instruction's first code unit, and one past the end.
    let mut starts = Vec::with_capacity(body.instrs.len() + 1);
    let mut unit = 0u32;
    for ins in &body.instrs {
        starts.push(2 * unit);
        unit += u32::from(ins.min_units) + body.cache(ins.op);
    }
    starts.push(2 * unit);
    let positions = body.positions();
    let lines = opcode_lines(body, &positions);
    let instruction = |i: usize| {
        let ins = &body.instrs[i];
        let info = body.table.info(ins.op);
        let prefixes = ins.min_units - 1;
        FlowInstruction {
            offset: starts[i] + 2 * u32::from(prefixes),
            extended_args: prefixes,
            opname: info.name,
            arg: info.has(flags::HAS_ARG).then_some(ins.arg),
            target: ins
                .target
                .and_then(|t| positions.get(&t))
                .map(|&p| starts[p]),
            line: lines[i],
        }
    };
    let blocks: Vec<FlowBlock> = cfg
        .blocks
        .iter()
        .enumerate()
        .map(|(index, b)| FlowBlock {
            index,
            start: starts[b.start],
            end: starts[b.end],
            instructions: (b.start..b.end).map(instruction).collect(),
        })
        .collect();
    let edges: Vec<FlowEdge> = cfg
        .blocks
        .iter()
        .enumerate()
        .flat_map(|(from, b)| {
            b.succs.iter().map(move |e| FlowEdge {
                from,
                to: e.to,
                kind: e.kind.into(),
            })
        })
        .collect();
    let succs: Vec<Vec<usize>> = cfg
        .blocks
        .iter()
        .map(|b| b.succs.iter().map(|e| e.to).collect())
        .collect();
    let mut flow = CodeFlow {
        qualname,
        name,
        kind,
        firstlineno,
        blocks,
        edges,
        entry: None,
        unreachable: Vec::new(),
        traversal: Traversals::default(),
        dominators: DominatorInfo::default(),
        post_dominators: PostDominatorInfo::default(),
    };
    if succs.is_empty() {
        return flow;
    }
    let dom = Dominators::compute(&succs, 0);
    let post = post_dominators(&succs);
    let n = succs.len();
    flow.entry = Some(0);
    flow.unreachable = dom.unreachable();
    flow.traversal = Traversals {
        preorder: dom.traversal.preorder.clone(),
        postorder: dom.traversal.postorder.clone(),
        reverse_postorder: dom.traversal.reverse_postorder(),
    };
    flow.dominators = DominatorInfo {
        idom: dom.idom.clone(),
        tree: dom.children(),
        frontiers: dom.frontiers(&succs),
    };
    let mut post_frontiers = post.frontiers(&reverse_with_exit(&succs));
    post_frontiers.truncate(n);
    flow.post_dominators = PostDominatorInfo {
        exit: n,
        ipdom: post.idom[..n].to_vec(),
        tree: post.children(),
        frontiers: post_frontiers,
        no_exit: post.unreachable(),
    };
    flow
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bytecode::disasm::{Instr, LineEntry, Location};
    use crate::bytecode::tables::OpTable;

    #[test]
    fn offsets_prefixes_lines_and_analyses() {
        // 3.12: RESUME; EXTENDED_ARG + LOAD_CONST 300; POP_JUMP_IF_FALSE -> 4;
        // RETURN_VALUE; LOAD_GLOBAL (inline caches); RETURN_VALUE.
        let table = OpTable::for_minor(12).unwrap();
        let code = [
            ("RESUME", 0, None, 1),
            ("LOAD_CONST", 300, None, 2),
            ("POP_JUMP_IF_FALSE", 0, Some(4), 1),
            ("RETURN_VALUE", 0, None, 1),
            ("LOAD_GLOBAL", 0, None, 1),
            ("RETURN_VALUE", 0, None, 1),
        ];
        let instrs: Vec<Instr> = code
            .iter()
            .enumerate()
            .map(|(i, &(name, arg, target, min_units))| Instr {
                id: i as u32,
                op: table.op(name).unwrap(),
                arg,
                target,
                min_units,
            })
            .collect();
        let body = Body {
            table,
            firstlineno: 1,
            instrs,
            // Line 4 from the start; line 5 from LOAD_CONST's opcode (after its prefix).
            lines: vec![
                LineEntry {
                    anchor: 0,
                    byte: 0,
                    loc: Location::line(4),
                },
                LineEntry {
                    anchor: 1,
                    byte: 2,
                    loc: Location::line(5),
                },
            ],
            exc: Vec::new(),
            next_id: 6,
        };
        let cfg = Cfg::build(&body).unwrap();
        let flow = code_flow(&body, &cfg, "f".into(), "f".into(), "function", 1);
        let global_cache = 2 * body.cache(table.op("LOAD_GLOBAL").unwrap());
        let jump_cache = 2 * body.cache(table.op("POP_JUMP_IF_FALSE").unwrap());
        let ins: Vec<(u32, u8, &str, Option<i32>)> = flow
            .blocks
            .iter()
            .flat_map(|b| &b.instructions)
            .map(|i| (i.offset, i.extended_args, i.opname, i.line))
            .collect();
        let after_jump = 8 + jump_cache;
        assert_eq!(
            ins,
            [
                (0, 0, "RESUME", Some(4)),
                (4, 1, "LOAD_CONST", Some(5)),
                (6, 0, "POP_JUMP_IF_FALSE", Some(5)),
                (after_jump, 0, "RETURN_VALUE", Some(5)),
                (after_jump + 2, 0, "LOAD_GLOBAL", Some(5)),
                (after_jump + 4 + global_cache, 0, "RETURN_VALUE", Some(5)),
            ]
        );
        let arg = |i: usize| flow.blocks[0].instructions[i].arg;
        assert_eq!(arg(1), Some(300));
        assert_eq!(flow.blocks[0].instructions[2].target, Some(after_jump + 2));
        // Blocks: [RESUME..jump], [RETURN_VALUE], [LOAD_GLOBAL, RETURN_VALUE].
        let spans: Vec<(u32, u32)> = flow.blocks.iter().map(|b| (b.start, b.end)).collect();
        assert_eq!(
            spans,
            [
                (0, after_jump),
                (after_jump, after_jump + 2),
                (after_jump + 2, after_jump + 6 + global_cache)
            ]
        );
        let edges: Vec<(usize, usize, FlowEdgeKind)> =
            flow.edges.iter().map(|e| (e.from, e.to, e.kind)).collect();
        assert_eq!(
            edges,
            [(0, 1, FlowEdgeKind::Normal), (0, 2, FlowEdgeKind::Jump)]
        );
        assert_eq!(flow.dominators.idom, [None, Some(0), Some(0)]);
        assert_eq!(flow.post_dominators.exit, 3);
        assert_eq!(flow.post_dominators.ipdom, [Some(3), Some(3), Some(3)]);
        assert_eq!(
            flow.post_dominators.tree,
            [vec![], vec![], vec![], vec![0, 1, 2]]
        );
        assert_eq!(flow.traversal.reverse_postorder, [0, 2, 1]);
        assert!(flow.unreachable.is_empty() && flow.post_dominators.no_exit.is_empty());
    }
}
