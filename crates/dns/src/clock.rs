//! The store under both caches: bounded shards of entries with second-chance eviction.
//!
//! Each shard keeps its entries in one vector reserved at full size, found through a table
//! of indices that grows with them. The vector fills from the front, so only pages that hold
//! entries become resident, and an entry is never moved by a table growing; the index table
//! is 4 bytes a slot. (A hash map of entries, grown by doubling and churned by evictions, kept 2-4
//! times its entries' bytes resident; an LRU list costs two pointers and an allocation per
//! entry.)

use std::sync::{Mutex, MutexGuard};

use hashbrown::HashTable;

/// What a shard needs of its entries.
pub(crate) trait Slot {
    /// The entry's key hash: its identity in its shard.
    fn hash(&self) -> u64;
    /// Whether it was used since it was stored or last passed over, clearing the mark.
    fn take_used(&mut self) -> bool;
}

/// Most shards a cache is split into.
const SHARDS: usize = 16;

/// Entries a full shard looks at before it gives one up.
const EVICTION_PROBES: usize = 4;

/// Entries in shards found by bits 32-47 of their (already seeded) key hash: one lock and
/// one probe per lookup.
pub(crate) struct Shards<E> {
    shards: Box<[Mutex<Shard<E>>]>,
}

impl<E: Slot> Shards<E> {
    /// Room for `size` entries (at least one), rounded up to a multiple of the shard
    /// count. The memory is reserved here and becomes resident as entries fill it.
    pub(crate) fn new(size: usize) -> Shards<E> {
        let n = SHARDS.min(size.max(1));
        let cap = size.max(1).div_ceil(n).min(u32::MAX as usize);
        Shards {
            shards: (0..n).map(|_| Mutex::new(Shard::new(cap))).collect(),
        }
    }

    /// The shard of `hash`, locked. Bits 32-47 pick it, scaled to the shard count by a
    /// multiply (no division on the hot path): hashbrown takes a slot from the low bits and
    /// its tag from the top seven, which must stay random within a shard.
    pub(crate) fn lock(&self, hash: u64) -> MutexGuard<'_, Shard<E>> {
        let i = (((hash >> 32) & 0xffff) * self.shards.len() as u64) >> 16;
        self.shards[i as usize]
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Each shard in turn, locked.
    pub(crate) fn each(&self) -> impl Iterator<Item = MutexGuard<'_, Shard<E>>> {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Number of entries.
    pub(crate) fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).entries.len())
            .sum()
    }
}

/// One shard: entries, densely, and their indices by hash.
pub(crate) struct Shard<E> {
    slots: HashTable<u32>,
    entries: Vec<E>,
    cap: usize,
}

impl<E: Slot> Shard<E> {
    fn new(cap: usize) -> Shard<E> {
        Shard {
            // Grown as entries come: reserved at full size, its slots would all be resident
            // after a few inserts, each landing at random (640 KiB for a 100,000-answer
            // cache holding 20,000).
            slots: HashTable::new(),
            entries: Vec::with_capacity(cap),
            cap,
        }
    }

    /// The entry stored under `hash`, by index.
    pub(crate) fn find(&self, hash: u64) -> Option<usize> {
        let entries = &self.entries;
        let i = *self
            .slots
            .find(hash, |&i| entries[i as usize].hash() == hash)?;
        Some(i as usize)
    }

    /// Entry `i` (from [`find`](Shard::find)).
    pub(crate) fn get_mut(&mut self, i: usize) -> &mut E {
        &mut self.entries[i]
    }

    /// Removes entry `i` and gives it back; the last entry moves into its place.
    pub(crate) fn remove(&mut self, i: usize) -> E {
        let Shard { slots, entries, .. } = self;
        let hash = entries[i].hash();
        if let Ok(slot) = slots.find_entry(hash, |&j| j as usize == i) {
            slot.remove();
        }
        let last = entries.len() - 1;
        let removed = entries.swap_remove(i);
        if i != last {
            let moved = entries[i].hash();
            if let Some(slot) = slots.find_mut(moved, |&j| j as usize == last) {
                *slot = i as u32;
            }
        }
        removed
    }

    /// Every entry, to read or change in place (the packet cache's sweep of hit counts).
    pub(crate) fn entries_mut(&mut self) -> &mut [E] {
        &mut self.entries
    }

