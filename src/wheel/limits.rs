//! Limits on what reading a wheel may inflate, against decompression bombs.
//!
//! Every member's declared (central directory) size is checked against these limits when
//! the wheel is opened, before anything is inflated; inflating then stops at the declared
//! size, so memory and work are bounded by the limits whatever the archive claims.
//!
//! The defaults admit every real wheel we know of (the largest single members of CUDA
//! wheels are below 2 GiB, compressing about 2:1; text compresses 3:1 to 20:1) and refuse
//! bombs (deflate reaches about 1032:1). Each limit can be changed through an environment
//! variable, read the same way by `instrument`, `verify`, the Python API and the build
//! backend so they always agree:
//!
//! | variable                       | default | meaning                                     |
//! |--------------------------------|---------|---------------------------------------------|
//! | `EQUIP_WHEEL_MAX_MEMBER_SIZE`  | 4G      | uncompressed size of one member             |
//! | `EQUIP_WHEEL_MAX_TOTAL_SIZE`   | 16G     | sum of the uncompressed sizes of all members |
//! | `EQUIP_WHEEL_MAX_RATIO`        | 200     | uncompressed / compressed size (rounded down) of a member larger than 1 MiB |
//!
//! Sizes are a number of bytes with an optional `K`, `M` or `G` suffix (powers of 1024).

use crate::error::ConfigError;

/// Environment variable for [`ReadLimits::max_member_size`].
pub const ENV_MAX_MEMBER_SIZE: &str = "EQUIP_WHEEL_MAX_MEMBER_SIZE";
/// Environment variable for [`ReadLimits::max_total_size`].
pub const ENV_MAX_TOTAL_SIZE: &str = "EQUIP_WHEEL_MAX_TOTAL_SIZE";
/// Environment variable for [`ReadLimits::max_ratio`].
pub const ENV_MAX_RATIO: &str = "EQUIP_WHEEL_MAX_RATIO";

/// Members up to this uncompressed size (bytes) are never refused for their ratio: small
/// highly repetitive files are common and harmless.
pub const RATIO_GRACE_SIZE: u64 = 1 << 20;

/// The inflate limits of one read of a wheel; see the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadLimits {
    /// Largest uncompressed size of one member, in bytes.
    pub max_member_size: u64,
    /// Largest sum of the members' uncompressed sizes, in bytes.
    pub max_total_size: u64,
    /// Largest uncompressed / compressed size ratio of a member larger than
    /// [`RATIO_GRACE_SIZE`].
    pub max_ratio: u64,
}

impl Default for ReadLimits {
    fn default() -> Self {
        ReadLimits {
            max_member_size: 4 << 30,
            max_total_size: 16 << 30,
            max_ratio: 200,
        }
    }
}

impl ReadLimits {
    /// The defaults, overridden by the `EQUIP_WHEEL_MAX_*` environment variables that are
    /// set and not empty.
    ///
    /// Errors with a [`ConfigError`] naming the variable when a value is not a positive
    /// number (with an optional `K`/`M`/`G` suffix for sizes).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`ReadLimits::from_env`], with the variables looked up by `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut limits = ReadLimits::default();
        let value = |name: &str, sizes: bool| -> Result<Option<u64>, ConfigError> {
            let Some(text) = lookup(name).filter(|v| !v.trim().is_empty()) else {
                return Ok(None);
            };
            parse_amount(text.trim(), sizes)
                .filter(|n| *n > 0)
                .map(Some)
                .ok_or_else(|| {
                    let expected = match sizes {
                        true => "a positive number of bytes, optionally with a K, M or G suffix",
                        false => "a positive integer",
                    };
                    ConfigError::new(
                        "<environment>",
                        format!(
                            "{name}={}: expected {expected}",
                            crate::escape::quoted(&text)
                        ),
                    )
                })
        };
        if let Some(n) = value(ENV_MAX_MEMBER_SIZE, true)? {
            limits.max_member_size = n;
        }
        if let Some(n) = value(ENV_MAX_TOTAL_SIZE, true)? {
            limits.max_total_size = n;
        }
        if let Some(n) = value(ENV_MAX_RATIO, false)? {
            limits.max_ratio = n;
        }
        Ok(limits)
    }

    /// Whether a member of `size` bytes stored in `compressed_size` bytes is past
    /// [`ReadLimits::max_ratio`] (members up to [`RATIO_GRACE_SIZE`] never are).
    pub fn ratio_exceeded(&self, size: u64, compressed_size: u64) -> bool {
        size > RATIO_GRACE_SIZE && size / compressed_size.max(1) > self.max_ratio
    }

    /// Checks one member's declared sizes; the error says which limit and how to raise it.
    pub fn check_member(&self, size: u64, compressed_size: u64) -> Result<(), LimitError> {
        if size > self.max_member_size {
            return Err(LimitError::MemberSize {
                size,
                limit: self.max_member_size,
            });
        }
        if self.ratio_exceeded(size, compressed_size) {
            return Err(LimitError::Ratio {
                size,
                compressed_size,
                limit: self.max_ratio,
            });
        }
        Ok(())
    }

    /// Checks the sum of all members' declared sizes.
    pub fn check_total(&self, total: u64) -> Result<(), LimitError> {
        if total > self.max_total_size {
            return Err(LimitError::TotalSize {
                total,
                limit: self.max_total_size,
            });
        }
        Ok(())
    }
}

