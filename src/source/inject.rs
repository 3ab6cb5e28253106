//! Planning and writing the hook calls of one module's source (the contract is
//! `docs/semantics.md`).
//!
//! Shape of an instrumented function with every hook (lines marked `+` are new; the layout
//! finds them on blank/comment lines or pays for them elsewhere):
//!
//! ```text
//!   def f(a):
//!       """Doc."""
//! +     try:
//!           _equip_e = None; _equip_e = _equip_h._equip_function_enter(...); x = g(a)
//!           return _equip_h._equip_function_exit(..., (x), _equip_e)
//! +     except BaseException as _equip_x: _equip_h._equip_function_error(..., _equip_x, _equip_e); raise
//! ```
//!
//! Entry code goes inline before the first statement when it is simple, into the header
//! expression of a first `if`/`for`/`with`/`match` (as `(... is None or True) and (test)`),
//! into the body of a first `try`, else on a line of its own. Without an error hook (and
//! for functions that cannot suspend) no `try` is needed and the function keeps every line.
//!
//! A function with a `return` that cleanup code follows (inside a `with`, or a `try` with a
//! `finally`) defers its exits to a `finally` of the whole body, so that the exit hook runs
//! after that cleanup, with the value the frame really returns ([`Deferred`]):
//!
//! ```text
//!   def f(a):
//! +     try:
//!           with ((_equip_e := None) is None or True) and ((_equip_e := ...) is None or True) and (cm()):
//!               _equip_l = 4; return (_equip_r := (x))
//! +         _equip_l = 3; _equip_r = None
//! +     except BaseException as _equip_x: _equip_l = None; _equip_h._equip_function_error(...); raise
//! +     finally: _equip_l is None or _equip_h._equip_function_exit(..., _equip_l, _equip_r)
//! ```

use std::collections::HashMap;

use ruff_python_ast::statement_visitor::{self, StatementVisitor};
use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_text_size::{Ranged, TextSize};

use super::SourceError;
use super::flow;
use super::layout::{Layout, LineRequest};
use super::lines::LineFacts;
use crate::config::call_shape::CallValue;
use crate::config::{Config, HookKind, Placeholder};
use crate::hook_abi::{Binding, HookAbi, HookSet, MODULE_ALIAS};
use crate::line::LineNumber;
use crate::module::{ModuleOutcome, ModuleTarget, NotInstrumented};
use crate::syntax::{docstring, py_opt_str, py_str};

/// The edited text (or `None` when unchanged) and what the report says of it (every field
/// of the [`ModuleOutcome`] but `new_bytes`, which [`super::instrument`] encodes from `text`).
pub struct TextOutcome {
    /// New text, `None` when nothing was selected.
    pub text: Option<String>,
    /// Counts, names and warnings for the report.
    pub summary: ModuleOutcome,
}

/// Instruments decoded source text.
pub fn instrument_text(
    text: &str,
    target: ModuleTarget<'_>,
    config: &Config,
) -> Result<TextOutcome, SourceError> {
    let parsed = super::parse_module(text)?;
    let suite = parsed.suite();
    let facts = LineFacts::new(text, parsed.tokens(), suite);
    let mut layout = Layout::new(text, facts);
    allow_statement_joins(suite, &mut layout);
    let statements = statement_offsets(suite);
    let probes = probe_targets(config, target, suite, &layout)?;
    let probed = probes.keys().copied().collect();

    let mut injector = Injector {
        layout,
        config,
        target,
        hooks: HookSet::of(config),
        probes,
        probed,
        functions: Vec::new(),
        probes_placed: 0,
        warnings: Vec::new(),
        end_requests: Vec::new(),
    };
    injector.body(suite, &Scope::module(), None);

    let mut summary = ModuleOutcome {
        not_instrumented: count_not_instrumented(suite),
        statements: statements.len(),
        ..ModuleOutcome::default()
    };
    // Patches are installed when the hooks module is first imported: every module binds it
    // then, whichever of them the program imports first.
    let module_hooks = injector.hooks.module_enter.is_some()
        || injector.hooks.module_exit.is_some()
        || !config.patches.is_empty();
    if injector.functions.is_empty() && injector.probes_placed == 0 && !module_hooks {
        return Ok(TextOutcome {
            text: None,
            summary,
        });
    }
    injector.module_prologue(suite);
    injector.module_epilogue(suite);

    summary.functions = std::mem::take(&mut injector.functions);
    summary.probes = injector.probes_placed;
    summary.warnings = std::mem::take(&mut injector.warnings);
    let layout = injector.layout;
    let lines: Vec<usize> = statements.iter().map(|&o| layout.line_of(o)).collect();
    let rendered = layout.render(&statements);
    summary.statements_moved = statements
        .iter()
        .zip(&lines)
        .filter(|&(&o, &line)| rendered.output_line(o) != line)
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

/// The enclosing function of a statement (for probe sites).
#[derive(Clone, Copy)]
struct InFunction<'a> {
    name: &'a str,
    qualname: &'a str,
    class_name: Option<&'a str>,
}

/// The static values of one hook site.
struct Site<'a> {
    module: &'a str,
    file_name: &'a str,
    function: Option<&'a str>,
    qualname: Option<&'a str>,
    class_name: Option<&'a str>,
    lineno: LineNumber,
    /// `{lineno}` comes from `dynamic` (a deferred exit), not from `lineno`.
    dynamic_lineno: bool,
    /// The line of the enclosing `def` (the error hook's `{lineno}`), for hooks that pass it
    /// besides their own ([`HookAbi::error_lineno`]).
    def_lineno: LineNumber,
}

/// Hidden local holding the value a function returns, for an exit hook that receives it
/// after the `return` (direct calls and deferred exits).
const KEPT: &str = "_equip_r";

/// Hidden local of a function with deferred exits: the 1-based line of the `return` (or
/// fall-off) it is leaving by, `None` while an exception leaves it.
const LEAVING: &str = "_equip_l";

/// How a function whose returns have cleanup after them (`finally`, `__exit__`) reports its
/// exit: entry records a `None` result falling off from the last statement's line (in
/// `_equip_l`, and in `_equip_r` when the exit hook takes `{return_value}`), every return
/// records its line and value once the value is evaluated, falling off the end after a
/// simple statement records that statement's line inline, and a `finally` of the whole body
/// reports, after all the function's cleanup, the exit with the value the frame actually
/// returns (a `finally` that returns records its own line and value last) or the error. In
/// a function that cannot suspend that `finally` calls the hooks module's leave function
/// ([`HookAbi::leave`]), which tells the two apart; in a generator or coroutine a handler
/// before it clears `_equip_l` and reports the error, and the `finally` reports the exit
/// when `_equip_l` still holds a line.
#[derive(Clone, Copy)]
struct Deferred {
    /// Whether the exit hook takes `{return_value}` (else nothing is kept in `_equip_r`).
    value: bool,
}

