//! The line table codec: the bytes of `co_lnotab` / `co_linetable` to a list of
//! (code offset, source location) entries and back, for every supported version.
//!
//! Three formats (`Objects/lnotab_notes.txt`, `Objects/locations.md` of CPython):
//!
//! - **3.8–3.9, `co_lnotab`** ([`decode_lnotab`], [`encode_lnotab`]): pairs of unsigned
//!   byte delta and signed line delta (`i8`), both relative to the previous pair (the first
//!   to offset 0 and `co_firstlineno`). A pair gives the line from its offset on. Deltas too
//!   large for one pair are split: byte steps of 255 first (`255, 0`), then line steps of
//!   127 / -128 (`bdelta, 127`). Every instruction has a line.
//! - **3.10, `co_linetable`** (PEP 626; [`decode_linetable`], [`encode_linetable`]): pairs
//!   of unsigned byte length and signed line delta; a pair covers `length` bytes from the
//!   end of the previous one, and the pairs cover the code exactly. Line delta -128 means
//!   "no line" (and does not move the running line). Lengths above 254 are split into
//!   254-byte pairs; line deltas beyond ±127 are first emitted as zero-length pairs.
//! - **3.11+, location table** (PEP 657; [`decode_locations`], [`encode_locations`]):
//!   entries of 1 to 8 code units, each a header byte `1ccccnnn` (code `cccc`, length
//!   `nnn + 1` units) followed by a form chosen by the code: 0–9 short form (same line,
//!   column `code * 8 + high nibble`, end column `column + low nibble`), 10–12 one-line
//!   form (line delta `code - 10`, column byte, end column byte), 13 no columns (line delta
//!   as signed varint), 14 long form (signed line delta, end-line delta, column + 1,
//!   end column + 1 as varints), 15 no location. Varints are 6-bit chunks, least
//!   significant first, bit 6 continuing; a signed varint keeps the sign in bit 0.
//!
//! Offsets here are byte offsets into `co_code` on every version. An entry holds from its
//! offset up to the next entry's offset (the last one up to the end of the code). The
//! encoders write the tables the way CPython writes them (`Python/compile.c` 3.8–3.10
//! `assemble_lnotab` / `assemble_line_range`, `Python/assemble.c` 3.11+
//! `write_location_info_entry`), so decoding and re-encoding an unmodified table gives back
//! the original bytes.

use super::asm::AsmError;
use super::disasm::{DisasmError, Location, err, table_byte};

/// One line table entry: from byte `offset` of `co_code` on, the location is `loc`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// Byte offset into `co_code` (3.8/3.9 tables can put it inside an instruction).
    pub offset: u32,
    /// The location from there on.
    pub loc: Location,
}

/// Decodes the line table of a CPython 3.`minor` code object whose `co_code` is
/// `code_len` bytes long: `co_lnotab` (3.8/3.9), `co_linetable` (3.10) or the location
/// table (3.11+). Entries come in offset order. Errors name the byte offset (in the table,
/// or in the code for an entry past its end).
pub fn decode(
    minor: u8,
    table: &[u8],
    firstlineno: i32,
    code_len: usize,
) -> Result<Vec<Entry>, DisasmError> {
    match minor {
        8 | 9 => decode_lnotab(table, firstlineno, code_len),
        10 => decode_linetable(table, firstlineno, code_len),
        _ => decode_locations(table, firstlineno, code_len),
    }
}

/// Encodes `entries` (in offset order, every offset at most `code_len`) as the line table
/// of CPython 3.`minor` for `co_code` of `code_len` bytes. Errors when a 3.11+ location
/// ends before it starts.
pub fn encode(
    minor: u8,
    entries: &[Entry],
    firstlineno: i32,
    code_len: u32,
) -> Result<Vec<u8>, AsmError> {
    match minor {
        8 | 9 => Ok(encode_lnotab(entries, firstlineno)),
        10 => Ok(encode_linetable(entries, firstlineno, code_len)),
        _ => encode_locations(entries, firstlineno, code_len),
    }
}

/// Decodes a 3.8/3.9 `co_lnotab`. Offsets past the code are clamped to `code_len` (the
/// entry then stands for the end of the code). Every entry has a line.
pub fn decode_lnotab(
    table: &[u8],
    firstlineno: i32,
    code_len: usize,
) -> Result<Vec<Entry>, DisasmError> {
    let mut out = Vec::with_capacity(table.len() / 2);
    let mut addr = 0usize;
    let mut line = firstlineno;
    if !table.len().is_multiple_of(2) {
        return Err(err(table.len(), "co_lnotab has an odd length"));
    }
    for pair in table.chunks_exact(2) {
        addr += usize::from(pair[0]);
        line += i32::from(pair[1] as i8);
        out.push(Entry {
            offset: addr.min(code_len) as u32,
            loc: Location::line(line),
        });
    }
    Ok(out)
}

