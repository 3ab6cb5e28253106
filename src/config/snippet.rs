//! Compiling a configured snippet: parse it with the ruff parser, find its placeholders,
//! bind them as names, and check they are valid at the snippet's hook point.
//!
//! Placeholder forms (README.md, "Configuration"):
//! - `{name}` in code: a one-element set display of a bare name; it becomes the name `name`,
//!   bound to the value inside the generated hook function.
//! - `{name}` in an f-string: already a name; recorded as used.
//! - `{name}` in a plain string literal, for a static placeholder (`module`, `file_name`,
//!   `function`/`method_name`, `qualname`, `class_name`, `lineno`): substituted as text, by
//!   turning the literal into an f-string with every other brace escaped.

use std::collections::BTreeSet;

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_text_size::{Ranged, TextRange, TextSize};

use super::placeholder::{HookKind, Placeholder};
use crate::line::LineNumber;
pub use crate::syntax::line_col;
use crate::syntax::{Edit, apply_edits};

/// A snippet ready to become the body of a hook function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snippet {
    /// The hook point it runs at.
    pub kind: HookKind,
    /// The text as configured.
    pub text: String,
    /// The rewritten Python source, placeholders bound as plain names.
    pub body: String,
    /// The placeholders it uses, in canonical order (see [`Placeholder`]).
    pub uses: BTreeSet<Placeholder>,
    /// Names the snippet binds in `{name}` form: `function` or `method_name` for
    /// [`Placeholder::Function`] (both may appear).
    pub function_aliases: BTreeSet<String>,
    /// Byte range of the last statement when it is an expression: its value is the hook's
    /// value (`{enter_value}` for function-enter).
    pub value_range: Option<(usize, usize)>,
    /// Byte ranges of the snippet's string tokens, for indentation-safe embedding.
    pub string_ranges: Vec<(usize, usize)>,
    /// The call the snippet consists of, when it is a single call of placeholders and
    /// constants (see [`super::call_shape`]).
    pub call: Option<super::call_shape::SnippetCall>,
}

/// A problem in a snippet, located in the snippet text (1-based line and column).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnippetError {
    /// The line within the snippet.
    pub line: LineNumber,
    /// 1-based column (characters) within that line.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

/// Compiles `text` as a snippet for `kind`.
///
/// Errors: the text is empty, only comments, holds a NUL character, does not parse or nests
/// deeper than [`MAX_SNIPPET_NESTING`]; an unknown placeholder; a placeholder with no value
/// at `kind`; anything CPython would refuse to compile in the body of a plain function (see
/// [`check_compiles`]: `return`, `yield`, `await` or `nonlocal` at the snippet's top level,
/// `break` outside a loop, `import *`, ...).
pub fn compile(text: &str, kind: HookKind) -> Result<Snippet, SnippetError> {
    let at = |offset: TextSize, message: String| {
        let (line, column) = line_col(text, offset.into());
        SnippetError {
            line,
            column,
            message,
        }
    };
    if text.trim().is_empty() {
        return Err(SnippetError {
            line: LineNumber::FIRST,
            column: 1,
            message: "the snippet is empty".into(),
        });
    }
    if let Some(nul) = text.find('\0') {
        return Err(at(
            TextSize::new(nul as u32),
            "a snippet cannot contain a NUL character".into(),
        ));
    }
    // The parser grows its own stack; the walks below and dropping the tree need a bound.
    crate::depth::with_stack(|| compile_parsed(text, kind))
}

