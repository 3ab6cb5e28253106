//! Planning and writing the hook calls of one module's source (DESIGN.md section 2,
//! "Injection points").
//!
//! The module binds the hooks module as `_equip_h` right after its docstring and
//! `from __future__` imports; `module-enter` runs there too. Each selected `def`/`async def`
//! calls `function-enter` before its first statement (after the docstring). Calls go inline
//! (`_equip_h.f(...); stmt`) whenever the grammar allows, otherwise on a line found by
//! [`Layout`].

use ruff_python_ast::statement_visitor::{self, StatementVisitor};
use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_text_size::Ranged;

use super::layout::{Layout, LineRequest};
use super::syntax::{self, docstring, py_opt_str, py_str};
use super::{ModuleTarget, NotInstrumented, SourceError, SourceOutcome};
use crate::config::{Config, HookKind, Placeholder};
use crate::hooks_module::{HookAbi, MODULE_ALIAS};

/// The edited text (or `None` when unchanged) and the summary for the report.
pub struct TextOutcome {
    /// New text, `None` when nothing was selected.
    pub text: Option<String>,
    /// Counts and names for the report.
    pub summary: SourceOutcome,
}

/// Instruments decoded source text.
pub fn instrument_text(
    text: &str,
    target: ModuleTarget<'_>,
    config: &Config,
) -> Result<TextOutcome, SourceError> {
    let parsed = ruff_python_parser::parse_module(text).map_err(|e| {
        let (line, column) = crate::config::snippet::line_col(text, e.location.start().into());
        SourceError::Syntax {
            line,
            column,
            message: e.error.to_string(),
        }
    })?;
    let suite = parsed.suite();
    let strings = syntax::string_ranges(suite);
    let starts = syntax::line_starts(text);
    let inside = syntax::lines_inside_strings(&starts, &strings);

    let mut injector = Injector {
        layout: Layout::new(text, inside),
        config,
        target,
        enter: HookAbi::of(config, HookKind::FunctionEnter),
        functions: Vec::new(),
    };
    injector.body(suite, &Scope::module());

    let mut summary = SourceOutcome {
        not_instrumented: count_not_instrumented(suite),
        ..SourceOutcome::default()
    };
    let statement_lines = statement_lines(suite, &injector.layout);
    summary.statements = statement_lines.len();

    let module_enter = HookAbi::of(config, HookKind::ModuleEnter);
    if injector.functions.is_empty() && module_enter.is_none() {
        return Ok(TextOutcome {
            text: None,
            summary,
        });
    }
    let mut prologue = format!("import {} as {MODULE_ALIAS}", target.hooks_module);
    if let Some(abi) = &module_enter {
        let site = Site::module(target, 1 + injector.module_body_line(suite));
        prologue.push_str("; ");
        prologue.push_str(&injector.call(abi, &site, &|_| {
            unreachable!("module hooks have no dynamic values")
        }));
    }
    injector.module_prologue(suite, &prologue);

    summary.functions = std::mem::take(&mut injector.functions);
    let rendered = injector.layout.render(&statement_lines);
    summary.statements_moved = statement_lines
        .iter()
        .filter(|&&l| rendered.line_map[l] != Some(l))
        .count();
    Ok(TextOutcome {
        text: Some(rendered.text),
        summary,
    })
}

/// Where a definition sits: the qualname prefix of its children and the enclosing class.
#[derive(Debug, Clone)]
struct Scope {
    prefix: String,
    class_name: Option<String>,
}

impl Scope {
    fn module() -> Self {
        Scope {
            prefix: String::new(),
            class_name: None,
        }
    }
}

/// The static values of one hook site.
struct Site<'a> {
    kind_label: String,
    module: &'a str,
    file_name: &'a str,
    function: Option<&'a str>,
    qualname: Option<String>,
    class_name: Option<String>,
    lineno: usize,
}

impl<'a> Site<'a> {
    fn module(target: ModuleTarget<'a>, lineno: usize) -> Self {
        Site {
            kind_label: HookKind::ModuleEnter.label(),
            module: target.module,
            file_name: target.file_name,
            function: None,
            qualname: None,
            class_name: None,
            lineno,
        }
    }
}

struct Injector<'t, 'c> {
    layout: Layout<'t>,
    config: &'c Config,
    target: ModuleTarget<'c>,
    enter: Option<HookAbi>,
    functions: Vec<String>,
}

