//! Writing the output wheel deterministically (README.md, "The output wheel"):
//! members sorted by name with `.dist-info/` last and RECORD the very last member,
//! timestamps from `SOURCE_DATE_EPOCH` or from the input, permissions kept, unchanged
//! members copied raw, new content deflated in parallel, RECORD regenerated, and the file
//! written to a temporary name in the output directory and renamed into place.

use std::io::Write;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use zip::write::{PreparedZipFile, SimpleFileOptions};
use zip::{CompressionMethod, ZipWriter};

use super::reader::InputWheel;
use super::record::{record_hash, write_record};
use crate::error::Error;

/// Where an output member's bytes come from.
pub enum Content {
    /// The input member at this central-directory index, copied without recompressing.
    Raw {
        /// Index in the input archive.
        index: usize,
        /// Its RECORD hash (already verified against the content).
        hash: String,
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
    hash: String,
    size: u64,
}

/// Deflates `data` as member `name`, with the permissions and the timestamp it will have
/// (apply [`Timestamps`] first: `write_wheel` does not change a deflated member's time).
pub fn deflate(
    name: &str,
    data: &[u8],
    permissions: u32,
    modified: zip::DateTime,
) -> Result<Deflated, zip::result::ZipError> {
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .last_modified_time(modified)
        .unix_permissions(permissions);
    Ok(Deflated {
        file: PreparedZipFile::from_data(name, options, data)?,
        hash: record_hash(data),
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
    pub fn from_env() -> Result<Self, String> {
        match std::env::var("SOURCE_DATE_EPOCH") {
            Ok(v) if !v.trim().is_empty() => {
                let secs: i64 = v.trim().parse().map_err(|_| {
                    format!("SOURCE_DATE_EPOCH={v:?} is not an integer number of seconds")
                })?;
                Ok(Timestamps::Fixed(zip_time_from_unix(secs)))
            }
            _ => Ok(Timestamps::PerMember),
        }
    }
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

/// Writes `members` plus a regenerated RECORD to `dest`, atomically.
///
/// `dist_info` is the output `.dist-info` directory name. The wheel is first written to a
/// temporary file next to `dest` and renamed over it at the end, so an error or an
/// interruption leaves no partial file. Returns the sha256 (hex) of the written wheel.
pub fn write_wheel(
    input: &InputWheel,
    mut members: Vec<OutputMember>,
    dist_info: &str,
    dest: &Path,
    timestamps: Timestamps,
) -> Result<String, Error> {
    let record_name = format!("{dist_info}/RECORD");
    members.retain(|m| m.name != record_name);
    members.sort_by(|a, b| {
        sort_key(&a.name, dist_info, &record_name).cmp(&sort_key(&b.name, dist_info, &record_name))
    });
    let time_of = |m: &OutputMember| timestamps.apply(m.modified);

    // Deflate new content in parallel; RECORD rows come from the same bytes.
    members.par_iter_mut().try_for_each(|m| {
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
    let temp = tempfile::Builder::new()
        .prefix(".equip-wheel-")
        .suffix(".whl.part")
        .tempfile_in(dir)
        .map_err(|e| Error::io(dir, e))?;
    let mut zip = ZipWriter::new(std::io::BufWriter::new(temp));
    let mut archive = input.archive();
    let record_time = match timestamps {
        Timestamps::Fixed(t) => t,
        Timestamps::PerMember => members.iter().map(|m| m.modified).max().unwrap_or_default(),
    };
    for member in members {
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
    zip.start_file(&record_name, options)
        .map_err(|e| zip_error(dest, e))?;
    zip.write_all(&record).map_err(|e| Error::io(dest, e))?;
    let buffered = zip.finish().map_err(|e| zip_error(dest, e))?;
    let temp = buffered
        .into_inner()
        .map_err(|e| Error::io(dest, e.into_error()))?;
    temp.as_file().sync_all().map_err(|e| Error::io(dest, e))?;
    let written = std::fs::read(temp.path()).map_err(|e| Error::io(temp.path(), e))?;
    let digest = super::record::sha256_hex(&written);
    temp.persist(dest)
        .map_err(|e| Error::io(PathBuf::from(dest), e.error))?;
    Ok(digest)
}

/// RECORD for the sorted members (new content already deflated): every member's hash and
/// size, then RECORD's own row.
fn write_record_rows(members: &[OutputMember], record_name: &str) -> Vec<u8> {
    let rows = members.iter().map(|m| match &m.content {
        Content::Raw { hash, size, .. } => (m.name.as_str(), hash.as_str(), *size),
        Content::Deflated(d) => (m.name.as_str(), d.hash.as_str(), d.size),
        Content::Bytes(_) => unreachable!("every Bytes member was deflated first"),
    });
    write_record(rows, record_name)
}

fn zip_error(dest: &Path, e: zip::result::ZipError) -> Error {
    Error::io(dest, std::io::Error::other(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

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
