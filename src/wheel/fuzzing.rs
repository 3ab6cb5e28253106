//! Property checks of the wheel reader shared by the fuzz target
//! (`fuzz/fuzz_targets/wheel_read.rs`) and the stable smoke test
//! (`tests/wheel_fuzz_smoke.rs`). Each takes arbitrary bytes and panics only when a property
//! is violated; malformed input must come back as an error, never a panic.

use std::path::Path;

use super::limits::ReadLimits;
use super::reader::InputWheel;
use super::record::{RecordHash, parse_record};
use crate::error::WheelError;

/// Small limits so that the fuzzer explores structure rather than inflating gigabytes.
pub const FUZZ_LIMITS: ReadLimits = ReadLimits {
    max_member_size: 16 << 20,
    max_total_size: 64 << 20,
    max_ratio: 200,
};

/// Wheel reader property: `data` taken as a wheel file either is refused at open or opens
/// into members whose data ranges lie inside the file, do not overlap, and whose names are
/// unique and safe; every member then reads (or is refused) without panicking, a member
/// that reads has exactly its declared size, and checking agrees with reading.
pub fn read_wheel(data: &[u8]) -> Result<usize, WheelError> {
    // The seeds (tests, testwheels/) are all `demo` 1.0 wheels.
    let path = Path::new("demo-1.0-py3-none-any.whl");
    let wheel = InputWheel::from_bytes(path, data.to_vec(), &FUZZ_LIMITS)?;
    let mut ranges: Vec<_> = wheel.members.iter().map(|m| m.data.clone()).collect();
    ranges.sort_by_key(|r| r.start);
    for pair in ranges.windows(2) {
        assert!(pair[0].end <= pair[1].start, "overlapping data ranges");
    }
    assert!(
        ranges.last().is_none_or(|r| r.end <= data.len() as u64),
        "data range past the end of the file"
    );
    let mut names = std::collections::HashSet::new();
    for m in &wheel.members {
        assert!(names.insert(m.name.as_str()), "duplicate name {:?}", m.name);
        assert!(super::reader::check_member_name(&m.name).is_ok());
    }
    let mut read = 0;
    for m in &wheel.members {
        let content = wheel.read_member(m);
        let checked = wheel.check_member(m);
        match (&content, &checked) {
            (Ok(bytes), Ok(())) => {
                assert_eq!(bytes.len() as u64, m.size, "size of {:?}", m.name);
                read += 1;
            }
            (Err(a), Err(b)) => assert_eq!(a, b, "read and check disagree"),
            _ => panic!("read and check disagree on {:?}", m.name),
        }
    }
    Ok(read)
}

/// RECORD property: `data` taken as a RECORD parses or is refused without panicking, and
/// every hash field that parses prints back to a form that parses to the same hash.
pub fn record_round_trip(data: &[u8]) {
    let Ok(rows) = parse_record(data) else {
        return;
    };
    for row in rows {
        if let Ok(hash) = RecordHash::parse(&row.hash) {
            let again = RecordHash::parse(&hash.to_string()).expect("a printed hash parses");
            assert_eq!(again, hash);
        }
    }
}
