//! Opening and validating an input wheel (the binary distribution format: file name,
//! `.dist-info`, RECORD; and the zip rules of [`super::zipdir`]).
//!
//! [`InputWheel::open`] is the one validation every command shares (`instrument`, `verify`,
//! the Python API and the build backend), so they cannot disagree: it checks the structure
//! eagerly (regular file, file name, zip structure, member names, duplicates, symlinks,
//! compression, declared sizes against [`ReadLimits`], one `.dist-info`, one RECORD, RECORD
//! syntax, hashes and coverage) and notes an equip-wheel provenance file. Member contents are
//! checked when read ([`InputWheel::read_member`], [`InputWheel::check_member`]): inflated
//! as a stream that stops at the declared size, against the zip header's size and CRC-32
//! and RECORD's hash and size.

use std::collections::{HashMap, HashSet};
use std::io::{Cursor, Read};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use zip::ZipArchive;

use super::filename::{DistInfoName, FileNameError, WheelName};
use super::limits::{LimitError, ReadLimits};
use super::provenance::PROVENANCE_FILE;
use super::record::{
    RecordEntry, RecordFieldError, RecordHash, RecordRow, parse_record, parse_size,
};
use super::zipdir::{self, FLAG_ENCRYPTED, FLAG_STRONG_ENCRYPTION, ZipEntry};
use crate::error::{Error, WheelError, WheelProblem};
use crate::escape;
use crate::files::{ReadFileError, read_regular_file};

/// Signature files that RECORD may be accompanied by (PEP 491); dropped on output.
pub const SIGNATURE_FILES: [&str; 2] = ["RECORD.jws", "RECORD.p7s"];

const S_IFMT: u32 = 0o170000;
const S_IFLNK: u32 = 0o120000;

/// Content is inflated and hashed in chunks of this many bytes.
const CHUNK: usize = 64 * 1024;

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
    /// Uncompressed size in bytes, as the central directory declares it (reading checks it).
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
    /// CRC-32 of the content, as the central directory declares it.
    pub crc32: u32,
    /// Byte range of the (compressed) data in the wheel file.
    pub data: Range<u64>,
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
    /// RECORD rows of the file members by path (each with its hash and size).
    record: HashMap<String, RecordEntry>,
    /// The signature files present (dropped on output).
    pub signatures: Vec<String>,
    /// The equip-wheel provenance member, when the wheel was already instrumented.
    pub provenance: Option<String>,
    archive: Archive,
    bytes: SharedBytes,
}

impl InputWheel {
    /// Reads and validates the wheel at `path`, refusing declared sizes past `limits`.
    ///
    /// Errors ([`Error::Wheel`]) name the wheel and the offending member: not a regular file,
    /// a bad file name, not a zip or an inconsistent one (see [`zipdir`]), unsafe or
    /// duplicate names, symlinks, compression other than stored/deflate, encryption, a size
    /// or ratio past `limits`, not exactly one `.dist-info`, RECORD missing, doubled,
    /// malformed, using a hash weaker than sha256, or not covering the archive.
    ///
    /// A file that is missing or cannot be read is [`Error::Io`] (reported before the file
    /// name is checked: "no such file" is the more useful message).
    pub fn open(path: &Path, limits: &ReadLimits) -> Result<Self, Error> {
        let err = |problem| WheelError::new(path, problem);
        std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
        wheel_name(path).map_err(err)?;
        // A wheel is at most its members plus headers: twice the total limit is generous.
        let bytes = read_regular_file(path, Some(limits.max_total_size.saturating_mul(2)))
            .map_err(|e| match e {
                ReadFileError::NotRegular(kind) => err(WheelProblem::NotARegularFile(kind)).into(),
                ReadFileError::TooLarge { size, limit } => {
                    err(WheelProblem::LimitExceeded(LimitError::WheelFile {
                        size,
                        limit,
                    }))
                    .into()
                }
                ReadFileError::Io(e) => Error::io(path, e),
            })?;
        Ok(Self::from_bytes(path, bytes, limits)?)
    }

    /// Validates the wheel whose file content is `bytes`, as [`InputWheel::open`] does after
    /// reading the file; `path` names it (its file name must be a wheel name) in messages.
    pub fn from_bytes(
        path: &Path,
        bytes: Vec<u8>,
        limits: &ReadLimits,
    ) -> Result<Self, WheelError> {
        let err = |problem| WheelError::new(path, problem);
        let name = wheel_name(path).map_err(err)?;
        let entries = zipdir::read_entries(&bytes).map_err(|(member, problem)| match member {
            Some(m) => WheelError::member(path, m, problem),
            None => err(problem),
        })?;
        let names = check_names(path, &entries)?;
        let handle = SharedBytes(Arc::new(bytes));
        let archive = ZipArchive::new(Cursor::new(handle.clone()))
            .map_err(|e| err(WheelProblem::NotAZip(e.to_string())))?;
        let members = scan_members(path, &archive, &entries, &names, limits)?;
        let dist_info = find_dist_info(path, &name, &members)?;
        let record_name = format!("{dist_info}/RECORD");
        check_single_record(path, &dist_info, &members)?;
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
        };
        let record_bytes = wheel.read_member(record_member)?;
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

