//! The error types of equip-wheel and the exit codes the CLI maps them to.
//!
//! Three families, mirrored by the Python exception hierarchy
//! (`equip_wheel.ConfigError`, `WheelError`, `InstrumentError`):
//! - [`ConfigError`]: the configuration or the command line is wrong (exit code 2);
//! - [`WheelError`]: an input wheel is broken, hostile or already instrumented (exit code 1);
//! - [`Error::Instrument`] / [`Error::Io`]: a member could not be instrumented or the
//!   output could not be written (exit code 1).

use std::fmt;
use std::path::PathBuf;

use crate::line::LineNumber;

/// Exit code for a usage or configuration error.
pub const EXIT_USAGE: i32 = 2;
/// Exit code for a bad wheel or a failed instrumentation.
pub const EXIT_FAILURE: i32 = 1;

/// Any error equip-wheel reports.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration (file, preset or options) is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// An input wheel is invalid or cannot be processed.
    #[error(transparent)]
    Wheel(#[from] WheelError),
    /// A member of a valid wheel could not be instrumented.
    #[error(
        "{}: {}: {}",
        crate::escape::path(.wheel),
        crate::escape::escape(.member),
        crate::escape::escape(&.cause.to_string())
    )]
    Instrument {
        /// The input wheel.
        wheel: PathBuf,
        /// The archive member name.
        member: String,
        /// What went wrong: the rewriter's own error (`SourceError`, `PycError`), or a
        /// message when equip-wheel itself declines the member.
        #[source]
        cause: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
    /// A filesystem operation failed; a missing file reads `PATH: no such file or
    /// directory`, a refused one `PATH: permission denied`.
    #[error("{}: {}", crate::escape::path(.path), io_reason(.source))]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The operation was interrupted (Ctrl-C from Python).
    #[error("interrupted")]
    Interrupted,
}

impl Error {
    /// The process exit code for this error: 2 for configuration/usage, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Config(_) => EXIT_USAGE,
            _ => EXIT_FAILURE,
        }
    }

    /// Builds an [`Error::Io`] for `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// The reason of an I/O error as the command line prints it: the two every user meets in
/// plain words, the others as the operating system words them.
pub(crate) fn io_reason(error: &std::io::Error) -> String {
    match error.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => error.to_string(),
    }
}

/// A configuration error, located as precisely as possible.
///
/// Displayed as `FILE:LINE:COLUMN: [KEY] MESSAGE`, omitting the parts that are unknown.
/// The fields hold the text as found (a TOML key may contain any character); the display
/// escapes unprintable characters in every part (see [`crate::escape::printable`]), so the
/// error is always one line that is safe to print on a terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The config file, preset (`preset:calls`) or `<command line>`.
    pub file: String,
    /// The dotted TOML key, e.g. `hooks.function-enter`.
    pub key: Option<String>,
    /// The line in `file`.
    pub line: Option<LineNumber>,
    /// 1-based column in `file` (characters).
    pub column: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl ConfigError {
    /// An error about `file` as a whole.
    pub fn new(file: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            file: file.into(),
            key: None,
            line: None,
            column: None,
            message: message.into(),
        }
    }

    /// Adds the TOML key the error is about.
    pub fn with_key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// Adds a line and a 1-based column.
    pub fn at(mut self, line: LineNumber, column: usize) -> Self {
        self.line = Some(line);
        self.column = Some(column);
        self
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::escape::printable;
        write!(f, "{}", printable(&self.file))?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        write!(f, ": ")?;
        if let Some(key) = &self.key {
            write!(f, "[{}] ", printable(key))?;
        }
        write!(f, "{}", printable(&self.message))
    }
}

impl std::error::Error for ConfigError {}

/// A problem with an input wheel, naming the wheel and, when known, the member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WheelError {
    /// The wheel file.
    pub wheel: PathBuf,
    /// The archive member involved, if any.
    pub member: Option<String>,
    /// What is wrong.
    pub problem: WheelProblem,
}

impl WheelError {
    /// A problem with the wheel as a whole.
    pub fn new(wheel: impl Into<PathBuf>, problem: WheelProblem) -> Self {
        WheelError {
            wheel: wheel.into(),
            member: None,
            problem,
        }
    }

    /// A problem with one member.
    pub fn member(
        wheel: impl Into<PathBuf>,
        member: impl Into<String>,
        problem: WheelProblem,
    ) -> Self {
        WheelError {
            wheel: wheel.into(),
            member: Some(member.into()),
            problem,
        }
    }
}

