//! The SQLite store: migrations, damaged and locked files, retention, list changes, the raw
//! query log.

use std::net::IpAddr;
use std::sync::Arc;

use hedge_stats::{
    Action, AllowedCount, Batch, CategoryChange, Cell, ChangeKind, ClientPrivacy, Counters,
    CountersOptions, Dim, Error, ListChange, MAX_CHANGE_NAMES, NameChange, Period, QueryLogEntry,
    QueryLogOptions, Report, ReportQuery, Retention, SCHEMA_VERSION, SqliteStore, Store,
};
use jiff::civil::Date;
use rusqlite::Connection;

fn arc(s: &str) -> Arc<str> {
    Arc::from(s)
}

fn blocked(profile: &str, category: &str, domain: &str, n: u64) -> Batch {
    let mut b = Batch::new();
    b.add_count(arc(profile), arc(category), Action::Blocked, n);
    b.add_domain(arc(profile), arc(category), domain, n);
    b
}

fn day(s: &str) -> Date {
    s.parse().expect("test date")
}

fn total(store: &SqliteStore, from: &str, to: &str) -> Cell {
    let q = ReportQuery::new(
        from.parse::<Period>().expect("period"),
        to.parse::<Period>().expect("period"),
    );
    Report::build(store, &q).expect("report").total
}

/// The schema as hedge 0.1's first release wrote it (migration 1), by hand.
const V1: &str = "
    CREATE TABLE counts (
        day TEXT NOT NULL, profile TEXT NOT NULL, category TEXT NOT NULL,
        action TEXT NOT NULL, n INTEGER NOT NULL,
        PRIMARY KEY (day, profile, category, action)) WITHOUT ROWID;
    CREATE TABLE blocked_domains (
        day TEXT NOT NULL, profile TEXT NOT NULL, category TEXT NOT NULL,
        domain TEXT NOT NULL, n INTEGER NOT NULL,
        PRIMARY KEY (day, profile, category, domain)) WITHOUT ROWID;
    INSERT INTO counts VALUES
        ('2024-11-30', 'child', 'gambling', 'blocked', 40),
        ('2024-12-01', 'child', 'gambling', 'blocked', 2),
        ('2024-12-01', 'adult', '-', 'allowed', 1000);
    INSERT INTO blocked_domains VALUES
        ('2024-11-30', 'child', 'gambling', 'bet.example', 30),
        ('2024-11-30', 'child', 'gambling', 'casino.example', 10),
        ('2024-12-01', 'child', 'gambling', 'bet.example', 2);
    PRAGMA user_version = 1;
";

#[test]
fn migrates_a_version_1_store_and_keeps_its_data() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let path = dir.path().join("old.sqlite");
    Connection::open(&path)
        .expect("create")
        .execute_batch(V1)
        .expect("v1 schema");

    let mut store = SqliteStore::open(&path).expect("open migrates");
    assert_eq!(store.schema_version().expect("version"), SCHEMA_VERSION);
    assert_eq!(store.integrity_check().expect("check"), vec!["ok"]);
    assert_eq!(total(&store, "2024-11", "2024-12"), Cell::Count(1042));

    // The monthly domain totals were filled from the old rows.
    let mut q = ReportQuery::new(
        "2024-11".parse().expect("month"),
        "2024-12".parse().expect("month"),
    );
    q.top_domains = Some(5);
    let r = Report::build(&store, &q).expect("report");
    let top: Vec<(String, u64)> = r
        .top_domains
        .expect("asked for")
        .into_iter()
        .map(|d| (d.domain, d.count))
        .collect();
    assert_eq!(
        top,
        vec![("bet.example".into(), 32), ("casino.example".into(), 10)]
    );

    // New tables work, and new writes add to old rows.
    store
        .write(
            day("2024-12-01"),
            &blocked("child", "gambling", "bet.example", 1),
        )
        .expect("write");
    assert_eq!(total(&store, "2024-12-01", "2024-12-01"), Cell::Count(1003));
    assert!(store.list_changes(None).expect("list changes").is_empty());
    drop(store);

    // Opening again is a no-op.
    let store = SqliteStore::open(&path).expect("reopen");
    assert_eq!(store.schema_version().expect("version"), SCHEMA_VERSION);
}

