//! The hot path: per-thread tallies of (profile, category, action) counts and of blocked
//! domains, bounded, and the optional raw query log buffer.
//!
//! Each resolver thread counts into its own [`Tally`]: the counts are plain loads and stores
//! (no read-modify-write, no cache line shared with another counting thread) and its domain
//! table has a lock that the flusher contends for once per flush (and another thread only
//! when the cap of distinct names runs out). A thread reserves slots of that cap in blocks,
//! so a new name touches no shared cache line either. The flusher sums the tallies in
//! [`Counters::swap_out`].

use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::net::IpAddr;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::sync::{Arc, Mutex, PoisonError};

use hashbrown::hash_table::Entry;
use thread_local::ThreadLocal;

// `pub(crate)` only for the report modules, which another branch is reorganising: they
// still import `Action` from here. Once both land, they take it from `crate::action`.
use crate::action::Action;
use crate::batch::{Batch, OTHER_DOMAIN, QueryLogEntry, UNCATEGORISED};
use crate::error::Error;
use crate::privacy::ClientPrivacy;

/// Limits and opt-ins for [`Counters`].
#[derive(Debug, Clone)]
pub struct CountersOptions {
    /// Distinct blocked domains kept between two writes of the domain counts (5 seconds
    /// in `hedge serve`), over all threads' tables (a name counted on two threads takes
    /// two); further domains are counted under `(other)` until the next write.
    /// Default 20 000.
    pub max_domains_per_interval: usize,
    /// The raw query log: `None` (the default) keeps no per-query record at all.
    pub query_log: Option<QueryLogOptions>,
}

impl Default for CountersOptions {
    fn default() -> CountersOptions {
        CountersOptions {
            max_domains_per_interval: 20_000,
            query_log: None,
        }
    }
}

/// Settings of the optional raw query log.
#[derive(Debug, Clone, Default)]
pub struct QueryLogOptions {
    /// How client addresses are recorded (default: truncated to /24 or /48).
    pub privacy: ClientPrivacy,
    /// Entries kept per flush interval; more are dropped and counted
    /// ([`Counters::query_log_dropped`]). Default (0 means default) 100 000.
    pub max_entries_per_interval: usize,
}

const ACTIONS: usize = Action::ALL.len();
/// Longer names are not DNS names; they are counted as `(other)`.
const MAX_DOMAIN_LEN: usize = 255;
/// The largest cap on distinct domains: their names, end to end, stay within a `u32` offset.
const MAX_DOMAINS: usize = u32::MAX as usize / (MAX_DOMAIN_LEN + 1);

/// Query counters shared (in an `Arc`) between the resolver's threads and the flusher.
///
/// Profiles and categories are dense indexes into the name lists given at construction.
/// [`record`](Counters::record) adds one to the calling thread's own tally: no lock, no
/// allocation, no atomic read-modify-write. [`swap_out`](Counters::swap_out) takes what every
/// thread counted since the last call.
pub struct Counters {
    profiles: Box<[Arc<str>]>,
    categories: Box<[Arc<str>]>,
    uncategorised: Arc<str>,
    /// `(profile * (categories + 1) + category slot) * ACTIONS + action`; slot 0 is "none".
    ncells: usize,
    tallies: ThreadLocal<Tally>,
    /// Serialises [`swap_out`](Counters::swap_out), the one reader of the tallies' `taken`.
    swapping: Mutex<()>,
    invalid: AtomicU64,
    domains: DomainLimits,
    query_log: Option<QueryLogBuffer>,
}

/// One thread's counts.
struct Tally {
    /// Counts since the start: only the owning thread writes them (load, add, store), so
    /// they need no read-modify-write; [`Counters::swap_out`] reads them.
    cells: Box<[AtomicU64]>,
    /// The value of each cell at the last swap-out (only `swap_out` touches these).
    taken: Box<[AtomicU64]>,
    /// Blocked names counted since the last swap-out. The lock is the owning thread's; each
    /// flush takes it once to swap the table, and another thread only when the cap of
    /// distinct names runs out ([`Counters::take_spare_slots`]). parking_lot's: it does not
    /// poison, so taking it is one compare-and-swap, without std's two panic-count checks.
    domains: parking_lot::Mutex<DomainTable>,
    /// What this thread's recent intervals needed (only `swap_out` touches it).
    recent: parking_lot::Mutex<Recent>,
}

