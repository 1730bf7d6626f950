//! Record a known mix, flush it through the flusher thread and report it: exact values. (How
//! `hedge report` prints reports is pinned in tests/output.rs at the top of the repository.)

use std::sync::{Arc, Mutex};
use std::time::Duration;

use hedge_stats::{
    Action, Cell, Counters, Dim, FlusherOptions, Period, Report, ReportQuery, SqliteStore,
    spawn_flusher_with,
};
use jiff::civil::Date;

const NUDITY: Option<u16> = Some(1);
const ADULT_MATERIAL: Option<u16> = Some(0);
const GAMBLING: Option<u16> = Some(2);
const ADULT: u16 = 0;
const CHILD: u16 = 1;

fn times(n: usize, f: impl Fn()) {
    for _ in 0..n {
        f();
    }
}

/// Two days in two months, flushed by the flusher thread into a store on disk.
fn recorded_store() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("temporary folder");
    let path = dir.path().join("stats.sqlite");
    let counters = Arc::new(
        Counters::new(
            vec!["adult".into(), "child".into()],
            vec![
                "adult-material".into(),
                "adult-material/nudity".into(),
                "gambling".into(),
            ],
        )
        .expect("valid names"),
    );
    let day = Arc::new(Mutex::new(Date::constant(2025, 1, 31)));
    let clock = day.clone();
    let flusher = spawn_flusher_with(
        counters.clone(),
        SqliteStore::open(&path).expect("open the store"),
        FlusherOptions {
            interval: Duration::from_secs(3600), // flushed by hand below
            today: Arc::new(move || *clock.lock().expect("clock")),
            ..FlusherOptions::default()
        },
    )
    .expect("start the flusher");

    let c = &counters;
    times(5, || c.record(CHILD, NUDITY, Action::Blocked));
    times(3, || c.record_blocked_domain(CHILD, NUDITY, "nude.example"));
    times(2, || c.record_blocked_domain(CHILD, NUDITY, "pics.example"));
    times(2, || c.record(CHILD, ADULT_MATERIAL, Action::Blocked));
    times(2, || {
        c.record_blocked_domain(CHILD, ADULT_MATERIAL, "adult.example")
    });
    times(4, || c.record(CHILD, GAMBLING, Action::Blocked));
    times(4, || {
        c.record_blocked_domain(CHILD, GAMBLING, "bet.example")
    });
    times(100, || c.record(CHILD, None, Action::Allowed));
    times(50, || c.record(ADULT, None, Action::Allowed));
    times(7, || c.record(ADULT, GAMBLING, Action::Allowed));
    c.record(ADULT, None, Action::Servfail);
    flusher.flush_now().expect("first flush");

    *day.lock().expect("clock") = Date::constant(2025, 2, 1);
    c.record(CHILD, GAMBLING, Action::Blocked);
    c.record_blocked_domain(CHILD, GAMBLING, "bet.example");
    // Left for the final flush at shutdown.
    flusher.shutdown().expect("final flush");
    (dir, path)
}

fn query(by: &[Dim]) -> ReportQuery {
    let mut q = ReportQuery::new(
        "2025-01".parse::<Period>().expect("month"),
        "2025-12".parse::<Period>().expect("month"),
    );
    q.by = by.to_vec();
    q
}

fn rows(r: &Report) -> Vec<(String, u64)> {
    r.rows
        .iter()
        .map(|row| {
            let key: Vec<&str> = r.by.iter().map(|d| row.get(*d)).collect();
            (key.join(" "), row.count.value().expect("not suppressed"))
        })
        .collect()
}

#[test]
fn monthly_blocked_by_category_rolls_up_the_tree() {
    let (_dir, path) = recorded_store();
    let store = SqliteStore::open(&path).expect("reopen");
    let mut q = query(&[Dim::Month, Dim::Category]);
    q.action = Some(Action::Blocked);
    let r = Report::build(&store, &q).expect("report");
    assert_eq!(
        rows(&r),
        vec![
            ("2025-01 adult-material".into(), 7),
            ("2025-01 adult-material/nudity".into(), 5),
            ("2025-01 gambling".into(), 4),
            ("2025-02 gambling".into(), 1),
        ]
    );
    let totals: Vec<(String, Option<u64>)> = r
        .totals
        .iter()
        .map(|t| (t.period.clone(), t.count.value()))
        .collect();
    assert_eq!(totals.len(), 12);
    assert_eq!(totals[0], ("2025-01".into(), Some(11)));
    assert_eq!(totals[1], ("2025-02".into(), Some(1)));
    assert_eq!(totals[11], ("2025-12".into(), Some(0)));
    assert_eq!(r.total, Cell::Count(12));

    assert!(totals[2..].iter().all(|(_, n)| *n == Some(0)), "{totals:?}");
}

