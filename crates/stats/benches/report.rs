//! Reports over a year of statistics: 3 profiles, 80 categories, ~100 million queries of
//! which ~1.3 million blocked, ~30 000 distinct blocked domains. The bar: each report
//! in under a second. `cargo bench -p hedge-stats -- --test` runs each once (CI).

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use hedge_stats::testing::{FixtureSpec, build};
use hedge_stats::{Action, Cell, Dim, Period, Report, ReportQuery, SqliteStore};

fn year() -> Period {
    Period::Month {
        year: 2025,
        month: 1,
    }
}

fn year_end() -> Period {
    Period::Month {
        year: 2025,
        month: 12,
    }
}

fn reports(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temporary folder");
    let path = dir.path().join("stats.sqlite");
    let started = Instant::now();
    let mut store = SqliteStore::open(&path).expect("open the store");
    let summary = build(&mut store, &FixtureSpec::year()).expect("build the fixture");
    eprintln!(
        "fixture: {} queries, {} blocked, {} domains, built in {:.1?}, {:.1} MB",
        summary.total,
        summary.blocked,
        summary.blocked_by_domain.len(),
        started.elapsed(),
        std::fs::metadata(&path).map_or(0, |m| m.len()) as f64 / 1e6
    );
    drop(store);
    let store = SqliteStore::open(&path).expect("reopen the store");

    let mut monthly = ReportQuery::new(year(), year_end());
    monthly.by = vec![Dim::Month, Dim::Category];
    monthly.action = Some(Action::Blocked);
    monthly.suppress_below = Some(10);
    let report = Report::build(&store, &monthly).expect("monthly report");
    assert_eq!(report.total, Cell::Count(summary.blocked));

    let mut top = ReportQuery::new(year(), year_end());
    top.action = Some(Action::Blocked);
    top.top_domains = Some(100);
    let report = Report::build(&store, &top).expect("top domains report");
    assert_eq!(report.top_domains.as_ref().map(Vec::len), Some(100));

    let mut all = ReportQuery::new(year(), year_end());
    all.by = vec![Dim::Month, Dim::Profile, Dim::Category, Dim::Action];

    let mut daily = ReportQuery::new(year(), year_end());
    daily.by = vec![Dim::Day, Dim::Profile, Dim::Category, Dim::Action];
    daily.suppress_below = Some(10);
    let report = Report::build(&store, &daily).expect("daily report");
    eprintln!("daily report: {} rows", report.rows.len());

    let mut g = c.benchmark_group("report-year");
    g.sample_size(10);
    g.bench_function("monthly-blocked-by-category", |b| {
        b.iter(|| black_box(Report::build(&store, &monthly).expect("report")))
    });
    g.bench_function("top-100-blocked-domains", |b| {
        b.iter(|| black_box(Report::build(&store, &top).expect("report")))
    });
    g.bench_function("monthly-by-profile-category-action", |b| {
        b.iter(|| black_box(Report::build(&store, &all).expect("report")))
    });
    g.bench_function("daily-by-profile-category-action-suppressed", |b| {
        b.iter(|| black_box(Report::build(&store, &daily).expect("report")))
    });
    g.finish();
}

criterion_group!(benches, reports);
criterion_main!(benches);
