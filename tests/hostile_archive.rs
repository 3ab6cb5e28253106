//! Hostile and broken wheel archives, each built byte by byte at test time: `verify` and
//! `instrument` refuse every one with exit code 1 and the same one-line reason naming the
//! member, write nothing, leave the input unchanged, and stay within bounded memory on
//! decompression bombs (peak RSS of the child measured with `wait4`).

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use common::*;
use flate2::{Compress, Compression, FlushCompress};
use sha2::Digest;

const WHEEL: &str = "demo-1.0-py3-none-any.whl";
const RECORD: &str = "demo-1.0.dist-info/RECORD";

/// One central-directory entry and its local header, as written; every field can be
/// falsified independently.
#[derive(Clone)]
struct Raw {
    name: Vec<u8>,
    local_name: Vec<u8>,
    method: u16,
    crc: u32,
    compressed: Vec<u8>,
    size: u32,
    mode: u32,
    /// The local header offset the central directory gives; `None`: where it was written.
    offset: Option<u32>,
    /// Declared compressed size; `None`: the real one.
    compressed_size: Option<u32>,
    /// Written to the file (false: only a central-directory entry).
    local: bool,
}

impl Raw {
    fn new(name: &str, data: &[u8], deflate: bool) -> Self {
        let compressed = match deflate {
            true => deflated(data),
            false => data.to_vec(),
        };
        Raw {
            name: name.as_bytes().to_vec(),
            local_name: name.as_bytes().to_vec(),
            method: if deflate { 8 } else { 0 },
            crc: crc32(data),
            compressed,
            size: data.len() as u32,
            mode: 0o100644,
            offset: None,
            compressed_size: None,
            local: true,
        }
    }

    fn local_header(&self) -> Vec<u8> {
        let mut h = Vec::new();
        h.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        h.extend_from_slice(&20u16.to_le_bytes());
        h.extend_from_slice(&0u16.to_le_bytes()); // flags
        h.extend_from_slice(&self.method.to_le_bytes());
        h.extend_from_slice(&0u16.to_le_bytes()); // time
        h.extend_from_slice(&0x21u16.to_le_bytes()); // date 1980-01-01
        h.extend_from_slice(&self.crc.to_le_bytes());
        h.extend_from_slice(&self.declared_compressed().to_le_bytes());
        h.extend_from_slice(&self.size.to_le_bytes());
        h.extend_from_slice(&(self.local_name.len() as u16).to_le_bytes());
        h.extend_from_slice(&0u16.to_le_bytes());
        h.extend_from_slice(&self.local_name);
        h
    }

    fn declared_compressed(&self) -> u32 {
        self.compressed_size.unwrap_or(self.compressed.len() as u32)
    }

    fn central_header(&self, offset: u32) -> Vec<u8> {
        let mut h = Vec::new();
        h.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        h.extend_from_slice(&(3u16 << 8 | 20).to_le_bytes()); // made by Unix
        h.extend_from_slice(&20u16.to_le_bytes());
        h.extend_from_slice(&0u16.to_le_bytes());
        h.extend_from_slice(&self.method.to_le_bytes());
        h.extend_from_slice(&0u16.to_le_bytes());
        h.extend_from_slice(&0x21u16.to_le_bytes());
        h.extend_from_slice(&self.crc.to_le_bytes());
        h.extend_from_slice(&self.declared_compressed().to_le_bytes());
        h.extend_from_slice(&self.size.to_le_bytes());
        h.extend_from_slice(&(self.name.len() as u16).to_le_bytes());
        h.extend_from_slice(&[0; 8]); // extra, comment, disk, internal attributes
        h.extend_from_slice(&(self.mode << 16).to_le_bytes());
        h.extend_from_slice(&self.offset.unwrap_or(offset).to_le_bytes());
        h.extend_from_slice(&self.name);
        h
    }
}

fn crc32(data: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(data);
    h.finalize()
}