fn compile_parsed(text: &str, kind: HookKind) -> Result<Snippet, SnippetError> {
    let at = |offset: TextSize, message: String| {
        let (line, column) = line_col(text, offset.into());
        SnippetError {
            line,
            column,
            message,
        }
    };
    let parsed = parse_bounded(text).map_err(|(offset, message)| at(offset, message))?;
    let suite = parsed.suite();
    if suite.is_empty() {
        return Err(at(
            TextSize::new(0),
            "the snippet has no statements (only comments)".into(),
        ));
    }

    let mut finder = PlaceholderFinder {
        text,
        uses: BTreeSet::new(),
        aliases: BTreeSet::new(),
        edits: Vec::new(),
        error: None,
        fstring_depth: 0,
        function_depth: 0,
    };
    finder.visit_body(suite);
    if let Some((offset, message)) = finder.error {
        return Err(at(offset, message));
    }
    check_compiles(suite).map_err(|(offset, m)| at(offset, m))?;
    for p in &finder.uses {
        if !p.valid_in(kind) {
            let first = first_mention(text, p);
            return Err(at(
                TextSize::new(first as u32),
                format!("{p} has no value in {}", kind.label()),
            ));
        }
    }

    let ends_with_expr = matches!(suite.last(), Some(Stmt::Expr(_)));
    // The edits keep the value expression's boundaries: they are inside it or outside it.
    let body = apply_edits(text, finder.edits.clone());
    let reparsed = ruff_python_parser::parse_module(&body).map_err(|e| {
        at(
            TextSize::new(0),
            format!(
                "internal error: rewritten snippet does not parse: {}",
                e.error
            ),
        )
    })?;
    let value_range = match reparsed.suite().last() {
        Some(Stmt::Expr(e)) if ends_with_expr => Some(span(e.range)),
        _ => None,
    };
    let string_ranges = crate::syntax::string_ranges(reparsed.suite())
        .into_iter()
        .map(|r| (r.start().into(), r.end().into()))
        .collect();
    let call = super::call_shape::of_body(&body, &finder.uses);
    Ok(Snippet {
        kind,
        text: text.to_string(),
        call,
        body,
        uses: finder.uses,
        function_aliases: finder.aliases,
        value_range,
        string_ranges,
    })
}

fn first_mention(text: &str, p: &Placeholder) -> usize {
    let name = p.param_name();
    text.find(&format!("{{{name}"))
        .or_else(|| text.find(&name))
        .unwrap_or(0)
}

/// Deepest nesting of expressions and statements, and of brackets, accepted in a snippet. CPython 3.8's parser
/// overflows its own stack at about 90 nested brackets; hooks need far less.
pub const MAX_SNIPPET_NESTING: usize = 50;

/// What a scope of the snippet is: the hook function itself, a function defined in it, a
/// class body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ScopeKind {
    Hook,
    Function { is_async: bool },
    Class,
}

/// Parses snippet-sized Python with the nesting limits the compilers share (tree depth and
/// brackets, at most [`MAX_SNIPPET_NESTING`]); errors are the byte offset and the message.
fn parse_bounded(
    text: &str,
) -> Result<ruff_python_parser::Parsed<ruff_python_ast::ModModule>, (TextSize, String)> {
    let parsed = crate::depth::parse_module_within(text, MAX_SNIPPET_NESTING)
        .map_err(|(offset, message)| (offset, format!("invalid Python: {message}")))?;
    // Brackets add no tree levels, but CPython's parsers refuse deep nesting of them.
    let mut brackets = 0usize;
    for token in parsed.tokens().iter() {
        use ruff_python_ast::token::TokenKind as T;
        match token.kind() {
            T::Lpar | T::Lsqb | T::Lbrace => {
                brackets += 1;
                if brackets > MAX_SNIPPET_NESTING {
                    return Err((
                        token.start(),
                        format!(
                            "invalid Python: too many nested parentheses (more than \
                             {MAX_SNIPPET_NESTING})"
                        ),
                    ));
                }
            }
            T::Rpar | T::Rsqb | T::Rbrace => brackets = brackets.saturating_sub(1),
            _ => {}
        }
    }
    Ok(parsed)
}

/// Checks `hooks.setup`, statements run once at the top of the hooks module, as a snippet is
/// checked: it parses within the nesting limits and has none of the constructs CPython's
/// compiler refuses there (see [`check_compiles`]). Errors are the byte offset and the message.
pub fn check_setup(text: &str) -> Result<(), (TextSize, String)> {
    let parsed = parse_bounded(text)?;
    check_compiles(parsed.suite())
}