impl Tally {
    fn new(ncells: usize) -> Tally {
        Tally {
            cells: (0..ncells).map(|_| AtomicU64::new(0)).collect(),
            taken: (0..ncells).map(|_| AtomicU64::new(0)).collect(),
            domains: parking_lot::Mutex::new(DomainTable::default()),
            recent: parking_lot::Mutex::new(Recent::default()),
        }
    }

    /// Adds one to a cell this thread owns.
    #[inline]
    fn bump(&self, i: usize) {
        let c = &self.cells[i];
        c.store(c.load(Relaxed).wrapping_add(1), Relaxed);
    }
}

impl fmt::Debug for Counters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Counters")
            .field("profiles", &self.profiles)
            .field("categories", &self.categories.len())
            .field("query_log", &self.query_log.is_some())
            .finish_non_exhaustive()
    }
}

impl Counters {
    /// Counters for these profiles and categories (taxonomy ids such as
    /// `adult-material/nudity`), with default options.
    pub fn new(profile_names: Vec<String>, category_ids: Vec<String>) -> Result<Counters, Error> {
        Counters::with_options(profile_names, category_ids, CountersOptions::default())
    }

    /// Counters with explicit limits and, if asked for, the raw query log.
    pub fn with_options(
        profile_names: Vec<String>,
        category_ids: Vec<String>,
        options: CountersOptions,
    ) -> Result<Counters, Error> {
        if profile_names.len() > usize::from(u16::MAX) + 1 {
            return Err(Error::Invalid(format!(
                "{} profiles; at most 65536 can be counted",
                profile_names.len()
            )));
        }
        if category_ids.len() > usize::from(u16::MAX) {
            return Err(Error::Invalid(format!(
                "{} categories; at most 65535 can be counted",
                category_ids.len()
            )));
        }
        for name in profile_names.iter().chain(&category_ids) {
            if name.is_empty() || name == UNCATEGORISED {
                return Err(Error::Invalid(format!(
                    "{name:?} cannot be counted as a profile or category name"
                )));
            }
        }
        let ncells = profile_names.len() * (category_ids.len() + 1) * ACTIONS;
        Ok(Counters {
            profiles: profile_names.into_iter().map(Arc::from).collect(),
            categories: category_ids.into_iter().map(Arc::from).collect(),
            uncategorised: Arc::from(UNCATEGORISED),
            ncells,
            tallies: ThreadLocal::new(),
            swapping: Mutex::new(()),
            invalid: AtomicU64::new(0),
            domains: DomainLimits::new(options.max_domains_per_interval.clamp(1, MAX_DOMAINS)),
            query_log: options.query_log.map(|o| QueryLogBuffer {
                cap: if o.max_entries_per_interval == 0 {
                    100_000
                } else {
                    o.max_entries_per_interval
                },
                privacy: o.privacy,
                entries: Mutex::new(Vec::new()),
                dropped: AtomicU64::new(0),
            }),
        })
    }

    /// The index of a profile name, for setting up listeners.
    pub fn profile_index(&self, name: &str) -> Option<u16> {
        let i = self.profiles.iter().position(|p| &**p == name)?;
        u16::try_from(i).ok()
    }

    /// The index of a category id.
    pub fn category_index(&self, id: &str) -> Option<u16> {
        let i = self.categories.iter().position(|c| &**c == id)?;
        u16::try_from(i).ok()
    }

    fn cell(&self, profile: u16, category: Option<u16>) -> Option<usize> {
        let p = usize::from(profile);
        let c = match category {
            None => 0,
            Some(c) => usize::from(c) + 1,
        };
        if p >= self.profiles.len() || c > self.categories.len() {
            return None;
        }
        Some((p * (self.categories.len() + 1) + c) * ACTIONS)
    }

    /// This thread's tally.
    #[inline]
    fn tally(&self) -> &Tally {
        self.tallies.get_or(|| Tally::new(self.ncells))
    }

    /// Counts one answered query in this thread's tally: no lock, no allocation; out-of-range
    /// indexes are counted in [`invalid_records`](Counters::invalid_records) instead.
    #[inline]
    pub fn record(&self, profile: u16, category: Option<u16>, action: Action) {
        match self.cell(profile, category) {
            Some(base) => self.tally().bump(base + action.index()),
            None => {
                self.invalid.fetch_add(1, Relaxed);
            }
        }
    }

