//! One thread's table of the names it counted this interval.

/// Names a table always has room for (below this, a smaller table saves too little).
pub(super) const ROOM_FLOOR: usize = 64;

/// One thread's blocked names of this interval, found by their hash.
#[derive(Default)]
pub(super) struct DomainTable {
    pub(super) entries: hashbrown::HashTable<DomainEntry>,
    /// The names of `entries`, end to end: a new name costs no allocation of its own.
    pub(super) names: String,
    /// Slots reserved from the cap ([`DomainLimits::held`]) for this table's next new names.
    pub(super) spare: u32,
}

impl DomainTable {
    /// An empty table with room for a quarter more than `recent` intervals needed.
    pub(super) fn with_room(recent: &Recent) -> DomainTable {
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
pub(super) struct Recent {
    pub(super) names: usize,
    pub(super) bytes: usize,
}

/// A counted name, in 24 bytes. Most names are blocked for one (profile, category), so the
/// first slot is inline. The hash is not kept; the table recomputes it only when it grows.
pub(super) struct DomainEntry {
    /// Where the name is in [`DomainTable::names`] (at most 255 bytes).
    pub(super) start: u32,
    pub(super) len: u16,
    pub(super) first: DomainSlot,
    /// Boxed to keep the entry small (8 bytes, not a `Vec`'s 24): few names have a second slot.
    #[allow(clippy::box_collection)]
    pub(super) more: Option<Box<Vec<DomainSlot>>>,
}
const _: () = assert!(std::mem::size_of::<DomainEntry>() == 24);

impl DomainEntry {
    /// A name seen for the first time this interval, with its first count: its bytes go to
    /// the end of `names`.
    #[inline(always)]
    pub(super) fn new(names: &mut String, name: &str, first: DomainSlot) -> DomainEntry {
        let entry = DomainEntry {
            start: names.len() as u32,
            len: name.len() as u16,
            first,
            more: None,
        };
        names.push_str(name);
        entry
    }

    pub(super) fn name<'a>(&self, names: &'a str) -> &'a str {
        &names[self.start as usize..][..usize::from(self.len)]
    }

    /// Adds `count.n` to its (profile, category) slot.
    pub(super) fn count(&mut self, count: DomainSlot) {
        let same = |s: &DomainSlot| s.profile == count.profile && s.category == count.category;
        if same(&self.first) {
            self.first.n = self.first.n.saturating_add(count.n);
            return;
        }
        let more = self.more.get_or_insert_default();
        match more.iter_mut().find(|s| same(s)) {
            Some(s) => s.n = s.n.saturating_add(count.n),
            None => more.push(count),
        }
    }
}

/// One (profile, category) count of a name within a flush interval (an interval is a
/// minute or less: u32 holds 70 million queries a second).
#[derive(Clone, Copy)]
pub(super) struct DomainSlot {
    pub(super) profile: u16,
    /// 0 = uncategorised, otherwise category index + 1.
    pub(super) category: u16,
    pub(super) n: u32,
}
