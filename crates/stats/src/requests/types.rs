//! The requests' data, as stored and returned, and the limits on what is kept.

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use jiff::civil::Date;
use serde::Serialize;

use crate::error::Error;
use crate::report::Cell;

/// A repeat of an open request younger than this many days is merged into it.
pub const MERGE_WINDOW_DAYS: i64 = 7;
/// The longest reason, note or contact kept, in characters.
pub const MAX_TEXT_CHARS: usize = 1000;
/// The longest contact, in characters.
pub const MAX_CONTACT_CHARS: usize = 200;
/// The longest profile, category or staff member name, in characters.
pub const MAX_LABEL_CHARS: usize = 128;

/// Where a request is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RequestStatus {
    /// Waiting for staff.
    Open,
    /// Allowed, for the profiles of its grants.
    Granted,
    /// Refused, with a note.
    Denied,
    /// Taken back before a decision.
    Withdrawn,
}

impl RequestStatus {
    /// Every status, in queue order.
    pub const ALL: [RequestStatus; 4] = [
        RequestStatus::Open,
        RequestStatus::Granted,
        RequestStatus::Denied,
        RequestStatus::Withdrawn,
    ];

    /// `open`, `granted`, `denied` or `withdrawn`, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestStatus::Open => "open",
            RequestStatus::Granted => "granted",
            RequestStatus::Denied => "denied",
            RequestStatus::Withdrawn => "withdrawn",
        }
    }
}

impl fmt::Display for RequestStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RequestStatus {
    type Err = Error;

    fn from_str(s: &str) -> Result<RequestStatus, Error> {
        RequestStatus::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "unknown status {s:?}: use open, granted, denied or withdrawn"
                ))
            })
    }
}

/// What a patron asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewRequest {
    /// The blocked name (Unicode or punycode; normalised as list entries are).
    pub name: String,
    /// What blocked it, as the block page showed (a category id, `custom:…`, …).
    pub category: Option<String>,
    /// The profile it was blocked on.
    pub profile: String,
    /// Why the patron needs it (may be empty; at most [`MAX_TEXT_CHARS`]).
    pub reason: String,
    /// How to tell the patron the outcome: optional personal data, kept apart.
    pub contact: Option<String>,
}

/// What [`SqliteStore::submit_request`] did.
///
/// [`SqliteStore::submit_request`]: crate::SqliteStore::submit_request
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Submitted {
    /// The request's number.
    pub id: i64,
    /// Whether it was a repeat merged into an open request.
    pub merged: bool,
    /// How many times the request has been made now.
    pub count: u64,
}

/// A stored request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnblockRequest {
    /// Its number.
    pub id: i64,
    /// When it was first made.
    pub requested_at: Timestamp,
    /// When it was last repeated (the first time, if never).
    pub last_requested_at: Timestamp,
    /// The name (normalised).
    pub name: String,
    /// What blocked it, as the asker saw it.
    pub category: Option<String>,
    /// The profile it was asked for.
    pub profile: String,
    /// The first asker's reason.
    pub reason: String,
    /// How many times it was asked.
    pub count: u64,
    /// Where it is.
    pub status: RequestStatus,
    /// When it was decided or withdrawn.
    pub decided_at: Option<Timestamp>,
    /// Who decided.
    pub decided_by: Option<String>,
    /// The decision's note.
    pub note: Option<String>,
    /// A grant's expiry (`None`: none, or not granted).
    pub grant_until: Option<Timestamp>,
    /// How many contacts are kept for it (read them with [`SqliteStore::request_contacts`]).
    ///
    /// [`SqliteStore::request_contacts`]: crate::SqliteStore::request_contacts
    pub contacts: u64,
}

/// Which requests [`SqliteStore::list_requests`] returns, oldest first.
///
/// [`SqliteStore::list_requests`]: crate::SqliteStore::list_requests
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestFilter {
    /// Only these.
    pub status: Option<RequestStatus>,
    /// Only this name.
    pub name: Option<String>,
    /// Only this profile.
    pub profile: Option<String>,
    /// At most this many (the newest ones when cut).
    pub limit: Option<usize>,
}

/// A live grant: `name` is allowed on `profile`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActiveGrant {
    /// The grant's number.
    pub id: i64,
    /// The name (and its subdomains).
    pub name: String,
    /// The profile it is allowed on.
    pub profile: String,
    /// When it expires (`None`: when revoked).
    pub until: Option<Timestamp>,
    /// The request it answered, if it is still kept.
    pub request: Option<i64>,
    /// When it was granted.
    pub granted_at: Timestamp,
    /// Who granted it.
    pub granted_by: String,
}

/// A local recategorisation, for every profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LocalRecategorisation {
    /// The name (and its subdomains).
    pub name: String,
    /// The category id.
    pub category: String,
    /// `true`: put into the category; `false`: taken out of it.
    pub add: bool,
    /// Who made it.
    pub by: String,
    /// When.
    pub at: Timestamp,
}

/// What the resolver must apply on top of the lists, as plain rows: the `hedge` binary turns
/// them into its policy's overrides.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ActiveOverrides {
    /// Live grants, one per (name, profile) with the latest expiry, by name and profile.
    pub grants: Vec<ActiveGrant>,
    /// Local recategorisations, by name and category.
    pub recategorised: Vec<LocalRecategorisation>,
}

impl ActiveOverrides {
    /// The first time a grant expires, when the overrides must be read again.
    pub fn next_expiry(&self) -> Option<Timestamp> {
        self.grants.iter().filter_map(|g| g.until).min()
    }
}

/// One audit log entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// When.
    pub at: Timestamp,
    /// The staff member.
    pub actor: String,
    /// `grant`, `deny`, `withdraw`, `revoke`, `recategorise`, `unrecategorise`.
    pub action: String,
    /// What it was done to: `request #12`, `grant #3`, a name.
    pub target: String,
    /// The details.
    pub detail: String,
}

/// Which requests [`SqliteStore::export`] covers and how it is published.
///
/// [`SqliteStore::export`]: crate::SqliteStore::export
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportQuery {
    /// First day a request was made, inclusive.
    pub from: Date,
    /// Last day, inclusive.
    pub to: Date,
    /// Leave out names asked for fewer than K times (counted into a line per decision) and
    /// hide counts as `hedge report --suppress-below` does.
    pub suppress_below: Option<u64>,
}

/// The requests of a period, for publication: nothing about who asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestExport {
    /// First day.
    pub from: Date,
    /// Last day.
    pub to: Date,
    /// `K`, when suppressing.
    pub suppress_below: Option<u64>,
    /// One row per name, category, profile, decision and decision date.
    pub rows: Vec<ExportRow>,
    /// When suppressing: per decision, the requests for names asked fewer than K times.
    pub unlisted: Vec<(RequestStatus, Cell)>,
    /// Requests per decision.
    pub totals: Vec<(RequestStatus, Cell)>,
    /// All requests.
    pub total: Cell,
}

/// One exported row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExportRow {
    /// The name.
    pub name: String,
    /// What blocked it.
    pub category: Option<String>,
    /// The profile.
    pub profile: String,
    /// Times requested.
    pub requests: Cell,
    /// The decision (or `open`).
    pub decision: RequestStatus,
    /// The day of the decision.
    pub decided_on: Option<Date>,
}
