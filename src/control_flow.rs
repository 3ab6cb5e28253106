//! The control-flow analysis of one module of a wheel (`equip-wheel cfg`, and
//! `equip_wheel.cfg()` in Python): the `equip-cfg/1` document of `docs/cfg.md`.
//!
//! A `.pyc` member is read directly ([`crate::bytecode::Pyc`]). A `.py` member is compiled
//! by a Python interpreter in a subprocess (the source goes on its stdin, its file name as
//! an argument, no shell; `-I` keeps the environment and the current directory out), which
//! writes the marshalled code object back; the crate's marshal reader takes it from there.
//! The document names the interpreter and its version.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Serialize;

use crate::bytecode::analysis::{self, CodeFlow};
use crate::bytecode::{Pyc, python_version_of};
use crate::error::{ConfigError, Error};
use crate::escape::{escape, path as escape_path};
use crate::wheel::layout::module_name;
use crate::wheel::limits::ReadLimits;
use crate::wheel::reader::{InputWheel, MemberInfo};

/// The `schema` field of the document.
pub const SCHEMA: &str = "equip-cfg/1";

/// Where argument errors come from, in messages.
const ARGUMENTS: &str = "<arguments>";

/// How many near names an error for a missing module or qualname lists at most.
const NEAR_NAMES: usize = 8;

/// The Jaro-Winkler similarity from which a name counts as near a missing one (0.9: one
/// typo in a short name, a few in a long one).
const NEAR_SCORE: f64 = 0.9;

/// Compiles the source on stdin as the file `sys.argv[1]` (as `import` would, with the
/// interpreter's default optimization) and writes one JSON line naming the interpreter,
/// then a `.pyc` image: the magic number, 12 zero bytes (flags 0: a timestamp `.pyc`), the
/// marshalled code object. A source that does not compile: the error on stderr, status 3.
const COMPILE: &str = r#"
import importlib.util, json, marshal, sys
source = sys.stdin.buffer.read()
try:
    code = compile(source, sys.argv[1], "exec", dont_inherit=True)
except (SyntaxError, ValueError) as e:
    sys.stderr.write("%s: %s\n" % (type(e).__name__, e))
    sys.exit(3)
head = {"version": "%d.%d.%d" % sys.version_info[:3], "executable": sys.executable}
out = sys.stdout.buffer
out.write(json.dumps(head).encode() + b"\n")
out.write(importlib.util.MAGIC_NUMBER + bytes(12) + marshal.dumps(code))
"#;

/// What to analyse: `MODULE` or `MODULE:QUALNAME`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The dotted module name (`pkg.sub.mod`; a package is its `__init__`).
    pub module: String,
    /// A `co_qualname` (`Class.method`, `outer.<locals>.inner`, `<module>`); `None` for
    /// every code object of the module.
    pub qualname: Option<String>,
}

impl Target {
    /// Parses `MODULE[:QUALNAME]`. Errors: an empty module or qualname.
    pub fn parse(text: &str) -> Result<Target, ConfigError> {
        let (module, qualname) = match text.split_once(':') {
            Some((m, q)) => (m, Some(q)),
            None => (text, None),
        };
        if module.is_empty() || qualname == Some("") {
            return Err(ConfigError::new(
                ARGUMENTS,
                format!(
                    "{:?} is not MODULE or MODULE:QUALNAME (e.g. `pkg.mod` or `pkg.mod:Class.method`)",
                    escape(text)
                ),
            ));
        }
        Ok(Target {
            module: module.to_string(),
            qualname: qualname.map(str::to_string),
        })
    }
}

/// The interpreter that compiled a `.py` member, or the version that compiled a `.pyc`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PythonInfo {
    /// `3.11.7` for an interpreter that was run; `3.11` (from the magic number) for a
    /// `.pyc`.
    pub version: String,
    /// `sys.executable` of the interpreter that compiled the source; `None` for a `.pyc`.
    pub executable: Option<String>,
}

/// The `equip-cfg/1` document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CfgDocument {
    /// Always [`SCHEMA`].
    pub schema: &'static str,
    /// The wheel, as given.
    pub wheel: String,
    /// The module analysed.
    pub module: String,
    /// Its member in the wheel.
    pub member: String,
    /// `py` (compiled by [`CfgDocument::python`]) or `pyc` (read as it is).
    pub source: &'static str,
    /// Who compiled the code.
    pub python: PythonInfo,
    /// The code objects: every one of the module (module body first, then depth first in
    /// `co_consts` order), or those with the requested qualname.
    pub code_objects: Vec<CodeFlow>,
}

