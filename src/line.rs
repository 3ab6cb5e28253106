//! One type for a 1-based source line number, as editors, tracebacks, CPython's `dis` and a
//! code object's `co_firstlineno` count: the first line of a text is line 1.
//!
//! Lines that are compared or reported (probe lines, the source rewriter's hook sites, syntax,
//! config and RECORD error positions) are [`LineNumber`]s. A code object's own lines stay the
//! signed `i32` the marshal format and the line table hold (`Location`, `co_firstlineno`, the
//! `{lineno}` of a `.pyc` hook site, the `cfg` output), because a hostile `.pyc` may give a line
//! that is absent, 0 or negative and each must round-trip and be reported exactly;
//! [`LineNumber::from_code`] is the one place such a line becomes a `LineNumber`.

use std::fmt;
use std::num::NonZeroU32;

/// A 1-based line number (`1..=u32::MAX`).
///
/// Displayed and serialized as the bare number.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LineNumber(NonZeroU32);

impl LineNumber {
    /// Line 1, the first line of a text.
    pub const FIRST: LineNumber = LineNumber(NonZeroU32::MIN);

    /// The line numbered `line`; `None` for 0, which is not a line.
    pub const fn new(line: u32) -> Option<LineNumber> {
        match NonZeroU32::new(line) {
            Some(n) => Some(LineNumber(n)),
            None => None,
        }
    }

    /// The line at 0-based `index` (an index into a text's lines): `index + 1`, saturating at
    /// `u32::MAX` (no text the tool reads comes near; CPython's own line numbers are C `int`).
    pub fn from_zero_indexed(index: usize) -> LineNumber {
        let line = u32::try_from(index).map_or(u32::MAX, |i| i.saturating_add(1));
        LineNumber(NonZeroU32::new(line).unwrap_or(NonZeroU32::MAX))
    }

    /// A code object's line (`co_firstlineno`, or a line from its line table) as a line
    /// number; `None` when it is 0 or negative, which no source line is.
    pub fn from_code(line: i32) -> Option<LineNumber> {
        u32::try_from(line).ok().and_then(LineNumber::new)
    }

    /// The number, at least 1.
    pub const fn get(self) -> u32 {
        self.0.get()
    }

    /// The 0-based index of this line into a text's lines (`get() - 1`).
    pub fn to_zero_indexed(self) -> usize {
        // u32 -> usize cannot lose bits on the targets Rust supports with `std` here.
        usize::try_from(self.get() - 1).unwrap_or(usize::MAX)
    }

    /// The line `n` lines further down, saturating at the largest line number.
    pub fn saturating_add(self, n: usize) -> LineNumber {
        let n = u32::try_from(n).unwrap_or(u32::MAX);
        LineNumber(self.0.saturating_add(n))
    }
}

impl fmt::Display for LineNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for LineNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl serde::Serialize for LineNumber {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u32(self.get())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_is_not_a_line() {
        assert_eq!(LineNumber::new(0), None);
        assert_eq!(LineNumber::new(1), Some(LineNumber::FIRST));
        assert_eq!(LineNumber::new(7).map(LineNumber::get), Some(7));
    }

    #[test]
    fn zero_indexed_round_trips() {
        assert_eq!(LineNumber::from_zero_indexed(0), LineNumber::FIRST);
        assert_eq!(LineNumber::from_zero_indexed(41).get(), 42);
        assert_eq!(LineNumber::from_zero_indexed(41).to_zero_indexed(), 41);
        assert_eq!(LineNumber::from_zero_indexed(usize::MAX).get(), u32::MAX);
    }

    #[test]
    fn code_lines_below_one_are_not_lines() {
        assert_eq!(LineNumber::from_code(0), None);
        assert_eq!(LineNumber::from_code(-3), None);
        assert_eq!(LineNumber::from_code(i32::MIN), None);
        assert_eq!(LineNumber::from_code(12).map(LineNumber::get), Some(12));
        assert_eq!(
            LineNumber::from_code(i32::MAX).map(LineNumber::get),
            Some(2_147_483_647)
        );
    }

    #[test]
    fn displays_and_serializes_as_the_bare_number() {
        let line = LineNumber::new(120).expect("nonzero");
        assert_eq!(line.to_string(), "120");
        assert_eq!(format!("{line:?}"), "120");
        assert_eq!(serde_json::to_string(&line).expect("json"), "120");
        assert_eq!(
            serde_json::json!({ "line": line }).to_string(),
            r#"{"line":120}"#
        );
    }

    #[test]
    fn adds_and_orders() {
        let one = LineNumber::FIRST;
        assert_eq!(one.saturating_add(2).get(), 3);
        assert!(one < one.saturating_add(1));
        let last = LineNumber::new(u32::MAX).expect("nonzero");
        assert_eq!(last.saturating_add(5), last);
    }
}
