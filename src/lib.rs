//! equip-wheel: instrument built Python wheels.
//!
//! Opens a wheel, injects configured Python snippets into its `.py` modules (source rewriting,
//! [`source`]) and `.pyc` modules of CPython 3.8–3.15 (bytecode rewriting, [`bytecode`]) at
//! function entry, return, exception, chosen lines and module import, regenerates RECORD and
//! writes a new wheel that pip and uv install like any other.
//!
//! The entry points are [`instrument_wheel`] and [`verify_wheel`]; configuration is
//! [`Config`]; the command line is [`cli::run`]. With the `python` feature the crate is also
//! the `equip_wheel._native` extension module.

pub mod bytecode;
pub mod calls;
pub mod caveats;
pub mod cli;
pub mod config;
pub mod control_flow;
pub mod depth;
pub mod error;
pub mod escape;
pub mod files;
pub mod hook_abi;
pub mod hooks_module;
pub mod hooks_patch;
pub mod instrument;
pub mod line;
pub mod module;
pub mod report;
pub mod select;
pub mod source;
pub mod syntax;
pub mod wheel;

#[cfg(feature = "python")]
mod python;

pub use config::Config;
pub use error::{ConfigError, Error, WheelError, WheelProblem};
pub use instrument::{InstrumentOptions, instrument_wheel};
pub use report::Report;
pub use wheel::verify::{VerifyReport, verify_wheel};
