//! Opening and validating an input wheel (the binary distribution format spec: RECORD, zip layout).
//!
//! [`InputWheel::open`] checks the structure eagerly (file name, zip directory, member
//! names, duplicates, symlinks, compression, one `.dist-info`, RECORD coverage) and notes
//! an equip-wheel provenance file. Member contents are checked against RECORD when read
//! ([`InputWheel::read_member`]), which the instrumentation pipeline does in parallel.

use std::collections::{HashMap, HashSet};
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use zip::{CompressionMethod, ZipArchive};

use super::filename::{WheelName, normalize_dist_name};
use super::record::{RecordEntry, parse_record, record_hash};
use crate::error::{WheelError, WheelProblem};

/// File name of the provenance file equip-wheel adds to `.dist-info`.
pub const PROVENANCE_FILE: &str = "equip-wheel.json";

/// Signature files that RECORD may be accompanied by (PEP 491); dropped on output.
pub const SIGNATURE_FILES: [&str; 2] = ["RECORD.jws", "RECORD.p7s"];

const S_IFMT: u32 = 0o170000;
const S_IFLNK: u32 = 0o120000;

/// A zip archive over the in-memory wheel; cheap to clone (one per worker thread).
pub type Archive = ZipArchive<Cursor<SharedBytes>>;

/// The whole wheel file held in memory, shared by the parallel readers of [`Archive`].
#[derive(Clone)]
pub struct SharedBytes(Arc<Vec<u8>>);

impl AsRef<[u8]> for SharedBytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// Metadata of one file member of the input wheel.
#[derive(Debug, Clone)]
pub struct MemberInfo {
    /// The member name (UTF-8, `/`-separated, relative).
    pub name: String,
    /// Index in the zip central directory.
    pub index: usize,
    /// Uncompressed size in bytes.
    pub size: u64,
    /// Unix permission bits (`st_mode & 0o7777`), when the archive records them.
    pub permissions: Option<u32>,
    /// Whether the member is deflate-compressed (otherwise stored).
    pub deflated: bool,
    /// Last-modified time from the zip header.
    pub modified: zip::DateTime,
    /// True when the member carries no extra fields or comment, so a raw copy writes
    /// exactly the headers equip-wheel would write.
    pub plain_headers: bool,
}

/// A validated input wheel.
pub struct InputWheel {
    /// Where the wheel was read from.
    pub path: PathBuf,
    /// The parsed file name.
    pub name: WheelName,
    /// The `.dist-info` directory name, e.g. `attrs-24.2.0.dist-info`.
    pub dist_info: String,
    /// File members in archive order (directories excluded).
    pub members: Vec<MemberInfo>,
    /// RECORD rows by path.
    record: HashMap<String, RecordEntry>,
    /// The signature files present (dropped on output).
    pub signatures: Vec<String>,
    /// The equip-wheel provenance member, when the wheel was already instrumented.
    pub provenance: Option<String>,
    archive: Archive,
    bytes: SharedBytes,
    /// Size of the wheel file in bytes.
    pub file_size: u64,
}

impl InputWheel {
    /// Reads and validates the wheel at `path`.
    ///
    /// Errors ([`WheelError`]) name the wheel and the offending member: a bad file name, not a
    /// zip, unsafe or duplicate names, symlinks, compression other than stored/deflate,
    /// encryption, not exactly one `.dist-info`, or RECORD missing or not covering the
    /// archive.
    pub fn open(path: &Path) -> Result<Self, WheelError> {
        let err = |problem| WheelError::new(path, problem);
        let file_name = path
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| err(WheelProblem::BadFilename(path.display().to_string())))?;
        let name = WheelName::parse(file_name).map_err(|e| err(WheelProblem::BadFilename(e)))?;
        let bytes = std::fs::read(path)
            .map_err(|e| err(WheelProblem::NotAZip(format!("cannot read the file: {e}"))))?;
        let file_size = bytes.len() as u64;
        let handle = SharedBytes(Arc::new(bytes));
        let archive = ZipArchive::new(Cursor::new(handle.clone()))
            .map_err(|e| err(WheelProblem::NotAZip(e.to_string())))?;