    /// The `.data` directory name that goes with the `.dist-info` (`{name}-{version}.data`),
    /// whether or not the wheel has one.
    pub fn data_dir(&self) -> String {
        DistInfoName::parse(&self.dist_info)
            .expect("the dist-info name is checked when the wheel is opened")
            .data_dir()
    }

    /// The RECORD path, `<dist-info>/RECORD`.
    pub fn record_path(&self) -> String {
        format!("{}/RECORD", self.dist_info)
    }

    /// The RECORD row for `name`, if any.
    pub fn record_entry(&self, name: &str) -> Option<&RecordEntry> {
        self.record.get(name)
    }

    /// Reads a member's uncompressed content, checked as by [`InputWheel::check_member`].
    /// Memory: the declared size (already within the read limits), allocated once.
    ///
    /// May be called from several threads.
    pub fn read_member(&self, member: &MemberInfo) -> Result<Vec<u8>, WheelError> {
        let mut data = Vec::with_capacity(usize::try_from(member.size).unwrap_or(0));
        self.stream_member(member, &mut |chunk| data.extend_from_slice(chunk))?;
        Ok(data)
    }

    /// Checks a member's content without keeping it: inflates it in 64 KiB chunks,
    /// refusing more bytes than the zip header declares as soon as they appear, then checks
    /// the size and CRC-32 the zip header declares and, when RECORD lists the member, its
    /// hash and size. Memory: one chunk.
    pub fn check_member(&self, member: &MemberInfo) -> Result<(), WheelError> {
        self.stream_member(member, &mut |_| {})
    }

    fn stream_member(
        &self,
        member: &MemberInfo,
        sink: &mut dyn FnMut(&[u8]),
    ) -> Result<(), WheelError> {
        let fail = |problem| WheelError::member(&self.path, &member.name, problem);
        let corrupt = |m: String| fail(WheelProblem::CorruptMember(m));
        let recorded = self.record.get(&member.name);
        let mut check = ContentCheck {
            declared: member.size,
            seen: 0,
            crc: crc32fast::Hasher::new(),
            hasher: recorded
                .and_then(|r| r.hash.as_ref())
                .map(|h| h.algorithm.hasher()),
        };
        let raw = usize::try_from(member.data.start)
            .ok()
            .zip(usize::try_from(member.data.end).ok())
            .and_then(|(start, end)| self.bytes.as_ref().get(start..end))
            .ok_or_else(|| corrupt("data range outside the file".into()))?;
        if member.deflated {
            let mut decoder = flate2::read::DeflateDecoder::new(raw);
            let mut buf = vec![0u8; CHUNK];
            loop {
                let n = decoder
                    .read(&mut buf)
                    .map_err(|e| corrupt(format!("invalid deflate data: {e}")))?;
                if n == 0 {
                    break;
                }
                check.feed(&buf[..n]).map_err(|e| corrupt(e.to_string()))?;
                sink(&buf[..n]);
            }
        } else {
            for chunk in raw.chunks(CHUNK) {
                check.feed(chunk).map_err(|e| corrupt(e.to_string()))?;
                sink(chunk);
            }
        }
        if check.seen != member.size {
            return Err(corrupt(format!(
                "the zip header declares {} bytes, the data has {}",
                member.size, check.seen
            )));
        }
        let crc = check.crc.finalize();
        if crc != member.crc32 {
            return Err(corrupt(format!(
                "CRC-32 mismatch: the zip header says {:08x}, the data has {crc:08x}",
                member.crc32
            )));
        }
        let (Some(recorded), Some(hasher)) = (recorded, check.hasher) else {
            // RECORD itself and signatures have no hash row; coverage was checked at open.
            return Ok(());
        };
        let (Some(expected), Some(size)) = (&recorded.hash, recorded.size) else {
            // Every row kept at open carries both (see `check_record_coverage`).
            return Ok(());
        };
        let actual = RecordHash {
            algorithm: expected.algorithm,
            digest: hasher.finish(),
        };
        if actual != *expected {
            return Err(fail(WheelProblem::HashMismatch {
                expected: expected.to_string(),
                actual: actual.to_string(),
            }));
        }
        if size != check.seen {
            return Err(fail(WheelProblem::SizeMismatch {
                expected: size,
                actual: check.seen,
            }));
        }
        Ok(())
    }
}

