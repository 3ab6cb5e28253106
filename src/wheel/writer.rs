//! Writing the output wheel deterministically (README.md, "The output wheel"):
//! members sorted by name with `.dist-info/` last and RECORD the very last member,
//! timestamps from `SOURCE_DATE_EPOCH` or from the input, permissions kept, unchanged
//! members copied raw, new content deflated in parallel, RECORD regenerated.
//!
//! The file is written where nobody can see it and gets its name only once it is complete
//! (see [`write_wheel`]): an error, a cancellation or a killed process leaves either no
//! output or the complete one, never a partial file.

use std::cell::Cell;
use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};
use std::path::Path;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rayon::prelude::*;
use sha2::{Digest, Sha256};
use zip::write::{PreparedZipFile, SimpleFileOptions};
use zip::{CompressionMethod, ZipWriter};

use super::limits::ReadLimits;
use super::reader::InputWheel;
use super::record::{RecordHash, write_record};
use crate::error::Error;

/// Where an output member's bytes come from.
pub enum Content {
    /// The input member at this central-directory index, copied without recompressing.
    Raw {
        /// Index in the input archive.
        index: usize,
        /// Its RECORD hash (already verified against the content).
        hash: RecordHash,
        /// Its uncompressed size in bytes.
        size: u64,
    },
    /// New content, deflated on output.
    Bytes(Vec<u8>),
    /// New content already deflated by [`deflate`]: a caller that transforms members in
    /// parallel need not hold every member's uncompressed bytes until the end (peak memory).
    Deflated(Deflated),
}

/// A member deflated ahead of [`write_wheel`], with its RECORD hash and size.
pub struct Deflated {
    file: PreparedZipFile,
    hash: RecordHash,
    size: u64,
}

/// Deflates `data` as member `name`, with the permissions and the timestamp it will have
/// (apply [`Timestamps`] first: `write_wheel` does not change a deflated member's time).
///
/// A member that deflates past the compression-ratio limit readers apply
/// ([`ReadLimits::max_ratio`] of the environment, see [`ReadLimits::from_env`]) is stored
/// uncompressed instead, so that equip-wheel never writes a wheel its own reader refuses
/// as a decompression bomb.
pub fn deflate(
    name: &str,
    data: &[u8],
    permissions: u32,
    modified: zip::DateTime,
) -> Result<Deflated, zip::result::ZipError> {
    let limits = ReadLimits::from_env().unwrap_or_default();
    deflate_within(name, data, permissions, modified, &limits)
}

/// [`deflate`] under explicit `limits` (those the input was read with, so that both sides of
/// a run agree): the member is stored uncompressed when deflating it would exceed `limits`'
/// compression ratio.
pub fn deflate_within(
    name: &str,
    data: &[u8],
    permissions: u32,
    modified: zip::DateTime,
    limits: &ReadLimits,
) -> Result<Deflated, zip::result::ZipError> {
    let options = SimpleFileOptions::default()
        .last_modified_time(modified)
        .unix_permissions(permissions);
    let mut file = PreparedZipFile::from_data(
        name,
        options.compression_method(CompressionMethod::Deflated),
        data,
    )?;
    if limits.ratio_exceeded(file.uncompressed_size(), file.compressed_size()) {
        file = PreparedZipFile::from_data(
            name,
            options.compression_method(CompressionMethod::Stored),
            data,
        )?;
    }
    Ok(Deflated {
        file,
        hash: RecordHash::sha256(data),
        size: data.len() as u64,
    })
}

impl Timestamps {
    /// The time a member modified at `modified` gets in the output.
    pub fn apply(self, modified: zip::DateTime) -> zip::DateTime {
        match self {
            Timestamps::Fixed(t) => t,
            Timestamps::PerMember => modified,
        }
    }
}

/// One member of the output wheel.
pub struct OutputMember {
    /// The archive name.
    pub name: String,
    /// Its content.
    pub content: Content,
    /// Unix permission bits, e.g. `0o644` or `0o755`.
    pub permissions: u32,
    /// The zip timestamp to record (before `SOURCE_DATE_EPOCH` is applied).
    pub modified: zip::DateTime,
}

