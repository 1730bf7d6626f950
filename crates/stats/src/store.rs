//! The [`Store`] trait: what the flusher and the reports need from a statistics store.
//!
//! [`SqliteStore`](crate::SqliteStore) is the one implementation; the trait is kept small so
//! that a PostgreSQL store (many resolver replicas, one store) can follow.

use jiff::Timestamp;
use jiff::civil::Date;
use serde::Serialize;

use crate::action::Action;
use crate::batch::Batch;
use crate::error::Error;

/// A statistics store. Every method is blocking; run it off the async runtime (the flusher
/// has its own thread).
pub trait Store: Send {
    /// Adds the batch's counts to `day` (and appends its query log entries), all or nothing.
    fn write(&mut self, day: Date, batch: &Batch) -> Result<(), Error>;

    /// Deletes what is older than `retention` allows, counted from `today`.
    fn prune(&mut self, today: Date, retention: &Retention) -> Result<Pruned, Error>;

    /// Sums of counts, grouped as asked. Categories are returned as stored (not rolled up).
    fn counts(&self, query: &CountsQuery) -> Result<Vec<CountRow>, Error>;

    /// The most-blocked domains in a range, largest first, ties by name.
    fn top_blocked_domains(&self, query: &DomainsQuery) -> Result<Vec<DomainCount>, Error>;

    /// Records what one list compilation changed.
    fn record_list_change(&mut self, change: &ListChange) -> Result<(), Error>;

    /// The recorded list changes compiled at or after `since` (all if `None`), oldest first.
    fn list_changes(&self, since: Option<Timestamp>) -> Result<Vec<ListChange>, Error>;
}

/// How long things are kept. Rows for day `D` are kept while `today - D < days`: with
/// 400 days, today and the 399 days before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Retention {
    /// Aggregate counts, blocked-domain counts, list changes, unblock requests with their
    /// decisions, expired grants and the audit log. Default 400 days. (A request's contact
    /// details are deleted sooner: see [`crate::requests`].)
    pub aggregate_days: u32,
    /// The raw query log (when it is on). Default 7 days.
    pub query_log_days: u32,
}

impl Default for Retention {
    fn default() -> Retention {
        Retention {
            aggregate_days: 400,
            query_log_days: 7,
        }
    }
}

impl Retention {
    /// Checks that both periods are at least one day and at most 100 years.
    pub fn validate(&self) -> Result<(), Error> {
        for (what, days) in [
            ("aggregate", self.aggregate_days),
            ("query log", self.query_log_days),
        ] {
            if !(1..=36_525).contains(&days) {
                return Err(Error::Invalid(format!(
                    "{what} retention of {days} days: it must be between 1 day and 100 years \
                     (36525 days)"
                )));
            }
        }
        Ok(())
    }

    /// The first day still kept for a retention of `days`, counted from `today`.
    pub fn first_kept(today: Date, days: u32) -> Result<Date, Error> {
        let back = i64::from(days.max(1)) - 1;
        today
            .checked_sub(jiff::Span::new().days(back))
            .map_err(|e| Error::Invalid(format!("retention of {days} days from {today}: {e}")))
    }
}

/// Rows deleted by [`Store::prune`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Pruned {
    /// From `counts`.
    pub counts: u64,
    /// From `blocked_domains`.
    pub blocked_domains: u64,
    /// From `allowed_domains`.
    pub allowed_domains: u64,
    /// From `list_changes` (their names go with them).
    pub list_changes: u64,
    /// From `unblock_requests` (their contacts go with them).
    pub unblock_requests: u64,
    /// From `unblock_request_contacts`, deleted sooner than their requests.
    pub request_contacts: u64,
    /// Expired or revoked grants from `grants`.
    pub grants: u64,
    /// From `audit_log`.
    pub audit_log: u64,
    /// From `query_log`.
    pub query_log: u64,
}

impl Pruned {
    /// All rows deleted.
    pub fn total(&self) -> u64 {
        self.counts
            + self.blocked_domains
            + self.allowed_domains
            + self.list_changes
            + self.unblock_requests
            + self.request_contacts
            + self.grants
            + self.audit_log
            + self.query_log
    }
}

/// The time grain of a grouped count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Grain {
    /// `YYYY-MM`.
    Month,
    /// `YYYY-MM-DD`.
    Day,
}

/// Which rows to sum and how to group them, for [`Store::counts`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CountsQuery {
    /// First day, inclusive.
    pub from: Option<Date>,
    /// Last day, inclusive.
    pub to: Option<Date>,
    /// Only this profile.
    pub profile: Option<String>,
    /// Only this category and its descendants (`a` matches `a` and `a/…`).
    pub category: Option<String>,
    /// Only this action.
    pub action: Option<Action>,
    /// Group by period at this grain (`None`: one period for the whole range).
    pub grain: Option<Grain>,
    /// Group by profile.
    pub by_profile: bool,
    /// Group by (stored, leaf-level) category.
    pub by_category: bool,
    /// Group by action.
    pub by_action: bool,
}

