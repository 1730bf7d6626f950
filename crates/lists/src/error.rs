//! The one error type of `hedge-lists`: every variant says where and what to do.

use std::path::PathBuf;

/// Errors that stop a compile or refuse an index file. Bad *lines* in a list are not errors:
/// they are counted [`crate::Warning`]s, so a million-line list with a few bad lines still compiles.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written. The OS error is part of the message and not a
    /// `source`, so a printed error chain says it once.
    #[error("{}: {error}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        error: std::io::Error,
    },
    /// A TOML file (taxonomy or manifest) is malformed or has unknown keys.
    #[error("{path}: {message}")]
    Toml {
        /// The file.
        path: PathBuf,
        /// The parser's message, with line and column.
        message: String,
    },
    /// The taxonomy breaks a rule (id not the slug of its name, unknown parent, duplicate id…).
    #[error("{origin}: category `{id}`: {problem}")]
    Taxonomy {
        /// The taxonomy file.
        origin: String,
        /// The offending category id.
        id: String,
        /// What is wrong and how to fix it.
        problem: String,
    },
    /// The source manifest breaks a rule.
    #[error("{manifest}: source `{source_name}`: {problem}")]
    Manifest {
        /// The manifest file.
        manifest: PathBuf,
        /// The source's `name`.
        source_name: String,
        /// What is wrong and how to fix it.
        problem: String,
    },
    /// A source names a `url` but has no local copy yet.
    #[error(
        "source `{source_name}` has no local copy at {}: run `hedge lists update` to download \
         {url} and compile it, or point `path` at a copy of it",
        path.display()
    )]
    NotFetched {
        /// The source's `name`.
        source_name: String,
        /// Where the local copy was expected.
        path: PathBuf,
        /// The upstream address.
        url: String,
    },
    /// An index file is truncated, corrupted, of another format version or otherwise unusable.
    #[error("{}: {problem}", path.display())]
    BadIndex {
        /// The index file (or `<memory>`).
        path: PathBuf,
        /// What is wrong and what to do.
        problem: String,
    },
    /// A source, or one list of a directory source, gave no names: compiling it would
    /// silently unblock its categories.
    #[error(
        "{}: source `{source_name}`{}: no names ({lines} lines read{reasons}). An empty or \
         truncated download, or the wrong `format` (an HTML error page, a hosts file declared \
         as adblock)? Fix the file or its `format`, or remove the source from the manifest",
        path.display(),
        list.as_ref().map(|l| format!(", list `{l}`")).unwrap_or_default()
    )]
    EmptySource {
        /// The source's `name`.
        source_name: String,
        /// The list within a directory source.
        list: Option<String>,
        /// The file (or directory) read.
        path: PathBuf,
        /// Non-blank lines read.
        lines: u64,
        /// What became of them (`, 12 invalid, 3 unsupported`), or empty.
        reasons: String,
    },
    /// Building the FST failed (keys out of order would be a bug in the compiler).
    #[error("building the index failed: {0}")]
    Fst(#[from] fst::Error),
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            error: source,
        }
    }
}
