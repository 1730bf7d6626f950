//! The index loader on untrusted bytes: as they are (a corrupted or hostile file), and
//! with lengths and checksum made consistent (what a hostile file can also do), so the
//! metadata and FST checks behind the checksum are reached. A loaded index is walked and
//! queried: verification must leave nothing that panics later, and a walk over a damaged
//! name table must stop with an error.
#![no_main]

use hedge_fuzz::repair_index;
use hedge_lists::Index;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(index) = Index::from_bytes(data.to_vec()) {
        exercise(&index);
    }
    if let Some(repaired) = repair_index(data)
        && let Ok(index) = Index::from_bytes(repaired)
    {
        exercise(&index);
    }
});

fn exercise(index: &Index) {
    let _ = (
        index.version(),
        index.meta().listed(),
        index.taxonomy().len(),
    );
    let mut names = Vec::new();
    let mut count = 0u64;
    let walked = index.for_each_name(|key, set| {
        count += 1;
        let _ = (index.categories(set), index.labels(set).count());
        if names.len() < 32 {
            names.push(hedge_lists::name_from_key(key));
        }
    });
    // A walk stops at the first key beyond the table's count, and one that ends without
    // an error has seen exactly that many.
    assert!(count <= index.meta().names);
    if walked.is_ok() {
        assert_eq!(count, index.meta().names);
    }
    for name in &names {
        if let Some(hit) = index.lookup(name) {
            let _ = (index.categories(hit.set), index.labels(hit.set).count());
        }
        let _ = index.lookup(&format!("www.{name}"));
    }
    for name in ["bet365.com", "www.example.com.", "com", "", ".", "a..b"] {
        let _ = index.lookup(name);
    }
}