    /// Counts one blocked query and the `domain` it was blocked under: what
    /// [`record`](Counters::record) with [`Action::Blocked`] and
    /// [`record_blocked_domain`](Counters::record_blocked_domain) do, finding the cell and
    /// the tally once.
    #[inline]
    pub fn record_blocked(&self, profile: u16, category: Option<u16>, domain: &str) {
        match self.cell(profile, category) {
            Some(base) => {
                let tally = self.tally();
                tally.bump(base + Action::Blocked.index());
                self.count_domain(tally, profile, category, domain);
            }
            None => {
                self.invalid.fetch_add(1, Relaxed);
            }
        }
    }

    /// Counts one blocked query for `domain` (the normalised query name; never the client).
    ///
    /// Takes this thread's own table lock (the flusher contends for it once per flush);
    /// allocates only the first time the thread sees a domain in a flush interval. Past the
    /// per-interval cap of distinct domains, the query counts as `(other)`.
    pub fn record_blocked_domain(&self, profile: u16, category: Option<u16>, domain: &str) {
        if self.cell(profile, category).is_none() {
            self.invalid.fetch_add(1, Relaxed);
            return;
        }
        self.count_domain(self.tally(), profile, category, domain);
    }

    fn count_domain(&self, tally: &Tally, profile: u16, category: Option<u16>, domain: &str) {
        let slot = category.map_or(0, |c| c + 1);
        let domain = if domain.is_empty() || domain.len() > MAX_DOMAIN_LEN {
            OTHER_DOMAIN
        } else {
            domain
        };
        let d = &self.domains;
        let h = d.hash(domain);
        {
            let mut table = tally.domains.lock();
            let DomainTable {
                entries,
                names,
                spare,
            } = &mut *table;
            // One probe finds a name already counted this interval (the common case) or
            // where a new one goes.
            match entries.entry(h, |e| e.name(names) == domain, |e| d.hash(e.name(names))) {
                Entry::Occupied(mut e) => return e.get_mut().count(profile, slot),
                Entry::Vacant(v) => {
                    let other = domain == OTHER_DOMAIN;
                    if other || *spare > 0 {
                        *spare -= u32::from(!other);
                        v.insert(DomainEntry::new(names, domain, profile, slot));
                        return;
                    }
                }
            }
        }
        self.count_new_name(tally, h, domain, profile, slot);
    }

    /// Counts a name new to this thread's table that has no reserved slot left: it takes a
    /// block from the pool, else the slots other threads reserved and have not used, else
    /// counts the name as `(other)` (which takes no slot).
    #[cold]
    #[inline(never)]
    fn count_new_name(&self, tally: &Tally, h: u64, domain: &str, profile: u16, slot: u16) {
        let d = &self.domains;
        let mut table = tally.domains.lock();
        // The slots of a block are in `spare` before the lock is let go: a thread that finds
        // the pool empty then finds them there.
        let generation = d.generation.load(Acquire);
        if table.spare == 0 {
            table.spare = d.reserve();
        }
        // The pool is empty. Unless that is known since slots last came free, the slots
        // other threads reserved and have not used are taken, without holding this thread's
        // lock (two threads taking from each other would deadlock).
        if table.spare == 0 && d.exhausted.load(Relaxed) != generation.wrapping_add(1) {
            drop(table);
            let found = self.take_spare_slots(tally);
            table = tally.domains.lock();
            if found == 0 {
                d.exhausted.store(generation.wrapping_add(1), Relaxed);
            } else {
                table.spare += found;
                // Visible in this table now: a search that missed them while they moved
                // must not leave the cap marked as used up.
                d.generation.fetch_add(1, Release);
            }
        }
        let DomainTable {
            entries,
            names,
            spare,
        } = &mut *table;
        let key = if *spare > 0 { domain } else { OTHER_DOMAIN };
        // Probed again: the flusher may have swapped the table while it was let go.
        match entries.entry(
            if *spare > 0 { h } else { d.other_hash },
            |e| e.name(names) == key,
            |e| d.hash(e.name(names)),
        ) {
            Entry::Occupied(mut e) => e.get_mut().count(profile, slot),
            Entry::Vacant(v) => {
                if key != OTHER_DOMAIN {
                    *spare -= 1;
                }
                v.insert(DomainEntry::new(names, key, profile, slot));
            }
        }
    }

    /// Takes the reserved, unused slots of every other thread's table; returns how many.
    #[cold]
    fn take_spare_slots(&self, own: &Tally) -> u32 {
        let mut found = 0;
        for tally in self.tallies.iter().filter(|t| !std::ptr::eq(*t, own)) {
            found += std::mem::take(&mut tally.domains.lock().spare);
        }
        found
    }

