//! Reading and editing the email-header files of `.dist-info` (`WHEEL`, `METADATA`),
//! and the version arithmetic of a local version label (PEP 440).
//!
//! Edits touch only the header block (up to the first empty line) and keep every other
//! byte, including the line endings, as it was.

/// The value of the first header `key` (case-insensitive) in the header block of `text`.
pub fn header_value<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    for line in text.split_inclusive('\n') {
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            return None;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.trim().eq_ignore_ascii_case(key)
        {
            return Some(v.trim());
        }
    }
    None
}

/// Sets header `key` to `value` in the header block of `text`: replaces the first occurrence
/// (dropping later duplicates) or appends it at the end of the header block.
pub fn set_header(text: &str, key: &str, value: &str) -> String {
    let newline = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let mut out = String::with_capacity(text.len() + key.len() + value.len() + 4);
    let mut in_headers = true;
    let mut done = false;
    for line in text.split_inclusive('\n') {
        let bare = line.trim_end_matches(['\r', '\n']);
        if in_headers && bare.is_empty() {
            if !done {
                out.push_str(&format!("{key}: {value}{newline}"));
                done = true;
            }
            in_headers = false;
        }
        let is_key = in_headers
            && bare
                .split_once(':')
                .is_some_and(|(k, _)| k.trim().eq_ignore_ascii_case(key));
        if is_key {
            if !done {
                let ending = &line[bare.len()..];
                out.push_str(&format!("{key}: {value}{ending}"));
                done = true;
            }
            continue;
        }
        out.push_str(line);
    }
    if !done {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push_str(newline);
        }
        out.push_str(&format!("{key}: {value}{newline}"));
    }
    out
}

/// Appends a local version label: `1.0` + `traced` = `1.0+traced`; an existing label is
/// extended with `.`: `1.0+cu118` + `traced` = `1.0+cu118.traced` (PEP 440 local versions).
pub fn with_local_label(version: &str, label: &str) -> String {
    if version.contains('+') {
        format!("{version}.{label}")
    } else {
        format!("{version}+{label}")
    }
}

/// Checks a local version label: alphanumeric segments separated by `.` (PEP 440).
pub fn validate_local_label(label: &str) -> Result<(), String> {
    let ok = !label.is_empty()
        && label
            .split('.')
            .all(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric()));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "local version label {label:?} must be ASCII letters and digits in '.'-separated segments"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_headers_only_from_the_header_block() {
        let text = "Metadata-Version: 2.1\nName: x\nVersion: 1.0\n\nVersion: body\n";
        assert_eq!(header_value(text, "version"), Some("1.0"));
        assert_eq!(header_value(text, "Summary"), None);
    }

    #[test]
    fn replaces_or_appends_headers_keeping_crlf() {
        let text = "Wheel-Version: 1.0\r\nGenerator: x\r\nRoot-Is-Purelib: true\r\n";
        let out = set_header(text, "Build", "1traced");
        assert_eq!(out, format!("{text}Build: 1traced\r\n"));
        let again = set_header(&out, "Build", "2");
        assert!(again.ends_with("Build: 2\r\n"));
        assert_eq!(again.matches("Build").count(), 1);

        let meta = "Name: x\nVersion: 1.0\n\nlong description\nVersion: 9\n";
        assert_eq!(
            set_header(meta, "Version", "1.0+traced"),
            "Name: x\nVersion: 1.0+traced\n\nlong description\nVersion: 9\n"
        );
    }

    #[test]
    fn local_labels() {
        assert_eq!(with_local_label("1.0", "traced"), "1.0+traced");
        assert_eq!(with_local_label("1.0+cu118", "traced"), "1.0+cu118.traced");
        assert!(validate_local_label("traced.2").is_ok());
        assert!(validate_local_label("tr-aced").is_err());
        assert!(validate_local_label("").is_err());
    }
}
