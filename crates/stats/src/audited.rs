//! Audited writes: a change to the request or staff tables and its audit-log entry, in one
//! write transaction or not at all.

use rusqlite::{Transaction, TransactionBehavior, params};

use crate::error::Error;
use crate::sqlite::SqliteStore;

impl SqliteStore {
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
}

/// Appends an audit entry inside the change's transaction.
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