/// Rejects what the parser accepts but CPython's compiler (symbol table and code generator)
/// refuses, for a snippet that becomes the body of a plain (not async) function in the hooks
/// module: `return`, `yield`, `await` and `nonlocal` in the snippet's own body, `break` and
/// `continue` outside a loop, `yield`/`await` outside a function or in a comprehension,
/// `await`/`async for`/`async with` outside an `async def`, `from __future__` imports,
/// `import *` (only allowed at module level), `global`/`nonlocal` of a name already used in
/// the scope, `nonlocal` of a name no enclosing function binds, the same parameter name twice
/// in a `def` or `lambda`, assignment to `__debug__`.
fn check_compiles(suite: &[Stmt]) -> Result<(), (TextSize, String)> {
    struct Scope {
        kind: ScopeKind,
        /// Enclosing loops in this scope (a loop's `else` is outside it).
        loops: usize,
        /// Names used so far in this scope, for `global`/`nonlocal` after use.
        used: std::collections::HashSet<String>,
        /// Index of this scope in `Check::bound`.
        id: usize,
    }
    /// A `nonlocal` declaration in a nested function, resolved once every binding is known
    /// (a binding after the nested function counts).
    struct Nonlocal {
        at: TextSize,
        name: String,
        /// The enclosing function scopes (classes are skipped), innermost first.
        enclosing: Vec<usize>,
    }
    struct Check {
        error: Option<(TextSize, String)>,
        scopes: Vec<Scope>,
        /// Per scope id: the names the scope binds (assigned, deleted, parameters, defined,
        /// imported, caught, captured by a pattern, declared `nonlocal`).
        bound: Vec<std::collections::HashSet<String>>,
        nonlocals: Vec<Nonlocal>,
    }
    impl Check {
        fn fail(&mut self, at: TextSize, message: impl Into<String>) {
            if self.error.is_none() {
                self.error = Some((at, message.into()));
            }
        }
        fn scope(&mut self) -> &mut Scope {
            self.scopes.last_mut().expect("the hook scope")
        }
        fn kind(&self) -> ScopeKind {
            self.scopes.last().expect("the hook scope").kind
        }
        fn in_scope(&mut self, kind: ScopeKind, walk: impl FnOnce(&mut Self)) {
            let id = self.bound.len();
            self.bound.push(Default::default());
            self.scopes.push(Scope {
                kind,
                loops: 0,
                used: Default::default(),
                id,
            });
            walk(self);
            self.scopes.pop();
        }
        fn bind(&mut self, name: &str) {
            let id = self.scope().id;
            self.bound[id].insert(name.to_string());
        }
        /// Enters a function scope with `parameters` bound; a name given twice is an error.
        fn in_function(
            &mut self,
            is_async: bool,
            parameters: Option<&ast::Parameters>,
            walk: impl FnOnce(&mut Self),
        ) {
            let kind = ScopeKind::Function { is_async };
            self.in_scope(kind, |c| {
                let mut seen = std::collections::HashSet::new();
                for p in parameters.into_iter().flat_map(|p| p.iter()) {
                    let name = p.name();
                    if !seen.insert(name.as_str()) {
                        c.fail(
                            name.start(),
                            format!("duplicate argument '{name}' in function definition"),
                        );
                    }
                    c.bind(name);
                }
                walk(c);
            });
        }
        /// Checks the recorded `nonlocal` declarations against the final bindings. The hook
        /// function's parameters are placeholder names.
        fn resolve_nonlocals(&mut self) {
            for n in std::mem::take(&mut self.nonlocals) {
                let found = n.enclosing.iter().any(|&id| {
                    self.bound[id].contains(&n.name)
                        || (id == 0 && Placeholder::from_name(&n.name).is_some())
                });
                if !found {
                    self.fail(n.at, format!("no binding for nonlocal '{}' found", n.name));
                }
            }
        }
        fn in_loop(&mut self, walk: impl FnOnce(&mut Self)) {
            self.scope().loops += 1;
            walk(self);
            self.scope().loops -= 1;
        }
        fn is_async(&self) -> bool {
            self.kind() == ScopeKind::Function { is_async: true }
        }
        fn use_name(&mut self, name: &str) {
            self.scope().used.insert(name.to_string());
        }
        fn declare(&mut self, stmt: &Stmt, names: &[ast::Identifier], what: &str) {
            for name in names {
                if self.scope().used.contains(name.as_str()) {
                    self.fail(
                        stmt.start(),
                        format!("name '{name}' is used prior to its {what} declaration"),
                    );
                }
            }
        }
    }
    impl<'a> Visitor<'a> for Check {
        fn visit_stmt(&mut self, stmt: &'a Stmt) {
            if self.error.is_some() {
                return;
            }
            let hook = self.kind() == ScopeKind::Hook;
            let starred_alone = match stmt {
                Stmt::Assign(a) => a.targets.iter().find(|t| t.is_starred_expr()),
                Stmt::AugAssign(a) => Some(&*a.target).filter(|t| t.is_starred_expr()),
                Stmt::AnnAssign(a) => Some(&*a.target).filter(|t| t.is_starred_expr()),
                _ => None,
            };
            if let Some(target) = starred_alone {
                self.fail(
                    target.start(),
                    "starred assignment target must be in a list or tuple",
                );
                return;
            }
            match stmt {
                Stmt::FunctionDef(f) => {
                    self.use_name(&f.name);
                    self.bind(&f.name);
                    for d in &f.decorator_list {
                        self.visit_decorator(d);
                    }
                    if let Some(t) = &f.type_params {
                        self.visit_type_params(t);
                    }
                    self.visit_parameters(&f.parameters);
                    if let Some(r) = &f.returns {
                        self.visit_annotation(r);
                    }
                    self.in_function(f.is_async, Some(&f.parameters), |c| {
                        c.visit_body(&f.body)
                    });
                    return;
                }
                Stmt::ClassDef(c) => {
                    self.use_name(&c.name);
                    self.bind(&c.name);
                    for d in &c.decorator_list {
                        self.visit_decorator(d);
                    }
                    if let Some(a) = &c.arguments {
                        self.visit_arguments(a);
                    }
                    self.in_scope(ScopeKind::Class, |v| v.visit_body(&c.body));
                    return;
                }
                Stmt::Return(_) if hook => self.fail(
                    stmt.start(),
                    "`return` is not allowed in a snippet: a hook's value is its last expression",
                ),
                Stmt::Return(_) if self.kind() == ScopeKind::Class => {
                    self.fail(stmt.start(), "'return' outside function")
                }
                Stmt::Nonlocal(_) if hook => self.fail(
                    stmt.start(),
                    "`nonlocal` is not allowed: snippets cannot rebind the instrumented function's locals",
                ),
                Stmt::Nonlocal(n) => {
                    self.declare(stmt, &n.names, "nonlocal");
                    let enclosing: Vec<usize> = (self.scopes.iter().rev().skip(1))
                        .filter(|s| s.kind != ScopeKind::Class)
                        .map(|s| s.id)
                        .collect();
                    for name in &n.names {
                        self.bind(name);
                        self.nonlocals.push(Nonlocal {
                            at: name.start(),
                            name: name.to_string(),
                            enclosing: enclosing.clone(),
                        });
                    }
                }
                Stmt::Import(i) => {
                    for a in &i.names {
                        let name = a.asname.as_ref().unwrap_or(&a.name);
                        self.bind(name.split('.').next().unwrap_or_default());
                    }
                }
                Stmt::Global(g) => self.declare(stmt, &g.names, "global"),
                Stmt::Break(_) | Stmt::Continue(_) if self.scope().loops == 0 => {
                    let word = if matches!(stmt, Stmt::Break(_)) { "break" } else { "continue" };
                    self.fail(stmt.start(), format!("'{word}' outside loop"));
                }
                Stmt::ImportFrom(i) => {
                    for a in &i.names {
                        self.bind(a.asname.as_ref().unwrap_or(&a.name));
                    }
                    if i.module.as_deref() == Some("__future__") && i.level == 0 {
                        self.fail(
                            stmt.start(),
                            "`from __future__` imports must occur at the beginning of a file, not in a snippet",
                        );
                    } else if i.names.iter().any(|a| a.name.as_str() == "*") {
                        self.fail(
                            stmt.start(),
                            "`import *` is only allowed at module level, not in a snippet",
                        );
                    }
                }
                Stmt::For(f) => {
                    if f.is_async && !self.is_async() {
                        self.fail(stmt.start(), "'async for' outside async function");
                    }
                    self.visit_expr(&f.target);
                    self.visit_expr(&f.iter);
                    self.in_loop(|c| c.visit_body(&f.body));
                    self.visit_body(&f.orelse);
                    return;
                }
                Stmt::While(w) => {
                    self.visit_expr(&w.test);
                    self.in_loop(|c| c.visit_body(&w.body));
                    self.visit_body(&w.orelse);
                    return;
                }
                Stmt::With(w) if w.is_async && !self.is_async() => {
                    self.fail(stmt.start(), "'async with' outside async function");
                }
                _ => {}
            }
            visitor::walk_stmt(self, stmt);
        }
        fn visit_expr(&mut self, expr: &'a Expr) {
            if self.error.is_some() {
                return;
            }
            let hook = self.kind() == ScopeKind::Hook;
            match expr {
                Expr::Lambda(l) => {
                    if let Some(p) = &l.parameters {
                        self.visit_parameters(p);
                    }
                    self.in_function(false, l.parameters.as_deref(), |c| c.visit_expr(&l.body));
                    return;
                }
                Expr::Yield(_) | Expr::YieldFrom(_) | Expr::Await(_) if hook => {
                    self.fail(
                        expr.start(),
                        "`yield` and `await` are not allowed in a snippet: it runs as a plain function",
                    );
                    return;
                }
                Expr::Yield(_) | Expr::YieldFrom(_) if self.kind() == ScopeKind::Class => {
                    self.fail(expr.start(), "'yield' outside function");
                }
                Expr::Await(_) if !self.is_async() => {
                    self.fail(expr.start(), "'await' outside async function");
                }
                Expr::Call(call) => {
                    let mut seen = std::collections::HashSet::new();
                    for keyword in call.arguments.keywords.iter() {
                        if let Some(name) = &keyword.arg
                            && !seen.insert(name.as_str())
                        {
                            self.fail(
                                keyword.start(),
                                format!("keyword argument repeated: {name}"),
                            );
                        }
                    }
                }
                Expr::Name(n) => {
                    if n.id.as_str() == "__debug__" && !n.ctx.is_load() {
                        self.fail(expr.start(), "cannot assign to __debug__");
                    }
                    self.use_name(&n.id);
                    if !n.ctx.is_load() {
                        self.bind(&n.id);
                    }
                }
                Expr::ListComp(_) | Expr::SetComp(_) | Expr::DictComp(_) | Expr::Generator(_) => {
                    let generators = match expr {
                        Expr::ListComp(c) => &c.generators,
                        Expr::SetComp(c) => &c.generators,
                        Expr::DictComp(c) => &c.generators,
                        Expr::Generator(c) => &c.generators,
                        _ => unreachable!("a comprehension"),
                    };
                    let is_async = generators.iter().any(|g| g.is_async);
                    let genexp = matches!(expr, Expr::Generator(_));
                    if is_async && !self.is_async() && !genexp {
                        self.fail(
                            expr.start(),
                            "asynchronous comprehension outside of an asynchronous function",
                        );
                    }
                    let mut inner = YieldIn(None);
                    visitor::walk_expr(&mut inner, expr);
                    if let Some(at) = inner.0 {
                        self.fail(at, "'yield' inside a comprehension");
                    }
                }
                _ => {}
            }
            visitor::walk_expr(self, expr);
        }
        fn visit_except_handler(&mut self, handler: &'a ast::ExceptHandler) {
            let ast::ExceptHandler::ExceptHandler(h) = handler;
            if let Some(name) = &h.name {
                self.bind(name);
            }
            visitor::walk_except_handler(self, handler);
        }
        fn visit_pattern(&mut self, pattern: &'a ast::Pattern) {
            let captured = match pattern {
                ast::Pattern::MatchAs(p) => p.name.as_ref(),
                ast::Pattern::MatchStar(p) => p.name.as_ref(),
                ast::Pattern::MatchMapping(p) => p.rest.as_ref(),
                _ => None,
            };
            if let Some(name) = captured {
                self.bind(name);
            }
            visitor::walk_pattern(self, pattern);
        }
    }
    /// The first `yield` in an expression (not inside a nested lambda).
    struct YieldIn(Option<TextSize>);
    impl<'a> Visitor<'a> for YieldIn {
        fn visit_expr(&mut self, expr: &'a Expr) {
            match expr {
                _ if self.0.is_some() => {}
                Expr::Lambda(_) => {}
                Expr::Yield(_) | Expr::YieldFrom(_) => self.0 = Some(expr.start()),
                _ => visitor::walk_expr(self, expr),
            }
        }
    }
    let mut c = Check {
        error: None,
        scopes: vec![Scope {
            kind: ScopeKind::Hook,
            loops: 0,
            used: Default::default(),
            id: 0,
        }],
        bound: vec![Default::default()],
        nonlocals: Vec::new(),
    };
    c.visit_body(suite);
    c.resolve_nonlocals();
    c.error.map_or(Ok(()), Err)
}

