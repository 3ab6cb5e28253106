//! Every `.pyc` that `py_compile` makes of each installed
//! interpreter's standard library (3.8–3.15) survives marshal read+write byte for byte, and
//! disassembling + reassembling every code object without injection gives back identical
//! bytes (so `marshal` and `dis` show the same code object). The recomputed stack depth is
//! compared with `co_stacksize` too.
//!
//! The corpora are generated at test time into the git-ignored `.cache/pyc-corpus/3.X/`
//! (one Python process per version) and reused by later runs. Interpreters are found by
//! `scripts/pythons.py`; a missing one skips its version with a message
//! (`EQUIP_REQUIRE_ALL_PYTHONS=1` turns that into a failure).

mod pyc_common;

use equip_wheel::bytecode::round_trip;
use pyc_common::{corpus, find_python, pyc_files};

const VERSIONS: [&str; 8] = ["3.8", "3.9", "3.10", "3.11", "3.12", "3.13", "3.14", "3.15"];

fn check_version(minor: &str) {
    let Some(python) = find_python(minor) else {
        return;
    };
    let dir = corpus(minor, &python);
    let mut files = Vec::new();
    pyc_files(&dir, &mut files);
    files.sort();
    assert!(
        files.len() > 500,
        "only {} .pyc files for {minor}",
        files.len()
    );
    let mut failures = Vec::new();
    let (mut code_objects, mut equal, mut below) = (0, 0, 0);
    let mut below_examples = Vec::new();
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        match round_trip(&bytes) {
            Ok(s) => {
                code_objects += s.code_objects;
                equal += s.depth_equal;
                below += s.depth_below;
                if let Some(b) = s.first_below
                    && below_examples.len() < 5
                {
                    below_examples.push(format!("{}: {b}", f.display()));
                }
            }
            Err(e) => failures.push(format!("{}: {e}", f.display())),
        }
    }
    eprintln!(
        "CPython {minor}: {} files, {code_objects} code objects round-tripped; stack depth equal for {equal}, below co_stacksize for {below}",
        files.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} files fail:\n{}",
        failures.len(),
        files.len(),
        failures
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    // From 3.10 on CPython computes co_stacksize on (nearly) the final code, as we do; it
    // counts a few constructs more generously (3.11 `except*`), never less.
    if minor != "3.8" && minor != "3.9" {
        assert!(
            below * 1000 <= code_objects,
            "{minor}: stack depth below co_stacksize for {below} code objects: {below_examples:#?}"
        );
    }
}

#[test]
fn stdlib_round_trip_3_8() {
    check_version(VERSIONS[0]);
}
#[test]
fn stdlib_round_trip_3_9() {
    check_version(VERSIONS[1]);
}
#[test]
fn stdlib_round_trip_3_10() {
    check_version(VERSIONS[2]);
}
#[test]
fn stdlib_round_trip_3_11() {
    check_version(VERSIONS[3]);
}
#[test]
fn stdlib_round_trip_3_12() {
    check_version(VERSIONS[4]);
}
#[test]
fn stdlib_round_trip_3_13() {
    check_version(VERSIONS[5]);
}
#[test]
fn stdlib_round_trip_3_14() {
    check_version(VERSIONS[6]);
}
#[test]
fn stdlib_round_trip_3_15() {
    check_version(VERSIONS[7]);
}
