//! Wheel file names: `{distribution}-{version}(-{build tag})?-{python tag}-{abi tag}-{platform tag}.whl`
//! (PyPA binary distribution format, "File name convention").

use std::fmt;

/// The parsed parts of a wheel file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WheelName {
    /// Distribution name as written in the file name (already escaped: `_` for runs of `-_.`).
    pub distribution: String,
    /// Version as written in the file name.
    pub version: String,
    /// Optional build tag; it starts with a digit.
    pub build_tag: Option<String>,
    /// The compressed tag set: `{python}-{abi}-{platform}`.
    pub tags: String,
}

impl WheelName {
    /// Parses a wheel file name (without directory).
    ///
    /// Errors ([`FileNameError`]) when the name has the wrong number of parts, an empty
    /// part, an invalid build tag ([`validate_build_tag`]), or no `.whl` suffix.
    pub fn parse(file_name: &str) -> Result<Self, FileNameError> {
        let file_name_owned = || file_name.to_string();
        let stem = file_name
            .strip_suffix(".whl")
            .ok_or_else(|| FileNameError::NotWhl(file_name_owned()))?;
        let parts: Vec<&str> = stem.split('-').collect();
        let (distribution, version, build_tag, tags) = match parts.as_slice() {
            [d, v, py, abi, plat] => (d, v, None, [py, abi, plat]),
            [d, v, b, py, abi, plat] => (d, v, Some(*b), [py, abi, plat]),
            _ => {
                return Err(FileNameError::PartCount {
                    file_name: file_name_owned(),
                    parts: parts.len(),
                });
            }
        };
        if distribution.is_empty() || version.is_empty() || tags.iter().any(|t| t.is_empty()) {
            return Err(FileNameError::EmptyPart(file_name_owned()));
        }
        if let Some(b) = build_tag {
            validate_build_tag(b).map_err(|source| FileNameError::BuildTag {
                file_name: file_name_owned(),
                source,
            })?;
        }
        Ok(WheelName {
            distribution: distribution.to_string(),
            version: version.to_string(),
            build_tag: build_tag.map(str::to_string),
            tags: tags.map(|t| t.to_string()).join("-"),
        })
    }
}

/// The `{distribution}-{version}` stem that names a wheel's `.dist-info` and `.data`
/// directories (binary distribution format: "The .dist-info directory", "The .data
/// directory"), as the wheel spells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DistInfoName {
    /// The distribution name as the directory spells it (not normalized).
    pub distribution: String,
    /// The version.
    pub version: String,
}

impl DistInfoName {
    /// Splits a `.dist-info` directory name (`attrs-24.2.0.dist-info`); `None` when it has no
    /// `.dist-info` suffix or no `-` between the name and the version.
    pub fn parse(dir: &str) -> Option<DistInfoName> {
        let (distribution, version) = dir.strip_suffix(".dist-info")?.rsplit_once('-')?;
        Some(DistInfoName {
            distribution: distribution.to_string(),
            version: version.to_string(),
        })
    }

    /// The `.dist-info` directory name.
    pub fn dist_info_dir(&self) -> String {
        format!("{}-{}.dist-info", self.distribution, self.version)
    }

    /// The `.data` directory name.
    pub fn data_dir(&self) -> String {
        format!("{}-{}.data", self.distribution, self.version)
    }

    /// The same distribution at `version`.
    pub fn with_version(&self, version: String) -> DistInfoName {
        DistInfoName {
            distribution: self.distribution.clone(),
            version,
        }
    }

    /// Whether it names the wheel file `name` names: the same normalized distribution name
    /// and the same version.
    pub fn matches(&self, name: &WheelName) -> bool {
        normalize_dist_name(&self.distribution) == normalize_dist_name(&name.distribution)
            && self.version == name.version
    }
}

impl fmt::Display for WheelName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.distribution, self.version)?;
        if let Some(b) = &self.build_tag {
            write!(f, "-{b}")?;
        }
        write!(f, "-{}.whl", self.tags)
    }
}

