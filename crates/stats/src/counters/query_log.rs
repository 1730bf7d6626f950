//! The optional raw query log's buffer.

use std::sync::Mutex;
use std::sync::atomic::AtomicU64;

use crate::batch::QueryLogEntry;
use crate::privacy::ClientPrivacy;

pub(super) struct QueryLogBuffer {
    pub(super) cap: usize,
    pub(super) privacy: ClientPrivacy,
    pub(super) entries: Mutex<Vec<QueryLogEntry>>,
    pub(super) dropped: AtomicU64,
}