struct PlaceholderFinder<'t> {
    text: &'t str,
    uses: BTreeSet<Placeholder>,
    aliases: BTreeSet<String>,
    edits: Vec<Edit>,
    error: Option<(TextSize, String)>,
    fstring_depth: usize,
    function_depth: usize,
}

impl PlaceholderFinder<'_> {
    fn record(&mut self, name: &str, p: Placeholder) {
        if p == Placeholder::Function {
            self.aliases.insert(name.to_string());
        }
        self.uses.insert(p);
    }

    /// `{name}` written exactly (no trailing comma), as a placeholder.
    fn placeholder_set(&mut self, set: &ast::ExprSet) -> bool {
        let [Expr::Name(name)] = set.elts.as_slice() else {
            return false;
        };
        let inner =
            &self.text[usize::from(set.range.start()) + 1..usize::from(set.range.end()) - 1];
        if inner.trim() != name.id.as_str() {
            return false; // `{x,}` is a real set
        }
        match Placeholder::from_name(&name.id) {
            Some(p) => {
                self.record(&name.id, p);
                self.edits
                    .push(Edit::replace(set.range, format!("({})", name.id)));
            }
            None => {
                self.error.get_or_insert((
                    set.range.start(),
                    format!(
                        "unknown placeholder {{{}}}; known placeholders: {} \
                         (for a one-element set write {{{},}})",
                        name.id,
                        Placeholder::all_names(),
                        name.id
                    ),
                ));
            }
        }
        true
    }

    /// Turns a plain string literal containing static placeholders into an f-string.
    fn string_literal(&mut self, lit: &ast::StringLiteral) {
        let src = &self.text[lit.range];
        let quote_at = src.find(['\'', '"']).unwrap_or(0);
        let prefix = &src[..quote_at];
        let quote = if src[quote_at..].starts_with("'''") || src[quote_at..].starts_with("\"\"\"") {
            3
        } else {
            1
        };
        let body = &src[quote_at + quote..src.len() - quote];
        let raw = prefix.contains(['r', 'R']);
        let mut found = Vec::new();
        let mut out = String::with_capacity(body.len() + 8);
        let bytes = body.as_bytes();
        let mut i = 0;
        while i < body.len() {
            let c = bytes[i];
            if !raw && c == b'\\' {
                // Keep escapes whole; `\N{NAME}` braces are not placeholders.
                let len = if body[i + 1..].starts_with("N{") {
                    body[i..].find('}').map_or(2, |j| j + 1)
                } else {
                    1 + body[i + 1..].chars().next().map_or(0, char::len_utf8)
                };
                out.push_str(&body[i..i + len]);
                i += len;
                continue;
            }
            if c == b'{' {
                if let Some(end) = body[i + 1..].find('}') {
                    let name = &body[i + 1..i + 1 + end];
                    if let Some(p) = Placeholder::from_name(name).filter(Placeholder::is_static) {
                        found.push((name.to_string(), p));
                        out.push('{');
                        out.push_str(name);
                        out.push('}');
                        i += end + 2;
                        continue;
                    }
                }
                out.push_str("{{");
                i += 1;
                continue;
            }
            if c == b'}' {
                out.push_str("}}");
                i += 1;
                continue;
            }
            let ch = body[i..].chars().next().expect("in bounds");
            out.push(ch);
            i += ch.len_utf8();
        }
        if found.is_empty() {
            return;
        }
        for (name, p) in found {
            self.record(&name, p);
        }
        let new_prefix = if raw { "rf" } else { "f" };
        let q = &src[quote_at..quote_at + quote];
        self.edits
            .push(Edit::replace(lit.range, format!("{new_prefix}{q}{out}{q}")));
    }
}

