//! The cap of distinct names per interval, shared by all threads' tables as one pool of
//! slots, and the hash the tables find names by.

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::Ordering::{Relaxed, Release};
use std::sync::atomic::{AtomicU64, AtomicUsize};

use std::num::NonZeroU32;

use crate::batch::OTHER_DOMAIN;

/// A counted name's hash, computed once (when its answer is cached) and given back with
/// each count of it, so counting a cached answer hashes nothing. Only a hash from
/// [`Counters::name_hash`](super::Counters::name_hash) of the same counters finds the name
/// in one probe; any other still counts it exactly (names are compared in full), in a
/// slot of its own that the flush merges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameHash(NonZeroU32);

impl NameHash {
    /// The hash as kept outside (a packet-cache entry).
    pub fn get(self) -> NonZeroU32 {
        self.0
    }

    /// A hash kept outside, back.
    pub fn from_raw(h: NonZeroU32) -> NameHash {
        NameHash(h)
    }

    /// The table's 64 bits: spread by a multiplication, so the top bits hashbrown keeps in
    /// its control bytes vary as much as the low ones that pick the bucket.
    #[inline(always)]
    pub(super) fn table_hash(self) -> u64 {
        u64::from(self.0.get()).wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }
}

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
        self.name_hash(name).table_hash()
    }

    /// What [`hash`](DomainLimits::hash) is made from: 32 bits, so that a packet-cache entry
    /// can keep it (its two cache lines had 4 bytes to spare, not 8).
    #[inline(always)]
    pub(super) fn name_hash(&self, name: &str) -> NameHash {
        let mut h = self.hasher.build_hasher();
        h.write(name.as_bytes());
        let h = h.finish();
        NameHash(NonZeroU32::new((h >> 32) as u32 ^ h as u32).unwrap_or(NonZeroU32::MIN))
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
