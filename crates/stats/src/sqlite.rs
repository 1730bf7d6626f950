//! [`SqliteStore`]: the statistics store in one SQLite file (WAL, versioned migrations).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::Timestamp;
use jiff::civil::Date;
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};

use crate::action::Action;
use crate::batch::{Batch, OTHER_DOMAIN};
use crate::error::Error;
use crate::store::{
    CategoryChange, ChangeKind, ChangedName, ChangedNames, ChangesQuery, CountRow, CountsQuery,
    DomainCount, DomainsQuery, Grain, ListChange, MAX_CHANGE_NAMES, NameChange, Pruned, Retention,
    Store, UnrecordedNames,
};

/// One schema migration: applied in its own transaction, which also sets
/// `PRAGMA user_version` to `version`.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// The schema version after this migration.
    pub version: i64,
    /// What it does, for error messages.
    pub description: &'static str,
    /// The SQL.
    pub sql: &'static str,
}

/// The schema, as the list of migrations from an empty file. Never edit a released entry:
/// append a new one.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        description: "aggregate counts and blocked-domain counts",
        sql: "
            CREATE TABLE counts (
                day      TEXT    NOT NULL,  -- UTC day, YYYY-MM-DD
                profile  TEXT    NOT NULL,
                category TEXT    NOT NULL,  -- taxonomy id, or '-' for no category
                action   TEXT    NOT NULL,  -- allowed|blocked|rewritten|refused|servfail
                n        INTEGER NOT NULL,
                PRIMARY KEY (day, profile, category, action)
            ) WITHOUT ROWID;
            CREATE TABLE blocked_domains (
                day      TEXT    NOT NULL,
                profile  TEXT    NOT NULL,
                category TEXT    NOT NULL,
                domain   TEXT    NOT NULL,  -- the blocked name; never who asked
                n        INTEGER NOT NULL,
                PRIMARY KEY (day, profile, category, domain)
            ) WITHOUT ROWID;
        ",
    },
    Migration {
        version: 2,
        description: "list changes, unblock requests and the optional query log",
        sql: "
            CREATE TABLE list_changes (
                id            INTEGER PRIMARY KEY,
                compiled_at   TEXT    NOT NULL,  -- UTC, YYYY-MM-DDTHH:MM:SSZ
                old_version   TEXT    NOT NULL,
                new_version   TEXT    NOT NULL,
                category      TEXT    NOT NULL,
                added         INTEGER NOT NULL,
                removed       INTEGER NOT NULL,
                recategorised INTEGER NOT NULL
            );
            CREATE INDEX list_changes_compiled_at ON list_changes (compiled_at);
            CREATE TABLE list_change_names (
                change_id     INTEGER NOT NULL REFERENCES list_changes (id) ON DELETE CASCADE,
                name          TEXT    NOT NULL,
                change        TEXT    NOT NULL
                              CHECK (change IN ('added', 'removed', 'recategorised')),
                from_category TEXT,
                PRIMARY KEY (change_id, name, change)
            ) WITHOUT ROWID;
            CREATE TABLE unblock_requests (
                id              INTEGER PRIMARY KEY,
                requested_at    TEXT NOT NULL,
                profile         TEXT NOT NULL,
                domain          TEXT NOT NULL,
                category        TEXT,
                reason          TEXT,              -- as typed by the requester; no contact details
                decision        TEXT NOT NULL DEFAULT 'pending',
                decided_at      TEXT,
                decided_by_role TEXT               -- a role (\"librarian\"), never a person
            );
            CREATE INDEX unblock_requests_requested_at ON unblock_requests (requested_at);
            CREATE TABLE query_log (
                ts       TEXT NOT NULL,  -- UTC, YYYY-MM-DDTHH:MM:SSZ
                profile  TEXT NOT NULL,
                client   TEXT NOT NULL,  -- truncated network or keyed hash unless opted in
                name     TEXT NOT NULL,
                qtype    TEXT NOT NULL,
                action   TEXT NOT NULL,
                category TEXT NOT NULL
            );
            CREATE INDEX query_log_ts ON query_log (ts);
        ",
    },
    Migration {
        version: 3,
        description: "monthly blocked-domain totals for fast top-domain reports",
        sql: "
            -- Always the sum of blocked_domains over the month's days still kept: written in
            -- the same transaction, and the oldest month recomputed by each prune.
            CREATE TABLE blocked_domains_monthly (
                domain   TEXT    NOT NULL,
                category TEXT    NOT NULL,
                month    TEXT    NOT NULL,  -- YYYY-MM
                profile  TEXT    NOT NULL,
                n        INTEGER NOT NULL,
                PRIMARY KEY (domain, category, month, profile)
            ) WITHOUT ROWID;
            INSERT INTO blocked_domains_monthly (domain, category, month, profile, n)
                SELECT domain, category, substr(day, 1, 7), profile, SUM(n)
                FROM blocked_domains GROUP BY 1, 2, 3, 4;
        ",
    },
    Migration {
        version: 4,
        description: "unblock requests with decisions, grants, local recategorisations and an audit log",
        sql: "
            -- The table of version 2 was never written by hedge; it is rebuilt with a status
            -- the database checks, a repeat count and the decision's details (see requests.rs).
            CREATE TABLE unblock_requests_v4 (
                id                INTEGER PRIMARY KEY,
                requested_at      TEXT    NOT NULL,  -- first asked, UTC
                last_requested_at TEXT,              -- the latest repeat merged into it
                profile           TEXT    NOT NULL,
                domain            TEXT    NOT NULL,
                category          TEXT,              -- what blocked it, when the asker saw it
                reason            TEXT,              -- as typed by the first asker
                count             INTEGER NOT NULL DEFAULT 1 CHECK (count >= 1),
                status            TEXT    NOT NULL DEFAULT 'open'
                                  CHECK (status IN ('open', 'granted', 'denied', 'withdrawn')),
                decided_at        TEXT,
                decided_by        TEXT,              -- the staff member (or role) who decided
                note              TEXT,
                grant_until       TEXT               -- a grant's expiry; NULL: no expiry
            );
            INSERT INTO unblock_requests_v4
                (id, requested_at, profile, domain, category, reason, status, decided_at,
                 decided_by)
                SELECT id, requested_at, profile, domain, category, reason,
                       CASE WHEN decision IN ('granted', 'denied', 'withdrawn') THEN decision
                            ELSE 'open' END,
                       decided_at, decided_by_role
                FROM unblock_requests;
            DROP TABLE unblock_requests;
            ALTER TABLE unblock_requests_v4 RENAME TO unblock_requests;
            CREATE INDEX unblock_requests_requested_at ON unblock_requests (requested_at);
            CREATE INDEX unblock_requests_name ON unblock_requests (domain, profile, status);
            -- Personal data, apart from the request so that it is never exported and is
            -- deleted sooner (requests.rs: CONTACT_*_DAYS).
            CREATE TABLE unblock_request_contacts (
                id         INTEGER PRIMARY KEY,
                request_id INTEGER NOT NULL REFERENCES unblock_requests (id) ON DELETE CASCADE,
                given_at   TEXT    NOT NULL,
                contact    TEXT    NOT NULL
            );
            CREATE INDEX unblock_request_contacts_request
                ON unblock_request_contacts (request_id);
            -- One row per granted (name, profile); live while not revoked and not expired.
            CREATE TABLE grants (
                id         INTEGER PRIMARY KEY,
                request_id INTEGER REFERENCES unblock_requests (id) ON DELETE SET NULL,
                domain     TEXT    NOT NULL,
                profile    TEXT    NOT NULL,
                granted_at TEXT    NOT NULL,
                granted_by TEXT    NOT NULL,
                until      TEXT,                     -- NULL: until revoked
                revoked_at TEXT,
                revoked_by TEXT
            );
            CREATE INDEX grants_live ON grants (revoked_at, until);
            -- The live local recategorisations, one per (name, category); their history is
            -- in the audit log.
            CREATE TABLE recategorisations (
                domain   TEXT    NOT NULL,
                category TEXT    NOT NULL,
                added    INTEGER NOT NULL CHECK (added IN (0, 1)),  -- 1 into, 0 out of
                by       TEXT    NOT NULL,
                at       TEXT    NOT NULL,
                PRIMARY KEY (domain, category)
            ) WITHOUT ROWID;
            CREATE TABLE audit_log (
                id     INTEGER PRIMARY KEY,
                at     TEXT    NOT NULL,
                actor  TEXT    NOT NULL,
                action TEXT    NOT NULL,
                target TEXT    NOT NULL,
                detail TEXT    NOT NULL DEFAULT ''
            );
            CREATE INDEX audit_log_at ON audit_log (at);
            CREATE TRIGGER audit_log_append_only BEFORE UPDATE ON audit_log
            BEGIN
                SELECT RAISE(ABORT, 'the audit log is append-only');
            END;
        ",
    },
    Migration {
        version: 5,
        description: "staff accounts",
        sql: "
            -- Staff accounts of the portal's staff pages (staff.rs): argon2id PHC strings,
            -- and the failed logins that lock an account for a while.
            CREATE TABLE staff_accounts (
                name            TEXT    PRIMARY KEY,
                password_hash   TEXT    NOT NULL,
                created_at      TEXT    NOT NULL,
                failed_logins   INTEGER NOT NULL DEFAULT 0,
                locked_until    TEXT
            ) WITHOUT ROWID;
        ",
    },
    Migration {
        version: 6,
        description: "allowed-domain counts",
        sql: crate::allowed_domains::SCHEMA,
    },
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS[MIGRATIONS.len() - 1].version;

/// How long a statement waits for another connection's lock before failing with
/// [`Error::Locked`]. Short, so the flusher keeps its pace and retries.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_millis(250);

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

/// Column `i` as a [`ChangeKind`] (the table's CHECK allows no other value).
fn change_column(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<ChangeKind> {
    let text: String = r.get(i)?;
    ChangeKind::parse(&text).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Text,
            format!("{text:?} is not a change").into(),
        )
    })
}

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

    /// The file this store lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn err(&self, context: &'static str) -> impl Fn(rusqlite::Error) -> Error + '_ {
        move |e| Error::sqlite(&self.path, context, e)
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

    fn migrate(&mut self) -> Result<(), Error> {
        let found = self.schema_version()?;
        if found > SCHEMA_VERSION {
            return Err(Error::NewerSchema {
                path: self.path.clone(),
                found,
                supported: SCHEMA_VERSION,
            });
        }
        for m in MIGRATIONS.iter().filter(|m| m.version > found) {
            let wrap = |source: Error| Error::Migration {
                path: self.path.clone(),
                version: m.version,
                description: m.description,
                source: Box::new(source),
            };
            let sqlite = |e| wrap(Error::sqlite(&self.path, "migrating", e));
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sqlite)?;
            // Another process may have migrated while we waited for the write lock.
            let now: i64 = tx
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .map_err(sqlite)?;
            if now >= m.version {
                continue;
            }
            tx.execute_batch(m.sql).map_err(sqlite)?;
            tx.pragma_update(None, "user_version", m.version)
                .map_err(sqlite)?;
            tx.commit().map_err(sqlite)?;
            tracing::info!(
                path = %self.path.display(),
                version = m.version,
                "statistics store migrated: {}",
                m.description
            );
        }
        Ok(())
    }
}

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

