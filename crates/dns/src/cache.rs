//! The response cache: answers after policy, keyed by (name, type), with negative caching
//! from the SOA minimum and stale answers kept for RFC 8767 serve-stale.
//!
//! Entries hold their records encoded as on the wire: decoded hickory records take about
//! 700 bytes per cached A answer (names, record structs, vectors), the encoding about 50.
//! A hit decodes them again, which only the full path pays (UDP hits come from the packet
//! cache of whole encoded answers).

use std::time::Instant;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{LowerName, RData, Record, RecordType};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder, BinEncodable, BinEncoder};

use crate::clock::{Shards, Slot};
use crate::upstream::Resolved;

/// Longest time an answer is fresh, whatever its TTL says (one day, like Unbound's cache-max-ttl).
const MAX_TTL: u32 = 86_400;
/// Negative answers without an SOA are cached this long.
const DEFAULT_NEGATIVE_TTL: u32 = 60;

/// A cached answer, in 40 bytes and one allocation.
struct Entry {
    /// The cache key (see [`Key`]), then the answer records and the SOA if there is one,
    /// in wire form.
    data: Box<[u8]>,
    /// The key's seeded hash: the entry's identity in its shard.
    hash: u64,
    /// When it was stored, in seconds since the cache was made.
    stored: u32,
    ttl: u32,
    rcode: u16,
    key_len: u16,
    answers: u16,
    has_soa: bool,
    /// Asked for since it was stored or last passed over by an eviction (second chance).
    used: bool,
}
const _: () = assert!(std::mem::size_of::<Entry>() == 40);

impl Entry {
    /// Encodes an answer under `key`; None if hickory cannot encode it (then it is not
    /// cached).
    fn new(key: &[u8], hash: u64, resolved: &Resolved, stored: u32, ttl: u32) -> Option<Entry> {
        let mut buf = key.to_vec();
        // Compression pointers count from the start of `data`, key included.
        let mut encoder = BinEncoder::with_offset(&mut buf, u32::try_from(key.len()).ok()?);
        for record in resolved.answers.iter().chain(&resolved.soa) {
            record.emit(&mut encoder).ok()?;
        }
        Some(Entry {
            data: buf.into_boxed_slice(),
            hash,
            stored,
            ttl,
            rcode: resolved.rcode.into(),
            key_len: u16::try_from(key.len()).ok()?,
            answers: u16::try_from(resolved.answers.len()).ok()?,
            has_soa: resolved.soa.is_some(),
            used: false,
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
    fn resolved(&self) -> Option<Resolved> {
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
            rcode: <ResponseCode as From<u16>>::from(self.rcode),
            answers,
            soa,
        })
    }
}

impl Slot for Entry {
    fn hash(&self) -> u64 {
        self.hash
    }