/// A piece of code that runs before a statement, writable as a statement or an expression.
struct Piece {
    stmt: String,
    expr: String,
}

impl Piece {
    fn call(call: String) -> Self {
        Piece {
            stmt: call.clone(),
            expr: call,
        }
    }

    fn assign(target: &str, value: String) -> Self {
        Piece {
            stmt: format!("{target} = {value}"),
            expr: format!("({target} := {value})"),
        }
    }
}

/// A probe to place before a statement: its ABI (whose kind holds its index in the config).
struct ProbeTarget {
    abi: HookAbi,
}

struct Injector<'t, 'c> {
    layout: Layout<'t>,
    config: &'c Config,
    target: ModuleTarget<'c>,
    hooks: HookSet,
    /// Statement start offset -> probes to run before it.
    probes: HashMap<usize, Vec<ProbeTarget>>,
    /// Start offsets of the statements that have probes.
    probed: Vec<usize>,
    functions: Vec<String>,
    probes_placed: usize,
    warnings: Vec<String>,
    /// Lines that close functions (fall-off exit, `except`), requested once the functions
    /// nested in them have requested theirs: nested blocks close first.
    end_requests: Vec<LineRequest>,
}

impl Injector<'_, '_> {
    /// The 0-based index of the line containing byte `offset`.
    fn line_of(&self, offset: impl Into<usize>) -> usize {
        self.layout.line_of(offset.into())
    }

    /// Walks a block: probes before its statements, instrumentation of its definitions.
    fn body(&mut self, body: &[Stmt], scope: &Scope, within: Option<InFunction>) {
        for stmt in body {
            self.probe_before(stmt, scope, within);
            self.stmt(stmt, scope, within);
        }
    }

    fn stmt(&mut self, stmt: &Stmt, scope: &Scope, within: Option<InFunction>) {
        match stmt {
            Stmt::FunctionDef(f) => self.function(f, scope),
            Stmt::ClassDef(c) => {
                let inner = Scope {
                    prefix: format!("{}{}.", scope.prefix, c.name.id),
                    class_name: Some(c.name.id.to_string()),
                };
                let in_class = within.map(|w| InFunction {
                    class_name: None,
                    ..w
                });
                self.body(&c.body, &inner, in_class);
            }
            Stmt::If(s) => {
                self.body(&s.body, scope, within);
                for clause in &s.elif_else_clauses {
                    self.body(&clause.body, scope, within);
                }
            }
            Stmt::For(s) => {
                self.body(&s.body, scope, within);
                self.body(&s.orelse, scope, within);
            }
            Stmt::While(s) => {
                self.body(&s.body, scope, within);
                self.body(&s.orelse, scope, within);
            }
            Stmt::With(s) => self.body(&s.body, scope, within),
            Stmt::Try(s) => {
                self.body(&s.body, scope, within);
                for handler in &s.handlers {
                    let ast::ExceptHandler::ExceptHandler(h) = handler;
                    self.body(&h.body, scope, within);
                }
                self.body(&s.orelse, scope, within);
                self.body(&s.finalbody, scope, within);
            }
            Stmt::Match(s) => {
                for case in &s.cases {
                    self.body(&case.body, scope, within);
                }
            }
            _ => {}
        }
    }

    /// Places the probes configured for the line `stmt` starts on.
    fn probe_before(&mut self, stmt: &Stmt, scope: &Scope, within: Option<InFunction>) {
        let Some(targets) = self.probes.remove(&usize::from(stmt.start())) else {
            return;
        };
        let line = self.line_of(stmt.start());
        let mut pieces = Vec::new();
        for t in targets {
            let site = Site {
                module: self.target.module,
                file_name: self.target.file_name,
                function: within.map(|w| w.name),
                qualname: within.map(|w| w.qualname),
                class_name: within.map_or(scope.class_name.as_deref(), |w| w.class_name),
                lineno: LineNumber::from_zero_indexed(line),
                dynamic_lineno: false,
                def_lineno: LineNumber::from_zero_indexed(line),
            };
            let call = self.call(&t.abi, &site, &|p| match p {
                Placeholder::Locals => format!("{MODULE_ALIAS}._equip_locals()"),
                other => unreachable!("{other} has no value in a probe"),
            });
            pieces.push(Piece::call(call));
            self.probes_placed += 1;
        }
        let lo = self.free_lines_above(line);
        self.run_before(stmt, &pieces, lo, line);
    }

    /// The first line of the run of blank/comment lines directly above `line`.
    fn free_lines_above(&self, line: usize) -> usize {
        let mut lo = line;
        while lo > 0
            && self.layout.is_blank_or_comment(lo - 1)
            && !self.layout.inside_string(lo - 1)
        {
            lo -= 1;
        }
        lo
    }

    /// Writes `pieces` so they run just before `stmt`: inline before a simple statement, in
    /// the header expression of `if`/`for`/`with`/`match`, in the body of `try`, else on a
    /// line of their own (window starting at line `lo`; indentation from `anchor`).
    fn run_before(&mut self, stmt: &Stmt, pieces: &[Piece], lo: usize, anchor: usize) {
        let header = match stmt {
            Stmt::If(s) => Some(s.test.range()),
            Stmt::For(s) => Some(s.iter.range()),
            Stmt::With(s) => s.items.first().map(|i| i.context_expr.range()),
            Stmt::Match(s) => Some(s.subject.range()),
            _ => None,
        };
        if let Some(range) = header {
            let mut prefix = String::new();
            for p in pieces {
                prefix.push_str(&format!("({} is None or True) and ", p.expr));
            }
            prefix.push('(');
            self.layout.insert(range.start().into(), prefix);
            self.layout.insert(range.end().into(), ")");
            return;
        }
        match stmt {
            Stmt::Try(t) if !t.body.is_empty() => {
                let first = &t.body[0];
                let line = self.line_of(first.start());
                let lo = self.line_of(stmt.start()) + 1;
                self.run_before(first, pieces, lo, line);
            }
            s if !ast::helpers::is_compound_statement(s)
                && !annotates_match_name(&self.layout, s) =>
            {
                let stmts: Vec<&str> = pieces.iter().map(|p| p.stmt.as_str()).collect();
                let start = usize::from(stmt.start());
                self.layout.insert(start, format!("{}; ", stmts.join("; ")));
                if leads_with_match_name(&self.layout, s) {
                    // `...; (match) = pattern.match(line)`: the same statement, which the
                    // parser no longer takes for a `match` statement after `; `.
                    self.layout.insert(start, "(");
                    self.layout.insert(start + "match".len(), ")");
                }
            }
            _ => {
                let line = self.line_of(stmt.start());
                let stmts: Vec<&str> = pieces.iter().map(|p| p.stmt.as_str()).collect();
                self.layout.request_line(LineRequest {
                    lo,
                    hi: line,
                    anchor,
                    indent: self.layout.indent_of(line).to_string(),
                    code: stmts.join("; "),
                });
            }
        }
    }

