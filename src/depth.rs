//! Bounding how deeply a parsed module nests, so that every recursive walk of its syntax tree
//! (planning, layout, counting, dropping it) has a known worst case for native stack use.
//!
//! The parser itself grows its stack as it recurses, so a file of any depth parses. A tree
//! deeper than [`MAX_NESTING`] is then refused like CPython refuses it ("too many nested
//! parentheses", "maximum recursion depth exceeded during compilation"): a syntax-like
//! outcome handled by `on-syntax-error` (the source instrumenter's `parse_module`; snippets
//! have a lower limit of their own). Such a tree is taken apart by [`dismantle`], which
//! never recurses deeper than [`MAX_NESTING`] either (dropping it as is would recurse once
//! per level).
//!
//! Every caller runs the whole per-file work under [`with_stack`], which guarantees
//! half of [`STACK_BYTES`] of native stack on whatever thread (a rayon worker, the Python host's
//! thread) it runs on.

use std::cell::{Cell, RefCell};

use ruff_python_ast::visitor::transformer::{self, Transformer};
use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{self as ast, Expr, ModModule, Pattern, Stmt};
use ruff_python_parser::{Mode, ParseOptions, Parsed};
use ruff_text_size::{Ranged, TextRange, TextSize};

/// Deepest nesting of expressions, statements and patterns accepted in a module: each node
/// counts one level below its parent (`x = a + b + c` is four deep: the statement, two
/// additions, a name; a statement inside a `def` is one level below the `def`). CPython 3.8–3.12 refuse about 3,000 nested operations,
/// 3.13 about 6,000; 3.14 compiles a little more, its parser stops unary chains at 6,000.
pub const MAX_NESTING: usize = 10_000;

/// Native stack segment for the per-file work. A tree [`MAX_NESTING`] deep (`+`, attribute,
/// unary, call and list chains) is instrumented within 12 MiB; [`with_stack`] guarantees
/// half of this, 32 MiB.
pub const STACK_BYTES: usize = 64 << 20;

/// Least stack left before [`with_stack`] switches to a fresh segment of [`STACK_BYTES`].
const RED_ZONE: usize = STACK_BYTES / 2;

/// Runs `f` with at least half of [`STACK_BYTES`] of native stack available, switching to a
/// freshly allocated stack segment (mapped lazily: only the pages used cost memory) when the
/// current thread has less.
pub fn with_stack<T>(f: impl FnOnce() -> T) -> T {
    stacker::maybe_grow(RED_ZONE, STACK_BYTES, f)
}

/// Parses a module with a nesting limit of `limit` (at most [`MAX_NESTING`]); errors are
/// the byte offset and the message ("invalid Python: ..." is left to the caller). The
/// tree of a refused module is taken apart by [`dismantle`].
pub fn parse_module_within(
    text: &str,
    limit: usize,
) -> Result<Parsed<ModModule>, (TextSize, String)> {
    let parsed = ruff_python_parser::parse_unchecked(text, ParseOptions::from(Mode::Module))
        .try_into_module()
        .expect("module mode parses to a module");
    if let Some(first) = parsed.errors().first() {
        let failure = (first.location.start(), first.error.to_string());
        dismantle(parsed.into_suite());
        return Err(failure);
    }
    if let Some(offset) = too_deep(parsed.suite(), limit) {
        dismantle(parsed.into_suite());
        return Err((offset, too_deep_message(limit)));
    }
    Ok(parsed)
}

/// Where the first node nested deeper than `limit` (at most [`MAX_NESTING`]) starts, if
/// there is one.
///
/// Recurses at most `limit` levels: it does not look below the limit.
pub fn too_deep(suite: &[Stmt], limit: usize) -> Option<TextSize> {
    struct Depth {
        limit: usize,
        level: usize,
        found: Option<TextSize>,
    }
    impl Depth {
        fn enter(&mut self, node: &impl Ranged, walk: impl FnOnce(&mut Self)) {
            if self.found.is_some() {
                return;
            }
            if self.level >= self.limit {
                self.found = Some(node.start());
                return;
            }
            self.level += 1;
            walk(self);
            self.level -= 1;
        }
    }
    impl<'a> Visitor<'a> for Depth {
        fn visit_stmt(&mut self, stmt: &'a Stmt) {
            self.enter(stmt, |v| visitor::walk_stmt(v, stmt));
        }
        fn visit_expr(&mut self, expr: &'a Expr) {
            self.enter(expr, |v| visitor::walk_expr(v, expr));
        }
        fn visit_pattern(&mut self, pattern: &'a Pattern) {
            self.enter(pattern, |v| visitor::walk_pattern(v, pattern));
        }
    }
    let mut depth = Depth {
        limit: limit.min(MAX_NESTING),
        level: 0,
        found: None,
    };
    depth.visit_body(suite);
    depth.found
}

