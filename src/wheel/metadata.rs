//! Reading and editing the email-header files of `.dist-info` (`WHEEL`, `METADATA`),
//! and the version arithmetic of a local version label (PEP 440).
//!
//! Edits touch only the header block (up to the first empty line) and keep every other
//! byte, including the line endings, as it was.

/// The value of the first header `key` (case-insensitive) in the header block of `text`,
/// trimmed. Continuation lines of a folded header (starting with a space or tab) are not
/// headers of their own.
pub fn header_value<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    for line in text.split_inclusive('\n') {
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            return None;
        }
        if line.starts_with([' ', '\t']) {
            continue;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.trim().eq_ignore_ascii_case(key)
        {
            return Some(v.trim());
        }
    }
    None
}

/// Sets header `key` to `value` in the header block of `text`: replaces the first occurrence
/// (dropping later duplicates) or appends it at the end of the header block.
pub fn set_header(text: &str, key: &str, value: &str) -> String {
    let newline = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let mut out = String::with_capacity(text.len() + key.len() + value.len() + 4);
    let mut in_headers = true;
    let mut done = false;
    for line in text.split_inclusive('\n') {
        let bare = line.trim_end_matches(['\r', '\n']);
        if in_headers && bare.is_empty() {
            if !done {
                out.push_str(&format!("{key}: {value}{newline}"));
                done = true;
            }
            in_headers = false;
        }
        let is_key = in_headers
            && bare
                .split_once(':')
                .is_some_and(|(k, _)| k.trim().eq_ignore_ascii_case(key));
        if is_key {
            if !done {
                let ending = &line[bare.len()..];
                out.push_str(&format!("{key}: {value}{ending}"));
                done = true;
            }
            continue;
        }
        out.push_str(line);
    }
    if !done {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push_str(newline);
        }
        out.push_str(&format!("{key}: {value}{newline}"));
    }
    out
}

/// Appends a local version label: `1.0` + `traced` = `1.0+traced`; an existing label is
/// extended with `.`: `1.0+cu118` + `traced` = `1.0+cu118.traced` (PEP 440 local versions).
pub fn with_local_label(version: &str, label: &str) -> String {
    if version.contains('+') {
        format!("{version}.{label}")
    } else {
        format!("{version}+{label}")
    }
}

/// Checks a local version label: alphanumeric segments separated by `.` (PEP 440).
pub fn validate_local_label(label: &str) -> Result<(), LocalLabelError> {
    let ok = !label.is_empty()
        && label
            .split('.')
            .all(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric()));
    if ok {
        Ok(())
    } else {
        Err(LocalLabelError(label.to_string()))
    }
}

/// A local version label that is not ASCII letters and digits in `.`-separated segments
/// (PEP 440); holds the label.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("local version label {0:?} must be ASCII letters and digits in '.'-separated segments")]
pub struct LocalLabelError(pub String);

/// A Python feature release, `major.minor` (what `Requires-Python` and wheel tags are
/// compared against).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct PythonVersion {
    /// `3` in 3.8.
    pub major: u64,
    /// `8` in 3.8.
    pub minor: u64,
}

impl std::fmt::Display for PythonVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// What [`require_python`] decided for a `Requires-Python` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequiresPython {
    /// The declared specifier already excludes every Python older than the oldest one.
    Unchanged,
    /// The value to write instead: `>=oldest` intersected with the declared clauses that it
    /// does not already imply.
    Tightened(String),
    /// The declared specifier admits no Python at or after the oldest one (e.g. `<3.8`).
    Unsatisfiable,
}

