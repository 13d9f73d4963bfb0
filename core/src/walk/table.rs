//! What the walk needs from the event table (`scaptools/events/data/event_table.json`,
//! docs/format.md §9.3-§9.4): how many parameters each event type has, and which
//! types have 32-bit parameter lengths. A test holds these equal to the JSON file.

/// Parameter count of each event type, by id (`nparams` in the event table).
pub const NPARAMS: [u8; 454] = [
    2, 2, 3, 6, 1, 2, 2, 4, 2, 4, 1, 1, 0, 8, 0, 11, 0, 0, 3, 5, 1, 3, 2, 4, 2, 3, 0, 3, 2, 5, 3,
    5, 2, 5, 2, 5, 2, 3, 0, 0, 0, 0, 3, 8, 0, 6, 0, 6, 3, 5, 0, 5, 1, 6, 0, 6, 1, 3, 2, 6, 0, 4, 2,
    3, 3, 4, 0, 2, 0, 2, 1, 2, 0, 2, 0, 2, 1, 1, 1, 2, 2, 3, 0, 1, 0, 1, 3, 4, 3, 4, 2, 1, 0, 2, 0,
    2, 1, 2, 2, 1, 1, 1, 4, 1, 2, 1, 4, 1, 1, 1, 2, 1, 3, 5, 3, 5, 1, 4, 2, 4, 2, 5, 3, 5, 1, 1, 3,
    4, 2, 3, 2, 3, 3, 4, 1, 2, 2, 3, 1, 2, 1, 4, 1, 4, 2, 7, 1, 0, 1, 1, 2, 4, 6, 0, 0, 13, 0, 16,
    1, 5, 6, 10, 6, 10, 2, 6, 4, 5, 2, 5, 3, 4, 0, 14, 0, 3, 0, 5, 0, 3, 0, 4, 0, 16, 0, 16, 5, 0,
    4, 5, 4, 18, 3, 4, 3, 4, 2, 0, 1, 2, 1, 2, 0, 1, 0, 1, 0, 1, 0, 1, 0, 4, 0, 4, 0, 15, 0, 17, 0,
    17, 0, 17, 0, 21, 0, 21, 0, 21, 4, 0, 0, 16, 3, 0, 2, 0, 1, 2, 1, 2, 2, 3, 2, 3, 2, 0, 0, 5, 1,
    5, 1, 9, 4, 5, 3, 4, 1, 5, 1, 2, 1, 0, 3, 4, 1, 3, 0, 2, 3, 3, 1, 0, 1, 0, 0, 1, 1, 3, 0, 2, 2,
    0, 0, 17, 1, 2, 4, 0, 1, 17, 3, 0, 1, 31, 2, 3, 1, 1, 2, 3, 0, 2, 0, 4, 0, 4, 4, 7, 0, 3, 0, 6,
    0, 4, 0, 3, 0, 3, 0, 6, 0, 2, 2, 0, 1, 0, 5, 8, 3, 4, 3, 30, 3, 6, 0, 21, 0, 6, 0, 8, 0, 6, 0,
    5, 0, 3, 0, 3, 0, 2, 0, 1, 0, 4, 6, 0, 6, 0, 3, 0, 3, 0, 1, 3, 1, 4, 1, 2, 1, 2, 0, 4, 0, 7, 1,
    2, 1, 2, 0, 4, 0, 4, 0, 4, 0, 6, 0, 2, 1, 6, 1, 3, 0, 5, 0, 2, 1, 3, 2, 4, 0, 4, 3, 0, 0, 3, 0,
    4, 0, 3, 0, 4, 0, 4, 0, 4, 0, 5, 0, 4, 0, 3, 0, 3, 0, 3, 0, 3, 0, 3, 32, 0, 3, 0, 3, 0, 5, 0,
    3, 0, 8, 0, 8, 0, 6, 0, 4, 0, 4, 0, 0, 4, 0, 6,
];

/// Event types flagged `EF_LARGE_PAYLOAD`: u32 parameter lengths (§9.3).
pub const LARGE_PAYLOAD: [u16; 3] = [322, 324, 402];

/// The table's parameter count of `etype`, or `None` outside the table.
pub fn nparams_of(etype: u16) -> Option<usize> {
    NPARAMS.get(usize::from(etype)).map(|&n| usize::from(n))
}

/// Whether `etype` has u32 parameter lengths (a large-payload type, §9.3).
pub fn is_large(etype: u16) -> bool {
    LARGE_PAYLOAD.contains(&etype)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table above, read again from the vendored JSON the Python package loads.
    #[test]
    fn table_matches_the_vendored_json() {
        let text = include_str!("../../../scaptools/events/data/event_table.json");
        let table: serde_json::Value = serde_json::from_str(text).unwrap();
        let events = table["events"].as_array().unwrap();
        assert_eq!(events.len(), NPARAMS.len());
        let mut large = Vec::new();
        for (id, event) in events.iter().enumerate() {
            assert_eq!(event["id"].as_u64(), Some(id as u64));
            assert_eq!(
                event["nparams"].as_u64(),
                Some(u64::from(NPARAMS[id])),
                "type {id}"
            );
            if event["large_payload"].as_bool() == Some(true) {
                large.push(id as u16);
            }
        }
        assert_eq!(large, LARGE_PAYLOAD);
    }
}