fn range_filter(sql: &mut String, args: &mut Vec<String>, from: Option<Date>, to: Option<Date>) {
    if let Some(from) = from {
        sql.push_str(" AND day >= ?");
        args.push(from.to_string());
    }
    if let Some(to) = to {
        sql.push_str(" AND day <= ?");
        args.push(to.to_string());
    }
}

/// Splits a day range into whole months (`YYYY-MM` bounds) and the day ranges
/// (`YYYY-MM-DD` bounds) left over at either end. Open ends count as whole months.
/// An inclusive range of days or months, as text.
type Range = (String, String);

/// `(whole months, leftover day ranges)`; whole months: `None` = none, `Some(None)` = all.
type Split = (Option<Option<Range>>, Vec<Range>);

fn split_range(from: Option<Date>, to: Option<Date>) -> Split {
    let month = |d: Date| format!("{:04}-{:02}", d.year(), d.month());
    let (from, to) = match (from, to) {
        (None, None) => return (Some(None), Vec::new()),
        (f, t) => (
            f.unwrap_or(Date::MIN).max(Date::constant(1, 1, 1)),
            t.unwrap_or(Date::MAX).min(Date::constant(9999, 12, 31)),
        ),
    };
    if from > to {
        return (None, Vec::new());
    }
    let first_full = if from.day() == 1 {
        Some(from)
    } else {
        from.last_of_month().tomorrow().ok()
    };
    let last_full = if to == to.last_of_month() {
        Some(to)
    } else {
        to.first_of_month().yesterday().ok()
    };
    match (first_full, last_full) {
        (Some(a), Some(b)) if a <= b => {
            let mut days = Vec::new();
            if from < a
                && let Ok(end) = a.yesterday()
            {
                days.push((from.to_string(), end.to_string()));
            }
            if b < to
                && let Ok(start) = b.tomorrow()
            {
                days.push((start.to_string(), to.to_string()));
            }
            (Some(Some((month(a), month(b)))), days)
        }
        _ => (None, vec![(from.to_string(), to.to_string())]),
    }
}