/// Encodes a 3.8/3.9 `co_lnotab`. An entry without a line keeps the previous line (the
/// format cannot say "no line").
pub fn encode_lnotab(entries: &[Entry], firstlineno: i32) -> Vec<u8> {
    let mut out = Vec::with_capacity(entries.len() * 2);
    let mut prev_off = 0u32;
    let mut prev_line = firstlineno;
    for e in entries {
        let off = e.offset;
        let line = e.loc.line.unwrap_or(prev_line);
        let mut bdelta = off - prev_off;
        let mut ldelta = line - prev_line;
        while bdelta > 255 {
            out.extend_from_slice(&[255, 0]);
            bdelta -= 255;
        }
        while ldelta > 127 {
            out.extend_from_slice(&[bdelta as u8, 127]);
            bdelta = 0;
            ldelta -= 127;
        }
        while ldelta < -128 {
            out.extend_from_slice(&[bdelta as u8, (-128i8) as u8]);
            bdelta = 0;
            ldelta += 128;
        }
        out.extend_from_slice(&[bdelta as u8, (ldelta as i8) as u8]);
        prev_off = off;
        prev_line = line;
    }
    out
}

/// Decodes a 3.10 `co_linetable` (PEP 626). Errors: odd length, an entry starting inside
/// a code unit or past the code, pairs not covering exactly `code_len` bytes.
pub fn decode_linetable(
    table: &[u8],
    firstlineno: i32,
    code_len: usize,
) -> Result<Vec<Entry>, DisasmError> {
    let mut out = Vec::with_capacity(table.len() / 2);
    let mut addr = 0usize;
    let mut line = firstlineno;
    if !table.len().is_multiple_of(2) {
        return Err(err(table.len(), "co_linetable has an odd length"));
    }
    for pair in table.chunks_exact(2) {
        let start = addr;
        addr += usize::from(pair[0]);
        let delta = pair[1] as i8;
        let loc = if delta == -128 {
            Location::default()
        } else {
            line += i32::from(delta);
            Location::line(line)
        };
        if !start.is_multiple_of(2) {
            return Err(err(start, "co_linetable points into a code unit"));
        }
        if start > code_len {
            return Err(err(start, "line table points past the code"));
        }
        out.push(Entry {
            offset: start as u32,
            loc,
        });
    }
    if addr != code_len {
        return Err(err(addr, "co_linetable does not cover the code exactly"));
    }
    Ok(out)
}

/// Encodes a 3.10 `co_linetable` (PEP 626) for `co_code` of `code_len` bytes. Entries
/// covering no bytes are left out.
pub fn encode_linetable(entries: &[Entry], firstlineno: i32, code_len: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(entries.len() * 2);
    let mut prev_line = firstlineno;
    for (k, e) in entries.iter().enumerate() {
        let end = entries.get(k + 1).map_or(code_len, |next| next.offset);
        let mut bdelta = end - e.offset;
        if bdelta == 0 {
            continue;
        }
        let mut ldelta = match e.loc.line {
            None => -128,
            Some(line) => {
                let mut d = line - prev_line;
                prev_line = line;
                while d > 127 {
                    out.extend_from_slice(&[0, 127]);
                    d -= 127;
                }
                while d < -127 {
                    out.extend_from_slice(&[0, (-127i8) as u8]);
                    d += 127;
                }
                d
            }
        };
        while bdelta > 254 {
            out.extend_from_slice(&[254, (ldelta as i8) as u8]);
            ldelta = if e.loc.line.is_none() { -128 } else { 0 };
            bdelta -= 254;
        }
        out.extend_from_slice(&[bdelta as u8, (ldelta as i8) as u8]);
    }
    out
}