#[test]
fn total_in_a_year_and_by_action() {
    let (_dir, path) = recorded_store();
    let store = SqliteStore::open(&path).expect("reopen");
    let all = Report::build(&store, &query(&[])).expect("report");
    assert_eq!(all.total, Cell::Count(5 + 2 + 4 + 100 + 50 + 7 + 1 + 1));
    assert!(all.rows.is_empty() && all.totals.is_empty());

    let mut blocked = query(&[]);
    blocked.action = Some(Action::Blocked);
    let r = Report::build(&store, &blocked).expect("report");
    assert_eq!(r.total, Cell::Count(12));
    assert!(r.rows.is_empty() && r.totals.is_empty());

    let mut q = query(&[Dim::Profile, Dim::Action]);
    q.profile = Some("adult".into());
    let r = Report::build(&store, &q).expect("report");
    assert_eq!(
        rows(&r),
        vec![("adult allowed".into(), 57), ("adult servfail".into(), 1)]
    );
}

#[test]
fn category_filter_includes_children_only_below_it() {
    let (_dir, path) = recorded_store();
    let store = SqliteStore::open(&path).expect("reopen");
    let mut q = query(&[Dim::Category]);
    q.category = Some("adult-material".into());
    let r = Report::build(&store, &q).expect("report");
    assert_eq!(
        rows(&r),
        vec![
            ("adult-material".into(), 7),
            ("adult-material/nudity".into(), 5)
        ]
    );
    assert_eq!(r.total, Cell::Count(7));

    q.category = Some("adult-material/nudity".into());
    let r = Report::build(&store, &q).expect("report");
    assert_eq!(rows(&r), vec![("adult-material/nudity".into(), 5)]);
    assert_eq!(r.total, Cell::Count(5));

    q.category = Some("adult".into()); // a prefix of a name, not a parent
    let r = Report::build(&store, &q).expect("report");
    assert_eq!(r.total, Cell::Count(0));
}

#[test]
fn top_blocked_domains() {
    let (_dir, path) = recorded_store();
    let store = SqliteStore::open(&path).expect("reopen");
    let mut q = query(&[]);
    q.action = Some(Action::Blocked);
    q.top_domains = Some(3);
    let r = Report::build(&store, &q).expect("report");
    let top: Vec<(&str, &str, u64)> = r
        .top_domains
        .as_ref()
        .expect("asked for")
        .iter()
        .map(|d| (d.domain.as_str(), d.category.as_str(), d.count))
        .collect();
    assert_eq!(
        top,
        vec![
            ("bet.example", "gambling", 5),
            ("nude.example", "adult-material/nudity", 3),
            ("adult.example", "adult-material", 2),
        ]
    );

    // Only January's days (not a whole month: read from the daily table).
    let mut q = ReportQuery::new(
        "2025-01-15".parse().expect("day"),
        "2025-01-31".parse().expect("day"),
    );
    q.top_domains = Some(1);
    q.category = Some("gambling".into());
    let r = Report::build(&store, &q).expect("report");
    assert_eq!(r.top_domains.as_ref().expect("asked for")[0].count, 4);

    // With suppression, domains blocked fewer than K times are left out.
    let mut q = query(&[]);
    q.top_domains = Some(10);
    q.suppress_below = Some(3);
    let r = Report::build(&store, &q).expect("report");
    let names: Vec<&str> = r
        .top_domains
        .as_ref()
        .expect("asked for")
        .iter()
        .map(|d| d.domain.as_str())
        .collect();
    assert_eq!(names, vec!["bet.example", "nude.example"]);
}

#[test]
fn serialises_hidden_cells_as_strings() {
    let (_dir, path) = recorded_store();
    let store = SqliteStore::open(&path).expect("reopen");
    let mut q = ReportQuery::new(
        "2025-01".parse().expect("month"),
        "2025-02".parse().expect("month"),
    );
    q.by = vec![Dim::Month, Dim::Category];
    q.action = Some(Action::Blocked);
    q.top_domains = Some(2);
    q.suppress_below = Some(3);
    let r = Report::build(&store, &q).expect("report");

    let json = serde_json::to_value(&r).expect("serialisable");
    assert_eq!(json["total"], 12);
    assert_eq!(json["rows"][0]["category"], "adult-material");
    assert_eq!(json["rows"][0]["count"], 7);
    assert_eq!(json["rows"][3]["count"], "<3"); // February gambling: 1
    assert_eq!(json["totals"][1]["count"], "<3"); // and February's total with it
    // The grand total (12) is shown, so January's total (11) is withheld, or February's
    // would be 12 - 11; and then January's gambling (4), or January's total would be 7 + 4.
    assert_eq!(json["totals"][0]["count"], "[c]");
    assert_eq!(json["rows"][2]["count"], "[c]");
    assert_eq!(json["rows"][1]["count"], 5);
    assert_eq!(json["top_domains"][0]["domain"], "bet.example");
}

#[test]
fn bad_queries_say_why() {
    let (_dir, path) = recorded_store();
    let store = SqliteStore::open(&path).expect("reopen");
    let mut q = query(&[Dim::Month, Dim::Day]);
    let e = Report::build(&store, &q).expect_err("month and day");
    assert!(e.to_string().contains("not both"), "{e}");
    q = ReportQuery::new(
        "2025-03".parse().expect("month"),
        "2025-01".parse().expect("month"),
    );
    let e = Report::build(&store, &q).expect_err("backwards");
    assert!(
        e.to_string().contains("starts (2025-03) after it ends"),
        "{e}"
    );
    let e = "week".parse::<Dim>().expect_err("no weeks");
    assert!(e.to_string().contains("month, day, profile"), "{e}");
}
