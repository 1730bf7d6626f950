//! [`Batch`]: counts taken out of [`Counters`](crate::Counters), on their way to a store.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Arc;

use jiff::Timestamp;

use crate::action::Action;
use crate::privacy::ClientId;

/// The category recorded for queries whose name is in no list.
pub const UNCATEGORISED: &str = "-";

/// The domain under which blocked queries are counted once a flush interval's cap of
/// distinct domains is reached. Reports leave it out of the top domains.
pub const OTHER_DOMAIN: &str = "(other)";

/// The key of one aggregate count.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CountKey {
    /// Profile name.
    pub profile: Arc<str>,
    /// Category id, or [`UNCATEGORISED`].
    pub category: Arc<str>,
    /// What was done.
    pub action: Action,
}

/// The key of one blocked-domain count. There is no client in it, by design.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DomainKey {
    /// Profile name.
    pub profile: Arc<str>,
    /// Category id the name was blocked for.
    pub category: Arc<str>,
    /// The blocked name, or [`OTHER_DOMAIN`].
    pub domain: Box<str>,
}

/// The key of one allowed-domain count: per profile, whatever the category. There is no
/// client in it, by design.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AllowedKey {
    /// Profile name.
    pub profile: Arc<str>,
    /// The name the query was counted under (as blocked names are), or [`OTHER_DOMAIN`].
    pub domain: Box<str>,
}

/// One entry of the optional raw query log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryLogEntry {
    /// When the query was answered.
    pub ts: Timestamp,
    /// Profile name.
    pub profile: Arc<str>,
    /// The client, already truncated or hashed as configured.
    pub client: ClientId,
    /// The query name.
    pub name: String,
    /// The query type mnemonic (`A`, `AAAA`, …) as the caller gave it.
    pub qtype: String,
    /// What was done.
    pub action: Action,
    /// Category id, or [`UNCATEGORISED`].
    pub category: Arc<str>,
}

/// foldhash, not SipHash: a flush hashes every distinct domain twice (taking it out of the
/// counters, adding it to what is pending), and the maps are bounded, so flooding one costs
/// an attacker nothing.
type Map<K> = HashMap<K, u64, foldhash::fast::RandomState>;

/// Count deltas (and query log entries) to be added to a store for one day.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Batch {
    counts: Map<CountKey>,
    domains: Map<DomainKey>,
    allowed: Map<AllowedKey>,
    query_log: Vec<QueryLogEntry>,
}