    /// Appends one entry to the raw query log, if the operator turned it on (otherwise this
    /// returns at once). The client address goes through the configured [`ClientPrivacy`]
    /// before it is kept. This allocates and takes a lock: its cost is the log's cost.
    pub fn log_query(
        &self,
        profile: u16,
        category: Option<u16>,
        action: Action,
        client: IpAddr,
        name: &str,
        qtype: &str,
    ) {
        let Some(log) = &self.query_log else { return };
        if self.cell(profile, category).is_none() {
            self.invalid.fetch_add(1, Relaxed);
            return;
        }
        let mut entries = log.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= log.cap {
            log.dropped.fetch_add(1, Relaxed);
            return;
        }
        entries.push(QueryLogEntry {
            ts: jiff::Timestamp::now(),
            profile: self.profiles[usize::from(profile)].clone(),
            client: log.privacy.client_id(client),
            name: name.to_owned(),
            qtype: qtype.to_owned(),
            action,
            category: self.category_name(category.map_or(0, |c| c + 1)),
        });
    }

    /// True when the raw query log is on.
    pub fn query_log_enabled(&self) -> bool {
        self.query_log.is_some()
    }

    /// Raw query log entries dropped because a flush interval's cap was reached.
    pub fn query_log_dropped(&self) -> u64 {
        self.query_log
            .as_ref()
            .map_or(0, |l| l.dropped.load(Relaxed))
    }

    /// Records with a profile or category index outside the lists given at construction (a
    /// bug in the caller); they are not counted anywhere else.
    pub fn invalid_records(&self) -> u64 {
        self.invalid.load(Relaxed)
    }

    fn category_name(&self, slot: u16) -> Arc<str> {
        match slot {
            0 => self.uncategorised.clone(),
            s => self.categories[usize::from(s - 1)].clone(),
        }
    }

    /// Takes every non-zero count (and every domain count and log entry) accumulated since
    /// the last call. Counts recorded concurrently land in this batch or the next, never in
    /// neither.
    pub fn swap_out(&self) -> Batch {
        self.swap_out_with(true)
    }

    /// [`swap_out`](Counters::swap_out), leaving the blocked-domain counts in place unless
    /// `domains` is set.
    pub fn swap_out_with(&self, domains: bool) -> Batch {
        let _one_at_a_time = self.swapping.lock().unwrap_or_else(PoisonError::into_inner);
        let mut batch = Batch::new();
        let mut sums = vec![0u64; self.ncells];
        for tally in self.tallies.iter() {
            for ((sum, cell), taken) in sums.iter_mut().zip(&tally.cells).zip(&tally.taken) {
                let now = cell.load(Relaxed);
                let before = taken.load(Relaxed);
                if now != before {
                    *sum = sum.saturating_add(now.wrapping_sub(before));
                    taken.store(now, Relaxed);
                }
            }
        }
        let slots = self.categories.len() + 1;
        for (i, n) in sums.into_iter().enumerate().filter(|(_, n)| *n > 0) {
            let (cell, action) = (i / ACTIONS, Action::ALL[i % ACTIONS]);
            let profile = self.profiles[cell / slots].clone();
            let category = self.category_name((cell % slots) as u16);
            batch.add_count(profile, category, action, n);
        }
        for tally in self.tallies.iter().filter(|_| domains) {
            // The thread goes on counting in a new table with room for what its recent
            // intervals needed, allocated here rather than under its lock; the full one is
            // drained without the lock. Growing a table rehashes every name in it on the
            // query path: with the room given here, a steady load never grows one.
            let (counted, name_bytes) = {
                let table = tally.domains.lock();
                (table.entries.len(), table.names.len())
            };
            // Memory follows the load of the last minute or so: after a burst of random
            // names the room shrinks by an eighth an interval (no lasting heap), and one
            // quiet interval does not take it away from the next busy one.
            let mut recent = tally.recent.lock();
            recent.names = counted.max(recent.names - recent.names / 8);
            recent.bytes = name_bytes.max(recent.bytes - recent.bytes / 8);
            let fresh = DomainTable::with_room(&recent);
            let mut table = std::mem::replace(&mut *tally.domains.lock(), fresh);
            let DomainTable {
                entries,
                names,
                spare,
            } = &mut table;
            let mut slots = *spare as usize;
            for e in entries.drain() {
                let name = e.name(names);
                if name != OTHER_DOMAIN {
                    slots += 1;
                }
                for s in std::iter::once(e.first).chain(e.more.into_iter().flat_map(|m| *m)) {
                    let profile = self.profiles[usize::from(s.profile)].clone();
                    let category = self.category_name(s.category);
                    batch.add_domain(profile, category, name, u64::from(s.n));
                }
            }
            self.domains.give_back(slots);
        }
        if let Some(log) = &self.query_log {
            let entries =
                std::mem::take(&mut *log.entries.lock().unwrap_or_else(PoisonError::into_inner));
            batch.extend_query_log(entries);
        }
        batch
    }
}

