//! A patron's request: recorded, or merged into the open one for the same site.

use jiff::{SignedDuration, Timestamp};
use rusqlite::{OptionalExtension, params};

use crate::error::Error;
use crate::requests::input::{clean_text, label, normalize_name};
use crate::requests::types::{
    MAX_CONTACT_CHARS, MAX_TEXT_CHARS, MERGE_WINDOW_DAYS, NewRequest, Submitted,
};
use crate::sqlite::{SqliteStore, ts_text};

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
}
