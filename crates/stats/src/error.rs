//! The crate's one error type.

use std::path::{Path, PathBuf};

use rusqlite::ErrorCode;

/// Everything that can go wrong in `hedge-stats`.
///
/// Store errors name the file and say what to do about it; they print well with `{:#}`
/// (the underlying SQLite error is the [`source`](std::error::Error::source)).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file exists but is not an SQLite database (or its header is destroyed).
    #[error(
        "statistics store {}: the file is not an SQLite database (or its header is damaged); \
         move it aside together with any -wal and -shm files beside it (hedge then creates a \
         fresh store), or set the statistics path to another file",
        path.display()
    )]
    NotADatabase {
        /// The store's path.
        path: PathBuf,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },

    /// SQLite found damaged pages.
    #[error(
        "statistics store {} is corrupt; stop hedge, try `sqlite3 {} .recover | sqlite3 \
         recovered.sqlite` and use the recovered file, or move the damaged file (and its -wal \
         and -shm files) aside to start a fresh store",
        path.display(),
        path.display()
    )]
    Corrupt {
        /// The store's path.
        path: PathBuf,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },

    /// Another connection holds a lock for longer than the busy timeout.
    #[error(
        "statistics store {} is locked by another connection or process; counts are kept and \
         written when the lock is released (look for an open `sqlite3` shell or a second hedge \
         using the same file)",
        path.display()
    )]
    Locked {
        /// The store's path.
        path: PathBuf,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },

    /// The file or its folder cannot be opened or created.
    #[error(
        "statistics store {} cannot be opened: check that its folder exists and that the user \
         hedge runs as may read and write both the folder and the file",
        path.display()
    )]
    CannotOpen {
        /// The store's path.
        path: PathBuf,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },

    /// The file system is full or a quota was reached.
    #[error(
        "statistics store {}: the disk is full; free space on its file system (counts are kept \
         in memory and written when there is room) or lower the retention",
        path.display()
    )]
    DiskFull {
        /// The store's path.
        path: PathBuf,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },

    /// The file or its folder is read-only.
    #[error(
        "statistics store {} is read-only; the user hedge runs as must be able to write the file \
         and its folder (SQLite creates -wal and -shm files beside it)",
        path.display()
    )]
    ReadOnly {
        /// The store's path.
        path: PathBuf,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },

    /// The store was written by a newer hedge.
    #[error(
        "statistics store {} has schema version {found}, newer than the {supported} this hedge \
         knows; upgrade hedge, or set the statistics path to another file",
        path.display()
    )]
    NewerSchema {
        /// The store's path.
        path: PathBuf,
        /// The version found in the file.
        found: i64,
        /// The newest version this build can use.
        supported: i64,
    },

    /// A schema migration failed; the store is left at the previous version.
    #[error(
        "statistics store {}: migrating to schema version {version} ({description}) failed; the \
         store is unchanged at the previous version",
        path.display()
    )]
    Migration {
        /// The store's path.
        path: PathBuf,
        /// The version being applied.
        version: i64,
        /// What the migration does.
        description: &'static str,
        /// What went wrong.
        #[source]
        source: Box<Error>,
    },

    /// Any other SQLite failure.
    #[error("statistics store {}: {context}", path.display())]
    Sqlite {
        /// The store's path.
        path: PathBuf,
        /// What we were doing.
        context: &'static str,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },

    /// A setting, name or report query that cannot be used as given; the message says why.
    #[error("{0}")]
    Invalid(String),

    /// No unblock request has this number.
    #[error("no unblock request #{0}")]
    NoSuchRequest(i64),

    /// The request was decided or withdrawn already; nothing was written.
    #[error(
        "request #{id} is {status}, not open: only an open request can be granted, denied or \
         withdrawn"
    )]
    NotOpen {
        /// The request.
        id: i64,
        /// Its status (`granted`, `denied`, `withdrawn`).
        status: String,
    },

    /// No grant has this number, or it is no longer live.
    #[error("no live grant #{0}")]
    NoSuchGrant(i64),

    /// The flusher thread could not be started.
    #[error("cannot start the statistics flusher thread")]
    Spawn(#[source] std::io::Error),

    /// The flusher thread panicked; counts held in memory are lost.
    #[error("the statistics flusher thread panicked; counts it held in memory are lost")]
    FlusherPanicked,
}

impl Error {
    /// Classifies a SQLite error for the store at `path`.
    pub(crate) fn sqlite(path: &Path, context: &'static str, source: rusqlite::Error) -> Error {
        let path = path.to_path_buf();
        let code = match &source {
            rusqlite::Error::SqliteFailure(e, _) => Some(e.code),
            _ => None,
        };
        match code {
            Some(ErrorCode::NotADatabase) => Error::NotADatabase { path, source },
            Some(ErrorCode::DatabaseCorrupt) => Error::Corrupt { path, source },
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
                Error::Locked { path, source }
            }
            Some(ErrorCode::CannotOpen) => Error::CannotOpen { path, source },
            Some(ErrorCode::DiskFull) => Error::DiskFull { path, source },
            Some(ErrorCode::ReadOnly) => Error::ReadOnly { path, source },
            _ => Error::Sqlite {
                path,
                context,
                source,
            },
        }
    }

    /// True for errors that go away by themselves (a lock released, space freed), so that
    /// retrying later makes sense.
    pub fn is_transient(&self) -> bool {
        matches!(self, Error::Locked { .. } | Error::DiskFull { .. })
    }
}

/// `error: cause: cause …`, for logs (the `{:#}` of anyhow, without anyhow).
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        source = cause.source();
    }
    s
}