impl Store for SqliteStore {
    fn write(&mut self, day: Date, batch: &Batch) -> Result<(), Error> {
        if batch.is_empty() {
            return Ok(());
        }
        let path = self.path.clone();
        let err = |e| Error::sqlite(&path, "writing counts", e);
        let day = day.to_string();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        {
            let mut counts = tx
                .prepare_cached(
                    "INSERT INTO counts (day, profile, category, action, n) \
                     VALUES (?1, ?2, ?3, ?4, ?5) \
                     ON CONFLICT DO UPDATE SET n = n + excluded.n",
                )
                .map_err(err)?;
            for (k, n) in batch.counts() {
                counts
                    .execute(params![
                        day,
                        &*k.profile,
                        &*k.category,
                        k.action.as_str(),
                        to_i64(n)
                    ])
                    .map_err(err)?;
            }
            let mut domains = tx
                .prepare_cached(
                    "INSERT INTO blocked_domains (day, profile, category, domain, n) \
                     VALUES (?1, ?2, ?3, ?4, ?5) \
                     ON CONFLICT DO UPDATE SET n = n + excluded.n",
                )
                .map_err(err)?;
            let mut monthly = tx
                .prepare_cached(
                    "INSERT INTO blocked_domains_monthly (domain, category, month, profile, n) \
                     VALUES (?1, ?2, ?3, ?4, ?5) \
                     ON CONFLICT DO UPDATE SET n = n + excluded.n",
                )
                .map_err(err)?;
            let month = &day[..7];
            // Each table is written in its own key order, so the upserts walk its B-tree
            // forward instead of jumping across it (a third less time for 20 000 domains).
            // Parameters stay bound between rows: only what changed is bound again (binding
            // copies the text, a tenth of the flusher's time when every row bound all five).
            let mut rows: Vec<_> = batch.domains().collect();
            rows.sort_unstable_by(|(a, _), (b, _)| {
                (&a.profile, &a.category, &a.domain).cmp(&(&b.profile, &b.category, &b.domain))
            });
            domains.raw_bind_parameter(1, &day).map_err(err)?;
            let mut last: Option<(&str, &str)> = None;
            for (k, n) in &rows {
                if last != Some((&k.profile, &k.category)) {
                    domains.raw_bind_parameter(2, &*k.profile).map_err(err)?;
                    domains.raw_bind_parameter(3, &*k.category).map_err(err)?;
                    last = Some((&k.profile, &k.category));
                }
                domains.raw_bind_parameter(4, &*k.domain).map_err(err)?;
                domains.raw_bind_parameter(5, to_i64(*n)).map_err(err)?;
                domains.raw_execute().map_err(err)?;
            }
            rows.sort_unstable_by(|(a, _), (b, _)| {
                (&a.domain, &a.category, &a.profile).cmp(&(&b.domain, &b.category, &b.profile))
            });
            monthly.raw_bind_parameter(3, month).map_err(err)?;
            let mut last: Option<(&str, &str, &str)> = None;
            for (k, n) in &rows {
                let (domain, category, profile) = (&*k.domain, &*k.category, &*k.profile);
                let (d0, c0, p0) = last.unwrap_or_default();
                let first = last.is_none();
                if first || d0 != domain {
                    monthly.raw_bind_parameter(1, domain).map_err(err)?;
                }
                if first || c0 != category {
                    monthly.raw_bind_parameter(2, category).map_err(err)?;
                }
                if first || p0 != profile {
                    monthly.raw_bind_parameter(4, profile).map_err(err)?;
                }
                last = Some((domain, category, profile));
                monthly.raw_bind_parameter(5, to_i64(*n)).map_err(err)?;
                monthly.raw_execute().map_err(err)?;
            }
            crate::allowed_domains::write(&tx, &day, batch).map_err(err)?;
            if !batch.query_log().is_empty() {
                let mut log = tx
                    .prepare_cached(
                        "INSERT INTO query_log (ts, profile, client, name, qtype, action, \
                         category) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    )
                    .map_err(err)?;
                for e in batch.query_log() {
                    log.execute(params![
                        ts_text(e.ts),
                        &*e.profile,
                        e.client.as_str(),
                        e.name,
                        e.qtype,
                        e.action.as_str(),
                        &*e.category
                    ])
                    .map_err(err)?;
                }
            }
        }
        tx.commit().map_err(err)
    }

    fn prune(&mut self, today: Date, retention: &Retention) -> Result<Pruned, Error> {
        retention.validate()?;
        let keep = Retention::first_kept(today, retention.aggregate_days)?.to_string();
        let keep_log = Retention::first_kept(today, retention.query_log_days)?.to_string();
        let path = self.path.clone();
        let err = |e| Error::sqlite(&path, "deleting expired statistics", e);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        let del = |sql: &str, cutoff: &str| -> Result<u64, Error> {
            tx.execute(sql, [cutoff]).map(|n| n as u64).map_err(err)
        };
        let counts = del("DELETE FROM counts WHERE day < ?1", &keep)?;
        let blocked_domains = del("DELETE FROM blocked_domains WHERE day < ?1", &keep)?;
        let allowed_domains = crate::allowed_domains::prune(&tx, &keep).map_err(err)?;
        // The monthly totals of the oldest kept month lose the deleted days: recompute it.
        let keep_month = &keep[..7];
        del(
            "DELETE FROM blocked_domains_monthly WHERE month <= ?1",
            keep_month,
        )?;
        tx.execute(
            "INSERT INTO blocked_domains_monthly (domain, category, month, profile, n) \
             SELECT domain, category, substr(day, 1, 7), profile, SUM(n) FROM blocked_domains \
             WHERE day >= ?1 AND day <= ?2 GROUP BY 1, 2, 3, 4",
            [format!("{keep_month}-01"), format!("{keep_month}-31")],
        )
        .map_err(err)?;
        del(
            "DELETE FROM list_change_names WHERE change_id IN \
             (SELECT id FROM list_changes WHERE compiled_at < ?1)",
            &keep,
        )?;
        let list_changes = del("DELETE FROM list_changes WHERE compiled_at < ?1", &keep)?;
        let requests = crate::requests::retention::prune(&tx, today, &keep).map_err(err)?;
        let query_log = del("DELETE FROM query_log WHERE ts < ?1", &keep_log)?;
        tx.commit().map_err(err)?;
        Ok(Pruned {
            counts,
            blocked_domains,
            allowed_domains,
            list_changes,
            unblock_requests: requests.requests,
            request_contacts: requests.contacts,
            grants: requests.grants,
            audit_log: requests.audit_log,
            query_log,
        })
    }

    fn counts(&self, q: &CountsQuery) -> Result<Vec<CountRow>, Error> {
        let period = match q.grain {
            None => "NULL",
            Some(Grain::Month) => "substr(day, 1, 7)",
            Some(Grain::Day) => "day",
        };
        let col = |on: bool, name: &'static str| if on { name } else { "NULL" };
        let mut sql = format!(
            "SELECT {period}, {}, {}, {}, SUM(n) FROM counts WHERE 1 = 1",
            col(q.by_profile, "profile"),
            col(q.by_category, "category"),
            col(q.by_action, "action"),
        );
        let mut args = Vec::new();
        range_filter(&mut sql, &mut args, q.from, q.to);
        if let Some(p) = &q.profile {
            sql.push_str(" AND profile = ?");
            args.push(p.clone());
        }
        if let Some(c) = &q.category {
            category_filter(&mut sql, &mut args, c);
        }
        if let Some(a) = q.action {
            sql.push_str(" AND action = ?");
            args.push(a.as_str().to_owned());
        }
        sql.push_str(" GROUP BY 1, 2, 3, 4");
        let err = self.err("summing counts");
        let mut stmt = self.conn.prepare(&sql).map_err(&err)?;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(&args), |r| {
                Ok((
                    r.get::<_, Option<String>>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, i64>(4)?,
                ))
            })
            .map_err(&err)?;
        let mut out = Vec::new();
        for row in rows {
            let (period, profile, category, action, n) = row.map_err(&err)?;
            let action = match action {
                None => None,
                Some(a) => Some(a.parse::<Action>().map_err(|_| {
                    Error::Invalid(format!(
                        "statistics store {}: unknown action {a:?} in the counts table (written \
                         by a newer hedge?)",
                        self.path.display()
                    ))
                })?),
            };
            if n <= 0 {
                continue;
            }
            out.push(CountRow {
                period,
                profile,
                category,
                action,
                n: n as u64,
            });
        }
        Ok(out)
    }

