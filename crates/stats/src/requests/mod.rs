//! Unblock requests and the staff's decisions on them, in the statistics store: the data that
//! answers FOI questions Q6 (which sites did users ask for?) and Q7 (which requests were
//! granted, and which denied?).
//!
//! - A patron's request ([`SqliteStore::submit_request`]) names a site, the profile it was
//!   blocked on, what blocked it and a reason. A repeat of the same name and profile while a
//!   request for it is open and less than [`MERGE_WINDOW_DAYS`] old is merged into it
//!   (`count + 1`), so a queue is not flooded by one site.
//! - Staff grant a request for one or more profiles, optionally until a time
//!   ([`SqliteStore::grant`]), deny it with a note, or withdraw it. Only an open request can be
//!   decided. A grant is a row of `grants`; a local recategorisation
//!   ([`SqliteStore::recategorise`]) puts a name into a category, or takes it out, for every
//!   profile. [`SqliteStore::active_overrides`] is what the resolver applies.
//! - Every decision is written together with its [`AuditEntry`] in one transaction: both or
//!   neither.
//!
//! # Personal data and retention
//!
//! A request holds no address and no identity. The optional contact a patron may leave (to be
//! told the outcome) is the only personal data: it is kept in its own table, never exported,
//! and deleted [`CONTACT_DAYS_AFTER_DECISION`] days after the request is decided or withdrawn,
//! and at the latest [`CONTACT_MAX_DAYS`] days after it was given. Requests (with their
//! decisions), ended grants and the audit log are kept as long as the aggregate counts
//! (`Retention::aggregate_days`), counted from a request's last activity. Live grants and
//! recategorisations are policy and stay until revoked or expired.
//!
//! Rate limits against floods ([`RateLimiter`]) are kept in memory, keyed by the client's
//! address, which is never written here.
//!
//! # Concurrency
//!
//! Every writer (the portal, `hedge requests`, the flusher) opens its own [`SqliteStore`]
//! on the same file, from any thread or process: WAL lets readers go on while one writer
//! commits, and each write here is one short `IMMEDIATE` transaction. The flusher holds
//! the write lock for a few milliseconds a second, so a caller that must not fail for it
//! raises [`SqliteStore::set_busy_timeout`] (`hedge requests` waits up to 10 s). A reader
//! learns that another connection wrote through [`SqliteStore::data_version`].
//!
//! # Modules
//!
//! `types` holds the data and limits; `submit`, `decide`, `query` and `export` add the
//! store's methods for each job; `input` checks what callers give, `rows` reads rows back.
//!
//! [`SqliteStore`]: crate::SqliteStore
//! [`SqliteStore::active_overrides`]: crate::SqliteStore::active_overrides
//! [`SqliteStore::data_version`]: crate::SqliteStore::data_version
//! [`SqliteStore::grant`]: crate::SqliteStore::grant
//! [`SqliteStore::recategorise`]: crate::SqliteStore::recategorise
//! [`SqliteStore::set_busy_timeout`]: crate::SqliteStore::set_busy_timeout
//! [`SqliteStore::submit_request`]: crate::SqliteStore::submit_request

mod decide;
mod export;
mod input;
mod query;
mod rate_limit;
pub(crate) mod retention;
mod rows;
mod submit;
mod types;

pub use input::normalize_name;
pub use rate_limit::{RateLimit, RateLimiter, RetryAfter};
pub use retention::{CONTACT_DAYS_AFTER_DECISION, CONTACT_MAX_DAYS};
pub use types::{
    ActiveGrant, ActiveOverrides, AuditEntry, ExportQuery, ExportRow, LocalRecategorisation,
    MAX_CONTACT_CHARS, MAX_LABEL_CHARS, MAX_TEXT_CHARS, MERGE_WINDOW_DAYS, NewRequest,
    RequestExport, RequestFilter, RequestStatus, Submitted, UnblockRequest,
};
