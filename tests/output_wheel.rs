//! The output wheel follows the binary distribution format spec and README.md: reproducible bytes, member order,
//! RECORD, permissions, timestamps, renaming for build tags and local versions, provenance.

mod common;

use std::path::Path;

use common::*;

fn instrument(
    dir: &Path,
    wheel: &Path,
    out: &str,
    extra: &[&str],
    env: &[(&str, &str)],
) -> Vec<u8> {
    let mut args = vec!["instrument", wheel.to_str().unwrap(), "-o", out];
    args.extend_from_slice(extra);
    let o = equip_env(dir, &args, env);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let produced = files_under(&dir.join(out));
    assert_eq!(produced.len(), 1, "{produced:?}");
    std::fs::read(&produced[0]).unwrap()
}

#[test]
fn same_input_and_config_give_identical_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path().join("demo-1.0-py3-none-any.whl");
    write_wheel(&w, &demo_members());
    let a = instrument(dir.path(), &w, "a", &[], &[]);
    let b = instrument(dir.path(), &w, "b", &[], &[]);
    assert_eq!(a, b);
    let c = instrument(dir.path(), &w, "c", &[], &[("SOURCE_DATE_EPOCH", "0")]);
    let d = instrument(dir.path(), &w, "d", &[], &[("SOURCE_DATE_EPOCH", "0")]);
    assert_eq!(c, d);
    assert_ne!(a, c, "SOURCE_DATE_EPOCH must change the timestamps");
}

#[test]
fn output_structure_record_and_permissions() {
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path().join("demo-1.0-py3-none-any.whl");
    write_wheel(&w, &demo_members());
    instrument(dir.path(), &w, "out", &[], &[("SOURCE_DATE_EPOCH", "0")]);
    let out = dir.path().join("out/demo-1.0-py3-none-any.whl");
    let members = read_zip(&out);
    let names: Vec<&str> = members.iter().map(|m| m.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "_equip_hooks_demo.py",
            "demo-1.0.data/scripts/demo-tool",
            "demo/__init__.py",
            "demo/util.py",
            "demo-1.0.dist-info/METADATA",
            "demo-1.0.dist-info/WHEEL",
            "demo-1.0.dist-info/equip-wheel.json",
            "demo-1.0.dist-info/RECORD",
        ]
    );
    // Exec bit kept, regular-file type set.
    let tool = members.iter().find(|m| m.0.ends_with("demo-tool")).unwrap();
    assert_eq!(tool.1, Some(0o100755));
    // RECORD lists every other member with its true hash and size, and itself last.
    let record = String::from_utf8(members.last().unwrap().2.clone()).unwrap();
    let rows: Vec<&str> = record.lines().collect();
    assert_eq!(rows.len(), members.len());
    for (name, _, data) in &members[..members.len() - 1] {
        let row = format!("{name},{},{}", record_hash(data), data.len());
        assert!(rows.contains(&row.as_str()), "missing {row}");
    }
    assert_eq!(*rows.last().unwrap(), "demo-1.0.dist-info/RECORD,,");
    // The instrumented module binds the hooks module; unchanged members are unchanged.
    let init = String::from_utf8(members[2].2.clone()).unwrap();
    assert!(init.contains("find_spec('_equip_hooks_demo')"), "{init}");
    assert_eq!(members[1].2, b"#!python\nprint('tool')\n");
    // The provenance file names the tool, the config hash and the input's sha256.
    let provenance: serde_json::Value = serde_json::from_slice(&members[6].2).unwrap();
    assert_eq!(provenance["tool"], "equip-wheel");
    assert_eq!(provenance["config_sha256"].as_str().unwrap().len(), 64);
    let input_sha = sha2::Sha256::digest(std::fs::read(&w).unwrap());
    let input_hex: String = input_sha.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(provenance["input"]["sha256"], input_hex);
    // Our own verifier accepts the output.
    let v = equip(dir.path(), &["verify", out.to_str().unwrap()]);
    assert_eq!(
        v.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&v.stderr)
    );
}

use sha2::Digest;

