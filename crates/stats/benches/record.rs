//! The hot path: what counting one answered query costs the resolver.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use hedge_stats::testing::categories;
use hedge_stats::{Action, Counters, CountersOptions, SqliteStore, Store};

fn record(c: &mut Criterion) {
    let counters = Arc::new(
        Counters::new(
            vec!["adult".into(), "child".into(), "walled-garden".into()],
            categories(),
        )
        .expect("names"),
    );
    let mut g = c.benchmark_group("counters");
    g.throughput(Throughput::Elements(1));
    g.bench_function("record", |b| {
        let mut i = 0u16;
        b.iter(|| {
            i = i.wrapping_add(1);
            counters.record(black_box(i % 3), black_box(Some(i % 80)), Action::Allowed)
        })
    });
    g.bench_function("record_blocked_domain", |b| {
        let mut i = 0u32;
        b.iter(|| {
            i = i.wrapping_add(1);
            counters.record_blocked_domain(
                1,
                Some(7),
                black_box(["a.example", "b.example", "c.example"][(i % 3) as usize]),
            )
        })
    });
    g.bench_function("swap_out", |b| {
        b.iter(|| {
            for p in 0..3 {
                counters.record(p, Some(5), Action::Blocked);
            }
            black_box(counters.swap_out())
        })
    });
    g.finish();
}

/// The other half of the counting cost: one flush interval at the cap of distinct blocked
/// domains (the worst case: a load test of random listed names), swapped out and written to
/// a real SQLite file. The flusher does this once per interval (10 s) on its own thread.
fn flush(c: &mut Criterion) {
    const DOMAINS: usize = 20_000;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = SqliteStore::open(dir.path().join("stats.sqlite")).expect("store");
    let counters = Counters::with_options(
        vec!["adult".into(), "child".into(), "walled-garden".into()],
        categories(),
        CountersOptions {
            max_domains_per_interval: DOMAINS,
            query_log: None,
            ..CountersOptions::default()
        },
    )
    .expect("names");
    let names: Vec<String> = (0..DOMAINS)
        .map(|i| format!("site{i}.example{}.com", i % 97))
        .collect();
    let day = jiff::civil::date(2026, 11, 22);
    let mut g = c.benchmark_group("flush");
    g.sample_size(10);
    g.throughput(Throughput::Elements(DOMAINS as u64));
    g.bench_function("interval_of_20k_blocked_domains", |b| {
        b.iter_batched(
            || {
                for (i, n) in names.iter().enumerate() {
                    counters.record(1, Some((i % 80) as u16), Action::Blocked);
                    counters.record_blocked_domain(1, Some((i % 80) as u16), n);
                }
            },
            |()| {
                let batch = counters.swap_out();
                store.write(day, &batch).expect("write");
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, record, flush);
criterion_main!(benches);