#[test]
fn refuses_a_newer_schema() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let path = dir.path().join("new.sqlite");
    Connection::open(&path)
        .expect("create")
        .execute_batch("CREATE TABLE future (x); PRAGMA user_version = 99;")
        .expect("future schema");
    let e = SqliteStore::open(&path).expect_err("newer schema");
    assert!(matches!(e, Error::NewerSchema { found: 99, .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains("schema version 99"), "{msg}");
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert!(msg.contains("upgrade hedge"), "{msg}");
}

#[test]
fn a_file_of_garbage_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let path = dir.path().join("stats.sqlite");
    let garbage: Vec<u8> = (0..8192u32).map(|i| (i * 7 + 13) as u8).collect();
    std::fs::write(&path, garbage).expect("write garbage");
    let e = SqliteStore::open(&path).expect_err("not a database");
    assert!(matches!(e, Error::NotADatabase { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert!(msg.contains("not an SQLite database"), "{msg}");
    assert!(msg.contains("move it aside"), "{msg}");
}

#[test]
fn damaged_pages_are_reported_as_corruption() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let path = dir.path().join("stats.sqlite");
    {
        let mut store = SqliteStore::open(&path).expect("open");
        for i in 0..200 {
            let b = blocked("child", "gambling", &format!("site-{i:04}.example"), 1);
            store.write(day("2025-01-01"), &b).expect("write");
        }
        drop(store);
        // Fold the WAL into the main file and leave WAL mode, so the damage below is seen.
        Connection::open(&path)
            .expect("second connection")
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode = DELETE;")
            .expect("checkpoint");
    }
    let mut bytes = std::fs::read(&path).expect("read");
    assert!(bytes.len() > 4 * 4096, "{} bytes", bytes.len());
    for b in &mut bytes[4096..] {
        *b = 0x5a;
    }
    std::fs::write(&path, bytes).expect("damage");
    let outcome = SqliteStore::open(&path).and_then(|mut s| {
        s.write(
            day("2025-01-02"),
            &blocked("child", "gambling", "x.example", 1),
        )?;
        Report::build(
            &s,
            &ReportQuery::new("2025-01".parse()?, "2025-01".parse()?),
        )
        .map(|_| ())
    });
    let e = outcome.expect_err("damage is noticed");
    assert!(matches!(e, Error::Corrupt { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains(".recover"), "{msg}");
    assert!(msg.contains(&path.display().to_string()), "{msg}");
}

#[test]
fn a_locked_store_fails_clearly_and_loses_nothing() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let path = dir.path().join("stats.sqlite");
    let mut store = SqliteStore::open(&path).expect("open");
    let holder = Connection::open(&path).expect("second connection");
    holder.execute_batch("BEGIN EXCLUSIVE").expect("lock");

    let batch = blocked("child", "gambling", "bet.example", 3);
    let e = store.write(day("2025-01-01"), &batch).expect_err("locked");
    assert!(matches!(e, Error::Locked { .. }), "{e:?}");
    assert!(e.is_transient());
    let msg = e.to_string();
    assert!(msg.contains("is locked"), "{msg}");
    assert!(msg.contains(&path.display().to_string()), "{msg}");

    holder.execute_batch("COMMIT").expect("unlock");
    store
        .write(day("2025-01-01"), &batch)
        .expect("write after unlock");
    assert_eq!(total(&store, "2025-01", "2025-01"), Cell::Count(3));
}

#[test]
fn cannot_open_in_a_missing_folder() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let path = dir.path().join("no/such/folder/stats.sqlite");
    let e = SqliteStore::open(&path).expect_err("missing folder");
    assert!(matches!(e, Error::CannotOpen { .. }), "{e:?}");
    assert!(
        e.to_string().contains("check that its folder exists"),
        "{e}"
    );
}

#[test]
fn retention_removes_exactly_the_old_rows() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let path = dir.path().join("stats.sqlite");
    let mut store = SqliteStore::open(&path).expect("open");
    let privacy = ClientPrivacy::default();
    let first = day("2025-02-27");
    let today = day("2025-03-08");
    let mut d = first;
    while d <= today {
        let mut b = blocked("child", "gambling", "bet.example", 1);
        b.add_allowed(arc("child"), "ok.example", 2);
        b.extend_query_log([QueryLogEntry {
            ts: d
                .to_zoned(jiff::tz::TimeZone::UTC)
                .expect("midnight")
                .timestamp()
                + jiff::SignedDuration::from_hours(12),
            profile: arc("child"),
            client: privacy.client_id("10.20.4.17".parse().expect("ip")),
            name: "bet.example".into(),
            qtype: "A".into(),
            action: Action::Blocked,
            category: arc("gambling"),
        }]);
        store.write(d, &b).expect("write");
        store
            .record_list_change(&ListChange {
                compiled_at: d
                    .to_zoned(jiff::tz::TimeZone::UTC)
                    .expect("midnight")
                    .timestamp(),
                old_version: "v0".into(),
                new_version: "v1".into(),
                categories: vec![CategoryChange {
                    category: "gambling".into(),
                    added: 1,
                    removed: 0,
                    recategorised: 0,
                    names: vec![NameChange {
                        name: format!("new-{d}.example"),
                        change: ChangeKind::Added,
                        from_category: None,
                    }],
                }],
            })
            .expect("list change");
        d = d.tomorrow().expect("tomorrow");
    }
    Connection::open(&path)
        .expect("second connection")
        .execute_batch(
            "INSERT INTO unblock_requests (requested_at, profile, domain, reason) VALUES
                ('2025-03-03T10:00:00Z', 'child', 'a.example', 'homework'),
                ('2025-03-04T10:00:00Z', 'child', 'b.example', 'homework');",
        )
        .expect("unblock requests");
    assert_eq!(total(&store, "2025-02", "2025-03"), Cell::Count(10));

    let retention = Retention {
        aggregate_days: 5,
        query_log_days: 2,
    };
    let pruned = store.prune(today, &retention).expect("prune");
    // Kept: 2025-03-04 ..= 2025-03-08 (5 days); the query log keeps 03-07 and 03-08.
    assert_eq!(pruned.counts, 5);
    assert_eq!(pruned.blocked_domains, 5);
    assert_eq!(
        pruned.allowed_domains, 5,
        "the allowed names go with the blocked ones"
    );
    assert_eq!(pruned.list_changes, 5);
    assert_eq!(pruned.unblock_requests, 1);
    assert_eq!(pruned.query_log, 8);
    assert_eq!(total(&store, "2025-02", "2025-03"), Cell::Count(5));
    assert_eq!(total(&store, "2025-03-04", "2025-03-04"), Cell::Count(1));
    assert_eq!(total(&store, "2025-03-03", "2025-03-03"), Cell::Count(0));
    assert_eq!(store.row_count("query_log").expect("rows"), 2);
    assert_eq!(store.row_count("list_change_names").expect("rows"), 5);
    assert_eq!(store.row_count("allowed_domains").expect("rows"), 5);
    let allowed = store
        .allowed_domains(day("2025-02-01"), day("2025-03-31"), "child")
        .expect("allowed");
    assert_eq!(
        allowed,
        [AllowedCount {
            domain: "ok.example".into(),
            n: 10
        }]
    );
    assert_eq!(store.list_changes(None).expect("changes").len(), 5);

    // The monthly domain totals follow: March is recomputed, February is gone.
    let mut q = ReportQuery::new(
        "2025-02".parse().expect("month"),
        "2025-03".parse().expect("month"),
    );
    q.top_domains = Some(1);
    let r = Report::build(&store, &q).expect("report");
    assert_eq!(r.top_domains.expect("asked for")[0].count, 5);
    assert_eq!(store.row_count("blocked_domains_monthly").expect("rows"), 1);

    // Nothing more to do the same day.
    assert_eq!(store.prune(today, &retention).expect("prune").total(), 0);
    // Retention must be at least a day.
    let e = store
        .prune(
            today,
            &Retention {
                aggregate_days: 0,
                query_log_days: 1,
            },
        )
        .expect_err("zero days");
    assert!(e.to_string().contains("between 1 day and 100 years"), "{e}");
}

#[test]
fn list_changes_round_trip_and_are_bounded() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let mut store = SqliteStore::open(dir.path().join("stats.sqlite")).expect("open");
    let at: jiff::Timestamp = "2025-06-01T02:00:00Z".parse().expect("time");
    let names: Vec<NameChange> = (0..MAX_CHANGE_NAMES + 5)
        .map(|i| NameChange {
            name: format!("n{i:05}.example"),
            change: ChangeKind::Added,
            from_category: None,
        })
        .collect();
    let change = ListChange {
        compiled_at: at,
        old_version: "2025-05-31".into(),
        new_version: "2025-06-01".into(),
        categories: vec![
            CategoryChange {
                category: "gambling".into(),
                added: names.len() as u64,
                removed: 0,
                recategorised: 0,
                names,
            },
            CategoryChange {
                category: "games".into(),
                added: 0,
                removed: 0,
                recategorised: 1,
                names: vec![NameChange {
                    name: "cards.example".into(),
                    change: ChangeKind::Recategorised,
                    from_category: Some("gambling".into()),
                }],
            },
        ],
    };
    store.record_list_change(&change).expect("record");
    let got = store.list_changes(None).expect("read");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].compiled_at, at);
    assert_eq!(got[0].categories[0].added, MAX_CHANGE_NAMES as u64 + 5);
    assert_eq!(got[0].categories[0].names.len(), MAX_CHANGE_NAMES);
    assert_eq!(got[0].categories[1], change.categories[1]);
    let later: jiff::Timestamp = "2025-06-02T00:00:00Z".parse().expect("time");
    assert!(store.list_changes(Some(later)).expect("read").is_empty());
}

