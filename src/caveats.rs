//! Modules whose instrumentation does not take effect as a user would expect, found from the
//! wheel's member list before instrumenting:
//! - a `.py`/`.pyc` shadowed by an extension module of the same dotted name (`.so`, `.pyd`),
//!   which the import system's path finder tries first (`importlib.machinery`'s loader
//!   order: extensions, then source, then bytecode): mypyc-compiled wheels such as black
//!   ship both, and the instrumented source never runs;
//! - a module imported by a `.pth` file at the root of the install: `site` runs the `.pth`'s
//!   `import` lines at the start of every interpreter of the environment, so its hooks run
//!   in every Python process there (pip, build tools, other projects' tests).

use std::collections::BTreeMap;

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{Expr, Stmt};

/// Why a module's instrumentation may not take effect as expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caveat {
    /// The extension module (member name) that the import system loads instead.
    ShadowedBy(String),
    /// The `.pth` file (member name) that imports the module at interpreter start.
    ImportedByPth(String),
}

/// Caveats by dotted module name.
#[derive(Debug, Clone, Default)]
pub struct Caveats(BTreeMap<String, Vec<Caveat>>);

impl Caveats {
    /// Scans the members of a wheel. `package_path` maps a member name to its path relative
    /// to the install root (purelib/platlib), `None` for a member installed elsewhere
    /// (`.dist-info`, `.data/scripts`, ...); `read` gives a `.pth` member's bytes.
    pub fn scan<'a, E>(
        members: impl IntoIterator<Item = &'a str>,
        package_path: impl Fn(&'a str) -> Option<&'a str>,
        mut read: impl FnMut(&'a str) -> Result<Vec<u8>, E>,
    ) -> Result<Caveats, E> {
        let mut caveats = Caveats::default();
        for member in members {
            let Some(path) = package_path(member) else {
                continue;
            };
            if let Some(module) = extension_module(path) {
                caveats.add(module, Caveat::ShadowedBy(member.to_string()));
            } else if path.ends_with(".pth") && !path.contains('/') {
                let text = read(member)?;
                for module in pth_imports(&String::from_utf8_lossy(&text)) {
                    caveats.add(module, Caveat::ImportedByPth(member.to_string()));
                }
            }
        }
        Ok(caveats)
    }

    fn add(&mut self, module: String, caveat: Caveat) {
        let list = self.0.entry(module).or_default();
        if !list.contains(&caveat) {
            list.push(caveat);
        }
    }

    /// The caveats of `module` (a dotted name), empty for most.
    pub fn of(&self, module: &str) -> &[Caveat] {
        self.0.get(module).map_or(&[], Vec::as_slice)
    }
}

/// The dotted name of an extension module at `path` (relative to the install root):
/// `pkg/mod.cpython-311-x86_64-linux-gnu.so`, `pkg/mod.abi3.so`, `pkg/mod.pyd` -> `pkg.mod`;
/// `pkg/__init__.cp311-win_amd64.pyd` -> `pkg`. `None` for anything else.
fn extension_module(path: &str) -> Option<String> {
    if !(path.ends_with(".so") || path.ends_with(".pyd")) {
        return None;
    }
    let (dir, file) = path.rsplit_once('/').unwrap_or(("", path));
    let stem = file.split('.').next()?;
    let identifier = |s: &str| {
        s.chars()
            .next()
            .is_some_and(|c| c == '_' || c.is_alphabetic())
            && s.chars().all(|c| c == '_' || c.is_alphanumeric())
    };
    let mut parts: Vec<&str> = dir.split('/').filter(|s| !s.is_empty()).collect();
    if !parts.iter().all(|p| identifier(p)) || !identifier(stem) {
        return None;
    }
    if stem != "__init__" {
        parts.push(stem);
    }
    (!parts.is_empty()).then(|| parts.join("."))
}

/// The modules a `.pth` file imports: `site` executes each line that starts with `import`
/// followed by a space or tab; `import a.b` imports `a` and `a.b`, `__import__("x")` and
/// `importlib.import_module("x")` with a literal name import `x`.
fn pth_imports(text: &str) -> Vec<String> {
    let mut finder = ImportFinder::default();
    for line in text.lines() {
        if !(line.starts_with("import ") || line.starts_with("import\t")) {
            continue;
        }
        if let Ok(parsed) = ruff_python_parser::parse_module(line) {
            for stmt in parsed.suite() {
                finder.visit_stmt(stmt);
            }
        }
    }
    finder.modules
}

#[derive(Default)]
struct ImportFinder {
    modules: Vec<String>,
}

impl ImportFinder {
    /// Records `a.b.c` and its parents `a`, `a.b` (importing a submodule runs its parents).
    fn record(&mut self, dotted: &str) {
        let mut end = 0;
        for part in dotted.split('.') {
            end += part.len();
            let name = &dotted[..end];
            if !self.modules.iter().any(|m| m == name) {
                self.modules.push(name.to_string());
            }
            end += 1;
        }
    }
}

impl<'a> Visitor<'a> for ImportFinder {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::Import(import) => {
                for alias in &import.names {
                    self.record(alias.name.as_str());
                }
            }
            Stmt::ImportFrom(from) if from.level == 0 => {
                if let Some(module) = &from.module {
                    self.record(module.as_str());
                }
            }
            _ => {}
        }
        visitor::walk_stmt(self, stmt);
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        if let Expr::Call(call) = expr {
            let callee = match call.func.as_ref() {
                Expr::Name(name) => Some(name.id.as_str()),
                Expr::Attribute(attr) => Some(attr.attr.as_str()),
                _ => None,
            };
            if matches!(callee, Some("__import__" | "import_module"))
                && let Some(Expr::StringLiteral(s)) = call.arguments.args.first()
            {
                self.record(s.value.to_str());
            }
        }
        visitor::walk_expr(self, expr);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_module_names() {
        let cases = [
            (
                "black/linegen.cpython-311-x86_64-linux-gnu.so",
                Some("black.linegen"),
            ),
            (
                "black/__init__.cpython-311-x86_64-linux-gnu.so",
                Some("black"),
            ),
            ("pkg/mod.abi3.so", Some("pkg.mod")),
            ("pkg/mod.cp311-win_amd64.pyd", Some("pkg.mod")),
            ("top.so", Some("top")),
            ("pkg.libs/libz-1a2b.so.1.2", None),
            ("pkg.libs/libfoo.so", None),
            ("pkg/mod.py", None),
        ];
        for (path, want) in cases {
            assert_eq!(extension_module(path).as_deref(), want, "{path}");
        }
    }

