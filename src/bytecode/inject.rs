//! Injection of the hook calls into module and function code objects.

use super::{Pyc, PycError, PycOutcome};
use crate::config::Config;
use crate::source::ModuleTarget;

/// Instruments every selected code object of `pyc`.
pub fn instrument(
    pyc: &mut Pyc,
    target: ModuleTarget<'_>,
    config: &Config,
) -> Result<PycOutcome, PycError> {
    let _ = (pyc, target, config);
    Err(PycError::Unsupported("not yet".into()))
}
