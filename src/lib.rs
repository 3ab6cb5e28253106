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
mod calls;
mod caveats;
pub mod cli;
pub mod config;
mod control_flow;
mod depth;
pub mod error;
mod escape;
mod files;
mod hook_abi;
mod hooks_module;
mod hooks_patch;
mod instrument;
mod line;
pub mod module;
pub mod report;
mod select;
pub mod source;
mod syntax;
pub mod wheel;

#[cfg(feature = "python")]
mod python;

pub use config::Config;
pub use error::{ConfigError, Error, WheelError, WheelProblem};
pub use instrument::{InstrumentOptions, instrument_wheel};
pub use line::LineNumber;
pub use report::Report;
pub use wheel::verify::{VerifyReport, verify_wheel};
