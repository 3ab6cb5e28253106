//! `equip-wheel cfg`: the control-flow graph of a module's code objects, their dominators,
//! post-dominators, dominance frontiers and depth-first orders (`docs/cfg.md`). stdout gets
//! a text listing, the `equip-cfg/1` JSON document, or one Graphviz digraph per code object;
//! errors are one line on stderr (exit 2 for a module, qualname or interpreter that is not
//! there, 1 for a broken wheel or a member that cannot be compiled or read).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use super::output;
use crate::bytecode::analysis::{CodeFlow, FlowEdgeKind, FlowInstruction};
use crate::control_flow::{self, CfgDocument, Target};
use crate::error::{EXIT_USAGE, Error};
use crate::escape::escape;

/// How `cfg` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CfgFormat {
    /// Blocks with their instructions and edges, then the trees, frontiers and orders.
    Text,
    /// The equip-cfg/1 JSON document.
    Json,
    /// Graphviz: one digraph per code object (`| dot -Tsvg > cfg.svg`).
    Dot,
}

/// The interpreter running the console script, when the CLI runs inside Python.
static HOST_PYTHON: OnceLock<PathBuf> = OnceLock::new();

/// Records the interpreter the command line runs in (the console script's `sys.executable`):
/// `cfg` compiles `.py` members with it unless `--python` says otherwise. The first call
/// wins.
pub fn set_host_python(path: PathBuf) {
    let _ = HOST_PYTHON.set(path);
}

pub(super) fn run(wheel: &Path, target: &str, format: CfgFormat, python: Option<PathBuf>) -> i32 {
    let target = match Target::parse(target) {
        Ok(t) => t,
        Err(e) => {
            output::error(e);
            return EXIT_USAGE;
        }
    };
    let python = control_flow::choose_python(python, HOST_PYTHON.get().cloned());
    match control_flow::analyse(wheel, &target, &python) {
        Ok(doc) => {
            output::stdout(&match format {
                CfgFormat::Json => {
                    serde_json::to_string_pretty(&doc).expect("the document serializes")
                }
                CfgFormat::Text => text(&doc),
                CfgFormat::Dot => dot(&doc),
            });
            0
        }
        Err(e) => {
            let code = e.exit_code();
            output::error(match e {
                Error::Config(c) => c.message,
                e => e.to_string(),
            });
            code
        }
    }
}

/// `3` or `-` for an absent block number.
fn num(n: Option<usize>) -> String {
    n.map_or_else(|| "-".to_string(), |n| n.to_string())
}

fn list(items: &[usize]) -> String {
    if items.is_empty() {
        return "-".to_string();
    }
    items
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

fn kind_name(kind: FlowEdgeKind) -> &'static str {
    match kind {
        FlowEdgeKind::Normal => "normal",
        FlowEdgeKind::Jump => "jump",
        FlowEdgeKind::Exception => "exception",
    }
}

/// `LOAD_FAST 0` / `POP_JUMP_IF_FALSE 12 (to 40)` / `RETURN_VALUE`.
fn instruction_text(ins: &FlowInstruction) -> String {
    let mut s = ins.opname.to_string();
    if let Some(arg) = ins.arg {
        let _ = write!(s, " {arg}");
    }
    if let Some(target) = ins.target {
        let _ = write!(s, " (to {target})");
    }
    s
}

/// The text listing of the whole document.
fn text(doc: &CfgDocument) -> String {
    let compiled = match &doc.python.executable {
        Some(exe) => format!(
            "compiled by {} (Python {})",
            escape(exe),
            escape(&doc.python.version)
        ),
        None => format!("bytecode of Python {}", escape(&doc.python.version)),
    };
    let mut out = format!(
        "{}: module {} ({}), {compiled}\n",
        escape(&doc.wheel),
        escape(&doc.module),
        escape(&doc.member)
    );
    for code in &doc.code_objects {
        out.push('\n');
        out.push_str(&code_text(code));
    }
    out.trim_end().to_string()
}

