//! The cap of distinct names per interval, shared by all threads' tables as one pool of
//! slots, and the hash the tables find names by.

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::Ordering::{Relaxed, Release};
use std::sync::atomic::{AtomicU64, AtomicUsize};

use crate::batch::OTHER_DOMAIN;

/// What bounds the blocked-domain tables, and how their names are hashed.
pub(super) struct DomainLimits {
    /// Hashes the names. Seeded per process. foldhash, not SipHash: this runs once per
    /// blocked query, and the tables are capped, so flooding one costs an attacker nothing.
    pub(super) hasher: foldhash::fast::RandomState,
    /// The hash of [`OTHER_DOMAIN`].
    pub(super) other_hash: u64,
    /// Slots taken from the cap this interval: the distinct names in all threads' tables
    /// plus the slots they reserved and have not used yet ([`DomainTable::spare`]). A
    /// thread reserves [`SLOT_BLOCK`] at a time, so most new names touch no shared line.
    pub(super) held: AtomicUsize,
    pub(super) cap: usize,
    /// Changes whenever slots come free: given back to the pool, or moved to another
    /// thread's table.
    pub(super) generation: AtomicU64,
    /// `generation + 1` once the cap was found all used in that generation: no slot in the
    /// pool nor reserved by any thread. Spares a search of the other threads' tables for
    /// every new name past the cap.
    pub(super) exhausted: AtomicU64,
}

/// Slots a thread reserves at once from the cap of distinct names.
pub(super) const SLOT_BLOCK: usize = 32;

impl DomainLimits {
    pub(super) fn new(cap: usize, hasher: foldhash::fast::RandomState) -> DomainLimits {
        let mut limits = DomainLimits {
            hasher,
            other_hash: 0,
            held: AtomicUsize::new(0),
            cap,
            generation: AtomicU64::new(0),
            exhausted: AtomicU64::new(0),
        };
        limits.other_hash = limits.hash(OTHER_DOMAIN);
        limits
    }

    /// The name's bytes alone: no length or terminator, which `str`'s `Hash` adds (names
    /// are compared in full on a hash match, so nothing needs them).
    #[inline(always)]
    pub(super) fn hash(&self, name: &str) -> u64 {
        let mut h = self.hasher.build_hasher();
        h.write(name.as_bytes());
        h.finish()
    }

    /// Reserves up to [`SLOT_BLOCK`] slots for new names; 0 when the pool is empty. The
    /// caller holds its table's lock and keeps the slots in its `spare` before letting go
    /// of it: a thread that finds the pool empty then finds them there
    /// ([`Counters::take_spare_slots`]).
    pub(super) fn reserve(&self) -> u32 {
        let mut held = self.held.load(Relaxed);
        loop {
            let n = self.cap.saturating_sub(held).min(SLOT_BLOCK);
            if n == 0 {
                return 0;
            }
            match self
                .held
                .compare_exchange_weak(held, held + n, Relaxed, Relaxed)
            {
                Ok(_) => return n as u32,
                Err(now) => held = now,
            }
        }
    }

    /// Returns the slots of a drained table (its names and its unused reservation).
    pub(super) fn give_back(&self, slots: usize) {
        if slots > 0 {
            self.held.fetch_sub(slots, Relaxed);
            self.generation.fetch_add(1, Release);
        }
    }
}
