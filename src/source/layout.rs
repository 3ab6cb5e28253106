//! Line-preserving editing of Python source (DESIGN.md section 3, "Line numbers").
//!
//! Injected code goes on existing lines wherever possible: as inline text (`a; b`), or on
//! a blank or comment-only line inside the allowed window ("hosting"). When a new physical
//! line is unavoidable, a blank line nearby is deleted to pay for it, choosing the side that
//! moves the fewest statements; [`Rendered::line_map`] says where every original line ended
//! up, so the caller can count the statements that still moved.

use super::encoding::is_header_line;
use super::syntax::{Edit, line_starts};

/// A request for one new line of code.
#[derive(Debug, Clone)]
pub struct LineRequest {
    /// First line (0-based) that may host it.
    pub lo: usize,
    /// It must come before this line (0-based; `lines` for end of file).
    pub hi: usize,
    /// Leading whitespace to write before `code`.
    pub indent: String,
    /// The code (one logical line, no line break).
    pub code: String,
}

/// Edits to one source text, applied by [`Layout::render`].
pub struct Layout<'t> {
    text: &'t str,
    starts: Vec<usize>,
    inside_string: Vec<bool>,
    inline: Vec<Edit>,
    indents: Vec<(usize, String)>,
    requests: Vec<LineRequest>,
}

/// The edited text and where each original line went.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The new text.
    pub text: String,
    /// For each original line (0-based), its 0-based line in `text`; `None` if deleted.
    pub line_map: Vec<Option<usize>>,
    /// How many new physical lines had to be inserted (each paid for by a deletion when a
    /// blank line was found).
    pub inserted_lines: usize,
}

impl<'t> Layout<'t> {
    /// Starts editing `text`; `inside_string[i]` tells whether line `i` starts inside a string
    /// token (see [`super::syntax::lines_inside_strings`]).
    pub fn new(text: &'t str, inside_string: Vec<bool>) -> Self {
        let starts = line_starts(text);
        debug_assert_eq!(starts.len(), inside_string.len());
        Layout {
            text,
            starts,
            inside_string,
            inline: Vec::new(),
            indents: Vec::new(),
            requests: Vec::new(),
        }
    }

    /// Number of lines.
    pub fn line_count(&self) -> usize {
        self.starts.len()
    }

    /// The 0-based line containing byte `offset`.
    pub fn line_of(&self, offset: usize) -> usize {
        self.starts.partition_point(|&s| s <= offset) - 1
    }

