//! The index loader treats the file as untrusted: hostile header lengths and name tables
//! crafted to pass the checksum are refused or served without a panic.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use hedge_lists::Index;

fn index_bytes() -> Vec<u8> {
    let text: String = (0..400)
        .map(|i| format!("host{i}.bet{}.com\nbet{i}.example\n", i % 37))
        .collect();
    common::gambling_index_bytes(&text)
}

/// Rewrites the checksum, so the bytes reach every check after it.
fn reseal(bytes: &mut [u8]) {
    let end = bytes.len() - 16;
    let sum = xxhash_rust::xxh3::xxh3_64(&bytes[..end]);
    bytes[end..end + 8].copy_from_slice(&sum.to_le_bytes());
}

/// xorshift64: a fixed sequence, so a failure reproduces.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn hostile_header_lengths_are_refused_without_panic() {
    let good = index_bytes();
    for (meta_len, fst_len) in [
        (u64::MAX, 8),
        (u64::MAX - 31, 0),
        (8, u64::MAX),
        (u64::MAX / 2, u64::MAX / 2),
        (0, 0),
        (1 << 40, 1 << 40),
    ] {
        let mut bytes = good.clone();
        bytes[16..24].copy_from_slice(&meta_len.to_le_bytes());
        bytes[24..32].copy_from_slice(&fst_len.to_le_bytes());
        reseal(&mut bytes);
        let err = Index::from_bytes(bytes).unwrap_err().to_string();
        assert!(
            err.contains("does not match its header"),
            "{meta_len}/{fst_len}: {err}"
        );
    }
}

#[test]
fn name_tables_crafted_to_pass_the_checksum_never_panic() {
    let good = index_bytes();
    let meta_len = u64::from_le_bytes(good[16..24].try_into().unwrap()) as usize;
    let fst_start = (32 + meta_len).next_multiple_of(8);
    let fst_end = good.len() - 16;
    let names: Vec<String> = (0..60)
        .map(|i| format!("www.host{i}.bet{}.com.", i % 37))
        .chain((0..60).map(|i| format!("bet{i}.example")))
        .chain(["com".into(), "a.b.c.d.e".into(), "example".into()])
        .collect();
    let (mut refused, mut loaded) = (0, 0);
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    for round in 0..4000 {
        let mut bytes = good.clone();
        // 1 to 4 random bytes of the name table, or one of its footer fields.
        for _ in 0..=(next(&mut rng) % 4) {
            let at = fst_start + (next(&mut rng) as usize) % (fst_end - fst_start);
            bytes[at] = next(&mut rng) as u8;
        }
        if round % 10 == 0 {
            let at = fst_end - 12 - (next(&mut rng) as usize % 16);
            bytes[at] = next(&mut rng) as u8;
        }
        reseal(&mut bytes);
        match Index::from_bytes(bytes) {
            Err(e) => {
                assert!(e.to_string().contains("rebuild it"), "{e}");
                refused += 1;
            }
            Ok(index) => {
                loaded += 1;
                for name in &names {
                    if let Some(m) = index.lookup(name) {
                        let _ = index.categories(m.set);
                    }
                }
            }
        }
    }
    assert!(
        refused > 0 && loaded > 0,
        "{refused} refused, {loaded} loaded"
    );
}