/// What bounds the blocked-domain tables, and how their names are hashed.
struct DomainLimits {
    /// Hashes the names. Seeded per process. foldhash, not SipHash: this runs once per
    /// blocked query, and the tables are capped, so flooding one costs an attacker nothing.
    hasher: foldhash::fast::RandomState,
    /// The hash of [`OTHER_DOMAIN`].
    other_hash: u64,
    /// Slots taken from the cap this interval: the distinct names in all threads' tables
    /// plus the slots they reserved and have not used yet ([`DomainTable::spare`]). A
    /// thread reserves [`SLOT_BLOCK`] at a time, so most new names touch no shared line.
    held: AtomicUsize,
    cap: usize,
    /// Changes whenever slots come free: given back to the pool, or moved to another
    /// thread's table.
    generation: AtomicU64,
    /// `generation + 1` once the cap was found all used in that generation: no slot in the
    /// pool nor reserved by any thread. Spares a search of the other threads' tables for
    /// every new name past the cap.
    exhausted: AtomicU64,
}

/// Slots a thread reserves at once from the cap of distinct names.
const SLOT_BLOCK: usize = 32;

impl DomainLimits {
    fn new(cap: usize) -> DomainLimits {
        let mut limits = DomainLimits {
            hasher: foldhash::fast::RandomState::default(),
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
    fn hash(&self, name: &str) -> u64 {
        let mut h = self.hasher.build_hasher();
        h.write(name.as_bytes());
        h.finish()
    }

    /// Reserves up to [`SLOT_BLOCK`] slots for new names; 0 when the pool is empty. The
    /// caller holds its table's lock and keeps the slots in its `spare` before letting go
    /// of it: a thread that finds the pool empty then finds them there
    /// ([`Counters::take_spare_slots`]).
    fn reserve(&self) -> u32 {
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
    fn give_back(&self, slots: usize) {
        if slots > 0 {
            self.held.fetch_sub(slots, Relaxed);
            self.generation.fetch_add(1, Release);
        }
    }
}

/// Names a table always has room for (below this, a smaller table saves too little).
const ROOM_FLOOR: usize = 64;

/// One thread's blocked names of this interval, found by their hash.
#[derive(Default)]
struct DomainTable {
    entries: hashbrown::HashTable<DomainEntry>,
    /// The names of `entries`, end to end: a new name costs no allocation of its own.
    names: String,
    /// Slots reserved from the cap ([`DomainLimits::held`]) for this table's next new names.
    spare: u32,
}

impl DomainTable {
    /// An empty table with room for a quarter more than `recent` intervals needed.
    fn with_room(recent: &Recent) -> DomainTable {
        let room = |n: usize| n + n / 4;
        DomainTable {
            entries: hashbrown::HashTable::with_capacity(room(recent.names.max(ROOM_FLOOR))),
            names: String::with_capacity(room(recent.bytes.max(ROOM_FLOOR * 32))),
            spare: 0,
        }
    }
}

/// What recent intervals needed (a peak that decays by an eighth an interval).
#[derive(Default)]
struct Recent {
    names: usize,
    bytes: usize,
}

/// A counted name, in 24 bytes. Most names are blocked for one (profile, category), so the
/// first slot is inline. The hash is not kept; the table recomputes it only when it grows.
struct DomainEntry {
    /// Where the name is in [`DomainTable::names`] (at most 255 bytes).
    start: u32,
    len: u16,
    first: DomainSlot,
    /// Boxed to keep the entry small (8 bytes, not a `Vec`'s 24): few names have a second slot.
    #[allow(clippy::box_collection)]
    more: Option<Box<Vec<DomainSlot>>>,
}
const _: () = assert!(std::mem::size_of::<DomainEntry>() == 24);

impl DomainEntry {
    /// A name seen for the first time this interval: its bytes go to the end of `names`.
    #[inline(always)]
    fn new(names: &mut String, name: &str, profile: u16, category: u16) -> DomainEntry {
        let entry = DomainEntry {
            start: names.len() as u32,
            len: name.len() as u16,
            first: DomainSlot {
                profile,
                category,
                n: 1,
            },
            more: None,
        };
        names.push_str(name);
        entry
    }

    fn name<'a>(&self, names: &'a str) -> &'a str {
        &names[self.start as usize..][..usize::from(self.len)]
    }

    /// Adds one to the (profile, category) slot.
    fn count(&mut self, profile: u16, category: u16) {
        let same = |s: &DomainSlot| s.profile == profile && s.category == category;
        if same(&self.first) {
            self.first.n = self.first.n.saturating_add(1);
            return;
        }
        let more = self.more.get_or_insert_default();
        match more.iter_mut().find(|s| same(s)) {
            Some(s) => s.n = s.n.saturating_add(1),
            None => more.push(DomainSlot {
                profile,
                category,
                n: 1,
            }),
        }
    }
}

/// One (profile, category) count of a name within a flush interval (an interval is a
/// minute or less: u32 holds 70 million queries a second).
#[derive(Clone, Copy)]
struct DomainSlot {
    profile: u16,
    /// 0 = uncategorised, otherwise category index + 1.
    category: u16,
    n: u32,
}

struct QueryLogBuffer {
    cap: usize,
    privacy: ClientPrivacy,
    entries: Mutex<Vec<QueryLogEntry>>,
    dropped: AtomicU64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counters() -> Counters {
        Counters::new(
            vec!["adult".into(), "child".into()],
            vec!["adult-material".into(), "adult-material/nudity".into()],
        )
        .expect("valid names")
    }