    /// The text of line `i` without its line break.
    pub fn line_text(&self, i: usize) -> &'t str {
        let (start, end, _) = self.bounds(i);
        &self.text[start..end]
    }

    /// The leading whitespace of line `i`.
    pub fn indent_of(&self, i: usize) -> &'t str {
        let line = self.line_text(i);
        &line[..line.len() - line.trim_start_matches([' ', '\t', '\x0c']).len()]
    }

    /// Inserts `text` at byte `offset` (within a line, never a line break).
    pub fn insert(&mut self, offset: usize, text: impl Into<String>) {
        self.inline.push(Edit::insert(offset, text));
    }

    /// Adds `prefix` at the start of line `line` (used to re-indent a block).
    pub fn indent_line(&mut self, line: usize, prefix: impl Into<String>) {
        self.indents.push((line, prefix.into()));
    }

    /// Requests a new line of code (see [`LineRequest`]). Requests with the same `hi` keep
    /// the order they were made in.
    pub fn request_line(&mut self, request: LineRequest) {
        self.requests.push(request);
    }

    /// `(content start, content end, end including the line break)` of line `i`.
    fn bounds(&self, i: usize) -> (usize, usize, usize) {
        let start = self.starts[i];
        let full_end = self.starts.get(i + 1).copied().unwrap_or(self.text.len());
        let line = &self.text[start..full_end];
        let content = line.trim_end_matches(['\r', '\n']);
        (start, start + content.len(), full_end)
    }

    fn is_blank(&self, i: usize) -> bool {
        self.line_text(i)
            .chars()
            .all(|c| matches!(c, ' ' | '\t' | '\x0c'))
    }

    fn is_comment(&self, i: usize) -> bool {
        self.line_text(i)
            .trim_start_matches([' ', '\t', '\x0c'])
            .starts_with('#')
    }

    /// Whether line `i` may take new code or be deleted: blank or comment-only, outside any
    /// string, not a coding/shebang header, and not otherwise edited.
    fn is_free(&self, i: usize, edited: &[bool]) -> bool {
        !self.inside_string[i]
            && !edited[i]
            && !is_header_line(i, self.line_text(i))
            && (self.is_blank(i) || self.is_comment(i))
    }

    /// Applies every edit. `statement_lines` (0-based start lines of the original statements)
    /// weigh the choice of which blank line pays for an inserted line.
    pub fn render(mut self, statement_lines: &[usize]) -> Rendered {
        let n = self.starts.len();
        let mut edited = vec![false; n];
        for e in &self.inline {
            edited[self.line_of(e.start)] = true;
        }
        for (line, _) in &self.indents {
            edited[*line] = true;
        }

        // 1. Host requests on free lines of their window, in order.
        let mut order: Vec<usize> = (0..self.requests.len()).collect();
        order.sort_by_key(|&i| (self.requests[i].hi, i));
        let mut hosted: Vec<Option<usize>> = vec![None; n]; // line -> request
        let mut inserted_before: Vec<Vec<usize>> = vec![Vec::new(); n + 1]; // line -> requests
        let mut group_floor: Option<(usize, Option<usize>)> = None; // (hi, last host or None=inserting)
        for &r in &order {
            let req = &self.requests[r];
            let (floor, inserting) = match group_floor {
                Some((hi, last)) if hi == req.hi => match last {
                    Some(l) => (l + 1, false),
                    None => (usize::MAX, true),
                },
                _ => (0, false),
            };
            let host = if inserting {
                None
            } else {
                (req.lo.max(floor)..req.hi.min(n))
                    .find(|&l| hosted[l].is_none() && self.is_free(l, &edited))
            };
            match host {
                Some(l) => {
                    hosted[l] = Some(r);
                    group_floor = Some((req.hi, Some(l)));
                }
                None => {
                    inserted_before[req.hi.min(n)].push(r);
                    group_floor = Some((req.hi, None));
                }
            }
        }

        // 2. Pay for each inserted line by deleting the blank line that moves fewest statements.
        let mut is_stmt = vec![false; n + 1];
        for &l in statement_lines {
            if l < n {
                is_stmt[l] = true;
            }
        }
        let mut deleted = vec![false; n];
        let deletable = |l: usize, deleted: &[bool]| {
            !deleted[l] && hosted[l].is_none() && self.is_free(l, &edited) && self.is_blank(l)
        };
        const REACH: usize = 400;
        let mut inserted_lines = 0;
        for pos in 0..=n {
            for _ in 0..inserted_before[pos].len() {
                inserted_lines += 1;
                if pos == n {
                    continue; // appended at end of file: nothing after it moves
                }
                let mut best: Option<(usize, usize)> = None; // (cost, line)
                let mut cost = 0;
                for l in pos..n.min(pos + REACH) {
                    if deletable(l, &deleted) {
                        best = Some((cost, l));
                        break;
                    }
                    cost += usize::from(is_stmt[l]);
                }
                let mut cost = 0;
                for l in (pos.saturating_sub(REACH)..pos).rev() {
                    if best.is_some_and(|(c, _)| cost >= c) {
                        break;
                    }
                    if deletable(l, &deleted) {
                        best = Some((cost, l));
                        break;
                    }
                    cost += usize::from(is_stmt[l]);
                }
                if let Some((_, l)) = best {
                    deleted[l] = true;
                }
            }
        }

        // 3. Emit.
        let default_break = if self.text.contains("\r\n") {
            "\r\n"
        } else {
            "\n"
        };
        let mut out = String::with_capacity(self.text.len() + 256 * (self.requests.len() + 1));
        let mut line_map = vec![None; n];
        let mut out_line = 0;
        let mut inline = std::mem::take(&mut self.inline);
        inline.sort_by_key(|e| (e.start, e.end));
        let mut inline = inline.into_iter().peekable();
        let mut indents = std::mem::take(&mut self.indents);
        indents.sort_by_key(|(l, _)| *l);
        let mut indents = indents.into_iter().peekable();
        let mut prev_break = default_break;
        for i in 0..=n {
            for &r in &inserted_before[i] {
                let req = &self.requests[r];
                if !out.is_empty() && !out.ends_with('\n') && !out.ends_with('\r') {
                    out.push_str(prev_break);
                }
                out.push_str(&req.indent);
                out.push_str(&req.code);
                out.push_str(prev_break);
                out_line += 1;
            }
            if i == n {
                break;
            }
            let (start, end, full_end) = self.bounds(i);
            let line_break = &self.text[end..full_end];
            if !line_break.is_empty() {
                prev_break = if line_break == "\r\n" {
                    "\r\n"
                } else if line_break == "\r" {
                    "\r"
                } else {
                    "\n"
                };
            }
            if deleted[i] {
                continue;
            }
            line_map[i] = Some(out_line);
            out_line += 1;
            if let Some(r) = hosted[i] {
                let req = &self.requests[r];
                out.push_str(&req.indent);
                out.push_str(&req.code);
                let comment = self.line_text(i).trim_start_matches([' ', '\t', '\x0c']);
                if !comment.is_empty() {
                    out.push_str("  ");
                    out.push_str(comment);
                }
                out.push_str(if line_break.is_empty() {
                    ""
                } else {
                    line_break
                });
                continue;
            }
            while let Some((_, prefix)) = indents.next_if(|(l, _)| *l == i) {
                out.push_str(&prefix);
            }
            let mut pos = start;
            while let Some(e) = inline.next_if(|e| e.start <= end) {
                debug_assert!(e.start >= pos && e.end <= end, "inline edit crosses a line");
                out.push_str(&self.text[pos..e.start]);
                out.push_str(&e.text);
                pos = e.end;
            }
            out.push_str(&self.text[pos..full_end]);
        }
        Rendered {
            text: out,
            line_map,
            inserted_lines,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(text: &str) -> Layout<'_> {
        let n = line_starts(text).len();
        Layout::new(text, vec![false; n])
    }

    #[test]
    fn inline_edits_keep_lines() {
        let text = "x = 1\ny = 2\n";
        let mut l = layout(text);
        l.insert(6, "a(); ");
        let r = l.render(&[0, 1]);
        assert_eq!(r.text, "x = 1\na(); y = 2\n");
        assert_eq!(r.line_map, vec![Some(0), Some(1)]);
    }

    #[test]
    fn hosts_on_blank_and_comment_lines() {
        let text = "def f():\n    # note\n    if x:\n        pass\n";
        let mut l = layout(text);
        l.request_line(LineRequest {
            lo: 1,
            hi: 2,
            indent: "    ".into(),
            code: "a()".into(),
        });
        let r = l.render(&[0, 2, 3]);
        assert_eq!(
            r.text,
            "def f():\n    a()  # note\n    if x:\n        pass\n"
        );
        assert_eq!(r.inserted_lines, 0);
    }

    #[test]
    fn pays_for_inserted_lines_with_the_cheapest_blank() {
        // Inserting before line 2 of a function; a blank line above the def costs one
        // statement (the def), the blank line far below costs three.
        let text = "x = 1\n\ndef f():\n    if a:\n        b\n    c\n\nz = 2\n";
        let mut l = layout(text);
        l.request_line(LineRequest {
            lo: 3,
            hi: 3,
            indent: "    ".into(),
            code: "enter()".into(),
        });
        let r = l.render(&[0, 2, 3, 4, 5, 7]);
        assert_eq!(
            r.text,
            "x = 1\ndef f():\n    enter()\n    if a:\n        b\n    c\n\nz = 2\n"
        );
        assert_eq!(r.line_map[2], Some(1)); // the def moved up
        assert_eq!(r.line_map[3], Some(3)); // the body kept its lines
        assert_eq!(r.line_map[7], Some(7));
    }

    #[test]
    fn keeps_request_order_and_crlf() {
        let text = "a\r\n\r\nb\r\n";
        let mut l = layout(text);
        for code in ["one", "two"] {
            l.request_line(LineRequest {
                lo: 1,
                hi: 2,
                indent: String::new(),
                code: code.into(),
            });
        }
        let r = l.render(&[0, 2]);
        assert_eq!(r.text, "a\r\none\r\ntwo\r\nb\r\n");
        assert_eq!(r.line_map, vec![Some(0), Some(1), Some(3)]);
    }

    #[test]
    fn appends_at_end_of_file_without_trailing_newline() {
        let text = "x = 1";
        let mut l = layout(text);
        l.request_line(LineRequest {
            lo: 1,
            hi: 1,
            indent: String::new(),
            code: "done()".into(),
        });
        let r = l.render(&[0]);
        assert_eq!(r.text, "x = 1\ndone()\n");
    }

    #[test]
    fn never_touches_header_or_string_lines() {
        let text = "# -*- coding: utf-8 -*-\n\"\"\"doc\n\n\"\"\"\nif x:\n    pass\n";
        let n = line_starts(text).len();
        let mut inside = vec![false; n];
        inside[2] = true;
        inside[3] = true;
        let mut l = Layout::new(text, inside);
        l.request_line(LineRequest {
            lo: 0,
            hi: 4,
            indent: String::new(),
            code: "imp()".into(),
        });
        let r = l.render(&[1, 4, 5]);
        assert!(
            r.text
                .starts_with("# -*- coding: utf-8 -*-\n\"\"\"doc\n\n\"\"\"\nimp()\nif x:"),
            "{}",
            r.text
        );
    }
}