/// The timestamp policy of the output.
#[derive(Debug, Clone, Copy)]
pub enum Timestamps {
    /// Every member gets this time (from `SOURCE_DATE_EPOCH`, clamped to 1980..=2107).
    Fixed(zip::DateTime),
    /// Each member keeps the time given in its [`OutputMember`].
    PerMember,
}

impl Timestamps {
    /// `Fixed` when `SOURCE_DATE_EPOCH` is set to an integer, else `PerMember`.
    ///
    /// Errors when the variable is set but is not an integer number of seconds.
    pub fn from_env() -> Result<Self, SourceDateEpochError> {
        match std::env::var("SOURCE_DATE_EPOCH") {
            Ok(v) if !v.trim().is_empty() => {
                let secs: i64 = v
                    .trim()
                    .parse()
                    .map_err(|source| SourceDateEpochError { value: v, source })?;
                Ok(Timestamps::Fixed(zip_time_from_unix(secs)))
            }
            _ => Ok(Timestamps::PerMember),
        }
    }
}

/// `SOURCE_DATE_EPOCH` is set to something other than an integer number of seconds.
#[derive(Debug, thiserror::Error)]
#[error("SOURCE_DATE_EPOCH={value:?} is not an integer number of seconds")]
pub struct SourceDateEpochError {
    /// The variable's value.
    pub value: String,
    /// Why it does not parse.
    #[source]
    pub source: std::num::ParseIntError,
}

/// Converts Unix seconds to a zip (DOS) timestamp, clamped to the representable range
/// 1980-01-01 ..= 2107-12-31; DOS time keeps even seconds only.
pub fn zip_time_from_unix(secs: i64) -> zip::DateTime {
    const MIN: i64 = 315_532_800; // 1980-01-01T00:00:00Z
    const MAX: i64 = 4_354_819_198; // 2107-12-31T23:59:58Z
    let clamped = secs.clamp(MIN, MAX);
    let t =
        time::OffsetDateTime::from_unix_timestamp(clamped).expect("clamped timestamp is in range");
    zip::DateTime::try_from(time::PrimitiveDateTime::new(t.date(), t.time())).unwrap_or_default()
}

/// Orders members as wheels are written: everything outside `.dist-info/` by name, then the
/// `.dist-info/` members by name, RECORD last.
fn sort_key<'a>(name: &'a str, dist_info: &str, record: &str) -> (u8, &'a str) {
    if name == record {
        (2, name)
    } else if name.starts_with(dist_info) && name[dist_info.len()..].starts_with('/') {
        (1, name)
    } else {
        (0, name)
    }
}

/// How [`write_wheel`] creates the output file.
#[derive(Debug, Default, Clone, Copy)]
pub struct WriteOptions<'a> {
    /// Unix mode bits of the output file, e.g. `0o644` (an in-place rewrite keeps the
    /// input's). `None`: those of any new file, `0o666` less the process umask (`0o644`
    /// under umask `022`, `0o600` under `077`).
    pub mode: Option<u32>,
    /// Checked between members and once more just before the output gets its name: once
    /// set, the output is discarded and [`Error::Interrupted`] returned.
    pub cancel: Option<&'a AtomicBool>,
}

impl WriteOptions<'_> {
    fn cancelled(&self) -> bool {
        self.cancel.is_some_and(|c| c.load(Ordering::SeqCst))
    }
}