/// Bounds that [`Batch::merge`] keeps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLimits {
    /// Distinct domain keys, blocked and allowed each; beyond, counts go to
    /// [`OTHER_DOMAIN`].
    pub max_domains: usize,
    /// Query log entries; beyond, entries are dropped.
    pub max_query_log: usize,
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Batch {
        Batch::default()
    }

    /// Adds `n` to one count.
    pub fn add_count(&mut self, profile: Arc<str>, category: Arc<str>, action: Action, n: u64) {
        if n == 0 {
            return;
        }
        let key = CountKey {
            profile,
            category,
            action,
        };
        let v = self.counts.entry(key).or_insert(0);
        *v = v.saturating_add(n);
    }

    /// Adds `n` blocked queries for a domain.
    pub fn add_domain(&mut self, profile: Arc<str>, category: Arc<str>, domain: &str, n: u64) {
        if n == 0 {
            return;
        }
        let key = DomainKey {
            profile,
            category,
            domain: domain.into(),
        };
        let v = self.domains.entry(key).or_insert(0);
        *v = v.saturating_add(n);
    }

    /// Adds `n` allowed queries for a domain.
    pub fn add_allowed(&mut self, profile: Arc<str>, domain: &str, n: u64) {
        if n == 0 {
            return;
        }
        let key = AllowedKey {
            profile,
            domain: domain.into(),
        };
        let v = self.allowed.entry(key).or_insert(0);
        *v = v.saturating_add(n);
    }

    /// The allowed-domain counts, in no particular order.
    pub fn allowed(&self) -> impl Iterator<Item = (&AllowedKey, u64)> {
        self.allowed.iter().map(|(k, n)| (k, *n))
    }

    /// Appends raw query log entries.
    pub fn extend_query_log(&mut self, entries: impl IntoIterator<Item = QueryLogEntry>) {
        self.query_log.extend(entries);
    }

    /// The aggregate counts, in no particular order.
    pub fn counts(&self) -> impl Iterator<Item = (&CountKey, u64)> {
        self.counts.iter().map(|(k, n)| (k, *n))
    }

    /// The blocked-domain counts, in no particular order.
    pub fn domains(&self) -> impl Iterator<Item = (&DomainKey, u64)> {
        self.domains.iter().map(|(k, n)| (k, *n))
    }

    /// The raw query log entries, oldest first.
    pub fn query_log(&self) -> &[QueryLogEntry] {
        &self.query_log
    }

    /// Total queries counted (the sum of the aggregate counts).
    pub fn total(&self) -> u64 {
        self.counts.values().fold(0u64, |a, n| a.saturating_add(*n))
    }

    /// Number of distinct domain keys.
    pub fn domain_keys(&self) -> usize {
        self.domains.len()
    }

    /// True when there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
            && self.domains.is_empty()
            && self.allowed.is_empty()
            && self.query_log.is_empty()
    }

    /// Adds `other` into `self`, keeping within `limits`: domains beyond the cap are counted
    /// as [`OTHER_DOMAIN`] under the same profile and category, log entries beyond the cap
    /// are dropped. Returns the number of log entries dropped. Aggregate counts are never
    /// dropped: their keys are bounded by profiles × categories × actions.
    pub fn merge(&mut self, other: Batch, limits: BatchLimits) -> u64 {
        // The common case, nothing held: take the batch as it is, without hashing it again.
        if self.is_empty()
            && other.domains.len() <= limits.max_domains
            && other.allowed.len() <= limits.max_domains
            && other.query_log.len() <= limits.max_query_log
        {
            *self = other;
            return 0;
        }
        for (k, n) in other.counts {
            let v = self.counts.entry(k).or_insert(0);
            *v = v.saturating_add(n);
        }
        merge_bounded(&mut self.domains, other.domains, limits.max_domains, |k| {
            DomainKey {
                domain: OTHER_DOMAIN.into(),
                ..k
            }
        });
        merge_bounded(&mut self.allowed, other.allowed, limits.max_domains, |k| {
            AllowedKey {
                domain: OTHER_DOMAIN.into(),
                ..k
            }
        });
        let room = limits.max_query_log.saturating_sub(self.query_log.len());
        let dropped = other.query_log.len().saturating_sub(room);
        self.query_log
            .extend(other.query_log.into_iter().take(room));
        dropped as u64
    }
}

/// Adds `from` into `into`, keeping to `max` keys: a new key past it counts under
/// `other(key)`.
fn merge_bounded<K: std::hash::Hash + Eq>(
    into: &mut Map<K>,
    from: Map<K>,
    max: usize,
    other: impl Fn(K) -> K,
) {
    for (k, n) in from {
        let full = into.len() >= max;
        let k = match into.entry(k) {
            Entry::Occupied(mut e) => {
                let v = e.get_mut();
                *v = v.saturating_add(n);
                continue;
            }
            Entry::Vacant(e) if !full => {
                e.insert(n);
                continue;
            }
            Entry::Vacant(e) => e.into_key(),
        };
        let v = into.entry(other(k)).or_insert(0);
        *v = v.saturating_add(n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_adds_and_bounds_domains() {
        let p: Arc<str> = Arc::from("p");
        let c: Arc<str> = Arc::from("c");
        let mut a = Batch::new();
        a.add_count(p.clone(), c.clone(), Action::Blocked, 2);
        a.add_domain(p.clone(), c.clone(), "a.example", 2);
        let mut b = Batch::new();
        b.add_count(p.clone(), c.clone(), Action::Blocked, 3);
        b.add_domain(p.clone(), c.clone(), "a.example", 1);
        b.add_domain(p.clone(), c.clone(), "b.example", 4);
        b.add_domain(p.clone(), c.clone(), "c.example", 5);
        let limits = BatchLimits {
            max_domains: 2,
            max_query_log: 10,
        };
        assert_eq!(a.merge(b, limits), 0);
        assert_eq!(a.total(), 5);
        let mut d: Vec<_> = a
            .domains()
            .map(|(k, n)| (k.domain.to_string(), n))
            .collect();
        d.sort();
        // One of b/c fits, the other goes to (other); nothing is lost.
        assert_eq!(d.len(), 3);
        assert_eq!(d[0], ("(other)".into(), d[0].1));
        assert_eq!(d.iter().map(|x| x.1).sum::<u64>(), 12);
        assert_eq!(d.iter().find(|x| x.0 == "a.example").map(|x| x.1), Some(3));
    }
}