fn deflated(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// The zip file of `entries`: local headers and data, central directory, end record.
fn assemble(entries: &[Raw]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut offsets = Vec::new();
    for e in entries {
        offsets.push(out.len() as u32);
        if e.local {
            out.extend_from_slice(&e.local_header());
            out.extend_from_slice(&e.compressed);
        }
    }
    let cd_start = out.len() as u32;
    for (e, offset) in entries.iter().zip(offsets) {
        out.extend_from_slice(&e.central_header(offset));
    }
    let cd_size = out.len() as u32 - cd_start;
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&cd_size.to_le_bytes());
    out.extend_from_slice(&cd_start.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

/// The demo wheel's members plus `extra`, all deflated, and a RECORD listing them.
fn demo_with(extra: &[Member]) -> Vec<Raw> {
    let mut members = demo_members();
    members.extend_from_slice(extra);
    let record = record_for(&members, RECORD);
    members.push(Member::new(RECORD, record));
    members
        .iter()
        .map(|m| Raw::new(&m.name, &m.data, true))
        .collect()
}

fn index_of(entries: &[Raw], name: &str) -> usize {
    entries
        .iter()
        .position(|e| e.name == name.as_bytes())
        .unwrap()
}

/// Runs the binary in `dir` with extra environment; stdout and stderr as text.
fn run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let out = equip_env(dir, args, env);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The single `equip-wheel: error:` line of `stderr`, without the prefix and the
/// `[n/total]` counter `instrument` puts in front.
fn single_error(stderr: &str) -> String {
    let errors: Vec<&str> = stderr
        .lines()
        .filter_map(|l| l.strip_prefix("equip-wheel: error: "))
        .collect();
    assert_eq!(errors.len(), 1, "expected one error line:\n{stderr}");
    let line = errors[0];
    match line.strip_prefix("[1/1] ") {
        Some(rest) => rest.to_string(),
        None => line.to_string(),
    }
}

/// Writes `bytes` as the demo wheel in a fresh directory and checks the contract: `verify`
/// and `instrument` both exit 1 with one error line containing `needle` and naming
/// `member` (when given), and the same reason; nothing in the output directory, no
/// temporary file, input unchanged. Returns the reason.
fn assert_refused(bytes: &[u8], member: Option<&str>, needle: &str) -> String {
    assert_refused_env(bytes, member, needle, &[])
}

fn assert_refused_env(
    bytes: &[u8],
    member: Option<&str>,
    needle: &str,
    env: &[(&str, &str)],
) -> String {
    let dir = tempfile::tempdir().unwrap();
    let wheel = dir.path().join(WHEEL);
    std::fs::write(&wheel, bytes).unwrap();
    let (code, stdout, stderr) = run(dir.path(), &["verify", WHEEL], env);
    assert_eq!(code, Some(1), "verify: {stdout}{stderr}");
    let verify_reason = single_error(&stderr);
    let (code, _, stderr) = run(dir.path(), &["instrument", WHEEL, "-o", "out"], env);
    assert_eq!(code, Some(1), "instrument: {stderr}");
    let instrument_reason = single_error(&stderr);
    assert_eq!(
        verify_reason, instrument_reason,
        "verify and instrument disagree"
    );
    assert!(
        verify_reason.contains(needle),
        "{needle:?} not in {verify_reason:?}"
    );
    if let Some(member) = member {
        assert!(
            verify_reason.starts_with(&format!("{WHEEL}: {member}: ")),
            "the error does not name {member:?}: {verify_reason:?}"
        );
    }
    assert_eq!(files_under(&dir.path().join("out")), Vec::<PathBuf>::new());
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != WHEEL && n != "out")
        .collect();
    assert!(names.is_empty(), "left behind: {names:?}");
    assert_eq!(std::fs::read(&wheel).unwrap(), bytes, "input modified");
    verify_reason
}

#[test]
fn the_builder_makes_a_valid_wheel() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(WHEEL), assemble(&demo_with(&[]))).unwrap();
    let (code, stdout, stderr) = run(dir.path(), &["verify", WHEEL], &[]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let (code, _, stderr) = run(dir.path(), &["instrument", WHEEL, "-o", "out"], &[]);
    assert_eq!(code, Some(0), "{stderr}");
}

#[test]
fn duplicate_member_names() {
    let mut entries = demo_with(&[]);
    let mut second = Raw::new("demo/util.py", b"import os; os.system('evil')\n", true);
    second.mode = 0o100644;
    entries.insert(2, second);
    assert_refused(
        &assemble(&entries),
        Some("demo/util.py"),
        "duplicate member name",
    );
}