    fn function(&mut self, f: &ast::StmtFunctionDef, scope: &Scope) {
        let qualname = format!("{}{}", scope.prefix, f.name.id);
        let within = InFunction {
            name: f.name.id.as_str(),
            qualname: &qualname,
            class_name: scope.class_name.as_deref(),
        };
        let inner = Scope {
            prefix: format!("{qualname}.<locals>."),
            class_name: None,
        };
        let selected = self.config.selection.function(&qualname)
            && (self.hooks.enter.is_some()
                || self.hooks.exit.is_some()
                || self.hooks.error.is_some());
        let mark = self.end_requests.len();
        if selected {
            // `instrument_function` may switch to the hooks that report their own failure.
            let hooks = self.hooks.clone();
            self.instrument_function(f, &qualname, scope);
            self.hooks = hooks;
            self.functions.push(qualname.clone());
        }
        self.body(&f.body, &inner, Some(within));
        for request in self.end_requests.split_off(mark) {
            self.layout.request_line(request);
        }
    }

    fn instrument_function(&mut self, f: &ast::StmtFunctionDef, qualname: &str, scope: &Scope) {
        let def_line = self.line_of(f.name.start());
        let target = self.target;
        let site = |lineno| Site {
            module: target.module,
            file_name: target.file_name,
            function: Some(f.name.id.as_str()),
            qualname: Some(qualname),
            class_name: scope.class_name.as_deref(),
            lineno: LineNumber::from_zero_indexed(lineno),
            dynamic_lineno: false,
            def_lineno: LineNumber::from_zero_indexed(def_line),
        };
        let params = Params::of(&f.parameters);
        let keep_args = self
            .hooks
            .after_entry_uses(|p| matches!(p, Placeholder::Arguments | Placeholder::Arg(_)));
        let keep_enter = self.hooks.enter.is_some()
            && self
                .hooks
                .after_entry_uses(|p| p == Placeholder::EnterValue);
        let suspends = flow::can_suspend(f);
        let skip = usize::from(docstring(&f.body).is_some());
        let rest = &f.body[skip..];
        // Returns with cleanup after them report their exit from a `finally` of the whole
        // body, once that cleanup has run (see `Deferred`).
        let mut deferred = self.hooks.exit.is_some() && flow::returns_through_cleanup(&f.body);
        let mut wrap =
            self.hooks.error.is_some() || (self.hooks.exit.is_some() && suspends) || deferred;
        // `pass`, `return self`, a docstring...: only a hook can raise there, and only under
        // the `raise` policy (the others catch the hook's exception). There the enter and
        // exit hooks report their own failure to the error hook, so no `try:` is needed, nor
        // a line for its handler. The caller restores `self.hooks`.
        // A body that is only a docstring (`async def` ones included) has nothing to put
        // under `try:` either.
        if wrap
            && (rest.is_empty()
                || (!suspends && !deferred && flow::cannot_raise(&f.body, &params.names)))
        {
            wrap = false;
            if let Some(reporting) = self.hooks.reporting() {
                self.hooks = reporting;
            }
        }
        // A body on the header's last line (`def f(x): return x`, or after a multi-line
        // parameter list) has to be split off to go under `try:`.
        let header_line = self.line_of(header_end(f));
        let first_on_def_line = rest
            .first()
            .is_some_and(|s| self.line_of(s.start()) == header_line);
        let shares_docstring_line = !rest.is_empty()
            && skip == 1
            && self.line_of(rest[0].start()) == self.line_of(f.body[0].end());
        if wrap && shares_docstring_line {
            self.warnings.push(format!(
                "{}:{}: {qualname}: function-error not placed (the body shares a line with the docstring)",
                self.target.file_name,
                LineNumber::from_zero_indexed(def_line)
            ));
            if deferred {
                self.warnings.push(format!(
                    "{}:{}: {qualname}: function-exit runs before `finally`/`with` cleanup (the body shares a line with the docstring)",
                    self.target.file_name,
                    LineNumber::from_zero_indexed(def_line)
                ));
            }
            wrap = false;
            deferred = false;
        }
        let deferred = deferred.then(|| Deferred {
            value: self
                .config
                .hooks
                .get(HookKind::FunctionExit)
                .is_some_and(|s| s.params().any(|p| p == Placeholder::ReturnValue)),
        });

        // Values computed at entry.
        let later = |p: Placeholder| -> String {
            match p {
                Placeholder::EnterValue => "_equip_e".into(),
                Placeholder::Arguments => "_equip_a".into(),
                Placeholder::Arg(i) => params
                    .names
                    .get(usize::from(i))
                    .map_or("None".into(), |n| format!("_equip_a[{}]", py_str(n))),
                other => unreachable!("{other} is passed explicitly"),
            }
        };
        let mut entry = Vec::new();
        if let Some(d) = deferred {
            // Falling off after a `with` whose context manager swallowed an exception raised
            // before the `with`'s last `return` has no code of its own: it finds these.
            let last = f.body.last().expect("a function has a body");
            entry.push(Piece::assign(
                LEAVING,
                LineNumber::from_zero_indexed(self.line_of(last.start())).to_string(),
            ));
            if d.value {
                entry.push(Piece::assign(KEPT, "None".into()));
            }
        }
        if keep_args {
            entry.push(Piece::assign("_equip_a", params.dict()));
        }
        if let Some(abi) = &self.hooks.enter {
            let call = self.call(abi, &site(def_line), &|p| match p {
                Placeholder::Arguments if keep_args => "_equip_a".into(),
                other => params.value(other),
            });
            if keep_enter {
                if wrap {
                    entry.push(Piece::assign("_equip_e", "None".into()));
                }
                entry.push(Piece::assign("_equip_e", call));
            } else {
                entry.push(Piece::call(call));
            }
        }

        let body_indent = rest
            .first()
            .map(|s| self.layout.indent_of(self.line_of(s.start())).to_string())
            .unwrap_or_default();
        if !wrap {
            // Entry after the docstring, inline or in the first statement.
            if !entry.is_empty() {
                match rest.first() {
                    _ if skip == 1 => {
                        let stmts: Vec<&str> = entry.iter().map(|p| p.stmt.as_str()).collect();
                        self.layout
                            .insert(f.body[0].end().into(), format!("; {}", stmts.join("; ")));
                    }
                    Some(first) => {
                        // After nested `def`s that run nothing (`def decorator(f): ...` first
                        // in a decorator factory): then entry needs no line of its own.
                        let names: Vec<&str> = params.names.iter().map(String::as_str).collect();
                        let (at, lo) = match after_inert_defs(rest, &[], &names) {
                            Some(i) if i > 0 => (&rest[i], self.line_of(rest[i - 1].end()) + 1),
                            _ => (first, self.line_of(header_end(f)) + 1),
                        };
                        let line = self.line_of(at.start());
                        self.run_before(at, &entry, lo, line);
                    }
                    None => {}
                }
            }
            self.wrap_returns(f, &site, &later, None);
            self.fall_off_exit(f, &site, &later, None, None);
            return;
        }

        let first = &rest[0];
        let first_line = self.line_of(first.start());
        let last_line = self.line_of(f.body.last().expect("non-empty").end());
        let def_indent = self.layout.indent_of(def_line).to_string();
        let unit = if first_on_def_line {
            "    ".to_string()
        } else {
            self.indent_unit(&def_indent, &body_indent, first_line, last_line)
        };
        let try_indent = if first_on_def_line {
            format!("{def_indent}{unit}")
        } else {
            body_indent.clone()
        };
        // Simple statements all starting on one line (they may continue over several lines in
        // brackets) form one logical line: `try:` can take them as its inline suite.
        let single_line_body = rest.iter().all(|s| {
            !ast::helpers::is_compound_statement(s) && self.line_of(s.start()) == first_line
        }) && !annotates_match_name(&self.layout, &rest[0]);
        if first_on_def_line || single_line_body {
            // `def f(x): stmt; stmt` becomes `def f(x):` / `    try: stmt; stmt`; a body that
            // is one line of simple statements takes the `try:` inline.
            if first_on_def_line {
                self.layout
                    .split_line(first.start().into(), def_line, try_indent.clone());
            }
            let stmts: Vec<&str> = entry.iter().map(|p| p.stmt.as_str()).collect();
            let mut head = "try: ".to_string();
            if !stmts.is_empty() {
                head.push_str(&stmts.join("; "));
                head.push_str("; ");
            }
            self.layout.insert(first.start().into(), head);
            if !stmts.is_empty() && leads_with_match_name(&self.layout, first) {
                // `try: <entry>; (match) = ...` (see `leads_with_match_name`; with `match: T`
                // only in `def f(): match: T = v`, which has no line to spare).
                self.layout.insert(first.start().into(), "(");
                self.layout
                    .insert(usize::from(first.start()) + "match".len(), ")");
            }
            self.layout.forbid_statement_join(first_line);
        } else {
            let lo = self.line_of(if skip == 1 {
                f.body[0].end().into()
            } else {
                header_end(f)
            }) + 1;
            self.layout.request_line(LineRequest {
                lo,
                hi: first_line,
                anchor: def_line,
                indent: body_indent.clone(),
                code: "try:".into(),
            });
            for line in first_line..=last_line {
                self.layout.indent_line(line, unit.clone());
            }
            if !entry.is_empty() {
                self.run_before(first, &entry, lo, first_line);
            }
        }
        let next = self.next_code_line(last_line);
        self.wrap_returns(f, &site, &later, deferred);
        self.fall_off_exit(
            f,
            &site,
            &later,
            Some((next, body_indent.clone())),
            deferred,
        );

        // The handler.
        let def_site = site(def_line);
        let exit_on_close = match (&self.hooks.exit, suspends) {
            (Some(abi), true) => Some(self.exit_none(abi, &site(def_line), &later)),
            _ => None,
        };
        let error = self.hooks.error.clone().map(|abi| {
            self.call(&abi, &def_site, &|p| match p {
                Placeholder::Exception => "_equip_x".into(),
                other => later(other),
            })
        });
        // A deferred exit is not reported when an exception leaves the function.
        let clear = if deferred.is_some() {
            format!("{LEAVING} = None; ")
        } else {
            String::new()
        };
        let handler = match (error, exit_on_close, suspends) {
            (Some(err), Some(exit), _) => format!(
                "except BaseException as _equip_x: {clear}({exit} if isinstance(_equip_x, GeneratorExit) else {err}); raise"
            ),
            (Some(err), None, true) => format!(
                "except BaseException as _equip_x: {clear}(None if isinstance(_equip_x, GeneratorExit) else {err}); raise"
            ),
            (Some(err), None, false) => {
                format!("except BaseException as _equip_x: {clear}{err}; raise")
            }
            (None, Some(exit), _) if deferred.is_some() => format!(
                "except BaseException as _equip_x: {clear}(isinstance(_equip_x, GeneratorExit) and {exit}); raise"
            ),
            (None, Some(exit), _) => format!("except GeneratorExit: {exit}; raise"),
            (None, None, _) if deferred.is_some() => format!("except BaseException: {clear}raise"),
            (None, None, _) => unreachable!("wrap needs an error hook or a suspending exit"),
        };
        // A deferred exit of a function that cannot suspend needs no handler: the `finally`
        // calls the leave hook, which reports the exception leaving the frame, if any, else
        // the exit (one line less where no blank line follows the function).
        let leaves = deferred.is_some() && !suspends;
        if !leaves {
            self.end_requests.push(LineRequest {
                lo: last_line + 1,
                hi: next,
                anchor: def_line,
                indent: try_indent.clone(),
                code: handler,
            });
        }
        if let Some(deferred) = deferred {
            // The leave hook decides exit or error itself; after a handler, the exit hook
            // runs when `_equip_l` still holds a line.
            let abi = if leaves {
                &self.hooks.leave
            } else {
                &self.hooks.exit
            }
            .clone()
            .expect("deferred exits have an exit hook");
            let mut exit_site = site(def_line);
            exit_site.dynamic_lineno = true;
            let value = if deferred.value { KEPT } else { "None" };
            let call = self.call(&abi, &exit_site, &|p| match p {
                Placeholder::ReturnValue => value.into(),
                Placeholder::Lineno => LEAVING.into(),
                other => later(other),
            });
            let guard = if leaves {
                String::new()
            } else {
                format!("{LEAVING} is None or ")
            };
            self.end_requests.push(LineRequest {
                lo: last_line + 1,
                hi: next,
                anchor: def_line,
                indent: try_indent,
                code: format!("finally: {guard}{call}"),
            });
        }
    }