impl Injector<'_, '_> {
    fn line_of(&self, offset: impl Into<usize>) -> usize {
        self.layout.line_of(offset.into())
    }

    /// Walks a block, instrumenting the definitions in it.
    fn body(&mut self, body: &[Stmt], scope: &Scope) {
        for stmt in body {
            self.stmt(stmt, scope);
        }
    }

    fn stmt(&mut self, stmt: &Stmt, scope: &Scope) {
        match stmt {
            Stmt::FunctionDef(f) => self.function(f, scope),
            Stmt::ClassDef(c) => {
                let inner = Scope {
                    prefix: format!("{}{}.", scope.prefix, c.name.id),
                    class_name: Some(c.name.id.to_string()),
                };
                self.body(&c.body, &inner);
            }
            Stmt::If(s) => {
                self.body(&s.body, scope);
                for clause in &s.elif_else_clauses {
                    self.body(&clause.body, scope);
                }
            }
            Stmt::For(s) => {
                self.body(&s.body, scope);
                self.body(&s.orelse, scope);
            }
            Stmt::While(s) => {
                self.body(&s.body, scope);
                self.body(&s.orelse, scope);
            }
            Stmt::With(s) => self.body(&s.body, scope),
            Stmt::Try(s) => {
                self.body(&s.body, scope);
                for handler in &s.handlers {
                    let ast::ExceptHandler::ExceptHandler(h) = handler;
                    self.body(&h.body, scope);
                }
                self.body(&s.orelse, scope);
                self.body(&s.finalbody, scope);
            }
            Stmt::Match(s) => {
                for case in &s.cases {
                    self.body(&case.body, scope);
                }
            }
            _ => {}
        }
    }

    fn function(&mut self, f: &ast::StmtFunctionDef, scope: &Scope) {
        let qualname = format!("{}{}", scope.prefix, f.name.id);
        if self.config.selection.function(&qualname)
            && let Some(abi) = self.enter.clone()
        {
            let site = Site {
                kind_label: HookKind::FunctionEnter.label(),
                module: self.target.module,
                file_name: self.target.file_name,
                function: Some(f.name.id.as_str()),
                qualname: Some(qualname.clone()),
                class_name: scope.class_name.clone(),
                lineno: self.line_of(f.name.start()) + 1,
            };
            let params = Params::of(&f.parameters);
            let call = self.call(&abi, &site, &|p| params.value(p));
            let header_end = self.line_of(header_end(f)) + 1;
            self.place_statement(&f.body, 0, header_end, call);
            self.functions.push(qualname.clone());
        }
        let inner = Scope {
            prefix: format!("{qualname}.<locals>."),
            class_name: None,
        };
        self.body(&f.body, &inner);
    }

    /// Writes `code` as a statement that runs before `body[skip..]`: after the docstring or
    /// the skipped statements, inline before the first simple statement, or on its own line
    /// in the window starting at line `lo`.
    fn place_statement(&mut self, body: &[Stmt], skip: usize, lo: usize, code: String) {
        let skip = if skip == 0 && docstring(body).is_some() {
            1
        } else {
            skip
        };
        if skip > 0 {
            let anchor = &body[skip - 1];
            self.layout.insert(anchor.end().into(), format!("; {code}"));
            return;
        }
        match body.first() {
            Some(first) if !ast::helpers::is_compound_statement(first) => {
                self.layout
                    .insert(first.start().into(), format!("{code}; "));
            }
            Some(first) => {
                let line = self.line_of(first.start());
                let indent = self.layout.indent_of(line).to_string();
                self.layout.request_line(LineRequest {
                    lo,
                    hi: line,
                    indent,
                    code,
                });
            }
            None => {
                let end = self.layout.line_count();
                self.layout.request_line(LineRequest {
                    lo: end,
                    hi: end,
                    indent: String::new(),
                    code,
                });
            }
        }
    }

    /// Binds the hooks module (and runs module-enter) after the docstring and
    /// `from __future__` imports.
    fn module_prologue(&mut self, suite: &[Stmt], code: &str) {
        let skip = module_prefix_len(suite);
        self.place_statement(suite, skip, 0, code.to_string());
    }

    /// 0-based line where the module body proper starts (for module-enter's `{lineno}`).
    fn module_body_line(&self, suite: &[Stmt]) -> usize {
        let skip = module_prefix_len(suite);
        suite
            .get(skip)
            .or(suite.last())
            .map_or(0, |s| self.line_of(s.start()))
    }

