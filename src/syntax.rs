//! Small facts about Python source text shared by the snippet compiler, the source
//! instrumenter and the hooks-module generator: where string tokens are, which lines may be
//! re-indented, how to write a value as an ASCII Python literal, and applying text edits.

use crate::line::LineNumber;
use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_text_size::{Ranged, TextRange};

/// The line and 1-based column (characters) of a byte offset in `text`.
pub fn line_col(text: &str, offset: usize) -> (LineNumber, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = LineNumber::from_zero_indexed(before.matches('\n').count());
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// Ranges of every string, bytes, f-string and t-string literal part in `suite`.
pub fn string_ranges(suite: &[Stmt]) -> Vec<TextRange> {
    struct Collector(Vec<TextRange>);
    impl<'a> Visitor<'a> for Collector {
        fn visit_expr(&mut self, expr: &'a Expr) {
            match expr {
                Expr::StringLiteral(_)
                | Expr::BytesLiteral(_)
                | Expr::FString(_)
                | Expr::TString(_) => self.0.push(expr.range()),
                _ => visitor::walk_expr(self, expr),
            }
        }
    }
    let mut c = Collector(Vec::new());
    c.visit_body(suite);
    c.0.sort_by_key(|r| r.start());
    c.0
}

/// Byte offsets of the start of each line of `text` (line `i`, 0-based, starts at `starts[i]`).
/// Recognises `\n`, `\r\n` and lone `\r` as Python's tokenizer does.
pub fn line_starts(text: &str) -> Vec<usize> {
    let bytes = text.as_bytes();
    let mut starts = vec![0];
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => starts.push(i + 1),
            b'\r' => {
                if bytes.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                starts.push(i + 1);
            }
            _ => {}
        }
        i += 1;
    }
    if starts.last() == Some(&text.len()) && starts.len() > 1 {
        starts.pop();
    }
    starts
}

/// For each line (by [`line_starts`]), whether it begins strictly inside a string token,
/// where adding indentation would change the string's value.
pub fn lines_inside_strings(starts: &[usize], strings: &[TextRange]) -> Vec<bool> {
    let mut out = vec![false; starts.len()];
    let mut j = 0;
    for (i, &s) in starts.iter().enumerate() {
        while j < strings.len() && usize::from(strings[j].end()) <= s {
            j += 1;
        }
        // Ranges are sorted by start and never overlap at the top level.
        let mut k = j;
        while k < strings.len() && usize::from(strings[k].start()) < s {
            if usize::from(strings[k].end()) > s {
                out[i] = true;
                break;
            }
            k += 1;
        }
    }
    out
}

/// Writes `s` as a Python string literal using only ASCII (`'...'` with escapes), so it can
/// be inserted into a file of any source encoding.
pub fn py_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            ' '..='~' => out.push(c),
            c if (c as u32) < 0x100 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push('\'');
    out
}

/// `Some(s)` as a literal, `None` as `None`.
pub fn py_opt_str(s: Option<&str>) -> String {
    s.map_or_else(|| "None".to_string(), py_str)
}

/// A replacement of `range` (byte offsets into the text) by `text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    /// Start byte offset.
    pub start: usize,
    /// End byte offset (== start for an insertion).
    pub end: usize,
    /// Replacement text.
    pub text: String,
}

impl Edit {
    /// Inserts `text` at `at`.
    pub fn insert(at: usize, text: impl Into<String>) -> Self {
        Edit {
            start: at,
            end: at,
            text: text.into(),
        }
    }

    /// Replaces `range`.
    pub fn replace(range: TextRange, text: impl Into<String>) -> Self {
        Edit {
            start: range.start().into(),
            end: range.end().into(),
            text: text.into(),
        }
    }
}

/// Applies non-overlapping edits. Insertions at the same offset keep their given order.
pub fn apply_edits(text: &str, mut edits: Vec<Edit>) -> String {
    edits.sort_by_key(|e| (e.start, e.end));
    let mut out =
        String::with_capacity(text.len() + edits.iter().map(|e| e.text.len()).sum::<usize>());
    let mut pos = 0;
    for e in edits {
        debug_assert!(e.start >= pos, "overlapping edits");
        out.push_str(&text[pos..e.start]);
        out.push_str(&e.text);
        pos = e.end.max(pos);
    }
    out.push_str(&text[pos..]);
    out
}

/// The docstring statement of a body, if its first statement is a plain string expression.
pub fn docstring(body: &[Stmt]) -> Option<&Stmt> {
    match body.first() {
        Some(stmt @ Stmt::Expr(ast::StmtExpr { value, .. })) if value.is_string_literal_expr() => {
            Some(stmt)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_are_ascii_python() {
        assert_eq!(py_str("a'b\\c"), r"'a\'b\\c'");
        assert_eq!(py_str("é€\u{1F600}"), r"'\xe9\u20ac\U0001f600'");
        assert_eq!(py_opt_str(None), "None");
    }

    #[test]
    fn line_starts_handle_all_endings() {
        assert_eq!(line_starts("a\nb\r\nc\rd"), vec![0, 2, 5, 7]);
        assert_eq!(line_starts("a\n"), vec![0]);
        assert_eq!(line_starts(""), vec![0]);
    }

    #[test]
    fn finds_lines_inside_strings() {
        let src = "x = '''a\nb\nc'''\ny = 1\n";
        let parsed = ruff_python_parser::parse_module(src).unwrap();
        let ranges = string_ranges(parsed.suite());
        let starts = line_starts(src);
        assert_eq!(
            lines_inside_strings(&starts, &ranges),
            vec![false, true, true, false]
        );
    }

    #[test]
    fn edits_apply_in_order() {
        let out = apply_edits(
            "abc",
            vec![
                Edit::insert(1, "X"),
                Edit::insert(1, "Y"),
                Edit::insert(3, "Z"),
            ],
        );
        assert_eq!(out, "aXYbcZ");
    }
}
