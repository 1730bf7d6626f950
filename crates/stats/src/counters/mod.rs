//! The hot path: per-thread tallies of (profile, category, action) counts and of blocked
//! domains, bounded, and the optional raw query log buffer.
//!
//! Each resolver thread counts into its own [`Tally`]: the counts are plain loads and stores
//! (no read-modify-write, no cache line shared with another counting thread) and its domain
//! table has a lock that the flusher contends for once per flush (and another thread only
//! when the cap of distinct names runs out). A thread reserves slots of that cap in blocks,
//! so a new name touches no shared cache line either. The flusher sums the tallies in
//! [`Counters::swap_out`].

mod domain_count;
mod limits;
mod query_log;
mod table;
mod tally;

use std::fmt;
use std::net::IpAddr;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex, PoisonError};

use thread_local::ThreadLocal;

use limits::DomainLimits;
use query_log::QueryLogBuffer;
use table::{DomainSlot, DomainTable};
use tally::{Names, Tally};

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
    /// Count allowed queries per (profile, domain) too (`hedge policy diff` re-decides
    /// them under a new configuration). Default on.
    pub count_allowed: bool,
    /// As `max_domains_per_interval`, for the allowed names. Default 20 000.
    pub max_allowed_per_interval: usize,
    /// The raw query log: `None` (the default) keeps no per-query record at all.
    pub query_log: Option<QueryLogOptions>,
}