/// One grouped sum. Fields not grouped on are `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountRow {
    /// `YYYY-MM` or `YYYY-MM-DD`.
    pub period: Option<String>,
    /// Profile name.
    pub profile: Option<String>,
    /// Category id as stored.
    pub category: Option<String>,
    /// Action.
    pub action: Option<Action>,
    /// The sum.
    pub n: u64,
}

/// Which blocked domains to rank, for [`Store::top_blocked_domains`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DomainsQuery {
    /// First day, inclusive.
    pub from: Option<Date>,
    /// Last day, inclusive.
    pub to: Option<Date>,
    /// Only this profile.
    pub profile: Option<String>,
    /// Only this category and its descendants.
    pub category: Option<String>,
    /// Only domains with at least this many blocked queries.
    pub min_count: u64,
    /// At most this many.
    pub limit: usize,
}

/// A blocked domain and how often it was blocked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DomainCount {
    /// The domain.
    pub domain: String,
    /// The category it was blocked for (the one with the most blocks, if several).
    pub category: String,
    /// Blocked queries.
    pub n: u64,
}

/// What one compilation of the lists changed against the previous index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListChange {
    /// When the new index was compiled.
    pub compiled_at: Timestamp,
    /// The previous index's version (empty for the first compile).
    pub old_version: String,
    /// The new index's version.
    pub new_version: String,
    /// Per category, what changed.
    pub categories: Vec<CategoryChange>,
}

/// What changed in one category. Counts are exact; `names` may be cut to
/// [`MAX_CHANGE_NAMES`] per category (the store keeps at most that many).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CategoryChange {
    /// Category id.
    pub category: String,
    /// Names newly listed in this category.
    pub added: u64,
    /// Names no longer listed in this category.
    pub removed: u64,
    /// Names that moved into this category from another.
    pub recategorised: u64,
    /// Some of the names, with what happened to each.
    pub names: Vec<NameChange>,
}

/// Per-name change details kept per category and compilation, at most.
pub const MAX_CHANGE_NAMES: usize = 10_000;

/// One name's change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NameChange {
    /// The domain name.
    pub name: String,
    /// What happened.
    pub change: ChangeKind,
    /// For a recategorised name, the category it moved from.
    pub from_category: Option<String>,
}

/// What happened to a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    /// Newly listed.
    Added,
    /// No longer listed.
    Removed,
    /// Moved from another category.
    Recategorised,
}

impl ChangeKind {
    /// `added`, `removed` or `recategorised`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Added => "added",
            ChangeKind::Removed => "removed",
            ChangeKind::Recategorised => "recategorised",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<ChangeKind> {
        [
            ChangeKind::Added,
            ChangeKind::Removed,
            ChangeKind::Recategorised,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// Which recorded list changes to read, for [`SqliteStore::changed_names`](crate::SqliteStore::changed_names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangesQuery {
    /// Compiled at or after this time.
    pub from: Timestamp,
    /// Compiled before this time.
    pub until: Timestamp,
    /// Only this category and its descendants (`a` matches `a` and `a/…`).
    pub category: Option<String>,
}

/// One name's change in one category and compilation, as [`SqliteStore::changed_names`]
/// reads it.
///
/// [`SqliteStore::changed_names`]: crate::SqliteStore::changed_names
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangedName {
    /// When the index that made the change was compiled.
    pub compiled_at: Timestamp,
    /// The index it replaced.
    pub old_version: String,
    /// The index that made the change.
    pub new_version: String,
    /// The category the change is in.
    pub category: String,
    /// The domain name.
    pub name: String,
    /// What happened to it in `category`.
    pub change: ChangeKind,
    /// For a recategorised name, the categories it was in before (comma-separated).
    pub from_category: Option<String>,
    /// For a removed name that the same compilation recategorised into other categories,
    /// those categories (comma-separated): it moved rather than went.
    pub to_category: Option<String>,
}

/// Changes counted in one category and compilation whose names the store did not keep
/// (more than [`MAX_CHANGE_NAMES`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnrecordedNames {
    /// When the index was compiled.
    pub compiled_at: Timestamp,
    /// The category.
    pub category: String,
    /// Names changed in it.
    pub changed: u64,
    /// Of which the store kept this many.
    pub recorded: u64,
}

/// What [`SqliteStore::changed_names`](crate::SqliteStore::changed_names) found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ChangedNames {
    /// Compilations in the period that changed anything (in any category).
    pub compilations: u64,
    /// Every recorded name change, oldest compilation first, then by category, change, name
    /// (`added`, `recategorised`, `removed`).
    pub names: Vec<ChangedName>,
    /// Where names were counted but not kept.
    pub unrecorded: Vec<UnrecordedNames>,
}
