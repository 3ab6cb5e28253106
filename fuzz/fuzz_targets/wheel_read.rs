//! Fuzz target: the wheel reader (zip structure, names, limits, RECORD, streaming inflate)
//! refuses or reads any file without panicking, and what it accepts is consistent
//! (`equip_wheel::wheel::fuzzing::read_wheel`); the same bytes taken as a RECORD parse
//! without panicking and their hashes round-trip (`record_round_trip`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = equip_wheel::wheel::fuzzing::read_wheel(data);
    equip_wheel::wheel::fuzzing::record_round_trip(data);
});