/// Decodes a 3.11+ location table (PEP 657). Errors: an entry without its start bit, a
/// truncated entry or varint, entries running past or not covering exactly `code_len`
/// bytes.
pub fn decode_locations(
    table: &[u8],
    firstlineno: i32,
    code_len: usize,
) -> Result<Vec<Entry>, DisasmError> {
    let n_units = code_len / 2;
    let mut out = Vec::new();
    let mut r = Reader {
        data: table,
        pos: 0,
    };
    let mut unit = 0usize;
    let mut line = i64::from(firstlineno);
    while r.pos < table.len() {
        let at = r.pos;
        let first = r.byte()?;
        if first & 0x80 == 0 {
            return Err(err(at, "location entry without its start bit"));
        }
        let code_ = (first >> 3) & 15;
        let len = usize::from(first & 7) + 1;
        let loc = match code_ {
            15 => Location::default(),
            14 => {
                line += r.svarint()?;
                let end = line + r.varint()? as i64;
                let col = r.varint()? as i64 - 1;
                let end_col = r.varint()? as i64 - 1;
                Location {
                    line: Some(line as i32),
                    end_line: Some(end as i32),
                    col: (col >= 0).then_some(col as i32),
                    end_col: (end_col >= 0).then_some(end_col as i32),
                }
            }
            13 => {
                line += r.svarint()?;
                Location::line(line as i32)
            }
            10..=12 => {
                line += i64::from(code_ - 10);
                let col = i32::from(r.byte()?);
                let end_col = i32::from(r.byte()?);
                Location {
                    line: Some(line as i32),
                    end_line: Some(line as i32),
                    col: Some(col),
                    end_col: Some(end_col),
                }
            }
            _ => {
                let second = r.byte()?;
                let col = i32::from(code_) * 8 + i32::from(second >> 4);
                Location {
                    line: Some(line as i32),
                    end_line: Some(line as i32),
                    col: Some(col),
                    end_col: Some(col + i32::from(second & 15)),
                }
            }
        };
        if unit >= n_units {
            return Err(err(at, "location table runs past the code"));
        }
        out.push(Entry {
            offset: 2 * unit as u32,
            loc,
        });
        unit += len;
    }
    if unit != n_units {
        return Err(err(
            table.len(),
            "location table does not cover the code exactly",
        ));
    }
    Ok(out)
}

/// Encodes a 3.11+ location table (PEP 657) for `co_code` of `code_len` bytes: each entry
/// is written in the shortest form CPython picks, split into runs of at most 8 code units;
/// entries covering no code are left out. Errors when a location ends before it starts.
pub fn encode_locations(
    entries: &[Entry],
    firstlineno: i32,
    code_len: u32,
) -> Result<Vec<u8>, AsmError> {
    let mut out = Vec::with_capacity(entries.len() * 2);
    let mut prev_line = i64::from(firstlineno);
    for (k, e) in entries.iter().enumerate() {
        let end = entries.get(k + 1).map_or(code_len, |next| next.offset);
        let mut len = (end - e.offset) / 2;
        while len > 0 {
            let chunk = len.min(8);
            write_location(&mut out, &e.loc, chunk, &mut prev_line)?;
            len -= chunk;
        }
    }
    Ok(out)
}

fn varint(out: &mut Vec<u8>, mut v: u32) {
    while v >= 64 {
        out.push(64 | (v & 63) as u8);
        v >>= 6;
    }
    out.push(v as u8);
}

fn svarint(out: &mut Vec<u8>, v: i64) {
    let u = if v < 0 { ((-v) << 1) | 1 } else { v << 1 };
    varint(out, u as u32);
}

/// One 3.11+ location entry of `len` (1..=8) code units, in the form CPython picks.
fn write_location(
    out: &mut Vec<u8>,
    loc: &Location,
    len: u32,
    prev_line: &mut i64,
) -> Result<(), AsmError> {
    let head = |code: u8| 0x80 | (code << 3) | (len - 1) as u8;
    let Some(line) = loc.line else {
        out.push(head(15));
        return Ok(());
    };
    let line = i64::from(line);
    let delta = line - *prev_line;
    let col = loc.col.map_or(-1, i64::from);
    let end_col = loc.end_col.map_or(-1, i64::from);
    let end_line = loc.end_line.map_or(-1, i64::from);
    if col < 0 || end_col < 0 {
        if end_line == line || end_line == -1 {
            out.push(head(13));
            svarint(out, delta);
            *prev_line = line;
            return Ok(());
        }
    } else if end_line == line {
        if delta == 0 && col < 80 && end_col - col < 16 && end_col >= col {
            out.push(head((col / 8) as u8));
            out.push((((col % 8) << 4) | (end_col - col)) as u8);
            return Ok(());
        }
        if (0..3).contains(&delta) && col < 128 && end_col < 128 {
            out.push(head(10 + delta as u8));
            out.push(col as u8);
            out.push(end_col as u8);
            *prev_line = line;
            return Ok(());
        }
    }
    if end_line < line {
        return Err(AsmError(format!(
            "location ends (line {end_line}) before it starts (line {line})"
        )));
    }
    out.push(head(14));
    svarint(out, delta);
    varint(out, (end_line - line) as u32);
    varint(out, (col + 1) as u32);
    varint(out, (end_col + 1) as u32);
    *prev_line = line;
    Ok(())
}

