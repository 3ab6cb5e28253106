//! Hostile configurations: inclusion cycles, files that are not regular files or are too
//! large, type errors. Each is a one-line configuration error (exit code 2) naming the file
//! and, where there is one, the key; nothing is written and the input wheel is untouched.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;

/// Runs `instrument` with `extra` in `dir` and checks the configuration-error contract;
/// returns the error line.
fn config_rejected(dir: &Path, extra: &[&str], needle: &str) -> String {
    let wheel = dir.join("demo-1.0-py3-none-any.whl");
    write_wheel(&wheel, &demo_members());
    let before = std::fs::read(&wheel).unwrap();
    let mut args = vec!["instrument", wheel.to_str().unwrap(), "-o", "out"];
    args.extend_from_slice(extra);
    let out = equip(dir, &args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr:\n{stderr}");
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("equip-wheel: error"))
        .collect();
    assert_eq!(errors.len(), 1, "expected one error line:\n{stderr}");
    assert!(
        errors[0].contains(needle),
        "error line does not mention {needle:?}: {}",
        errors[0]
    );
    assert!(files_under(&dir.join("out")).is_empty(), "output written");
    assert_eq!(std::fs::read(&wheel).unwrap(), before, "input modified");
    errors[0].to_string()
}

#[test]
fn pyproject_naming_itself_is_a_cycle() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("pyproject.toml"),
        "[tool.equip-wheel]\nconfig = \"pyproject.toml\"\n",
    )
    .unwrap();
    // Found by discovery and given explicitly.
    let line = config_rejected(dir.path(), &[], "config inclusion cycle");
    assert!(line.contains("pyproject.toml:2:10: [config]"), "{line}");
    config_rejected(
        dir.path(),
        &["--config", "pyproject.toml"],
        "config inclusion cycle",
    );
}

#[test]
fn two_pyprojects_naming_each_other_are_a_cycle() {
    let dir = tempfile::tempdir().unwrap();
    for (here, there) in [("a", "../b/pyproject.toml"), ("b", "../a/pyproject.toml")] {
        std::fs::create_dir(dir.path().join(here)).unwrap();
        std::fs::write(
            dir.path().join(here).join("pyproject.toml"),
            format!("[tool.equip-wheel]\nconfig = \"{there}\"\n"),
        )
        .unwrap();
    }
    let line = config_rejected(
        dir.path(),
        &["--config", "a/pyproject.toml"],
        "config inclusion cycle",
    );
    let a = std::fs::canonicalize(dir.path().join("a/pyproject.toml")).unwrap();
    let b = std::fs::canonicalize(dir.path().join("b/pyproject.toml")).unwrap();
    let chain = format!("{} -> {} -> {}", a.display(), b.display(), a.display());
    assert!(line.contains(&chain), "{line}");
}

#[test]
fn a_long_acyclic_chain_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..40 {
        let d = dir.path().join(format!("p{i}"));
        std::fs::create_dir(&d).unwrap();
        std::fs::write(
            d.join("pyproject.toml"),
            format!(
                "[tool.equip-wheel]\nconfig = \"../p{}/pyproject.toml\"\n",
                i + 1
            ),
        )
        .unwrap();
    }
    config_rejected(
        dir.path(),
        &["--config", "p0/pyproject.toml"],
        "nested `config = FILE` inclusions",
    );
}

#[test]
fn only_regular_files_are_read() {
    let dir = tempfile::tempdir().unwrap();
    config_rejected(
        dir.path(),
        &["--config", "/dev/zero"],
        "/dev/zero: cannot read: not a regular file",
    );
    std::fs::create_dir(dir.path().join("conf.toml")).unwrap();
    config_rejected(
        dir.path(),
        &["--config", "conf.toml"],
        "conf.toml: cannot read: a directory",
    );
    let fifo = dir.path().join("fifo.toml");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    // A FIFO without a writer would block a reader forever: the error must come at once.
    let (tx, rx) = std::sync::mpsc::channel();
    let path = dir.path().to_path_buf();
    std::thread::spawn(move || {
        tx.send(config_rejected(
            &path,
            &["--config", "fifo.toml"],
            "not a regular file",
        ))
        .unwrap()
    });
    rx.recv_timeout(Duration::from_secs(60))
        .expect("reading a FIFO config hangs");
}

#[test]
fn huge_config_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("[hooks]\nfunction-enter = \"print({qualname})\"\n");
    text.push_str(&"# padding\n".repeat(500_000));
    std::fs::write(dir.path().join("equip.toml"), text).unwrap();
    config_rejected(
        dir.path(),
        &["--config", "equip.toml"],
        "equip.toml: larger than 4 MiB",
    );
}

#[test]
fn type_errors_name_the_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("equip.toml"),
        "[select]\nmodules = \"demo\"\n",
    )
    .unwrap();
    config_rejected(
        dir.path(),
        &["--config", "equip.toml"],
        "equip.toml:2:11: [select.modules] invalid type",
    );
    std::fs::write(
        dir.path().join("pyproject.toml"),
        "[tool.equip-wheel.hooks]\non-hook-error = 3\n",
    )
    .unwrap();
    config_rejected(dir.path(), &[], "[hooks.on-hook-error] invalid type");
}