#[test]
fn source_date_epoch_zero_gives_1980() {
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path().join("demo-1.0-py3-none-any.whl");
    write_wheel(&w, &demo_members());
    instrument(dir.path(), &w, "out", &[], &[("SOURCE_DATE_EPOCH", "0")]);
    let out = dir.path().join("out/demo-1.0-py3-none-any.whl");
    let mut archive = zip::ZipArchive::new(std::fs::File::open(out).unwrap()).unwrap();
    for i in 0..archive.len() {
        let f = archive.by_index(i).unwrap();
        let t = f.last_modified().unwrap();
        assert_eq!(
            (t.year(), t.month(), t.day(), t.hour(), t.minute()),
            (1980, 1, 1, 0, 0),
            "{:?}",
            f.name()
        );
    }
}

#[test]
fn build_tag_and_local_version_rename_everything() {
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path().join("demo-1.0-py3-none-any.whl");
    write_wheel(&w, &demo_members());
    std::fs::write(
        dir.path().join("equip.toml"),
        "preset = \"calls\"\n[output]\nbuild-tag = \"1traced\"\nlocal-version = \"traced\"\n",
    )
    .unwrap();
    instrument(dir.path(), &w, "out", &["--config", "equip.toml"], &[]);
    let out = dir
        .path()
        .join("out/demo-1.0+traced-1traced-py3-none-any.whl");
    assert!(out.exists(), "{:?}", files_under(&dir.path().join("out")));
    let members = read_zip(&out);
    let names: Vec<&str> = members.iter().map(|m| m.0.as_str()).collect();
    assert!(
        names.contains(&"demo-1.0+traced.data/scripts/demo-tool"),
        "{names:?}"
    );
    assert!(names.contains(&"demo-1.0+traced.dist-info/RECORD"));
    assert!(
        !names.iter().any(|n| n.starts_with("demo-1.0.")),
        "{names:?}"
    );
    let get =
        |n: &str| String::from_utf8(members.iter().find(|m| m.0 == n).unwrap().2.clone()).unwrap();
    assert!(get("demo-1.0+traced.dist-info/METADATA").contains("Version: 1.0+traced\n"));
    assert!(get("demo-1.0+traced.dist-info/WHEEL").contains("Build: 1traced\n"));
    assert!(
        get("demo-1.0+traced.dist-info/RECORD").contains("demo-1.0+traced.data/scripts/demo-tool,")
    );
}

#[test]
fn in_place_replaces_the_input_and_dry_run_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path().join("demo-1.0-py3-none-any.whl");
    write_wheel(&w, &demo_members());
    let o = equip(
        dir.path(),
        &["instrument", w.to_str().unwrap(), "--dry-run", "-o", "dry"],
    );
    assert_eq!(o.status.code(), Some(0));
    // The plan is machine output: on stdout.
    assert!(String::from_utf8_lossy(&o.stdout).contains("demo.util (demo/util.py): add"));
    assert!(!dir.path().join("dry").exists());

    let before = std::fs::read(&w).unwrap();
    let o = equip(
        dir.path(),
        &["instrument", w.to_str().unwrap(), "--in-place"],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let after = std::fs::read(&w).unwrap();
    assert_ne!(before, after);
    assert!(read_zip(&w).iter().any(|m| m.0 == "_equip_hooks_demo.py"));
    // Refusing to overwrite the input without --in-place.
    let o = equip(dir.path(), &["instrument", w.to_str().unwrap(), "-o", "."]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn signatures_are_dropped_with_a_notice_and_report_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path().join("demo-1.0-py3-none-any.whl");
    let mut members = demo_members();
    let record_path = "demo-1.0.dist-info/RECORD";
    let record = record_for(&members, record_path);
    members.push(Member::new(record_path, record));
    members.push(Member::new("demo-1.0.dist-info/RECORD.jws", "{}"));
    write_zip(&w, &members);
    let o = equip(
        dir.path(),
        &[
            "instrument",
            w.to_str().unwrap(),
            "-o",
            "out",
            "--report",
            "r.json",
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains("dropped the signature demo-1.0.dist-info/RECORD.jws")
    );
    let out = read_zip(&dir.path().join("out/demo-1.0-py3-none-any.whl"));
    assert!(!out.iter().any(|m| m.0.ends_with("RECORD.jws")));
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("r.json")).unwrap()).unwrap();
    let wheel = &report["wheels"][0];
    assert_eq!(wheel["totals"]["functions"], 2);
    assert_eq!(wheel["modules"][0]["functions"][0], "hello");
}
