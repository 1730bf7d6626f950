//! Reading requests back from their rows.

use jiff::Timestamp;

use crate::error::Error;
use crate::requests::types::{RequestStatus, UnblockRequest};
use crate::sqlite::timestamp_column;

pub(super) fn status_column(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<RequestStatus> {
    let text: String = r.get(i)?;
    text.parse().map_err(|e: Error| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
    })
}

pub(super) fn opt_timestamp_column(
    r: &rusqlite::Row<'_>,
    i: usize,
) -> rusqlite::Result<Option<Timestamp>> {
    match r.get::<_, Option<String>>(i)? {
        None => Ok(None),
        Some(_) => timestamp_column(r, i).map(Some),
    }
}

pub(super) const REQUEST_COLUMNS: &str = "id, requested_at, COALESCE(last_requested_at, requested_at), \
     domain, category, COALESCE(reason, ''), count, status, decided_at, decided_by, note, \
     grant_until, (SELECT count(*) FROM unblock_request_contacts c WHERE c.request_id = r.id), \
     profile";

pub(super) fn request_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<UnblockRequest> {
    Ok(UnblockRequest {
        id: r.get(0)?,
        requested_at: timestamp_column(r, 1)?,
        last_requested_at: timestamp_column(r, 2)?,
        name: r.get(3)?,
        category: r.get(4)?,
        reason: r.get(5)?,
        count: r.get::<_, i64>(6)?.max(0) as u64,
        status: status_column(r, 7)?,
        decided_at: opt_timestamp_column(r, 8)?,
        decided_by: r.get(9)?,
        note: r.get(10)?,
        grant_until: opt_timestamp_column(r, 11)?,
        contacts: r.get::<_, i64>(12)?.max(0) as u64,
        profile: r.get(13)?,
    })
}