/// The interpreter for `.py` members: `explicit` (`--python`, the API's `python=`), else
/// `host` (the interpreter running the console script or the API), else `python3` on
/// `PATH`.
pub fn choose_python(explicit: Option<PathBuf>, host: Option<PathBuf>) -> PathBuf {
    explicit
        .or(host)
        .unwrap_or_else(|| PathBuf::from("python3"))
}

/// Analyses `target` in `wheel`, compiling a `.py` member with `python`.
///
/// The member: the module's `.py` if the wheel has one, else its `.pyc` (the first in
/// archive order when several Pythons' are present).
///
/// Errors: the wheel's own ([`InputWheel::open`]); [`Error::Config`] for a module or
/// qualname the wheel does not have (listing near names) or an interpreter that cannot be
/// started; [`Error::Instrument`] for a member that does not compile, was compiled for a
/// Python the bytecode layer does not read (3.8–3.15), or is corrupt.
pub fn analyse(wheel: &Path, target: &Target, python: &Path) -> Result<CfgDocument, Error> {
    let limits = ReadLimits::from_env()?;
    let input = InputWheel::open(wheel, &limits)?;
    let data_dir = input.data_dir();
    let modules: Vec<(&MemberInfo, String)> = input
        .members
        .iter()
        .filter_map(|m| module_name(&m.name, &data_dir).map(|name| (m, name)))
        .collect();
    let found: Vec<&MemberInfo> = modules
        .iter()
        .filter(|(_, name)| *name == target.module)
        .map(|(m, _)| *m)
        .collect();
    let member = found
        .iter()
        .find(|m| m.name.ends_with(".py"))
        .or_else(|| found.first())
        .ok_or_else(|| {
            let names: Vec<&str> = modules.iter().map(|(_, n)| n.as_str()).collect();
            ConfigError::new(
                ARGUMENTS,
                format!(
                    "no module {} in {}{}",
                    escape(&target.module),
                    escape_path(wheel),
                    near(&target.module, &names, "modules")
                ),
            )
        })?;
    let member_error = |message: String| Error::Instrument {
        wheel: wheel.to_path_buf(),
        member: member.name.clone(),
        cause: message.into(),
    };
    let data = input.read_member(member)?;
    let (pyc_bytes, python_info, source) = if member.name.ends_with(".py") {
        let (info, bytes) = compile(python, &member.name, &data, &member_error)?;
        (bytes, info, "py")
    } else {
        (data, None, "pyc")
    };
    let pyc = Pyc::read(&pyc_bytes).map_err(|e| {
        if e.is_unsupported() && source == "py" {
            member_error(format!(
                "{} compiled it for {}: control-flow analysis reads the bytecode of Python 3.8 \
                 to 3.15 (choose another interpreter with --python)",
                escape_path(python),
                version_of(&pyc_bytes)
            ))
        } else if e.is_unsupported() {
            member_error(format!(
                "compiled for {}: control-flow analysis reads the bytecode of Python 3.8 to 3.15",
                version_of(&pyc_bytes)
            ))
        } else {
            member_error(e.to_string())
        }
    })?;
    let python = python_info.unwrap_or_else(|| PythonInfo {
        version: format!("3.{}", pyc.table.minor),
        executable: None,
    });
    let mut code_objects = analysis::analyse(&pyc).map_err(|e| member_error(e.to_string()))?;
    if let Some(qualname) = &target.qualname {
        let names: Vec<String> = code_objects.iter().map(|c| c.qualname.clone()).collect();
        code_objects.retain(|c| &c.qualname == qualname);
        if code_objects.is_empty() {
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            return Err(ConfigError::new(
                ARGUMENTS,
                format!(
                    "no code object {} in module {} ({}){}",
                    escape(qualname),
                    escape(&target.module),
                    escape(&member.name),
                    near(qualname, &names, "qualnames")
                ),
            )
            .into());
        }
    }
    Ok(CfgDocument {
        schema: SCHEMA,
        wheel: wheel.display().to_string(),
        module: target.module.clone(),
        member: member.name.clone(),
        source,
        python,
        code_objects,
    })
}

/// The Python version a `.pyc` image's magic number names, for messages.
fn version_of(pyc: &[u8]) -> String {
    match pyc {
        [a, b, ..] => python_version_of(u16::from_le_bytes([*a, *b])),
        _ => "an unknown Python".to_string(),
    }
}