    fn top_blocked_domains(&self, q: &DomainsQuery) -> Result<Vec<DomainCount>, Error> {
        if q.limit == 0 {
            return Ok(Vec::new());
        }
        // Whole months come from the monthly totals, the days at either end from the daily
        // counts; the two are added up per (domain, category).
        let (months, days) = split_range(q.from, q.to);
        let mut per: HashMap<(String, String), u64> = HashMap::new();
        let err = self.err("ranking blocked domains");
        let mut add = |table: &str, range: Option<(String, String)>| -> Result<(), Error> {
            let column = if table == "blocked_domains" {
                "day"
            } else {
                "month"
            };
            let mut sql = format!("SELECT domain, category, SUM(n) FROM {table} WHERE domain <> ?");
            let mut args = vec![OTHER_DOMAIN.to_owned()];
            if let Some((from, to)) = range {
                sql.push_str(&format!(" AND {column} >= ? AND {column} <= ?"));
                args.push(from);
                args.push(to);
            }
            if let Some(p) = &q.profile {
                sql.push_str(" AND profile = ?");
                args.push(p.clone());
            }
            if let Some(c) = &q.category {
                category_filter(&mut sql, &mut args, c);
            }
            sql.push_str(" GROUP BY domain, category");
            let mut stmt = self.conn.prepare(&sql).map_err(&err)?;
            let rows = stmt
                .query_map(rusqlite::params_from_iter(&args), |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                    ))
                })
                .map_err(&err)?;
            for row in rows {
                let (domain, category, n) = row.map_err(&err)?;
                *per.entry((domain, category)).or_insert(0) += n.max(0) as u64;
            }
            Ok(())
        };
        match months {
            Some(m) => add("blocked_domains_monthly", m)?,
            None if days.is_empty() => add("blocked_domains_monthly", None)?,
            None => {}
        }
        for d in days {
            add("blocked_domains", Some(d))?;
        }
        // Per domain: the total, and the category with the most blocks (ties: by name).
        let mut by_domain: HashMap<String, (u64, String, u64)> = HashMap::new();
        for ((domain, category), n) in per {
            let e = by_domain
                .entry(domain)
                .or_insert_with(|| (0, String::new(), 0));
            e.0 += n;
            if n > e.2 || (n == e.2 && (e.1.is_empty() || category < e.1)) {
                e.1 = category;
                e.2 = n;
            }
        }
        let mut out: Vec<DomainCount> = by_domain
            .into_iter()
            .filter(|(_, (n, _, _))| *n > 0 && *n >= q.min_count)
            .map(|(domain, (n, category, _))| DomainCount {
                domain,
                category,
                n,
            })
            .collect();
        out.sort_unstable_by(|a, b| b.n.cmp(&a.n).then_with(|| a.domain.cmp(&b.domain)));
        out.truncate(q.limit);
        Ok(out)
    }

    fn record_list_change(&mut self, change: &ListChange) -> Result<(), Error> {
        let path = self.path.clone();
        let err = |e| Error::sqlite(&path, "recording list changes", e);
        let at = ts_text(change.compiled_at);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        for c in &change.categories {
            tx.execute(
                "INSERT INTO list_changes (compiled_at, old_version, new_version, category, \
                 added, removed, recategorised) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    at,
                    change.old_version,
                    change.new_version,
                    c.category,
                    to_i64(c.added),
                    to_i64(c.removed),
                    to_i64(c.recategorised)
                ],
            )
            .map_err(err)?;
            let id = tx.last_insert_rowid();
            let mut names = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO list_change_names (change_id, name, change, \
                     from_category) VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(err)?;
            for n in c.names.iter().take(MAX_CHANGE_NAMES) {
                names
                    .execute(params![id, n.name, n.change.as_str(), n.from_category])
                    .map_err(err)?;
            }
        }
        tx.commit().map_err(err)
    }

    fn list_changes(&self, since: Option<Timestamp>) -> Result<Vec<ListChange>, Error> {
        let err = self.err("reading list changes");
        let since = since.map(ts_text).unwrap_or_default();
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, compiled_at, old_version, new_version, category, added, removed, \
                 recategorised FROM list_changes WHERE compiled_at >= ?1 \
                 ORDER BY compiled_at, id",
            )
            .map_err(&err)?;
        let mut names_stmt = self
            .conn
            .prepare(
                "SELECT name, change, from_category FROM list_change_names \
                 WHERE change_id = ?1 ORDER BY change, name",
            )
            .map_err(&err)?;
        let rows = stmt
            .query_map([since], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, i64>(5)?,
                    r.get::<_, i64>(6)?,
                    r.get::<_, i64>(7)?,
                ))
            })
            .map_err(&err)?;
        let mut out: Vec<ListChange> = Vec::new();
        let mut ts_cache: HashMap<String, Timestamp> = HashMap::new();
        for row in rows {
            let (id, at, old, new, category, added, removed, recat) = row.map_err(&err)?;
            let compiled_at = match ts_cache.get(&at) {
                Some(t) => *t,
                None => {
                    let t: Timestamp = at.parse().map_err(|e| {
                        Error::Invalid(format!(
                            "statistics store {}: list change {id} has a bad time {at:?}: {e}",
                            self.path.display()
                        ))
                    })?;
                    ts_cache.insert(at.clone(), t);
                    t
                }
            };
            let names = names_stmt
                .query_map([id], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, Option<String>>(2)?,
                    ))
                })
                .map_err(&err)?
                .filter_map(|r| match r {
                    Ok((name, change, from_category)) => ChangeKind::parse(&change).map(|change| {
                        Ok(NameChange {
                            name,
                            change,
                            from_category,
                        })
                    }),
                    Err(e) => Some(Err(e)),
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(&err)?;
            let cat = CategoryChange {
                category,
                added: added.max(0) as u64,
                removed: removed.max(0) as u64,
                recategorised: recat.max(0) as u64,
                names,
            };
            match out.last_mut() {
                Some(last)
                    if last.compiled_at == compiled_at
                        && last.old_version == old
                        && last.new_version == new =>
                {
                    last.categories.push(cat)
                }
                _ => out.push(ListChange {
                    compiled_at,
                    old_version: old,
                    new_version: new,
                    categories: vec![cat],
                }),
            }
        }
        Ok(out)
    }
}

