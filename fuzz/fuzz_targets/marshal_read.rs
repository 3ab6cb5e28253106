//! Fuzz target: the marshal reader never panics, and what it reads it writes back
//! byte for byte (`equip_wheel::bytecode::fuzzing::marshal_round_trip`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    equip_wheel::bytecode::fuzzing::marshal_round_trip(data);
});
