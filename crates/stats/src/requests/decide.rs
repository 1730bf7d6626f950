//! The staff's decisions: grant, deny or withdraw a request, revoke a grant, recategorise a
//! name; each written with its audit entry in one transaction.

use jiff::Timestamp;
use rusqlite::{OptionalExtension, Transaction, params};

use crate::audited::audit;
use crate::error::Error;
use crate::requests::input::{actor, clean_text, label, normalize_name};
use crate::requests::types::{MAX_TEXT_CHARS, RequestStatus};
use crate::sqlite::{SqliteStore, ts_text};

impl SqliteStore {
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
        self.close(id, Closing::Deny, Some(note), by, now)
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
        self.close(id, Closing::Withdraw, note, by, now)
    }

    /// Closes open request `id` without a grant, by the checked staff member `by`, with
    /// its audit entry.
    fn close(
        &mut self,
        id: i64,
        how: Closing,
        note: Option<String>,
        by: &str,
        now: Timestamp,
    ) -> Result<(), Error> {
        let (status, action, context) = match how {
            Closing::Deny => (RequestStatus::Denied, "deny", "denying an unblock request"),
            Closing::Withdraw => (
                RequestStatus::Withdrawn,
                "withdraw",
                "withdrawing an unblock request",
            ),
        };
        let at = ts_text(now);
        self.decide(id, context, |tx, name| {
            tx.execute(
                "UPDATE unblock_requests SET status = ?5, decided_at = ?2, \
                 decided_by = ?3, note = ?4 WHERE id = ?1",
                params![id, at, by, note, status.as_str()],
            )?;
            let detail = match &note {
                Some(n) => format!("{name}: {n}"),
                None => name.to_owned(),
            };
            audit(tx, &at, by, action, &format!("request #{id}"), &detail)
        })
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
}

/// How a request closes without a grant.
#[derive(Clone, Copy)]
enum Closing {
    Deny,
    Withdraw,
}