/// Writes `members` plus a regenerated RECORD to `dest`, atomically.
///
/// `dist_info` is the output `.dist-info` directory name. The wheel is written to a file
/// without a name in `dest`'s directory (Linux `O_TMPFILE`), fsynced, and then linked as
/// `dest`; an existing `dest` is replaced by a rename. Until that moment no file is visible:
/// an error, a cancellation through `options.cancel` and even a killed process leave `dest`
/// as it was. Where the file system has no unnamed files, a hidden, locked
/// `.equip-wheel-*.whl.part` file is used instead; one left by a killed process is removed
/// by the next write to the same directory.
///
/// Returns the sha256 (hex) of the written wheel. Errors: [`Error::Io`] naming `dest` (one
/// line, e.g. "No space left on device"), [`Error::Interrupted`] when cancelled.
pub fn write_wheel(
    input: &InputWheel,
    mut members: Vec<OutputMember>,
    dist_info: &str,
    dest: &Path,
    timestamps: Timestamps,
    options: &WriteOptions<'_>,
) -> Result<String, Error> {
    let record_name = format!("{dist_info}/RECORD");
    members.retain(|m| m.name != record_name);
    members.sort_by(|a, b| {
        sort_key(&a.name, dist_info, &record_name).cmp(&sort_key(&b.name, dist_info, &record_name))
    });
    let time_of = |m: &OutputMember| timestamps.apply(m.modified);

    // Deflate new content in parallel; RECORD rows come from the same bytes.
    members.par_iter_mut().try_for_each(|m| {
        if options.cancelled() {
            return Err(Error::Interrupted);
        }
        if let Content::Bytes(data) = &m.content {
            let d = deflate(&m.name, data, m.permissions, time_of(m))
                .map_err(|e| zip_error(dest, e))?;
            m.content = Content::Deflated(d);
        }
        Ok::<_, Error>(())
    })?;

    let record = write_record_rows(&members, &record_name);

    let dir = dest
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let staged = Staged::create(dir, options.mode).map_err(|e| Error::io(dir, e))?;
    let state = Rc::new(SinkState::default());
    let zip = ZipWriter::new(io::BufWriter::new(Sink::new(&staged.file, state.clone())));
    let record_time = match timestamps {
        Timestamps::Fixed(t) => t,
        Timestamps::PerMember => members.iter().map(|m| m.modified).max().unwrap_or_default(),
    };
    let record = (record_name.as_str(), record.as_slice(), record_time);
    write_archive(zip, &state, input, members, record, &time_of, dest, options)?;
    staged.file.sync_all().map_err(|e| Error::io(dest, e))?;
    let digest = staged.sha256().map_err(|e| Error::io(dest, e))?;
    if options.cancelled() {
        return Err(Error::Interrupted);
    }
    staged.commit(dest).map_err(|e| Error::io(dest, e))?;
    // Make the new name durable too (best effort: not every file system can sync a directory).
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(digest)
}

/// Writes the members and RECORD into `zip` and finishes it. The file's own errors (a
/// full disk) are recorded by the [`Sink`] and returned once seen, as one [`Error::Io`].
#[allow(clippy::too_many_arguments)]
fn write_archive(
    mut zip: ZipWriter<io::BufWriter<Sink<&File>>>,
    state: &SinkState,
    input: &InputWheel,
    members: Vec<OutputMember>,
    (record_name, record, record_time): (&str, &[u8], zip::DateTime),
    time_of: &dyn Fn(&OutputMember) -> zip::DateTime,
    dest: &Path,
    options: &WriteOptions<'_>,
) -> Result<(), Error> {
    // Dropped before `zip` on every return: an unfinished archive is then finished (as
    // dropping a ZipWriter does) into nothing.
    let _abandon = Abandon(state);
    let failed = || state.error.take().map(|e| Error::io(dest, e));
    let mut archive = input.archive();
    for member in members {
        if options.cancelled() {
            return Err(Error::Interrupted);
        }
        if let Some(e) = failed() {
            return Err(e);
        }
        let time = time_of(&member);
        match member.content {
            Content::Raw { index, .. } => {
                let file = archive
                    .by_index_raw(index)
                    .map_err(|e| zip_error(dest, e))?;
                zip.raw_copy_file_touch(file, time, Some(member.permissions))
                    .map_err(|e| zip_error(dest, e))?;
            }
            Content::Deflated(Deflated { file, .. }) => {
                zip.add_prepared_file(file)
                    .map_err(|e| zip_error(dest, e))?;
            }
            Content::Bytes(_) => unreachable!("every Bytes member was deflated above"),
        }
    }
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .last_modified_time(record_time)
        .unix_permissions(0o644);
    zip.start_file(record_name, options)
        .map_err(|e| zip_error(dest, e))?;
    zip.write_all(record).map_err(|e| Error::io(dest, e))?;
    let buffered = zip.finish().map_err(|e| zip_error(dest, e))?;
    buffered
        .into_inner()
        .map_err(|e| Error::io(dest, e.into_error()))?;
    match failed() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// What a [`Sink`] has seen: the first error of the file, and whether the archive was
/// abandoned.
#[derive(Default)]
struct SinkState {
    error: Cell<Option<io::Error>>,
    /// Set once an error was seen or the write was abandoned: nothing more is written.
    stopped: Cell<bool>,
}

/// Sets [`SinkState::stopped`] when dropped.
struct Abandon<'a>(&'a SinkState);

