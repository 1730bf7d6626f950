//! Why a download or an unpack failed: every variant names the URL or file and says what to do.

use std::path::PathBuf;

/// A failed download or unpack. [`Error::is_transient`] tells which are worth a retry.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server answered with an error status.
    #[error("{url}: HTTP {status}{}", retry_hint(*status))]
    Status {
        /// The address asked for.
        url: String,
        /// The status code and reason, e.g. `404 Not Found`.
        status: StatusText,
    },
    /// No connection, a reset, or a body cut short.
    #[error("{url}: {message}")]
    Transport {
        /// The address asked for.
        url: String,
        /// What went wrong, with its causes.
        message: String,
    },
    /// No byte arrived for the stall limit.
    #[error("{url}: no data for {secs} s (stall limit); the server hangs or the link is down")]
    Stalled {
        /// The address asked for.
        url: String,
        /// The stall limit.
        secs: u64,
    },
    /// The whole download took longer than its limit.
    #[error("{url}: not complete after {secs} s (time limit); raise --timeout if the link is slow")]
    TimedOut {
        /// The address asked for.
        url: String,
        /// The time limit.
        secs: u64,
    },
    /// The body is (or says it will be) larger than the cap.
    #[error(
        "{url}: larger than the {limit}-byte cap{}; raise `max_size` for this source if the list really grew",
        declared.map(|d| format!(" (the server announced {d} bytes)")).unwrap_or_default()
    )]
    TooLarge {
        /// The address asked for.
        url: String,
        /// The cap in bytes.
        limit: u64,
        /// The Content-Length, when it gave the size away.
        declared: Option<u64>,
    },
    /// A web page served where a list was expected (a login wall, an error page with 200).
    #[error("{url}: served `{content_type}`, a web page, not a list; check the `url`")]
    WebPage {
        /// The address asked for.
        url: String,
        /// The Content-Type header.
        content_type: String,
    },
    /// A redirect changed the scheme (https to http, or the reverse).
    #[error(
        "{url}: redirected to {to}, another scheme; refused (put the final https address in `url`)"
    )]
    SchemeRedirect {
        /// The address asked for.
        url: String,
        /// Where the server redirected.
        to: String,
    },
    /// The downloaded file does not match its `sha256` pin.
    #[error(
        "{url}: sha256 {got} does not match the pin {expected}; the file changed upstream or was \
         tampered with: check it, then update or remove `sha256`"
    )]
    Pin {
        /// The address asked for.
        url: String,
        /// The pinned digest.
        expected: String,
        /// The digest of what was downloaded.
        got: String,
    },
    /// An archive entry was refused, or the archive is malformed.
    #[error("{}: {entry}: {problem}", archive.display())]
    Unpack {
        /// The archive.
        archive: PathBuf,
        /// The entry's path as written in the archive (or `-` for the archive as a whole).
        entry: String,
        /// What is wrong.
        problem: String,
    },
    /// A local file could not be written or read.
    #[error("{}: {error}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        error: std::io::Error,
    },
    /// The HTTP client could not be set up (a bad extra CA certificate).
    #[error("setting up the HTTP client: {0}")]
    Setup(String),
}

/// A status code with its reason phrase, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusText(pub u16);

impl std::fmt::Display for StatusText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let reason = reqwest::StatusCode::from_u16(self.0)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("");
        write!(f, "{} {reason}", self.0)
    }
}

fn retry_hint(status: StatusText) -> &'static str {
    match status.0 {
        404 | 410 => " (the list moved or was withdrawn: check `url` against the homepage)",
        401 | 403 => " (the server refuses hedge: check `url`, or download the list by hand)",
        _ => "",
    }
}

impl Error {
    /// Worth another try: a server error, a rate limit, a lost or slow connection. A client
    /// error (4xx), a size, type, pin or redirect problem would only fail again.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Status { status, .. } => matches!(status.0, 408 | 429 | 500..=599),
            Error::Transport { .. } | Error::Stalled { .. } | Error::TimedOut { .. } => true,
            _ => false,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, error: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            error,
        }
    }
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
