//! What one decision costs the resolver, without overrides and with many staff decisions
//! in force (issue 19: grants and recategorisations must cost nothing measurable when they
//! do not match the name).
//!
//! `cargo bench -p hedge-policy` decides a listed name, an unlisted one and a subdomain of a
//! listed one under no overrides and under 200 grants + 50 recategorisations (none of them
//! matching), and a name one grant covers.

#![allow(clippy::unwrap_used)] // benchmarks fail loudly by design

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use hedge_lists::{Compiler, Format, Index, Taxonomy};
use hedge_policy::{Grant, Overrides, Policy, ProfileConfig, Recategorisation, TimeZone};

const NOW: &str = "2026-12-07T10:00:00Z";

/// A small index: a few thousand names in two categories.
fn index() -> Arc<Index> {
    let t = Taxonomy::builtin();
    let mut c = Compiler::new(&t);
    for (category, stem) in [("gambling", "bet"), ("games", "play")] {
        let text: String = (0..2000).map(|i| format!("{stem}{i}.example\n")).collect();
        c.add_text(
            category,
            Format::Plain,
            &[category.into()],
            text.as_bytes(),
            "bench",
        )
        .unwrap();
    }
    Arc::new(Index::from_bytes(c.finish(&mut |_| {}).unwrap().bytes).unwrap())
}

fn policy() -> Policy {
    let child = ProfileConfig {
        name: "child".into(),
        block: vec!["gambling".into()],
        ..Default::default()
    };
    let adult = ProfileConfig {
        name: "adult".into(),
        ..Default::default()
    };
    Policy::new_at(
        index(),
        vec![child, adult],
        Path::new("."),
        TimeZone::UTC,
        NOW.parse().unwrap(),
    )
    .unwrap()
}

/// 200 grants and 50 recategorisations, none of them of the benchmarked names.
fn many_overrides() -> Overrides {
    Overrides {
        grants: (0..200)
            .map(|i| Grant {
                name: format!("granted{i}.example.org"),
                profile: if i % 2 == 0 { "child" } else { "adult" }.into(),
                until: None,
                request: Some(i),
            })
            .collect(),
        recategorised: (0..50)
            .map(|i| Recategorisation {
                name: format!("recat{i}.example.net"),
                category: if i % 2 == 0 { "gambling" } else { "games" }.into(),
                add: i % 3 != 0,
            })
            .collect(),
    }
}

fn decide(c: &mut Criterion) {
    let plain = policy();
    let busy = plain
        .with_overrides(&many_overrides(), NOW.parse().unwrap())
        .unwrap();
    let child = plain.profile_id("child").unwrap();
    let names = [
        ("listed", "bet1234.example"),
        ("unlisted", "www.wikipedia.org"),
        ("subdomain", "cdn.static.bet1234.example"),
    ];
    // What is measured is what is meant: the overrides change none of these decisions.
    for (_, name) in names {
        assert_eq!(
            plain.decide(child, name),
            busy.decide(child, name),
            "{name}"
        );
    }
    assert!(matches!(
        busy.decide(child, "www.granted42.example.org"),
        hedge_policy::Decision::Allow(hedge_policy::AllowReason::Granted(_))
    ));
    let mut g = c.benchmark_group("decide");
    for (label, p) in [("no_overrides", &plain), ("250_overrides", &busy)] {
        for (kind, name) in names {
            g.bench_function(format!("{kind}/{label}"), |b| {
                b.iter(|| p.decide(black_box(child), black_box(name)))
            });
        }
    }
    g.bench_function("granted/250_overrides", |b| {
        b.iter(|| busy.decide(black_box(child), black_box("www.granted42.example.org")))
    });
    g.finish();
}

criterion_group!(benches, decide);
criterion_main!(benches);
