//! Stable-toolchain smoke run of the wheel reader's fuzz properties
//! (`equip_wheel::wheel::fuzzing`), for CI: seeds are small wheels built here (deflated and
//! stored members, the repository's demo wheel), mutated deterministically (byte flips,
//! insertions, deletions, truncations, and overwrites of zip header fields). The real
//! coverage-guided runs are `scripts/fuzz.sh` (cargo fuzz, nightly).

mod common;

use std::io::Write;

use common::*;
use equip_wheel::wheel::fuzzing::{read_wheel, record_round_trip};

fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut d = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        match rng.below(6) {
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
            3 => {
                let n = rng.below(d.len() + 1);
                d.truncate(n);
            }
            // A 16- or 32-bit header field set to a boundary value.
            _ if d.len() >= 4 => {
                let i = rng.below(d.len() - 3);
                let v: u32 = [0, 1, 0xffff, 0xffff_ffff, rng.next() as u32][rng.below(5)];
                let width = if rng.below(2) == 0 { 2 } else { 4 };
                d[i..i + width].copy_from_slice(&v.to_le_bytes()[..width]);
            }
            _ => {}
        }
    }
    d
}

fn seeds() -> Vec<Vec<u8>> {
    let dir = tempfile::tempdir().unwrap();
    let mut out = Vec::new();
    let deflated = dir.path().join("a.whl");
    write_wheel(&deflated, &demo_members());
    out.push(std::fs::read(&deflated).unwrap());
    // The same members stored, with a data file.
    let stored = dir.path().join("b.whl");
    let mut members = demo_members();
    members.push(Member::new("demo/data.bin", vec![0u8; 3000]));
    let record = record_for(&members, "demo-1.0.dist-info/RECORD");
    members.push(Member::new("demo-1.0.dist-info/RECORD", record));
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&stored).unwrap());
    for m in &members {
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        zip.start_file(&m.name, options).unwrap();
        zip.write_all(&m.data).unwrap();
    }
    zip.finish().unwrap();
    out.push(std::fs::read(&stored).unwrap());
    let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testwheels/demo-1.0-py3-none-any.whl");
    out.push(std::fs::read(demo).unwrap());
    out
}

#[test]
fn wheel_reader_properties_hold_on_mutated_wheels() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let (mut opened, mut total) = (0, 0);
    for seed in seeds() {
        let members = read_wheel(&seed).expect("the unmutated seed reads");
        assert!(members >= 5, "{members} members read");
        for _ in 0..3000 {
            let m = mutate(&mut rng, &seed);
            opened += usize::from(read_wheel(&m).is_ok());
            total += 1;
        }
    }
    eprintln!("{total} mutated wheels, {opened} opened");
}

#[test]
fn record_properties_hold_on_mutated_records() {
    let mut members = demo_members();
    members.push(Member::new("a,b \"q\".py", "x = 1\n"));
    let record = record_for(&members, "demo-1.0.dist-info/RECORD");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    record_round_trip(record.as_bytes());
    for _ in 0..5000 {
        record_round_trip(&mutate(&mut rng, record.as_bytes()));
    }
}