/// A declared size past a [`ReadLimits`] limit; the message names the limit's variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    /// One member's uncompressed size is past [`ReadLimits::max_member_size`].
    #[error(
        "declares {size} bytes uncompressed, more than the limit of {limit} bytes \
         ({ENV_MAX_MEMBER_SIZE})"
    )]
    MemberSize {
        /// The declared uncompressed size, in bytes.
        size: u64,
        /// The limit, in bytes.
        limit: u64,
    },
    /// One member's compression ratio is past [`ReadLimits::max_ratio`].
    #[error(
        "compression ratio {}:1 ({compressed_size} bytes inflating to {size}) is past \
         the limit of {limit}:1 ({ENV_MAX_RATIO}); a decompression bomb?",
        .size / (*.compressed_size).max(1)
    )]
    Ratio {
        /// The declared uncompressed size, in bytes.
        size: u64,
        /// The declared compressed size, in bytes.
        compressed_size: u64,
        /// The limit (uncompressed / compressed, rounded down).
        limit: u64,
    },
    /// The wheel file itself is larger than twice [`ReadLimits::max_total_size`] (a wheel
    /// is at most its members plus headers), so it is not read.
    #[error(
        "the file is {size} bytes, more than the limit of {limit} bytes (twice \
         {ENV_MAX_TOTAL_SIZE})"
    )]
    WheelFile {
        /// The file size, in bytes.
        size: u64,
        /// The limit, in bytes.
        limit: u64,
    },
    /// The members' uncompressed sizes sum past [`ReadLimits::max_total_size`].
    #[error(
        "the members declare {total} bytes uncompressed in total, more than the limit \
         of {limit} bytes ({ENV_MAX_TOTAL_SIZE})"
    )]
    TotalSize {
        /// The sum of the declared uncompressed sizes, in bytes.
        total: u64,
        /// The limit, in bytes.
        limit: u64,
    },
}

/// `123`, or with `sizes` also `64K`, `512M`, `4G` (powers of 1024, case-insensitive).
fn parse_amount(text: &str, sizes: bool) -> Option<u64> {
    let (digits, shift) = match text.char_indices().last()? {
        (i, 'k' | 'K') if sizes => (&text[..i], 10),
        (i, 'm' | 'M') if sizes => (&text[..i], 20),
        (i, 'g' | 'G') if sizes => (&text[..i], 30),
        _ => (text, 0),
    };
    let n: u64 = digits.parse().ok()?;
    n.checked_mul(1u64 << shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(pairs: &[(&str, &str)]) -> Result<ReadLimits, ConfigError> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ReadLimits::from_lookup(|name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn reads_sizes_with_suffixes() {
        let l = from(&[
            (ENV_MAX_MEMBER_SIZE, "512M"),
            (ENV_MAX_TOTAL_SIZE, "2g"),
            (ENV_MAX_RATIO, "50"),
        ])
        .unwrap();
        assert_eq!(l.max_member_size, 512 << 20);
        assert_eq!(l.max_total_size, 2 << 30);
        assert_eq!(l.max_ratio, 50);
        assert_eq!(from(&[]).unwrap(), ReadLimits::default());
    }

    #[test]
    fn rejects_bad_values_naming_the_variable() {
        for bad in ["-1", "0", "lots", "5T", "99999999999999999999G"] {
            let e = from(&[(ENV_MAX_MEMBER_SIZE, bad)]).unwrap_err();
            assert!(e.to_string().contains(ENV_MAX_MEMBER_SIZE), "{e}");
        }
        assert!(from(&[(ENV_MAX_RATIO, "10K")]).is_err());
    }

    #[test]
    fn ratio_applies_above_the_grace_size() {
        let l = ReadLimits::default();
        assert!(l.check_member(RATIO_GRACE_SIZE, 1).is_ok());
        assert!(l.check_member(RATIO_GRACE_SIZE + 1, 1).is_err());
        assert!(l.check_member(100 << 20, 1 << 20).is_ok());
        assert!(l.check_member(5 << 30, 4 << 30).is_err());
    }
}