    /// Stores `entry`: over an entry of the same hash, else in a free place, else over a
    /// [`victim`]. Gives back the entry it replaced, if any.
    pub(crate) fn put(&mut self, entry: E) -> Option<E> {
        let hash = entry.hash();
        if let Some(i) = self.find(hash) {
            return Some(std::mem::replace(&mut self.entries[i], entry));
        }
        let Shard {
            slots,
            entries,
            cap,
        } = self;
        let mut replaced = None;
        let i = if entries.len() < *cap {
            entries.push(entry);
            entries.len() - 1
        } else {
            let victim = victim(entries, hash);
            let old = entries[victim].hash();
            if let Ok(slot) = slots.find_entry(old, |&j| j as usize == victim) {
                slot.remove();
            }
            replaced = Some(std::mem::replace(&mut entries[victim], entry));
            victim
        };
        slots.insert_unique(hash, i as u32, |&j| entries[j as usize].hash());
        replaced
    }
}

/// The entry a full shard gives up: of a few, starting where the new entry's hash points,
/// the first not used since it was stored or last passed over (second chance; the ones
/// passed over lose their mark). Names asked for once, such as floods of random
/// subdomains, go before names asked for again.
fn victim<E: Slot>(entries: &mut [E], hash: u64) -> usize {
    let start = (hash >> 8) as usize % entries.len();
    for k in 0..EVICTION_PROBES {
        let i = (start + k) % entries.len();
        if !entries[i].take_used() {
            return i;
        }
    }
    start
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Test {
        hash: u64,
        used: bool,
    }

    impl Slot for Test {
        fn hash(&self) -> u64 {
            self.hash
        }
        fn take_used(&mut self) -> bool {
            std::mem::replace(&mut self.used, false)
        }
    }

    /// A well-mixed hash of `i`, as the caches' seeded key hashes are.
    fn hash(i: u64) -> u64 {
        xxhash_rust::xxh3::xxh3_64(&i.to_le_bytes())
    }

    fn put(s: &Shards<Test>, h: u64) {
        s.lock(h).put(Test {
            hash: h,
            used: false,
        });
    }

    /// Looks `h` up, marking it used as the caches do on a hit.
    fn hit(s: &Shards<Test>, h: u64) -> bool {
        let mut shard = s.lock(h);
        let Some(i) = shard.find(h) else { return false };
        shard.get_mut(i).used = true;
        true
    }

    #[test]
    fn stays_bounded_and_finds_what_it_kept() {
        let s = Shards::new(64);
        for i in 0..5_000 {
            put(&s, hash(i));
        }
        assert_eq!(s.len(), 64, "full, and no more");
        let kept = (0..5_000).filter(|&i| hit(&s, hash(i))).count();
        assert_eq!(kept, 64, "every entry still found through the index table");
        // Storing a hash again replaces its entry.
        let last = (0..5_000)
            .rev()
            .find(|&i| hit(&s, hash(i)))
            .expect("one kept");
        put(&s, hash(last));
        assert_eq!(s.len(), 64);
    }

    #[test]
    fn removing_keeps_the_others_findable() {
        let s = Shards::new(1_000); // room to spare: no evictions
        for i in 0..16 {
            put(&s, hash(i));
        }
        for i in (0..16).step_by(2) {
            let mut shard = s.lock(hash(i));
            let at = shard.find(hash(i)).expect("stored");
            shard.remove(at);
        }
        assert_eq!(s.len(), 8);
        for i in 0..16 {
            assert_eq!(hit(&s, hash(i)), i % 2 == 1, "entry {i}");
        }
    }

    #[test]
    fn an_entry_used_again_outlives_a_flood_of_one_off_entries() {
        let s = Shards::new(256);
        let hot = hash(u64::MAX);
        put(&s, hot);
        for i in 0..20_000 {
            assert!(hit(&s, hot), "evicted after {i} other entries");
            put(&s, hash(i));
        }
    }

    #[test]
    fn small_sizes_are_exact() {
        for size in [1, 2, 5, 16, 32] {
            let s = Shards::new(size);
            for i in 0..1_000 {
                put(&s, hash(i));
            }
            assert_eq!(s.len(), size);
        }
        assert_eq!(Shards::<Test>::new(0).shards.len(), 1);
    }
}