impl<'a> Visitor<'a> for PlaceholderFinder<'_> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        let nested = matches!(stmt, Stmt::FunctionDef(_) | Stmt::ClassDef(_));
        self.function_depth += usize::from(nested);
        visitor::walk_stmt(self, stmt);
        self.function_depth -= usize::from(nested);
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        match expr {
            Expr::Set(set) if self.placeholder_set(set) => {}
            Expr::Name(name) if self.fstring_depth > 0 => {
                if let Some(p) = Placeholder::from_name(&name.id) {
                    self.record(&name.id, p);
                }
            }
            _ => visitor::walk_expr(self, expr),
        }
    }

    fn visit_f_string(&mut self, f_string: &'a ast::FString) {
        self.fstring_depth += 1;
        visitor::walk_f_string(self, f_string);
        self.fstring_depth -= 1;
    }

    fn visit_string_literal(&mut self, string_literal: &'a ast::StringLiteral) {
        if self.fstring_depth == 0 {
            self.string_literal(string_literal);
        }
    }
}

impl Snippet {
    /// The placeholders passed as hook-function parameters, in order (everything used but
    /// `{thread_id}`, which the hook computes itself).
    pub fn params(&self) -> impl Iterator<Item = Placeholder> + '_ {
        self.uses
            .iter()
            .copied()
            .filter(|p| *p != Placeholder::ThreadId)
    }
}