/// The wheel name of `path`'s file name (binary distribution format).
fn wheel_name(path: &Path) -> Result<WheelName, WheelProblem> {
    let file_name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| FileNameError::NotUtf8(escape::path(path)))?;
    Ok(WheelName::parse(file_name)?)
}

/// A member's content is longer than its zip header declares.
#[derive(Debug, thiserror::Error)]
#[error("the data inflates to more than the {declared} bytes the zip header declares")]
struct InflatesPastHeader {
    /// The uncompressed size the zip header declares, in bytes.
    declared: u64,
}

/// The running checks over a member's content as it is inflated.
struct ContentCheck {
    declared: u64,
    seen: u64,
    crc: crc32fast::Hasher,
    hasher: Option<super::record::RecordHasher>,
}

impl ContentCheck {
    /// Takes the next chunk; errors as soon as the content exceeds the declared size.
    fn feed(&mut self, chunk: &[u8]) -> Result<(), InflatesPastHeader> {
        self.seen += chunk.len() as u64;
        if self.seen > self.declared {
            return Err(InflatesPastHeader {
                declared: self.declared,
            });
        }
        self.crc.update(chunk);
        if let Some(h) = &mut self.hasher {
            h.update(chunk);
        }
        Ok(())
    }
}

/// Checks every entry's name (UTF-8, [`check_member_name`]) and that no name appears twice;
/// returns the names in central-directory order.
fn check_names(path: &Path, entries: &[ZipEntry]) -> Result<Vec<String>, WheelError> {
    let mut seen = HashSet::with_capacity(entries.len());
    let mut names = Vec::with_capacity(entries.len());
    for entry in entries {
        let name = std::str::from_utf8(&entry.name).map_err(|_| {
            WheelError::new(
                path,
                WheelProblem::UnsafeName(format!(
                    "{} is not valid UTF-8",
                    escape::quoted_bytes(&entry.name)
                )),
            )
        })?;
        if let Err(why) = check_member_name(name) {
            return Err(WheelError::new(
                path,
                WheelProblem::UnsafeName(format!("{}: {why}", escape::quoted(name))),
            ));
        }
        if !seen.insert(name) {
            return Err(WheelError::member(path, name, WheelProblem::DuplicateName));
        }
        names.push(name.to_string());
    }
    Ok(names)
}

/// Validates every central-directory entry and returns the file members.
fn scan_members(
    path: &Path,
    archive: &Archive,
    entries: &[ZipEntry],
    names: &[String],
    limits: &ReadLimits,
) -> Result<Vec<MemberInfo>, WheelError> {
    if archive.len() != entries.len() {
        return Err(WheelError::new(
            path,
            WheelProblem::NotAZip(format!(
                "the zip reader sees {} entries, the central directory holds {}",
                archive.len(),
                entries.len()
            )),
        ));
    }
    let mut members = Vec::with_capacity(archive.len());
    let mut total: u64 = 0;
    for (index, (zipped, name)) in entries.iter().zip(names).enumerate() {
        let entry = archive
            .by_index_data(index)
            .map_err(|e| WheelError::new(path, WheelProblem::NotAZip(e.to_string())))?;
        let member_err = |problem| WheelError::member(path, name.as_str(), problem);
        if entry.name_raw() != zipped.name.as_slice() {
            return Err(member_err(WheelProblem::NotAZip(
                "the zip reader and the central directory disagree on the entry order".into(),
            )));
        }
        let mode = entry.unix_mode();
        if mode.is_some_and(|m| m & S_IFMT == S_IFLNK) {
            return Err(member_err(WheelProblem::Symlink));
        }
        if zipped.flags & (FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION) != 0 || entry.encrypted() {
            return Err(member_err(WheelProblem::Encrypted));
        }
        if name.ends_with('/') {
            if zipped.size != 0 || zipped.compressed_size > 2 {
                return Err(member_err(WheelProblem::CorruptMember(format!(
                    "a directory entry carrying {} bytes of data",
                    zipped.size.max(zipped.compressed_size)
                ))));
            }
            continue;
        }
        let deflated = match zipped.method {
            0 => false,
            8 => true,
            _ => {
                return Err(member_err(WheelProblem::UnsupportedCompression(format!(
                    "{:?}",
                    entry.compression()
                ))));
            }
        };
        limits
            .check_member(zipped.size, zipped.compressed_size)
            .map_err(|e| member_err(WheelProblem::LimitExceeded(e)))?;
        total = total.saturating_add(zipped.size);
        members.push(MemberInfo {
            name: name.clone(),
            index,
            size: zipped.size,
            permissions: mode.map(|m| m & 0o7777),
            deflated,
            modified: entry.last_modified().unwrap_or_default(),
            plain_headers: false,
            crc32: zipped.crc32,
            data: zipped.data.clone(),
        });
    }
    limits
        .check_total(total)
        .map_err(|e| WheelError::new(path, WheelProblem::LimitExceeded(e)))?;
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

/// Refuses a second RECORD in `.dist-info` whose name differs only in case: installers on
/// case-insensitive file systems would write one over the other.
fn check_single_record(
    path: &Path,
    dist_info: &str,
    members: &[MemberInfo],
) -> Result<(), WheelError> {
    let prefix = format!("{dist_info}/");
    for m in members {
        if let Some(file) = m.name.strip_prefix(&prefix)
            && file != "RECORD"
            && file.eq_ignore_ascii_case("RECORD")
        {
            return Err(WheelError::member(
                path,
                &m.name,
                WheelProblem::Metadata(
                    "a second RECORD file (its name differs from RECORD only in case)".into(),
                ),
            ));
        }
    }
    Ok(())
}

/// Rejects names that could escape the install directory or confuse installers:
/// absolute paths, `..`/`.`/empty segments, backslashes, control characters, drive letters
/// (`C:/x`, and the drive-relative `C:x`) and any other `:` (an NTFS alternate data stream
/// on Windows, where a wheel must install too).
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
    let bytes = name.as_bytes();
    if bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' {
        return Err("drive letter");
    }
    if name.contains(':') {
        return Err("':' in name (a drive or an alternate data stream on Windows)");
    }
    let trimmed = name.strip_suffix('/').unwrap_or(name);
    for segment in trimmed.split('/') {
        match segment {
            "" => return Err("empty path segment"),
            "." | ".." => return Err("'.' or '..' path segment"),
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
                    escape::escape(&many.join(", "))
                )),
            ));
        }
    };
    if !DistInfoName::parse(&dir).is_some_and(|d| d.matches(name)) {
        return Err(WheelError::new(
            path,
            WheelProblem::DistInfo(format!(
                "{} does not match the file name's {}-{}",
                escape::escape(&dir),
                name.distribution,
                name.version
            )),
        ));
    }
    Ok(dir)
}