    /// Routes every `return` of `f` through the exit hook (after the entry code is placed, so
    /// that an inline `try:` or entry code comes first on a shared line).
    fn wrap_returns<'s>(
        &mut self,
        f: &ast::StmtFunctionDef,
        site: &dyn Fn(usize) -> Site<'s>,
        later: &dyn Fn(Placeholder) -> String,
        deferred: Option<Deferred>,
    ) {
        let Some(abi) = self.hooks.exit.clone() else {
            return;
        };
        for r in flow::returns(&f.body) {
            let line = self.line_of(r.start());
            if let Some(deferred) = deferred {
                // `_equip_l = <line>; return (_equip_r := (<value>))`: the exit is reported
                // by the body's `finally`, after the cleanup between here and the frame's end.
                // `return ((_equip_r := (<value>)), (_equip_l := <line>))[0]`: the line is
                // recorded once the value is evaluated. A value that raises into a handler of
                // the function, or into a `with` that swallows it, leaves `_equip_l` as entry
                // set it, the line of falling off the end, and control may well get there.
                match &r.value {
                    // A literal cannot raise: record the line first, more cheaply.
                    Some(value) if !value.is_literal_expr() => {
                        let (open, close) = if deferred.value {
                            (format!("(({KEPT} := ("), "))")
                        } else {
                            ("((".to_string(), ")")
                        };
                        self.layout.insert(value.start().into(), open);
                        self.layout.insert(
                            value.end().into(),
                            format!(
                                "{close}, ({LEAVING} := {}))[0]",
                                LineNumber::from_zero_indexed(line)
                            ),
                        );
                    }
                    value => {
                        let mut mark =
                            format!("{LEAVING} = {}; ", LineNumber::from_zero_indexed(line));
                        match value {
                            Some(value) if deferred.value => {
                                self.layout
                                    .insert(value.start().into(), format!("({KEPT} := ("));
                                self.layout.insert(value.end().into(), "))");
                            }
                            None if deferred.value => mark.push_str(&format!("{KEPT} = None; ")),
                            _ => {}
                        }
                        self.layout.insert(r.start().into(), mark);
                    }
                }
                continue;
            }
            let (before, after) = self.exit_call_parts(&abi, &site(line), later);
            match &r.value {
                Some(value) => {
                    // `return[x]`, `return"s"`: the call must not fuse with the keyword.
                    let space = if value.start() == r.start() + TextSize::from(6) {
                        " "
                    } else {
                        ""
                    };
                    self.layout
                        .insert(value.start().into(), format!("{space}{before}("));
                    self.layout.insert(value.end().into(), format!("){after}"));
                }
                // `return <value>` is not allowed in an async generator: a bare return gets
                // the exit call as a statement before it.
                None => {
                    let call = self.exit_none(&abi, &site(line), later);
                    self.layout.insert(r.start().into(), format!("{call}; "));
                }
            }
        }
    }

    /// Exit on falling off the end: appended to a last simple statement, else on a new line
    /// after the body (inside the `try` when wrapped: `Some((next statement line, indent))`).
    fn fall_off_exit<'s>(
        &mut self,
        f: &ast::StmtFunctionDef,
        site: &dyn Fn(usize) -> Site<'s>,
        later: &dyn Fn(Placeholder) -> String,
        wrapped: Option<(usize, String)>,
        deferred: Option<Deferred>,
    ) {
        let Some(abi) = self.hooks.exit.clone() else {
            return;
        };
        let last = f.body.last().expect("a function has a body");
        if flow::always_leaves(&f.body) {
            return;
        }
        // Deferred: record the fall-off as a `return None` from that line.
        let exit_after = |this: &Self, line: usize| match deferred {
            Some(d) if d.value => format!(
                "{LEAVING} = {}; {KEPT} = None",
                LineNumber::from_zero_indexed(line)
            ),
            Some(_) => format!("{LEAVING} = {}", LineNumber::from_zero_indexed(line)),
            None => this.exit_none(&abi, &site(line), later),
        };
        if let Some(points) = flow::fall_off_points(&f.body) {
            for point in points {
                // `{lineno}`: the line of the statement control falls off after.
                let call = exit_after(self, self.line_of(point.saturating_sub(1)));
                self.layout.insert(point, format!("; {call}"));
            }
            return;
        }
        if deferred.is_some() {
            // Entry recorded falling off from the last statement's line, and no return
            // records its line before it has its value: nothing to add.
            return;
        }
        let call = exit_after(self, self.line_of(last.start()));
        let end_line = self.line_of(last.end());
        let skip = usize::from(docstring(&f.body).is_some());
        let first_line = self.line_of(f.body.get(skip).unwrap_or(last).start());
        let (next, indent, anchor) = match wrapped {
            // Inside the try: the first body line carries the try's extra indentation.
            Some((next, indent)) => (next, indent, first_line),
            None => {
                let indent = self.layout.indent_of(first_line).to_string();
                (
                    self.next_code_line(end_line),
                    indent,
                    self.line_of(f.name.start()),
                )
            }
        };
        self.end_requests.push(LineRequest {
            lo: end_line + 1,
            hi: next,
            anchor,
            indent,
            code: call,
        });
    }

    /// The extra indentation for a block re-indented under `try:`: a tab if the block's
    /// indentation uses tabs (keeps every tab stop), else the file's own indent step.
    fn indent_unit(
        &self,
        def_indent: &str,
        body_indent: &str,
        first: usize,
        last: usize,
    ) -> String {
        let tabs = (first..=last)
            .any(|l| !self.layout.inside_string(l) && self.layout.indent_of(l).contains('\t'));
        if tabs {
            return "\t".into();
        }
        let step = body_indent.len().saturating_sub(def_indent.len());
        let step = if step == 0 || body_indent.contains('\x0c') {
            4
        } else {
            step
        };
        " ".repeat(step)
    }

    /// The first line after `line` holding code (a statement, or a clause such as `else:`
    /// or `except:`), or the line count: new lines after a block must come before it.
    fn next_code_line(&self, line: usize) -> usize {
        (line + 1..self.layout.line_count())
            .find(|&l| self.layout.inside_string(l) || !self.layout.is_blank_or_comment(l))
            .unwrap_or(self.layout.line_count())
    }

    /// The exit call around a return value: `(text before the value, text after it)`.
    ///
    /// Through the generated function, which returns the value it is given:
    /// `_equip_h._equip_function_exit(..., <value>)`. As a direct call, whose result is not
    /// ours to return: `_equip_r if _equip_h.exit(..., (_equip_r := <value>)) is None else
    /// _equip_r` evaluates the value once, before the hook runs, and returns it whatever the
    /// hook returns (`is` never runs user code, unlike a truth test).
    fn exit_call_parts(
        &self,
        abi: &HookAbi,
        site: &Site,
        later: &dyn Fn(Placeholder) -> String,
    ) -> (String, String) {
        const MARK: &str = "\u{0}RETURN_VALUE\u{0}";
        let first = std::cell::Cell::new(true);
        let call = self.call(abi, site, &|p| match p {
            Placeholder::ReturnValue if abi.direct.is_none() => MARK.into(),
            // The first use binds the value, later ones read it.
            Placeholder::ReturnValue if first.replace(false) => format!("({KEPT} := {MARK})"),
            Placeholder::ReturnValue => KEPT.into(),
            other => later(other),
        });
        let call = match abi.direct {
            Some(_) => format!("{KEPT} if {call} is None else {KEPT}"),
            None => call,
        };
        let (before, after) = call.split_once(MARK).expect("exit passes the return value");
        (before.to_string(), after.to_string())
    }

    /// The exit call for a `None` result (falling off the end, a bare `return`, a closed
    /// generator), as an expression whose value does not matter.
    fn exit_none(
        &self,
        abi: &HookAbi,
        site: &Site,
        later: &dyn Fn(Placeholder) -> String,
    ) -> String {
        self.call(abi, site, &|p| match p {
            Placeholder::ReturnValue => "None".into(),
            other => later(other),
        })
    }

    /// Binds the hooks (`Binding`) and runs module-enter, after the docstring and
    /// `from __future__` imports.
    fn module_prologue(&mut self, suite: &[Stmt]) {
        let skip = module_prefix_len(suite);
        // `__import__(name)` inside the binding rather than an `import` statement: it passes
        // no globals, so import trackers that attribute imports to the importing module (a
        // package's "light imports" tests) do not count the hooks module as one of its imports.
        let binding = Binding::of(self.config, self.target.hooks_module);
        let mut pieces = vec![Piece::call(binding.expression())];
        if let Some(abi) = self.hooks.module_enter.clone() {
            let line = suite
                .get(skip)
                .or(suite.last())
                .map_or(0, |s| self.line_of(s.start()));
            let site = self.module_site(line);
            pieces.push(Piece::call(self.call(&abi, &site, &|_| unreachable!())));
        }
        if skip > 0 {
            let stmts: Vec<&str> = pieces.iter().map(|p| p.stmt.as_str()).collect();
            self.layout.insert(
                suite[skip - 1].end().into(),
                format!("; {}", stmts.join("; ")),
            );
            return;
        }
        // With no module-enter, the binding may follow `def`s that run nothing: a module
        // whose first line is a `def` then needs no line for it. Not past a probe's statement
        // (the probe calls the hooks) nor past a `def` shadowing a builtin the binding calls.
        let at = match self.hooks.module_enter {
            None => after_inert_defs(
                suite,
                &self.probed,
                &["exec", "getattr", "globals", "__import__"],
            ),
            Some(_) => Some(0),
        };
        // A module of inert `def`s only binds on a new last line: no statement moves.
        match at.and_then(|i| suite.get(i)) {
            Some(first) => {
                let line = self.line_of(first.start());
                let lo = self.free_lines_above(line);
                self.run_before(first, &pieces, lo, line);
            }
            None => {
                let end = self.layout.line_count();
                let stmts: Vec<&str> = pieces.iter().map(|p| p.stmt.as_str()).collect();
                self.layout.request_line(LineRequest {
                    lo: end,
                    hi: end,
                    anchor: 0,
                    indent: String::new(),
                    code: stmts.join("; "),
                });
            }
        }
    }

    /// Runs module-exit after the module body: a new last line.
    fn module_epilogue(&mut self, suite: &[Stmt]) {
        let Some(abi) = self.hooks.module_exit.clone() else {
            return;
        };
        let line = suite.last().map_or(0, |s| self.line_of(s.start()));
        let site = self.module_site(line);
        let call = self.call(&abi, &site, &|_| unreachable!());
        let end = self.layout.line_count();
        self.layout.request_line(LineRequest {
            lo: end,
            hi: end,
            anchor: 0,
            indent: String::new(),
            code: call,
        });
    }

    fn module_site(&self, line: usize) -> Site<'_> {
        Site {
            module: self.target.module,
            file_name: self.target.file_name,
            function: None,
            qualname: None,
            class_name: None,
            lineno: LineNumber::from_zero_indexed(line),
            dynamic_lineno: false,
            def_lineno: LineNumber::from_zero_indexed(line),
        }
    }

    /// `<callee>(<values>)` for a site (the generated function), or the snippet's own
    /// call `<callee>(<values and constants>)` when the ABI has a direct one.
    fn call(&self, abi: &HookAbi, site: &Site, dynamic: &dyn Fn(Placeholder) -> String) -> String {
        if let Some(direct) = &abi.direct {
            let args: Vec<String> = direct
                .args
                .iter()
                .map(|a| {
                    let value = match &a.value {
                        CallValue::Placeholder(p) => Self::value(*p, site, dynamic),
                        CallValue::Literal(source) => source.clone(),
                    };
                    match &a.keyword {
                        Some(k) => format!("{k}={value}"),
                        None => value,
                    }
                })
                .collect();
            return format!("{}({})", abi.callee, args.join(", "));
        }
        let mut args = Vec::with_capacity(abi.params.len() + 1);
        for p in &abi.params {
            args.push(Self::value(*p, site, dynamic));
        }
        if abi.error_lineno {
            args.push(site.def_lineno.to_string());
        }
        format!("{}({})", abi.callee, args.join(", "))
    }

    /// A placeholder's value at a site: a constant for static ones, else from `dynamic`.
    fn value(p: Placeholder, site: &Site, dynamic: &dyn Fn(Placeholder) -> String) -> String {
        match p {
            Placeholder::Module => py_str(site.module),
            Placeholder::FileName => py_str(site.file_name),
            Placeholder::Function => py_opt_str(site.function),
            Placeholder::Qualname => py_opt_str(site.qualname),
            Placeholder::ClassName => py_opt_str(site.class_name),
            Placeholder::Lineno if site.dynamic_lineno => dynamic(p),
            Placeholder::Lineno => site.lineno.to_string(),
            other => dynamic(other),
        }
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

/// The index of the first statement of `body` that is not an inert definition, `None` when
/// every statement is one (or `body` is empty). Executing an inert definition calls no code of
/// the program: a `def` with no decorators or type parameters whose defaults and annotations
/// are constants, names or dotted names; a `class` with no decorators, type parameters or
/// keywords, whose bases are such names (not bound by the definitions before it, whose
/// `__init_subclass__` could run) and whose body holds only a docstring, `pass`, assignments
/// of such values to names and inert definitions. Code placed after such statements runs
/// before anything else observable, so hooks may go there instead of before them. `stop`
/// lists offsets of statements with a probe (a definition holding one is not skipped),
/// `reserved` the names a definition must not bind (the builtins the hooks binding calls,
/// the parameters the enter hook reads).
fn after_inert_defs(body: &[Stmt], stop: &[usize], reserved: &[&str]) -> Option<usize> {
    fn plain(e: &Expr) -> bool {
        match e {
            Expr::Name(_)
            | Expr::StringLiteral(_)
            | Expr::BytesLiteral(_)
            | Expr::NumberLiteral(_)
            | Expr::BooleanLiteral(_)
            | Expr::NoneLiteral(_)
            | Expr::EllipsisLiteral(_) => true,
            Expr::Attribute(a) => plain(&a.value),
            _ => false,
        }
    }
    fn root(e: &Expr) -> Option<&str> {
        match e {
            Expr::Name(n) => Some(n.id.as_str()),
            Expr::Attribute(a) => root(&a.value),
            _ => None,
        }
    }
    fn inert_def(f: &ast::StmtFunctionDef) -> bool {
        let p = &f.parameters;
        let params = p
            .posonlyargs
            .iter()
            .chain(&p.args)
            .chain(&p.kwonlyargs)
            .all(|a| {
                a.default.as_deref().is_none_or(plain)
                    && a.parameter.annotation.as_deref().is_none_or(plain)
            });
        let star = [&p.vararg, &p.kwarg]
            .into_iter()
            .flatten()
            .all(|v| v.annotation.as_deref().is_none_or(plain));
        f.decorator_list.is_empty()
            && f.type_params.is_none()
            && f.returns.as_deref().is_none_or(plain)
            && params
            && star
    }
    fn inert_class(c: &ast::StmtClassDef, earlier: &[&str]) -> bool {
        let bases = c.arguments.as_deref().is_none_or(|a| {
            a.keywords.is_empty()
                && a.args
                    .iter()
                    .all(|b| plain(b) && root(b).is_some_and(|r| !earlier.contains(&r)))
        });
        let body = c.body.iter().all(|s| match s {
            Stmt::Pass(_) => true,
            Stmt::Expr(e) => matches!(*e.value, Expr::StringLiteral(_)),
            Stmt::Assign(a) => {
                a.targets.iter().all(|t| matches!(t, Expr::Name(_))) && plain(&a.value)
            }
            Stmt::AnnAssign(a) => {
                matches!(*a.target, Expr::Name(_))
                    && plain(&a.annotation)
                    && a.value.as_deref().is_none_or(plain)
            }
            Stmt::FunctionDef(f) => inert_def(f),
            Stmt::ClassDef(inner) => inert_class(inner, earlier),
            _ => false,
        });
        c.decorator_list.is_empty() && c.type_params.is_none() && bases && body
    }
    let mut earlier: Vec<&str> = Vec::new();
    body.iter().position(|s| {
        let probed = stop
            .iter()
            .any(|&o| usize::from(s.start()) <= o && o < usize::from(s.end()));
        let name = match s {
            Stmt::FunctionDef(f) if inert_def(f) => f.name.id.as_str(),
            Stmt::ClassDef(c) if inert_class(c, &earlier) => c.name.id.as_str(),
            _ => return true,
        };
        if probed || reserved.contains(&name) {
            return true;
        }
        earlier.push(name);
        false
    })
}

/// The end of a function's header (type parameters, parameters, return annotation).
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

    /// `{'a': a, ...}`.
    fn dict(&self) -> String {
        let items: Vec<String> = self
            .names
            .iter()
            .map(|n| format!("{}: {n}", py_str(n)))
            .collect();
        format!("{{{}}}", items.join(", "))
    }

    /// Source for a dynamic placeholder available at function entry.
    fn value(&self, p: Placeholder) -> String {
        match p {
            Placeholder::Arguments => self.dict(),
            Placeholder::Arg(i) => self
                .names
                .get(usize::from(i))
                .cloned()
                .unwrap_or_else(|| "None".into()),
            other => unreachable!("{other} is not available at function entry"),
        }
    }
}

