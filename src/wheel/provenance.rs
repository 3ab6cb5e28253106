//! The provenance file `<dist-info>/equip-wheel.json` that every instrumented wheel carries:
//! which equip-wheel wrote it, from which input wheel, with which configuration, and what
//! was instrumented. Written by `instrument`, read by `show`, and its presence is what makes
//! `instrument` refuse a wheel a second time.
//!
//! The file is pretty-printed JSON with sorted keys (a stable layout, so that the same input
//! and configuration give the same bytes). Readers must accept keys they do not know: later
//! versions may add some.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::limits::ReadLimits;
use super::reader::InputWheel;
use crate::error::{Error, WheelError, WheelProblem};

/// File name of the provenance file inside `.dist-info`.
pub const PROVENANCE_FILE: &str = "equip-wheel.json";

/// The content of a provenance file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// Always `equip-wheel`.
    pub tool: String,
    /// The version of equip-wheel that wrote the wheel.
    pub tool_version: String,
    /// The effective configuration, normalized (defaults filled in, snippets as written).
    pub config: serde_json::Value,
    /// sha256 (hex) of `config` serialized compactly with sorted keys.
    pub config_sha256: String,
    /// The wheel that was instrumented.
    pub input: InputIdentity,
    /// The module name of the generated hooks module.
    pub hooks_module: String,
    /// How `Requires-Python` was raised, `None` when it was left as it was.
    pub requires_python: Option<RequiresPythonRaise>,
    /// One entry per instrumented module file, in archive order.
    pub instrumented: Vec<InstrumentedModule>,
    /// The run's totals, as in the report (`--report`).
    pub totals: serde_json::Value,
}

/// The input wheel of an instrumentation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputIdentity {
    /// Its file name.
    pub filename: String,
    /// sha256 (hex) of the whole file.
    pub sha256: String,
}

/// A `Requires-Python` raised so that installers skip Pythons the instrumented code cannot
/// run on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequiresPythonRaise {
    /// The input's value (`None`: it declared none).
    pub input: Option<String>,
    /// The output's value.
    pub output: String,
}

/// One instrumented module file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstrumentedModule {
    /// The archive member.
    pub member: String,
    /// The dotted module name.
    pub module: String,
    /// Functions instrumented in it.
    pub functions: usize,
    /// Probes placed in it.
    pub probes: usize,
}

impl Provenance {
    /// The file's bytes: pretty-printed JSON, keys sorted, ending in a newline.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Through a `Value`: its maps are sorted, whatever the field order above.
        let value = serde_json::to_value(self).expect("provenance serializes");
        let mut text = serde_json::to_vec_pretty(&value).expect("JSON values serialize");
        text.push(b'\n');
        text
    }

    /// Reads the provenance of the wheel at `path`, validated as every input is
    /// ([`InputWheel::open`] under `limits`). `Ok(None)` when the wheel has no provenance
    /// file (it was not instrumented by equip-wheel).
    ///
    /// Errors: those of [`InputWheel::open`]; a provenance file that is not valid JSON of
    /// this shape is [`WheelProblem::Metadata`] naming the member.
    pub fn read(path: &Path, limits: &ReadLimits) -> Result<Option<(String, Self)>, Error> {
        let input = InputWheel::open(path, limits)?;
        let Some(name) = input.provenance.clone() else {
            return Ok(None);
        };
        let member = input
            .members
            .iter()
            .find(|m| m.name == name)
            .expect("the provenance member was found among the members");
        let bytes = input.read_member(member)?;
        let provenance = serde_json::from_slice(&bytes).map_err(|e| {
            WheelError::member(
                path,
                &name,
                WheelProblem::Metadata(format!("not a valid equip-wheel provenance file: {e}")),
            )
        })?;
        Ok(Some((name, provenance)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Provenance {
        Provenance {
            tool: "equip-wheel".into(),
            tool_version: "1.2.3".into(),
            config: serde_json::json!({"b": 1, "a": [2]}),
            config_sha256: "00".into(),
            input: InputIdentity {
                filename: "pkg-1.0-py3-none-any.whl".into(),
                sha256: "ff".into(),
            },
            hooks_module: "_equip_hooks_pkg".into(),
            requires_python: None,
            instrumented: vec![InstrumentedModule {
                member: "pkg/__init__.py".into(),
                module: "pkg".into(),
                functions: 3,
                probes: 0,
            }],
            totals: serde_json::json!({"modules": 1}),
        }
    }

    #[test]
    fn keys_are_sorted_and_the_bytes_read_back() {
        let bytes = sample().to_bytes();
        let text = String::from_utf8(bytes.clone()).unwrap();
        let top: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("  \"") && !l.starts_with("   "))
            .map(|l| l.trim().split('"').nth(1).unwrap())
            .collect();
        let mut sorted = top.clone();
        sorted.sort_unstable();
        assert_eq!(top, sorted);
        assert!(text.ends_with("}\n"));
        let back: Provenance = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(back, sample());
    }

    #[test]
    fn unknown_keys_are_accepted() {
        let mut value = serde_json::to_value(sample()).unwrap();
        value["added_later"] = serde_json::json!(true);
        let back: Provenance = serde_json::from_value(value).unwrap();
        assert_eq!(back, sample());
    }
}