/// The message for code nested deeper than `limit`.
pub fn too_deep_message(limit: usize) -> String {
    format!(
        "too many nested expressions or blocks (more than {limit} levels; CPython refuses \
         such code too)"
    )
}

/// Drops a syntax tree of any depth with recursion bounded by [`MAX_NESTING`]: subtrees
/// below that depth are cut off (replaced by a leaf) and taken apart in turn, until every
/// piece is shallow enough to drop normally.
pub fn dismantle(suite: impl IntoIterator<Item = Stmt>) {
    #[derive(Default)]
    struct Cutter {
        level: Cell<usize>,
        stmts: RefCell<Vec<Stmt>>,
        exprs: RefCell<Vec<Expr>>,
        patterns: RefCell<Vec<Pattern>>,
    }
    impl Cutter {
        /// Whether the node at the current level is cut off; otherwise walks it one level
        /// deeper.
        fn enter(&self, walk: impl FnOnce()) -> bool {
            if self.level.get() >= MAX_NESTING {
                return true;
            }
            self.level.set(self.level.get() + 1);
            walk();
            self.level.set(self.level.get() - 1);
            false
        }
    }
    impl Transformer for Cutter {
        fn visit_stmt(&self, stmt: &mut Stmt) {
            if self.enter(|| transformer::walk_stmt(self, stmt)) {
                let leaf = Stmt::Pass(ast::StmtPass {
                    node_index: Default::default(),
                    range: TextRange::default(),
                });
                self.stmts.borrow_mut().push(std::mem::replace(stmt, leaf));
            }
        }
        fn visit_expr(&self, expr: &mut Expr) {
            if self.enter(|| transformer::walk_expr(self, expr)) {
                let leaf = Expr::NoneLiteral(ast::ExprNoneLiteral::default());
                self.exprs.borrow_mut().push(std::mem::replace(expr, leaf));
            }
        }
        fn visit_pattern(&self, pattern: &mut Pattern) {
            if self.enter(|| transformer::walk_pattern(self, pattern)) {
                let leaf = Pattern::MatchAs(ast::PatternMatchAs {
                    node_index: Default::default(),
                    range: TextRange::default(),
                    pattern: None,
                    name: None,
                });
                self.patterns
                    .borrow_mut()
                    .push(std::mem::replace(pattern, leaf));
            }
        }
    }
    let cutter = Cutter::default();
    cutter.stmts.borrow_mut().extend(suite);
    loop {
        // Each piece is walked from level 0 (its own children are cut at MAX_NESTING),
        // then dropped: every node is walked once as an inner node.
        let stmt = cutter.stmts.borrow_mut().pop();
        if let Some(mut stmt) = stmt {
            transformer::walk_stmt(&cutter, &mut stmt);
            continue;
        }
        let expr = cutter.exprs.borrow_mut().pop();
        if let Some(mut expr) = expr {
            transformer::walk_expr(&cutter, &mut expr);
            continue;
        }
        let pattern = cutter.patterns.borrow_mut().pop();
        if let Some(mut pattern) = pattern {
            transformer::walk_pattern(&cutter, &mut pattern);
            continue;
        }
        break;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(src: &str) -> Vec<Stmt> {
        let parsed = ruff_python_parser::parse_module(src).unwrap();
        parsed.into_suite().into_iter().collect()
    }

    #[test]
    fn depth_is_measured_up_to_the_limit() {
        with_stack(|| {
            // The statement, MAX_NESTING - 2 additions, the innermost operand.
            let ok = format!("x = {}\n", vec!["a"; MAX_NESTING - 1].join(" + "));
            let suite = parse(&ok);
            assert_eq!(too_deep(&suite, MAX_NESTING), None);
            dismantle(suite);
            let deep = format!("x = {}\n", vec!["a"; MAX_NESTING].join(" + "));
            let suite = parse(&deep);
            assert!(too_deep(&suite, MAX_NESTING).is_some());
            dismantle(suite);
        });
    }

    #[test]
    fn very_deep_trees_are_dropped_without_deep_recursion() {
        // A million levels: dropping this tree recursively needs far more than 32 MiB of
        // stack; dismantle recurses at most MAX_NESTING levels.
        let src = format!("x = {}a\n", "-".repeat(1_000_000));
        let suite = with_stack(|| parse(&src));
        assert!(with_stack(|| too_deep(&suite, MAX_NESTING)).is_some());
        std::thread::Builder::new()
            .stack_size(32 << 20)
            .spawn(move || dismantle(suite))
            .unwrap()
            .join()
            .unwrap();
    }
}
