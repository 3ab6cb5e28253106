//! The RECORD file of a wheel (PyPA "Recording installed projects" and the binary
//! distribution format): CSV rows `path,sha256=<urlsafe-b64-nopad>,size`, RECORD's own row
//! `<dist-info>/RECORD,,`, `,` delimiter, `"` quoting, LF line endings.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256, Sha384, Sha512};

use crate::escape;
use crate::line::LineNumber;

/// One row of RECORD, interpreted: the member's hash and size, both absent in the rows
/// that carry neither (RECORD's own row, signature files).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordEntry {
    /// The member path, exactly as the zip name.
    pub path: String,
    /// The member's hash, `None` when the hash field is empty.
    pub hash: Option<RecordHash>,
    /// The member's size in bytes, `None` when the size field is empty.
    pub size: Option<u64>,
}

/// One row of RECORD as written: its three CSV fields, not yet interpreted (see
/// [`RecordEntry`] for the interpreted row; [`RecordHash::parse`] and [`parse_size`]
/// interpret the fields).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordRow {
    /// The member path, exactly as the zip name.
    pub path: String,
    /// The hash field (`sha256=...`), possibly empty.
    pub hash: String,
    /// The size field (decimal bytes), possibly empty.
    pub size: String,
}

impl RecordRow {
    /// Whether the row has neither a hash nor a size (as RECORD's own row must).
    pub fn is_bare(&self) -> bool {
        self.hash.is_empty() && self.size.is_empty()
    }
}

/// A RECORD hash or size field that does not parse (a RECORD syntax error; the message
/// quotes the field).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordFieldError {
    /// The hash field has no `=`.
    #[error("hash {} is not of the form <algorithm>=<digest>", escape::quoted(.field))]
    NotAHash {
        /// The hash field.
        field: String,
    },
    /// md5, sha1 or sha224.
    #[error(
        "hash algorithm {} is weaker than sha256 (a wheel requires sha256 or better)",
        escape::quoted(.name)
    )]
    WeakAlgorithm {
        /// The algorithm name as written.
        name: String,
    },
    /// An algorithm that is not sha256, sha384 or sha512.
    #[error(
        "hash algorithm {} is not supported (sha256, sha384 or sha512)",
        escape::quoted(.name)
    )]
    UnsupportedAlgorithm {
        /// The algorithm name as written.
        name: String,
    },
    /// The digest ends in `=` padding.
    #[error(
        "{} digest {} ends in '=' padding (RECORD digests are unpadded)",
        .algorithm.name(),
        escape::quoted(.digest)
    )]
    PaddedDigest {
        /// The algorithm.
        algorithm: HashAlgorithm,
        /// The digest as written.
        digest: String,
    },
    /// The digest is not urlsafe base64 or has the wrong length for the algorithm.
    #[error(
        "{} is not a {}-byte urlsafe base64 {} digest",
        escape::quoted(.digest),
        .algorithm.digest_len(),
        .algorithm.name()
    )]
    BadDigest {
        /// The algorithm.
        algorithm: HashAlgorithm,
        /// The digest as written.
        digest: String,
    },
    /// The size field is not a decimal number of bytes.
    #[error("size {} is not a decimal number of bytes", escape::quoted(.field))]
    BadSize {
        /// The size field.
        field: String,
    },
}

/// Parses a RECORD size field: a decimal number of bytes, digits only (no sign, no
/// spaces), within `u64`. Errors: [`RecordFieldError::BadSize`].
pub fn parse_size(field: &str) -> Result<u64, RecordFieldError> {
    field
        .parse::<u64>()
        .ok()
        .filter(|_| field.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| RecordFieldError::BadSize {
            field: field.to_string(),
        })
}

