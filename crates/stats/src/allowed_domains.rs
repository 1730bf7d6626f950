//! Allowed-query counts per (day, profile, domain), for `hedge policy diff` to re-decide
//! under a new configuration. Like the blocked-domain counts, and with no client either:
//! bounded per flush interval, written by the flusher, deleted by the same retention.

use jiff::civil::Date;
use rusqlite::{Transaction, params};

use crate::batch::Batch;
use crate::error::Error;
use crate::sqlite::SqliteStore;

/// Adds the batch's allowed-domain counts to `day`, in the table's key order.
pub(crate) fn write(tx: &Transaction<'_>, day: &str, batch: &Batch) -> rusqlite::Result<()> {
    let mut rows: Vec<_> = batch.allowed().collect();
    if rows.is_empty() {
        return Ok(());
    }
    rows.sort_unstable_by_key(|&(k, _)| k);
    let mut insert = tx.prepare_cached(
        "INSERT INTO allowed_domains (day, profile, domain, n) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT DO UPDATE SET n = n + excluded.n",
    )?;
    for (k, n) in rows {
        insert.execute(params![
            day,
            &*k.profile,
            &*k.domain,
            i64::try_from(n).unwrap_or(i64::MAX)
        ])?;
    }
    Ok(())
}

/// Deletes the days before `keep` (YYYY-MM-DD); returns how many rows.
pub(crate) fn prune(tx: &Transaction<'_>, keep: &str) -> rusqlite::Result<u64> {
    tx.execute("DELETE FROM allowed_domains WHERE day < ?1", [keep])
        .map(|n| n as u64)
}

/// An allowed domain and how many queries for it were answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedCount {
    /// The name the queries were counted under, or [`crate::OTHER_DOMAIN`].
    pub domain: String,
    /// Queries.
    pub n: u64,
}

impl SqliteStore {
    /// A profile's allowed queries per domain from `from` to `to` (inclusive), most first,
    /// ties by name. Empty when nothing was counted: no allowed query, or none counted per
    /// domain (a store written before this version, or `count_allowed = false`).
    pub fn allowed_domains(
        &self,
        from: Date,
        to: Date,
        profile: &str,
    ) -> Result<Vec<AllowedCount>, Error> {
        let err = self.err("reading the allowed-domain counts");
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT domain, SUM(n) FROM allowed_domains \
                 WHERE profile = ?1 AND day >= ?2 AND day <= ?3 \
                 GROUP BY domain ORDER BY 2 DESC, 1",
            )
            .map_err(&err)?;
        let rows = stmt
            .query_map(params![profile, from.to_string(), to.to_string()], |r| {
                Ok(AllowedCount {
                    domain: r.get(0)?,
                    n: u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
                })
            })
            .map_err(&err)?;
        rows.collect::<Result<_, _>>().map_err(err)
    }
}
