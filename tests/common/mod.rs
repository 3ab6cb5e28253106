//! Helpers shared by the integration tests: building wheels (valid or deliberately broken)
//! and running the `equip-wheel` binary.

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use base64::Engine;
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;

/// A member to put in a test wheel.
#[derive(Clone)]
pub struct Member {
    pub name: String,
    pub data: Vec<u8>,
    pub mode: u32,
}

impl Member {
    pub fn new(name: &str, data: impl Into<Vec<u8>>) -> Self {
        Member {
            name: name.to_string(),
            data: data.into(),
            mode: 0o644,
        }
    }

    pub fn mode(mut self, mode: u32) -> Self {
        self.mode = mode;
        self
    }
}

/// RECORD's hash format.
pub fn record_hash(data: &[u8]) -> String {
    let digest = Sha256::digest(data);
    format!(
        "sha256={}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
    )
}

/// The members of a small valid wheel `demo-1.0` (package `demo`), RECORD excluded.
pub fn demo_members() -> Vec<Member> {
    vec![
        Member::new(
            "demo/__init__.py",
            "\"\"\"Demo.\"\"\"\n\ndef hello(name):\n    return 'hi ' + name\n",
        ),
        Member::new("demo/util.py", "def add(a, b):\n    return a + b\n"),
        Member::new(
            "demo-1.0.data/scripts/demo-tool",
            "#!python\nprint('tool')\n",
        )
        .mode(0o755),
        Member::new(
            "demo-1.0.dist-info/METADATA",
            "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n",
        ),
        Member::new(
            "demo-1.0.dist-info/WHEEL",
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        ),
    ]
}

/// RECORD text listing `members` correctly, plus its own row.
pub fn record_for(members: &[Member], record_path: &str) -> String {
    let mut s = String::new();
    for m in members {
        s.push_str(&format!(
            "{},{},{}\n",
            m.name,
            record_hash(&m.data),
            m.data.len()
        ));
    }
    s.push_str(&format!("{record_path},,\n"));
    s
}

/// Writes a zip with exactly these members (no RECORD added).
pub fn write_zip(path: &Path, members: &[Member]) {
    let file = std::fs::File::create(path).unwrap();
    let mut zip = zip::ZipWriter::new(file);
    for m in members {
        let options = SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .unix_permissions(m.mode);
        zip.start_file(&m.name, options).unwrap();
        zip.write_all(&m.data).unwrap();
    }
    zip.finish().unwrap();
}

/// Writes a valid wheel made of `members` plus a correct RECORD.
pub fn write_wheel(path: &Path, members: &[Member]) {
    let dist_info = members
        .iter()
        .find_map(|m| {
            m.name
                .split_once(".dist-info/")
                .map(|(d, _)| format!("{d}.dist-info"))
        })
        .expect("a dist-info member");
    let record_path = format!("{dist_info}/RECORD");
    let mut all = members.to_vec();
    all.push(Member::new(&record_path, record_for(members, &record_path)));
    write_zip(path, &all);
}

/// Runs the binary with `args` in `cwd`.
pub fn equip(cwd: &Path, args: &[&str]) -> Output {
    equip_env(cwd, args, &[])
}

/// Runs the binary with `args` in `cwd` and extra environment variables.
pub fn equip_env(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_equip-wheel"));
    cmd.args(args)
        .current_dir(cwd)
        .env_remove("SOURCE_DATE_EPOCH");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

/// Every file under `dir`, recursively (empty when it does not exist).
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// Reads every member of a zip: (name, unix mode, data), in archive order.
pub fn read_zip(path: &Path) -> Vec<(String, Option<u32>, Vec<u8>)> {
    use std::io::Read;
    let mut archive = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    (0..archive.len())
        .map(|i| {
            let mut f = archive.by_index(i).unwrap();
            let mut data = Vec::new();
            f.read_to_end(&mut data).unwrap();
            (f.name().unwrap().to_string(), f.unix_mode(), data)
        })
        .collect()
}

/// Runs the binary in `dir` with `env` added and returns (exit code, stderr, peak RSS of the
/// child in bytes, from `wait4`: the measure memory bounds are checked with).
pub fn run_measured(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String, u64) {
    let stderr_path = dir.join("stderr.txt");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_equip-wheel"));
    cmd.args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr_path).unwrap());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd.spawn().unwrap();
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(reaped, pid);
    std::mem::forget(child);
    assert!(libc::WIFEXITED(status), "killed by a signal: {status}");
    let stderr = std::fs::read_to_string(&stderr_path).unwrap();
    std::fs::remove_file(&stderr_path).unwrap();
    // Linux reports ru_maxrss in KiB.
    (
        libc::WEXITSTATUS(status),
        stderr,
        usage.ru_maxrss as u64 * 1024,
    )
}

/// xorshift64*: the deterministic random numbers the fuzz smoke tests mutate seeds with.
pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}