impl Drop for Abandon<'_> {
    fn drop(&mut self) {
        self.0.stopped.set(true);
    }
}

/// What [`ZipWriter`] writes to: the staged output. Its first error is recorded in the
/// [`SinkState`] rather than returned, and from then on (or once abandoned) it writes
/// nothing and only tracks the position and length the file would have. The zip writer
/// thus never sees a failure (whose state after one is not specified, and whose `Drop`
/// prints it): the caller checks the state between members and at the end.
struct Sink<W> {
    file: W,
    state: Rc<SinkState>,
    position: u64,
    len: u64,
}

impl<W> Sink<W> {
    fn new(file: W, state: Rc<SinkState>) -> Self {
        Sink {
            file,
            state,
            position: 0,
            len: 0,
        }
    }

    fn moved_to(&mut self, position: u64) {
        self.position = position;
        self.len = self.len.max(position);
    }

    fn record(&self, e: io::Error) {
        self.state.stopped.set(true);
        self.state.error.set(Some(e));
    }
}

impl<W: Write> Write for Sink<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = match self.state.stopped.get() {
            true => buf.len(),
            false => self.file.write(buf).unwrap_or_else(|e| {
                self.record(e);
                buf.len()
            }),
        };
        self.moved_to(self.position + n as u64);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.state.stopped.get()
            && let Err(e) = self.file.flush()
        {
            self.record(e);
        }
        Ok(())
    }
}

impl<W: Seek> Seek for Sink<W> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        if !self.state.stopped.get() {
            match self.file.seek(pos) {
                Ok(p) => {
                    self.moved_to(p);
                    return Ok(p);
                }
                Err(e) => self.record(e),
            }
        }
        let offset = |base: u64, delta: i64| {
            base.checked_add_signed(delta)
                .ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))
        };
        let position = match pos {
            SeekFrom::Start(p) => p,
            SeekFrom::Current(d) => offset(self.position, d)?,
            SeekFrom::End(d) => offset(self.len, d)?,
        };
        self.moved_to(position);
        Ok(position)
    }
}

/// Name prefix and suffix of the hidden files [`Staged`] falls back to (and of the brief
/// hard link an existing output is replaced through).
const STAGED_PREFIX: &str = ".equip-wheel-";
const STAGED_SUFFIX: &str = ".whl.part";

/// A staged file this old that is empty and not locked is left over from a killed process
/// (a live writer locks its file right after creating it, before writing anything).
const STALE_EMPTY_AGE: Duration = Duration::from_secs(60);

/// The output wheel while it is written. Dropping it before [`Staged::commit`] removes it.
struct Staged {
    file: File,
    /// The hidden path of a named staged file; `None` for an unnamed one.
    path: Option<tempfile::TempPath>,
}

impl Staged {
    /// Creates the staged file in `dir`, with `mode` (see [`WriteOptions::mode`]), locked
    /// (`flock`) for as long as this process has it open.
    fn create(dir: &Path, mode: Option<u32>) -> io::Result<Staged> {
        sweep_stale(dir);
        #[cfg(target_os = "linux")]
        if let Some(file) = unnamed::open(dir) {
            let staged = Staged { file, path: None };
            staged.file.lock()?;
            staged.set_mode(mode)?;
            return Ok(staged);
        }
        let mut builder = tempfile::Builder::new();
        builder.prefix(STAGED_PREFIX).suffix(STAGED_SUFFIX);
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
        let (file, path) = builder.tempfile_in(dir)?.into_parts();
        let staged = Staged {
            file,
            path: Some(path),
        };
        staged.file.lock()?;
        staged.set_mode(mode)?;
        Ok(staged)
    }

