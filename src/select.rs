//! Module and function selection (`[select]` in the config).
//!
//! Patterns are dotted-name globs: `*` matches within one segment, `**` any number of
//! segments, `?` and `[...]` as usual. `mypkg.**` matches `mypkg.a` and `mypkg.a.b` but not
//! `mypkg` itself. Function patterns match qualnames, whose segments include `<locals>`:
//! `outer.<locals>.inner`, `Client.*`, `**.send`.

use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};

/// Compiled `[select]` patterns.
#[derive(Debug, Clone)]
pub struct Selection {
    modules: Option<GlobSet>,
    exclude_modules: GlobSet,
    functions: Option<GlobSet>,
    exclude_functions: GlobSet,
}

impl Default for Selection {
    fn default() -> Self {
        Selection {
            modules: None,
            exclude_modules: GlobSet::empty(),
            functions: None,
            exclude_functions: GlobSet::empty(),
        }
    }
}

/// Which list a bad pattern came from, and why it is bad: `(key, index, message)`.
pub type PatternError = (&'static str, usize, String);

impl Selection {
    /// Compiles the four pattern lists; `None` for an include list means "everything".
    ///
    /// Errors name the key (`select.modules`, ...), the index in its list and the problem.
    pub fn new(
        modules: Option<&[String]>,
        exclude_modules: &[String],
        functions: Option<&[String]>,
        exclude_functions: &[String],
    ) -> Result<Self, PatternError> {
        Ok(Selection {
            modules: modules.map(|p| build("select.modules", p)).transpose()?,
            exclude_modules: build("select.exclude-modules", exclude_modules)?,
            functions: functions
                .map(|p| build("select.functions", p))
                .transpose()?,
            exclude_functions: build("select.exclude-functions", exclude_functions)?,
        })
    }

    /// Whether the module with this dotted name is selected.
    pub fn module(&self, dotted: &str) -> bool {
        let path = to_path(dotted);
        self.modules.as_ref().is_none_or(|s| s.is_match(&path))
            && !self.exclude_modules.is_match(&path)
    }

    /// Whether the function with this qualname is selected.
    pub fn function(&self, qualname: &str) -> bool {
        let path = to_path(qualname);
        self.functions.as_ref().is_none_or(|s| s.is_match(&path))
            && !self.exclude_functions.is_match(&path)
    }
}

fn to_path(dotted: &str) -> String {
    dotted.replace('.', "/")
}

fn build(key: &'static str, patterns: &[String]) -> Result<GlobSet, PatternError> {
    let mut set = GlobSetBuilder::new();
    for (i, p) in patterns.iter().enumerate() {
        set.add(compile(p).map_err(|e| (key, i, e.to_string()))?);
    }
    set.build().map_err(|e| (key, 0, e.to_string()))
}

/// Compiles one dotted-name glob.
///
/// Errors ([`GlobError`]): an empty pattern or segment, a path instead of a dotted name, a
/// `**` that is not a whole segment, or a glob syntax error.
pub fn compile(pattern: &str) -> Result<Glob, GlobError> {
    let owned = || pattern.to_string();
    if pattern.is_empty() {
        return Err(GlobError::Empty);
    }
    if pattern.contains('/') || pattern.contains('\\') {
        return Err(GlobError::Path(owned()));
    }
    if pattern.split('.').any(str::is_empty) {
        return Err(GlobError::EmptySegment(owned()));
    }
    for segment in pattern.split('.') {
        if segment.contains("**") && segment != "**" {
            return Err(GlobError::PartialDoubleStar(owned()));
        }
    }
    GlobBuilder::new(&to_path(pattern))
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map_err(|source| GlobError::Syntax {
            pattern: owned(),
            source,
        })
}

/// A dotted-name glob that does not compile; the message quotes the pattern.
#[derive(Debug, thiserror::Error)]
pub enum GlobError {
    /// The pattern is empty.
    #[error("empty pattern")]
    Empty,
    /// The pattern contains `/` or `\`.
    #[error("{0:?}: patterns use dotted names ('pkg.sub.*'), not paths")]
    Path(String),
    /// The pattern has an empty `.`-separated segment.
    #[error("{0:?} has an empty segment")]
    EmptySegment(String),
    /// `**` inside a segment.
    #[error("{0:?}: '**' must be a whole segment ('pkg.**', '**.name')")]
    PartialDoubleStar(String),
    /// The glob syntax is invalid.
    #[error("{pattern:?}: {}", .source.kind())]
    Syntax {
        /// The pattern.
        pattern: String,
        /// The glob compiler's error.
        #[source]
        source: globset::Error,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel(m: &[&str], xm: &[&str], f: &[&str], xf: &[&str]) -> Selection {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let (m, xm, f, xf) = (v(m), v(xm), v(f), v(xf));
        Selection::new(
            (!m.is_empty()).then_some(&m[..]),
            &xm,
            (!f.is_empty()).then_some(&f[..]),
            &xf,
        )
        .unwrap()
    }

    #[test]
    fn module_globs() {
        let s = sel(&["mypkg", "mypkg.**"], &["mypkg._vendor.**"], &[], &[]);
        assert!(s.module("mypkg"));
        assert!(s.module("mypkg.core"));
        assert!(s.module("mypkg.a.b"));
        assert!(!s.module("mypkg._vendor.six"));
        assert!(!s.module("other"));
        let one = sel(&["mypkg.*"], &[], &[], &[]);
        assert!(one.module("mypkg.core"));
        assert!(!one.module("mypkg.a.b"));
        assert!(!one.module("mypkg"));
    }

    #[test]
    fn function_globs() {
        let s = sel(
            &[],
            &[],
            &["Client.*", "**.send", "outer.<locals>.inner"],
            &["**.__repr__"],
        );
        assert!(s.function("Client.get"));
        assert!(!s.function("Client.get.<locals>.x"));
        assert!(s.function("send"));
        assert!(s.function("a.b.send"));
        assert!(s.function("outer.<locals>.inner"));
        assert!(!s.function("Client.__repr__"));
        assert!(!s.function("other"));
        assert!(Selection::default().function("anything.at.all"));
    }

    #[test]
    fn bad_patterns() {
        assert!(compile("a/b").is_err());
        assert!(compile("a..b").is_err());
        assert!(compile("a**").is_err());
        assert!(compile("a.[").is_err());
        assert!(compile("").is_err());
    }
}
