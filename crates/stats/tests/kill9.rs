//! `kill -9` in the middle of writing never corrupts the store and never half-applies a flush,
//! and loses at most 10 seconds of any count.
//!
//! The tests re-run this test binary as a child process (selecting a `child_*` test with an
//! environment variable set), let it count and write, kill it with SIGKILL, and check the file.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use hedge_stats::{
    Action, Batch, Counters, FlusherOptions, SqliteStore, Store, spawn_flusher_with,
};
use jiff::civil::Date;
use rusqlite::Connection;

const CHILD_ENV: &str = "HEDGE_STATS_KILL9_CHILD_STORE";
const COUNTING_CHILD_ENV: &str = "HEDGE_STATS_KILL9_COUNTING_STORE";

/// Blocked queries the counting child answers, spread over [`DOMAINS`] names.
const QUERIES: u64 = 20_000;
const DOMAINS: u64 = 500;

/// Starts this test binary running only `test`, with `env` set to the store's path, and
/// waits until it prints `ready`.
fn start_child(test: &str, env: &str, path: &std::path::Path) -> Child {
    let exe = std::env::current_exe().expect("test binary");
    let mut child = Command::new(&exe)
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(env, path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the child");
    let stdout = child.stdout.take().expect("child stdout");
    let mut lines = BufReader::new(stdout).lines();
    loop {
        match lines.next() {
            Some(Ok(l)) if l.contains("ready") => break,
            Some(Ok(_)) => continue,
            _ => panic!("child {test} stopped before it was ready"),
        }
    }
    child
}

fn kill9(mut child: Child) {
    child.kill().expect("SIGKILL the child"); // SIGKILL on Unix
    let status = child.wait().expect("reap the child");
    assert!(!status.success(), "the child was killed");
}

/// Each flush adds 1 to `a` and 1 to `b` and one domain row: if a flush were half-applied,
/// the sums would differ.
fn one_flush(i: u64) -> Batch {
    let mut b = Batch::new();
    b.add_count(Arc::from("p"), Arc::from("a"), Action::Blocked, 1);
    b.add_count(Arc::from("p"), Arc::from("b"), Action::Allowed, 1);
    b.add_domain(
        Arc::from("p"),
        Arc::from("a"),
        &format!("d{}.example", i % 5000),
        1,
    );
    b
}

/// Not a test on its own: the child process's body.
#[test]
fn child_writer() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let mut store = SqliteStore::open(&path).expect("child opens the store");
    let day = Date::constant(2025, 1, 1);
    for i in 0u64.. {
        store.write(day, &one_flush(i)).expect("child writes");
        if i == 10 {
            println!("ready");
        }
    }
}

#[test]
fn sigkill_while_writing_never_corrupts() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let path = dir.path().join("stats.sqlite");
    let mut last = 0;
    for round in 0..4u64 {
        let child = start_child("child_writer", CHILD_ENV, &path);
        std::thread::sleep(Duration::from_millis(50 + 37 * round));
        kill9(child);

        let store = SqliteStore::open(&path).expect("open after kill -9");
        assert_eq!(
            store.integrity_check().expect("integrity check"),
            vec!["ok"]
        );
        let conn = Connection::open(&path).expect("inspect");
        let (a, b): (i64, i64) = conn
            .query_row(
                "SELECT SUM(CASE category WHEN 'a' THEN n END), \
                        SUM(CASE category WHEN 'b' THEN n END) FROM counts",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .expect("sums");
        let (daily, monthly): (i64, i64) = conn
            .query_row(
                "SELECT (SELECT SUM(n) FROM blocked_domains), \
                        (SELECT SUM(n) FROM blocked_domains_monthly)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .expect("domain sums");
        assert_eq!(a, b, "a flush was half-applied");
        assert_eq!(a, daily, "counts and domains disagree");
        assert_eq!(daily, monthly, "daily and monthly domain totals disagree");
        assert!(a > last, "round {round}: the child wrote nothing ({a})");
        last = a;
    }
    // Keep the store usable after all that.
    let mut store = SqliteStore::open(&path).expect("open");
    store
        .write(Date::constant(2025, 1, 2), &one_flush(0))
        .expect("write after the kills");
}

/// Not a test on its own: a resolver's counting as `hedge serve` sets it up (default flusher
/// options), which answers [`QUERIES`] blocked queries, says so, and keeps running.
#[test]
fn child_counting() {
    let Ok(path) = std::env::var(COUNTING_CHILD_ENV) else {
        return;
    };
    let counters = Arc::new(
        Counters::new(vec!["child".into()], vec!["gambling".into()]).expect("valid names"),
    );
    let store = SqliteStore::open(&path).expect("child opens the store");
    let _flusher = spawn_flusher_with(counters.clone(), store, FlusherOptions::default())
        .expect("start the flusher");
    for i in 0..QUERIES {
        counters.record(0, Some(0), Action::Blocked);
        counters.record_blocked_domain(0, Some(0), &format!("d{}.example", i % DOMAINS));
    }
    println!("ready");
    loop {
        std::thread::sleep(Duration::from_secs(60));
    }
}

/// 20,000 blocked queries, 10.5 s, `kill -9`: every aggregate count and every blocked-domain
/// count is in the store (the promise: at most 10 s of any count is lost).
#[test]
fn sigkill_ten_seconds_after_counting_loses_nothing() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let path = dir.path().join("stats.sqlite");
    let child = start_child("child_counting", COUNTING_CHILD_ENV, &path);
    std::thread::sleep(Duration::from_millis(10_500));
    kill9(child);

    let conn = Connection::open(&path).expect("inspect");
    let counts: Vec<(String, String, String, i64)> = conn
        .prepare("SELECT profile, category, action, n FROM counts")
        .and_then(|mut s| {
            s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                .collect()
        })
        .expect("read counts");
    assert_eq!(
        counts,
        vec![(
            "child".to_string(),
            "gambling".to_string(),
            "blocked".to_string(),
            QUERIES as i64
        )],
        "aggregate counts after kill -9"
    );
    for table in ["blocked_domains", "blocked_domains_monthly"] {
        let domains: Vec<(String, i64)> = conn
            .prepare(&format!(
                "SELECT domain, SUM(n) FROM {table} WHERE profile = 'child' \
                 AND category = 'gambling' GROUP BY domain ORDER BY domain"
            ))
            .and_then(|mut s| s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
            .expect("read domain counts");
        let mut expected: Vec<(String, i64)> = (0..DOMAINS)
            .map(|d| (format!("d{d}.example"), (QUERIES / DOMAINS) as i64))
            .collect();
        expected.sort();
        assert_eq!(
            domains.len(),
            expected.len(),
            "{table}: distinct blocked domains after kill -9"
        );
        assert_eq!(
            domains, expected,
            "{table}: blocked-domain counts after kill -9"
        );
    }
}

/// A power cut loses at most the transaction being written: every commit syncs the WAL.
#[test]
fn every_commit_is_synced() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let store = SqliteStore::open(dir.path().join("stats.sqlite")).expect("open");
    // PRAGMA synchronous is per connection: ask the store's own.
    assert_eq!(
        store.synchronous().expect("read the pragma"),
        2,
        "synchronous = FULL"
    );
}