#[test]
fn two_record_files() {
    let mut entries = demo_with(&[]);
    entries.push(Raw::new("demo-1.0.dist-info/RECORD", b"", true));
    assert_refused(&assemble(&entries), Some(RECORD), "duplicate member name");
    let mut entries = demo_with(&[]);
    entries.push(Raw::new("demo-1.0.dist-info/record", b"", true));
    assert_refused(
        &assemble(&entries),
        Some("demo-1.0.dist-info/record"),
        "a second RECORD",
    );
}

#[test]
fn local_header_names_another_file() {
    let mut entries = demo_with(&[]);
    let i = index_of(&entries, "demo/util.py");
    entries[i].local_name = b"demo/utiL.py".to_vec();
    assert_refused(
        &assemble(&entries),
        Some("demo/util.py"),
        "local file header disagrees with the central directory: the local header names it \"demo/utiL.py\"",
    );
}

#[test]
fn overlapping_entries() {
    // The "overlapping files" construction: a stored member whose data holds the local
    // header and data of a second member, which the central directory also lists.
    let inner = Raw::new("demo/inner.py", b"x = 1\n", false);
    let inner_bytes = [inner.local_header(), inner.compressed.clone()].concat();
    let outer = Raw::new("demo/outer.bin", &inner_bytes, false);
    let mut entries = demo_with(&[]);
    let mut nested = inner.clone();
    nested.local = false;
    nested.offset = Some((30 + outer.name.len()) as u32);
    entries.insert(0, nested);
    entries.insert(0, outer);
    assert_refused(
        &assemble(&entries),
        Some("demo/inner.py"),
        "its data overlaps member \"demo/outer.bin\"",
    );
}

#[test]
fn two_entries_sharing_one_local_header() {
    let mut entries = demo_with(&[]);
    let mut alias = entries[0].clone();
    alias.local = false;
    alias.offset = Some(0);
    entries.push(alias);
    let reason = assert_refused(&assemble(&entries), None, "overlaps");
    assert!(reason.contains("demo/__init__.py"), "{reason}");
}

#[test]
fn compressed_size_past_the_end_of_the_file() {
    let mut entries = demo_with(&[]);
    let i = index_of(&entries, "demo/util.py");
    entries[i].compressed_size = Some(10_000_000);
    let bytes = assemble(&entries);
    // Keep the local header consistent too: only the data range is wrong.
    assert_refused(&bytes, Some("demo/util.py"), "past the end of the file");
}

#[test]
fn compressed_data_running_into_the_central_directory() {
    let mut entries = demo_with(&[]);
    let last = entries.len() - 1;
    entries[last].compressed_size = Some(entries[last].compressed.len() as u32 + 40);
    assert_refused(
        &assemble(&entries),
        Some(RECORD),
        "into the central directory",
    );
}

#[test]
fn declared_size_smaller_than_the_content() {
    let mut entries = demo_with(&[]);
    let i = index_of(&entries, "demo/util.py");
    entries[i].size -= 1;
    assert_refused(
        &assemble(&entries),
        Some("demo/util.py"),
        "corrupt member data: the data inflates to more than the",
    );
}

#[test]
fn declared_size_larger_than_the_content() {
    let mut entries = demo_with(&[]);
    let i = index_of(&entries, "demo/util.py");
    entries[i].size += 1;
    assert_refused(
        &assemble(&entries),
        Some("demo/util.py"),
        "corrupt member data: the zip header declares",
    );
}

#[test]
fn crc_mismatch() {
    let mut entries = demo_with(&[]);
    let i = index_of(&entries, "demo/util.py");
    entries[i].crc ^= 1;
    assert_refused(&assemble(&entries), Some("demo/util.py"), "CRC-32 mismatch");
}

#[test]
fn instrument_reports_the_first_problem_verify_lists() {
    let mut entries = demo_with(&[]);
    for name in ["demo/util.py", "demo/__init__.py"] {
        let i = index_of(&entries, name);
        entries[i].crc ^= 1;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(WHEEL), assemble(&entries)).unwrap();
    let (code, _, stderr) = run(dir.path(), &["verify", WHEEL], &[]);
    assert_eq!(code, Some(1));
    let problems: Vec<&str> = stderr
        .lines()
        .filter_map(|l| l.strip_prefix("equip-wheel: error: "))
        .collect();
    assert_eq!(problems.len(), 2, "{stderr}");
    assert!(problems[0].contains("demo/__init__.py: corrupt member data: CRC-32"));
    for _ in 0..5 {
        let (code, _, stderr) = run(dir.path(), &["instrument", WHEEL, "-o", "out"], &[]);
        assert_eq!(code, Some(1));
        assert_eq!(single_error(&stderr), problems[0]);
    }
}