impl Default for CountersOptions {
    fn default() -> CountersOptions {
        CountersOptions {
            max_domains_per_interval: 20_000,
            count_allowed: true,
            max_allowed_per_interval: 20_000,
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

/// Where a (profile, category) is counted: from [`Counters::count_cell`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CountCell {
    /// `profile * (categories + 1) + slot`: the cells' index, without the action.
    base: u32,
    profile: u16,
    /// 0 = uncategorised, otherwise category index + 1.
    slot: u16,
}

impl CountCell {
    /// The profile's index.
    pub fn profile(self) -> u16 {
        self.profile
    }

    /// One query counted in this cell's (profile, category).
    #[inline(always)]
    fn one(self) -> DomainSlot {
        DomainSlot {
            profile: self.profile,
            category: self.slot,
            n: 1,
        }
    }

    /// The category's index; None for uncategorised.
    pub fn category(self) -> Option<u16> {
        self.slot.checked_sub(1)
    }
}

/// The name a domain is counted under: itself, or [`OTHER_DOMAIN`] when it is no DNS name.
#[inline(always)]
fn countable(domain: &str) -> &str {
    if domain.is_empty() || domain.len() > MAX_DOMAIN_LEN {
        OTHER_DOMAIN
    } else {
        domain
    }
}

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
    /// The allowed names' cap (their hash is the blocked names' one).
    allowed: DomainLimits,
    count_allowed: bool,
    /// Hands over counts kept outside before the domains are drained ([`Counters::set_sweep`]).
    #[allow(clippy::type_complexity)]
    sweep: Mutex<Option<Box<dyn Fn() + Send + Sync>>>,
    query_log: Option<QueryLogBuffer>,
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
        // One hash for both kinds of names: a cached answer keeps one, whichever it is.
        let hasher = foldhash::fast::RandomState::default();
        Ok(Counters {
            profiles: profile_names.into_iter().map(Arc::from).collect(),
            categories: category_ids.into_iter().map(Arc::from).collect(),
            uncategorised: Arc::from(UNCATEGORISED),
            ncells,
            tallies: ThreadLocal::new(),
            swapping: Mutex::new(()),
            invalid: AtomicU64::new(0),
            domains: DomainLimits::new(
                options.max_domains_per_interval.clamp(1, MAX_DOMAINS),
                hasher.clone(),
            ),
            allowed: DomainLimits::new(
                options.max_allowed_per_interval.clamp(1, MAX_DOMAINS),
                hasher,
            ),
            count_allowed: options.count_allowed,
            sweep: Mutex::new(None),
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
        self.count_cell(profile, category)
            .map(|c| c.base as usize * ACTIONS)
    }

    /// Where a (profile, category) counts, found once (per configuration, by the observer)
    /// rather than per query; None for indexes outside the lists given at construction.
    pub fn count_cell(&self, profile: u16, category: Option<u16>) -> Option<CountCell> {
        let slot = match category {
            None => 0,
            Some(c) => c.checked_add(1)?,
        };
        if usize::from(profile) >= self.profiles.len() || usize::from(slot) > self.categories.len()
        {
            return None;
        }
        let base = usize::from(profile) * (self.categories.len() + 1) + usize::from(slot);
        Some(CountCell {
            base: u32::try_from(base).ok()?,
            profile,
            slot,
        })
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
        match self.count_cell(profile, category) {
            Some(cell) => self.record_at(cell, action),
            None => {
                self.invalid.fetch_add(1, Relaxed);
            }
        }
    }

    /// [`record`](Counters::record) in a cell found beforehand.
    #[inline]
    pub fn record_at(&self, cell: CountCell, action: Action) {
        self.tally()
            .bump(cell.base as usize * ACTIONS + action.index());
    }

    /// Counts one blocked query and the `domain` it was blocked under: what
    /// [`record`](Counters::record) with [`Action::Blocked`] and
    /// [`record_blocked_domain`](Counters::record_blocked_domain) do, finding the cell and
    /// the tally once.
    #[inline]
    pub fn record_blocked(&self, profile: u16, category: Option<u16>, domain: &str) {
        match self.count_cell(profile, category) {
            Some(cell) => self.record_blocked_at(cell, domain),
            None => {
                self.invalid.fetch_add(1, Relaxed);
            }
        }
    }

    /// [`record_blocked`](Counters::record_blocked) in a cell found beforehand.
    #[inline]
    pub fn record_blocked_at(&self, cell: CountCell, domain: &str) {
        let tally = self.tally();
        tally.bump(cell.base as usize * ACTIONS + Action::Blocked.index());
        let domain = countable(domain);
        let h = self.domains.hash(domain);
        self.count_domain(Names::Blocked, tally, domain, h, cell.one(), false);
    }

    /// Counts one allowed query and, unless turned off, the `domain` it is counted under
    /// (per profile, whatever its category: never the client), as
    /// [`record_blocked_at`](Counters::record_blocked_at) does blocked ones, under a cap of
    /// its own.
    #[inline]
    pub fn record_allowed_at(&self, cell: CountCell, domain: &str) {
        let tally = self.tally();
        tally.bump(cell.base as usize * ACTIONS + Action::Allowed.index());
        if !self.count_allowed {
            return;
        }
        let domain = countable(domain);
        let h = self.allowed.hash(domain);
        let one = DomainSlot {
            profile: cell.profile,
            category: 0,
            n: 1,
        };
        self.count_domain(Names::Allowed, tally, domain, h, one, false);
    }

    /// Counts `n` queries of `cell` and `action` under `domain` in the domain counts alone
    /// (blocked names per category, allowed ones per profile): queries counted one by one
    /// with [`record_at`](Counters::record_at) whose domain was counted elsewhere (a
    /// packet-cache entry) and is handed over in one go. Nothing for other actions, nor for
    /// allowed names when they are not counted.
    pub fn record_domain_count(&self, cell: CountCell, action: Action, domain: &str, n: u32) {
        let (names, category) = match action {
            Action::Blocked => (Names::Blocked, cell.slot),
            Action::Allowed if self.count_allowed => (Names::Allowed, 0),
            _ => return,
        };
        if n == 0 {
            return;
        }
        let domain = countable(domain);
        let h = self.limits(names).hash(domain);
        let count = DomainSlot {
            profile: cell.profile,
            category,
            n,
        };
        self.count_domain(names, self.tally(), domain, h, count, true);
    }

    /// Runs `sweep` before each write of the domain counts ([`swap_out`](Counters::swap_out)),
    /// to hand over counts kept elsewhere (the packet cache's); replaces the one before.
    pub fn set_sweep(&self, sweep: Box<dyn Fn() + Send + Sync>) {
        *self.sweep.lock().unwrap_or_else(PoisonError::into_inner) = Some(sweep);
    }

    /// True when allowed queries are counted per domain.
    pub fn counts_allowed(&self) -> bool {
        self.count_allowed
    }

    /// The cap and hash of these names.
    #[inline(always)]
    fn limits(&self, names: Names) -> &DomainLimits {
        match names {
            Names::Blocked => &self.domains,
            Names::Allowed => &self.allowed,
        }
    }

    /// Counts one blocked query for `domain` (the normalised query name; never the client).
    ///
    /// Takes this thread's own table lock (the flusher contends for it once per flush);
    /// allocates only the first time the thread sees a domain in a flush interval. Past the
    /// per-interval cap of distinct domains, the query counts as `(other)`.
    pub fn record_blocked_domain(&self, profile: u16, category: Option<u16>, domain: &str) {
        let Some(cell) = self.count_cell(profile, category) else {
            self.invalid.fetch_add(1, Relaxed);
            return;
        };
        let domain = countable(domain);
        let h = self.domains.hash(domain);
        self.count_domain(Names::Blocked, self.tally(), domain, h, cell.one(), false);
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
        if domains {
            // Before the tallies: the sweep counts into this thread's.
            let sweep = self.sweep.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(sweep) = sweep.as_ref() {
                sweep();
            }
        }
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
        if domains {
            self.drain(Names::Blocked, &mut batch);
            if self.count_allowed {
                self.drain(Names::Allowed, &mut batch);
            }
        }
        if let Some(log) = &self.query_log {
            let entries =
                std::mem::take(&mut *log.entries.lock().unwrap_or_else(PoisonError::into_inner));
            batch.extend_query_log(entries);
        }
        batch
    }
}

impl Counters {
    /// Takes every thread's table of these names into `batch`.
    fn drain(&self, kind: Names, batch: &mut Batch) {
        for tally in self.tallies.iter() {
            // The thread goes on counting in a new table with room for what its recent
            // intervals needed, allocated here rather than under its lock; the full one is
            // drained without the lock. Growing a table rehashes every name in it on the
            // query path: with the room given here, a steady load never grows one.
            let (counted, name_bytes) = {
                let table = tally.table(kind).lock();
                (table.entries.len(), table.names.len())
            };
            // Memory follows the load of the last minute or so: after a burst of random
            // names the room shrinks by an eighth an interval (no lasting heap), and one
            // quiet interval does not take it away from the next busy one.
            let mut recent = tally.recent(kind).lock();
            recent.names = counted.max(recent.names - recent.names / 8);
            recent.bytes = name_bytes.max(recent.bytes - recent.bytes / 8);
            let fresh = DomainTable::with_room(&recent);
            let mut table = std::mem::replace(&mut *tally.table(kind).lock(), fresh);
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
                    let n = u64::from(s.n);
                    match kind {
                        Names::Blocked => {
                            batch.add_domain(profile, self.category_name(s.category), name, n)
                        }
                        Names::Allowed => batch.add_allowed(profile, name, n),
                    }
                }
            }
            self.limits(kind).give_back(slots);
        }
    }
}

#[cfg(test)]
mod tests;
