//! The schema: the ordered list of migrations from an empty file (each one's SQL in
//! `migrations/NNN_name.sql`), and applying the ones a file lacks when it is opened.

use rusqlite::TransactionBehavior;

use super::SqliteStore;
use crate::error::Error;

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

/// The schema, as the list of migrations from an empty file, in version order. Never edit a
/// released entry or its file: append a new one (the next `NNN_name.sql` and an entry here).
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        description: "aggregate counts and blocked-domain counts",
        sql: include_str!("migrations/001_counts.sql"),
    },
    Migration {
        version: 2,
        description: "list changes, unblock requests and the optional query log",
        sql: include_str!("migrations/002_list_changes_requests_query_log.sql"),
    },
    Migration {
        version: 3,
        description: "monthly blocked-domain totals for fast top-domain reports",
        sql: include_str!("migrations/003_blocked_domains_monthly.sql"),
    },
    Migration {
        version: 4,
        description: "unblock requests with decisions, grants, local recategorisations and an audit log",
        sql: include_str!("migrations/004_requests_grants_audit.sql"),
    },
    Migration {
        version: 5,
        description: "staff accounts",
        sql: include_str!("migrations/005_staff_accounts.sql"),
    },
    Migration {
        version: 6,
        description: "allowed-domain counts",
        sql: include_str!("migrations/006_allowed_domains.sql"),
    },
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS[MIGRATIONS.len() - 1].version;

impl SqliteStore {
    /// Applies the migrations newer than the file's `user_version`, each in its own write
    /// transaction; refuses a file written by a newer hedge.
    pub(super) fn migrate(&mut self) -> Result<(), Error> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_count_up_from_one() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version, i as i64 + 1, "{}", m.description);
        }
    }
}