#[test]
fn stored_member_with_sizes_that_differ() {
    let mut entries = demo_with(&[]);
    let i = index_of(&entries, "demo/util.py");
    let data = demo_members()[1].data.clone();
    entries[i] = Raw::new("demo/util.py", &data, false);
    entries[i].size += 4;
    assert_refused(
        &assemble(&entries),
        Some("demo/util.py"),
        "corrupt member data: stored (uncompressed) but declares",
    );
}

#[test]
fn unsafe_member_names() {
    for (name, why) in [
        ("C:evil.py", "drive letter"),
        ("C:/evil.py", "drive letter"),
        ("/etc/evil.py", "absolute path"),
        ("demo/../../evil.py", "'.' or '..' path segment"),
        ("demo\\evil.py", "backslash"),
        ("demo/e\u{0}vil.py", "control character"),
        ("demo/e\u{1b}[2Jvil.py", "control character"),
        ("demo/evil.py:stream", "':' in name"),
        ("demo//evil.py", "empty path segment"),
    ] {
        let entries = demo_with(&[Member::new(name, "x = 1\n")]);
        let reason = assert_refused(&assemble(&entries), None, why);
        assert!(reason.contains("unsafe member name: \""), "{reason}");
        assert!(
            !reason.contains('\u{1b}') && !reason.contains('\u{0}'),
            "{reason:?}"
        );
    }
}

#[test]
fn record_paths_are_escaped_in_messages() {
    // A RECORD row naming a file that does not exist, with a terminal escape sequence, a
    // quoted newline and quotes in its path.
    let mut members = demo_members();
    let record = record_for(&members, RECORD);
    let record = format!("\"demo/\u{1b}]0;owned\u{7}x\n\"\"y.py\",sha256=abc,1\n{record}");
    members.push(Member::new(RECORD, record));
    let entries: Vec<Raw> = members
        .iter()
        .map(|m| Raw::new(&m.name, &m.data, true))
        .collect();
    let reason = assert_refused(
        &assemble(&entries),
        None,
        "listed in RECORD but absent from the archive",
    );
    assert!(
        reason.contains("demo/\\x1b]0;owned\\x07x\\n\"y.py: listed in RECORD"),
        "{reason:?}"
    );
}

#[test]
fn record_hashes_sha256_or_better() {
    let b64 = |d: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(d);
    let members = demo_members();
    let rows = |f: &dyn Fn(&[u8]) -> String| {
        let mut s = String::new();
        for m in &members {
            s.push_str(&format!("{},{},{}\n", m.name, f(&m.data), m.data.len()));
        }
        s.push_str(&format!("{RECORD},,\n"));
        s
    };
    let build = |record: String| {
        let mut all = members.clone();
        all.push(Member::new(RECORD, record));
        assemble(
            &all.iter()
                .map(|m| Raw::new(&m.name, &m.data, true))
                .collect::<Vec<_>>(),
        )
    };
    for (label, record) in [
        (
            "sha384",
            rows(&|d| format!("sha384={}", b64(&sha2::Sha384::digest(d)))),
        ),
        (
            "sha512",
            rows(&|d| format!("sha512={}", b64(&sha2::Sha512::digest(d)))),
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(WHEEL), build(record)).unwrap();
        let (code, stdout, stderr) = run(dir.path(), &["verify", WHEEL], &[]);
        assert_eq!(code, Some(0), "{label}: {stdout}{stderr}");
        let (code, _, stderr) = run(dir.path(), &["instrument", WHEEL, "-o", "out"], &[]);
        assert_eq!(code, Some(0), "{label}: {stderr}");
        let out = dir.path().join("out").join(WHEEL);
        let (code, stdout, stderr) = run(dir.path(), &["verify", out.to_str().unwrap()], &[]);
        assert_eq!(code, Some(0), "{label} output: {stdout}{stderr}");
    }
    let wrong = rows(&|d| {
        let mut digest = sha2::Sha512::digest(d).to_vec();
        if d == members[0].data.as_slice() {
            digest[0] ^= 1;
        }
        format!("sha512={}", b64(&digest))
    });
    assert_refused(
        &build(wrong),
        Some("demo/__init__.py"),
        "hash mismatch: RECORD says sha512=",
    );
    for (weak, digest) in [
        ("md5", vec![0u8; 16]),
        ("sha1", vec![0u8; 20]),
        ("sha224", vec![0u8; 28]),
    ] {
        let record = rows(&|_| format!("{weak}={}", b64(&digest)));
        assert_refused(
            &build(record),
            Some("demo/__init__.py"),
            &format!("hash algorithm \"{weak}\" is weaker than sha256"),
        );
    }
}

