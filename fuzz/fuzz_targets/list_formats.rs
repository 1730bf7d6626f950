//! Every list format reader (plain, hosts, adblock, UT1, RPZ) on its own, as the compiler
//! drives it: lines, items, normalisation. Each entry must be a piece of the input (readers
//! invent nothing and allocate nothing per entry), and each name kept a valid DNS name that
//! the slow normalisation gives too, and that survives the index key round trip.
#![no_main]

use hedge_lists::fuzz::{normalize_entry, read_list};
use hedge_lists::{Item, MAX_LABEL_LEN, MAX_NAME_LEN, name_from_key, normalize, reversed_key};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((format, text)) = hedge_fuzz::list_input(data) else {
        return;
    };
    let lines = text.split(|&b| b == b'\n').count();
    let input = text.as_ptr_range();
    let mut key = Vec::new();
    read_list(format, text, &mut |line_no, item| {
        assert!((1..=lines).contains(&line_no), "line {line_no} of {lines}");
        let entry = match item {
            Ok(Item::Block(e) | Item::Allow(e) | Item::Path(e)) => e,
            _ => return,
        };
        let range = entry.as_bytes().as_ptr_range();
        assert!(
            input.start <= range.start && range.end <= input.end,
            "{entry:?} is not part of the input"
        );
        let fast = normalize_entry(entry);
        assert_eq!(
            fast,
            normalize(entry),
            "fast and full normalisation of {entry:?}"
        );
        let Ok(name) = fast else {
            return;
        };
        assert_valid(&name);
        assert_eq!(
            normalize(&name).as_deref(),
            Ok(name.as_str()),
            "normalising {name:?} again"
        );
        key.clear();
        reversed_key(&name, &mut key);
        assert_eq!(name_from_key(&key), name);
    });
});

/// What every name in an index must be: 2 to 127 labels of 1 to 63 bytes of `a-z0-9-_`,
/// at most 253 bytes in all.
fn assert_valid(name: &str) {
    assert!(name.len() <= MAX_NAME_LEN, "{name:?} too long");
    let mut labels = 0;
    for label in name.split('.') {
        labels += 1;
        assert!(
            (1..=MAX_LABEL_LEN).contains(&label.len()),
            "{name:?}: label {label:?}"
        );
        assert!(
            label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_'),
            "{name:?}: label {label:?}"
        );
    }
    assert!(labels >= 2, "{name:?} has one label");
}
