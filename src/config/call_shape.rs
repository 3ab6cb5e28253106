//! Recognizing snippets that a call site can run without the generated hook function.
//!
//! A snippet that is a single call, `callee(args)`, whose callee is a name (or attribute
//! chain on a name) bound at the top level of the hooks module and whose arguments are
//! placeholders and literal constants, means the same when the call site makes it itself
//! through the hooks module: `_equip_h.callee(values)`. With `on-hook-error = "raise"` the
//! generated function adds nothing else, so `.py` call sites skip its Python frame
//! (`docs/semantics.md`, "Direct calls").

use std::collections::BTreeSet;

use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_text_size::Ranged;

use super::placeholder::Placeholder;

/// A snippet of the form `callee(arg, ..., key=arg, ...)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnippetCall {
    /// The callee as written, a dotted name: `enter`, `tracer.start`.
    pub callee: String,
    /// The arguments in order.
    pub args: Vec<CallArg>,
}

/// One argument of a [`SnippetCall`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallArg {
    /// `Some(name)` for a keyword argument.
    pub keyword: Option<String>,
    /// Its value.
    pub value: CallValue,
}

/// The value of a [`CallArg`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallValue {
    /// A placeholder, supplied by the call site.
    Placeholder(Placeholder),
    /// A literal constant (number, string, bytes, `None`, `True`, `False`, `...`), as source.
    Literal(String),
}

impl SnippetCall {
    /// The first name of the callee (`tracer` in `tracer.start`).
    pub fn root(&self) -> &str {
        self.callee.split('.').next().unwrap_or_default()
    }

    /// Whether a placeholder is among the arguments.
    pub fn passes(&self, p: Placeholder) -> bool {
        self.args
            .iter()
            .any(|a| a.value == CallValue::Placeholder(p))
    }
}

/// The call shape of a compiled snippet body (placeholders already bound as names), if it
/// has one. `uses` are the placeholders the snippet uses: a bare name is a placeholder only
/// if it was written `{name}` (else it is a global of the hooks module).
pub fn of_body(body: &str, uses: &BTreeSet<Placeholder>) -> Option<SnippetCall> {
    let parsed = ruff_python_parser::parse_module(body).ok()?;
    let [Stmt::Expr(stmt)] = parsed.suite().as_slice() else {
        return None;
    };
    let Expr::Call(call) = stmt.value.as_ref() else {
        return None;
    };
    let callee = dotted(&call.func)?;
    let value = |e: &Expr| -> Option<CallValue> {
        match e {
            Expr::Name(n) => {
                let p = Placeholder::from_name(&n.id)?;
                // {thread_id} and {locals} are computed inside the generated function.
                let passed =
                    uses.contains(&p) && !matches!(p, Placeholder::ThreadId | Placeholder::Locals);
                passed.then_some(CallValue::Placeholder(p))
            }
            Expr::NumberLiteral(_)
            | Expr::StringLiteral(_)
            | Expr::BytesLiteral(_)
            | Expr::BooleanLiteral(_)
            | Expr::NoneLiteral(_)
            | Expr::EllipsisLiteral(_) => Some(CallValue::Literal(body[e.range()].to_string())),
            _ => None,
        }
    };
    let mut args = Vec::new();
    for a in call.arguments.args.iter() {
        args.push(CallArg {
            keyword: None,
            value: value(a)?, // a starred argument is not a literal: no shape
        });
    }
    for k in call.arguments.keywords.iter() {
        args.push(CallArg {
            keyword: Some(k.arg.as_ref()?.id.to_string()), // `**kwargs`: no shape
            value: value(&k.value)?,
        });
    }
    // Keywords after positionals keeps the order of evaluation only if they were written so.
    let positions_ordered = call
        .arguments
        .keywords
        .iter()
        .all(|k| call.arguments.args.iter().all(|a| a.start() < k.start()));
    positions_ordered.then_some(SnippetCall { callee, args })
}

fn dotted(e: &Expr) -> Option<String> {
    match e {
        Expr::Name(n) => Some(n.id.to_string()),
        Expr::Attribute(a) => Some(format!("{}.{}", dotted(&a.value)?, a.attr.id)),
        _ => None,
    }
}

/// Names bound at the top level of Python `source` by imports, assignments, `def` and
/// `class` (the hooks module's `imports` and `setup`). Names bound only inside blocks are
/// left out: a call shape needs a name that is surely bound.
pub fn top_level_bindings(source: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let Ok(parsed) = ruff_python_parser::parse_module(source) else {
        return names;
    };
    for stmt in parsed.suite() {
        match stmt {
            Stmt::Import(i) => names.extend(i.names.iter().map(|a| match &a.asname {
                Some(n) => n.id.to_string(),
                None => a.name.id.split('.').next().unwrap_or_default().to_string(),
            })),
            Stmt::ImportFrom(i) => names.extend(
                i.names
                    .iter()
                    .filter(|a| a.name.id.as_str() != "*")
                    .map(|a| a.asname.as_ref().unwrap_or(&a.name).id.to_string()),
            ),
            Stmt::Assign(a) => names.extend(a.targets.iter().filter_map(|t| match t {
                Expr::Name(n) => Some(n.id.to_string()),
                _ => None,
            })),
            Stmt::AnnAssign(ast::StmtAnnAssign {
                target,
                value: Some(_),
                ..
            }) => {
                if let Expr::Name(n) = target.as_ref() {
                    names.insert(n.id.to_string());
                }
            }
            Stmt::FunctionDef(f) => {
                names.insert(f.name.id.to_string());
            }
            Stmt::ClassDef(c) => {
                names.insert(c.name.id.to_string());
            }
            _ => {}
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uses(ps: &[Placeholder]) -> BTreeSet<Placeholder> {
        ps.iter().copied().collect()
    }

    #[test]
    fn calls_of_placeholders_and_constants_have_a_shape() {
        let c = of_body(
            "tracer.start((qualname), 'x', 3, key=(return_value))",
            &uses(&[Placeholder::Qualname, Placeholder::ReturnValue]),
        )
        .unwrap();
        assert_eq!(c.callee, "tracer.start");
        assert_eq!(c.root(), "tracer");
        assert_eq!(
            c.args[0].value,
            CallValue::Placeholder(Placeholder::Qualname)
        );
        assert_eq!(c.args[1].value, CallValue::Literal("'x'".into()));
        assert_eq!(c.args[3].keyword.as_deref(), Some("key"));
        assert!(c.passes(Placeholder::ReturnValue));
    }

    #[test]
    fn anything_else_has_none() {
        let q = uses(&[Placeholder::Qualname, Placeholder::ThreadId]);
        for body in [
            "f(qualname); g()",
            "x = f(qualname)",
            "f(qualname)()",
            "f(*qualname)",
            "f(**qualname)",
            "f(qualname + 1)",
            "f(f'{qualname}')",
            "f(thread_id)",
            "f(lineno)", // a global named lineno: not written {lineno}
            "obj[0](qualname)",
        ] {
            assert_eq!(of_body(body, &q), None, "{body}");
        }
    }

    #[test]
    fn bindings_of_imports_and_setup() {
        let names = top_level_bindings(
            "import os.path\nimport a as b\nfrom m import x, y as z\nfrom n import *\nq = r = 1\nt: int = 2\n\
             u: int\ndef f(): pass\nclass C: pass\nif 1:\n    hidden = 1\n",
        );
        let want = ["C", "b", "f", "os", "q", "r", "t", "x", "z"];
        assert_eq!(names.iter().map(String::as_str).collect::<Vec<_>>(), want);
    }
}
