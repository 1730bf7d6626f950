//! One resolver thread's counts: its cells and its tables of blocked and allowed names.

use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;

use super::table::{DomainTable, Recent};

/// One thread's counts.
pub(super) struct Tally {
    /// Counts since the start: only the owning thread writes them (load, add, store), so
    /// they need no read-modify-write; [`Counters::swap_out`] reads them.
    pub(super) cells: Box<[AtomicU64]>,
    /// The value of each cell at the last swap-out (only `swap_out` touches these).
    pub(super) taken: Box<[AtomicU64]>,
    /// Blocked names counted since the last swap-out. The lock is the owning thread's; each
    /// flush takes it once to swap the table, and another thread only when the cap of
    /// distinct names runs out ([`Counters::take_spare_slots`]). parking_lot's: it does not
    /// poison, so taking it is one compare-and-swap, without std's two panic-count checks.
    pub(super) domains: parking_lot::Mutex<DomainTable>,
    /// What this thread's recent intervals needed (only `swap_out` touches it).
    pub(super) recent: parking_lot::Mutex<Recent>,
    /// Allowed names counted since the last swap-out, per profile: as `domains`.
    pub(super) allowed: parking_lot::Mutex<DomainTable>,
    pub(super) allowed_recent: parking_lot::Mutex<Recent>,
}

/// Which names a table counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Names {
    /// Blocked names, per (profile, category).
    Blocked,
    /// Allowed names, per profile.
    Allowed,
}

impl Tally {
    pub(super) fn new(ncells: usize) -> Tally {
        Tally {
            cells: (0..ncells).map(|_| AtomicU64::new(0)).collect(),
            taken: (0..ncells).map(|_| AtomicU64::new(0)).collect(),
            domains: parking_lot::Mutex::new(DomainTable::default()),
            recent: parking_lot::Mutex::new(Recent::default()),
            allowed: parking_lot::Mutex::new(DomainTable::default()),
            allowed_recent: parking_lot::Mutex::new(Recent::default()),
        }
    }

    /// The table of these names.
    #[inline(always)]
    pub(super) fn table(&self, names: Names) -> &parking_lot::Mutex<DomainTable> {
        match names {
            Names::Blocked => &self.domains,
            Names::Allowed => &self.allowed,
        }
    }

    /// What the recent intervals of this table needed.
    pub(super) fn recent(&self, names: Names) -> &parking_lot::Mutex<Recent> {
        match names {
            Names::Blocked => &self.recent,
            Names::Allowed => &self.allowed_recent,
        }
    }

    /// Adds one to a cell this thread owns.
    #[inline]
    pub(super) fn bump(&self, i: usize) {
        let c = &self.cells[i];
        c.store(c.load(Relaxed).wrapping_add(1), Relaxed);
    }
}