impl SqliteStore {
    /// The first and last UTC day (`YYYY-MM-DD`) that have query counts; `None` when the
    /// store holds none (a new store, or one only `hedge lists compile` wrote to).
    pub fn counted_days(&self) -> Result<Option<(String, String)>, Error> {
        self.conn
            .query_row("SELECT MIN(day), MAX(day) FROM counts", [], |r| {
                Ok(r.get::<_, Option<String>>(0)?
                    .zip(r.get::<_, Option<String>>(1)?))
            })
            .map_err(self.err("reading the counted days"))
    }

    /// The names that the list compilations of a period added, removed or recategorised
    /// (`hedge report changes`). Reads only the period's rows: the category filter and the
    /// time range are SQL, and a removed name's new categories come from the same
    /// compilation's rows through the primary key.
    pub fn changed_names(&self, q: &ChangesQuery) -> Result<ChangedNames, Error> {
        let mut filter = String::from("lc.compiled_at >= ? AND lc.compiled_at < ?");
        let mut args = vec![ts_text(q.from), ts_text(q.until)];
        let compilations = self.changes_rows(
            &format!(
                "SELECT count(DISTINCT lc.compiled_at || ' ' || lc.new_version) \
                 FROM list_changes lc WHERE {filter}"
            ),
            &args,
            |r| r.get::<_, i64>(0),
        )?;
        if let Some(c) = &q.category {
            let mut sql = String::new();
            category_filter(&mut sql, &mut args, c);
            filter.push_str(&sql.replace("category", "lc.category"));
        }
        let names = self.changes_rows(
            &format!(
                "SELECT lc.compiled_at, lc.old_version, lc.new_version, lc.category, n.name, \
                        n.change, n.from_category, \
                        CASE WHEN n.change = 'removed' THEN \
                            (SELECT group_concat(lc2.category, ',') \
                             FROM list_changes lc2 JOIN list_change_names n2 ON n2.change_id = lc2.id \
                             WHERE lc2.compiled_at = lc.compiled_at \
                               AND lc2.new_version = lc.new_version \
                               AND n2.name = n.name AND n2.change = 'recategorised') \
                        END \
                 FROM list_changes lc JOIN list_change_names n ON n.change_id = lc.id \
                 WHERE {filter} \
                 ORDER BY lc.compiled_at, lc.id, n.change, n.name"
            ),
            &args,
            |r| {
                Ok(ChangedName {
                    compiled_at: timestamp_column(r, 0)?,
                    old_version: r.get(1)?,
                    new_version: r.get(2)?,
                    category: r.get(3)?,
                    name: r.get(4)?,
                    change: change_column(r, 5)?,
                    from_category: r.get(6)?,
                    to_category: r.get(7)?,
                })
            },
        )?;
        let unrecorded = self.changes_rows(
            &format!(
                "SELECT lc.compiled_at, lc.category, lc.added + lc.removed + lc.recategorised, \
                        (SELECT count(*) FROM list_change_names n WHERE n.change_id = lc.id) \
                 FROM list_changes lc WHERE {filter} \
                 ORDER BY lc.compiled_at, lc.id"
            ),
            &args,
            |r| {
                Ok(UnrecordedNames {
                    compiled_at: timestamp_column(r, 0)?,
                    category: r.get(1)?,
                    changed: r.get::<_, i64>(2)?.max(0) as u64,
                    recorded: r.get::<_, i64>(3)?.max(0) as u64,
                })
            },
        )?;
        Ok(ChangedNames {
            compilations: compilations.first().map_or(0, |n| (*n).max(0) as u64),
            names,
            unrecorded: unrecorded
                .into_iter()
                .filter(|u| u.changed > u.recorded)
                .collect(),
        })
    }

