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
use crate::source::syntax::{Edit, apply_edits};

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
    /// 1-based line within the snippet.
    pub line: usize,
    /// 1-based column (characters) within that line.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

/// Compiles `text` as a snippet for `kind`.
///
/// Errors: the text does not parse; an unknown placeholder; a placeholder with no value at
/// `kind`; `return`, `yield`, `await` or `nonlocal` at the snippet's top level (the snippet
/// runs as the body of a plain function).
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
            line: 1,
            column: 1,
            message: "the snippet is empty".into(),
        });
    }
    let parsed = ruff_python_parser::parse_module(text)
        .map_err(|e| at(e.location.start(), format!("invalid Python: {}", e.error)))?;
    let suite = parsed.suite();

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
    check_top_level(suite).map_err(|(offset, m)| at(offset, m))?;
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
    let string_ranges = crate::source::syntax::string_ranges(reparsed.suite())
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

/// 1-based (line, column) of a byte offset in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

fn first_mention(text: &str, p: &Placeholder) -> usize {
    let name = p.param_name();
    text.find(&format!("{{{name}"))
        .or_else(|| text.find(&name))
        .unwrap_or(0)
}

/// Rejects statements that do not make sense in a hook body.
fn check_top_level(suite: &[Stmt]) -> Result<(), (TextSize, String)> {
    struct Check(Option<(TextSize, String)>, usize);
    impl<'a> Visitor<'a> for Check {
        fn visit_stmt(&mut self, stmt: &'a Stmt) {
            if self.0.is_some() {
                return;
            }
            match stmt {
                Stmt::FunctionDef(_) | Stmt::ClassDef(_) => {
                    self.1 += 1;
                    visitor::walk_stmt(self, stmt);
                    self.1 -= 1;
                    return;
                }
                Stmt::Return(_) if self.1 == 0 => {
                    self.0 = Some((
                        stmt.start(),
                        "`return` is not allowed in a snippet: a hook's value is its last expression"
                            .into(),
                    ));
                }
                Stmt::Nonlocal(_) if self.1 == 0 => {
                    self.0 = Some((
                        stmt.start(),
                        "`nonlocal` is not allowed: snippets cannot rebind the instrumented function's locals"
                            .into(),
                    ));
                }
                _ => {}
            }
            visitor::walk_stmt(self, stmt);
        }
        fn visit_expr(&mut self, expr: &'a Expr) {
            if self.0.is_some() {
                return;
            }
            match expr {
                Expr::Lambda(_) => return,
                Expr::Yield(_) | Expr::YieldFrom(_) | Expr::Await(_) if self.1 == 0 => {
                    self.0 = Some((
                        expr.start(),
                        "`yield` and `await` are not allowed in a snippet: it runs as a plain function"
                            .into(),
                    ));
                    return;
                }
                _ => {}
            }
            visitor::walk_expr(self, expr);
        }
    }
    let mut c = Check(None, 0);
    c.visit_body(suite);
    c.0.map_or(Ok(()), Err)
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
        assert_eq!((e.line, e.column), (2, 7));
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
}