        let members = scan_members(path, &archive)?;
        let dist_info = find_dist_info(path, &name, &members)?;
        let record_name = format!("{dist_info}/RECORD");
        let provenance = format!("{dist_info}/{PROVENANCE_FILE}");
        let provenance = members
            .iter()
            .any(|m| m.name == provenance)
            .then_some(provenance);
        let record_member = members
            .iter()
            .find(|m| m.name == record_name)
            .ok_or_else(|| WheelError::member(path, &record_name, WheelProblem::RecordMissing))?;
        let mut wheel = InputWheel {
            path: path.to_path_buf(),
            name,
            dist_info: dist_info.clone(),
            members: Vec::new(),
            record: HashMap::new(),
            signatures: Vec::new(),
            provenance,
            archive,
            bytes: handle,
            file_size,
        };
        let record_bytes = wheel.read_raw(record_member)?;
        let rows = parse_record(&record_bytes).map_err(|(line, message)| {
            WheelError::member(
                path,
                &record_name,
                WheelProblem::RecordSyntax { line, message },
            )
        })?;
        let signatures: Vec<String> = SIGNATURE_FILES
            .iter()
            .map(|s| format!("{dist_info}/{s}"))
            .filter(|s| members.iter().any(|m| &m.name == s))
            .collect();
        let record = check_record_coverage(path, &record_name, &signatures, &members, rows)?;
        check_wheel_metadata(&wheel, &members)?;
        wheel.members = members;
        wheel.record = record;
        wheel.signatures = signatures;
        Ok(wheel)
    }

    /// sha256 (hex) of the whole wheel file.
    pub fn sha256(&self) -> String {
        super::record::sha256_hex(self.bytes.as_ref())
    }

    /// A clone of the archive reader for use on another thread.
    pub fn archive(&self) -> Archive {
        self.archive.clone()
    }

    /// The RECORD path, `<dist-info>/RECORD`.
    pub fn record_path(&self) -> String {
        format!("{}/RECORD", self.dist_info)
    }

    /// The RECORD row for `name`, if any.
    pub fn record_entry(&self, name: &str) -> Option<&RecordEntry> {
        self.record.get(name)
    }

    /// Reads a member and checks it against RECORD (sha256 and size).
    ///
    /// Uses a fresh clone of the archive, so it may be called from several threads.
    pub fn read_member(&self, member: &MemberInfo) -> Result<Vec<u8>, WheelError> {
        let data = self.read_raw(member)?;
        self.check_against_record(member, &data)?;
        Ok(data)
    }

    /// Checks already-read content against the member's RECORD row.
    pub fn check_against_record(&self, member: &MemberInfo, data: &[u8]) -> Result<(), WheelError> {
        let Some(entry) = self.record.get(&member.name) else {
            // RECORD itself and signatures have no hash row; coverage was checked at open.
            return Ok(());
        };
        let actual = record_hash(data);
        if entry.hash != actual {
            return Err(WheelError::member(
                &self.path,
                &member.name,
                WheelProblem::HashMismatch {
                    expected: entry.hash.clone(),
                    actual,
                },
            ));
        }
        if entry.size != data.len().to_string() {
            return Err(WheelError::member(
                &self.path,
                &member.name,
                WheelProblem::SizeMismatch {
                    expected: entry.size.clone(),
                    actual: data.len() as u64,
                },
            ));
        }
        Ok(())
    }

    /// Reads a member's uncompressed bytes, checking CRC and declared size (not RECORD).
    fn read_raw(&self, member: &MemberInfo) -> Result<Vec<u8>, WheelError> {
        let corrupt = |m: String| {
            WheelError::member(&self.path, &member.name, WheelProblem::CorruptMember(m))
        };
        let mut archive = self.archive.clone();
        let mut file = archive
            .by_index(member.index)
            .map_err(|e| corrupt(e.to_string()))?;
        let mut data = Vec::with_capacity(member.size.min(1 << 30) as usize);
        file.read_to_end(&mut data)
            .map_err(|e| corrupt(e.to_string()))?;
        if data.len() as u64 != member.size {
            return Err(corrupt(format!(
                "the zip header declares {} bytes, the data has {}",
                member.size,
                data.len()
            )));
        }
        Ok(data)
    }
}

