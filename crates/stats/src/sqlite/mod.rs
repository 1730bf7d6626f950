//! [`SqliteStore`]: the statistics store in one SQLite file (WAL, versioned migrations).
//!
//! One job per module: `connection` opens the file and sets its pragmas, `migrations` holds
//! the schema (a new migration goes at the end of [`MIGRATIONS`], its SQL in
//! `migrations/NNN_name.sql`), `write` and `read` are the [`Store`]'s writes and its reads
//! of the counts, `read_changes` reads the list-change history. The unblock requests and
//! staff accounts keep their queries in `crate::requests` and `crate::staff`.

mod connection;
mod migrations;
mod read;
mod read_changes;
mod write;

use std::path::{Path, PathBuf};

use jiff::Timestamp;
use jiff::civil::Date;
use rusqlite::Connection;

use crate::batch::Batch;
use crate::error::Error;
use crate::store::{
    CountRow, CountsQuery, DomainCount, DomainsQuery, ListChange, Pruned, Retention, Store,
};

pub use connection::DEFAULT_BUSY_TIMEOUT;
pub use migrations::{MIGRATIONS, Migration, SCHEMA_VERSION};

/// The statistics store in one SQLite file.
///
/// Opened in WAL mode with `synchronous=FULL`: a write is one transaction, readers (a
/// report) never block the writer, and a crash never breaks the file's consistency.
/// `FULL` syncs the WAL at every commit, so a power cut loses only the transaction being
/// written; `NORMAL` syncs only at checkpoints and can lose every commit since the last one
/// (minutes of counts). The cost is one fsync per flush (about one a second) on the
/// flusher's thread, never on the query path.
#[derive(Debug)]
pub struct SqliteStore {
    pub(crate) conn: Connection,
    pub(crate) path: PathBuf,
}

/// A time as the store writes it: UTC, `YYYY-MM-DDTHH:MM:SSZ` (sorts as text).
pub(crate) fn ts_text(ts: Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Column `i` as a time written by [`ts_text`].
pub(crate) fn timestamp_column(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Timestamp> {
    let text: String = r.get(i)?;
    text.parse().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
    })
}

impl SqliteStore {
    /// The file this store lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Wraps a SQLite error with this store's path and what was being done.
    pub(crate) fn err(&self, context: &'static str) -> impl Fn(rusqlite::Error) -> Error + '_ {
        move |e| Error::sqlite(&self.path, context, e)
    }
}

/// A count as SQLite's signed integer (saturating: counts never come near it).
fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Appends `AND` clauses for a category and its descendants: `c` or anything under `c/`.
fn category_filter(sql: &mut String, args: &mut Vec<String>, category: &str) {
    sql.push_str(" AND (category = ? OR (category >= ? AND category < ?))");
    args.push(category.to_owned());
    args.push(format!("{category}/"));
    args.push(format!("{category}0")); // '0' sorts right after '/'
}

impl Store for SqliteStore {
    fn write(&mut self, day: Date, batch: &Batch) -> Result<(), Error> {
        self.write_batch(day, batch)
    }

    fn prune(&mut self, today: Date, retention: &Retention) -> Result<Pruned, Error> {
        self.prune_expired(today, retention)
    }

    fn counts(&self, q: &CountsQuery) -> Result<Vec<CountRow>, Error> {
        self.sum_counts(q)
    }

    fn top_blocked_domains(&self, q: &DomainsQuery) -> Result<Vec<DomainCount>, Error> {
        self.rank_blocked_domains(q)
    }

    fn record_list_change(&mut self, change: &ListChange) -> Result<(), Error> {
        self.insert_list_change(change)
    }

    fn list_changes(&self, since: Option<Timestamp>) -> Result<Vec<ListChange>, Error> {
        self.read_list_changes(since)
    }
}