#[test]
fn the_query_log_stores_only_what_privacy_allows() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let path = dir.path().join("stats.sqlite");
    let mut store = SqliteStore::open(&path).expect("open");
    let client: IpAddr = "2001:db8:5:6::17".parse().expect("ip");

    // Off by default: nothing is kept.
    let plain = Counters::new(vec!["child".into()], vec!["gambling".into()]).expect("names");
    plain.log_query(0, Some(0), Action::Blocked, client, "bet.example", "AAAA");
    assert!(plain.swap_out().query_log().is_empty());

    let logging = Counters::with_options(
        vec!["child".into()],
        vec!["gambling".into()],
        CountersOptions {
            query_log: Some(QueryLogOptions {
                privacy: ClientPrivacy::Truncate,
                max_entries_per_interval: 2,
            }),
            ..CountersOptions::default()
        },
    )
    .expect("names");
    for _ in 0..3 {
        logging.log_query(0, Some(0), Action::Blocked, client, "bet.example", "AAAA");
    }
    assert_eq!(logging.query_log_dropped(), 1);
    store
        .write(day("2025-01-01"), &logging.swap_out())
        .expect("write");
    let rows: Vec<(String, String, String, String, String)> = Connection::open(&path)
        .expect("second connection")
        .prepare("SELECT profile, client, name, qtype, action || ' ' || category FROM query_log")
        .expect("query")
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("rows");
    assert_eq!(rows.len(), 2);
    assert_eq!(
        rows[0],
        (
            "child".into(),
            "2001:db8:5::/48".into(),
            "bet.example".into(),
            "AAAA".into(),
            "blocked gambling".into()
        )
    );
}