    #[test]
    fn swap_out_returns_exact_counts_and_zeroes() {
        let c = counters();
        for _ in 0..3 {
            c.record(1, Some(1), Action::Blocked);
        }
        c.record(0, None, Action::Allowed);
        c.record(1, None, Action::Servfail);
        c.record(9, None, Action::Allowed);
        c.record(0, Some(2), Action::Allowed);
        let b = c.swap_out();
        let mut got: Vec<_> = b
            .counts()
            .map(|(k, n)| (k.profile.to_string(), k.category.to_string(), k.action, n))
            .collect();
        got.sort();
        assert_eq!(
            got,
            vec![
                ("adult".into(), "-".into(), Action::Allowed, 1),
                ("child".into(), "-".into(), Action::Servfail, 1),
                (
                    "child".into(),
                    "adult-material/nudity".into(),
                    Action::Blocked,
                    3
                ),
            ]
        );
        assert_eq!(c.invalid_records(), 2);
        assert!(c.swap_out().is_empty());
    }

    #[test]
    fn a_name_blocked_under_several_profiles_and_categories_counts_each() {
        let c = counters();
        let record = [
            (0, Some(0)),
            (1, Some(0)),
            (0, Some(0)),
            (0, Some(1)),
            (1, None),
            (1, Some(0)),
        ];
        for (profile, category) in record {
            c.record_blocked_domain(profile, category, "bet.example");
        }
        c.record_blocked_domain(1, Some(1), "other.example");
        // Longer than a name kept inline (24 bytes).
        let long = "a-name-longer-than-inline.example";
        c.record_blocked_domain(0, Some(1), long);
        c.record_blocked_domain(0, Some(1), long);
        c.record_blocked_domain(1, Some(1), long);
        let b = c.swap_out();
        let mut got: Vec<(String, String, String, u64)> = b
            .domains()
            .map(|(k, n)| {
                let k = k.clone();
                (
                    k.profile.to_string(),
                    k.category.to_string(),
                    k.domain.into(),
                    n,
                )
            })
            .collect();
        got.sort();
        let want = [
            ("adult", "adult-material", "bet.example", 2),
            (
                "adult",
                "adult-material/nudity",
                "a-name-longer-than-inline.example",
                2,
            ),
            ("adult", "adult-material/nudity", "bet.example", 1),
            ("child", "-", "bet.example", 1),
            ("child", "adult-material", "bet.example", 2),
            (
                "child",
                "adult-material/nudity",
                "a-name-longer-than-inline.example",
                1,
            ),
            ("child", "adult-material/nudity", "other.example", 1),
        ];
        let want: Vec<_> = want
            .iter()
            .map(|(p, c, d, n)| (p.to_string(), c.to_string(), d.to_string(), *n))
            .collect();
        assert_eq!(got, want);
        assert_eq!(c.swap_out().domains().count(), 0, "taken out, not copied");
        // The drained table counts afresh.
        c.record_blocked_domain(0, Some(0), "bet.example");
        let again: Vec<u64> = c.swap_out().domains().map(|(_, n)| n).collect();
        assert_eq!(again, [1]);
    }

