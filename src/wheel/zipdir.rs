//! The zip structure of a wheel, parsed from the raw bytes and cross-checked before any
//! member is read (PKWARE APPNOTE.TXT 6.3: 4.3.7 local file header, 4.3.9 data descriptor,
//! 4.3.12 central directory header, 4.3.14–4.3.16 zip64 and classic end of central
//! directory records, 4.5.3 zip64 extended information).
//!
//! Zip readers differ in what they trust: most installers go by the central directory,
//! streaming readers by the local headers. A wheel on which they could disagree is refused:
//! - the central directory must end exactly where the end records begin, and every entry's
//!   local header, data and data descriptor must lie before it;
//! - each local header must carry the central directory's name and method, and (without a
//!   data descriptor) the same sizes and CRC-32;
//! - no two entries may share a byte (the "overlapping files" decompression bomb makes many
//!   entries out of one stored run);
//! - a stored entry's compressed and uncompressed sizes must be equal.
//!
//! Names, duplicates, compression methods and sizes against limits are the reader's
//! concern ([`super::reader`]); this module only establishes where every entry's bytes are.

use std::ops::Range;

use crate::error::WheelProblem;
use crate::escape;

const LOCAL_HEADER: u32 = 0x0403_4b50;
const CENTRAL_HEADER: u32 = 0x0201_4b50;
const DATA_DESCRIPTOR: u32 = 0x0807_4b50;
const END_OF_CENTRAL_DIRECTORY: u32 = 0x0605_4b50;
const ZIP64_END_OF_CENTRAL_DIRECTORY: u32 = 0x0606_4b50;
const ZIP64_LOCATOR: u32 = 0x0706_4b50;
const ZIP64_EXTRA: u16 = 0x0001;

const LOCAL_HEADER_LEN: u64 = 30;
const CENTRAL_HEADER_LEN: u64 = 46;
const END_RECORD_LEN: u64 = 22;
const ZIP64_LOCATOR_LEN: u64 = 20;
const ZIP64_END_RECORD_LEN: u64 = 56;

/// General purpose flag bit 0: the entry is encrypted.
pub const FLAG_ENCRYPTED: u16 = 1;
/// General purpose flag bit 3: sizes and CRC-32 follow the data in a data descriptor.
pub const FLAG_DATA_DESCRIPTOR: u16 = 1 << 3;
/// General purpose flag bit 6: strong encryption.
pub const FLAG_STRONG_ENCRYPTION: u16 = 1 << 6;

/// One central-directory entry, with where its data lies.
#[derive(Debug, Clone)]
pub struct ZipEntry {
    /// The name bytes, as the central directory gives them (not yet checked as UTF-8).
    pub name: Vec<u8>,
    /// General purpose bit flags.
    pub flags: u16,
    /// Compression method (0 stored, 8 deflate, ...).
    pub method: u16,
    /// CRC-32 of the uncompressed data.
    pub crc32: u32,
    /// Size of the data in the archive, in bytes.
    pub compressed_size: u64,
    /// Declared uncompressed size, in bytes.
    pub size: u64,
    /// Offset of the local file header.
    pub header_offset: u64,
    /// Byte range of the (compressed) data in the file.
    pub data: Range<u64>,
}

impl ZipEntry {
    /// The name for messages (lossy UTF-8).
    pub fn display_name(&self) -> String {
        String::from_utf8_lossy(&self.name).into_owned()
    }
}

/// A structural defect: the member it is about, when known, and the problem.
pub type Defect = (Option<String>, WheelProblem);

fn not_a_zip(message: impl Into<String>) -> Defect {
    (None, WheelProblem::NotAZip(message.into()))
}