/// The byte range of `range` as `(start, end)`.
pub fn span(range: TextRange) -> (usize, usize) {
    (range.start().into(), range.end().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str, kind: HookKind) -> Snippet {
        compile(text, kind).unwrap_or_else(|e| panic!("{text:?}: {e:?}"))
    }

    #[test]
    fn binds_set_placeholders_as_names() {
        let s = ok(
            "tracer.start({qualname}, {arguments})",
            HookKind::FunctionEnter,
        );
        assert_eq!(s.body, "tracer.start((qualname), (arguments))");
        assert_eq!(
            s.uses.iter().copied().collect::<Vec<_>>(),
            vec![Placeholder::Qualname, Placeholder::Arguments]
        );
        assert!(s.value_range.is_some());
    }

    #[test]
    fn f_strings_and_plain_strings() {
        let s = ok(
            "print(f\"{qualname} returned {return_value!r}\")",
            HookKind::FunctionExit,
        );
        assert!(s.uses.contains(&Placeholder::ReturnValue));
        assert_eq!(s.body, s.text);

        let s = ok(
            "print(\"[CALL] {file_name}::{method_name}:{lineno} {other}\")",
            HookKind::FunctionEnter,
        );
        assert_eq!(
            s.body,
            "print(f\"[CALL] {file_name}::{method_name}:{lineno} {{other}}\")"
        );
        assert!(s.function_aliases.contains("method_name"));
        // Dynamic placeholders are not substituted inside plain strings.
        let s = ok("print('{return_value}')", HookKind::FunctionExit);
        assert_eq!(s.body, "print('{return_value}')");
        let s = ok(
            "print(r'\\d{qualname}', '\\N{EM DASH}{lineno}')",
            HookKind::FunctionEnter,
        );
        assert_eq!(s.body, "print(rf'\\d{qualname}', f'\\N{EM DASH}{lineno}')");
    }

    #[test]
    fn errors_are_located() {
        let e = compile("x = 1\nprint({qualnme})", HookKind::FunctionEnter).unwrap_err();
        assert_eq!((e.line.get(), e.column), (2, 7));
        assert!(
            e.message.contains("unknown placeholder {qualnme}"),
            "{}",
            e.message
        );

        let e = compile("tracer.finish({return_value})", HookKind::FunctionEnter).unwrap_err();
        assert!(
            e.message
                .contains("{return_value} has no value in function-enter")
        );

        let e = compile("print(", HookKind::ModuleEnter).unwrap_err();
        assert!(e.message.starts_with("invalid Python"));

        assert!(compile("return 1", HookKind::ModuleEnter).is_err());
        assert!(compile("x = yield", HookKind::ModuleEnter).is_err());
        // A one-element set written with a comma is a set.
        ok("s = {x,}", HookKind::ModuleEnter);
        ok(
            "def helper():\n    return 1\nhelper()",
            HookKind::ModuleEnter,
        );
    }

    #[test]
    fn what_the_compiler_refuses_is_an_error() {
        let deep = format!("x = {}1{}", "(".repeat(5_000), ")".repeat(5_000));
        let cases: &[(&str, &str)] = &[
            ("break", "'break' outside loop"),
            ("continue", "'continue' outside loop"),
            (
                "for x in y:\n    pass\nelse:\n    break",
                "'break' outside loop",
            ),
            (
                "for x in y:\n    def f():\n        continue",
                "'continue' outside loop",
            ),
            (
                "async for x in y:\n    pass",
                "'async for' outside async function",
            ),
            (
                "async with x:\n    pass",
                "'async with' outside async function",
            ),
            ("def f():\n    await x", "'await' outside async function"),
            (
                "def f():\n    [x async for x in y]",
                "asynchronous comprehension",
            ),
            ("class C:\n    return 1", "'return' outside function"),
            ("class C:\n    yield 1", "'yield' outside function"),
            (
                "def f():\n    return [(yield x) for x in y]",
                "'yield' inside a comprehension",
            ),
            ("from __future__ import annotations", "from __future__"),
            (
                "from os import *",
                "`import *` is only allowed at module level",
            ),
            ("x = 1\nglobal x", "used prior to its global declaration"),
            (
                "def f():\n    y = 1\n    def g():\n        y\n        nonlocal y",
                "used prior to its nonlocal declaration",
            ),
            ("__debug__ = 1", "cannot assign to __debug__"),
            (
                "def f():\n    def g():\n        nonlocal y",
                "no binding for nonlocal 'y' found",
            ),
            (
                "class C:\n    y = 2\n    def g():\n        nonlocal y\n        y = 3",
                "no binding for nonlocal 'y' found",
            ),
            ("def f(a, b, a):\n    pass", "duplicate argument 'a'"),
            ("print(sep=1, sep=2)", "keyword argument repeated: sep"),
            ("*x = y", "starred assignment target"),
            ("g = lambda x, *, x: x", "duplicate argument 'x'"),
            ("def f(a, /, *a):\n    pass", "duplicate argument 'a'"),
            ("# only a comment", "no statements"),
            ("print(1)\0", "NUL character"),
            (&deep, "too many nested"),
        ];
        for (text, needle) in cases {
            let e = compile(text, HookKind::ModuleEnter).unwrap_err();
            assert!(e.message.contains(needle), "{text:.60?}: {e:?}");
        }
        for text in [
            "for x in y:\n    break\nelse:\n    pass",
            "while x:\n    continue",
            "async def f():\n    async for x in y:\n        await x",
            "def f():\n    yield 1",
            "global counter\ncounter = 1",
            "def f():\n    y = 1\n    def g():\n        nonlocal y\n        y = 2",
            "(x async for x in y)",
            "from os import path",
            "lambda: (yield)",
            "def f():\n    def g():\n        nonlocal y\n    y = 1",
            "y = 1\ndef f():\n    nonlocal y",
            "import a.b as y, c.d\ndef f():\n    nonlocal y, c",
            "def f(x):\n    try:\n        pass\n    except E as e:\n        pass\n    match x:\n        case [*r] | {**r}:\n            pass\n    def g():\n        nonlocal e, r, x",
            "def f():\n    [y := 1 for _ in ()]\n    def g():\n        nonlocal y",
            "def f(a, *, b, **c):\n    return lambda a, b=1: a",
        ] {
            compile(text, HookKind::ModuleEnter).unwrap_or_else(|e| panic!("{text:?}: {e:?}"));
        }
    }
}