    /// `_equip_h.<hook>(<site>, <values>)` for a site.
    fn call(&self, abi: &HookAbi, site: &Site, dynamic: &dyn Fn(Placeholder) -> String) -> String {
        let mut args = Vec::with_capacity(abi.params.len() + 1);
        if abi.site_arg {
            let place = match &site.qualname {
                Some(q) => format!("{}:{q}", site.module),
                None => site.module.to_string(),
            };
            args.push(format!(
                "({}, {}, {}, {})",
                py_str(&site.kind_label),
                py_str(site.file_name),
                site.lineno,
                py_str(&place)
            ));
        }
        for p in &abi.params {
            args.push(match p {
                Placeholder::Module => py_str(site.module),
                Placeholder::FileName => py_str(site.file_name),
                Placeholder::Function => py_opt_str(site.function),
                Placeholder::Qualname => py_opt_str(site.qualname.as_deref()),
                Placeholder::ClassName => py_opt_str(site.class_name.as_deref()),
                Placeholder::Lineno => site.lineno.to_string(),
                other => dynamic(*other),
            });
        }
        format!("{MODULE_ALIAS}.{}({})", abi.function, args.join(", "))
    }
}

/// The statements a module starts with that must stay first: its docstring and
/// `from __future__` imports.
fn module_prefix_len(suite: &[Stmt]) -> usize {
    let mut n = usize::from(docstring(suite).is_some());
    while let Some(Stmt::ImportFrom(i)) = suite.get(n) {
        if i.module.as_ref().is_some_and(|m| m.id == "__future__") {
            n += 1;
        } else {
            break;
        }
    }
    n
}

/// The end of a function's header (name, type parameters, parameters, return annotation).
fn header_end(f: &ast::StmtFunctionDef) -> usize {
    let mut end = f.parameters.end();
    if let Some(r) = &f.returns {
        end = end.max(r.end());
    }
    end.into()
}

/// A function's parameters, in signature order, for `{arguments}` and `{argN}`.
struct Params {
    names: Vec<String>,
}

impl Params {
    fn of(p: &ast::Parameters) -> Self {
        let mut names: Vec<String> = Vec::new();
        names.extend(
            p.posonlyargs
                .iter()
                .map(|a| a.parameter.name.id.to_string()),
        );
        names.extend(p.args.iter().map(|a| a.parameter.name.id.to_string()));
        if let Some(v) = &p.vararg {
            names.push(v.name.id.to_string());
        }
        names.extend(p.kwonlyargs.iter().map(|a| a.parameter.name.id.to_string()));
        if let Some(k) = &p.kwarg {
            names.push(k.name.id.to_string());
        }
        Params { names }
    }

    /// Source for a dynamic placeholder available at function entry.
    fn value(&self, p: Placeholder) -> String {
        match p {
            Placeholder::Arguments => {
                let items: Vec<String> = self
                    .names
                    .iter()
                    .map(|n| format!("{}: {n}", py_str(n)))
                    .collect();
                format!("{{{}}}", items.join(", "))
            }
            Placeholder::Arg(i) => self
                .names
                .get(usize::from(i))
                .cloned()
                .unwrap_or_else(|| "None".into()),
            other => unreachable!("{other} is not available at function entry"),
        }
    }
}

/// 0-based start lines of every statement in the module, nested ones included.
fn statement_lines(suite: &[Stmt], layout: &Layout) -> Vec<usize> {
    struct Lines<'l, 't>(&'l Layout<'t>, Vec<usize>);
    impl<'a> StatementVisitor<'a> for Lines<'_, '_> {
        fn visit_stmt(&mut self, stmt: &'a Stmt) {
            self.1.push(self.0.line_of(stmt.start().into()));
            statement_visitor::walk_stmt(self, stmt);
        }
    }
    let mut v = Lines(layout, Vec::new());
    v.visit_body(suite);
    v.1
}

