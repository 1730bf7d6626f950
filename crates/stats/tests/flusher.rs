//! The flusher thread: pausing on a locked store without losing counts, day attribution,
//! retention at start, bounded memory during long outages.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use hedge_stats::{
    Action, Batch, Cell, Counters, FlusherHandle, FlusherOptions, Period, Report, ReportQuery,
    Retention, SqliteStore, Store, spawn_flusher, spawn_flusher_with,
};
use jiff::civil::Date;
use rusqlite::Connection;

/// Everything logged by any test in this binary.
fn logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let sink = buf.clone();
        tracing_subscriber::fmt()
            .with_writer(move || Sink(sink.clone()))
            .with_ansi(false)
            .init();
        buf
    })
    .clone()
}

struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(b);
        Ok(b.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn log_lines_with(needles: &[&str]) -> usize {
    let logs = logs();
    let text = String::from_utf8_lossy(&logs.lock().expect("log buffer")).into_owned();
    text.lines()
        .filter(|l| needles.iter().all(|n| l.contains(n)))
        .count()
}

fn counters() -> Arc<Counters> {
    Arc::new(Counters::new(vec!["child".into()], vec!["gambling".into()]).expect("names"))
}

fn total_on(path: &Path, day: &str) -> Cell {
    let store = SqliteStore::open(path).expect("open for the report");
    let d = day.parse::<Period>().expect("day");
    Report::build(&store, &ReportQuery::new(d, d))
        .expect("report")
        .total
}

struct Clock(Arc<Mutex<Date>>);

impl Clock {
    fn new(d: Date) -> Clock {
        Clock(Arc::new(Mutex::new(d)))
    }

    fn set(&self, d: Date) {
        *self.0.lock().expect("clock") = d;
    }

    fn options(&self) -> FlusherOptions {
        let c = self.0.clone();
        FlusherOptions {
            interval: Duration::from_secs(3600),
            today: Arc::new(move || *c.lock().expect("clock")),
            ..FlusherOptions::default()
        }
    }
}

/// A flusher on a new store whose days come from a clock set to 2025-03-01, with the store
/// held locked by a second connection.
struct LockedStore {
    path: PathBuf,
    clock: Clock,
    counters: Arc<Counters>,
    flusher: FlusherHandle,
    holder: Connection,
    /// Last, so the folder goes after the connections to the store in it.
    _dir: tempfile::TempDir,
}

impl LockedStore {
    /// `options` turns the clock's flusher options into the test's.
    fn start(options: impl FnOnce(FlusherOptions) -> FlusherOptions) -> LockedStore {
        let dir = tempfile::tempdir().expect("temporary folder");
        let path = dir.path().join("stats.sqlite");
        let clock = Clock::new(Date::constant(2025, 3, 1));
        let counters = counters();
        let flusher = spawn_flusher_with(
            counters.clone(),
            SqliteStore::open(&path).expect("open"),
            options(clock.options()),
        )
        .expect("start");
        let holder = Connection::open(&path).expect("second connection");
        holder.execute_batch("BEGIN EXCLUSIVE").expect("lock");
        LockedStore {
            path,
            clock,
            counters,
            flusher,
            holder,
            _dir: dir,
        }
    }
}

#[test]
fn a_locked_store_pauses_counting_and_loses_nothing() {
    let _ = logs();
    let s = LockedStore::start(|options| options);
    for _ in 0..10 {
        s.counters.record(0, Some(0), Action::Blocked);
    }
    let e = s.flusher.flush_now().expect_err("store is locked");
    assert!(e.contains("is locked"), "{e}");
    let st = s.flusher.status();
    assert!(st.paused);
    assert_eq!(st.pending_queries, 10);
    assert_eq!(st.failures, 1);

    // Still locked at midnight: the held counts keep their day.
    s.clock.set(Date::constant(2025, 3, 2));
    for _ in 0..5 {
        s.counters.record(0, None, Action::Allowed);
    }
    s.flusher.flush_now().expect_err("still locked");
    assert_eq!(s.flusher.status().pending_queries, 15);

    s.holder.execute_batch("COMMIT").expect("unlock");
    s.flusher.flush_now().expect("written after unlock");
    let st = s.flusher.status();
    assert!(!st.paused);
    assert_eq!(st.pending_queries, 0);
    assert_eq!(st.lost_queries, 0);
    s.flusher.shutdown().expect("shutdown");

    assert_eq!(total_on(&s.path, "2025-03-01"), Cell::Count(10));
    assert_eq!(total_on(&s.path, "2025-03-02"), Cell::Count(5));
    // Said once, not once per retry; and said when it resumed.
    let p = s.path.display().to_string();
    assert_eq!(log_lines_with(&["counting paused", &p, "is locked"]), 1);
    assert!(log_lines_with(&["counting resumed"]) >= 1);
}

#[test]
fn flushes_on_its_own_about_every_interval() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let path = dir.path().join("stats.sqlite");
    let c = counters();
    let flusher = spawn_flusher(
        c.clone(),
        SqliteStore::open(&path).expect("open"),
        Duration::from_millis(50),
    )
    .expect("start");
    for _ in 0..7 {
        c.record(0, Some(0), Action::Blocked);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while flusher.status().flushes == 0 {
        assert!(Instant::now() < deadline, "no flush within 10 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    let today = hedge_stats::utc_today().to_string();
    // The flush may have straddled midnight; check the two days around it.
    let store = SqliteStore::open(&path).expect("open");
    let d: Period = today.parse().expect("day");
    let mut q = ReportQuery::new(d, d);
    q.from = Period::Day(d.first_day().yesterday().expect("yesterday"));
    let r = Report::build(&store, &q).expect("report");
    assert_eq!(r.total, Cell::Count(7));
    flusher.shutdown().expect("shutdown");
}

#[test]
fn prunes_at_start() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let path = dir.path().join("stats.sqlite");
    let mut store = SqliteStore::open(&path).expect("open");
    let mut b = Batch::new();
    b.add_count(Arc::from("child"), Arc::from("-"), Action::Allowed, 4);
    store.write(Date::constant(2024, 1, 1), &b).expect("old");
    store.write(Date::constant(2025, 3, 1), &b).expect("recent");
    let clock = Clock::new(Date::constant(2025, 3, 1));
    let flusher = spawn_flusher_with(
        counters(),
        store,
        FlusherOptions {
            retention: Retention {
                aggregate_days: 30,
                query_log_days: 1,
            },
            ..clock.options()
        },
    )
    .expect("start");
    let deadline = Instant::now() + Duration::from_secs(10);
    while flusher.status().last_prune.is_none() {
        assert!(Instant::now() < deadline, "no prune within 10 s");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(
        flusher.status().last_prune,
        Some(Date::constant(2025, 3, 1))
    );
    flusher.shutdown().expect("shutdown");
    assert_eq!(total_on(&path, "2024-01-01"), Cell::Count(0));
    assert_eq!(total_on(&path, "2025-03-01"), Cell::Count(4));
}

#[test]
fn a_long_outage_drops_the_oldest_days_and_counts_them() {
    let s = LockedStore::start(|options| FlusherOptions {
        max_pending_days: 2,
        ..options
    });
    for (day, n) in [(1, 1), (2, 2), (3, 3)] {
        s.clock.set(Date::constant(2025, 3, day));
        for _ in 0..n {
            s.counters.record(0, None, Action::Allowed);
        }
        s.flusher.flush_now().expect_err("locked");
    }
    let st = s.flusher.status();
    assert_eq!(st.lost_queries, 1);
    assert_eq!(st.pending_queries, 5);
    s.holder.execute_batch("COMMIT").expect("unlock");
    s.flusher.shutdown().expect("final flush");
    assert_eq!(total_on(&s.path, "2025-03-01"), Cell::Count(0));
    assert_eq!(total_on(&s.path, "2025-03-02"), Cell::Count(2));
    assert_eq!(total_on(&s.path, "2025-03-03"), Cell::Count(3));
}

/// A store that always fails, to check shutdown reports the loss.
struct Broken;

impl Store for Broken {
    fn write(&mut self, _: Date, _: &Batch) -> Result<(), hedge_stats::Error> {
        Err(hedge_stats::Error::Invalid("broken on purpose".into()))
    }
    fn prune(&mut self, _: Date, _: &Retention) -> Result<hedge_stats::Pruned, hedge_stats::Error> {
        Ok(hedge_stats::Pruned::default())
    }
    fn counts(
        &self,
        _: &hedge_stats::CountsQuery,
    ) -> Result<Vec<hedge_stats::CountRow>, hedge_stats::Error> {
        Ok(vec![])
    }
    fn top_blocked_domains(
        &self,
        _: &hedge_stats::DomainsQuery,
    ) -> Result<Vec<hedge_stats::DomainCount>, hedge_stats::Error> {
        Ok(vec![])
    }
    fn record_list_change(
        &mut self,
        _: &hedge_stats::ListChange,
    ) -> Result<(), hedge_stats::Error> {
        Ok(())
    }
    fn list_changes(
        &self,
        _: Option<jiff::Timestamp>,
    ) -> Result<Vec<hedge_stats::ListChange>, hedge_stats::Error> {
        Ok(vec![])
    }
}

#[test]
fn shutdown_reports_a_failed_final_flush() {
    let c = counters();
    let flusher = spawn_flusher(c.clone(), Broken, Duration::from_secs(3600)).expect("start");
    c.record(0, None, Action::Allowed);
    let e = flusher.shutdown().expect_err("final flush fails");
    assert!(e.to_string().contains("broken on purpose"), "{e}");
}

/// Every row of a table, as text, in key order.
fn table_rows(path: &Path, sql: &str) -> Vec<String> {
    let conn = Connection::open(path).expect("inspect");
    let mut stmt = conn.prepare(sql).expect("query");
    let cols = stmt.column_count();
    stmt.query_map([], |r| {
        (0..cols)
            .map(|i| {
                Ok(match r.get_ref(i)? {
                    rusqlite::types::ValueRef::Integer(n) => n.to_string(),
                    v => v.as_str()?.to_owned(),
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(|v| v.join(","))
    })
    .and_then(|rows| rows.collect())
    .expect("rows")
}

/// What the resolver's threads count comes out exactly, per day and per month, however the
/// counting is spread over threads (one of which has ended) and over flushes: the aggregate
/// rows, the blocked-domain rows of each day, and the monthly domain totals beside them.
#[test]
fn counts_from_many_threads_and_flushes_add_up_per_day_and_month() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let path = dir.path().join("stats.sqlite");
    let clock = Clock::new(Date::constant(2025, 1, 30));
    let c = Arc::new(
        Counters::new(
            vec!["adult".into(), "child".into()],
            vec![
                "gambling".into(),
                "custom:tv".into(),
                "bypass:doh-canary".into(),
                "walled-garden".into(),
            ],
        )
        .expect("names"),
    );
    let flusher = spawn_flusher_with(
        c.clone(),
        SqliteStore::open(&path).expect("open"),
        clock.options(),
    )
    .expect("start");
    // Each round: 3 threads count the same mix; a name longer than 24 bytes included.
    let long = "a-name-longer-than-twenty-four-bytes.example";
    let round = |c: &Arc<Counters>| {
        std::thread::scope(|s| {
            for _ in 0..3 {
                s.spawn(|| {
                    for _ in 0..100 {
                        c.record(1, Some(0), Action::Blocked);
                        c.record_blocked_domain(1, Some(0), "bet.example");
                        c.record(0, None, Action::Allowed);
                    }
                    for (profile, category, name) in [
                        (0, 1, "watchlive.channel4.com"),
                        (1, 2, "use-application-dns.net"),
                        (1, 3, long),
                        (0, 0, "bet.example"),
                    ] {
                        c.record(profile, Some(category), Action::Blocked);
                        c.record_blocked_domain(profile, Some(category), name);
                    }
                });
            }
        });
    };
    round(&c);
    flusher.flush_now().expect("flush");
    round(&c);
    flusher.flush_now().expect("flush");
    flusher.flush_now().expect("nothing new: nothing to write");
    clock.set(Date::constant(2025, 1, 31));
    round(&c);
    clock.set(Date::constant(2025, 2, 1));
    flusher.flush_now().expect("flush");
    round(&c);
    flusher.shutdown().expect("final flush");

    let counts = table_rows(
        &path,
        "SELECT day, profile, category, action, n FROM counts ORDER BY 1, 2, 3, 4",
    );
    let per_day = |day: &str, k: u64| {
        [
            format!("{day},adult,-,allowed,{}", 300 * k),
            format!("{day},adult,custom:tv,blocked,{}", 3 * k),
            format!("{day},adult,gambling,blocked,{}", 3 * k),
            format!("{day},child,bypass:doh-canary,blocked,{}", 3 * k),
            format!("{day},child,gambling,blocked,{}", 300 * k),
            format!("{day},child,walled-garden,blocked,{}", 3 * k),
        ]
    };
    let want: Vec<String> = [per_day("2025-01-30", 2), per_day("2025-02-01", 2)].concat();
    assert_eq!(counts, want);

    let domains_per_day = |day: &str, k: u64| {
        [
            format!("{day},adult,custom:tv,watchlive.channel4.com,{}", 3 * k),
            format!("{day},adult,gambling,bet.example,{}", 3 * k),
            format!(
                "{day},child,bypass:doh-canary,use-application-dns.net,{}",
                3 * k
            ),
            format!("{day},child,gambling,bet.example,{}", 300 * k),
            format!("{day},child,walled-garden,{long},{}", 3 * k),
        ]
    };
    let domains = table_rows(
        &path,
        "SELECT day, profile, category, domain, n FROM blocked_domains ORDER BY 1, 2, 3, 4",
    );
    let want: Vec<String> = [
        domains_per_day("2025-01-30", 2),
        domains_per_day("2025-02-01", 2),
    ]
    .concat();
    assert_eq!(domains, want);
    let monthly = table_rows(
        &path,
        "SELECT month, profile, category, domain, n FROM blocked_domains_monthly \
         ORDER BY 1, 2, 3, 4",
    );
    let want: Vec<String> = [domains_per_day("2025-01", 2), domains_per_day("2025-02", 2)].concat();
    assert_eq!(monthly, want);
}
