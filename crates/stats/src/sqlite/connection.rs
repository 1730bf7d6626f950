//! Opening the file (WAL, sync mode, busy timeout, foreign keys) and the pragmas a caller
//! may read or change on the open connection.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::SqliteStore;
use crate::error::Error;

/// How long a statement waits for another connection's lock before failing with
/// [`Error::Locked`]. Short, so the flusher keeps its pace and retries.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_millis(250);

impl SqliteStore {
    /// Opens (creating if needed) the store at `path` and brings its schema up to date.
    ///
    /// Errors name the path and what to do: [`Error::NotADatabase`] for a file that is not
    /// SQLite, [`Error::Corrupt`], [`Error::Locked`], [`Error::CannotOpen`],
    /// [`Error::NewerSchema`], [`Error::Migration`].
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteStore, Error> {
        let path = path.as_ref();
        let err = |ctx| move |e| Error::sqlite(path, ctx, e);
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(err("opening"))?;
        conn.busy_timeout(DEFAULT_BUSY_TIMEOUT)
            .map_err(err("setting the busy timeout"))?;
        // The first statement that reads the file: a file that is not a database fails here.
        let _mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(err("switching to WAL mode"))?;
        conn.execute_batch(
            "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA cache_size = -512;",
        )
        .map_err(err("setting pragmas"))?;
        let mut store = SqliteStore {
            conn,
            path: path.to_path_buf(),
        };
        store.migrate()?;
        Ok(store)
    }

    /// The schema version of the file (`PRAGMA user_version`).
    pub fn schema_version(&self) -> Result<i64, Error> {
        self.conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(self.err("reading the schema version"))
    }

    /// Changes how long a statement waits for another connection's lock
    /// (default [`DEFAULT_BUSY_TIMEOUT`]). Reports may want longer.
    pub fn set_busy_timeout(&mut self, timeout: Duration) -> Result<(), Error> {
        self.conn
            .busy_timeout(timeout)
            .map_err(self.err("setting the busy timeout"))
    }

    /// `PRAGMA data_version`: changes whenever *another* connection commits to the file (a
    /// grant from `hedge requests`, counts from the flusher). A watcher polls it to learn
    /// cheaply that it should read again.
    pub fn data_version(&self) -> Result<i64, Error> {
        self.conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))
            .map_err(self.err("reading the data version"))
    }

    /// This connection's `PRAGMA synchronous` (2: FULL, every commit synced).
    pub fn synchronous(&self) -> Result<i64, Error> {
        self.conn
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .map_err(self.err("reading the sync mode"))
    }

    /// Runs `PRAGMA integrity_check`; `["ok"]` when the file is sound.
    pub fn integrity_check(&self) -> Result<Vec<String>, Error> {
        let mut stmt = self
            .conn
            .prepare("PRAGMA integrity_check")
            .map_err(self.err("checking integrity"))?;
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(self.err("checking integrity"))?;
        rows.collect::<Result<_, _>>()
            .map_err(self.err("checking integrity"))
    }
}
