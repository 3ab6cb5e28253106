//! Hostile or broken input: a one-line error naming the problem, exit code 2 (usage/config)
//! or 1 (bad wheel), no output file, and the input untouched.

mod common;

use std::path::Path;

use common::*;

/// Runs `instrument` on `wheel` in `dir` and checks the failure contract.
fn assert_rejected(dir: &Path, wheel: &Path, extra: &[&str], code: i32, needle: &str) {
    let before = std::fs::read(wheel).unwrap();
    let mut args = vec!["instrument", wheel.to_str().unwrap(), "-o", "out"];
    args.extend_from_slice(extra);
    let out = equip(dir, &args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("equip-wheel: error"))
        .collect();
    assert_eq!(out.status.code(), Some(code), "stderr:\n{stderr}");
    assert_eq!(errors.len(), 1, "expected one error line:\n{stderr}");
    assert!(
        errors[0].contains(needle),
        "error line does not mention {needle:?}: {}",
        errors[0]
    );
    assert_eq!(
        files_under(&dir.join("out")),
        Vec::<std::path::PathBuf>::new(),
        "output left behind"
    );
    assert_eq!(std::fs::read(wheel).unwrap(), before, "input modified");
    let leftovers: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".part"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left behind");
}

fn wheel_path(dir: &Path) -> std::path::PathBuf {
    dir.join("demo-1.0-py3-none-any.whl")
}

#[test]
fn not_a_zip() {
    let dir = tempfile::tempdir().unwrap();
    let w = wheel_path(dir.path());
    std::fs::write(&w, b"this is not a zip file").unwrap();
    assert_rejected(dir.path(), &w, &[], 1, "not a valid zip archive");
}

#[test]
fn truncated_zip() {
    let dir = tempfile::tempdir().unwrap();
    let w = wheel_path(dir.path());
    write_wheel(&w, &demo_members());
    let bytes = std::fs::read(&w).unwrap();
    std::fs::write(&w, &bytes[..bytes.len() / 2]).unwrap();
    assert_rejected(dir.path(), &w, &[], 1, "not a valid zip archive");
}

#[test]
fn missing_record() {
    let dir = tempfile::tempdir().unwrap();
    let w = wheel_path(dir.path());
    write_zip(&w, &demo_members());
    assert_rejected(dir.path(), &w, &[], 1, "RECORD is missing");
}

#[test]
fn mismatched_record_hash() {
    let dir = tempfile::tempdir().unwrap();
    let w = wheel_path(dir.path());
    let members = demo_members();
    let mut record = record_for(&members, "demo-1.0.dist-info/RECORD");
    record = record.replace(
        &record_hash(&members[1].data),
        &record_hash(b"something else"),
    );
    let mut all = members;
    all.push(Member::new("demo-1.0.dist-info/RECORD", record));
    write_zip(&w, &all);
    assert_rejected(dir.path(), &w, &[], 1, "demo/util.py: hash mismatch");
}

#[test]
fn member_outside_the_archive_root() {
    let dir = tempfile::tempdir().unwrap();
    let w = wheel_path(dir.path());
    let mut members = demo_members();
    members.push(Member::new("../evil.py", "print('pwned')\n"));
    write_wheel(&w, &members);
    assert_rejected(dir.path(), &w, &[], 1, "unsafe member name: \"../evil.py\"");
}

#[test]
fn two_dist_info_directories() {
    let dir = tempfile::tempdir().unwrap();
    let w = wheel_path(dir.path());
    let mut members = demo_members();
    members.push(Member::new("other-2.0.dist-info/METADATA", "Name: other\n"));
    write_wheel(&w, &members);
    assert_rejected(dir.path(), &w, &[], 1, "2 top-level .dist-info directories");
}

#[test]
fn not_listed_in_record() {
    let dir = tempfile::tempdir().unwrap();
    let w = wheel_path(dir.path());
    let members = demo_members();
    let record = record_for(&members, "demo-1.0.dist-info/RECORD");
    let mut all = members;
    all.push(Member::new("demo/extra.py", "x = 1\n"));
    all.push(Member::new("demo-1.0.dist-info/RECORD", record));
    write_zip(&w, &all);
    assert_rejected(
        dir.path(),
        &w,
        &[],
        1,
        "demo/extra.py: not listed in RECORD",
    );
}

#[test]
fn unknown_config_key() {
    let dir = tempfile::tempdir().unwrap();
    let w = wheel_path(dir.path());
    write_wheel(&w, &demo_members());
    std::fs::write(
        dir.path().join("equip.toml"),
        "[hooks]\nfunction-entr = \"f()\"\n",
    )
    .unwrap();
    assert_rejected(
        dir.path(),
        &w,
        &["--config", "equip.toml"],
        2,
        "equip.toml:2:1: unknown field `function-entr`",
    );
}

#[test]
fn snippet_with_a_syntax_error() {
    let dir = tempfile::tempdir().unwrap();
    let w = wheel_path(dir.path());
    write_wheel(&w, &demo_members());
    std::fs::write(
        dir.path().join("equip.toml"),
        "[hooks]\nfunction-enter = \"print({qualname}\"\n",
    )
    .unwrap();
    assert_rejected(
        dir.path(),
        &w,
        &["--config", "equip.toml"],
        2,
        "equip.toml:2:",
    );
    let out = equip(
        dir.path(),
        &["instrument", w.to_str().unwrap(), "--config", "equip.toml"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("[hooks.function-enter] invalid Python"),
        "{stderr}"
    );
}

#[test]
fn already_instrumented_wheel_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let w = wheel_path(dir.path());
    write_wheel(&w, &demo_members());
    let out = equip(
        dir.path(),
        &["instrument", w.to_str().unwrap(), "-o", "first"],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let instrumented = dir.path().join("first/demo-1.0-py3-none-any.whl");
    assert_rejected(
        dir.path(),
        &instrumented,
        &[],
        1,
        "already instrumented by equip-wheel",
    );
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = equip(dir.path(), &["instrument"]);
    assert_eq!(out.status.code(), Some(2));
    let out = equip(dir.path(), &["instrument", "x.whl", "--preset", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown preset \"nope\""));
}

#[test]
fn verify_reports_every_problem_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let w = wheel_path(dir.path());
    let members = demo_members();
    let mut record = record_for(&members, "demo-1.0.dist-info/RECORD");
    for m in &members[..2] {
        record = record.replace(&record_hash(&m.data), &record_hash(b"x"));
    }
    let mut all = members;
    all.push(Member::new("demo-1.0.dist-info/RECORD", record));
    write_zip(&w, &all);
    let out = equip(dir.path(), &["verify", w.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("demo/__init__.py: hash mismatch"),
        "{stderr}"
    );
    assert!(stderr.contains("demo/util.py: hash mismatch"), "{stderr}");
}