/// Little-endian reads at absolute offsets, failing on the end of the data.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn slice(&self, at: u64, len: u64) -> Option<&[u8]> {
        let start = usize::try_from(at).ok()?;
        let end = start.checked_add(usize::try_from(len).ok()?)?;
        self.0.get(start..end)
    }
    fn u16(&self, at: u64) -> Option<u16> {
        let b = self.slice(at, 2)?;
        Some(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&self, at: u64) -> Option<u32> {
        let b = self.slice(at, 4)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&self, at: u64) -> Option<u64> {
        let b = self.slice(at, 8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Some(u64::from_le_bytes(a))
    }
}

/// Where the central directory is and how many entries it declares.
struct Directory {
    range: Range<u64>,
    entries: u64,
}

/// Parses and checks the structure of the zip archive `data`; returns its entries in
/// central-directory order.
///
/// Errors: [`WheelProblem::NotAZip`] for a defect of the archive as a whole,
/// [`WheelProblem::LocalHeaderMismatch`], [`WheelProblem::DataOutOfBounds`] or
/// [`WheelProblem::Overlap`] naming the entry.
pub fn read_entries(data: &[u8]) -> Result<Vec<ZipEntry>, Defect> {
    let bytes = Bytes(data);
    let directory = find_directory(&bytes)?;
    let mut entries = Vec::with_capacity(
        usize::try_from(
            directory
                .entries
                .min(data.len() as u64 / CENTRAL_HEADER_LEN),
        )
        .unwrap_or(0),
    );
    let mut at = directory.range.start;
    while at < directory.range.end {
        let entry = read_central_header(&bytes, &mut at, directory.range.end)?;
        entries.push(entry);
    }
    if at != directory.range.end || entries.len() as u64 != directory.entries {
        return Err(not_a_zip(format!(
            "the end record declares {} entries, the central directory holds {}",
            directory.entries,
            entries.len()
        )));
    }
    for entry in &mut entries {
        locate_data(&bytes, entry, directory.range.start)?;
    }
    check_overlaps(&bytes, &entries, directory.range.start)?;
    Ok(entries)
}

/// Finds the end of central directory record (the one whose comment ends the file) and,
/// when present, the zip64 records; the central directory must end where they begin.
fn find_directory(bytes: &Bytes<'_>) -> Result<Directory, Defect> {
    let len = bytes.0.len() as u64;
    if len < END_RECORD_LEN {
        return Err(not_a_zip("too short for a zip archive"));
    }
    let lowest = len.saturating_sub(END_RECORD_LEN + u64::from(u16::MAX));
    let end = (lowest..=len - END_RECORD_LEN)
        .rev()
        .find(|&at| {
            bytes.u32(at) == Some(END_OF_CENTRAL_DIRECTORY)
                && bytes
                    .u16(at + 20)
                    .is_some_and(|comment| at + END_RECORD_LEN + u64::from(comment) == len)
        })
        .ok_or_else(|| {
            not_a_zip("no end of central directory record at the end of the file (truncated, or data after the archive)")
        })?;
    let field16 = |off| bytes.u16(end + off).unwrap_or(0);
    let field32 = |off| bytes.u32(end + off).unwrap_or(0);
    if field16(4) != 0 || field16(6) != 0 {
        return Err(not_a_zip("split (multi-disk) archives are not supported"));
    }
    let mut directory = Directory {
        range: u64::from(field32(16))..u64::from(field32(16)) + u64::from(field32(12)),
        entries: u64::from(field16(10)),
    };
    let mut directory_end = end;
    if end >= ZIP64_LOCATOR_LEN && bytes.u32(end - ZIP64_LOCATOR_LEN) == Some(ZIP64_LOCATOR) {
        let locator = end - ZIP64_LOCATOR_LEN;
        let record = bytes.u64(locator + 8).unwrap_or(u64::MAX);
        if bytes.u32(locator + 4) != Some(0) || bytes.u32(locator + 16) != Some(1) {
            return Err(not_a_zip("split (multi-disk) archives are not supported"));
        }
        let valid = record
            .checked_add(ZIP64_END_RECORD_LEN)
            .is_some_and(|e| e <= locator)
            && bytes.u32(record) == Some(ZIP64_END_OF_CENTRAL_DIRECTORY);
        if !valid {
            return Err(not_a_zip(
                "the zip64 locator does not point to a zip64 end of central directory record",
            ));
        }
        let r64 = |off| bytes.u64(record + off).unwrap_or(u64::MAX);
        let r32 = |off| bytes.u32(record + off).unwrap_or(u32::MAX);
        // The record may carry an extensible data sector: it must end at the locator.
        if r64(4).checked_add(12).and_then(|n| n.checked_add(record)) != Some(locator) {
            return Err(not_a_zip(
                "the zip64 end of central directory record does not end at its locator",
            ));
        }
        if r32(16) != 0 || r32(20) != 0 || r64(24) != r64(32) {
            return Err(not_a_zip("split (multi-disk) archives are not supported"));
        }
        let start = r64(48);
        directory = Directory {
            range: start..start.saturating_add(r64(40)),
            entries: r64(32),
        };
        directory_end = record;
    } else if u64::from(field16(8)) != directory.entries {
        return Err(not_a_zip("split (multi-disk) archives are not supported"));
    }
    if directory.range.end != directory_end {
        return Err(not_a_zip(format!(
            "the central directory ({} bytes at offset {}) does not end where the end record \
             begins (offset {directory_end}): data before or inside the archive",
            directory.range.end.saturating_sub(directory.range.start),
            directory.range.start
        )));
    }
    Ok(directory)
}

/// Reads the central directory header at `*at` (advanced past it), applying the zip64
/// extra field where a 32-bit field is saturated.
fn read_central_header(bytes: &Bytes<'_>, at: &mut u64, end: u64) -> Result<ZipEntry, Defect> {
    let start = *at;
    let truncated = || {
        not_a_zip(format!(
            "truncated central directory entry at offset {start}"
        ))
    };
    if start + CENTRAL_HEADER_LEN > end {
        return Err(truncated());
    }
    if bytes.u32(start) != Some(CENTRAL_HEADER) {
        return Err(not_a_zip(format!(
            "no central directory entry at offset {start}"
        )));
    }
    let f16 = |off| bytes.u16(start + off).unwrap_or(0);
    let f32 = |off| bytes.u32(start + off).unwrap_or(0);
    let name_len = u64::from(f16(28));
    let extra_len = u64::from(f16(30));
    let comment_len = u64::from(f16(32));
    let total = CENTRAL_HEADER_LEN + name_len + extra_len + comment_len;
    if start + total > end {
        return Err(truncated());
    }
    let name = bytes
        .slice(start + CENTRAL_HEADER_LEN, name_len)
        .ok_or_else(truncated)?
        .to_vec();
    let extra = bytes
        .slice(start + CENTRAL_HEADER_LEN + name_len, extra_len)
        .ok_or_else(truncated)?;
    let mut entry = ZipEntry {
        name,
        flags: f16(8),
        method: f16(10),
        crc32: f32(16),
        compressed_size: u64::from(f32(20)),
        size: u64::from(f32(24)),
        header_offset: u64::from(f32(42)),
        data: 0..0,
    };
    if f16(34) != 0 && f16(34) != u16::MAX {
        return Err((
            Some(entry.display_name()),
            WheelProblem::NotAZip("split (multi-disk) archives are not supported".into()),
        ));
    }
    let mut wanted = [
        (entry.size == u64::from(u32::MAX)).then_some(&mut entry.size),
        (entry.compressed_size == u64::from(u32::MAX)).then_some(&mut entry.compressed_size),
        (entry.header_offset == u64::from(u32::MAX)).then_some(&mut entry.header_offset),
    ];
    if wanted.iter().any(Option::is_some) {
        let name = String::from_utf8_lossy(&entry.name).into_owned();
        apply_zip64_extra(extra, &mut wanted).map_err(|m| (Some(name), m))?;
    }
    *at = start + total;
    Ok(entry)
}

/// Fills the saturated fields (`None` when not saturated) from the zip64 extended
/// information extra field, in the order APPNOTE 4.5.3 gives them.
fn apply_zip64_extra(extra: &[u8], wanted: &mut [Option<&mut u64>; 3]) -> Result<(), WheelProblem> {
    let fields = Bytes(extra);
    let mut at = 0u64;
    while at + 4 <= extra.len() as u64 {
        let id = fields.u16(at).unwrap_or(0);
        let len = u64::from(fields.u16(at + 2).unwrap_or(0));
        let body = at + 4;
        if id == ZIP64_EXTRA {
            if body + len > extra.len() as u64 {
                return Err(malformed_extra());
            }
            let mut pos = body;
            for slot in wanted.iter_mut().flatten() {
                if pos + 8 > body + len {
                    return Err(malformed_extra());
                }
                **slot = fields.u64(pos).ok_or_else(malformed_extra)?;
                pos += 8;
            }
            return Ok(());
        }
        at = body + len;
    }
    Err(malformed_extra())
}

fn malformed_extra() -> WheelProblem {
    WheelProblem::NotAZip("a size or offset is 0xFFFFFFFF without a valid zip64 extra field".into())
}

/// Checks the local header of `entry` against it and sets `entry.data`; everything must
/// lie before the central directory at `directory_start`.
fn locate_data(
    bytes: &Bytes<'_>,
    entry: &mut ZipEntry,
    directory_start: u64,
) -> Result<(), Defect> {
    let name = entry.display_name();
    let mismatch = |what: String| (Some(name.clone()), WheelProblem::LocalHeaderMismatch(what));
    let out_of_bounds = |what: String| (Some(name.clone()), WheelProblem::DataOutOfBounds(what));
    let at = entry.header_offset;
    if at.saturating_add(LOCAL_HEADER_LEN) > directory_start {
        return Err(out_of_bounds(format!(
            "its local header offset {at} is not before the central directory (offset {directory_start})"
        )));
    }
    if bytes.u32(at) != Some(LOCAL_HEADER) {
        return Err(mismatch(format!("no local file header at offset {at}")));
    }
    let f16 = |off| bytes.u16(at + off).unwrap_or(0);
    let f32 = |off| bytes.u32(at + off).unwrap_or(0);
    let name_len = u64::from(f16(26));
    let extra_len = u64::from(f16(28));
    let data_start = at + LOCAL_HEADER_LEN + name_len + extra_len;
    if data_start > directory_start {
        return Err(out_of_bounds(format!(
            "its local header runs into the central directory (offset {directory_start})"
        )));
    }
    let local_name = bytes
        .slice(at + LOCAL_HEADER_LEN, name_len)
        .unwrap_or_default();
    if local_name != entry.name.as_slice() {
        return Err(mismatch(format!(
            "the local header names it {}",
            escape::quoted_bytes(local_name)
        )));
    }
    if f16(8) != entry.method {
        return Err(mismatch(format!(
            "the local header gives compression method {}, the central directory {}",
            f16(8),
            entry.method
        )));
    }
    if (f16(6) ^ entry.flags) & (FLAG_ENCRYPTED | FLAG_DATA_DESCRIPTOR) != 0 {
        return Err(mismatch(
            "the local header's encryption or data descriptor flag differs from the central directory's"
                .into(),
        ));
    }
    if entry.flags & FLAG_DATA_DESCRIPTOR == 0 {
        let mut size = u64::from(f32(22));
        let mut compressed = u64::from(f32(18));
        if size == u64::from(u32::MAX) || compressed == u64::from(u32::MAX) {
            let extra = bytes
                .slice(at + LOCAL_HEADER_LEN + name_len, extra_len)
                .unwrap_or_default();
            let mut wanted = [
                (size == u64::from(u32::MAX)).then_some(&mut size),
                (compressed == u64::from(u32::MAX)).then_some(&mut compressed),
                None,
            ];
            apply_zip64_extra(extra, &mut wanted).map_err(|p| (Some(name.clone()), p))?;
        }
        if f32(14) != entry.crc32 || size != entry.size || compressed != entry.compressed_size {
            return Err(mismatch(format!(
                "the local header declares {size} bytes ({compressed} compressed, CRC-32 \
                 {:08x}), the central directory {} bytes ({} compressed, CRC-32 {:08x})",
                f32(14),
                entry.size,
                entry.compressed_size,
                entry.crc32
            )));
        }
    }
    if entry.method == 0 && entry.compressed_size != entry.size {
        return Err((
            Some(name.clone()),
            WheelProblem::CorruptMember(format!(
                "stored (uncompressed) but declares {} bytes of data for {} bytes of content",
                entry.compressed_size, entry.size
            )),
        ));
    }
    let data_end = data_start.saturating_add(entry.compressed_size);
    if data_end > directory_start {
        let place = match data_end > bytes.0.len() as u64 {
            true => "past the end of the file",
            false => "into the central directory",
        };
        return Err(out_of_bounds(format!(
            "its {} bytes of compressed data at offset {data_start} run {place}",
            entry.compressed_size
        )));
    }
    entry.data = data_start..data_end;
    Ok(())
}

/// The end of everything `entry` owns: local header, data and data descriptor.
fn entry_end(bytes: &Bytes<'_>, entry: &ZipEntry) -> u64 {
    if entry.flags & FLAG_DATA_DESCRIPTOR == 0 {
        return entry.data.end;
    }
    let signature = u64::from(bytes.u32(entry.data.end) == Some(DATA_DESCRIPTOR)) * 4;
    let zip64 = entry.size >= u64::from(u32::MAX) || entry.compressed_size >= u64::from(u32::MAX);
    entry.data.end + signature + 4 + if zip64 { 16 } else { 8 }
}

/// Refuses entries that share bytes (including their data descriptors) or whose data
/// descriptor runs into the central directory.
fn check_overlaps(
    bytes: &Bytes<'_>,
    entries: &[ZipEntry],
    directory_start: u64,
) -> Result<(), Defect> {
    let mut spans: Vec<(u64, u64, usize)> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| (e.header_offset, entry_end(bytes, e), i))
        .collect();
    spans.sort_unstable();
    for pair in spans.windows(2) {
        let ((_, end, first), (start, _, second)) = (pair[0], pair[1]);
        if start < end {
            return Err((
                Some(entries[second].display_name()),
                WheelProblem::Overlap(entries[first].display_name()),
            ));
        }
    }
    if let Some(&(_, end, i)) = spans.last()
        && end > directory_start
    {
        return Err((
            Some(entries[i].display_name()),
            WheelProblem::DataOutOfBounds(format!(
                "its data descriptor runs into the central directory (offset {directory_start})"
            )),
        ));
    }
    Ok(())
}
