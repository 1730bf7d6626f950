//! Privacy-preserving query statistics for hedge: per-thread counters in the resolver, an
//! SQLite store with retention, and the reports that answer Freedom of Information requests.
//!
//! # How data flows
//!
//! ```text
//! resolver tasks ──record()──▶ Counters ──swap_out()──▶ Batch ──Store::write(day)──▶ SqliteStore
//!   (a tally per thread)         ▲   (every ~1 s, on the flusher thread)               │
//!                                └── spawn_flusher: retries, retention ─ Store::prune ◀┘
//! hedge report ──ReportQuery──▶ Report::build(store) ──▶ Report (serde) ──▶ hedge prints it
//! ```
//!
//! - [`Counters`] counts every answered query by (profile, category, [`Action`]) in the
//!   calling thread's own tally: a load and a store in a flat array, no lock, no allocation,
//!   no cache line shared with another counting thread. Blocked queries are also counted per
//!   domain in the thread's own table (bounded per flush interval; the overflow is counted as
//!   `(other)`). Neither holds anything about the client. An optional raw query log (off by
//!   default) records clients only as [`ClientPrivacy`] allows: truncated to /24 or /48
//!   unless the operator chose a keyed hash or full addresses.
//! - [`spawn_flusher`] runs a std thread (SQLite is blocking; the resolver is async) that calls
//!   [`Counters::swap_out`] about once a second and adds the [`Batch`] to the [`Store`] in one
//!   transaction, attributing it to the UTC day at flush time (see [`flusher`]). If the store
//!   cannot be written (locked, corrupt, disk full) it logs `counting paused: …` once, keeps
//!   the counts in memory (bounded) and retries; it logs when counting resumes. It also
//!   enforces the [`Retention`] at start and once a day.
//! - [`SqliteStore`] is the one [`Store`]: WAL, `synchronous=FULL`, versioned migrations
//!   ([`MIGRATIONS`]). A `kill -9` or a power cut loses at most the counts since the last
//!   write (blocked-domain counts are written every 5 s, the others every second) and never
//!   corrupts the file. Opening a damaged, foreign or locked file gives an [`Error`] that names the
//!   file and says what to do.
//! - [`Report::build`] answers a [`ReportQuery`] — counts by month/day, profile, category
//!   (rolled up the category tree) and action, per-period totals, top blocked domains, and
//!   optional small-count suppression that keeps hidden cells hidden (see [`suppression`]).
//!   A [`Report`] is data (and `Serialize`): the `hedge` binary prints it as a table, CSV, JSON
//!   or Markdown.
//!
//! # Example
//!
//! ```
//! use hedge_stats::{
//!     Action, Cell, Counters, Dim, Period, Report, ReportQuery, SqliteStore, Store, utc_today,
//! };
//!
//! let dir = tempfile::tempdir()?;
//! let counters = Counters::new(
//!     vec!["child".into()],
//!     vec!["gambling".into(), "gambling/casino".into()],
//! )?;
//! // In the resolver, for each answered query:
//! counters.record_blocked(0, Some(1), "casino.example");
//! counters.record(0, None, Action::Allowed);
//!
//! // What the flusher thread does every second:
//! let mut store = SqliteStore::open(dir.path().join("stats.sqlite"))?;
//! let today = utc_today();
//! store.write(today, &counters.swap_out())?;
//!
//! // "Blocked requests by category, and the top blocked domains":
//! let mut query = ReportQuery::new(Period::Day(today), Period::Day(today));
//! query.by = vec![Dim::Category];
//! query.action = Some(Action::Blocked);
//! query.top_domains = Some(10);
//! let report = Report::build(&store, &query)?;
//! assert_eq!(report.total, Cell::Count(1));
//! assert_eq!(report.rows[0].category.as_deref(), Some("gambling")); // includes its children
//! println!("{}", serde_json::to_string_pretty(&report)?);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # What this crate does not do
//!
//! - Know DNS: categories are taxonomy ids as strings (`adult-material/nudity`; the parent is
//!   the part before the last `/`), profiles are names, query types are the caller's text.
//! - Record who asked, outside the opt-in raw query log.
//! - Print: the `hedge` binary renders reports (its `output` module).
//! - Serve metrics or parse configuration: the `hedge` binary does that and passes the values.
//! - Talk to PostgreSQL (yet): [`Store`] is the seam for it.
//!
//! It also keeps the library's unblock requests and the staff's decisions on them, with an
//! audit log (see [`requests`]).

#![deny(missing_docs)]

mod action;
mod allowed_domains;
mod audited;
mod batch;
mod counters;
mod error;
pub mod flusher;
mod privacy;
pub mod report;
pub mod requests;
mod sqlite;
pub mod staff;
mod store;
pub mod suppression;

#[doc(hidden)]
#[path = "fixture.rs"]
pub mod testing;

pub use action::Action;
pub use allowed_domains::AllowedCount;
pub use batch::{
    AllowedKey, Batch, BatchLimits, CountKey, DomainKey, OTHER_DOMAIN, QueryLogEntry, UNCATEGORISED,
};
pub use counters::{CountCell, Counters, CountersOptions, QueryLogOptions};
pub use error::Error;
pub use flusher::{
    FlusherHandle, FlusherOptions, FlusherStatus, spawn_flusher, spawn_flusher_with, utc_today,
};
pub use privacy::{ClientId, ClientPrivacy};
pub use report::{Cell, Dim, Period, PeriodTotal, Report, ReportQuery, Row, TopDomain};
pub use requests::{
    ActiveGrant, ActiveOverrides, AuditEntry, ExportQuery, ExportRow, LocalRecategorisation,
    NewRequest, RateLimit, RateLimiter, RequestExport, RequestFilter, RequestStatus, RetryAfter,
    Submitted, UnblockRequest,
};
pub use sqlite::{DEFAULT_BUSY_TIMEOUT, MIGRATIONS, Migration, SCHEMA_VERSION, SqliteStore};
pub use store::{
    CategoryChange, ChangeKind, ChangedName, ChangedNames, ChangesQuery, CountRow, CountsQuery,
    DomainCount, DomainsQuery, Grain, ListChange, MAX_CHANGE_NAMES, NameChange, Pruned, Retention,
    Store, UnrecordedNames,
};
