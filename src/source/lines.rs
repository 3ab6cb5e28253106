//! Per-line facts about a source file that decide where code may go and which line breaks
//! may be removed without changing the program: lines that start inside a string, inside
//! brackets, trailing comments, and line breaks inside plain string literals that can be
//! written as a `\n` escape instead.

use ruff_python_ast::token::{TokenKind, Tokens};
use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{self as ast, Expr, Stmt, StringFlags};
use ruff_text_size::{Ranged, TextRange};

use crate::syntax::{line_starts, lines_inside_strings, string_ranges};

/// Facts about every line of one file (indexes are 0-based lines).
#[derive(Debug, Clone)]
pub struct LineFacts {
    /// Byte offset where each line starts.
    pub starts: Vec<usize>,
    /// The line starts strictly inside a string token (indentation there is string content).
    pub inside_string: Vec<bool>,
    /// The line starts inside brackets (a continuation line of a bracketed expression).
    pub in_brackets: Vec<bool>,
    /// Byte offset of the comment on this line, if any.
    pub comment: Vec<Option<usize>>,
    /// The line break ending this line lies inside a non-raw, non-f plain string or bytes
    /// literal, so it may be replaced by the escape `\n` and the next line joined to this one.
    pub escapable_break: Vec<bool>,
}

impl LineFacts {
    /// Computes the facts from the text, its tokens and its AST.
    pub fn new(text: &str, tokens: &Tokens, suite: &[Stmt]) -> Self {
        let starts = line_starts(text);
        let n = starts.len();
        let inside_string = lines_inside_strings(&starts, &string_ranges(suite));

        let mut in_brackets = vec![false; n];
        let mut comment = vec![None; n];
        let mut depth: i64 = 0;
        let mut line = 0;
        for token in tokens.iter() {
            let start = usize::from(token.start());
            while line + 1 < n && starts[line + 1] <= start {
                line += 1;
                in_brackets[line] = depth > 0;
            }
            match token.kind() {
                TokenKind::Lpar | TokenKind::Lsqb | TokenKind::Lbrace => depth += 1,
                TokenKind::Rpar | TokenKind::Rsqb | TokenKind::Rbrace => depth = (depth - 1).max(0),
                TokenKind::Comment => comment[line] = Some(start),
                _ => {}
            }
        }
        while line + 1 < n {
            line += 1;
            in_brackets[line] = depth > 0;
        }

        // One walk over the lines and the (sorted) ranges together: a docstring-heavy module
        // has as many ranges as functions.
        let mut escapable = escapable_string_ranges(suite);
        escapable.sort_unstable_by_key(|r| r.start());
        let mut escapable_break = vec![false; n];
        let mut ranges = escapable.iter().peekable();
        for i in 0..n.saturating_sub(1) {
            let next = starts[i + 1];
            while ranges.next_if(|r| usize::from(r.end()) <= next).is_some() {}
            let inside = ranges.peek().is_some_and(|r| usize::from(r.start()) < next);
            if inside {
                let content = text[starts[i]..next].trim_end_matches(['\r', '\n']);
                let backslashes = content.len() - content.trim_end_matches('\\').len();
                escapable_break[i] = backslashes.is_multiple_of(2);
            }
        }
        LineFacts {
            starts,
            inside_string,
            in_brackets,
            comment,
            escapable_break,
        }
    }
}

/// Ranges of triple-quoted, non-raw plain string and bytes literal parts: a line break in
/// them has the same value as the escape `\n`.
fn escapable_string_ranges(suite: &[Stmt]) -> Vec<TextRange> {
    struct Collector(Vec<TextRange>);
    impl<'a> Visitor<'a> for Collector {
        fn visit_string_literal(&mut self, lit: &'a ast::StringLiteral) {
            if lit.flags.is_triple_quoted() && !lit.flags.prefix().is_raw() {
                self.0.push(lit.range);
            }
        }
        fn visit_bytes_literal(&mut self, lit: &'a ast::BytesLiteral) {
            if lit.flags.is_triple_quoted() && !lit.flags.prefix().is_raw() {
                self.0.push(lit.range);
            }
        }
        fn visit_expr(&mut self, expr: &'a Expr) {
            // Literal parts of f-strings and t-strings are not plain strings.
            if !matches!(expr, Expr::FString(_) | Expr::TString(_)) {
                visitor::walk_expr(self, expr);
            }
        }
    }
    let mut c = Collector(Vec::new());
    c.visit_body(suite);
    c.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(src: &str) -> LineFacts {
        let parsed = ruff_python_parser::parse_module(src).unwrap();
        LineFacts::new(src, parsed.tokens(), parsed.suite())
    }

    #[test]
    fn brackets_comments_and_escapable_breaks() {
        let src = "x = f(  # c\n    1,\n)\ns = '''a\nb\\\nc'''\nr = r'''a\nb'''\nt = f'''a\nb'''\n";
        let f = facts(src);
        assert_eq!(
            f.in_brackets,
            vec![
                false, true, true, false, false, false, false, false, false, false
            ]
        );
        assert_eq!(f.comment[0], Some(8));
        assert_eq!(
            f.inside_string,
            vec![
                false, false, false, false, true, true, false, true, false, true
            ]
        );
        // `a` -> `b\` is escapable, `b\` -> `c` is a backslash continuation, raw and f are not.
        assert_eq!(
            f.escapable_break,
            vec![
                false, false, false, true, false, false, false, false, false, false
            ]
        );
    }
}