    #[test]
    fn pth_files_import_modules() {
        let text = "# comment\n./some/dir\nimport _virtualenv\n\
            import os; var = 'X'; enabled = os.environ.get(var, 'local') == 'local'; enabled and __import__('_distutils_hack').add_shim(); \n\
            import\tsys, a.b as c\nimportx\n import indented\n";
        assert_eq!(
            pth_imports(text),
            ["_virtualenv", "os", "_distutils_hack", "sys", "a", "a.b"]
        );
    }

    #[test]
    fn scan_collects_by_module() {
        let members = [
            "pkg/mod.py",
            "pkg/mod.cpython-311-x86_64-linux-gnu.so",
            "hook.pth",
            "pkg/nested.pth",
            "pkg-1.0.dist-info/METADATA",
        ];
        let path = |m: &'static str| (!m.contains(".dist-info/")).then_some(m);
        let caveats = Caveats::scan(members, path, |m| {
            Ok::<_, ()>(match m {
                "hook.pth" => b"import pkg.mod\n".to_vec(),
                _ => b"import pkg\n".to_vec(),
            })
        })
        .unwrap();
        assert_eq!(
            caveats.of("pkg.mod"),
            [
                Caveat::ShadowedBy("pkg/mod.cpython-311-x86_64-linux-gnu.so".into()),
                Caveat::ImportedByPth("hook.pth".into()),
            ]
        );
        assert_eq!(
            caveats.of("pkg"),
            [Caveat::ImportedByPth("hook.pth".into())]
        );
        assert!(caveats.of("other").is_empty());
    }
}