impl fmt::Display for WheelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", crate::escape::path(&self.wheel))?;
        if let Some(member) = &self.member {
            write!(f, "{}: ", crate::escape::escape(member))?;
        }
        write!(f, "{}", self.problem.printable())
    }
}

impl std::error::Error for WheelError {}

impl WheelProblem {
    /// The problem as one printable line: its display with unprintable characters escaped
    /// (see [`crate::escape::printable`]), since its text may quote names from the wheel.
    pub fn printable(&self) -> String {
        crate::escape::printable(&self.to_string()).into_owned()
    }
}

/// The kinds of wheel defects equip-wheel detects (the binary distribution format spec, PEP 427/491, and the zip rules installers enforce).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WheelProblem {
    /// The file name does not follow `{name}-{version}(-{build})?-{py}-{abi}-{plat}.whl`.
    #[error("not a wheel file name: {0}")]
    BadFilename(#[from] crate::wheel::filename::FileNameError),
    /// The file is not a readable zip archive.
    #[error("not a valid zip archive: {0}")]
    NotAZip(String),
    /// A member name is unsafe or malformed.
    #[error("unsafe member name: {0}")]
    UnsafeName(String),
    /// The same name appears twice in the archive.
    #[error("duplicate member name in the archive")]
    DuplicateName,
    /// The member is a symbolic link, which the wheel format does not support.
    #[error("symbolic links are not allowed in a wheel")]
    Symlink,
    /// The member is compressed with a method other than stored or deflate.
    #[error("unsupported compression method {0} (only stored and deflate are allowed)")]
    UnsupportedCompression(String),
    /// The member is encrypted.
    #[error("encrypted members are not allowed in a wheel")]
    Encrypted,
    /// The member's data cannot be read back as declared (CRC, size or deflate stream).
    #[error("corrupt member data: {0}")]
    CorruptMember(String),
    /// Not exactly one top-level `.dist-info` directory.
    #[error("{0}")]
    DistInfo(String),
    /// A required metadata file is missing or invalid.
    #[error("{0}")]
    Metadata(String),
    /// RECORD is missing.
    #[error("RECORD is missing")]
    RecordMissing,
    /// RECORD cannot be parsed.
    #[error("RECORD line {line}: {message}")]
    RecordSyntax {
        /// The line in RECORD.
        line: LineNumber,
        /// What is wrong with it.
        message: String,
    },
    /// A member's hash (sha256, sha384 or sha512, as RECORD gives it) differs from RECORD.
    #[error("hash mismatch: RECORD says {expected}, content is {actual}")]
    HashMismatch {
        /// The RECORD value.
        expected: String,
        /// The content's hash.
        actual: String,
    },
    /// A member's size differs from RECORD.
    #[error("size mismatch: RECORD says {expected} bytes, content is {actual} bytes")]
    SizeMismatch {
        /// The RECORD value.
        expected: u64,
        /// The content's size.
        actual: u64,
    },
    /// A member is not listed in RECORD.
    #[error("not listed in RECORD")]
    NotInRecord,
    /// RECORD lists a file the archive does not have.
    #[error("listed in RECORD but absent from the archive")]
    MissingFromArchive,
    /// RECORD lists a member without a hash (only RECORD itself may omit it).
    #[error("RECORD gives no hash for it")]
    NoHash,
    /// The wheel already carries an equip-wheel provenance file.
    #[error(
        "already instrumented by equip-wheel ({0} is present); instrument the original wheel instead"
    )]
    AlreadyInstrumented(String),
    /// The wheel path names something other than a regular file (a directory, a device,
    /// a FIFO, ...), which is never read.
    #[error("not a regular file ({0})")]
    NotARegularFile(&'static str),
    /// A local file header disagrees with the central directory (name, method, sizes, CRC).
    #[error("local file header disagrees with the central directory: {0}")]
    LocalHeaderMismatch(String),
    /// A member's header or data lies outside the archive's data area (past the end of the
    /// file or inside the central directory).
    #[error("data out of bounds: {0}")]
    DataOutOfBounds(String),
    /// A member's bytes overlap another member's (payload: the other member's name).
    #[error("its data overlaps member {} (overlapping entries, as in a zip bomb)", crate::escape::quoted(.0))]
    Overlap(String),
    /// A member's declared size, ratio or the wheel's total size is past a read limit
    /// (`EQUIP_WHEEL_MAX_*`, see `wheel::limits`).
    #[error(transparent)]
    LimitExceeded(#[from] crate::wheel::limits::LimitError),
}
