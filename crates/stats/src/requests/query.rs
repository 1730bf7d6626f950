//! Reading requests, their contacts, the live overrides and the audit log.

use jiff::Timestamp;
use rusqlite::{OptionalExtension, params};

use crate::error::Error;
use crate::requests::input::normalize_name;
use crate::requests::rows::{REQUEST_COLUMNS, opt_timestamp_column, request_row};
use crate::requests::types::{
    ActiveGrant, ActiveOverrides, AuditEntry, LocalRecategorisation, RequestFilter, UnblockRequest,
};
use crate::sqlite::{SqliteStore, timestamp_column, ts_text};

impl SqliteStore {
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

    /// A mark that changes whenever staff decide something: the newest audit entry's number
    /// and time. Every grant, revoke, recategorisation and clear writes its audit entry in
    /// the same transaction, and a new entry's time is never older than the newest one, so
    /// the mark moves even if retention removed the newest entry and its number is reused.
    /// Two index look-ups: a watcher asks it on every commit to the file (the flusher's
    /// too) and reads the decisions themselves only when it moved.
    pub fn decisions_mark(&self) -> Result<(i64, String), Error> {
        self.conn
            .query_row(
                "SELECT coalesce(max(id), 0), coalesce(max(at), '') FROM audit_log",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(self.err("reading the newest audit entry"))
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
}
