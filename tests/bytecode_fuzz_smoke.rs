//! Stable-toolchain smoke run of the two fuzz properties (`equip_wheel::bytecode::fuzzing`),
//! for CI: seeds are the `shapes` fixture compiled by every installed interpreter (3.8–3.15),
//! mutated deterministically (byte flips, insertions, deletions, truncations). The real
//! coverage-guided runs are `scripts/fuzz.sh` (cargo fuzz, nightly).

mod common;

use common::Rng;

mod pyc_common;

use std::path::PathBuf;
use std::process::Command;

use equip_wheel::bytecode::fuzzing::{fuzz_config, instrument_any, marshal_round_trip};

const VERSIONS: [&str; 8] = ["3.8", "3.9", "3.10", "3.11", "3.12", "3.13", "3.14", "3.15"];

fn seeds() -> Vec<Vec<u8>> {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/python/fixtures/shapes/shapes/core.py");
    let dir = tempfile::tempdir().unwrap();
    let mut out = Vec::new();
    let pythons = VERSIONS
        .iter()
        .filter_map(|minor| pyc_common::find_python(minor));
    for (i, python) in pythons.enumerate() {
        let dest = dir.path().join(format!("seed{i}.pyc"));
        let status = Command::new(&python)
            .args(["-c", "import py_compile, sys; py_compile.compile(sys.argv[1], cfile=sys.argv[2], doraise=True)"])
            .arg(&src)
            .arg(&dest)
            .status()
            .unwrap();
        assert!(status.success());
        out.push(std::fs::read(dest).unwrap());
    }
    out
}

fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut d = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        match rng.below(4) {
            0 if !d.is_empty() => {
                let i = rng.below(d.len());
                d[i] ^= 1 << rng.below(8);
            }
            1 => {
                let i = rng.below(d.len() + 1);
                d.insert(i, rng.next() as u8);
            }
            2 if !d.is_empty() => {
                let i = rng.below(d.len());
                d.remove(i);
            }
            _ => {
                let n = rng.below(d.len() + 1);
                d.truncate(n.max(17));
            }
        }
    }
    d
}

#[test]
fn fuzz_properties_hold_on_mutated_real_pycs() {
    let seeds = seeds();
    let config = fuzz_config();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut instrumented = 0;
    for seed in &seeds {
        marshal_round_trip(&seed[16..]);
        // The unmutated seed must instrument (and re-read) successfully.
        let target = equip_wheel::module::ModuleTarget {
            module: "pkg.mod",
            file_name: "pkg/mod.pyc",
            hooks_module: "_equip_hooks_pkg",
        };
        let out = equip_wheel::bytecode::instrument_pyc(seed, target, &config).unwrap();
        assert!(out.new_bytes.is_some() && !out.functions.is_empty());
        instrument_any(seed, &config);
        for _ in 0..1000 {
            let m = mutate(&mut rng, seed);
            marshal_round_trip(&m[16.min(m.len())..]);
            instrument_any(&m, &config);
            instrumented += 1;
        }
    }
    eprintln!(
        "{} seeds, {instrumented} mutated inputs checked",
        seeds.len()
    );
}