/// Marks the lines whose statements may be joined to the line above to pay for a new line:
/// a simple statement right after a simple sibling ending on the line above (`a = 1; b = 2`),
/// and a block body that is one line of simple statements right under its header's `:`
/// (`if x: return`).
fn allow_statement_joins(suite: &[Stmt], layout: &mut Layout) {
    struct Joins<'l, 't> {
        layout: &'l mut Layout<'t>,
        top: bool,
    }
    impl Joins<'_, '_> {
        fn first_on_line(&self, stmt: &Stmt) -> Option<usize> {
            let line = self.layout.line_of(stmt.start().into());
            let first = self.layout.line_start(line) + self.layout.indent_of(line).len()
                == usize::from(stmt.start());
            (first && line > 0).then_some(line)
        }

        fn block(&mut self, body: &[Stmt]) {
            for pair in body.windows(2) {
                let (a, b) = (&pair[0], &pair[1]);
                if ast::helpers::is_compound_statement(a) || ast::helpers::is_compound_statement(b)
                {
                    continue;
                }
                if let Some(line) = self.first_on_line(b)
                    && self.layout.line_of(a.end().into()) == line - 1
                    && !leads_with_match_name(self.layout, b)
                {
                    self.layout.allow_statement_join(line);
                }
            }
            // A whole block body on the line after its header.
            let Some(first) = body.first() else { return };
            let Some(line) = self.first_on_line(first) else {
                return;
            };
            let one_line = body.iter().all(|s| {
                !ast::helpers::is_compound_statement(s)
                    && self.layout.line_of(s.start().into()) == line
            });
            let header = self.layout.line_text(line - 1).trim_end();
            if !self.top
                && one_line
                && header.ends_with(':')
                && !self.layout.is_blank_or_comment(line - 1)
            {
                self.layout.allow_body_join(line);
            }
        }
    }
    impl<'a> StatementVisitor<'a> for Joins<'_, '_> {
        fn visit_body(&mut self, body: &'a [Stmt]) {
            self.block(body);
            self.top = false;
            statement_visitor::walk_body(self, body);
        }
    }
    Joins { layout, top: true }.visit_body(suite);
}