    fn set_mode(&self, mode: Option<u32>) -> io::Result<()> {
        #[cfg(unix)]
        if let Some(mode) = mode {
            use std::os::unix::fs::PermissionsExt;
            self.file
                .set_permissions(std::fs::Permissions::from_mode(mode & 0o7777))?;
        }
        #[cfg(not(unix))]
        let _ = mode;
        Ok(())
    }

    /// sha256 (hex) of the whole file, read back from disk.
    fn sha256(&self) -> io::Result<String> {
        let mut reader = &self.file;
        reader.seek(SeekFrom::Start(0))?;
        let mut hasher = Sha256::new();
        io::copy(&mut reader, &mut hasher)?;
        Ok(hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect())
    }

    /// Gives the file its final name `dest`, replacing an existing file there.
    fn commit(self, dest: &Path) -> io::Result<()> {
        match self.path {
            Some(path) => path.persist(dest).map_err(|e| e.error),
            #[cfg(target_os = "linux")]
            None => unnamed::link(&self.file, dest),
            #[cfg(not(target_os = "linux"))]
            None => unreachable!("unnamed files exist on Linux only"),
        }
    }
}

/// Removes the hidden staged files in `dir` that a killed process left: those nobody holds
/// a lock on, unless empty and recent (a writer that has created its file but not locked it
/// yet). Best effort: errors are ignored.
fn sweep_stale(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let staged = name.starts_with(STAGED_PREFIX) && name.ends_with(STAGED_SUFFIX);
        if !(staged && entry.file_type().is_ok_and(|t| t.is_file())) {
            continue;
        }
        let path = entry.path();
        let Ok(file) = File::open(&path) else {
            continue;
        };
        let Ok(meta) = file.metadata() else { continue };
        let recent = meta
            .modified()
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_none_or(|age| age < STALE_EMPTY_AGE);
        if (meta.len() == 0 && recent) || file.try_lock().is_err() {
            continue;
        }
        let _ = std::fs::remove_file(&path);
    }
}

/// Unnamed files (Linux `O_TMPFILE`): they get a name only when linked.
#[cfg(target_os = "linux")]
mod unnamed {
    use std::fs::File;
    use std::io;
    use std::os::fd::AsRawFd;
    use std::path::Path;

    use rustix::fs::{AtFlags, CWD, Mode, OFlags};

    /// Opens an unnamed file for reading and writing in `dir`, mode `0o666` less the umask;
    /// `None` where the file system (or kernel) cannot, or `/proc/self/fd` (needed to link
    /// it) is missing.
    pub(super) fn open(dir: &Path) -> Option<File> {
        if !Path::new("/proc/self/fd").is_dir() {
            return None;
        }
        let flags = OFlags::TMPFILE | OFlags::RDWR | OFlags::CLOEXEC;
        let fd = rustix::fs::open(dir, flags, Mode::from_raw_mode(0o666)).ok()?;
        Some(File::from(fd))
    }

    /// Links `file` as `dest`. An existing `dest` is replaced: the file is first linked
    /// under a hidden name next to it, then renamed over it.
    pub(super) fn link(file: &File, dest: &Path) -> io::Result<()> {
        match link_as(file, dest) {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            other => return other,
        }
        let dir = dest
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let hidden = tempfile::Builder::new()
            .prefix(super::STAGED_PREFIX)
            .suffix(super::STAGED_SUFFIX)
            .make_in(dir, |path| link_as(file, path))?;
        hidden.into_temp_path().persist(dest).map_err(|e| e.error)
    }

    fn link_as(file: &File, path: &Path) -> io::Result<()> {
        let source = format!("/proc/self/fd/{}", file.as_raw_fd());
        rustix::fs::linkat(CWD, source.as_str(), CWD, path, AtFlags::SYMLINK_FOLLOW)
            .map_err(io::Error::from)
    }
}

