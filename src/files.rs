//! Reading input files that must be regular files (wheels, configuration files).
//!
//! A path that names a character device (`/dev/zero`), a FIFO or a socket would otherwise
//! block forever or be read until memory runs out. The file is opened with `O_NONBLOCK`
//! (opening a FIFO then returns at once instead of waiting for a writer), its type is
//! checked on the open handle (no race with a rename), and only then is it read.

use std::fs::File;
use std::io::Read;
use std::path::Path;

/// Why [`read_regular_file`] failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadFileError {
    /// The path exists but is not a regular file; the payload names what it is
    /// (`"a directory"`, `"a character device"`, `"a FIFO"`, ...).
    #[error("not a regular file ({0})")]
    NotRegular(&'static str),
    /// The file is larger than the caller's limit (in bytes).
    #[error("the file is {size} bytes, more than the limit of {limit} bytes")]
    TooLarge {
        /// The file size in bytes.
        size: u64,
        /// The limit in bytes.
        limit: u64,
    },
    /// Opening or reading failed.
    #[error("cannot read the file: {0}")]
    Io(#[from] std::io::Error),
}

/// What kind of non-regular file `meta` describes, for messages.
fn kind(meta: &std::fs::Metadata) -> &'static str {
    let t = meta.file_type();
    if t.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    "not a file"
}

fn open_nonblocking(path: &Path) -> std::io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    options.open(path)
}

/// Reads the whole regular file at `path`, refusing anything else and, with `limit`, any
/// file larger than `limit` bytes (checked before reading, and again while reading in case
/// the file grows).
pub fn read_regular_file(path: &Path, limit: Option<u64>) -> Result<Vec<u8>, ReadFileError> {
    let file = open_nonblocking(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(ReadFileError::NotRegular(kind(&meta)));
    }
    let size = meta.len();
    let limit = limit.unwrap_or(u64::MAX);
    if size > limit {
        return Err(ReadFileError::TooLarge { size, limit });
    }
    let mut data = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    file.take(limit.saturating_add(1)).read_to_end(&mut data)?;
    if data.len() as u64 > limit {
        return Err(ReadFileError::TooLarge {
            size: data.len() as u64,
            limit,
        });
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_devices_and_directories() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            read_regular_file(dir.path(), None),
            Err(ReadFileError::NotRegular("a directory"))
        ));
        #[cfg(unix)]
        assert!(matches!(
            read_regular_file(Path::new("/dev/zero"), None),
            Err(ReadFileError::NotRegular("a character device"))
        ));
    }

    #[test]
    fn reads_regular_files_within_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("x");
        std::fs::write(&f, b"12345").unwrap();
        assert_eq!(read_regular_file(&f, None).unwrap(), b"12345");
        assert!(matches!(
            read_regular_file(&f, Some(4)),
            Err(ReadFileError::TooLarge { size: 5, limit: 4 })
        ));
    }
}
