//! Escaping untrusted text (file paths, archive member names, RECORD fields) before it is
//! printed, so that a hostile name can neither reach the terminal as an escape sequence nor
//! split a one-line message.
//!
//! Every message that shows a path or a member name goes through [`escape`] (bare) or
//! [`quoted`] (in double quotes, for text that may be empty or contain spaces).

use std::borrow::Cow;
use std::fmt::Write;
use std::path::Path;

/// Whether `c` must not be printed as is: C0 and C1 control characters, DEL, the Unicode
/// line and paragraph separators, and the bidirectional-text controls that can reorder what
/// a terminal shows (U+200E, U+200F, U+202A..U+202E, U+2066..U+2069).
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if (c as u32) < 0x100 => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
}

/// `text` with every unprintable character written as an escape (`\n`, `\x1b`, `\u{202e}`);
/// a backslash is doubled when anything else was escaped, so the result reads back
/// unambiguously. Borrowed unchanged when nothing needs escaping (the common case).
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            c if needs_escape(c) => push_escaped(&mut out, c),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Prose for a message, which may already hold names escaped by [`escape`] or [`quoted`]:
/// every unprintable character is escaped as by [`escape`], but backslashes are left as
/// they are, so that text escaped earlier is not escaped twice (the function is
/// idempotent). Used where an error is displayed, as the last line of defence for text
/// taken from the input (TOML keys and values, parser messages, names in a wheel).
/// Borrowed unchanged when nothing needs escaping.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            c if needs_escape(c) => push_escaped(&mut out, c),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// `text` in double quotes, with `"` and `\` backslash-escaped and unprintable characters
/// escaped as by [`escape`].
pub fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if needs_escape(c) => push_escaped(&mut out, c),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A file path for a message: its lossy UTF-8 form (invalid bytes become U+FFFD), escaped
/// as by [`escape`].
pub fn path(path: &Path) -> String {
    escape(&path.to_string_lossy()).into_owned()
}

/// Raw bytes (a member name that is not UTF-8) for a message: lossy UTF-8, quoted.
pub fn quoted_bytes(bytes: &[u8]) -> String {
    quoted(&String::from_utf8_lossy(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed() {
        assert!(matches!(escape("pkg/mod.py"), Cow::Borrowed(_)));
        assert_eq!(escape("C:\\dist\\a b.whl"), "C:\\dist\\a b.whl");
    }

    #[test]
    fn escapes_terminal_controls_and_line_breaks() {
        assert_eq!(escape("a\u{1b}[31mb\nc"), "a\\x1b[31mb\\nc");
        assert_eq!(escape("x\u{202e}y\\z\r"), "x\\u{202e}y\\\\z\\r");
        assert_eq!(escape("\u{85}\u{7f}"), "\\x85\\x7f");
        assert!(!escape("\u{2028}").contains('\u{2028}'));
    }

    #[test]
    fn printable_escapes_controls_once() {
        assert!(matches!(printable("unknown field `a`"), Cow::Borrowed(_)));
        assert_eq!(printable("a\u{1b}[2J\nb"), "a\\x1b[2J\\nb");
        let once = printable("\\x1b was \u{0}");
        assert_eq!(once, "\\x1b was \\x00");
        assert_eq!(printable(&once), once);
    }

    #[test]
    fn quotes_and_escapes_quotes() {
        assert_eq!(quoted("a\"b"), "\"a\\\"b\"");
        assert_eq!(quoted("a\\b\n"), "\"a\\\\b\\n\"");
        assert_eq!(quoted_bytes(b"a\xffb"), "\"a\u{fffd}b\"");
    }
}
