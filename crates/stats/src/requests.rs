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

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};
use rusqlite::{OptionalExtension, Transaction, TransactionBehavior, params};
use serde::Serialize;

use crate::error::Error;
use crate::report::Cell;
use crate::sqlite::{SqliteStore, timestamp_column, ts_text};
use crate::suppression::{Equation, suppress};

mod rate_limit;
pub(crate) mod retention;

pub use rate_limit::{RateLimit, RateLimiter, RetryAfter};
pub use retention::{CONTACT_DAYS_AFTER_DECISION, CONTACT_MAX_DAYS};

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
    pub contacts: u64,
}

/// Which requests [`SqliteStore::list_requests`] returns, oldest first.
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

/// A name as list entries are normalised (punycode, lower case), or why it is not one.
pub fn normalize_name(name: &str) -> Result<String, Error> {
    hedge_lists::normalize(name).map_err(|e| Error::Invalid(format!("name {name:?}: {e}")))
}

/// Free text as kept: line breaks as `\n`, trimmed, no other control characters, at most
/// `max` characters.
fn clean_text(what: &str, text: &str, max: usize) -> Result<String, Error> {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let text = text.trim();
    if let Some(c) = text
        .chars()
        .find(|&c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(Error::Invalid(format!(
            "{what}: control character {c:?} is not allowed"
        )));
    }
    let n = text.chars().count();
    if n > max {
        return Err(Error::Invalid(format!(
            "{what}: {n} characters, at most {max} are kept; shorten it"
        )));
    }
    Ok(text.to_owned())
}

/// A profile, category or staff member name: 1 to [`MAX_LABEL_CHARS`] characters, no spaces
/// or control characters.
fn label<'a>(what: &str, s: &'a str) -> Result<&'a str, Error> {
    let bad = s
        .chars()
        .find(|c| c.is_control() || c.is_whitespace())
        .map(|c| format!("character {c:?} is not allowed"));
    let problem = if s.is_empty() {
        Some("empty".to_owned())
    } else if s.chars().count() > MAX_LABEL_CHARS {
        Some(format!("longer than {MAX_LABEL_CHARS} characters"))
    } else {
        bad
    };
    match problem {
        Some(p) => Err(Error::Invalid(format!("{what} {s:?}: {p}"))),
        None => Ok(s),
    }
}

/// A staff member's name for the audit log: like a label, but spaces are allowed inside.
fn actor(s: &str) -> Result<&str, Error> {
    let t = s.trim();
    if t.is_empty() || t.chars().count() > MAX_LABEL_CHARS || t.chars().any(char::is_control) {
        return Err(Error::Invalid(format!(
            "staff member {s:?}: give a name of 1 to {MAX_LABEL_CHARS} characters"
        )));
    }
    Ok(t)
}

