//! Source encodings as CPython's tokenizer reads them (PEP 263, PEP 3120): a UTF-8 BOM, or a
//! `coding[:=]` declaration in a comment on line 1 or 2, else UTF-8. A file is decoded to text
//! for parsing and editing and encoded back in its own encoding; equip-wheel only inserts
//! ASCII, so every edit is representable.

use encoding_rs::Encoding;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// How a source file is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceEncoding {
    /// UTF-8 (the default).
    Utf8,
    /// ASCII declared explicitly: UTF-8 restricted to 7 bits.
    Ascii,
    /// ISO-8859-1 as Python defines it (bytes map 1:1 to U+0000..U+00FF).
    Latin1,
    /// Another encoding known to the WHATWG Encoding Standard (encoding_rs).
    Other(&'static Encoding),
}

/// A decoded source file.
#[derive(Debug, Clone)]
pub struct Decoded {
    /// The text, without the BOM.
    pub text: String,
    /// Its encoding.
    pub encoding: SourceEncoding,
    /// Whether the file started with a UTF-8 BOM.
    pub bom: bool,
}

/// Why a source file's bytes cannot be decoded (or re-encoded byte-exactly); a one-line
/// reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The coding declaration names an encoding Python does not know.
    #[error("unknown source encoding {0:?}")]
    UnknownEncoding(String),
    /// A UTF-8 BOM with a coding declaration of another encoding (holds the declared name).
    #[error("a UTF-8 BOM together with a {0:?} coding declaration")]
    BomConflict(String),
    /// Invalid UTF-8.
    #[error("invalid UTF-8 at byte {}", .0.utf8_error().valid_up_to())]
    Utf8(#[source] std::string::FromUtf8Error),
    /// A byte of 0x80 or more in a file declared ascii (holds its offset).
    #[error("non-ASCII byte at {0} in a file declared ascii")]
    NonAscii(usize),
    /// Bytes that are invalid in the declared encoding (holds its name).
    #[error("bytes that are invalid in {0}")]
    Invalid(&'static str),
    /// Text that does not re-encode to the same bytes (holds the encoding's name).
    #[error("{0} text that does not re-encode to the same bytes")]
    NotRoundTrip(&'static str),
}

/// Decodes `bytes` as Python would. Errors ([`DecodeError`]) when the declared encoding is
/// unknown, the bytes are invalid in it, or it cannot be re-encoded byte-exactly.
pub fn decode(bytes: &[u8]) -> Result<Decoded, DecodeError> {
    let (bom, body) = match bytes.strip_prefix(BOM) {
        Some(rest) => (true, rest),
        None => (false, bytes),
    };
    let declared = declared_encoding(body);
    let encoding = match declared.as_deref() {
        None => SourceEncoding::Utf8,
        Some(name) => {
            resolve(name).ok_or_else(|| DecodeError::UnknownEncoding(name.to_string()))?
        }
    };
    if bom && encoding != SourceEncoding::Utf8 {
        return Err(DecodeError::BomConflict(declared.unwrap_or_default()));
    }
    let text = match encoding {
        SourceEncoding::Utf8 => String::from_utf8(body.to_vec()).map_err(DecodeError::Utf8)?,
        SourceEncoding::Ascii => {
            if let Some(i) = body.iter().position(|b| *b >= 0x80) {
                return Err(DecodeError::NonAscii(i));
            }
            String::from_utf8(body.to_vec()).expect("ASCII is UTF-8")
        }
        SourceEncoding::Latin1 => body.iter().map(|&b| b as char).collect(),
        SourceEncoding::Other(enc) => {
            let (text, had_errors) = enc.decode_without_bom_handling(body);
            if had_errors {
                return Err(DecodeError::Invalid(enc.name()));
            }
            let text = text.into_owned();
            let (back, _, unmappable) = enc.encode(&text);
            if unmappable || back.as_ref() != body {
                return Err(DecodeError::NotRoundTrip(enc.name()));
            }
            text
        }
    };
    Ok(Decoded {
        text,
        encoding,
        bom,
    })
}

/// Encodes edited text back in the file's own encoding (and BOM).
///
/// Panics only if `text` contains characters the encoding cannot represent, which cannot
/// happen when the edits are ASCII.
pub fn encode(decoded: &Decoded, text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + 3);
    if decoded.bom {
        out.extend_from_slice(BOM);
    }
    match decoded.encoding {
        SourceEncoding::Utf8 | SourceEncoding::Ascii => out.extend_from_slice(text.as_bytes()),
        SourceEncoding::Latin1 => out
            .extend(text.chars().map(|c| {
                u8::try_from(u32::from(c)).expect("latin-1 text stays in U+0000..U+00FF")
            })),
        SourceEncoding::Other(enc) => {
            let (bytes, _, unmappable) = enc.encode(text);
            assert!(!unmappable, "inserted text must be representable");
            out.extend_from_slice(&bytes);
        }
    }
    out
}

/// The encoding named by a PEP 263 declaration on line 1, or on line 2 when line 1 is blank
/// or a comment.
pub fn declared_encoding(body: &[u8]) -> Option<String> {
    let mut lines = body.split(|b| *b == b'\n');
    let first = lines.next()?;
    if let Some(name) = coding_in_line(first) {
        return Some(name);
    }
    let first_trim = trim_ws(first);
    if !(first_trim.is_empty() || first_trim.starts_with(b"#")) {
        return None;
    }
    coding_in_line(lines.next()?)
}

/// Whether line `index` (0-based) of the source is a coding declaration or a shebang: such
/// lines must stay as they are.
pub fn is_header_line(index: usize, line: &str) -> bool {
    (index == 0 && line.starts_with("#!"))
        || (index < 2 && coding_in_line(line.as_bytes()).is_some())
}

fn trim_ws(line: &[u8]) -> &[u8] {
    let start = line
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\x0c' | b'\r'))
        .unwrap_or(line.len());
    &line[start..]
}

/// `^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)` on one line.
fn coding_in_line(line: &[u8]) -> Option<String> {
    let rest = trim_ws(line);
    let comment = rest.strip_prefix(b"#")?;
    let mut i = 0;
    while i + 6 < comment.len() + 1 {
        if comment[i..].starts_with(b"coding")
            && matches!(comment.get(i + 6), Some(b':') | Some(b'='))
        {
            let tail = &comment[i + 7..];
            let tail = &tail[tail
                .iter()
                .position(|b| !matches!(b, b' ' | b'\t'))
                .unwrap_or(tail.len())..];
            let len = tail
                .iter()
                .position(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')))
                .unwrap_or(tail.len());
            if len > 0 {
                return Some(String::from_utf8_lossy(&tail[..len]).into_owned());
            }
        }
        i += 1;
    }
    None
}

/// Maps a declared name the way CPython's tokenizer (`get_normal_name`) and codec lookup do.
fn resolve(name: &str) -> Option<SourceEncoding> {
    let n = name.to_ascii_lowercase().replace('_', "-");
    let is = |base: &str| n == base || n.starts_with(&format!("{base}-"));
    if is("utf-8") || n == "utf8" {
        return Some(SourceEncoding::Utf8);
    }
    if is("latin-1")
        || is("iso-8859-1")
        || is("iso-latin-1")
        || matches!(n.as_str(), "latin1" | "l1" | "iso8859-1" | "cp819" | "8859")
    {
        return Some(SourceEncoding::Latin1);
    }
    if matches!(n.as_str(), "ascii" | "us-ascii" | "646") {
        return Some(SourceEncoding::Ascii);
    }
    let enc = Encoding::for_label(n.as_bytes()).or_else(|| Encoding::for_label(name.as_bytes()))?;
    // WHATWG maps these to encodings Python does not use for them.
    if enc == encoding_rs::UTF_16LE
        || enc == encoding_rs::UTF_16BE
        || enc == encoding_rs::REPLACEMENT
    {
        return None;
    }
    Some(SourceEncoding::Other(enc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declarations() {
        assert_eq!(
            declared_encoding(b"# -*- coding: latin-1 -*-\nx"),
            Some("latin-1".into())
        );
        assert_eq!(
            declared_encoding(b"#!/usr/bin/python\n# vim: set fileencoding=cp1252 :\n"),
            Some("cp1252".into())
        );
        assert_eq!(declared_encoding(b"import x\n# coding: latin-1\n"), None);
        assert_eq!(declared_encoding(b"x = 1\n"), None);
    }

    #[test]
    fn latin1_round_trips_every_byte() {
        let mut bytes = b"# coding: latin-1\ns = '".to_vec();
        bytes.extend(0x80u8..=0xff);
        bytes.extend_from_slice(b"'\n");
        let d = decode(&bytes).unwrap();
        assert_eq!(d.encoding, SourceEncoding::Latin1);
        assert!(d.text.contains('\u{80}'));
        assert_eq!(encode(&d, &d.text), bytes);
    }

    #[test]
    fn bom_and_other_encodings() {
        let d = decode(b"\xEF\xBB\xBFx = '\xC3\xA9'\n").unwrap();
        assert!(d.bom);
        assert_eq!(encode(&d, &d.text), b"\xEF\xBB\xBFx = '\xC3\xA9'\n");
        let sjis = b"# coding: shift_jis\ns = '\x82\xa0'\n";
        let d = decode(sjis).unwrap();
        assert!(d.text.contains('\u{3042}'));
        assert_eq!(encode(&d, &d.text), sjis);
        assert!(decode(b"# coding: klingon\n").is_err());
        assert!(decode(b"x = '\xff'\n").is_err());
        assert!(decode(b"# coding: ascii\nx = '\xc3\xa9'\n").is_err());
        assert!(decode(b"\xEF\xBB\xBF# coding: latin-1\n").is_err());
    }
}
