//! Property checks shared by the fuzz targets (`fuzz/fuzz_targets/`) and the stable smoke
//! test (`tests/bytecode_fuzz_smoke.rs`). Each takes arbitrary bytes and panics only when a
//! property is violated; malformed input must come back as an error, never a panic.

use super::marshal::Marshal;
use super::{Pyc, instrument_pyc};
use crate::config::Config;
use crate::module::ModuleTarget;

/// Marshal reader property: for every supported version, bytes that read successfully are
/// written back identically.
pub fn marshal_round_trip(data: &[u8]) {
    for minor in 8..=13 {
        if let Ok(m) = Marshal::read(data, minor) {
            assert_eq!(m.write(), data, "marshal round trip (3.{minor})");
        }
    }
}

/// The full-hooks configuration the instrumentation target uses (every hook, every
/// placeholder kind, the warn policy).
pub fn fuzz_config() -> Config {
    Config::from_toml_str(
        r#"
[hooks]
module-enter = "print({module}, {lineno})"
module-exit = "print({file_name})"
function-enter = "({qualname}, {class_name}, {arguments}, {arg0}, {arg1})"
function-exit = "print({enter_value}, {return_value}, {arguments}, {arg1})"
function-error = "print({enter_value}, {exception}, {function})"
"#,
        "fuzz.toml",
    )
    .expect("the fuzz config is valid")
}

/// Read-instrument-write property: `data` is taken as a .pyc (its first byte picks the
/// Python version whose header is put in front when it has none). Instrumenting must not
/// panic, and an instrumented result must read back, with every code object that
/// disassembled before still disassembling.
pub fn instrument_any(data: &[u8], config: &Config) {
    let mut file = Vec::with_capacity(data.len() + 16);
    if data.len() >= 16 && &data[2..4] == b"\r\n" {
        file.extend_from_slice(data);
    } else {
        let minor = 8 + data.first().copied().unwrap_or(0) % 6;
        let magic = super::tables::OpTable::for_minor(minor)
            .expect("supported")
            .magic;
        file.extend_from_slice(&magic.to_le_bytes());
        file.extend_from_slice(b"\r\n");
        file.extend_from_slice(&[0; 12]);
        file.extend_from_slice(data.get(1..).unwrap_or_default());
    }
    let target = ModuleTarget {
        module: "pkg.mod",
        file_name: "pkg/mod.pyc",
        hooks_module: "_equip_hooks_pkg",
    };
    // Which code objects were well-formed before (the others pass through untouched).
    let valid_before: Vec<bool> = match Pyc::read(&file) {
        Ok(pyc) => pyc
            .code_objects()
            .into_iter()
            .map(|n| pyc.disassemble(n).is_ok())
            .collect(),
        Err(_) => Vec::new(),
    };
    if let Ok(outcome) = instrument_pyc(&file, target, config)
        && let Some(bytes) = outcome.new_bytes
    {
        let pyc = Pyc::read(&bytes).expect("instrumented output reads back");
        assert_eq!(&bytes[..16], &file[..16], "header kept");
        let nodes = pyc.code_objects();
        assert_eq!(nodes.len(), valid_before.len(), "same code objects");
        for (node, valid) in nodes.into_iter().zip(valid_before) {
            if valid {
                pyc.disassemble(node)
                    .expect("instrumented code disassembles");
            }
        }
    }
}