/// Whether the simple statement `stmt` starts with the name `match` (`match =
/// pattern.match(line)`, `match.group(1)`). CPython takes it anywhere; the parser equip-wheel
/// reads sources with refuses it right after `; `, taking it for a `match` statement, so
/// code joined before it must keep its output parseable by that parser (and tools built on
/// it): `(match)` after `; `, or no join at all.
fn leads_with_match_name(layout: &Layout, stmt: &Stmt) -> bool {
    let start = usize::from(stmt.start());
    let line = layout.line_of(start);
    let column = start - layout.line_start(line);
    let rest = layout.line_text(line).get(column..).unwrap_or_default();
    !ast::helpers::is_compound_statement(stmt)
        && rest
            .strip_prefix("match")
            .is_some_and(|after| !after.starts_with(|c: char| c == '_' || c.is_alphanumeric()))
}

/// `match: T = v` ([`leads_with_match_name`]): `(match): T = v` would be a different
/// statement (an annotation of a parenthesized target is evaluated, never recorded), so
/// nothing is joined before it.
fn annotates_match_name(layout: &Layout, stmt: &Stmt) -> bool {
    matches!(stmt, Stmt::AnnAssign(_)) && leads_with_match_name(layout, stmt)
}

/// Start offsets of every statement in the module, nested ones included, sorted.
fn statement_offsets(suite: &[Stmt]) -> Vec<usize> {
    struct Offsets(Vec<usize>);
    impl<'a> StatementVisitor<'a> for Offsets {
        fn visit_stmt(&mut self, stmt: &'a Stmt) {
            self.0.push(stmt.start().into());
            statement_visitor::walk_stmt(self, stmt);
        }
    }
    let mut v = Offsets(Vec::new());
    v.visit_body(suite);
    v.0.sort_unstable();
    v.0
}

