//! The exception table codec (`co_exceptiontable`, CPython 3.11+): its bytes to a list of
//! entries and back. Code objects of 3.8–3.10 have no exception table (their handlers are
//! set up by `SETUP_*` instructions).
//!
//! Format (`InternalDocs/exception_handling.md`, `Objects/exception_handling_notes.txt` of
//! CPython): a sequence of entries, each four varints
//!
//! 1. start of the protected range (code units),
//! 2. its length (code units, at least 1),
//! 3. the handler's offset (code units),
//! 4. `depth << 1 | lasti`: the stack depth the handler pops to, and whether the offset of
//!    the raising instruction is pushed before the exception.
//!
//! A varint here is a run of 6-bit chunks, **most** significant first, bit 6 (`0x40`) set
//! on every byte but the last; bit 7 (`0x80`) is set on the first byte of an entry only
//! (the start marker that lets the interpreter search the table). Entries come in code
//! order and do not overlap. [`encode`] writes the varints the way CPython writes them
//! (`Python/assemble.c` `assemble_emit_exception_table_entry`), so decoding and
//! re-encoding an unmodified table gives back the original bytes.

use super::asm::AsmError;
use super::disasm::{DisasmError, err, table_byte};

/// One exception table entry, in code units (2-byte units of `co_code`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// First code unit covered.
    pub start: u32,
    /// First code unit after the range (`start + length`, saturated at `u32::MAX`).
    pub end: u32,
    /// The handler's code unit.
    pub target: u32,
    /// Stack depth to pop to before pushing the exception.
    pub depth: u32,
    /// Whether the offset of the raising instruction is pushed.
    pub lasti: bool,
}

/// The entries of `table` one by one, each with the byte offset where it starts in the
/// table; decoding stops after the first error. Entries of length 0 are returned as they
/// are (the caller decides).
pub fn entries(table: &[u8]) -> Entries<'_> {
    Entries {
        data: table,
        pos: 0,
    }
}

/// Iterator over the entries of an exception table, see [`entries`].
pub struct Entries<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Iterator for Entries<'_> {
    type Item = Result<(usize, Entry), DisasmError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.data.len() {
            return None;
        }
        let entry = self.entry();
        if entry.is_err() {
            self.pos = self.data.len();
        }
        Some(entry)
    }
}

impl Entries<'_> {
    fn entry(&mut self) -> Result<(usize, Entry), DisasmError> {
        let at = self.pos;
        if self.data[at] & 0x80 == 0 {
            return Err(err(at, "exception table entry without its start bit"));
        }
        let start = self.varint()?;
        let size = self.varint()?;
        let target = self.varint()?;
        let dl = self.varint()?;
        Ok((
            at,
            Entry {
                start,
                end: start.saturating_add(size),
                target,
                depth: dl >> 1,
                lasti: dl & 1 == 1,
            },
        ))
    }

    fn byte(&mut self) -> Result<u8, DisasmError> {
        table_byte(self.data, &mut self.pos)
    }

    /// Exception-table varint: 6-bit chunks, most significant first, bit 6 continues.
    fn varint(&mut self) -> Result<u32, DisasmError> {
        let mut b = self.byte()?;
        let mut v = u32::from(b & 63);
        let mut n = 0;
        while b & 64 != 0 {
            b = self.byte()?;
            n += 1;
            if n > 5 {
                return Err(err(self.pos, "varint too long"));
            }
            v = (v << 6) | u32::from(b & 63);
        }
        Ok(v)
    }
}

/// Appends one entry to an exception table being written. Errors on an empty range
/// (`end <= start`), writing nothing.
pub fn write_entry(out: &mut Vec<u8>, e: &Entry) -> Result<(), AsmError> {
    if e.end <= e.start {
        return Err(AsmError(format!(
            "empty exception range at unit {}",
            e.start
        )));
    }
    varint(out, e.start, 0x80);
    varint(out, e.end - e.start, 0);
    varint(out, e.target, 0);
    varint(out, e.depth << 1 | u32::from(e.lasti), 0);
    Ok(())
}