/// Makes a `Requires-Python` specifier (PEP 440 "Version specifiers"; `None` when the
/// METADATA has none) exclude every Python older than `oldest`.
///
/// The result is the intersection `>=oldest, <declared clauses>`, dropping the clauses that
/// `>=oldest` implies (`>=2.7`, `!=3.0.*`, ...) so `>=2.7, !=3.0.*, <4` becomes `>=3.8, <4`.
/// A clause this function does not understand (an epoch, `===`, a malformed version) is kept
/// as written: the intersection stays exact, only less tidy.
pub fn require_python(declared: Option<&str>, oldest: PythonVersion) -> RequiresPython {
    let floor = [oldest.major, oldest.minor];
    let clauses: Vec<&str> = declared
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    let parsed: Vec<Option<Clause>> = clauses.iter().map(|c| Clause::parse(c)).collect();
    if parsed.iter().flatten().any(|c| c.excludes_from(&floor)) {
        return RequiresPython::Unsatisfiable;
    }
    if parsed.iter().flatten().any(|c| c.excludes_below(&floor)) {
        return RequiresPython::Unchanged;
    }
    let mut out = vec![format!(">={oldest}")];
    for (text, clause) in clauses.iter().zip(&parsed) {
        if !clause.as_ref().is_some_and(|c| c.implied_by_floor(&floor)) {
            out.push(text.to_string());
        }
    }
    RequiresPython::Tightened(out.join(", "))
}

/// Whether a wheel's compressed tag set (`py2.py3-none-any`, `cp37-cp37m-linux_x86_64`) names
/// any Python at or after `oldest`, following how installers expand tags (`packaging.tags`):
/// `py3`/`py37` are lower bounds within Python 3, `cp37-abi3` is a lower bound, and any other
/// interpreter tag (`cp37-cp37m`, `cp37-none`, `pp37-pypy37_pp73`) names one version. A tag
/// this function does not understand counts as naming one.
pub fn tags_admit(tags: &str, oldest: PythonVersion) -> bool {
    let mut parts = tags.split('-');
    let (Some(pythons), Some(abis)) = (parts.next(), parts.next()) else {
        return true;
    };
    pythons.split('.').any(|python| {
        abis.split('.')
            .any(|abi| python_tag_admits(python, abi, oldest))
    })
}

fn python_tag_admits(python: &str, abi: &str, oldest: PythonVersion) -> bool {
    let digits_at = python
        .find(|c: char| c.is_ascii_digit())
        .unwrap_or(python.len());
    let (interpreter, digits) = python.split_at(digits_at);
    let Some(major) = digits.get(..1).and_then(|d| d.parse::<u64>().ok()) else {
        return true;
    };
    let Ok(minor) = digits[1..].parse::<u64>() else {
        // `py3`, `cp3`: the whole major version.
        return major >= oldest.major;
    };
    let version = PythonVersion { major, minor };
    let lower_bound = interpreter == "py" || abi == "abi3";
    match interpreter {
        "py" | "cp" | "pp" if lower_bound => major == oldest.major || version >= oldest,
        "py" | "cp" | "pp" => version >= oldest,
        _ => true,
    }
}

/// One version-specifier clause, reduced to what [`require_python`] reasons about.
struct Clause {
    op: Op,
    /// The release segment (`3.7.1` -> `[3, 7, 1]`).
    release: Vec<u64>,
    /// `==3.7.*` / `!=3.7.*`.
    wildcard: bool,
    /// A pre-, post- or dev-release suffix follows the release segment.
    suffix: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Compatible,
    Equal,
    NotEqual,
    LessEqual,
    GreaterEqual,
    Less,
    Greater,
}

