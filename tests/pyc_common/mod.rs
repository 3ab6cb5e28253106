//! Shared by the .pyc corpus tests: finding the pyenv interpreters and compiling each one's
//! standard library into `.cache/pyc-corpus/3.X/` once (atomically, so tests running in
//! parallel processes can share it).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn pyenv_root() -> PathBuf {
    if let Ok(root) = std::env::var("PYENV_ROOT") {
        return root.into();
    }
    if let Ok(out) = Command::new("pyenv").arg("root").output()
        && out.status.success()
    {
        return String::from_utf8_lossy(&out.stdout).trim().into();
    }
    PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".pyenv")
}

/// The newest pyenv CPython of `minor`.
pub fn find_python(minor: &str) -> Option<PathBuf> {
    let dir = pyenv_root().join("versions");
    let mut best: Option<(u32, PathBuf)> = None;
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(patch) = name.strip_prefix(&format!("{minor}.")) else {
            continue;
        };
        let Ok(patch) = patch.parse::<u32>() else {
            continue;
        };
        let exe = entry.path().join("bin/python");
        if exe.exists() && best.as_ref().is_none_or(|(p, _)| patch > *p) {
            best = Some((patch, exe));
        }
    }
    best.map(|(_, p)| p)
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