/// A file name that is not a wheel file name (binary distribution format: `{distribution}-
/// {version}(-{build tag})?-{python tag}-{abi tag}-{platform tag}.whl`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileNameError {
    /// The path has no file name, or one that is not UTF-8 (payload: the path, escaped).
    #[error("{0} does not name a UTF-8 file")]
    NotUtf8(String),
    /// No `.whl` suffix.
    #[error("{0:?} does not end in .whl")]
    NotWhl(String),
    /// Not 5 or 6 dash-separated parts.
    #[error("{file_name:?} must have 5 or 6 dash-separated parts, it has {parts}")]
    PartCount {
        /// The file name.
        file_name: String,
        /// How many parts it has.
        parts: usize,
    },
    /// One of the parts is empty.
    #[error("{0:?} has an empty part")]
    EmptyPart(String),
    /// The build tag is invalid.
    #[error("{file_name:?}: {source}")]
    BuildTag {
        /// The file name.
        file_name: String,
        /// What is wrong with the build tag.
        #[source]
        source: BuildTagError,
    },
}

/// A build tag that does not start with a digit or has characters outside `[A-Za-z0-9_.]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildTagError {
    /// The first character is not a digit.
    #[error("build tag {0:?} must start with a digit")]
    NoLeadingDigit(String),
    /// A character outside `[A-Za-z0-9_.]`.
    #[error(
        "build tag {tag:?} contains {character:?}; only letters, digits, '_' and '.' are allowed"
    )]
    BadCharacter {
        /// The build tag.
        tag: String,
        /// The first offending character.
        character: char,
    },
}

/// Checks a build tag: it must start with a digit and, as uv requires, use only
/// `[A-Za-z0-9_.]`.
pub fn validate_build_tag(tag: &str) -> Result<(), BuildTagError> {
    if !tag.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(BuildTagError::NoLeadingDigit(tag.to_string()));
    }
    if let Some(character) = tag
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '.'))
    {
        return Err(BuildTagError::BadCharacter {
            tag: tag.to_string(),
            character,
        });
    }
    Ok(())
}

/// PEP 503 normalized name: lowercase, runs of `-`, `_`, `.` replaced by one `-`.
pub fn normalize_dist_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_sep {
                out.push('-');
            }
            in_sep = true;
        } else {
            out.push(c.to_ascii_lowercase());
            in_sep = false;
        }
    }
    out
}

/// The name as a Python identifier fragment: normalized, with `-` turned into `_`
/// (used for `_equip_hooks_<name>`).
pub fn dist_name_identifier(name: &str) -> String {
    normalize_dist_name(name)
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_and_build_tag_names() {
        let n = WheelName::parse("six-1.16.0-py2.py3-none-any.whl").unwrap();
        assert_eq!(n.distribution, "six");
        assert_eq!(n.version, "1.16.0");
        assert_eq!(n.build_tag, None);
        assert_eq!(n.tags, "py2.py3-none-any");
        assert_eq!(n.to_string(), "six-1.16.0-py2.py3-none-any.whl");

        let n = WheelName::parse("pkg-1.0+local-1traced-cp311-cp311-linux_x86_64.whl").unwrap();
        assert_eq!(n.version, "1.0+local");
        assert_eq!(n.build_tag.as_deref(), Some("1traced"));
    }

    #[test]
    fn rejects_malformed_names() {
        assert!(WheelName::parse("six-1.16.0.tar.gz").is_err());
        assert!(WheelName::parse("six-1.16.0-py3-none.whl").is_err());
        assert!(WheelName::parse("six-1.16.0-x-py3-none-any.whl").is_err());
        assert!(WheelName::parse("a-b-1-c-d-e-f.whl").is_err());
    }

    #[test]
    fn normalizes_names() {
        assert_eq!(normalize_dist_name("More_Itertools"), "more-itertools");
        assert_eq!(normalize_dist_name("zope...interface"), "zope-interface");
        assert_eq!(dist_name_identifier("more-itertools"), "more_itertools");
        assert!(validate_build_tag("1traced").is_ok());
        assert!(validate_build_tag("traced").is_err());
        assert!(validate_build_tag("1-x").is_err());
    }

    #[test]
    fn dist_info_names() {
        let d = DistInfoName::parse("More_Itertools-10.5.0.dist-info").unwrap();
        assert_eq!(d.distribution, "More_Itertools");
        assert_eq!(d.version, "10.5.0");
        assert_eq!(d.data_dir(), "More_Itertools-10.5.0.data");
        let out = d.with_version("10.5.0+traced".into());
        assert_eq!(
            out.dist_info_dir(),
            "More_Itertools-10.5.0+traced.dist-info"
        );
        let wheel = WheelName::parse("more_itertools-10.5.0-py3-none-any.whl").unwrap();
        assert!(d.matches(&wheel));
        assert!(!out.matches(&wheel));
        assert_eq!(DistInfoName::parse("pkg.dist-info"), None);
        assert_eq!(DistInfoName::parse("pkg-1.0.data"), None);
    }
}