    #[test]
    fn quiet_intervals_give_back_a_busy_one_s_table() {
        let c = Counters::new(vec!["p".into()], vec!["c".into()]).expect("counters");
        let capacity = |c: &Counters| -> usize {
            c.tallies
                .iter()
                .map(|t| t.domains.lock().entries.capacity())
                .sum()
        };
        for i in 0..10_000 {
            c.record_blocked_domain(0, Some(0), &format!("n{i}.example"));
        }
        assert_eq!(c.swap_out().domains().count(), 10_000);
        let busy = capacity(&c);
        assert!(busy >= 10_000, "kept for the next interval: {busy}");
        c.record_blocked_domain(0, Some(0), "one.example");
        assert_eq!(c.swap_out().domains().count(), 1);
        assert_eq!(capacity(&c), busy, "one quiet interval keeps it");
        for _ in 0..40 {
            c.record_blocked_domain(0, Some(0), "one.example");
            assert_eq!(c.swap_out().domains().count(), 1);
        }
        let quiet = capacity(&c);
        assert!(quiet * 4 <= busy, "given back: {busy} -> {quiet}");
    }

    #[test]
    fn a_steady_load_counts_into_a_table_that_has_room_for_it() {
        // Growing a table rehashes every name in it on the query path: after the first
        // interval, the same load finds room for all its names in the table the swap-out
        // leaves (the thread may have counted into it while the old one was drained).
        let c = Counters::new(vec!["p".into()], vec!["c".into()]).expect("counters");
        let table = |c: &Counters| -> (usize, usize) {
            let t = c.tallies.iter().next().expect("a tally").domains.lock();
            (t.entries.capacity(), t.names.capacity())
        };
        let names: Vec<String> = (0..5_000).map(|i| format!("n{i}.example")).collect();
        let bytes: usize = names.iter().map(String::len).sum();
        for _ in 0..3 {
            for name in &names {
                c.record_blocked_domain(0, Some(0), name);
            }
            assert_eq!(c.swap_out().domains().count(), 5_000);
            let (entries, name_bytes) = table(&c);
            assert!(
                entries >= 5_000 && name_bytes >= bytes,
                "{entries}, {name_bytes}"
            );
        }
        let before = table(&c);
        for name in &names {
            c.record_blocked_domain(0, Some(0), name);
        }
        assert_eq!(table(&c), before, "the table did not grow");
    }

    /// One profile, one category, at most 16 distinct domains an interval.
    fn capped_at_16() -> Counters {
        let options = CountersOptions {
            max_domains_per_interval: 16,
            query_log: None,
        };
        Counters::with_options(vec!["p".into()], vec!["c".into()], options).expect("valid names")
    }

    #[test]
    fn domain_counts_overflow_into_other() {
        let c = capped_at_16();
        for i in 0..200 {
            c.record_blocked_domain(0, Some(0), &format!("d{i}.example"));
        }
        let b = c.swap_out();
        let total: u64 = b.domains().map(|(_, n)| n).sum();
        assert_eq!(total, 200);
        let distinct = b
            .domains()
            .filter(|(k, _)| &*k.domain != OTHER_DOMAIN)
            .count();
        assert!(distinct <= 16, "{distinct} distinct domains kept");
        assert!(b.domains().any(|(k, _)| &*k.domain == OTHER_DOMAIN));
    }

    #[test]
    fn concurrent_records_are_all_counted() {
        let c = Arc::new(counters());
        let mut seen = 0;
        std::thread::scope(|s| {
            for _ in 0..4 {
                let c = c.clone();
                s.spawn(move || {
                    for _ in 0..10_000 {
                        c.record(0, Some(0), Action::Blocked);
                    }
                });
            }
            for _ in 0..10 {
                seen += c.swap_out().total();
            }
        });
        seen += c.swap_out().total();
        assert_eq!(seen, 40_000);
    }

    #[test]
    fn blocked_queries_counted_on_many_threads_while_swapping_all_come_out() {
        let c = Arc::new(counters());
        let mut domains: std::collections::BTreeMap<String, u64> = Default::default();
        let mut blocked = 0;
        let mut take = |b: Batch| {
            blocked += b.total();
            for (k, n) in b.domains() {
                *domains.entry(k.domain.to_string()).or_default() += n;
            }
        };
        std::thread::scope(|s| {
            for t in 0..4 {
                let c = c.clone();
                s.spawn(move || {
                    for i in 0..5_000 {
                        let name = format!("d{}.example", (i + t) % 50);
                        c.record_blocked(1, Some(0), &name);
                    }
                });
            }
            for _ in 0..10 {
                take(c.swap_out());
            }
        });
        take(c.swap_out());
        assert_eq!(blocked, 20_000);
        assert_eq!(domains.len(), 50);
        assert!(domains.values().all(|n| *n == 400), "{domains:?}");
    }

