//! Requests kept in the statistics file (hedge-stats' requests tables): one connection of
//! the portal's own, opened on first use and kept, used on a blocking thread.

use std::path::PathBuf;

use hedge_stats::{NewRequest, SqliteStore};
use parking_lot::Mutex;

use crate::{AccessRequest, Receipt, RequestStore};

/// The statistics file, as `[stats] path` names it.
pub struct SqliteRequests {
    path: PathBuf,
    store: Mutex<Option<SqliteStore>>,
}

impl SqliteRequests {
    /// Requests go to the SQLite file at `path` (created and migrated if need be).
    pub fn new(path: PathBuf) -> SqliteRequests {
        SqliteRequests {
            path,
            store: Mutex::new(None),
        }
    }
}

impl RequestStore for SqliteRequests {
    fn submit(&self, request: &AccessRequest) -> Result<Receipt, String> {
        let mut guard = self.store.lock();
        if guard.is_none() {
            let store = SqliteStore::open(&self.path)
                .map_err(|e| format!("{}: {e}", self.path.display()))?;
            *guard = Some(store);
        }
        let Some(store) = guard.as_mut() else {
            return Err("the store did not open".into());
        };
        let new = NewRequest {
            name: request.name.clone(),
            category: Some(request.category.clone()),
            profile: request.profile.clone(),
            reason: request.reason.clone(),
            contact: request.contact.clone(),
        };
        match store.submit_request(&new, jiff::Timestamp::now()) {
            Ok(s) => Ok(Receipt {
                id: s.id,
                merged: s.merged,
                count: s.count,
            }),
            Err(e) => {
                // A connection that failed may be broken: the next request opens a new one.
                *guard = None;
                Err(format!("{}: {e}", self.path.display()))
            }
        }
    }
}
