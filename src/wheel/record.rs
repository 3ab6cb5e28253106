//! The RECORD file of a wheel (PyPA "Recording installed projects" and the binary
//! distribution format): CSV rows `path,sha256=<urlsafe-b64-nopad>,size`, RECORD's own row
//! `<dist-info>/RECORD,,`, `,` delimiter, `"` quoting, LF line endings.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// One row of RECORD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordEntry {
    /// The member path, exactly as the zip name.
    pub path: String,
    /// `sha256=...`, or empty (RECORD's own row).
    pub hash: String,
    /// Decimal size in bytes, or empty (RECORD's own row).
    pub size: String,
}

/// Formats the RECORD hash of `data`: `sha256=` + urlsafe base64 without padding (43 chars).
pub fn record_hash(data: &[u8]) -> String {
    format!("sha256={}", URL_SAFE_NO_PAD.encode(Sha256::digest(data)))
}

/// Hex sha256 of `data` (used for the provenance file).
pub fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Parses RECORD. Errors carry the 1-based line and a message.
pub fn parse_record(text: &[u8]) -> Result<Vec<RecordEntry>, (usize, String)> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text);
    let mut out = Vec::new();
    for row in reader.records() {
        let row = row.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line() as usize);
            (line, e.to_string())
        })?;
        let line = row.position().map_or(0, |p| p.line() as usize);
        if row.len() != 3 {
            return Err((line, format!("expected 3 fields, found {}", row.len())));
        }
        out.push(RecordEntry {
            path: row[0].to_string(),
            hash: row[1].to_string(),
            size: row[2].to_string(),
        });
    }
    Ok(out)
}

/// Writes RECORD for `rows` (path, `sha256=...` hash, size in bytes) in the given order,
/// followed by RECORD's own row `record_path,,`. Paths containing `,`, `"` or line breaks
/// are quoted.
pub fn write_record<'a>(
    rows: impl IntoIterator<Item = (&'a str, &'a str, u64)>,
    record_path: &str,
) -> Vec<u8> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .quote_style(csv::QuoteStyle::Necessary)
        .from_writer(Vec::new());
    for (path, hash, size) in rows {
        let size = size.to_string();
        writer
            .write_record([path, hash, size.as_str()])
            .expect("writing CSV to memory cannot fail");
    }
    writer
        .write_record([record_path, "", ""])
        .expect("writing CSV to memory cannot fail");
    writer
        .into_inner()
        .expect("flushing CSV to memory cannot fail")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_matches_pip_format() {
        // python -c "import hashlib,base64;print(base64.urlsafe_b64encode(hashlib.sha256(b'hello').digest()).rstrip(b'='))"
        assert_eq!(
            record_hash(b"hello"),
            "sha256=LPJNul-wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ"
        );
    }

    #[test]
    fn quotes_paths_with_commas_and_round_trips() {
        let (x, empty) = (record_hash(b"x"), record_hash(b""));
        let text = write_record(
            [("a,b.py", x.as_str(), 1), ("plain.py", empty.as_str(), 0)],
            "p-1.dist-info/RECORD",
        );
        let s = String::from_utf8(text.clone()).unwrap();
        assert!(s.starts_with("\"a,b.py\",sha256="));
        assert!(s.ends_with("p-1.dist-info/RECORD,,\n"));
        assert!(!s.contains('\r'));
        let rows = parse_record(&text).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].path, "a,b.py");
        assert_eq!(rows[1].size, "0");
        assert_eq!(rows[2].hash, "");
    }

    #[test]
    fn rejects_rows_with_wrong_field_count() {
        let err = parse_record(b"a.py,sha256=x,1\nb.py,sha256=y\n").unwrap_err();
        assert_eq!(err.0, 2);
    }
}