/// Checks that RECORD lists every file member exactly once (but itself and signatures, which
/// carry no hash) and nothing else, each with a hash of sha256 or better and a decimal
/// size; returns the rows by path.
fn check_record_coverage(
    path: &Path,
    record_name: &str,
    signatures: &[String],
    members: &[MemberInfo],
    rows: Vec<RecordRow>,
) -> Result<HashMap<String, RecordEntry>, WheelError> {
    let present: HashSet<&str> = members.iter().map(|m| m.name.as_str()).collect();
    let mut by_path = HashMap::with_capacity(rows.len());
    let mut exempt_rows = HashSet::new();
    for (i, row) in rows.into_iter().enumerate() {
        let line = crate::line::LineNumber::from_zero_indexed(i);
        let syntax = |message: String| {
            WheelError::member(
                path,
                record_name,
                WheelProblem::RecordSyntax { line, message },
            )
        };
        if row.path.ends_with('/') {
            return Err(syntax(format!(
                "{} is a directory",
                escape::quoted(&row.path)
            )));
        }
        if by_path.contains_key(&row.path) || exempt_rows.contains(&row.path) {
            return Err(syntax(format!(
                "{} is listed twice",
                escape::quoted(&row.path)
            )));
        }
        if !present.contains(row.path.as_str()) {
            return Err(WheelError::member(
                path,
                &row.path,
                WheelProblem::MissingFromArchive,
            ));
        }
        if row.path == record_name && !row.is_bare() {
            return Err(syntax(format!(
                "RECORD's own row {} must have neither a hash nor a size",
                escape::quoted(&row.path)
            )));
        }
        if row.path == record_name || signatures.contains(&row.path) {
            exempt_rows.insert(row.path);
            continue;
        }
        if row.hash.is_empty() {
            return Err(WheelError::member(path, &row.path, WheelProblem::NoHash));
        }
        let in_row = |e: RecordFieldError| {
            WheelError::member(
                path,
                &row.path,
                WheelProblem::RecordSyntax {
                    line,
                    message: e.to_string(),
                },
            )
        };
        let hash = RecordHash::parse(&row.hash).map_err(in_row)?;
        let size = parse_size(&row.size).map_err(in_row)?;
        by_path.insert(
            row.path.clone(),
            RecordEntry {
                path: row.path,
                hash: Some(hash),
                size: Some(size),
            },
        );
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
    let text = wheel.read_member(member)?;
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
                "Wheel-Version {} is not supported (only 1.x)",
                escape::quoted(version)
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
            "C:evil.py",
            "c:",
            "pkg/a:b.py",
            "a/\u{0}b",
            "a/./b",
        ] {
            assert!(check_member_name(bad).is_err(), "{bad:?} accepted");
        }
    }
}
