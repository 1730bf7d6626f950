//! One write transaction for every change to the request tables.

use rusqlite::{Transaction, TransactionBehavior};

use crate::error::Error;
use crate::sqlite::SqliteStore;

impl SqliteStore {
    /// Runs `body` in one write transaction, committed only if it succeeds; `err` names the
    /// store and `context` in SQLite errors.
    pub(super) fn in_transaction<T>(
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
