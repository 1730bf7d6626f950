//! `kill -9` in the middle of writing never corrupts the store and never half-applies a flush.
//!
//! The test re-runs this test binary as a child process (selecting the `child_writer` test
//! with an environment variable set), lets it write flushes in a loop, kills it with SIGKILL
//! at an arbitrary moment, and checks the file. Repeated a few times on the same file.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use hedge_stats::{Action, Batch, SqliteStore, Store};
use jiff::civil::Date;
use rusqlite::Connection;

const CHILD_ENV: &str = "HEDGE_STATS_KILL9_CHILD_STORE";

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
            println!("writing");
        }
    }
}

#[test]
fn sigkill_while_writing_never_corrupts() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let path = dir.path().join("stats.sqlite");
    let exe = std::env::current_exe().expect("test binary");
    let mut last = 0;
    for round in 0..4u64 {
        let mut child = Command::new(&exe)
            .args(["--exact", "child_writer", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the child");
        let stdout = child.stdout.take().expect("child stdout");
        let mut lines = BufReader::new(stdout).lines();
        loop {
            match lines.next() {
                Some(Ok(l)) if l.contains("writing") => break,
                Some(Ok(_)) => continue,
                _ => panic!("child stopped before writing"),
            }
        }
        std::thread::sleep(Duration::from_millis(50 + 37 * round));
        child.kill().expect("SIGKILL the child"); // SIGKILL on Unix
        let status = child.wait().expect("reap the child");
        assert!(!status.success(), "the child was killed");

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