/// Writes `v` as an exception-table varint; `msb` (`0x80` or 0) goes on its first byte.
fn varint(out: &mut Vec<u8>, v: u32, mut msb: u8) {
    for shift in [24, 18, 12, 6] {
        if v >= 1 << shift {
            out.push(((v >> shift) & 63) as u8 | 64 | msb);
            msb = 0;
        }
    }
    out.push((v & 63) as u8 | msb);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A whole table, decoded (the disassembler reads it entry by entry instead).
    fn decode(table: &[u8]) -> Result<Vec<Entry>, DisasmError> {
        entries(table).map(|e| e.map(|(_, entry)| entry)).collect()
    }

    /// A whole table, encoded (the assembler writes it entry by entry instead).
    fn encode(entries: &[Entry]) -> Result<Vec<u8>, AsmError> {
        let mut out = Vec::new();
        for e in entries {
            write_entry(&mut out, e)?;
        }
        Ok(out)
    }

    fn entry(start: u32, end: u32, target: u32, depth: u32, lasti: bool) -> Entry {
        Entry {
            start,
            end,
            target,
            depth,
            lasti,
        }
    }

    #[test]
    fn round_trips() {
        let entries = [
            entry(0, 1, 2, 0, false),
            // Values of one to four 6-bit chunks.
            entry(63, 64, 4095, 1, true),
            entry(4096, 300_000, 262_144, 70, false),
            entry(16_777_216, 16_777_217, 5, 2, true),
        ];
        let bytes = encode(&entries).unwrap();
        assert_eq!(decode(&bytes).unwrap(), entries);
        assert_eq!(encode(&decode(&bytes).unwrap()).unwrap(), bytes);
        // The first entry in bytes: start marker on its first byte only.
        assert_eq!(bytes[..4], [0x80, 1, 2, 0]);
        // 63 fits one chunk; 64 - 63 = 1; 4095 = 63 * 64 + 63 takes two (most
        // significant first, 0x40 on the first); depth 1 with lasti gives 3.
        assert_eq!(bytes[4..9], [0x80 | 63, 1, 0x40 | 63, 63, 3]);
    }

    #[test]
    fn entries_report_where_they_start() {
        let bytes = encode(&[entry(0, 1, 2, 0, false), entry(64, 65, 2, 0, false)]).unwrap();
        let offsets: Vec<usize> = entries(&bytes).map(|e| e.unwrap().0).collect();
        assert_eq!(offsets, [0, 4]);
    }

    #[test]
    fn errors() {
        let e = decode(&[0x00, 1, 2, 0]).unwrap_err();
        assert_eq!(
            (e.offset, e.message.as_str()),
            (0, "exception table entry without its start bit")
        );
        let e = decode(&[0x80, 1, 2]).unwrap_err();
        assert_eq!((e.offset, e.message.as_str()), (3, "table truncated"));
        let e = decode(&[0x80, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 1]).unwrap_err();
        assert_eq!(e.message, "varint too long");
        // Decoding stops after the first error.
        assert_eq!(entries(&[0x00, 0x80, 1, 2, 0]).count(), 1);
        let e = encode(&[entry(4, 4, 0, 0, false)]).unwrap_err();
        assert_eq!(e.0, "empty exception range at unit 4");
    }

    /// The table of
    ///
    ///     def f(a):
    ///         try:
    ///             a()
    ///         except ValueError:
    ///             return 1
    ///         return 2
    ///
    /// as CPython 3.11.7 and 3.14.10 compiled it; the expected entries are the
    /// `ExceptionTable:` section `dis.dis` printed on each (its byte offsets halved; 3.11
    /// prints the last covered instruction, not the end: "4 to 22 -> 26 [0]" covers bytes
    /// 4..24, a one-unit POP_TOP at 22).
    #[test]
    fn tables_of_cpython() {
        let t311 = [130, 10, 13, 0, 141, 10, 27, 3, 154, 1, 27, 3];
        let expected = [
            entry(2, 12, 13, 0, false),
            entry(13, 23, 27, 1, true),
            entry(26, 27, 27, 1, true),
        ];
        assert_eq!(decode(&t311).unwrap(), expected);
        assert_eq!(encode(&expected).unwrap(), t311);
        // 3.14: "L1 to L2 -> L3 [0]", "L3 to L4 -> L6 [1] lasti", "L5 to L6 -> L6 [1] lasti"
        // with L1 = 2, L2 = 9, L3 = 11, L4 = 22, L5 = 25, L6 = 26 (code units).
        let t314 = [130, 7, 11, 0, 139, 11, 26, 3, 153, 1, 26, 3];
        let expected = [
            entry(2, 9, 11, 0, false),
            entry(11, 22, 26, 1, true),
            entry(25, 26, 26, 1, true),
        ];
        assert_eq!(decode(&t314).unwrap(), expected);
        assert_eq!(encode(&expected).unwrap(), t314);
    }
}
