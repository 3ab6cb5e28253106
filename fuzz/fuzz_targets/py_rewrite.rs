//! Fuzz target: the `.py` rewriter takes any bytes as a module's source under the full-hooks
//! config without panicking, and what it rewrites still decodes and parses
//! (`equip_wheel::source::fuzzing::rewrite_any`).
#![no_main]

use std::sync::LazyLock;

use equip_wheel::config::Config;
use libfuzzer_sys::fuzz_target;

static CONFIG: LazyLock<Config> = LazyLock::new(equip_wheel::bytecode::fuzzing::fuzz_config);

fuzz_target!(|data: &[u8]| {
    let _ = equip_wheel::source::fuzzing::rewrite_any(data, &CONFIG);
});
