//! A linear pre-parse scan refusing sources whose brackets or f-strings nest deeper than
//! every supported CPython accepts, before the parser builds a tree for them.
//!
//! CPython's tokenizer (3.9 and later) refuses a 201st open bracket ("too many nested
//! parentheses"); from 3.12 on the `{` opening an f-string (or t-string) replacement field
//! counts as one, and a 150th f-string nested inside f-strings is refused ("too many nested
//! f-strings"). The rule here is the union of these limits: a source any of those versions
//! refuses cannot be imported there. (3.8's parser refuses far shallower nesting, around a
//! hundred parentheses, depending on the grammar; that limit is not a bracket count and is
//! not applied.) Brackets inside comments and string literals, and doubled braces in
//! f-string literal text, do not count.
//!
//! The scan keeps one frame per open f-string and replacement field, so its memory is
//! bounded by the limits; it reads each byte once.

use ruff_text_size::TextSize;

/// Most brackets open at once (`(`, `[`, `{`, and replacement fields of f-strings and
/// t-strings) that CPython's tokenizer accepts.
pub const MAX_BRACKETS: usize = 200;

/// Most f-strings (or t-strings) open at once, one inside another's replacement field, that
/// CPython 3.12 and later accept.
pub const MAX_FSTRINGS: usize = 149;

/// One open construct the scan is inside of.
enum Frame {
    /// An f-string's (or t-string's) literal text, closed by `quote` (three of it when
    /// `triple`); backslashes escape unless `raw`.
    FString { quote: u8, triple: bool, raw: bool },
    /// Code of a replacement field opened when `base` brackets were open (its `{` included).
    Field { base: usize },
    /// The format specification of the replacement field opened at `base`.
    Spec { base: usize },
}

/// The byte offset and message of the first bracket or f-string nested past the limits
/// ([`MAX_BRACKETS`], [`MAX_FSTRINGS`]), if there is one. Malformed sources (unterminated
/// strings, unbalanced brackets) are scanned leniently: the parser reports those.
pub fn too_deep(text: &str) -> Option<(TextSize, String)> {
    let bytes = text.as_bytes();
    let mut frames: Vec<Frame> = Vec::new();
    let mut depth = 0usize;
    let mut fstrings = 0usize;
    let mut i = 0usize;
    let at = |i: usize| TextSize::try_from(i).unwrap_or(TextSize::new(u32::MAX));
    let open = |depth: &mut usize, i: usize| -> Option<(TextSize, String)> {
        *depth += 1;
        (*depth > MAX_BRACKETS).then(|| {
            (
                at(i),
                format!(
                    "too many nested parentheses (more than {MAX_BRACKETS} open brackets; \
                     CPython refuses such code too)"
                ),
            )
        })
    };
    while i < bytes.len() {
        let c = bytes[i];
        match frames.last() {
            Some(&Frame::FString { quote, triple, raw }) => {
                if c == b'\\' {
                    // `\N{...}` names a character: its braces are not a field.
                    if !raw && bytes.get(i + 1) == Some(&b'N') && bytes.get(i + 2) == Some(&b'{') {
                        i += 3;
                        while i < bytes.len() && bytes[i] != b'}' && bytes[i] != quote {
                            i += 1;
                        }
                        i += usize::from(bytes.get(i) == Some(&b'}'));
                    } else if matches!(bytes.get(i + 1), Some(b'{' | b'}')) {
                        i += 1;
                    } else {
                        i += 2;
                    }
                    continue;
                }
                if c == quote && (!triple || bytes[i..].starts_with(&[quote; 3])) {
                    frames.pop();
                    fstrings -= 1;
                    i += if triple { 3 } else { 1 };
                    continue;
                }
                if c == b'\n' && !triple {
                    // Unterminated: leave it to the parser.
                    frames.pop();
                    fstrings -= 1;
                } else if c == b'{' || c == b'}' {
                    if bytes.get(i + 1) == Some(&c) {
                        i += 2;
                        continue;
                    }
                    if c == b'{' {
                        if let Some(found) = open(&mut depth, i) {
                            return Some(found);
                        }
                        frames.push(Frame::Field { base: depth });
                    }
                }
                i += 1;
            }
            Some(&Frame::Spec { base }) => {
                match c {
                    b'{' => {
                        if let Some(found) = open(&mut depth, i) {
                            return Some(found);
                        }
                        frames.push(Frame::Field { base: depth });
                    }
                    b'}' => {
                        depth = base - 1;
                        frames.pop();
                    }
                    b'\'' | b'"' | b'\n' if ends_fstring(&frames, c) => {
                        // The f-string ends (or breaks) inside the specification.
                        frames.pop();
                        depth = base - 1;
                        continue;
                    }
                    _ => {}
                }
                i += 1;
            }
            top => {
                let base = match top {
                    Some(&Frame::Field { base }) => Some(base),
                    _ => None,
                };
                match c {
                    b'#' => {
                        while i < bytes.len() && bytes[i] != b'\n' {
                            i += 1;
                        }
                        continue;
                    }
                    b'\\' => i += 1,
                    b'(' | b'[' | b'{' => {
                        if let Some(found) = open(&mut depth, i) {
                            return Some(found);
                        }
                    }
                    b')' | b']' | b'}' => {
                        if c == b'}' && base == Some(depth) {
                            frames.pop();
                        }
                        depth = depth.saturating_sub(1);
                    }
                    b':' if base == Some(depth) => {
                        frames.pop();
                        frames.push(Frame::Spec { base: depth });
                    }
                    b'\'' | b'"' => {
                        i = skip_string(bytes, i);
                        continue;
                    }
                    c if c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80 => {
                        let start = i;
                        while i < bytes.len()
                            && (bytes[i].is_ascii_alphanumeric()
                                || bytes[i] == b'_'
                                || bytes[i] >= 0x80)
                        {
                            i += 1;
                        }
                        let Some(&quote @ (b'\'' | b'"')) = bytes.get(i) else {
                            continue;
                        };
                        let prefix = text[start..i].to_ascii_lowercase();
                        if !matches!(
                            prefix.as_str(),
                            "r" | "u" | "b" | "br" | "rb" | "f" | "fr" | "rf" | "t" | "tr" | "rt"
                        ) {
                            continue;
                        }
                        if prefix.contains('f') || prefix.contains('t') {
                            fstrings += 1;
                            if fstrings > MAX_FSTRINGS {
                                return Some((
                                    at(start),
                                    format!(
                                        "too many nested f-strings (more than {MAX_FSTRINGS}; \
                                         CPython refuses such code too)"
                                    ),
                                ));
                            }
                            let triple = bytes[i..].starts_with(&[quote; 3]);
                            let raw = prefix.contains('r');
                            frames.push(Frame::FString { quote, triple, raw });
                            i += if triple { 3 } else { 1 };
                        } else {
                            i = skip_string(bytes, i);
                        }
                        continue;
                    }
                    _ => {}
                }
                i += 1;
            }
        }
    }
    None
}