    fn take_used(&mut self) -> bool {
        std::mem::replace(&mut self.used, false)
    }
}

/// Cache key: the name's labels in lower case, in wire form, then the type. At most 255
/// bytes of name and 2 of type; built on the stack.
pub(crate) struct Key {
    buf: [u8; 257],
    len: usize,
}

impl Key {
    pub(crate) fn new(name: &LowerName, rtype: RecordType) -> Key {
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

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// A bounded cache of answers in [`crate::clock`] shards, found by a seeded hash of the
/// key; each entry carries its key, checked on a hit. A hit decodes the records under its
/// shard's lock (one of 16).
pub(crate) struct Cache {
    shards: Shards<Entry>,
    /// Seconds an answer is kept past its TTL, for serve-stale.
    stale: u32,
    seed: u64,
    /// What `stored` counts from.
    epoch: Instant,
}

/// Result of a cache lookup.
pub(crate) enum Lookup {
    /// Fresh, stored `age` seconds ago (TTLs as stored).
    Fresh {
        /// The answer.
        resolved: Resolved,
        /// Seconds since it was stored.
        age: u32,
        /// Seconds it stays fresh (at least 1): how long a copy of it may be kept.
        lifetime: u32,
    },
    /// Expired but within the serve-stale window: usable only if upstream fails.
    Stale(Resolved),
    /// Nothing usable.
    Miss,
}

impl Cache {
    /// A cache of at most `size` answers (at least one; rounded up to a multiple of 16)
    /// keeping stale answers for `stale_secs`. Its memory is reserved here and becomes
    /// resident as answers fill it.
    pub(crate) fn new(size: usize, stale_secs: u32) -> Cache {
        Cache {
            shards: Shards::new(size),
            stale: stale_secs,
            seed: crate::packet_cache::key_seed(),
            epoch: Instant::now(),
        }
    }

    fn hash(&self, key: &Key) -> u64 {
        xxhash_rust::xxh3::xxh3_64_with_seed(key.bytes(), self.seed)
    }

    /// Seconds since the cache was made (u32: 136 years).
    fn now(&self) -> u32 {
        self.epoch.elapsed().as_secs() as u32
    }

    /// Looks an answer up.
    pub(crate) fn get(&self, name: &LowerName, rtype: RecordType) -> Lookup {
        let now = self.now();
        let key = Key::new(name, rtype);
        let h = self.hash(&key);
        let mut shard = self.shards.lock(h);
        let Some(i) = shard.find(h) else {
            return Lookup::Miss;
        };
        let entry = shard.get_mut(i);
        if entry.key() != key.bytes() {
            return Lookup::Miss;
        }
        let age = now.saturating_sub(entry.stored);
        let fresh = age < entry.ttl;
        let usable = fresh || age < entry.ttl.saturating_add(self.stale);
        let Some(resolved) = usable.then(|| entry.resolved()).flatten() else {
            shard.remove(i);
            return Lookup::Miss;
        };
        entry.used = true;
        match fresh {
            true => Lookup::Fresh {
                resolved,
                age,
                lifetime: entry.ttl - age,
            },
            false => Lookup::Stale(resolved),
        }
    }

    /// Stores an answer for its [`lifetime`] (at most a day; not at all if 0).
    pub(crate) fn put(&self, name: &LowerName, rtype: RecordType, resolved: &Resolved) {
        let ttl = lifetime(resolved, rtype).min(MAX_TTL);
        if ttl == 0 {
            return;
        }
        let key = Key::new(name, rtype);
        let h = self.hash(&key);
        if let Some(entry) = Entry::new(key.bytes(), h, resolved, self.now(), ttl) {
            self.shards.lock(h).put(entry);
        }
    }

    /// Number of cached answers.
    pub(crate) fn len(&self) -> usize {
        self.shards.len()
    }

    /// True when empty.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// How long an answer to an `rtype` question may be used: its smallest record TTL; for a
/// negative answer, also no longer than the SOA's minimum and TTL (RFC 2308), or
/// [`DEFAULT_NEGATIVE_TTL`] without an SOA. The CNAMEs of a chain count too.
pub(crate) fn lifetime(r: &Resolved, rtype: RecordType) -> u32 {
    let records = r.answers.iter().map(|a| a.ttl).min();
    if !r.is_negative(rtype) {
        return records.unwrap_or(0);
    }
    let negative = match &r.soa {
        Some(soa) => match &soa.data {
            RData::SOA(s) => s.minimum.min(soa.ttl),
            _ => DEFAULT_NEGATIVE_TTL,
        },
        None => DEFAULT_NEGATIVE_TTL,
    };
    records.map_or(negative, |r| r.min(negative))
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
        let entry = Entry::new(key.bytes(), 7, &resolved, 0, 30).expect("encodes");
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
        let Lookup::Fresh { resolved: hit, .. } =
            cache.get(&LowerName::new(&name("www.EXAMPLE.")), RecordType::A)
        else {
            panic!("the name's case does not matter");
        };
        assert_eq!(hit.answers, resolved.answers);
        assert!(matches!(cache.get(&key, RecordType::AAAA), Lookup::Miss));
    }

    #[test]
    fn keeps_at_most_size_answers_and_the_ones_asked_for_again() {
        let cache = Cache::new(64, 0);
        let (hot, rhot) = answer("hot.example.");
        cache.put(&hot, RecordType::A, &rhot);
        for i in 0..2_000 {
            let (n, r) = answer(&format!("n{i}.example."));
            cache.put(&n, RecordType::A, &r);
            assert!(
                matches!(cache.get(&hot, RecordType::A), Lookup::Fresh { .. }),
                "evicted after {i} one-off names"
            );
        }
        assert_eq!(cache.len(), 64);
        // Replacing a cached answer does not evict another one.
        cache.put(&hot, RecordType::A, &rhot);
        assert_eq!(cache.len(), 64);
    }

    #[test]
    fn expired_answers_are_stale_within_the_window_then_gone() {
        let (a, ra) = answer("a.example.");
        // A cache made 5,000 s ago, so entries can be stored in its past.
        let cache = Cache {
            epoch: Instant::now() - std::time::Duration::from_secs(5_000),
            ..Cache::new(16, 3_600)
        };
        let key = Key::new(&a, RecordType::A);
        let h = cache.hash(&key);
        for (age, want) in [(10, "fresh"), (400, "stale"), (4_000, "gone")] {
            let e = Entry::new(key.bytes(), h, &ra, cache.now() - age, 300).expect("encodes");
            cache.shards.lock(h).put(e);
            let got = match cache.get(&a, RecordType::A) {
                Lookup::Fresh { age: seen, .. } => {
                    assert_eq!(seen, age);
                    "fresh"
                }
                Lookup::Stale(_) => "stale",
                Lookup::Miss => "gone",
            };
            assert_eq!(got, want, "stored {age} s ago with TTL 300");
        }
        assert!(cache.is_empty(), "an answer past the window is dropped");
    }

    /// A negative answer with an SOA of TTL `soa_ttl` and minimum `minimum`, after `chain`.
    fn negative(chain: Vec<Record>, soa_ttl: u32, minimum: u32) -> Resolved {
        use hickory_proto::rr::rdata::SOA;
        let name = |s: &str| Name::from_str(s).unwrap();
        let soa = SOA::new(name("ns."), name("admin."), 1, 3600, 600, 86400, minimum);
        Resolved {
            rcode: ResponseCode::NXDomain,
            answers: chain,
            soa: Some(Record::from_rdata(
                name("example."),
                soa_ttl,
                RData::SOA(soa),
            )),
        }
    }

    #[test]
    fn an_answer_lives_for_its_smallest_ttl_a_negative_one_for_its_soa_at_most() {
        use hickory_proto::rr::rdata::CNAME;
        let (_, mut positive) = answer("a.example.");
        positive.answers[0].ttl = 2;
        assert_eq!(lifetime(&positive, RecordType::A), 2);
        // RFC 2308: min(SOA TTL, SOA minimum).
        assert_eq!(lifetime(&negative(vec![], 60, 2), RecordType::A), 2);
        assert_eq!(lifetime(&negative(vec![], 5, 300), RecordType::A), 5);
        // A chain ending negatively: its CNAMEs' TTLs count too.
        let cname = Record::from_rdata(
            Name::from_str("www.example.").unwrap(),
            3,
            RData::CNAME(CNAME(Name::from_str("gone.example.").unwrap())),
        );
        assert_eq!(
            lifetime(&negative(vec![cname.clone()], 300, 300), RecordType::A),
            3
        );
        // The CNAME asked for is a positive answer.
        let asked = Resolved {
            rcode: ResponseCode::NoError,
            answers: vec![cname],
            soa: None,
        };
        assert_eq!(lifetime(&asked, RecordType::CNAME), 3);
        // No SOA: a minute.
        let bare = Resolved {
            soa: None,
            ..negative(vec![], 1, 1)
        };
        assert_eq!(lifetime(&bare, RecordType::A), DEFAULT_NEGATIVE_TTL);
    }

    /// Entries stored `age` seconds ago with TTL 2: fresh with what is left of it, then
    /// stale at 2 s (never served fresh past its TTL).
    #[test]
    fn a_short_ttl_expires_on_time_and_a_hit_says_how_long_is_left() {
        let (a, mut ra) = answer("a.example.");
        ra.answers[0].ttl = 2;
        let cache = Cache {
            epoch: Instant::now() - std::time::Duration::from_secs(100),
            ..Cache::new(16, 3_600)
        };
        let key = Key::new(&a, RecordType::A);
        let h = cache.hash(&key);
        for (age, want) in [(0, Some(2)), (1, Some(1)), (2, None), (3, None)] {
            let ttl = lifetime(&ra, RecordType::A);
            let e = Entry::new(key.bytes(), h, &ra, cache.now() - age, ttl).expect("encodes");
            cache.shards.lock(h).put(e);
            let got = match cache.get(&a, RecordType::A) {
                Lookup::Fresh { lifetime, .. } => Some(lifetime),
                Lookup::Stale(_) => None,
                Lookup::Miss => panic!("within the stale window"),
            };
            assert_eq!(got, want, "stored {age} s ago with TTL 2");
        }
        // A TTL of 0 is not cached at all.
        ra.answers[0].ttl = 0;
        let empty = Cache::new(16, 3_600);
        empty.put(&a, RecordType::A, &ra);
        assert!(empty.is_empty());
    }
}