#[test]
fn reports_break_down_by_day_and_profile() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let mut store = SqliteStore::open(dir.path().join("stats.sqlite")).expect("open");
    store
        .write(
            day("2025-01-30"),
            &blocked("child", "gambling", "a.example", 2),
        )
        .expect("write");
    store
        .write(
            day("2025-01-31"),
            &blocked("adult", "gambling", "a.example", 5),
        )
        .expect("write");
    let mut q = ReportQuery::new(
        "2025-01-30".parse().expect("day"),
        "2025-01-31".parse().expect("day"),
    );
    q.by = vec![Dim::Day, Dim::Profile];
    let r = Report::build(&store, &q).expect("report");
    let rows: Vec<String> = r
        .rows
        .iter()
        .map(|x| format!("{} {} {}", x.get(Dim::Day), x.get(Dim::Profile), x.count))
        .collect();
    assert_eq!(rows, vec!["2025-01-30 child 2", "2025-01-31 adult 5"]);
    assert_eq!(r.totals.len(), 2);
}

#[test]
fn changed_names_keep_to_the_period_and_say_what_was_not_kept() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let mut store = SqliteStore::open(dir.path().join("stats.sqlite")).expect("open");
    let name = |n: &str, change, from: Option<&str>| NameChange {
        name: n.into(),
        change,
        from_category: from.map(str::to_string),
    };
    let compile = |at: &str, version: &str, categories| ListChange {
        compiled_at: at.parse().expect("time"),
        old_version: "v0".into(),
        new_version: version.into(),
        categories,
    };
    // March: one name moves from gambling/lottery to games; 12 added of which 1 kept.
    store
        .record_list_change(&compile(
            "2026-03-31T23:59:59Z",
            "v1",
            vec![
                CategoryChange {
                    category: "gambling/lottery".into(),
                    added: 12,
                    removed: 1,
                    recategorised: 0,
                    names: vec![
                        name("new.example", ChangeKind::Added, None),
                        name("moved.example", ChangeKind::Removed, None),
                    ],
                },
                CategoryChange {
                    category: "games".into(),
                    added: 0,
                    removed: 0,
                    recategorised: 1,
                    names: vec![name(
                        "moved.example",
                        ChangeKind::Recategorised,
                        Some("gambling/lottery"),
                    )],
                },
            ],
        ))
        .expect("record");
    // April: outside a March period.
    store
        .record_list_change(&compile(
            "2026-04-01T00:00:00Z",
            "v2",
            vec![CategoryChange {
                category: "gambling".into(),
                added: 1,
                removed: 0,
                recategorised: 0,
                names: vec![name("april.example", ChangeKind::Added, None)],
            }],
        ))
        .expect("record");

    let march = hedge_stats::ChangesQuery {
        from: "2026-03-01T00:00:00Z".parse().expect("time"),
        until: "2026-04-01T00:00:00Z".parse().expect("time"),
        category: Some("gambling".into()),
    };
    let found = store.changed_names(&march).expect("read");
    assert_eq!(found.compilations, 1);
    let got: Vec<(&str, &str, Option<&str>)> = found
        .names
        .iter()
        .map(|n| (n.name.as_str(), n.change.as_str(), n.to_category.as_deref()))
        .collect();
    assert_eq!(
        got,
        [
            ("new.example", "added", None),
            ("moved.example", "removed", Some("games")),
        ]
    );
    assert_eq!(found.unrecorded.len(), 1);
    assert_eq!(found.unrecorded[0].category, "gambling/lottery");
    assert_eq!(
        (found.unrecorded[0].changed, found.unrecorded[0].recorded),
        (13, 2)
    );
    // `gambl` is not a parent of `gambling`: nothing, but the compile is still counted.
    let prefix_only = hedge_stats::ChangesQuery {
        category: Some("gambl".into()),
        ..march
    };
    let none = store.changed_names(&prefix_only).expect("read");
    assert!(none.names.is_empty() && none.unrecorded.is_empty());
    assert_eq!(none.compilations, 1);
}