/// `; did you mean: a, b` with the names nearest `wanted` (by Jaro-Winkler similarity, the
/// measure that favours a shared prefix, as dotted names have), or `; NOUN: a, b, ...` with
/// the first ones when none is near; empty when there are no names.
fn near(wanted: &str, names: &[&str], noun: &str) -> String {
    let mut scored: Vec<(f64, &str)> = names
        .iter()
        .map(|n| (strsim::jaro_winkler(wanted, n), *n))
        .filter(|(score, _)| *score >= NEAR_SCORE)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
    let mut close: Vec<&str> = scored.into_iter().map(|(_, n)| n).collect();
    close.dedup();
    let (label, mut list) = if close.is_empty() {
        let mut all = names.to_vec();
        all.sort_unstable();
        all.dedup();
        (noun, all)
    } else {
        ("did you mean", close)
    };
    if list.is_empty() {
        return String::new();
    }
    let more = list.len() > NEAR_NAMES;
    list.truncate(NEAR_NAMES);
    let mut text = format!(
        "; {label}: {}",
        list.iter()
            .map(|n| escape(n).into_owned())
            .collect::<Vec<_>>()
            .join(", ")
    );
    if more {
        text.push_str(", ...");
    }
    text
}

/// Compiles `source` (the member `member`) with `python`; returns who compiled it and the
/// `.pyc` image.
fn compile(
    python: &Path,
    member: &str,
    source: &[u8],
    member_error: &dyn Fn(String) -> Error,
) -> Result<(Option<PythonInfo>, Vec<u8>), Error> {
    let cannot_start = |e: std::io::Error| {
        Error::Config(ConfigError::new(
            ARGUMENTS,
            format!(
                "cannot run the Python interpreter {} to compile {}: {} (choose one with --python PATH)",
                escape_path(python),
                escape(member),
                crate::error::io_reason(&e)
            ),
        ))
    };
    let mut child = Command::new(python)
        .args(["-I", "-c", COMPILE, member])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(cannot_start)?;
    let mut stdin = child.stdin.take().expect("piped");
    // Written on a thread: the child could fill its output pipes before reading all input.
    let output = std::thread::scope(|scope| {
        scope.spawn(move || {
            // A child that exits early closes the pipe; its status says why.
            let _ = stdin.write_all(source);
        });
        child.wait_with_output()
    })
    .map_err(cannot_start)?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    let last = stderr.lines().rev().find(|l| !l.trim().is_empty());
    if !output.status.success() {
        let why = last.unwrap_or("no message").trim();
        return Err(match output.status.code() {
            Some(3) => member_error(format!(
                "does not compile with {}: {why}",
                escape_path(python)
            )),
            _ => Error::Config(ConfigError::new(
                ARGUMENTS,
                format!(
                    "the Python interpreter {} failed to compile {} ({}): {why}",
                    escape_path(python),
                    escape(member),
                    output.status
                ),
            )),
        });
    }
    let bad_output = || {
        Error::Config(ConfigError::new(
            ARGUMENTS,
            format!(
                "{} did not answer as a CPython 3 interpreter does (no code object came back)",
                escape_path(python)
            ),
        ))
    };
    let newline = output
        .stdout
        .iter()
        .position(|&b| b == b'\n')
        .ok_or_else(bad_output)?;
    let head: serde_json::Value =
        serde_json::from_slice(&output.stdout[..newline]).map_err(|_| bad_output())?;
    let info = PythonInfo {
        version: head["version"].as_str().unwrap_or_default().to_string(),
        executable: head["executable"]
            .as_str()
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .or_else(|| Some(python.display().to_string())),
    };
    Ok((Some(info), output.stdout[newline + 1..].to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        assert_eq!(
            Target::parse("pkg.mod:C.m").unwrap(),
            Target {
                module: "pkg.mod".into(),
                qualname: Some("C.m".into())
            }
        );
        assert_eq!(Target::parse("six").unwrap().qualname, None);
        assert!(Target::parse(":f").is_err());
        assert!(Target::parse("m:").is_err());
    }

    #[test]
    fn near_names() {
        let names = ["pkg", "pkg.version", "pkg.markers", "other"];
        assert_eq!(
            near("pkg.verson", &names, "modules"),
            "; did you mean: pkg.version"
        );
        assert_eq!(
            near("zzz", &names, "modules"),
            "; modules: other, pkg, pkg.markers, pkg.version"
        );
        assert_eq!(near("zzz", &[], "modules"), "");
    }
}