    #[test]
    fn the_domain_cap_holds_across_threads_and_frees_at_each_swap() {
        let c = capped_at_16();
        for round in 0..2 {
            std::thread::scope(|s| {
                for t in 0..4 {
                    let c = &c;
                    s.spawn(move || {
                        for i in 0..100 {
                            c.record_blocked_domain(
                                0,
                                Some(0),
                                &format!("r{round}t{t}n{i}.example"),
                            );
                        }
                    });
                }
            });
            let b = c.swap_out();
            assert_eq!(b.domains().map(|(_, n)| n).sum::<u64>(), 400);
            let named = b
                .domains()
                .filter(|(k, _)| &*k.domain != OTHER_DOMAIN)
                .count();
            assert_eq!(
                named, 16,
                "round {round}: the cap, all of it, every interval"
            );
        }
    }

    /// The named (non-`(other)`) domains of a batch, with their counts, sorted.
    fn named(b: &Batch) -> Vec<(String, u64)> {
        let mut v: Vec<_> = b
            .domains()
            .filter(|(k, _)| &*k.domain != OTHER_DOMAIN)
            .map(|(k, n)| (k.domain.to_string(), n))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_full_cap_sends_new_names_to_other_and_known_names_keep_counting() {
        let c = capped_at_16();
        for i in 0..20 {
            c.record_blocked_domain(0, Some(0), &format!("d{i:02}.example"));
        }
        // Known names count under their own name once the cap is reached.
        c.record_blocked_domain(0, Some(0), "d00.example");
        c.record_blocked_domain(0, Some(0), "d19.example");
        let b = c.swap_out();
        let want: Vec<(String, u64)> = (0..16)
            .map(|i| (format!("d{i:02}.example"), if i == 0 { 2 } else { 1 }))
            .collect();
        assert_eq!(named(&b), want, "the first 16 names, in arrival order");
        let other: Vec<u64> = b
            .domains()
            .filter(|(k, _)| &*k.domain == OTHER_DOMAIN)
            .map(|(_, n)| n)
            .collect();
        assert_eq!(
            other,
            [5],
            "four new names past the cap, and one of them again"
        );
    }

    /// `quiet` names counted on one thread, then `busy` on another while the first is still
    /// alive (so the two cannot share a thread's table).
    fn on_two_threads(c: &Counters, quiet: &[&str], busy: &[String]) {
        let turn = std::sync::Barrier::new(2);
        std::thread::scope(|s| {
            s.spawn(|| {
                for name in quiet {
                    c.record_blocked_domain(0, Some(0), name);
                }
                turn.wait();
                turn.wait();
            });
            s.spawn(|| {
                turn.wait();
                for name in busy {
                    c.record_blocked_domain(0, Some(0), name);
                }
                turn.wait();
            });
        });
    }

    #[test]
    fn a_busy_thread_gets_every_slot_a_quiet_thread_left() {
        // The cap is one pool for all threads: a thread that counted a single name holds a
        // single slot, and the rest of the cap is there for a busier one.
        let c = capped_at_16();
        let busy: Vec<String> = (0..100).map(|i| format!("busy{i:02}.example")).collect();
        on_two_threads(&c, &["quiet.example"], &busy);
        let got = named(&c.swap_out());
        assert_eq!(got.len(), 16, "{got:?}");
        assert!(got.contains(&("quiet.example".into(), 1)), "{got:?}");
        // A name counted on two threads takes a slot on each.
        let busy: Vec<String> = std::iter::once("quiet.example".to_string())
            .chain(busy)
            .collect();
        on_two_threads(&c, &["quiet.example"], &busy);
        let got = named(&c.swap_out());
        assert_eq!(got.len(), 15, "two slots for one name: {got:?}");
        assert!(got.contains(&("quiet.example".into(), 2)), "{got:?}");
    }

    #[test]
    fn rejects_reserved_names() {
        assert!(Counters::new(vec!["-".into()], vec![]).is_err());
        assert!(Counters::new(vec!["a".into()], vec!["".into()]).is_err());
    }
}