/// A RECORD hash algorithm equip-wheel checks. The wheel format requires "sha256 or
/// better" (md5 and sha1 are forbidden); of hashlib's guaranteed algorithms these are the
/// SHA-2 ones with at least 256 bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashAlgorithm {
    /// SHA-256 (what every build backend writes).
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl HashAlgorithm {
    /// The hashlib name, as written in RECORD.
    pub fn name(self) -> &'static str {
        match self {
            HashAlgorithm::Sha256 => "sha256",
            HashAlgorithm::Sha384 => "sha384",
            HashAlgorithm::Sha512 => "sha512",
        }
    }

    /// Digest length in bytes.
    pub fn digest_len(self) -> usize {
        match self {
            HashAlgorithm::Sha256 => 32,
            HashAlgorithm::Sha384 => 48,
            HashAlgorithm::Sha512 => 64,
        }
    }

    /// A fresh incremental hasher.
    pub fn hasher(self) -> RecordHasher {
        match self {
            HashAlgorithm::Sha256 => RecordHasher::Sha256(Sha256::new()),
            HashAlgorithm::Sha384 => RecordHasher::Sha384(Sha384::new()),
            HashAlgorithm::Sha512 => RecordHasher::Sha512(Sha512::new()),
        }
    }
}

/// An incremental hash of a member's content in one [`HashAlgorithm`].
#[derive(Clone)]
pub enum RecordHasher {
    /// SHA-256 in progress.
    Sha256(Sha256),
    /// SHA-384 in progress.
    Sha384(Sha384),
    /// SHA-512 in progress.
    Sha512(Sha512),
}

impl RecordHasher {
    /// Feeds more content.
    pub fn update(&mut self, data: &[u8]) {
        match self {
            RecordHasher::Sha256(h) => h.update(data),
            RecordHasher::Sha384(h) => h.update(data),
            RecordHasher::Sha512(h) => h.update(data),
        }
    }

    /// The digest of everything fed.
    pub fn finish(self) -> Vec<u8> {
        match self {
            RecordHasher::Sha256(h) => h.finalize().to_vec(),
            RecordHasher::Sha384(h) => h.finalize().to_vec(),
            RecordHasher::Sha512(h) => h.finalize().to_vec(),
        }
    }
}

/// The parsed hash field of a RECORD row: `<algorithm>=<urlsafe-b64 digest>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordHash {
    /// The algorithm.
    pub algorithm: HashAlgorithm,
    /// The raw digest, [`HashAlgorithm::digest_len`] bytes.
    pub digest: Vec<u8>,
}

impl RecordHash {
    /// The sha256 hash of `data` (what equip-wheel writes for new content).
    pub fn sha256(data: &[u8]) -> Self {
        RecordHash {
            algorithm: HashAlgorithm::Sha256,
            digest: Sha256::digest(data).to_vec(),
        }
    }

    /// Parses a RECORD hash field. The algorithm name is matched case-insensitively (as
    /// hashlib does); the digest is urlsafe base64 without `=` padding, as the wheel format
    /// writes it (pypa/installer compares the unpadded encoding and so refuses padding).
    ///
    /// Errors ([`RecordFieldError`]): md5, sha1 and sha224 (weaker than sha256), other
    /// algorithms, a padded digest, a digest that is not base64 or has the wrong length.
    pub fn parse(field: &str) -> Result<Self, RecordFieldError> {
        let (name, encoded) = field
            .split_once('=')
            .ok_or_else(|| RecordFieldError::NotAHash {
                field: field.to_string(),
            })?;
        let algorithm = match name.to_ascii_lowercase().as_str() {
            "sha256" => HashAlgorithm::Sha256,
            "sha384" => HashAlgorithm::Sha384,
            "sha512" => HashAlgorithm::Sha512,
            "md5" | "sha1" | "sha224" => {
                return Err(RecordFieldError::WeakAlgorithm {
                    name: name.to_string(),
                });
            }
            _ => {
                return Err(RecordFieldError::UnsupportedAlgorithm {
                    name: name.to_string(),
                });
            }
        };
        if encoded.ends_with('=') {
            return Err(RecordFieldError::PaddedDigest {
                algorithm,
                digest: encoded.to_string(),
            });
        }
        let digest = URL_SAFE_NO_PAD
            .decode(encoded)
            .ok()
            .filter(|d| d.len() == algorithm.digest_len())
            .ok_or_else(|| RecordFieldError::BadDigest {
                algorithm,
                digest: encoded.to_string(),
            })?;
        Ok(RecordHash { algorithm, digest })
    }
}

impl std::fmt::Display for RecordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}={}",
            self.algorithm.name(),
            URL_SAFE_NO_PAD.encode(&self.digest)
        )
    }
}