#[test]
fn not_a_regular_file() {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink("/dev/zero", dir.path().join(WHEEL)).unwrap();
    let fifo = dir.path().join("fifo-1.0-py3-none-any.whl");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    std::fs::create_dir(dir.path().join("dir-1.0-py3-none-any.whl")).unwrap();
    for (wheel, kind) in [
        (WHEEL, "a character device"),
        ("fifo-1.0-py3-none-any.whl", "a FIFO"),
        ("dir-1.0-py3-none-any.whl", "a directory"),
    ] {
        let (code, _, stderr) = run(dir.path(), &["verify", wheel], &[]);
        assert_eq!(code, Some(1), "{stderr}");
        let reason = single_error(&stderr);
        let (code, _, stderr) = run(dir.path(), &["instrument", wheel, "-o", "out"], &[]);
        assert_eq!(code, Some(1), "{stderr}");
        assert_eq!(single_error(&stderr), reason);
        assert_eq!(reason, format!("{wheel}: not a regular file ({kind})"));
    }
    assert!(!dir.path().join("out").exists());
}

#[test]
fn invalid_limit_variables_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(WHEEL), assemble(&demo_with(&[]))).unwrap();
    for cmd in [&["verify", WHEEL][..], &["instrument", WHEEL, "-o", "out"]] {
        let (code, _, stderr) = run(dir.path(), cmd, &[("EQUIP_WHEEL_MAX_RATIO", "lots")]);
        assert_eq!(code, Some(2), "{stderr}");
        assert!(
            single_error(&stderr).contains("EQUIP_WHEEL_MAX_RATIO"),
            "{stderr}"
        );
    }
}

#[test]
fn member_and_total_size_limits_are_configurable() {
    let entries = demo_with(&[Member::new("demo/data.bin", vec![7u8; 5000])]);
    let bytes = assemble(&entries);
    assert_refused_env(
        &bytes,
        Some("demo/data.bin"),
        "declares 5000 bytes uncompressed, more than the limit of 4096 bytes (EQUIP_WHEEL_MAX_MEMBER_SIZE)",
        &[("EQUIP_WHEEL_MAX_MEMBER_SIZE", "4K")],
    );
    assert_refused_env(
        &bytes,
        None,
        "more than the limit of 5000 bytes (EQUIP_WHEEL_MAX_TOTAL_SIZE)",
        &[("EQUIP_WHEEL_MAX_TOTAL_SIZE", "5000")],
    );
}

/// A deflate stream of `gib` GiB of zeros made of repeated 64 MiB blocks (about 64 KiB
/// each): the shape of a decompression bomb, built in well under a second.
fn zeros_deflated(mib: usize) -> Vec<u8> {
    let block = 64 << 20;
    assert_eq!(mib % 64, 0);
    let zeros = vec![0u8; block];
    let mut c = Compress::new(Compression::best(), false);
    let mut segment = Vec::with_capacity(1 << 20);
    c.compress_vec(&zeros, &mut segment, FlushCompress::Sync)
        .unwrap();
    assert_eq!(c.total_in() as usize, block, "one call deflates the block");
    let mut out = Vec::with_capacity(segment.len() * (mib / 64) + 2);
    for _ in 0..mib / 64 {
        out.extend_from_slice(&segment);
    }
    out.extend_from_slice(&[0x03, 0x00]); // final empty fixed-Huffman block
    out
}

/// CRC-32 and RECORD sha256 of `mib` MiB of zeros.
fn zeros_digests(mib: usize) -> (u32, String) {
    let chunk = vec![0u8; 1 << 20];
    let mut crc = crc32fast::Hasher::new();
    let mut sha = sha2::Sha256::new();
    for _ in 0..mib {
        crc.update(&chunk);
        sha.update(&chunk);
    }
    let hash = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha.finalize());
    (crc.finalize(), format!("sha256={hash}"))
}