/// Whether `c`, met in a format specification, ends (or breaks) the f-string around it:
/// its quote, or a newline in a single-quoted one.
fn ends_fstring(frames: &[Frame], c: u8) -> bool {
    let around = frames.len().checked_sub(2).and_then(|i| frames.get(i));
    match around {
        Some(&Frame::FString { quote, triple, .. }) => c == quote || (c == b'\n' && !triple),
        _ => true,
    }
}

/// The offset just past the plain string literal whose opening quote is at `start` (or the
/// end of the line or text when it is unterminated).
fn skip_string(bytes: &[u8], start: usize) -> usize {
    let quote = bytes[start];
    let triple = bytes[start..].starts_with(&[quote; 3]);
    let mut i = start + if triple { 3 } else { 1 };
    while i < bytes.len() {
        match bytes[i] {
            // A backslash keeps the next character in the literal, raw or not.
            b'\\' => i += 2,
            b'\n' if !triple => return i,
            c if c == quote && (!triple || bytes[i..].starts_with(&[quote; 3])) => {
                return i + if triple { 3 } else { 1 };
            }
            _ => i += 1,
        }
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(text: &str) -> Option<String> {
        too_deep(text).map(|(_, m)| m)
    }

    #[test]
    fn counts_brackets_like_cpython() {
        let nest = |n: usize| format!("x = {}1{}\n", "(".repeat(n), ")".repeat(n));
        assert_eq!(refused(&nest(200)), None);
        assert!(
            refused(&nest(201))
                .unwrap()
                .contains("too many nested parentheses")
        );
        let mixed = format!("x = {}{}\n", "[{(".repeat(67), ")}]".repeat(67));
        assert!(refused(&mixed).is_some());
        // Replacement fields count (CPython 3.12+): 4 fields and 196 parentheses is 200.
        let f = |n: usize| {
            format!(
                "x = {}{}1{}{}\n",
                "f\"{".repeat(4),
                "(".repeat(n),
                ")".repeat(n),
                "}\"".repeat(4)
            )
        };
        assert_eq!(refused(&f(196)), None);
        assert!(refused(&f(197)).is_some());
        let (offset, _) = too_deep(&format!("a = 1\n{}", nest(300))).unwrap();
        assert_eq!(usize::from(offset), 6 + 4 + 200);
    }

    #[test]
    fn strings_and_comments_do_not_count() {
        let deep = "(".repeat(300);
        for text in [
            format!("# {deep}\nx = 1\n"),
            format!("x = '{deep}'\n"),
            format!("x = \"\"\"{deep}\n{deep}\"\"\"\n"),
            format!("x = rb'\\'{deep}'\n"),
            format!("x = f'{{{{{deep}'\n"),
            format!("x = f'{{a:{deep}}}'\n"),
            format!("x = f'{{a!r}} {{\"{deep}\"}}'\n"),
            format!("x = '\\N{{DIGIT ONE}}' + f'\\N{{DIGIT ONE}}{deep}'\n"),
        ] {
            assert_eq!(refused(&text), None, "{text}");
        }
    }

    #[test]
    fn nested_fstrings_are_bounded() {
        let f = |n: usize| format!("x = {}1{}\n", "f\"{".repeat(n), "}\"".repeat(n));
        assert_eq!(refused(&f(149)), None);
        assert!(
            refused(&f(150))
                .unwrap()
                .contains("too many nested f-strings")
        );
        // Closed f-strings and fields release their levels.
        let seq = format!("x = [{}]\n", vec!["f'{(1)}'"; 1000].join(", "));
        assert_eq!(refused(&seq), None);
    }
}
