//! Every `.pyc` of each installed interpreter's standard library (3.8–3.15, the corpus of
//! `pyc_roundtrip.rs` in `.cache/pyc-corpus`) is instrumented with every hook configured;
//! all must succeed, and the interpreter that made them must accept every instrumented code
//! object: `marshal.loads`, `dis` of every instruction, the line table (`co_lines`, and
//! `co_positions` on 3.11+), the exception table, and `code.replace()` (CPython's own
//! validation of a code object).

mod pyc_common;

use std::process::Command;

use equip_wheel::bytecode::fuzzing::fuzz_config;
use equip_wheel::bytecode::instrument_pyc;
use equip_wheel::module::ModuleTarget;
use pyc_common::{corpus, find_python, pyc_files};

const VALIDATE: &str = r#"
import dis, marshal, os, sys
root = sys.argv[1]
count = codes = 0
def walk(co):
    global codes
    codes += 1
    list(dis.get_instructions(co))
    list(dis.findlinestarts(co))
    if hasattr(co, "co_positions"):
        list(co.co_positions())
        dis._parse_exception_table(co)
    co.replace()
    for c in co.co_consts:
        if hasattr(c, "co_code"):
            walk(c)
for d, _, files in os.walk(root):
    for f in files:
        with open(os.path.join(d, f), "rb") as fh:
            data = fh.read()
        try:
            walk(marshal.loads(data[16:]))
        except Exception as e:
            print("FAIL", os.path.join(d, f), type(e).__name__, e)
            sys.exit(1)
        count += 1
print("ok", count, codes)
"#;

fn check(minor: &str) {
    let repo = pyc_common::repo();
    let Some(python) = find_python(minor) else {
        return;
    };
    let corpus = corpus(minor, &python);
    let mut files = Vec::new();
    pyc_files(&corpus, &mut files);
    files.sort();
    let out_dir = repo.join(".cache/pyc-instrumented").join(minor);
    let _ = std::fs::remove_dir_all(&out_dir);
    let config = fuzz_config();
    let mut failures = Vec::new();
    let mut functions = 0;
    let started = std::time::Instant::now();
    for f in &files {
        let rel = f
            .strip_prefix(&corpus)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let module = rel.trim_end_matches(".pyc").replace('/', ".");
        let target = ModuleTarget {
            module: &module,
            file_name: &rel,
            hooks_module: "_equip_hooks_stdlib",
        };
        match instrument_pyc(&std::fs::read(f).unwrap(), target, &config) {
            Ok(o) => {
                functions += o.functions.len();
                let dest = out_dir.join(&rel);
                std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
                std::fs::write(dest, o.new_bytes.expect("module hooks always change it")).unwrap();
            }
            Err(e) => failures.push(format!("{rel}: {e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{minor}: {} of {} files fail:\n{}",
        failures.len(),
        files.len(),
        failures[..failures.len().min(10)].join("\n")
    );
    let instrumenting = started.elapsed();
    let out = Command::new(&python)
        .args(["-c", VALIDATE])
        .arg(&out_dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{minor}: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!(
        "CPython {minor}: {} files, {functions} functions instrumented in {:.1}s; validated by CPython ({:.1}s): {}",
        files.len(),
        instrumenting.as_secs_f64(),
        (started.elapsed() - instrumenting).as_secs_f64(),
        stdout.trim()
    );
}

#[test]
fn stdlib_instrumented_3_8() {
    check("3.8");
}
#[test]
fn stdlib_instrumented_3_9() {
    check("3.9");
}
#[test]
fn stdlib_instrumented_3_10() {
    check("3.10");
}
#[test]
fn stdlib_instrumented_3_11() {
    check("3.11");
}
#[test]
fn stdlib_instrumented_3_12() {
    check("3.12");
}
#[test]
fn stdlib_instrumented_3_13() {
    check("3.13");
}
#[test]
fn stdlib_instrumented_3_14() {
    check("3.14");
}
#[test]
fn stdlib_instrumented_3_15() {
    check("3.15");
}