/// Reads a location table.
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8, DisasmError> {
        table_byte(self.data, &mut self.pos)
    }

    /// Location-table varint: 6-bit chunks, least significant first, bit 6 continues.
    fn varint(&mut self) -> Result<u32, DisasmError> {
        let mut b = self.byte()?;
        let mut v = u32::from(b & 63);
        let mut shift = 0;
        while b & 64 != 0 {
            b = self.byte()?;
            shift += 6;
            if shift > 30 {
                return Err(err(self.pos, "varint too long"));
            }
            v |= u32::from(b & 63) << shift;
        }
        Ok(v)
    }

    fn svarint(&mut self) -> Result<i64, DisasmError> {
        let v = self.varint()?;
        Ok(if v & 1 == 1 {
            -i64::from(v >> 1)
        } else {
            i64::from(v >> 1)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(offset: u32, loc: Location) -> Entry {
        Entry { offset, loc }
    }

    fn loc(line: i32, end_line: i32, col: i32, end_col: i32) -> Location {
        Location {
            line: Some(line),
            end_line: Some(end_line),
            col: Some(col),
            end_col: Some(end_col),
        }
    }

    /// `encode` then `decode` gives the entries back, and re-encoding the decoded entries
    /// gives the same bytes.
    fn round_trip(minor: u8, entries: &[Entry], firstlineno: i32, code_len: u32) -> Vec<u8> {
        let bytes = encode(minor, entries, firstlineno, code_len).unwrap();
        let back = decode(minor, &bytes, firstlineno, code_len as usize).unwrap();
        assert_eq!(back, entries, "3.{minor}: {bytes:?}");
        assert_eq!(
            encode(minor, &back, firstlineno, code_len).unwrap(),
            bytes,
            "3.{minor}"
        );
        bytes
    }

    #[test]
    fn lnotab_round_trips() {
        let entries = [
            at(0, Location::line(10)),
            at(6, Location::line(11)),
            at(10, Location::line(9)),
            at(20, Location::line(12)),
        ];
        for minor in [8, 9] {
            let bytes = round_trip(minor, &entries, 10, 24);
            assert_eq!(bytes, [0, 0, 6, 1, 4, 0xfe, 10, 3]);
        }
    }

    #[test]
    fn lnotab_splits_long_deltas() {
        // 300 bytes and 200 lines on: one 255-byte step, then a 127-line step carrying
        // the remaining 45 bytes, then the rest of the line delta.
        let entries = [at(0, Location::line(1)), at(300, Location::line(201))];
        let bytes = encode_lnotab(&entries, 1);
        assert_eq!(bytes, [0, 0, 255, 0, 45, 127, 0, 73]);
        let back = decode_lnotab(&bytes, 1, 302).unwrap();
        let last = back.last().unwrap();
        assert_eq!((last.offset, last.loc), (300, Location::line(201)));
        assert_eq!(encode_lnotab(&back, 1), bytes);
    }

    #[test]
    fn linetable_310_round_trips() {
        let entries = [
            at(0, Location::line(5)),
            at(4, Location::default()),
            at(8, Location::line(7)),
            at(12, Location::line(3)),
        ];
        let bytes = round_trip(10, &entries, 4, 16);
        // The "no line" pair has line delta -128 and does not move the running line.
        assert_eq!(bytes, [4, 1, 4, 0x80, 4, 2, 4, 0xfc]);
    }

    #[test]
    fn linetable_310_errors() {
        assert!(decode_linetable(&[4], 1, 4).is_err(), "odd length");
        let e = decode_linetable(&[3, 0, 1, 0], 1, 4).unwrap_err();
        assert_eq!(e.message, "co_linetable points into a code unit");
        let e = decode_linetable(&[4, 0], 1, 6).unwrap_err();
        assert_eq!(e.message, "co_linetable does not cover the code exactly");
    }

    #[test]
    fn locations_round_trip_every_form() {
        let entries = [
            // Short form (same line, small columns).
            at(0, loc(3, 3, 0, 0)),
            // One-line forms, line delta 1 and 2.
            at(2, loc(4, 4, 100, 120)),
            at(6, loc(6, 6, 4, 30)),
            // No columns, negative line delta.
            at(8, Location::line(2)),
            // Long form: several lines.
            at(10, loc(5, 9, 1, 200)),
            // No location.
            at(12, Location::default()),
            // 20 code units: split into runs of 8, 8 and 4 (decoded as three entries).
            at(14, loc(5, 5, 0, 4)),
            at(30, loc(5, 5, 0, 4)),
            at(46, loc(5, 5, 0, 4)),
        ];
        let bytes = round_trip(11, &entries, 3, 54);
        assert_eq!(round_trip(13, &entries, 3, 54), bytes);
        // The same 20 units as one entry are written as the same three runs.
        let one = encode_locations(&entries[..7], 3, 54).unwrap();
        assert_eq!(one, bytes);
    }

    #[test]
    fn locations_errors() {
        let e = decode_locations(&[0x00], 1, 2).unwrap_err();
        assert_eq!(e.message, "location entry without its start bit");
        let e = decode_locations(&[0x80 | (14 << 3), 0x40], 1, 2).unwrap_err();
        assert_eq!(e.message, "table truncated");
        let e = decode_locations(&[0x80 | (15 << 3), 0x80 | (15 << 3)], 1, 2).unwrap_err();
        assert_eq!(e.message, "location table runs past the code");
        let e = encode_locations(&[at(0, loc(5, 4, 0, 1))], 1, 2).unwrap_err();
        assert!(e.0.contains("before it starts"), "{e}");
    }

    // The tables below come from CPython itself, for
    //
    //     def f(a):
    //         x = a + 1
    //         if x:
    //             return x
    //         return -x
    //
    // compiled as `t.py` (co_firstlineno 1); the expected values are what that
    // interpreter reported (`dis.findlinestarts` on 3.8.18, `co_lines()` on 3.10.13,
    // `co_lines()` and `co_positions()` on 3.12.1).

    #[test]
    fn lnotab_of_cpython_38() {
        let entries = decode(8, &[0, 1, 8, 1, 4, 1, 4, 1], 1, 22).unwrap();
        let starts: Vec<(u32, i32)> = entries
            .iter()
            .map(|e| (e.offset, e.loc.line.unwrap()))
            .collect();
        assert_eq!(starts, [(0, 2), (8, 3), (12, 4), (16, 5)]);
    }

    #[test]
    fn linetable_of_cpython_310() {
        let table = [8, 1, 4, 1, 4, 1, 6, 1];
        let entries = decode(10, &table, 1, 22).unwrap();
        let ranges: Vec<(u32, u32, i32)> = entries
            .iter()
            .enumerate()
            .map(|(k, e)| {
                let end = entries.get(k + 1).map_or(22, |n| n.offset);
                (e.offset, end, e.loc.line.unwrap())
            })
            .collect();
        assert_eq!(ranges, [(0, 8, 2), (8, 12, 3), (12, 16, 4), (16, 22, 5)]);
        assert_eq!(encode(10, &entries, 1, 22).unwrap(), table);
    }

    #[test]
    fn locations_of_cpython_312() {
        let table = [
            128, 0, 216, 8, 9, 136, 65, 137, 5, 128, 65, 217, 7, 8, 216, 15, 16, 136, 8, 216, 12,
            13, 136, 50, 128, 73,
        ];
        let entries = decode(12, &table, 1, 26).unwrap();
        // Location of every code unit, as `co_positions()` gives them.
        let mut positions = Vec::new();
        for (k, e) in entries.iter().enumerate() {
            let end = entries.get(k + 1).map_or(26, |n| n.offset);
            for _ in (e.offset..end).step_by(2) {
                let l = e.loc;
                positions.push((l.line, l.end_line, l.col, l.end_col));
            }
        }
        let expected: Vec<(i32, i32, i32, i32)> = vec![
            (1, 1, 0, 0),
            (2, 2, 8, 9),
            (2, 2, 12, 13),
            (2, 2, 8, 13),
            (2, 2, 8, 13),
            (2, 2, 4, 5),
            (3, 3, 7, 8),
            (3, 3, 7, 8),
            (4, 4, 15, 16),
            (4, 4, 8, 16),
            (5, 5, 12, 13),
            (5, 5, 11, 13),
            (5, 5, 4, 13),
        ];
        let expected: Vec<_> = expected
            .into_iter()
            .map(|(a, b, c, d)| (Some(a), Some(b), Some(c), Some(d)))
            .collect();
        assert_eq!(positions, expected);
        assert_eq!(encode(12, &entries, 1, 26).unwrap(), table);
    }
}