fn status_column(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<RequestStatus> {
    let text: String = r.get(i)?;
    text.parse().map_err(|e: Error| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn opt_timestamp_column(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Option<Timestamp>> {
    match r.get::<_, Option<String>>(i)? {
        None => Ok(None),
        Some(_) => timestamp_column(r, i).map(Some),
    }
}

const REQUEST_COLUMNS: &str = "id, requested_at, COALESCE(last_requested_at, requested_at), \
     domain, category, COALESCE(reason, ''), count, status, decided_at, decided_by, note, \
     grant_until, (SELECT count(*) FROM unblock_request_contacts c WHERE c.request_id = r.id), \
     profile";

fn request_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<UnblockRequest> {
    Ok(UnblockRequest {
        id: r.get(0)?,
        requested_at: timestamp_column(r, 1)?,
        last_requested_at: timestamp_column(r, 2)?,
        name: r.get(3)?,
        category: r.get(4)?,
        reason: r.get(5)?,
        count: r.get::<_, i64>(6)?.max(0) as u64,
        status: status_column(r, 7)?,
        decided_at: opt_timestamp_column(r, 8)?,
        decided_by: r.get(9)?,
        note: r.get(10)?,
        grant_until: opt_timestamp_column(r, 11)?,
        contacts: r.get::<_, i64>(12)?.max(0) as u64,
        profile: r.get(13)?,
    })
}

impl SqliteStore {
    /// Records a patron's request, or merges a repeat into the open request for the same
    /// name and profile made less than [`MERGE_WINDOW_DAYS`] before `now`. All or nothing.
    ///
    /// Errors: [`Error::Invalid`] for a name that is not a domain name, an empty or odd
    /// profile, a reason or contact too long or with control characters.
    pub fn submit_request(&mut self, r: &NewRequest, now: Timestamp) -> Result<Submitted, Error> {
        let name = normalize_name(&r.name)?;
        let profile = label("profile", &r.profile)?;
        let category = r
            .category
            .as_deref()
            .map(|c| label("category", c))
            .transpose()?;
        let reason = clean_text("reason", &r.reason, MAX_TEXT_CHARS)?;
        let contact = match &r.contact {
            Some(c) => Some(clean_text("contact", c, MAX_CONTACT_CHARS)?).filter(|c| !c.is_empty()),
            None => None,
        };
        let at = ts_text(now);
        let window_start = ts_text(
            now.checked_sub(SignedDuration::from_hours(24 * MERGE_WINDOW_DAYS))
                .unwrap_or(Timestamp::MIN),
        );
        self.in_transaction("recording an unblock request", |tx, err| {
            let open: Option<(i64, i64)> = tx
                .query_row(
                    "SELECT id, count FROM unblock_requests WHERE domain = ?1 AND profile = ?2 \
                 AND status = 'open' AND requested_at >= ?3 ORDER BY id DESC LIMIT 1",
                    params![name, profile, window_start],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()
                .map_err(err)?;
            let submitted = match open {
                Some((id, count)) => {
                    tx.execute(
                        "UPDATE unblock_requests SET count = count + 1, last_requested_at = ?2, \
                     category = COALESCE(category, ?3) WHERE id = ?1",
                        params![id, at, category],
                    )
                    .map_err(err)?;
                    Submitted {
                        id,
                        merged: true,
                        count: count.max(0) as u64 + 1,
                    }
                }
                None => {
                    tx.execute(
                        "INSERT INTO unblock_requests (requested_at, last_requested_at, profile, \
                     domain, category, reason) VALUES (?1, ?1, ?2, ?3, ?4, ?5)",
                        params![at, profile, name, category, reason],
                    )
                    .map_err(err)?;
                    Submitted {
                        id: tx.last_insert_rowid(),
                        merged: false,
                        count: 1,
                    }
                }
            };
            if let Some(c) = contact {
                tx.execute(
                    "INSERT INTO unblock_request_contacts (request_id, given_at, contact) \
                 VALUES (?1, ?2, ?3)",
                    params![submitted.id, at, c],
                )
                .map_err(err)?;
            }
            Ok(submitted)
        })
    }

    /// One request, or [`Error::NoSuchRequest`].
    pub fn request(&self, id: i64) -> Result<UnblockRequest, Error> {
        let err = self.err("reading an unblock request");
        self.conn
            .query_row(
                &format!("SELECT {REQUEST_COLUMNS} FROM unblock_requests r WHERE id = ?1"),
                [id],
                request_row,
            )
            .optional()
            .map_err(err)?
            .ok_or(Error::NoSuchRequest(id))
    }

    /// The requests the filter selects, oldest first.
    pub fn list_requests(&self, filter: &RequestFilter) -> Result<Vec<UnblockRequest>, Error> {
        let mut sql =
            format!("SELECT * FROM (SELECT {REQUEST_COLUMNS} FROM unblock_requests r WHERE 1 = 1");
        let mut args: Vec<String> = Vec::new();
        if let Some(s) = filter.status {
            sql.push_str(" AND status = ?");
            args.push(s.as_str().into());
        }
        if let Some(n) = &filter.name {
            sql.push_str(" AND domain = ?");
            args.push(normalize_name(n)?);
        }
        if let Some(p) = &filter.profile {
            sql.push_str(" AND profile = ?");
            args.push(p.clone());
        }
        sql.push_str(" ORDER BY id DESC");
        if let Some(limit) = filter.limit {
            sql.push_str(&format!(" LIMIT {}", limit.min(i64::MAX as usize)));
        }
        sql.push_str(") ORDER BY id");
        let err = self.err("listing unblock requests");
        let mut stmt = self.conn.prepare(&sql).map_err(&err)?;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(&args), request_row)
            .map_err(&err)?;
        rows.collect::<Result<_, _>>().map_err(&err)
    }

    /// The contacts left for a request (personal data: for staff replying, never exported).
    pub fn request_contacts(&self, id: i64) -> Result<Vec<String>, Error> {
        let err = self.err("reading a request's contacts");
        let mut stmt = self
            .conn
            .prepare(
                "SELECT contact FROM unblock_request_contacts WHERE request_id = ?1 ORDER BY id",
            )
            .map_err(&err)?;
        let rows = stmt.query_map([id], |r| r.get(0)).map_err(&err)?;
        rows.collect::<Result<_, _>>().map_err(&err)
    }

    /// Grants open request `id` on each of `profiles` (its own profile or others), until
    /// `until` if given: the request, its grants and the audit entry in one transaction.
    /// Returns the grants' numbers.
    #[allow(clippy::too_many_arguments)]
    pub fn grant(
        &mut self,
        id: i64,
        profiles: &[String],
        until: Option<Timestamp>,
        note: Option<&str>,
        by: &str,
        now: Timestamp,
    ) -> Result<Vec<i64>, Error> {
        let by = actor(by)?;
        if profiles.is_empty() {
            return Err(Error::Invalid(
                "a grant needs at least one profile".to_owned(),
            ));
        }
        let mut unique: Vec<&str> = Vec::new();
        for p in profiles {
            let p = label("profile", p)?;
            if !unique.contains(&p) {
                unique.push(p);
            }
        }
        if let Some(u) = until
            && u <= now
        {
            return Err(Error::Invalid(format!(
                "the grant would expire at {u}, which is not in the future"
            )));
        }
        let note = note
            .map(|n| clean_text("note", n, MAX_TEXT_CHARS))
            .transpose()?
            .filter(|n| !n.is_empty());
        let at = ts_text(now);
        let until_text = until.map(ts_text);
        self.decide(id, "granting an unblock request", |tx, name| {
            tx.execute(
                "UPDATE unblock_requests SET status = 'granted', decided_at = ?2, \
                 decided_by = ?3, note = ?4, grant_until = ?5 WHERE id = ?1",
                params![id, at, by, note, until_text],
            )?;
            let mut ids = Vec::new();
            for p in &unique {
                tx.execute(
                    "INSERT INTO grants (request_id, domain, profile, granted_at, granted_by, \
                     until) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![id, name, p, at, by, until_text],
                )?;
                ids.push(tx.last_insert_rowid());
            }
            let detail = format!(
                "{name} on {}{}{}",
                unique.join(", "),
                until_text
                    .as_deref()
                    .map(|u| format!(" until {u}"))
                    .unwrap_or_default(),
                note.as_deref()
                    .map(|n| format!(": {n}"))
                    .unwrap_or_default()
            );
            audit(tx, &at, by, "grant", &format!("request #{id}"), &detail)?;
            Ok(ids)
        })
    }

    /// Denies open request `id`, with a note saying why (required).
    pub fn deny(&mut self, id: i64, note: &str, by: &str, now: Timestamp) -> Result<(), Error> {
        let by = actor(by)?;
        let note = clean_text("note", note, MAX_TEXT_CHARS)?;
        if note.is_empty() {
            return Err(Error::Invalid(
                "a denial needs a note saying why".to_owned(),
            ));
        }
        let at = ts_text(now);
        self.decide(id, "denying an unblock request", |tx, name| {
            tx.execute(
                "UPDATE unblock_requests SET status = 'denied', decided_at = ?2, \
                 decided_by = ?3, note = ?4 WHERE id = ?1",
                params![id, at, by, note],
            )?;
            let detail = format!("{name}: {note}");
            audit(tx, &at, by, "deny", &format!("request #{id}"), &detail)
        })
    }

    /// Withdraws open request `id` (the patron no longer needs it, or it was a mistake).
    pub fn withdraw(
        &mut self,
        id: i64,
        note: Option<&str>,
        by: &str,
        now: Timestamp,
    ) -> Result<(), Error> {
        let by = actor(by)?;
        let note = note
            .map(|n| clean_text("note", n, MAX_TEXT_CHARS))
            .transpose()?
            .filter(|n| !n.is_empty());
        let at = ts_text(now);
        self.decide(id, "withdrawing an unblock request", |tx, name| {
            tx.execute(
                "UPDATE unblock_requests SET status = 'withdrawn', decided_at = ?2, \
                 decided_by = ?3, note = ?4 WHERE id = ?1",
                params![id, at, by, note],
            )?;
            let detail = match &note {
                Some(n) => format!("{name}: {n}"),
                None => name.to_owned(),
            };
            audit(tx, &at, by, "withdraw", &format!("request #{id}"), &detail)
        })
    }

    /// Runs `body` in one write transaction, committed only if it succeeds; `err` names the
    /// store and `context` in SQLite errors.
    pub(crate) fn in_transaction<T>(
        &mut self,
        context: &'static str,
        body: impl FnOnce(&Transaction<'_>, &dyn Fn(rusqlite::Error) -> Error) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let path = self.path.clone();
        let err = move |e| Error::sqlite(&path, context, e);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(&err)?;
        let out = body(&tx, &err)?;
        tx.commit().map_err(&err)?;
        Ok(out)
    }

    /// Runs `write` on open request `id` (given its name) in one transaction with the
    /// checks; nothing is written unless all of it succeeds.
    fn decide<T>(
        &mut self,
        id: i64,
        context: &'static str,
        write: impl FnOnce(&Transaction<'_>, &str) -> rusqlite::Result<T>,
    ) -> Result<T, Error> {
        self.in_transaction(context, |tx, err| {
            let found: Option<(String, String)> = tx
                .query_row(
                    "SELECT domain, status FROM unblock_requests WHERE id = ?1",
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(err)?;
            let Some((name, status)) = found else {
                return Err(Error::NoSuchRequest(id));
            };
            if status != RequestStatus::Open.as_str() {
                return Err(Error::NotOpen { id, status });
            }
            write(tx, &name).map_err(err)
        })
    }

    /// Ends live grant `grant` now (its request stays granted: the decision was made).
    pub fn revoke_grant(&mut self, grant: i64, by: &str, now: Timestamp) -> Result<(), Error> {
        let by = actor(by)?;
        let at = ts_text(now);
        self.in_transaction("revoking a grant", |tx, err| {
            let found: Option<(String, String)> = tx
                .query_row(
                    "SELECT domain, profile FROM grants WHERE id = ?1 AND revoked_at IS NULL \
                 AND (until IS NULL OR until > ?2)",
                    params![grant, at],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(err)?;
            let Some((name, profile)) = found else {
                return Err(Error::NoSuchGrant(grant));
            };
            tx.execute(
                "UPDATE grants SET revoked_at = ?2, revoked_by = ?3 WHERE id = ?1",
                params![grant, at, by],
            )
            .map_err(err)?;
            audit(
                tx,
                &at,
                by,
                "revoke",
                &format!("grant #{grant}"),
                &format!("{name} on {profile}"),
            )
            .map_err(err)
        })
    }

    /// Puts `name` into `category` (`add`) or takes it out, for every profile, replacing an
    /// earlier recategorisation of the same name and category. Returns whether anything
    /// changed (the same one again changes nothing and is not logged).
    pub fn recategorise(
        &mut self,
        name: &str,
        category: &str,
        add: bool,
        by: &str,
        now: Timestamp,
    ) -> Result<bool, Error> {
        let name = normalize_name(name)?;
        let category = label("category", category)?;
        let by = actor(by)?;
        let at = ts_text(now);
        self.in_transaction("recategorising a name", |tx, err| {
            let current: Option<bool> = tx
                .query_row(
                    "SELECT added FROM recategorisations WHERE domain = ?1 AND category = ?2",
                    params![name, category],
                    |r| r.get(0),
                )
                .optional()
                .map_err(err)?;
            if current == Some(add) {
                return Ok(false);
            }
            tx.execute(
                "INSERT INTO recategorisations (domain, category, added, by, at) \
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO UPDATE SET added = excluded.added, \
             by = excluded.by, at = excluded.at",
                params![name, category, add, by, at],
            )
            .map_err(err)?;
            let detail = if add {
                format!("into {category}")
            } else {
                format!("out of {category}")
            };
            audit(tx, &at, by, "recategorise", &name, &detail).map_err(err)?;
            Ok(true)
        })
    }

    /// Drops the local recategorisation of `name` in `category`: the lists decide again.
    pub fn clear_recategorisation(
        &mut self,
        name: &str,
        category: &str,
        by: &str,
        now: Timestamp,
    ) -> Result<(), Error> {
        let name = normalize_name(name)?;
        let by = actor(by)?;
        let at = ts_text(now);
        self.in_transaction("dropping a recategorisation", |tx, err| {
            let n = tx
                .execute(
                    "DELETE FROM recategorisations WHERE domain = ?1 AND category = ?2",
                    params![name, category],
                )
                .map_err(err)?;
            if n == 0 {
                return Err(Error::Invalid(format!(
                    "{name} has no local recategorisation in {category}"
                )));
            }
            audit(
                tx,
                &at,
                by,
                "unrecategorise",
                &name,
                &format!("{category}: the lists decide"),
            )
            .map_err(err)
        })
    }

    /// The live grants and the local recategorisations at `now`.
    pub fn active_overrides(&self, now: Timestamp) -> Result<ActiveOverrides, Error> {
        let err = self.err("reading grants and recategorisations");
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, domain, profile, until, request_id, granted_at, granted_by \
                 FROM grants WHERE revoked_at IS NULL AND (until IS NULL OR until > ?1) \
                 ORDER BY domain, profile, id",
            )
            .map_err(&err)?;
        let rows = stmt
            .query_map([ts_text(now)], |r| {
                Ok(ActiveGrant {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    profile: r.get(2)?,
                    until: opt_timestamp_column(r, 3)?,
                    request: r.get(4)?,
                    granted_at: timestamp_column(r, 5)?,
                    granted_by: r.get(6)?,
                })
            })
            .map_err(&err)?;
        let mut grants: Vec<ActiveGrant> = Vec::new();
        for g in rows {
            let g = g.map_err(&err)?;
            // Several live grants of one name and profile: the one that lasts longest.
            match grants.last_mut() {
                Some(last) if last.name == g.name && last.profile == g.profile => {
                    let longer = match (last.until, g.until) {
                        (None, _) => false,
                        (Some(_), None) => true,
                        (Some(a), Some(b)) => b > a,
                    };
                    if longer {
                        *last = g;
                    }
                }
                _ => grants.push(g),
            }
        }
        let mut stmt = self
            .conn
            .prepare(
                "SELECT domain, category, added, by, at FROM recategorisations \
                 ORDER BY domain, category",
            )
            .map_err(&err)?;
        let rows = stmt
            .query_map([], |r| {
                Ok(LocalRecategorisation {
                    name: r.get(0)?,
                    category: r.get(1)?,
                    add: r.get(2)?,
                    by: r.get(3)?,
                    at: timestamp_column(r, 4)?,
                })
            })
            .map_err(&err)?;
        let recategorised = rows.collect::<Result<_, _>>().map_err(&err)?;
        Ok(ActiveOverrides {
            grants,
            recategorised,
        })
    }

    /// The audit log from `since` (all if `None`), oldest first, at most `limit` entries
    /// (the newest ones).
    pub fn audit_log(
        &self,
        since: Option<Timestamp>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, Error> {
        let err = self.err("reading the audit log");
        let mut stmt = self
            .conn
            .prepare(
                "SELECT * FROM (SELECT id, at, actor, action, target, detail FROM audit_log \
                 WHERE at >= ?1 ORDER BY id DESC LIMIT ?2) ORDER BY id",
            )
            .map_err(&err)?;
        let since = since.map(ts_text).unwrap_or_default();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt
            .query_map(params![since, limit], |r| {
                Ok(AuditEntry {
                    at: timestamp_column(r, 1)?,
                    actor: r.get(2)?,
                    action: r.get(3)?,
                    target: r.get(4)?,
                    detail: r.get(5)?,
                })
            })
            .map_err(&err)?;
        rows.collect::<Result<_, _>>().map_err(&err)
    }

    /// The requests made in a period, for publication (FOI Q6 and Q7): name, category,
    /// profile, times requested, decision and its day. Nothing about the requesters, not
    /// even a request's number.
    pub fn export(&self, q: &ExportQuery) -> Result<RequestExport, Error> {
        if q.from > q.to {
            return Err(Error::Invalid(format!(
                "the period starts ({}) after it ends ({})",
                q.from, q.to
            )));
        }
        if q.suppress_below == Some(0) {
            return Err(Error::Invalid(
                "suppress below 0 hides nothing; give K of at least 1".to_owned(),
            ));
        }
        let err = self.err("exporting unblock requests");
        let until =
            q.to.tomorrow()
                .map(|d| d.to_string())
                .unwrap_or_else(|_| "9".into());
        let mut stmt = self
            .conn
            .prepare(
                "SELECT domain, category, profile, status, substr(decided_at, 1, 10), \
                 SUM(count) FROM unblock_requests WHERE requested_at >= ?1 AND requested_at < ?2 \
                 GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 3, 4, 5",
            )
            .map_err(&err)?;
        let rows = stmt
            .query_map(params![q.from.to_string(), until], |r| {
                let day: Option<String> = r.get(4)?;
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, String>(2)?,
                    status_column(r, 3)?,
                    day.and_then(|d| d.parse::<Date>().ok()),
                    r.get::<_, i64>(5)?.max(0) as u64,
                ))
            })
            .map_err(&err)?;
        let rows: Vec<_> = rows.collect::<Result<_, _>>().map_err(&err)?;
        Ok(publish(q, rows))
    }
}

type RawExportRow = (
    String,
    Option<String>,
    String,
    RequestStatus,
    Option<Date>,
    u64,
);

/// The export's cells, suppressed as asked: rows below K are left out and counted per
/// decision; then `decision total = listed rows + unlisted` and `total = Σ decision totals`
/// go through the report's suppression.
fn publish(q: &ExportQuery, raw: Vec<RawExportRow>) -> RequestExport {
    let k = q.suppress_below;
    let listed: Vec<RawExportRow> = raw
        .iter()
        .filter(|r| k.is_none_or(|k| r.5 >= k))
        .cloned()
        .collect();
    let mut unlisted: BTreeMap<RequestStatus, u64> = BTreeMap::new();
    let mut totals: BTreeMap<RequestStatus, u64> = BTreeMap::new();
    for r in &raw {
        *totals.entry(r.3).or_default() += r.5;
        if k.is_some_and(|k| r.5 < k) {
            *unlisted.entry(r.3).or_default() += r.5;
        }
    }
    // Cells: listed rows, then per status (unlisted, total), then the grand total.
    let mut values: Vec<u64> = listed.iter().map(|r| r.5).collect();
    let statuses: Vec<RequestStatus> = totals.keys().copied().collect();
    let mut equations = Vec::new();
    let grand = values.len() + 2 * statuses.len();
    let mut grand_parts = Vec::new();
    for s in &statuses {
        let u = values.len();
        values.push(unlisted.get(s).copied().unwrap_or(0));
        values.push(totals[s]);
        let mut parts: Vec<usize> = (0..listed.len()).filter(|&i| listed[i].3 == *s).collect();
        if k.is_some() {
            parts.push(u);
        }
        equations.push(Equation {
            total: u + 1,
            parts,
        });
        grand_parts.push(u + 1);
    }
    values.push(totals.values().sum());
    equations.push(Equation {
        total: grand,
        parts: grand_parts,
    });
    let hidden = match k {
        Some(k) => suppress(&values, &equations, k),
        None => vec![false; values.len()],
    };
    let cell = |i: usize| match (hidden[i], k) {
        (true, Some(k)) if values[i] < k => Cell::Suppressed { below: k },
        (true, _) => Cell::Withheld,
        (false, _) => Cell::Count(values[i]),
    };
    let rows = listed
        .iter()
        .enumerate()
        .map(|(i, r)| ExportRow {
            name: r.0.clone(),
            category: r.1.clone(),
            profile: r.2.clone(),
            requests: cell(i),
            decision: r.3,
            decided_on: r.4,
        })
        .collect();
    let base = listed.len();
    RequestExport {
        from: q.from,
        to: q.to,
        suppress_below: k,
        rows,
        unlisted: if k.is_some() {
            statuses
                .iter()
                .enumerate()
                .map(|(j, s)| (*s, cell(base + 2 * j)))
                .collect()
        } else {
            Vec::new()
        },
        totals: statuses
            .iter()
            .enumerate()
            .map(|(j, s)| (*s, cell(base + 2 * j + 1)))
            .collect(),
        total: cell(grand),
    }
}

/// Appends an audit entry inside the decision's transaction.
pub(crate) fn audit(
    tx: &Transaction<'_>,
    at: &str,
    actor: &str,
    action: &str,
    target: &str,
    detail: &str,
) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO audit_log (at, actor, action, target, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![at, actor, action, target, detail],
    )
    .map(|_| ())
}