/// RECORD for the sorted members (new content already deflated): every member's hash and
/// size, then RECORD's own row.
fn write_record_rows(members: &[OutputMember], record_name: &str) -> Vec<u8> {
    let rows = members.iter().map(|m| match &m.content {
        Content::Raw { hash, size, .. } => (m.name.as_str(), hash, *size),
        Content::Deflated(d) => (m.name.as_str(), &d.hash, d.size),
        Content::Bytes(_) => unreachable!("every Bytes member was deflated first"),
    });
    write_record(rows, record_name)
}

/// A zip error as an [`Error::Io`] about `dest`; an I/O error keeps its own message
/// ("No space left on device"), without the zip writer's wording around it.
fn zip_error(dest: &Path, e: zip::result::ZipError) -> Error {
    match e {
        zip::result::ZipError::Io(e) => Error::io(dest, e),
        other => Error::io(dest, io::Error::other(other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer whose every write fails once `limit` bytes were written (a full disk),
    /// counting the writes it was asked for after that.
    struct FullDisk {
        written: u64,
        limit: u64,
        position: u64,
        calls_after_full: Rc<Cell<usize>>,
    }

    impl Write for FullDisk {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.written + buf.len() as u64 > self.limit {
                self.calls_after_full.set(self.calls_after_full.get() + 1);
                return Err(io::Error::from_raw_os_error(28)); // ENOSPC
            }
            self.written += buf.len() as u64;
            self.position += buf.len() as u64;
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Seek for FullDisk {
        fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
            if let SeekFrom::Start(p) = pos {
                self.position = p;
            }
            Ok(self.position)
        }
    }

    #[test]
    fn a_full_disk_is_recorded_once_and_the_zip_writer_never_fails() {
        let calls = Rc::new(Cell::new(0));
        let state = Rc::new(SinkState::default());
        let disk = FullDisk {
            written: 0,
            limit: 1000,
            position: 0,
            calls_after_full: calls.clone(),
        };
        let mut zip = ZipWriter::new(Sink::new(disk, state.clone()));
        let options = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
        for i in 0..20 {
            zip.start_file(format!("m{i}"), options).unwrap();
            zip.write_all(&[b'x'; 100]).unwrap();
        }
        assert!(state.stopped.get());
        // Finishing, as dropping the writer does, succeeds (so `Drop` prints nothing) and
        // writes nothing more.
        zip.finish().unwrap();
        assert_eq!(
            calls.get(),
            1,
            "writes after the first failure reached the disk"
        );
        let error = state.error.take().expect("the error is kept");
        assert_eq!(error.raw_os_error(), Some(28));
        let message = Error::io("out.whl", error).to_string();
        assert!(
            message.starts_with("out.whl: No space left on device"),
            "{message}"
        );
        assert_eq!(message.lines().count(), 1, "{message}");
    }

    #[test]
    fn sweeps_only_staged_files_nobody_holds() {
        let dir = tempfile::tempdir().unwrap();
        let stale = dir.path().join(".equip-wheel-stale.whl.part");
        std::fs::write(&stale, b"PK half a wheel").unwrap();
        let held = dir.path().join(".equip-wheel-held.whl.part");
        std::fs::write(&held, b"PK being written").unwrap();
        let holder = File::open(&held).unwrap();
        holder.lock().unwrap();
        let fresh = dir.path().join(".equip-wheel-fresh.whl.part");
        std::fs::write(&fresh, b"").unwrap();
        let other = dir.path().join("other.whl.part");
        std::fs::write(&other, b"not ours").unwrap();

        sweep_stale(dir.path());
        assert!(!stale.exists(), "a file left by a killed writer is removed");
        assert!(held.exists(), "a file another writer holds is kept");
        assert!(
            fresh.exists(),
            "a just-created file, not locked yet, is kept"
        );
        assert!(other.exists(), "only our own staged files are touched");
        drop(holder);
        sweep_stale(dir.path());
        assert!(!held.exists());
    }

    #[cfg(unix)]
    #[test]
    fn staged_files_take_the_requested_mode_and_vanish_unless_committed() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out.whl");
        let staged = Staged::create(dir.path(), Some(0o640)).unwrap();
        (&staged.file).write_all(b"content").unwrap();
        drop(staged);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

        for existing in [false, true] {
            if existing {
                std::fs::write(&dest, b"old").unwrap();
            }
            let staged = Staged::create(dir.path(), Some(0o640)).unwrap();
            (&staged.file).write_all(b"new content").unwrap();
            staged.commit(&dest).unwrap();
            assert_eq!(std::fs::read(&dest).unwrap(), b"new content");
            let mode = std::fs::metadata(&dest).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o640);
            let names: Vec<_> = std::fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            assert_eq!(names, ["out.whl"]);
        }
    }

    /// Writes `member` alone into an in-memory zip and reads back its compression method,
    /// compressed size, uncompressed size and content.
    fn round_trip(member: Deflated) -> (CompressionMethod, u64, u64, Vec<u8>) {
        let mut zip = ZipWriter::new(io::Cursor::new(Vec::new()));
        zip.add_prepared_file(member.file).unwrap();
        let bytes = zip.finish().unwrap().into_inner();
        let mut archive = zip::ZipArchive::new(io::Cursor::new(bytes)).unwrap();
        let mut file = archive.by_index(0).unwrap();
        let mut content = Vec::new();
        io::Read::read_to_end(&mut file, &mut content).unwrap();
        (
            file.compression(),
            file.compressed_size(),
            file.size(),
            content,
        )
    }

    #[test]
    fn members_deflating_past_the_ratio_limit_are_stored() {
        let limits = ReadLimits::default();
        let time = zip_time_from_unix(0);
        // 8 MiB of one letter deflates about 1000:1, past the default 200:1.
        let repetitive = [
            b"def f():\n    return '".as_slice(),
            &[b'a'; 8 << 20],
            b"'\n",
        ]
        .concat();
        let d = deflate_within("demo/ok.py", &repetitive, 0o644, time, &limits).unwrap();
        assert_eq!(d.size, repetitive.len() as u64);
        let (method, compressed, size, content) = round_trip(d);
        assert_eq!(method, CompressionMethod::Stored);
        assert!(limits.check_member(size, compressed).is_ok());
        assert!(content == repetitive);
        // The same member under a limit it stays within is deflated.
        let lenient = ReadLimits {
            max_ratio: u64::MAX,
            ..limits
        };
        let d = deflate_within("demo/ok.py", &repetitive, 0o644, time, &lenient).unwrap();
        let (method, compressed, _, content) = round_trip(d);
        assert_eq!(method, CompressionMethod::Deflated);
        assert!(compressed < repetitive.len() as u64 / 200);
        assert!(content == repetitive);
        // Small members are never refused for their ratio and stay deflated.
        let small = vec![b'a'; 1 << 20];
        let (method, _, _, content) =
            round_trip(deflate_within("demo/small.py", &small, 0o644, time, &limits).unwrap());
        assert_eq!(method, CompressionMethod::Deflated);
        assert!(content == small);
    }

    #[test]
    fn clamps_timestamps_to_the_dos_range() {
        let t = zip_time_from_unix(0);
        assert_eq!((t.year(), t.month(), t.day()), (1980, 1, 1));
        let t = zip_time_from_unix(1_700_000_001);
        assert_eq!((t.year(), t.month(), t.day()), (2023, 11, 14));
        assert_eq!(t.second() % 2, 0);
    }

    #[test]
    fn sorts_dist_info_last_and_record_very_last() {
        let mut names = vec![
            "pkg-1.dist-info/RECORD",
            "pkg-1.dist-info/METADATA",
            "zzz.py",
            "pkg/__init__.py",
            "pkg-1.dist-info-other/x",
        ];
        names.sort_by_key(|n| sort_key(n, "pkg-1.dist-info", "pkg-1.dist-info/RECORD"));
        assert_eq!(
            names,
            [
                "pkg-1.dist-info-other/x",
                "pkg/__init__.py",
                "zzz.py",
                "pkg-1.dist-info/METADATA",
                "pkg-1.dist-info/RECORD"
            ]
        );
    }
}