fn code_text(code: &CodeFlow) -> String {
    let mut out = format!(
        "== {} ({}, line {}): {} blocks, {} edges\n",
        escape(&code.qualname),
        code.kind,
        code.firstlineno,
        code.blocks.len(),
        code.edges.len()
    );
    for block in &code.blocks {
        let b = block.index;
        let _ = writeln!(
            out,
            "block {b}  bytes {}-{}  idom {}  ipdom {}  frontier {}",
            block.start,
            block.end,
            num(code.dominators.idom.get(b).copied().flatten()),
            match code.post_dominators.ipdom.get(b).copied().flatten() {
                Some(p) if p == code.post_dominators.exit => "exit".to_string(),
                other => num(other),
            },
            list(code.dominators.frontiers.get(b).map_or(&[][..], |f| f))
        );
        for ins in &block.instructions {
            let line = ins.line.map_or_else(String::new, |l| format!("line {l}"));
            let _ = writeln!(
                out,
                "  {:>6}  {:<40} {line}",
                ins.offset,
                instruction_text(ins)
            );
        }
        let succs: Vec<String> = code
            .edges
            .iter()
            .filter(|e| e.from == b)
            .map(|e| format!("{} ({})", e.to, kind_name(e.kind)))
            .collect();
        let succs = if succs.is_empty() {
            "- (exit)".to_string()
        } else {
            succs.join(", ")
        };
        let _ = writeln!(out, "  -> {succs}");
    }
    let _ = writeln!(out, "dominator tree:");
    if let Some(entry) = code.entry {
        tree_text(&mut out, &code.dominators.tree, entry, 1, None);
    }
    let exit = code.post_dominators.exit;
    let _ = writeln!(out, "post-dominator tree (exit = {exit}):");
    if !code.post_dominators.tree.is_empty() {
        tree_text(&mut out, &code.post_dominators.tree, exit, 1, Some(exit));
    }
    let _ = writeln!(
        out,
        "post-dominance frontiers: {}",
        frontier_text(&code.post_dominators.frontiers)
    );
    let _ = writeln!(out, "unreachable: {}", list(&code.unreachable));
    let _ = writeln!(
        out,
        "reaching no exit: {}",
        list(&code.post_dominators.no_exit)
    );
    let t = &code.traversal;
    let _ = writeln!(out, "preorder: {}", list(&t.preorder));
    let _ = writeln!(out, "postorder: {}", list(&t.postorder));
    let _ = writeln!(out, "reverse post-order: {}", list(&t.reverse_postorder));
    out
}

/// `1: 3 4; 2: 3` for the non-empty frontiers, `-` when all are empty.
fn frontier_text(frontiers: &[Vec<usize>]) -> String {
    let parts: Vec<String> = frontiers
        .iter()
        .enumerate()
        .filter(|(_, f)| !f.is_empty())
        .map(|(b, f)| format!("{b}: {}", list(f)))
        .collect();
    if parts.is_empty() {
        "-".to_string()
    } else {
        parts.join("; ")
    }
}

/// Writes the subtree of `node`, indented by depth (iteratively: trees can be deep).
fn tree_text(
    out: &mut String,
    children: &[Vec<usize>],
    root: usize,
    depth: usize,
    exit: Option<usize>,
) {
    let mut stack = vec![(root, depth)];
    while let Some((node, depth)) = stack.pop() {
        let name = if Some(node) == exit {
            "exit".to_string()
        } else {
            node.to_string()
        };
        let _ = writeln!(out, "{}{name}", "  ".repeat(depth));
        for &child in children[node].iter().rev() {
            stack.push((child, depth + 1));
        }
    }
}

/// `text` for the inside of a Graphviz double-quoted string: `"` and `\` escaped, line
/// breaks as spaces.
fn dot_escape(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' | '\\' => {
                s.push('\\');
                s.push(c);
            }
            '\n' | '\r' => s.push(' '),
            c => s.push(c),
        }
    }
    s
}

/// A Graphviz double-quoted string.
fn quoted(text: &str) -> String {
    format!("\"{}\"", dot_escape(text))
}

/// One `digraph` per code object: a box per block listing its instructions (left-aligned
/// lines), solid edges for fall-through, bold blue for jumps, dashed red for exceptions.
fn dot(doc: &CfgDocument) -> String {
    let mut out = String::new();
    for code in &doc.code_objects {
        let title = escape(&format!(
            "{} {} ({}, line {})",
            doc.module, code.qualname, code.kind, code.firstlineno
        ))
        .into_owned();
        let _ = writeln!(out, "digraph {} {{", quoted(&title));
        let _ = writeln!(out, "  label={};", quoted(&title));
        let _ = writeln!(out, "  labelloc=t;");
        let _ = writeln!(out, "  node [shape=box, fontname=\"monospace\"];");
        for block in &code.blocks {
            // `\l` ends a left-justified line in a Graphviz label.
            let mut label = format!("block {}\\l", block.index);
            for ins in &block.instructions {
                let line = ins.line.map_or_else(String::new, |l| format!("  line {l}"));
                let text = format!("{:>5} {}{line}", ins.offset, instruction_text(ins));
                label.push_str(&dot_escape(&text));
                label.push_str("\\l");
            }
            let unreachable = if code.unreachable.contains(&block.index) {
                ", style=dotted"
            } else {
                ""
            };
            let _ = writeln!(out, "  b{} [label=\"{label}\"{unreachable}];", block.index);
        }
        for e in &code.edges {
            let style = match e.kind {
                FlowEdgeKind::Normal => "style=solid",
                FlowEdgeKind::Jump => "style=bold, color=blue",
                FlowEdgeKind::Exception => "style=dashed, color=red",
            };
            let _ = writeln!(
                out,
                "  b{} -> b{} [{style}, tooltip={}];",
                e.from,
                e.to,
                quoted(kind_name(e.kind))
            );
        }
        out.push_str("}\n");
    }
    out.trim_end().to_string()
}