/// Counts lambdas, comprehensions and class bodies, which are not instrumented.
fn count_not_instrumented(suite: &[Stmt]) -> NotInstrumented {
    struct Count(NotInstrumented);
    impl<'a> Visitor<'a> for Count {
        fn visit_stmt(&mut self, stmt: &'a Stmt) {
            if matches!(stmt, Stmt::ClassDef(_)) {
                self.0.class_bodies += 1;
            }
            visitor::walk_stmt(self, stmt);
        }
        fn visit_expr(&mut self, expr: &'a Expr) {
            match expr {
                Expr::Lambda(_) => self.0.lambdas += 1,
                Expr::ListComp(_) | Expr::SetComp(_) | Expr::DictComp(_) | Expr::Generator(_) => {
                    self.0.comprehensions += 1
                }
                _ => {}
            }
            visitor::walk_expr(self, expr);
        }
    }
    let mut c = Count(NotInstrumented::default());
    c.visit_body(suite);
    c.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> Config {
        Config::from_toml_str(text, "equip.toml").unwrap()
    }

    fn run(src: &str, cfg: &Config) -> TextOutcome {
        let target = ModuleTarget {
            module: "pkg.mod",
            file_name: "pkg/mod.py",
            hooks_module: "_equip_hooks_pkg",
        };
        instrument_text(src, target, cfg).unwrap()
    }

    const ENTER: &str = "[hooks]\non-hook-error = \"raise\"\nfunction-enter = \"t.start({qualname}, {arguments})\"\n";

    #[test]
    fn inline_enter_after_docstring_and_before_simple_statements() {
        let src = "\"\"\"Module doc.\"\"\"\nfrom __future__ import annotations\n\ndef f(a, *args, b=1, **kw):\n    \"\"\"Doc.\"\"\"\n    return a\n\nclass C:\n    def m(self):\n        return 1\n";
        let out = run(src, &config(ENTER));
        let text = out.text.unwrap();
        assert_eq!(
            text,
            "\"\"\"Module doc.\"\"\"\nfrom __future__ import annotations; import _equip_hooks_pkg as _equip_h\n\ndef f(a, *args, b=1, **kw):\n    \"\"\"Doc.\"\"\"; _equip_h._equip_function_enter('f', {'a': a, 'args': args, 'b': b, 'kw': kw})\n    return a\n\nclass C:\n    def m(self):\n        _equip_h._equip_function_enter('C.m', {'self': self}); return 1\n"
        );
        assert_eq!(out.summary.functions, vec!["f", "C.m"]);
        assert_eq!(out.summary.statements_moved, 0);
        assert_eq!(out.summary.not_instrumented.class_bodies, 1);
    }

    #[test]
    fn compound_first_statement_uses_a_line_and_counts_moves() {
        let src = "import os\n\n\ndef f(x):\n    if x:\n        return 1\n    return 2\n";
        let out = run(src, &config(ENTER));
        let text = out.text.unwrap();
        assert_eq!(
            text,
            "import _equip_hooks_pkg as _equip_h; import os\n\ndef f(x):\n    _equip_h._equip_function_enter('f', {'x': x})\n    if x:\n        return 1\n    return 2\n"
        );
        assert_eq!(out.summary.statements_moved, 1); // the def moved up one line
    }

    #[test]
    fn qualnames_nested_and_selection() {
        let cfg = config(&format!(
            "{ENTER}[select]\nfunctions = [\"outer.<locals>.*\", \"C.*\"]\n"
        ));
        let src = "def outer():\n    def inner():\n        pass\n    return inner\nclass C:\n    class D:\n        def m(self): pass\n    def n(self): pass\n";
        let out = run(src, &cfg);
        assert_eq!(out.summary.functions, vec!["outer.<locals>.inner", "C.n"]);
        let text = out.text.unwrap();
        assert!(text.contains("def m(self): pass\n"));
        assert!(
            text.contains(
                "def n(self): _equip_h._equip_function_enter('C.n', {'self': self}); pass\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn nothing_selected_leaves_the_file_alone() {
        let cfg = config(&format!("{ENTER}[select]\nfunctions = [\"nope\"]\n"));
        assert!(run("def f(): pass\n", &cfg).text.is_none());
    }

    #[test]
    fn module_enter_and_site_tuple_for_warn_policy() {
        let cfg = config("[hooks]\nmodule-enter = \"print({module}, {lineno})\"\n");
        let out = run("# comment\nimport os\n", &cfg);
        assert_eq!(
            out.text.unwrap(),
            "# comment\nimport _equip_hooks_pkg as _equip_h; _equip_h._equip_module_enter(('module-enter', 'pkg/mod.py', 2, 'pkg.mod'), 'pkg.mod', 2); import os\n"
        );
        let out = run("", &cfg);
        assert!(out.text.unwrap().starts_with("import _equip_hooks_pkg"));
    }
}
