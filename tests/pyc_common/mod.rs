//! Shared by the .pyc corpus tests: finding the interpreters and compiling each one's
//! standard library into `.cache/pyc-corpus/3.X/` once (atomically, so tests running in
//! parallel processes can share it).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The interpreter of CPython `minor` (`"3.14"`), found by `scripts/pythons.py` (the one
/// place tests and benchmarks find interpreters: `$EQUIP_PYTHON_3_X`, pyenv, the
/// debian-cpython prefix, `PATH`), or why there is none.
pub fn lookup_python(minor: &str) -> Result<PathBuf, String> {
    let out = Command::new("python3")
        .arg(repo().join("scripts/pythons.py"))
        .arg(minor)
        .output()
        .map_err(|e| format!("running python3 scripts/pythons.py: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().into())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

/// The interpreter of CPython `minor`, or `None` after printing why it is skipped;
/// `EQUIP_REQUIRE_ALL_PYTHONS=1` turns a missing interpreter into a failure.
pub fn find_python(minor: &str) -> Option<PathBuf> {
    match lookup_python(minor) {
        Ok(p) => Some(p),
        Err(why) => {
            if std::env::var_os("EQUIP_REQUIRE_ALL_PYTHONS").is_some() {
                panic!("{why}");
            }
            eprintln!("SKIP: {why}");
            None
        }
    }
}

/// Compiles the interpreter's stdlib into `.cache/pyc-corpus/<minor>` once.
pub fn corpus(minor: &str, python: &Path) -> PathBuf {
    let dir = repo().join(".cache/pyc-corpus").join(minor);
    if dir.join(".complete").exists() {
        return dir;
    }
    // Build in a private directory, then rename it into place.
    let tmp = repo()
        .join(".cache/pyc-corpus")
        .join(format!("{minor}.tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let script = r#"
import os, py_compile, sys, sysconfig
src = sysconfig.get_paths()["stdlib"]
out = sys.argv[1]
n = 0
for root, dirs, files in os.walk(src):
    dirs[:] = sorted(d for d in dirs if d not in ("site-packages", "__pycache__"))
    for f in sorted(files):
        if not f.endswith(".py"):
            continue
        path = os.path.join(root, f)
        dest = os.path.join(out, os.path.relpath(path, src) + "c")
        try:
            py_compile.compile(path, cfile=dest, doraise=True)
            n += 1
        except Exception:
            pass
print(n)
"#;
    let status = Command::new(python)
        .args(["-c", script])
        .arg(&tmp)
        .status()
        .expect("run python");
    assert!(status.success(), "compiling the {minor} stdlib failed");
    std::fs::write(tmp.join(".complete"), b"").unwrap();
    if std::fs::rename(&tmp, &dir).is_err() {
        // Another process finished first (or a partial directory is in the way).
        if dir.join(".complete").exists() {
            let _ = std::fs::remove_dir_all(&tmp);
        } else {
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::rename(&tmp, &dir).expect("move the corpus into place");
        }
    }
    dir
}

pub fn pyc_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let p = entry.path();
        if p.is_dir() {
            pyc_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "pyc") {
            out.push(p);
        }
    }
}