/// Hex sha256 of `data` (used for the provenance file).
pub fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Parses RECORD into its rows as written (the fields are interpreted by the caller, which
/// knows which rows may omit them). Errors carry the line and a message.
pub fn parse_record(text: &[u8]) -> Result<Vec<RecordRow>, (LineNumber, String)> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text);
    let mut out = Vec::new();
    for row in reader.records() {
        let row = row.map_err(|e| (position_line(e.position()), e.to_string()))?;
        let line = position_line(row.position());
        if row.len() != 3 {
            return Err((line, format!("expected 3 fields, found {}", row.len())));
        }
        out.push(RecordRow {
            path: row[0].to_string(),
            hash: row[1].to_string(),
            size: row[2].to_string(),
        });
    }
    Ok(out)
}

/// The line of a csv reader position (which counts from 1); line 1 when there is none, which
/// only an I/O error lacks (RECORD is parsed from memory).
fn position_line(position: Option<&csv::Position>) -> LineNumber {
    position
        .and_then(|p| u32::try_from(p.line()).ok())
        .and_then(LineNumber::new)
        .unwrap_or(LineNumber::FIRST)
}

/// Writes RECORD for `rows` (path, hash, size in bytes) in the given order, followed by
/// RECORD's own row `record_path,,`. Paths containing `,`, `"` or line breaks are quoted.
pub fn write_record<'a>(
    rows: impl IntoIterator<Item = (&'a str, &'a RecordHash, u64)>,
    record_path: &str,
) -> Vec<u8> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .quote_style(csv::QuoteStyle::Necessary)
        .from_writer(Vec::new());
    for (path, hash, size) in rows {
        let (hash, size) = (hash.to_string(), size.to_string());
        writer
            .write_record([path, hash.as_str(), size.as_str()])
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

    /// The RECORD hash of `data`: `sha256=` + urlsafe base64 without padding.
    fn record_hash(data: &[u8]) -> String {
        RecordHash::sha256(data).to_string()
    }

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
        let (x, empty) = (RecordHash::sha256(b"x"), RecordHash::sha256(b""));
        let text = write_record(
            [("a,b.py", &x, 1), ("plain.py", &empty, 0)],
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
        assert!(rows[2].is_bare());
        assert_eq!(RecordHash::parse(&rows[0].hash), Ok(x));
    }

    #[test]
    fn sizes_are_decimal_digits_only() {
        assert_eq!(parse_size("0"), Ok(0));
        assert_eq!(parse_size("18446744073709551615"), Ok(u64::MAX));
        for bad in ["", "+1", "-1", " 1", "0x10", "1.0", "18446744073709551616"] {
            assert!(parse_size(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn parses_sha256_or_better_and_refuses_weaker_hashes() {
        use sha2::Digest;
        let sha512 = URL_SAFE_NO_PAD.encode(Sha512::digest(b"hello"));
        let h = RecordHash::parse(&format!("sha512={sha512}")).unwrap();
        assert_eq!(h.algorithm, HashAlgorithm::Sha512);
        assert_eq!(h.to_string(), format!("sha512={sha512}"));
        let sha384 = URL_SAFE_NO_PAD.encode(Sha384::digest(b"hello"));
        assert!(RecordHash::parse(&format!("SHA384={sha384}")).is_ok());
        for padded in [
            format!("sha384={sha384}=="),
            format!("sha512={sha512}=="),
            format!("{}=", record_hash(b"hello")),
        ] {
            let e = RecordHash::parse(&padded).unwrap_err().to_string();
            assert!(e.contains("padding"), "{e}");
        }
        let h = RecordHash::parse(&record_hash(b"hello")).unwrap();
        assert_eq!(h.to_string(), record_hash(b"hello"));
        for weak in [
            "md5=XUFAKrxLKna5cZ2REBfFkg",
            "sha1=qvTGHdzF6KLavt4PO0gs2a6pQ00",
            "sha224=x",
        ] {
            let e = RecordHash::parse(weak).unwrap_err().to_string();
            assert!(e.contains("weaker than sha256"), "{e}");
        }
        assert!(RecordHash::parse("blake2b=abc").is_err());
        assert!(RecordHash::parse(&format!("sha256={sha512}")).is_err());
        assert!(RecordHash::parse("sha256").is_err());
    }

    #[test]
    fn rejects_rows_with_wrong_field_count() {
        let err = parse_record(b"a.py,sha256=x,1\nb.py,sha256=y\n").unwrap_err();
        assert_eq!(err.0.get(), 2);
    }
}