/// Validates every central-directory entry and returns the file members.
fn scan_members(path: &Path, archive: &Archive) -> Result<Vec<MemberInfo>, WheelError> {
    let mut seen = HashSet::new();
    let mut members = Vec::with_capacity(archive.len());
    for index in 0..archive.len() {
        let entry = archive
            .by_index_data(index)
            .map_err(|e| WheelError::new(path, WheelProblem::NotAZip(e.to_string())))?;
        let raw = entry.name_raw();
        let name = std::str::from_utf8(raw).map_err(|_| {
            WheelError::new(
                path,
                WheelProblem::UnsafeName(format!(
                    "{:?} is not valid UTF-8",
                    String::from_utf8_lossy(raw)
                )),
            )
        })?;
        let member_err = |problem| WheelError::member(path, name, problem);
        if let Err(why) = check_member_name(name) {
            return Err(WheelError::new(
                path,
                WheelProblem::UnsafeName(format!("{name:?}: {why}")),
            ));
        }
        if !seen.insert(name.to_string()) {
            return Err(member_err(WheelProblem::DuplicateName));
        }
        let mode = entry.unix_mode();
        if mode.is_some_and(|m| m & S_IFMT == S_IFLNK) {
            return Err(member_err(WheelProblem::Symlink));
        }
        if entry.encrypted() {
            return Err(member_err(WheelProblem::Encrypted));
        }
        if entry.is_dir() {
            continue;
        }
        let deflated = match entry.compression() {
            CompressionMethod::Stored => false,
            CompressionMethod::Deflated => true,
            other => {
                return Err(member_err(WheelProblem::UnsupportedCompression(format!(
                    "{other:?}"
                ))));
            }
        };
        members.push(MemberInfo {
            name: name.to_string(),
            index,
            size: entry.size(),
            permissions: mode.map(|m| m & 0o7777),
            deflated,
            modified: entry.last_modified().unwrap_or_default(),
            plain_headers: false,
        });
    }
    // Extra fields and comments are only visible on the full entry.
    let mut archive = archive.clone();
    for member in &mut members {
        let file = archive.by_index_raw(member.index).map_err(|e| {
            WheelError::member(
                path,
                &member.name,
                WheelProblem::CorruptMember(e.to_string()),
            )
        })?;
        member.plain_headers = file.extra_data_fields().next().is_none()
            && file.comment().is_empty()
            && file.extra_data().is_none_or(|d| d.is_empty());
    }
    Ok(members)
}

/// Rejects names that could escape the install directory or confuse installers:
/// absolute paths, `..`/`.`/empty segments, backslashes, control characters, drive letters.
pub fn check_member_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("empty name");
    }
    if name.starts_with('/') {
        return Err("absolute path");
    }
    if name.contains('\\') {
        return Err("backslash in name");
    }
    if name.chars().any(|c| c.is_control()) {
        return Err("control character in name");
    }
    let trimmed = name.strip_suffix('/').unwrap_or(name);
    for (i, segment) in trimmed.split('/').enumerate() {
        match segment {
            "" => return Err("empty path segment"),
            "." | ".." => return Err("'.' or '..' path segment"),
            s if i == 0 && s.len() == 2 && s.ends_with(':') => return Err("drive letter"),
            _ => {}
        }
    }
    Ok(())
}

/// Finds the single top-level `.dist-info` directory and checks it matches the file name.
fn find_dist_info(
    path: &Path,
    name: &WheelName,
    members: &[MemberInfo],
) -> Result<String, WheelError> {
    let mut dirs: Vec<&str> = members
        .iter()
        .filter_map(|m| m.name.split_once('/').map(|(top, _)| top))
        .filter(|top| top.ends_with(".dist-info"))
        .collect();
    dirs.sort_unstable();
    dirs.dedup();
    let dir = match dirs.as_slice() {
        [one] => one.to_string(),
        [] => {
            return Err(WheelError::new(
                path,
                WheelProblem::DistInfo("no top-level .dist-info directory".into()),
            ));
        }
        many => {
            return Err(WheelError::new(
                path,
                WheelProblem::DistInfo(format!(
                    "{} top-level .dist-info directories ({}); a wheel has exactly one",
                    many.len(),
                    many.join(", ")
                )),
            ));
        }
    };
    let stem = dir.trim_end_matches(".dist-info");
    let matches = stem.rsplit_once('-').is_some_and(|(dist, version)| {
        normalize_dist_name(dist) == normalize_dist_name(&name.distribution)
            && version == name.version
    });
    if !matches {
        return Err(WheelError::new(
            path,
            WheelProblem::DistInfo(format!(
                "{dir} does not match the file name's {}-{}",
                name.distribution, name.version
            )),
        ));
    }
    Ok(dir)
}

