//! Wheel files (PyPA binary distribution format): file names, RECORD, dist-info metadata,
//! validated reading, deterministic writing, verification, and the provenance file.

pub mod filename;
pub mod fuzzing;
pub mod layout;
pub mod limits;
pub(crate) mod metadata;
pub(crate) mod provenance;
pub mod reader;
pub mod record;
pub mod verify;
pub mod writer;
pub(crate) mod zipdir;
