//! The hot path: what counting one answered query costs the resolver.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hedge_stats::testing::categories;
use hedge_stats::{Action, Counters};

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

criterion_group!(benches, record);
criterion_main!(benches);
