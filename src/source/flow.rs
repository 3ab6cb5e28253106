//! Control-flow facts about one function body, read from the AST: its `return` statements,
//! whether it can suspend (generator, coroutine), and whether control can fall off its end.

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{self as ast, Expr, Stmt};

/// The `return` statements of a function body (not of nested functions, classes or lambdas).
pub fn returns(body: &[Stmt]) -> Vec<&ast::StmtReturn> {
    struct Returns<'a>(Vec<&'a ast::StmtReturn>);
    impl<'a> Visitor<'a> for Returns<'a> {
        fn visit_stmt(&mut self, stmt: &'a Stmt) {
            match stmt {
                Stmt::FunctionDef(_) | Stmt::ClassDef(_) => {}
                Stmt::Return(r) => self.0.push(r),
                _ => visitor::walk_stmt(self, stmt),
            }
        }
        fn visit_expr(&mut self, _: &'a Expr) {}
    }
    let mut v = Returns(Vec::new());
    v.visit_body(body);
    v.0
}

/// Whether the function can suspend: `async def`, or a body with `yield`/`yield from`
/// (outside nested scopes). Such functions see `GeneratorExit` on `close()`.
pub fn can_suspend(f: &ast::StmtFunctionDef) -> bool {
    struct Yields(bool);
    impl<'a> Visitor<'a> for Yields {
        fn visit_stmt(&mut self, stmt: &'a Stmt) {
            if !matches!(stmt, Stmt::FunctionDef(_) | Stmt::ClassDef(_)) {
                visitor::walk_stmt(self, stmt);
            }
        }
        fn visit_expr(&mut self, expr: &'a Expr) {
            match expr {
                Expr::Yield(_) | Expr::YieldFrom(_) => self.0 = true,
                Expr::Lambda(_) => {}
                _ => visitor::walk_expr(self, expr),
            }
        }
    }
    if f.is_async {
        return true;
    }
    let mut v = Yields(false);
    v.visit_body(&f.body);
    v.0
}

/// Conservatively, whether every path through `body` ends in `return` or `raise` (so there
/// is no falling off the end). `false` when unsure.
pub fn always_leaves(body: &[Stmt]) -> bool {
    let Some(last) = body.last() else {
        return false;
    };
    match last {
        Stmt::Return(_) | Stmt::Raise(_) => true,
        Stmt::If(s) => {
            let has_else = s.elif_else_clauses.last().is_some_and(|c| c.test.is_none());
            has_else
                && always_leaves(&s.body)
                && s.elif_else_clauses.iter().all(|c| always_leaves(&c.body))
        }
        Stmt::Try(s) => {
            always_leaves(&s.finalbody)
                || ((always_leaves(&s.body) || always_leaves(&s.orelse))
                    && s.handlers.iter().all(|h| {
                        let ast::ExceptHandler::ExceptHandler(h) = h;
                        always_leaves(&h.body)
                    }))
        }
        Stmt::While(s) => {
            matches!(&*s.test, Expr::BooleanLiteral(b) if b.value) && !breaks(&s.body)
        }
        // A context manager may swallow the exception of a `raise`: only returns count.
        Stmt::With(s) => ends_in_return(&s.body),
        _ => false,
    }
}

fn ends_in_return(body: &[Stmt]) -> bool {
    matches!(body.last(), Some(Stmt::Return(_)))
}

/// Whether a loop body contains a `break` for this loop.
fn breaks(body: &[Stmt]) -> bool {
    struct Breaks(bool);
    impl<'a> Visitor<'a> for Breaks {
        fn visit_stmt(&mut self, stmt: &'a Stmt) {
            match stmt {
                Stmt::Break(_) => self.0 = true,
                // Breaks inside these belong to them.
                Stmt::For(_) | Stmt::While(_) | Stmt::FunctionDef(_) | Stmt::ClassDef(_) => {}
                _ => visitor::walk_stmt(self, stmt),
            }
        }
        fn visit_expr(&mut self, _: &'a Expr) {}
    }
    let mut v = Breaks(false);
    v.visit_body(body);
    v.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn func(src: &str) -> ast::StmtFunctionDef {
        let parsed = ruff_python_parser::parse_module(src).unwrap();
        match parsed.into_syntax().body.into_iter().next().unwrap() {
            Stmt::FunctionDef(f) => f,
            _ => panic!(),
        }
    }

    #[test]
    fn finds_own_returns_only() {
        let f = func(
            "def f(x):\n    if x:\n        return 1\n    def g():\n        return 2\n    return\n",
        );
        assert_eq!(returns(&f.body).len(), 2);
    }

    #[test]
    fn suspension() {
        assert!(can_suspend(&func("def f():\n    yield 1\n")));
        assert!(can_suspend(&func("async def f():\n    return 1\n")));
        assert!(!can_suspend(&func(
            "def f():\n    def g():\n        yield 1\n    return lambda: 1\n"
        )));
    }

    #[test]
    fn falling_off() {
        let leaves = |src: &str| always_leaves(&func(src).body);
        assert!(leaves(
            "def f(x):\n    if x:\n        return 1\n    else:\n        raise E\n"
        ));
        assert!(!leaves(
            "def f(x):\n    if x:\n        return 1\n    elif y:\n        return 2\n"
        ));
        assert!(leaves(
            "def f():\n    while True:\n        for i in x:\n            break\n"
        ));
        assert!(!leaves("def f():\n    while True:\n        break\n"));
        assert!(!leaves("def f():\n    with x:\n        raise E\n"));
        assert!(leaves(
            "def f():\n    try:\n        return g()\n    except E:\n        raise\n"
        ));
        assert!(!leaves("def f():\n    x = 1\n"));
    }
}
