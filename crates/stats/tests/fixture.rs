//! The benchmark's fixture generator, at small scale: reports agree with what it wrote.

use hedge_stats::testing::{FixtureSpec, build, categories};
use hedge_stats::{Action, Cell, Dim, Report, ReportQuery, SqliteStore};

#[test]
fn reports_match_the_fixture() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let mut store = SqliteStore::open(dir.path().join("stats.sqlite")).expect("open");
    let spec = FixtureSpec::small(59); // January and February 2025
    let summary = build(&mut store, &spec).expect("fixture");
    assert_eq!(categories().len(), 80);
    assert!(summary.blocked > 1000, "{summary:?}");

    let range = || {
        ReportQuery::new(
            "2025-01".parse().expect("month"),
            "2025-02".parse().expect("month"),
        )
    };
    let all = Report::build(&store, &range()).expect("report");
    assert_eq!(all.total, Cell::Count(summary.total));

    let mut q = range();
    q.by = vec![Dim::Month, Dim::Category];
    q.action = Some(Action::Blocked);
    q.top_domains = Some(3);
    let r = Report::build(&store, &q).expect("report");
    assert_eq!(r.total, Cell::Count(summary.blocked));
    for t in &r.totals {
        assert_eq!(
            t.count,
            Cell::Count(summary.blocked_by_month[&t.period]),
            "{}",
            t.period
        );
    }
    // A root's row is its own count plus its children's, month by month.
    let root_total: u64 = r
        .rows
        .iter()
        .filter(|row| row.category.as_deref() == Some("gambling"))
        .map(|row| row.count.value().expect("shown"))
        .sum();
    let expected: u64 = summary
        .blocked_by_category
        .iter()
        .filter(|(c, _)| *c == "gambling" || c.starts_with("gambling/"))
        .map(|(_, n)| n)
        .sum();
    assert_eq!(root_total, expected);

    let mut by_count: Vec<(&String, &u64)> = summary.blocked_by_domain.iter().collect();
    by_count.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let top = r.top_domains.expect("asked for");
    assert_eq!(top.len(), 3);
    for (got, want) in top.iter().zip(by_count) {
        assert_eq!((&got.domain, got.count), (want.0, *want.1));
    }
}