    fn changes_rows<T>(
        &self,
        sql: &str,
        args: &[String],
        row: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, Error> {
        let err = self.err("reading list changes");
        let mut stmt = self.conn.prepare(sql).map_err(&err)?;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(args), row)
            .map_err(&err)?;
        rows.collect::<Result<_, _>>().map_err(&err)
    }

    /// Rows in a table, for tests and `hedge` diagnostics.
    #[doc(hidden)]
    pub fn row_count(&self, table: &str) -> Result<u64, Error> {
        if !matches!(
            table,
            "counts"
                | "blocked_domains"
                | "blocked_domains_monthly"
                | "allowed_domains"
                | "list_changes"
                | "list_change_names"
                | "unblock_requests"
                | "unblock_request_contacts"
                | "grants"
                | "recategorisations"
                | "audit_log"
                | "query_log"
        ) {
            return Err(Error::Invalid(format!("no table {table:?}")));
        }
        self.conn
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| {
                r.get::<_, i64>(0)
            })
            .optional()
            .map(|n| n.unwrap_or(0).max(0) as u64)
            .map_err(self.err("counting rows"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Option<Date> {
        Some(s.parse().expect("test date"))
    }

    fn pair(a: &str, b: &str) -> (String, String) {
        (a.to_owned(), b.to_owned())
    }

    #[test]
    fn ranges_split_into_whole_months_and_edge_days() {
        assert_eq!(
            split_range(d("2025-01-01"), d("2025-12-31")),
            (Some(Some(pair("2025-01", "2025-12"))), vec![])
        );
        assert_eq!(
            split_range(d("2025-01-15"), d("2025-03-10")),
            (
                Some(Some(pair("2025-02", "2025-02"))),
                vec![
                    pair("2025-01-15", "2025-01-31"),
                    pair("2025-03-01", "2025-03-10")
                ]
            )
        );
        assert_eq!(
            split_range(d("2025-01-15"), d("2025-01-20")),
            (None, vec![pair("2025-01-15", "2025-01-20")])
        );
        assert_eq!(
            split_range(d("2025-01-15"), d("2025-02-20")),
            (None, vec![pair("2025-01-15", "2025-02-20")])
        );
        assert_eq!(split_range(None, None), (Some(None), vec![]));
    }
}
