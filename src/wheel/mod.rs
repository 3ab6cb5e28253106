//! Wheel files (PyPA binary distribution format): file names, RECORD, dist-info metadata,
//! validated reading, deterministic writing, and verification.

pub mod filename;
pub mod fuzzing;
pub mod limits;
pub mod metadata;
pub mod reader;
pub mod record;
pub mod verify;
pub mod writer;
pub mod zipdir;