impl Clause {
    /// Parses `OP VERSION`; `None` for what is not understood (`===`, epochs, local labels).
    fn parse(text: &str) -> Option<Clause> {
        const OPS: [(&str, Op); 7] = [
            ("~=", Op::Compatible),
            ("==", Op::Equal),
            ("!=", Op::NotEqual),
            ("<=", Op::LessEqual),
            (">=", Op::GreaterEqual),
            ("<", Op::Less),
            (">", Op::Greater),
        ];
        if text.starts_with("===") {
            return None;
        }
        let (op, rest) = OPS
            .iter()
            .find_map(|(s, op)| text.strip_prefix(s).map(|rest| (*op, rest)))?;
        let version = rest.trim().trim_start_matches(['v', 'V']);
        let (version, wildcard) = match version.strip_suffix(".*") {
            Some(v) => (v, true),
            None => (version, false),
        };
        if wildcard && !matches!(op, Op::Equal | Op::NotEqual) {
            return None;
        }
        let digits_end = version
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(version.len());
        let (numbers, tail) = version.split_at(digits_end);
        if tail.contains(['!', '+']) || (wildcard && !tail.is_empty()) {
            return None;
        }
        let numbers = numbers.trim_end_matches('.');
        let release = numbers
            .split('.')
            .map(|n| n.parse::<u64>().ok())
            .collect::<Option<Vec<u64>>>()?;
        Some(Clause {
            op,
            release,
            wildcard,
            suffix: !tail.is_empty(),
        })
    }

    /// The exclusive end of the versions a prefix matches: `3.7` -> `3.8`, `2` -> `3`.
    fn prefix_end(prefix: &[u64]) -> Vec<u64> {
        let mut end = prefix.to_vec();
        if let Some(last) = end.last_mut() {
            *last += 1;
        }
        end
    }

    /// The prefix `~=V` pins: `~=3.7.1` -> `3.7`, `~=3.7` -> `3`.
    fn compatible_prefix(&self) -> &[u64] {
        &self.release[..self.release.len().saturating_sub(1).max(1)]
    }

    /// Whether every version at or after `floor` fails this clause.
    fn excludes_from(&self, floor: &[u64]) -> bool {
        let v = self.release.as_slice();
        match self.op {
            Op::Less => cmp(v, floor).is_le(),
            Op::LessEqual => cmp(v, floor).is_lt(),
            Op::Equal if self.wildcard => cmp(&Self::prefix_end(v), floor).is_le(),
            Op::Equal => cmp(v, floor).is_lt(),
            Op::Compatible => cmp(&Self::prefix_end(self.compatible_prefix()), floor).is_le(),
            _ => false,
        }
    }

    /// Whether every version before `floor` fails this clause (it is a lower bound at or
    /// above `floor`).
    fn excludes_below(&self, floor: &[u64]) -> bool {
        let v = self.release.as_slice();
        match self.op {
            Op::GreaterEqual | Op::Greater | Op::Compatible => cmp(v, floor).is_ge(),
            Op::Equal => cmp(v, floor).is_ge(),
            _ => false,
        }
    }

    /// Whether `>=floor` alone already implies this clause.
    fn implied_by_floor(&self, floor: &[u64]) -> bool {
        let v = self.release.as_slice();
        match self.op {
            Op::GreaterEqual => cmp(v, floor).is_lt() || (cmp(v, floor).is_eq() && !self.suffix),
            Op::Greater => cmp(v, floor).is_lt(),
            Op::NotEqual if self.wildcard => cmp(&Self::prefix_end(v), floor).is_le(),
            Op::NotEqual => cmp(v, floor).is_lt(),
            _ => false,
        }
    }
}