/// Checks that RECORD lists every file member exactly once (but itself and signatures, which
/// carry no hash) and nothing else; returns the rows by path.
fn check_record_coverage(
    path: &Path,
    record_name: &str,
    signatures: &[String],
    members: &[MemberInfo],
    rows: Vec<RecordEntry>,
) -> Result<HashMap<String, RecordEntry>, WheelError> {
    let present: HashSet<&str> = members.iter().map(|m| m.name.as_str()).collect();
    let mut by_path = HashMap::with_capacity(rows.len());
    for (i, row) in rows.into_iter().enumerate() {
        let line = i + 1;
        let syntax = |message: String| {
            WheelError::member(
                path,
                record_name,
                WheelProblem::RecordSyntax { line, message },
            )
        };
        if row.path.ends_with('/') {
            return Err(syntax(format!("{:?} is a directory", row.path)));
        }
        if by_path.contains_key(&row.path) {
            return Err(syntax(format!("{:?} is listed twice", row.path)));
        }
        if !present.contains(row.path.as_str()) {
            return Err(WheelError::member(
                path,
                &row.path,
                WheelProblem::MissingFromArchive,
            ));
        }
        if row.path == record_name || signatures.contains(&row.path) {
            continue;
        }
        if !row.hash.starts_with("sha256=") {
            let problem = if row.hash.is_empty() {
                WheelProblem::NoHash
            } else {
                WheelProblem::RecordSyntax {
                    line,
                    message: format!(
                        "{:?}: hash {:?} is not sha256 (md5 and sha1 are not allowed)",
                        row.path, row.hash
                    ),
                }
            };
            return Err(WheelError::member(path, &row.path, problem));
        }
        by_path.insert(row.path.clone(), row);
    }
    for member in members {
        let exempt = member.name == record_name || signatures.contains(&member.name);
        if !exempt && !by_path.contains_key(&member.name) {
            return Err(WheelError::member(
                path,
                &member.name,
                WheelProblem::NotInRecord,
            ));
        }
    }
    Ok(by_path)
}

/// Checks the WHEEL file exists and has a supported `Wheel-Version` (major 1).
fn check_wheel_metadata(wheel: &InputWheel, members: &[MemberInfo]) -> Result<(), WheelError> {
    let wheel_name = format!("{}/WHEEL", wheel.dist_info);
    let metadata_name = format!("{}/METADATA", wheel.dist_info);
    let member = members
        .iter()
        .find(|m| m.name == wheel_name)
        .ok_or_else(|| {
            WheelError::member(
                &wheel.path,
                &wheel_name,
                WheelProblem::Metadata("the WHEEL file is missing".into()),
            )
        })?;
    if !members.iter().any(|m| m.name == metadata_name) {
        return Err(WheelError::member(
            &wheel.path,
            &metadata_name,
            WheelProblem::Metadata("the METADATA file is missing".into()),
        ));
    }
    let text = wheel.read_raw(member)?;
    let text = String::from_utf8_lossy(&text);
    let version = super::metadata::header_value(&text, "Wheel-Version").ok_or_else(|| {
        WheelError::member(
            &wheel.path,
            &wheel_name,
            WheelProblem::Metadata("WHEEL has no Wheel-Version".into()),
        )
    })?;
    if version.split('.').next() != Some("1") {
        return Err(WheelError::member(
            &wheel.path,
            &wheel_name,
            WheelProblem::Metadata(format!(
                "Wheel-Version {version} is not supported (only 1.x)"
            )),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_member_name;

    #[test]
    fn member_names() {
        assert!(check_member_name("pkg/mod.py").is_ok());
        assert!(check_member_name("pkg-1.0.data/scripts/tool").is_ok());
        for bad in [
            "",
            "/etc/passwd",
            "../x.py",
            "pkg/../../x",
            "pkg\\x.py",
            "pkg//x.py",
            "C:/x.py",
            "a/\u{0}b",
            "a/./b",
        ] {
            assert!(check_member_name(bad).is_err(), "{bad:?} accepted");
        }
    }
}