/// Finds the statement each of this module's probes runs before (the outermost statement
/// starting on its line). Errors for a line without one, naming the nearest lines that have
/// one, and for the docstring or a `from __future__` import.
fn probe_targets(
    config: &Config,
    target: ModuleTarget<'_>,
    suite: &[Stmt],
    layout: &Layout,
) -> Result<HashMap<usize, Vec<ProbeTarget>>, SourceError> {
    let mut out: HashMap<usize, Vec<ProbeTarget>> = HashMap::new();
    let wanted: Vec<usize> = (0..config.probes.len())
        .filter(|&i| config.probes[i].module == target.module)
        .collect();
    if wanted.is_empty() {
        return Ok(out);
    }
    let mut by_line: Vec<(LineNumber, usize)> = Vec::new(); // (line, offset), outermost first
    struct Collect<'l, 't>(&'l Layout<'t>, &'l mut Vec<(LineNumber, usize)>);
    impl<'a> StatementVisitor<'a> for Collect<'_, '_> {
        fn visit_stmt(&mut self, stmt: &'a Stmt) {
            let offset = usize::from(stmt.start());
            let line = LineNumber::from_zero_indexed(self.0.line_of(offset));
            self.1.push((line, offset));
            statement_visitor::walk_stmt(self, stmt);
        }
    }
    Collect(layout, &mut by_line).visit_body(suite);
    let prefix = module_prefix_len(suite);
    let protected: Vec<usize> = suite[..prefix].iter().map(|s| s.start().into()).collect();
    for i in wanted {
        let probe = &config.probes[i];
        let line = probe.line;
        let Some(&(_, offset)) = by_line.iter().find(|(l, _)| *l == line) else {
            let before = by_line.iter().map(|(l, _)| *l).filter(|l| *l < line).max();
            let after = by_line.iter().map(|(l, _)| *l).filter(|l| *l > line).min();
            let nearest = match (before, after) {
                (Some(b), Some(a)) => format!("the nearest statements start on lines {b} and {a}"),
                (Some(b), None) => format!("the last statement starts on line {b}"),
                (None, Some(a)) => format!("the first statement starts on line {a}"),
                (None, None) => "the module has no statements".into(),
            };
            return Err(SourceError::Probe(format!(
                "probes[{i}]: no statement starts on line {line} of {} ({}); {nearest}",
                target.module, target.file_name
            )));
        };
        if protected.contains(&offset) {
            return Err(SourceError::Probe(format!(
                "probes[{i}]: line {line} of {} is its docstring or a `from __future__` import, which must stay first",
                target.module
            )));
        }
        let abi = HookAbi::of(config, HookKind::Probe(i)).expect("probe snippets exist");
        out.entry(offset).or_default().push(ProbeTarget { abi });
    }
    Ok(out)
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
    c.0.annotate_functions = count_annotate_scopes(suite);
    c.0
}

/// How many annotation functions (`__annotate__`, PEP 649/749) CPython 3.14+ compiles
/// `suite` into: one per function with an annotated parameter or return, one per class
/// body and one for the module when they hold a simple annotated assignment (`x: T`,
/// conditional ones included); none under `from __future__ import annotations`, where
/// annotations are strings stored eagerly.
fn count_annotate_scopes(suite: &[Stmt]) -> usize {
    /// Whether a scope's own statements (not nested functions or classes) annotate a name.
    fn annotates_names(body: &[Stmt]) -> bool {
        struct Find(bool);
        impl<'a> StatementVisitor<'a> for Find {
            fn visit_stmt(&mut self, stmt: &'a Stmt) {
                match stmt {
                    Stmt::AnnAssign(a) if a.simple => self.0 = true,
                    Stmt::FunctionDef(_) | Stmt::ClassDef(_) => {}
                    _ => statement_visitor::walk_stmt(self, stmt),
                }
            }
        }
        let mut f = Find(false);
        f.visit_body(body);
        f.0
    }
    struct Count(usize);
    impl<'a> StatementVisitor<'a> for Count {
        fn visit_stmt(&mut self, stmt: &'a Stmt) {
            match stmt {
                Stmt::FunctionDef(f) => {
                    let params = f.parameters.iter().any(|p| p.annotation().is_some());
                    if params || f.returns.is_some() {
                        self.0 += 1;
                    }
                }
                Stmt::ClassDef(c) if annotates_names(&c.body) => self.0 += 1,
                _ => {}
            }
            statement_visitor::walk_stmt(self, stmt);
        }
    }
    let future = suite.iter().any(|s| {
        matches!(s, Stmt::ImportFrom(i)
            if i.module.as_ref().is_some_and(|m| m.as_str() == "__future__")
                && i.names.iter().any(|n| n.name.as_str() == "annotations"))
    });
    if future {
        return 0;
    }
    let mut c = Count(usize::from(annotates_names(suite)));
    c.visit_body(suite);
    c.0
}