/// Compares release segments, padding the shorter with zeros (`3.8` == `3.8.0`).
fn cmp(a: &[u64], b: &[u64]) -> std::cmp::Ordering {
    let n = a.len().max(b.len());
    let at = |v: &[u64], i: usize| v.get(i).copied().unwrap_or(0);
    (0..n)
        .map(|i| at(a, i).cmp(&at(b, i)))
        .find(|o| o.is_ne())
        .unwrap_or(std::cmp::Ordering::Equal)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PY38: PythonVersion = PythonVersion { major: 3, minor: 8 };

    #[test]
    fn tags_naming_newer_pythons() {
        for tags in [
            "py2.py3-none-any",
            "py3-none-any",
            "py37-none-any",
            "cp37-abi3-manylinux_2_17_x86_64",
            "cp38-cp38-linux_x86_64",
            "cp36.cp37.cp311-none-any",
            "xyz-none-any",
        ] {
            assert!(tags_admit(tags, PY38), "{tags}");
        }
        for tags in [
            "py2-none-any",
            "py27-none-any",
            "cp37-cp37m-manylinux_2_17_x86_64",
            "cp36.cp37-none-any",
            "pp37-pypy37_pp73-linux_x86_64",
        ] {
            assert!(!tags_admit(tags, PY38), "{tags}");
        }
    }

    #[test]
    fn requires_python_is_raised_to_the_oldest_python() {
        let tightened = |s: &str| RequiresPython::Tightened(s.to_string());
        let cases: [(Option<&str>, RequiresPython); 16] = [
            (None, tightened(">=3.8")),
            (Some(""), tightened(">=3.8")),
            (Some(">=3.7"), tightened(">=3.8")),
            (Some(">= 3.6.1"), tightened(">=3.8")),
            (
                Some(">=2.7, !=3.0.*, !=3.1.*, !=3.2.*, <4"),
                tightened(">=3.8, <4"),
            ),
            (Some(">=3.7,!=3.9.*"), tightened(">=3.8, !=3.9.*")),
            (Some("~=3.7"), tightened(">=3.8, ~=3.7")),
            (Some("!=3.*"), tightened(">=3.8, !=3.*")),
            (Some(">=1!3.0"), tightened(">=3.8, >=1!3.0")),
            (Some(">=3.8"), RequiresPython::Unchanged),
            (Some(">=3.10, <4"), RequiresPython::Unchanged),
            (Some("~=3.9"), RequiresPython::Unchanged),
            (Some("==3.11.*"), RequiresPython::Unchanged),
            (Some("<3.8"), RequiresPython::Unsatisfiable),
            (Some("==3.7.*"), RequiresPython::Unsatisfiable),
            (Some("~=3.7.1"), RequiresPython::Unsatisfiable),
        ];
        for (declared, want) in cases {
            assert_eq!(require_python(declared, PY38), want, "{declared:?}");
        }
        assert_eq!(
            require_python(Some("<=3.8"), PY38),
            tightened(">=3.8, <=3.8")
        );
        assert_eq!(
            require_python(Some(">=3.8.0rc1"), PY38),
            RequiresPython::Unchanged
        );
    }

    #[test]
    fn reads_headers_only_from_the_header_block() {
        let text = "Metadata-Version: 2.1\nName: x\nVersion: 1.0\n\nVersion: body\n";
        assert_eq!(header_value(text, "version"), Some("1.0"));
        assert_eq!(header_value(text, "Summary"), None);
        let folded = "Name: x\nDescription: a\n  Version: folded\nVersion: 2.0\n";
        assert_eq!(header_value(folded, "version"), Some("2.0"));
    }

    #[test]
    fn replaces_or_appends_headers_keeping_crlf() {
        let text = "Wheel-Version: 1.0\r\nGenerator: x\r\nRoot-Is-Purelib: true\r\n";
        let out = set_header(text, "Build", "1traced");
        assert_eq!(out, format!("{text}Build: 1traced\r\n"));
        let again = set_header(&out, "Build", "2");
        assert!(again.ends_with("Build: 2\r\n"));
        assert_eq!(again.matches("Build").count(), 1);

        let meta = "Name: x\nVersion: 1.0\n\nlong description\nVersion: 9\n";
        assert_eq!(
            set_header(meta, "Version", "1.0+traced"),
            "Name: x\nVersion: 1.0+traced\n\nlong description\nVersion: 9\n"
        );
    }

    #[test]
    fn local_labels() {
        assert_eq!(with_local_label("1.0", "traced"), "1.0+traced");
        assert_eq!(with_local_label("1.0+cu118", "traced"), "1.0+cu118.traced");
        assert!(validate_local_label("traced.2").is_ok());
        assert!(validate_local_label("tr-aced").is_err());
        assert!(validate_local_label("").is_err());
    }
}
