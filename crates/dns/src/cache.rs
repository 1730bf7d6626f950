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
    /// The cache key (see [`Key`]), then the answer records and the SOA if there is one,
    /// in wire form: one allocation.
    data: Box<[u8]>,
    key_len: u16,
    answers: u16,
    has_soa: bool,
    stored: Instant,
    ttl: u32,
}

impl Entry {
    /// Encodes an answer under `key`; None if hickory cannot encode it (then it is not
    /// cached).
    fn new(key: &[u8], resolved: &Resolved, stored: Instant, ttl: u32) -> Option<Entry> {
        let mut buf = key.to_vec();
        // Compression pointers count from the start of `data`, key included.
        let mut encoder = BinEncoder::with_offset(&mut buf, u32::try_from(key.len()).ok()?);
        for record in resolved.answers.iter().chain(&resolved.soa) {
            record.emit(&mut encoder).ok()?;
        }
        Some(Entry {
            rcode: resolved.rcode,
            data: buf.into_boxed_slice(),
            key_len: u16::try_from(key.len()).ok()?,
            answers: u16::try_from(resolved.answers.len()).ok()?,
            has_soa: resolved.soa.is_some(),
            stored,
            ttl,
        })
    }

    fn key(&self) -> &[u8] {
        &self.data[..usize::from(self.key_len)]
    }

    #[cfg(test)]
    fn records(&self) -> &[u8] {
        &self.data[usize::from(self.key_len)..]
    }

    /// The answer as resolved (TTLs as stored). None only if the encoding does not decode,
    /// which would be a bug: the caller treats it as a miss.
    pub fn resolved(&self) -> Option<Resolved> {
        let mut decoder = BinDecoder::new(&self.data);
        decoder.read_slice(usize::from(self.key_len)).ok()?;
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

/// Cache key: the name's labels in lower case, in wire form, then the type. At most 255
/// bytes of name and 2 of type; built on the stack.
struct Key {
    buf: [u8; 257],
    len: usize,
}

impl Key {
    fn new(name: &LowerName, rtype: RecordType) -> Key {
        let mut buf = [0u8; 257];
        let mut len = 0;
        for label in name.iter() {
            // A LowerName holds at most 255 bytes of wire form, so this cannot overflow.
            buf[len] = label.len() as u8;
            buf[len + 1..len + 1 + label.len()].copy_from_slice(label);
            len += 1 + label.len();
        }
        buf[len..len + 2].copy_from_slice(&u16::from(rtype).to_be_bytes());
        Key { buf, len: len + 2 }
    }

    fn bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// A bounded LRU cache. One lock: entries are looked up and cloned as an `Arc`, never held.
/// The map is keyed by a seeded hash of the key, and each entry carries its key, checked on
/// a hit: a key is then stored once, inside its entry's one allocation.
pub struct Cache {
    map: Mutex<LruCache<u64, Arc<Entry>>>,
    size: usize,
    stale: Duration,
    seed: u64,
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
            seed: crate::packet_cache::key_seed(),
        }
    }

    fn hash(&self, key: &Key) -> u64 {
        xxhash_rust::xxh3::xxh3_64_with_seed(key.bytes(), self.seed)
    }

    /// Looks an answer up.
    pub fn get(&self, name: &LowerName, rtype: RecordType) -> Lookup {
        let now = Instant::now();
        let key = Key::new(name, rtype);
        let h = self.hash(&key);
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let Some(entry) = map.get(&h).filter(|e| e.key() == key.bytes()).cloned() else {
            return Lookup::Miss;
        };
        if entry.remaining(now) > 0 {
            Lookup::Fresh(entry)
        } else if now.saturating_duration_since(entry.stored)
            < Duration::from_secs(u64::from(entry.ttl)) + self.stale
        {
            Lookup::Stale(entry)
        } else {
            map.pop(&h);
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
        let key = Key::new(name, rtype);
        let Some(entry) = Entry::new(key.bytes(), resolved, Instant::now(), ttl) else {
            return;
        };
        let h = self.hash(&key);
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= self.size && !map.contains(&h) {
            map.pop_lru();
        }
        map.put(h, Arc::new(entry));
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
        let key = Key::new(&LowerName::new(&name("www.example.")), RecordType::A);
        let entry = Entry::new(key.bytes(), &resolved, Instant::now(), 30).expect("encodes");
        let back = entry.resolved().expect("decodes");
        assert_eq!(back.rcode, resolved.rcode);
        assert_eq!(back.answers, resolved.answers);
        assert_eq!(back.soa, resolved.soa);
        assert_eq!(entry.key(), key.bytes());
        assert!(
            entry.records().len() < 600,
            "{} bytes",
            entry.records().len()
        );
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
