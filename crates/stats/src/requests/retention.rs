//! Retention of the request tables, run inside the store's prune transaction (its own module
//! so the store can call it without importing the request API, which builds on the store).

use jiff::civil::Date;
use rusqlite::{Transaction, params};

use crate::store::Retention;

/// A contact is deleted this many days after its request was decided or withdrawn.
pub const CONTACT_DAYS_AFTER_DECISION: u32 = 30;
/// ... and at the latest this many days after it was given.
pub const CONTACT_MAX_DAYS: u32 = 90;

/// Rows [`prune`] deleted.
pub(crate) struct RequestsPruned {
    pub(crate) requests: u64,
    pub(crate) contacts: u64,
    pub(crate) grants: u64,
    pub(crate) audit_log: u64,
}

/// Retention of the request tables, inside the store's prune transaction: contacts first
/// (sooner), then whatever is older than `keep` (the aggregates' first kept day). Live grants
/// and recategorisations are never pruned.
pub(crate) fn prune(
    tx: &Transaction<'_>,
    today: Date,
    keep: &str,
) -> rusqlite::Result<RequestsPruned> {
    let first_kept = |days: u32| {
        Retention::first_kept(today, days)
            .map(|d| d.to_string())
            .unwrap_or_default()
    };
    let contacts = tx.execute(
        "DELETE FROM unblock_request_contacts WHERE given_at < ?1 OR request_id IN \
         (SELECT id FROM unblock_requests WHERE decided_at < ?2)",
        params![
            first_kept(CONTACT_MAX_DAYS),
            first_kept(CONTACT_DAYS_AFTER_DECISION)
        ],
    )?;
    let requests = tx.execute(
        "DELETE FROM unblock_requests \
         WHERE COALESCE(decided_at, last_requested_at, requested_at) < ?1",
        [keep],
    )?;
    let grants = tx.execute(
        "DELETE FROM grants WHERE revoked_at < ?1 OR until < ?1",
        [keep],
    )?;
    let audit_log = tx.execute("DELETE FROM audit_log WHERE at < ?1", [keep])?;
    Ok(RequestsPruned {
        requests: requests as u64,
        contacts: contacts as u64,
        grants: grants as u64,
        audit_log: audit_log as u64,
    })
}
