//! The writes of the [`Store`](crate::Store): a flush's counts, the retention's deletions,
//! and a compilation's list changes, each in one write transaction.

use jiff::civil::Date;
use rusqlite::{TransactionBehavior, params};

use super::{SqliteStore, to_i64, ts_text};
use crate::batch::Batch;
use crate::error::Error;
use crate::store::{ListChange, MAX_CHANGE_NAMES, Pruned, Retention};

impl SqliteStore {
    /// [`Store::write`](crate::Store::write): adds a flush's counts to `day`.
    pub(super) fn write_batch(&mut self, day: Date, batch: &Batch) -> Result<(), Error> {
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

    /// [`Store::prune`](crate::Store::prune): deletes what the retention no longer keeps.
    pub(super) fn prune_expired(
        &mut self,
        today: Date,
        retention: &Retention,
    ) -> Result<Pruned, Error> {
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

    /// [`Store::record_list_change`](crate::Store::record_list_change).
    pub(super) fn insert_list_change(&mut self, change: &ListChange) -> Result<(), Error> {
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
}
