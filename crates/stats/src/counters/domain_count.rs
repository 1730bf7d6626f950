//! Counting a name in the calling thread's table of blocked or allowed names, within the
//! cap of distinct names of that table.

use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};

use hashbrown::hash_table::Entry;

use super::Counters;
use super::table::{DomainEntry, DomainSlot, DomainTable};
use super::tally::{Names, Tally};
use crate::batch::OTHER_DOMAIN;

impl Counters {
    /// Counts `domain` (already [`countable`](super::countable); `h` its table hash)
    /// `count.n` times for its (profile, slot) in this thread's table. `handed_over`: counts
    /// of a name that may be counted in another thread's table already (a packet-cache
    /// entry's, handed over by a sweep or an eviction): past the cap, they go to that table
    /// rather than to `(other)`.
    #[inline]
    pub(super) fn count_domain(
        &self,
        kind: Names,
        tally: &Tally,
        domain: &str,
        h: u64,
        count: DomainSlot,
        handed_over: bool,
    ) {
        let d = self.limits(kind);
        {
            let mut table = tally.table(kind).lock();
            let DomainTable {
                entries,
                names,
                spare,
            } = &mut *table;
            // One probe finds a name already counted this interval (the common case) or
            // where a new one goes.
            match entries.entry(h, |e| e.name(names) == domain, |e| d.hash(e.name(names))) {
                Entry::Occupied(mut e) => return e.get_mut().count(count),
                Entry::Vacant(v) => {
                    let other = domain == OTHER_DOMAIN;
                    if other || *spare > 0 {
                        *spare -= u32::from(!other);
                        v.insert(DomainEntry::new(names, domain, count));
                        return;
                    }
                }
            }
        }
        self.count_new_name(kind, tally, h, domain, count, handed_over);
    }

    /// Counts a name new to this thread's table that has no reserved slot left: it takes a
    /// block from the pool, else the slots other threads reserved and have not used, else
    /// counts the name as `(other)` (which takes no slot), unless it is `handed_over` and
    /// another thread's table counts it already.
    #[cold]
    #[inline(never)]
    fn count_new_name(
        &self,
        kind: Names,
        tally: &Tally,
        h: u64,
        domain: &str,
        count: DomainSlot,
        handed_over: bool,
    ) {
        let d = self.limits(kind);
        let mut table = tally.table(kind).lock();
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
            let found = self.take_spare_slots(kind, tally);
            table = tally.table(kind).lock();
            if found == 0 {
                d.exhausted.store(generation.wrapping_add(1), Relaxed);
            } else {
                table.spare += found;
                // Visible in this table now: a search that missed them while they moved
                // must not leave the cap marked as used up.
                d.generation.fetch_add(1, Release);
            }
        }
        // A cache entry's hits of a name its first answer counted on another thread (the
        // flusher's sweep, an eviction on another thread): exact there, not `(other)` here.
        // Without this thread's lock, as above.
        if table.spare == 0 && handed_over && domain != OTHER_DOMAIN {
            drop(table);
            if self.count_where_counted(kind, tally, h, domain, count) {
                return;
            }
            table = tally.table(kind).lock();
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
            Entry::Occupied(mut e) => e.get_mut().count(count),
            Entry::Vacant(v) => {
                if key != OTHER_DOMAIN {
                    *spare -= 1;
                }
                v.insert(DomainEntry::new(names, key, count));
            }
        }
    }

    /// Counts `domain` in another thread's table that has it; false when none has.
    #[cold]
    fn count_where_counted(
        &self,
        kind: Names,
        own: &Tally,
        h: u64,
        domain: &str,
        count: DomainSlot,
    ) -> bool {
        for tally in self.tallies.iter().filter(|t| !std::ptr::eq(*t, own)) {
            let mut table = tally.table(kind).lock();
            let DomainTable { entries, names, .. } = &mut *table;
            if let Some(e) = entries.find_mut(h, |e| e.name(names) == domain) {
                e.count(count);
                return true;
            }
        }
        false
    }

    /// Takes the reserved, unused slots of every other thread's table; returns how many.
    #[cold]
    fn take_spare_slots(&self, kind: Names, own: &Tally) -> u32 {
        let mut found = 0;
        for tally in self.tallies.iter().filter(|t| !std::ptr::eq(*t, own)) {
            found += std::mem::take(&mut tally.table(kind).lock().spare);
        }
        found
    }
}