/// The demo wheel plus `demo/data.bin`: `mib` MiB of zeros, with a correct RECORD row
/// and zip header, except that the header declares `declared` bytes when given.
fn bomb_wheel(mib: usize, declared: Option<u32>) -> Vec<u8> {
    let size = (mib as u64) << 20;
    let (crc, hash) = zeros_digests(mib);
    let members = demo_members();
    let mut record = format!("demo/data.bin,{hash},{size}\n");
    record.push_str(&record_for(&members, RECORD));
    let mut entries: Vec<Raw> = members
        .iter()
        .map(|m| Raw::new(&m.name, &m.data, true))
        .collect();
    let mut bomb = Raw::new("demo/data.bin", b"", true);
    bomb.compressed = zeros_deflated(mib);
    bomb.crc = crc;
    bomb.size = declared.unwrap_or(size as u32);
    entries.insert(0, bomb);
    entries.push(Raw::new(RECORD, record.as_bytes(), true));
    assemble(&entries)
}

/// Peak RSS allowed for reading a bomb: the tool itself plus a few chunks, far below the
/// bomb's inflated size (the wheel file itself is a few MB).
const BOMB_RSS_LIMIT: u64 = 150 << 20;

#[test]
fn decompression_bomb_past_the_ratio_limit_is_refused_in_bounded_memory() {
    // 1 GiB of zeros in about 1 MB: ratio about 1000:1.
    let bytes = bomb_wheel(1024, None);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(WHEEL), &bytes).unwrap();
    for args in [&["verify", WHEEL][..], &["instrument", WHEEL, "-o", "out"]] {
        let (code, stderr, rss) = run_measured(dir.path(), args, &[]);
        assert_eq!(code, 1, "{stderr}");
        let reason = single_error(&stderr);
        assert!(
            reason.starts_with(&format!("{WHEEL}: demo/data.bin: compression ratio")),
            "{reason}"
        );
        assert!(reason.contains("EQUIP_WHEEL_MAX_RATIO"), "{reason}");
        assert!(rss < BOMB_RSS_LIMIT, "{args:?}: peak RSS {rss} bytes");
    }
    assert!(!dir.path().join("out").exists());
    assert_eq!(std::fs::read(dir.path().join(WHEEL)).unwrap(), bytes);
}

#[test]
fn member_inflating_past_its_declared_size_stops_there() {
    // Declares 1,000,000 bytes (under the ratio grace size) but inflates to 1 GiB.
    let bytes = bomb_wheel(1024, Some(1_000_000));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(WHEEL), &bytes).unwrap();
    for args in [&["verify", WHEEL][..], &["instrument", WHEEL, "-o", "out"]] {
        let (code, stderr, rss) = run_measured(dir.path(), args, &[]);
        assert_eq!(code, 1, "{stderr}");
        assert_eq!(
            single_error(&stderr),
            format!(
                "{WHEEL}: demo/data.bin: corrupt member data: the data inflates to more than \
                 the 1000000 bytes the zip header declares"
            )
        );
        assert!(rss < BOMB_RSS_LIMIT, "{args:?}: peak RSS {rss} bytes");
    }
    assert!(!dir.path().join("out").exists());
}

#[test]
fn a_large_member_allowed_by_the_limits_is_streamed_and_copied_raw() {
    // The same 1 GiB member, admitted by raising the ratio limit: verify streams it and
    // instrument copies it without inflating it into memory.
    let bytes = bomb_wheel(1024, None);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(WHEEL), &bytes).unwrap();
    let env = [("EQUIP_WHEEL_MAX_RATIO", "100000")];
    let (code, stderr, rss) = run_measured(dir.path(), &["verify", WHEEL], &env);
    assert_eq!(code, 0, "{stderr}");
    assert!(rss < BOMB_RSS_LIMIT, "verify: peak RSS {rss} bytes");
    let (code, stderr, rss) =
        run_measured(dir.path(), &["instrument", WHEEL, "-o", "out", "-q"], &env);
    assert_eq!(code, 0, "{stderr}");
    assert!(rss < BOMB_RSS_LIMIT, "instrument: peak RSS {rss} bytes");
    let out = std::fs::read(dir.path().join("out").join(WHEEL)).unwrap();
    assert!(
        out.len() < bytes.len() + (1 << 20),
        "recompressed? {} bytes",
        out.len()
    );
}
