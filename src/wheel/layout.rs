//! Where a wheel's members install (the wheel spec's install scheme): the path under the
//! install root (`site-packages`) of a member or of a `.data/purelib|platlib` member, the
//! dotted module name of a `.py`/`.pyc` member, and the scripts of `.data/scripts`.

/// A member's path relative to the directory it installs into when that is the install
/// root (`site-packages`): the member itself, or its path under `<data>/purelib/` or
/// `<data>/platlib/`; `None` for the rest of `.data` (scripts, headers, data).
pub fn install_path<'a>(member: &'a str, data_dir: &str) -> Option<&'a str> {
    match member
        .strip_prefix(data_dir)
        .and_then(|r| r.strip_prefix('/'))
    {
        Some(rest) => rest
            .strip_prefix("purelib/")
            .or_else(|| rest.strip_prefix("platlib/")),
        None => Some(member),
    }
}

/// Whether a member is a Python script of `<data>/scripts/` (installed next to the
/// interpreter, run by path: not importable, so not instrumented).
pub fn is_script(member: &str, data_dir: &str) -> bool {
    member
        .strip_prefix(data_dir)
        .and_then(|r| r.strip_prefix("/scripts/"))
        .is_some_and(|script| script.ends_with(".py") || script.ends_with(".pyw"))
}

/// The dotted module name of a `.py`/`.pyc` member, or `None` if it is not a module
/// (not Python, in `.dist-info`, or in a `.data` directory other than purelib/platlib).
pub fn module_name(member: &str, data_dir: &str) -> Option<String> {
    let path = install_path(member, data_dir)?;
    let (dir, file) = path.rsplit_once('/').unwrap_or(("", path));
    let (dir, stem) = if let Some(stem) = file.strip_suffix(".py") {
        (dir.to_string(), stem.to_string())
    } else if let Some(rest) = file.strip_suffix(".pyc") {
        // `pkg/__pycache__/mod.cpython-311.pyc` or a sourceless `pkg/mod.pyc`.
        match dir.strip_suffix("__pycache__") {
            Some(parent) => (
                parent.trim_end_matches('/').to_string(),
                rest.split('.').next()?.to_string(),
            ),
            None => (dir.to_string(), rest.to_string()),
        }
    } else {
        return None;
    };
    if stem.is_empty() || stem.contains('.') {
        return None;
    }
    let mut parts: Vec<&str> = dir.split('/').filter(|s| !s.is_empty()).collect();
    if stem != "__init__" {
        parts.push(&stem);
    }
    (!parts.is_empty()).then(|| parts.join("."))
}

#[cfg(test)]
mod tests {
    use super::module_name;

    #[test]
    fn module_names() {
        let d = "pkg-1.0.data";
        assert_eq!(module_name("pkg/__init__.py", d).as_deref(), Some("pkg"));
        assert_eq!(
            module_name("pkg/sub/mod.py", d).as_deref(),
            Some("pkg.sub.mod")
        );
        assert_eq!(module_name("six.py", d).as_deref(), Some("six"));
        assert_eq!(
            module_name("pkg/__pycache__/mod.cpython-311.pyc", d).as_deref(),
            Some("pkg.mod")
        );
        assert_eq!(module_name("pkg/mod.pyc", d).as_deref(), Some("pkg.mod"));
        assert_eq!(
            module_name("pkg-1.0.data/purelib/x/y.py", d).as_deref(),
            Some("x.y")
        );
        assert_eq!(module_name("pkg-1.0.data/scripts/tool.py", d), None);
        assert_eq!(module_name("pkg/data.txt", d), None);
        assert_eq!(module_name("pkg/mod.pyi", d), None);
        assert_eq!(module_name("__init__.py", d), None);
    }
}
