//! Fuzz target: read-instrument-write of arbitrary .pyc data with every hook configured
//! (`equip_wheel::bytecode::fuzzing::instrument_any`).
#![no_main]

use std::sync::LazyLock;

use equip_wheel::config::Config;
use libfuzzer_sys::fuzz_target;

static CONFIG: LazyLock<Config> = LazyLock::new(equip_wheel::bytecode::fuzzing::fuzz_config);

fuzz_target!(|data: &[u8]| {
    equip_wheel::bytecode::fuzzing::instrument_any(data, &CONFIG);
});
