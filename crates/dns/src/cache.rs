//! The response cache: answers after policy, keyed by (name, type), with negative caching
//! from the SOA minimum and stale answers kept for RFC 8767 serve-stale.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hickory_proto::rr::{LowerName, RData, RecordType};
use lru::LruCache;

use crate::upstream::Resolved;

/// Longest time an answer is fresh, whatever its TTL says (one day, like Unbound's cache-max-ttl).
const MAX_TTL: u32 = 86_400;
/// Negative answers without an SOA are cached this long.
const DEFAULT_NEGATIVE_TTL: u32 = 60;

/// A cached answer.
#[derive(Debug)]
pub struct Entry {
    /// The answer as resolved.
    pub resolved: Resolved,
    stored: Instant,
    ttl: u32,
}

impl Entry {
    /// Seconds of freshness left (0 when stale).
    pub fn remaining(&self, now: Instant) -> u32 {
        self.ttl
            .saturating_sub(now.saturating_duration_since(self.stored).as_secs() as u32)
    }

    /// Seconds since it was stored.
    pub fn age(&self, now: Instant) -> u32 {
        now.saturating_duration_since(self.stored).as_secs() as u32
    }
}

/// A bounded LRU cache. One lock: entries are looked up and cloned as an `Arc`, never held.
pub struct Cache {
    map: Mutex<LruCache<(LowerName, RecordType), Arc<Entry>>>,
    size: usize,
    stale: Duration,
}

/// Result of a cache lookup.
pub enum Lookup {
    /// Fresh.
    Fresh(Arc<Entry>),
    /// Expired but within the serve-stale window: usable only if upstream fails.
    Stale(Arc<Entry>),
    /// Nothing usable.
    Miss,
}

impl Cache {
    /// A cache of at most `size` answers (at least one) keeping stale answers for `stale_secs`.
    pub fn new(size: usize, stale_secs: u32) -> Cache {
        // Unbounded to the `lru` crate, which would otherwise reserve the whole table up
        // front (and keep pages of it resident); `put` keeps it to `size`.
        Cache {
            map: Mutex::new(LruCache::unbounded()),
            size: size.max(1),
            stale: Duration::from_secs(u64::from(stale_secs)),
        }
    }

    /// Looks an answer up.
    pub fn get(&self, name: &LowerName, rtype: RecordType) -> Lookup {
        let now = Instant::now();
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let key = (name.clone(), rtype);
        let Some(entry) = map.get(&key).cloned() else {
            return Lookup::Miss;
        };
        if entry.remaining(now) > 0 {
            Lookup::Fresh(entry)
        } else if now.saturating_duration_since(entry.stored)
            < Duration::from_secs(u64::from(entry.ttl)) + self.stale
        {
            Lookup::Stale(entry)
        } else {
            map.pop(&key);
            Lookup::Miss
        }
    }

    /// Stores an answer with the TTL it deserves: the smallest record TTL, or for a negative
    /// answer the SOA's minimum (capped by the SOA's own TTL, RFC 2308).
    pub fn put(&self, name: &LowerName, rtype: RecordType, resolved: Resolved) {
        let ttl = ttl_of(&resolved).min(MAX_TTL);
        if ttl == 0 {
            return;
        }
        let entry = Arc::new(Entry {
            resolved,
            stored: Instant::now(),
            ttl,
        });
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let key = (name.clone(), rtype);
        if map.len() >= self.size && !map.contains(&key) {
            map.pop_lru();
        }
        map.put(key, entry);
    }

    /// Number of cached answers.
    pub fn len(&self) -> usize {
        self.map.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn ttl_of(r: &Resolved) -> u32 {
    let negative = r
        .answers
        .iter()
        .all(|a| a.record_type() == RecordType::CNAME);
    if negative {
        return match &r.soa {
            Some(soa) => match &soa.data {
                RData::SOA(s) => s.minimum.min(soa.ttl),
                _ => DEFAULT_NEGATIVE_TTL,
            },
            None => DEFAULT_NEGATIVE_TTL,
        };
    }
    r.answers.iter().map(|a| a.ttl).min().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;
    use std::str::FromStr;

    use hickory_proto::op::ResponseCode;
    use hickory_proto::rr::{Name, Record, rdata::A};

    use super::*;

    fn answer(name: &str) -> (LowerName, Resolved) {
        let name = Name::from_str(name).unwrap();
        let record = Record::from_rdata(name.clone(), 300, RData::A(A(Ipv4Addr::LOCALHOST)));
        let resolved = Resolved {
            rcode: ResponseCode::NoError,
            answers: vec![record],
            soa: None,
        };
        (LowerName::new(&name), resolved)
    }

    #[test]
    fn keeps_at_most_size_answers_dropping_the_least_recently_used() {
        let cache = Cache::new(2, 0);
        let (a, ra) = answer("a.example.");
        let (b, rb) = answer("b.example.");
        let (c, rc) = answer("c.example.");
        cache.put(&a, RecordType::A, ra);
        cache.put(&b, RecordType::A, rb.clone());
        assert!(matches!(cache.get(&a, RecordType::A), Lookup::Fresh(_)));
        cache.put(&c, RecordType::A, rc);
        assert_eq!(cache.len(), 2);
        assert!(matches!(cache.get(&b, RecordType::A), Lookup::Miss));
        assert!(matches!(cache.get(&a, RecordType::A), Lookup::Fresh(_)));
        assert!(matches!(cache.get(&c, RecordType::A), Lookup::Fresh(_)));
        // Replacing a cached answer does not evict another one.
        cache.put(&c, RecordType::A, rb);
        assert_eq!(cache.len(), 2);
        assert!(matches!(cache.get(&a, RecordType::A), Lookup::Fresh(_)));
    }
}
