//! The response cache: answers after policy, keyed by (name, type), with negative caching
//! from the SOA minimum and stale answers kept for RFC 8767 serve-stale.
//!
//! Entries hold their records encoded as on the wire: decoded hickory records take about
//! 700 bytes per cached A answer (names, record structs, vectors), the encoding about 50.
//! A hit decodes them again, which only the full path pays (UDP hits come from the packet
//! cache of whole encoded answers).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{LowerName, RData, Record, RecordType};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder, BinEncodable, BinEncoder};
use lru::LruCache;

use crate::upstream::Resolved;

/// Longest time an answer is fresh, whatever its TTL says (one day, like Unbound's cache-max-ttl).
const MAX_TTL: u32 = 86_400;
/// Negative answers without an SOA are cached this long.
const DEFAULT_NEGATIVE_TTL: u32 = 60;

/// A cached answer.
#[derive(Debug)]
pub struct Entry {
    rcode: ResponseCode,
    /// The answer records, then the SOA if there is one, in wire form.
    records: Box<[u8]>,
    answers: u16,
    has_soa: bool,
    stored: Instant,
    ttl: u32,
}

impl Entry {
    /// Encodes an answer; None if hickory cannot encode it (then it is not cached).
    fn new(resolved: &Resolved, stored: Instant, ttl: u32) -> Option<Entry> {
        let mut buf = Vec::new();
        let mut encoder = BinEncoder::new(&mut buf);
        for record in resolved.answers.iter().chain(&resolved.soa) {
            record.emit(&mut encoder).ok()?;
        }
        Some(Entry {
            rcode: resolved.rcode,
            records: buf.into_boxed_slice(),
            answers: u16::try_from(resolved.answers.len()).ok()?,
            has_soa: resolved.soa.is_some(),
            stored,
            ttl,
        })
    }

    /// The answer as resolved (TTLs as stored). None only if the encoding does not decode,
    /// which would be a bug: the caller treats it as a miss.
    pub fn resolved(&self) -> Option<Resolved> {
        let mut decoder = BinDecoder::new(&self.records);
        let mut answers = Vec::with_capacity(usize::from(self.answers));
        for _ in 0..self.answers {
            answers.push(Record::read(&mut decoder).ok()?);
        }
        let soa = match self.has_soa {
            true => Some(Record::read(&mut decoder).ok()?),
            false => None,
        };
        Some(Resolved {
            rcode: self.rcode,
            answers,
            soa,
        })
    }

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

/// Cache key: the name's labels in lower case, in wire form, then the type.
type Key = Box<[u8]>;

fn key(name: &LowerName, rtype: RecordType) -> Key {
    let mut k = Vec::with_capacity(name.len() + 4);
    for label in name.iter() {
        k.push(label.len() as u8);
        k.extend_from_slice(label);
    }
    k.extend_from_slice(&u16::from(rtype).to_be_bytes());
    k.into_boxed_slice()
}

/// A bounded LRU cache. One lock: entries are looked up and cloned as an `Arc`, never held.
pub struct Cache {
    map: Mutex<LruCache<Key, Arc<Entry>>>,
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
        let key = key(name, rtype);
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
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
    pub fn put(&self, name: &LowerName, rtype: RecordType, resolved: &Resolved) {
        let ttl = ttl_of(resolved).min(MAX_TTL);
        if ttl == 0 {
            return;
        }
        let Some(entry) = Entry::new(resolved, Instant::now(), ttl) else {
            return;
        };
        let key = key(name, rtype);
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= self.size && !map.contains(&key) {
            map.pop_lru();
        }
        map.put(key, Arc::new(entry));
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
    fn entries_give_back_exactly_the_records_stored() {
        use hickory_proto::rr::rdata::{AAAA, CNAME, SOA, TXT};
        let name = |s: &str| Name::from_str(s).unwrap();
        let resolved = Resolved {
            rcode: ResponseCode::NoError,
            answers: vec![
                Record::from_rdata(
                    name("www.Example."),
                    60,
                    RData::CNAME(CNAME(name("cdn.example.net."))),
                ),
                Record::from_rdata(
                    name("cdn.example.net."),
                    30,
                    RData::A(A(Ipv4Addr::new(192, 0, 2, 7))),
                ),
                Record::from_rdata(
                    name("cdn.example.net."),
                    30,
                    RData::AAAA(AAAA("2001:db8::7".parse().unwrap())),
                ),
                Record::from_rdata(
                    name("cdn.example.net."),
                    30,
                    RData::TXT(TXT::new(vec!["a \"quoted\" text".into(), "x".repeat(255)])),
                ),
            ],
            soa: Some(Record::from_rdata(
                name("example.net."),
                300,
                RData::SOA(SOA::new(
                    name("ns.example.net."),
                    name("admin.example.net."),
                    7,
                    3600,
                    600,
                    86400,
                    120,
                )),
            )),
        };
        let entry = Entry::new(&resolved, Instant::now(), 30).expect("encodes");
        let back = entry.resolved().expect("decodes");
        assert_eq!(back.rcode, resolved.rcode);
        assert_eq!(back.answers, resolved.answers);
        assert_eq!(back.soa, resolved.soa);
        assert!(entry.records.len() < 600, "{} bytes", entry.records.len());
        let cache = Cache::new(4, 0);
        let key = LowerName::new(&name("WWW.example."));
        cache.put(&key, RecordType::A, &resolved);
        let Lookup::Fresh(hit) = cache.get(&LowerName::new(&name("www.EXAMPLE.")), RecordType::A)
        else {
            panic!("the name's case does not matter");
        };
        assert_eq!(hit.resolved().expect("decodes").answers, resolved.answers);
        assert!(matches!(cache.get(&key, RecordType::AAAA), Lookup::Miss));
    }

    #[test]
    fn keeps_at_most_size_answers_dropping_the_least_recently_used() {
        let cache = Cache::new(2, 0);
        let (a, ra) = answer("a.example.");
        let (b, rb) = answer("b.example.");
        let (c, rc) = answer("c.example.");
        cache.put(&a, RecordType::A, &ra);
        cache.put(&b, RecordType::A, &rb);
        assert!(matches!(cache.get(&a, RecordType::A), Lookup::Fresh(_)));
        cache.put(&c, RecordType::A, &rc);
        assert_eq!(cache.len(), 2);
        assert!(matches!(cache.get(&b, RecordType::A), Lookup::Miss));
        assert!(matches!(cache.get(&a, RecordType::A), Lookup::Fresh(_)));
        assert!(matches!(cache.get(&c, RecordType::A), Lookup::Fresh(_)));
        // Replacing a cached answer does not evict another one.
        cache.put(&c, RecordType::A, &rb);
        assert_eq!(cache.len(), 2);
        assert!(matches!(cache.get(&a, RecordType::A), Lookup::Fresh(_)));
    }
}
