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

/// Whether a `return` of the function (not of nested functions) runs code of the function
/// after its value is computed: it sits in the body of a `with`/`async with`, or in the
/// body, a handler or the `else` of a `try` that has a `finally`. Such a return leaves the
/// frame only after that cleanup (`__exit__`, the `finally` body, which may itself return or
/// raise instead).
pub fn returns_through_cleanup(body: &[Stmt]) -> bool {
    fn guarded(body: &[Stmt]) -> bool {
        !returns(body).is_empty()
    }
    struct Cleanup(bool);
    impl<'a> Visitor<'a> for Cleanup {
        fn visit_stmt(&mut self, stmt: &'a Stmt) {
            match stmt {
                Stmt::FunctionDef(_) | Stmt::ClassDef(_) => {}
                Stmt::With(w) if guarded(&w.body) => self.0 = true,
                Stmt::Try(t)
                    if !t.finalbody.is_empty()
                        && (guarded(&t.body)
                            || guarded(&t.orelse)
                            || t.handlers.iter().any(|h| {
                                let ast::ExceptHandler::ExceptHandler(h) = h;
                                guarded(&h.body)
                            })) =>
                {
                    self.0 = true
                }
                _ => visitor::walk_stmt(self, stmt),
            }
        }
        fn visit_expr(&mut self, _: &'a Expr) {}
    }
    let mut v = Cleanup(false);
    v.visit_body(body);
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
        // A context manager may swallow the exception of a `raise`: only returns count. (It
        // may also swallow one raised before a last `return`: a function with deferred
        // exits records that fall-off at entry.)
        Stmt::With(s) => ends_in_return(&s.body),
        _ => false,
    }
}

/// Where control can fall off the end of `body`, as the end offsets of simple statements
/// after which an exit call can be appended inline: `Some(points)` when every fall-off path
/// ends in such a statement (through `if`/`elif`/`else`, `try`/`except`/`else` without
/// `finally`, and `match` with an irrefutable last case), `None` when a path falls off a
/// loop, a `with` or a partial branch (a line of its own is needed then).
pub fn fall_off_points(body: &[Stmt]) -> Option<Vec<usize>> {
    use ruff_text_size::Ranged;
    let last = body.last()?;
    if always_leaves(body) {
        return Some(Vec::new());
    }
    match last {
        Stmt::If(s) => {
            let has_else = s.elif_else_clauses.last().is_some_and(|c| c.test.is_none());
            if !has_else {
                return None;
            }
            let mut points = fall_off_points(&s.body)?;
            for clause in &s.elif_else_clauses {
                points.extend(fall_off_points(&clause.body)?);
            }
            Some(points)
        }
        Stmt::Try(s) if s.finalbody.is_empty() => {
            let main = if s.orelse.is_empty() {
                &s.body
            } else {
                &s.orelse
            };
            let mut points = fall_off_points(main)?;
            for h in &s.handlers {
                let ast::ExceptHandler::ExceptHandler(h) = h;
                points.extend(fall_off_points(&h.body)?);
            }
            Some(points)
        }
        Stmt::Match(s) => {
            let irrefutable = s
                .cases
                .last()
                .is_some_and(|c| c.guard.is_none() && c.pattern.is_irrefutable());
            if !irrefutable {
                return None;
            }
            let mut points = Vec::new();
            for case in &s.cases {
                points.extend(fall_off_points(&case.body)?);
            }
            Some(points)
        }
        s if ast::helpers::is_compound_statement(s) => None,
        Stmt::Return(_) | Stmt::Raise(_) | Stmt::Break(_) | Stmt::Continue(_) => Some(Vec::new()),
        s => Some(vec![s.end().into()]),
    }
}

/// Whether running `body` cannot raise: it only holds `pass`, `...`, string constants and
/// `return`s of constants and of the function's own parameters (`return self`). Such a
/// function needs no `try` for its error hook, which could never run.
pub fn cannot_raise(body: &[Stmt], params: &[String]) -> bool {
    fn trivial(e: &Expr, params: &[String]) -> bool {
        match e {
            Expr::NumberLiteral(_)
            | Expr::StringLiteral(_)
            | Expr::BytesLiteral(_)
            | Expr::BooleanLiteral(_)
            | Expr::NoneLiteral(_)
            | Expr::EllipsisLiteral(_) => true,
            Expr::Name(n) => params.iter().any(|p| p == n.id.as_str()),
            Expr::Tuple(t) => t.elts.iter().all(|e| trivial(e, params)),
            _ => false,
        }
    }
    body.iter().all(|s| match s {
        Stmt::Pass(_) => true,
        Stmt::Expr(e) => matches!(&*e.value, Expr::EllipsisLiteral(_) | Expr::StringLiteral(_)),
        Stmt::Return(r) => r.value.as_deref().is_none_or(|v| trivial(v, params)),
        _ => false,
    })
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
    fn fall_off_points_through_branches() {
        let points = |src: &str| fall_off_points(&func(src).body).map(|p| p.len());
        assert_eq!(points("def f(x):\n    x = 1\n"), Some(1));
        assert_eq!(
            points(
                "def f(x):\n    if x:\n        a()\n    elif y:\n        return\n    else:\n        b()\n"
            ),
            Some(2)
        );
        assert_eq!(points("def f(x):\n    if x:\n        a()\n"), None);
        assert_eq!(
            points(
                "def f(x):\n    try:\n        a()\n    except E:\n        b()\n    else:\n        c()\n"
            ),
            Some(2)
        );
        assert_eq!(
            points("def f(x):\n    try:\n        a()\n    finally:\n        b()\n"),
            None
        );
        assert_eq!(points("def f(x):\n    for i in x:\n        a()\n"), None);
        assert_eq!(
            points(
                "def f(x):\n    match x:\n        case 1:\n            a()\n        case _:\n            b()\n"
            ),
            Some(2)
        );
        assert_eq!(
            points("def f(x):\n    match x:\n        case 1:\n            a()\n"),
            None
        );
    }

    #[test]
    fn trivial_bodies_cannot_raise() {
        let check = |src: &str| {
            let f = func(src);
            let params: Vec<String> = f.parameters.iter().map(|p| p.name().to_string()).collect();
            cannot_raise(&f.body, &params)
        };
        assert!(check("def f(self): pass\n"));
        assert!(check(
            "def f(self):\n    \"\"\"Doc.\"\"\"\n    return self\n"
        ));
        assert!(check("def f(a, b): return (a, b, None)\n"));
        assert!(!check("def f(self): return other\n"));
        assert!(!check("def f(self): return self.x\n"));
        assert!(!check("def f(): raise E\n"));
    }

    #[test]
    fn returns_with_cleanup_after_them() {
        let check = |src: &str| returns_through_cleanup(&func(src).body);
        assert!(check("def f():\n    with x:\n        return 1\n"));
        assert!(check(
            "def f():\n    try:\n        pass\n    except E:\n        return 1\n    finally:\n        g()\n"
        ));
        assert!(check(
            "def f():\n    for i in x:\n        try:\n            return i\n        finally:\n            g()\n"
        ));
        // A return in the `finally` itself, or in a `try` without one, leaves directly.
        assert!(!check(
            "def f():\n    try:\n        g()\n    finally:\n        return 1\n"
        ));
        assert!(!check(
            "def f():\n    try:\n        return g()\n    except E:\n        return 2\n"
        ));
        assert!(!check(
            "def f():\n    with x:\n        def g():\n            return 1\n    return 2\n"
        ));
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
