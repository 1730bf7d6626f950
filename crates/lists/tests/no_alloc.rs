//! A lookup must not allocate: counted with a wrapping global allocator.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

use hedge_lists::Index;

mod common;

struct Counting;
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts calls.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn lookups_do_not_allocate() {
    let text: String = (0..5000)
        .map(|i| format!("host{i}.bet{}.com\n", i % 50))
        .collect();
    let index = Index::from_bytes(common::gambling_index_bytes(&text)).unwrap();
    let queries = [
        "host7.bet7.com",
        "WWW.HOST7.BET7.COM.",
        "a.b.c.d.host99.bet49.com",
        "alphabet.com",
        "x.y",
        "",
    ];
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    let mut hits = 0;
    for _ in 0..100 {
        for q in queries {
            if let Some(m) = index.lookup(q) {
                hits += index.categories(m.set).len();
            }
        }
    }
    let after = ALLOCATIONS.load(Ordering::Relaxed);
    assert_eq!(hits, 300);
    assert_eq!(after - before, 0, "lookups allocated");
}
