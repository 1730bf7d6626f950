//! The packet cache: whole encoded answers by (listener, question, EDNS shape), served by
//! patching only the ID, the RD/CD bits and the case of the name ([`crate::wire::patch`]).
//! Entries live in [`crate::clock`] shards.

use std::borrow::Cow;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::time::{Duration, Instant};

use hedge_lists::CategoryIdx;
use smallvec::SmallVec;

use crate::answer::EDNS_PAYLOAD;
use crate::clock::{Shards, Slot};
use crate::observer::Outcome;
use crate::wire::{FastQuery, patch};

/// A question's packet-cache key (listener, type, EDNS shape, name in lower case) and its
/// seeded hash: built once per query and used for both caches.
pub(crate) struct PacketKey {
    buf: [u8; 272],
    len: usize,
    hash: u64,
}

/// Bytes of [`PacketKey::buf`] before the name: listener, type, EDNS payload and flags.
const SHAPE_LEN: usize = 7;

impl PacketKey {
    /// The key of `q` on `listener`; `seed` is the process's [`key_seed`].
    pub(crate) fn new(q: &FastQuery<'_>, listener: usize, seed: u64) -> PacketKey {
        let mut buf = [0u8; 272];
        let name = &q.packet[12..q.name_end];
        buf[..2].copy_from_slice(&(listener as u16).to_be_bytes());
        buf[2..4].copy_from_slice(&q.qtype.to_be_bytes());
        let (payload, do_bit) = q
            .edns
            .map_or((0, false), |(p, d)| (p.clamp(512, EDNS_PAYLOAD), d));
        buf[4..6].copy_from_slice(&payload.to_be_bytes());
        buf[6] = u8::from(q.edns.is_some()) | (u8::from(do_bit) << 1);
        let len = SHAPE_LEN + name.len();
        buf[SHAPE_LEN..len].copy_from_slice(name);
        buf[SHAPE_LEN..len].make_ascii_lowercase();
        let hash = xxhash_rust::xxh3::xxh3_64_with_seed(&buf[..len], seed);
        PacketKey { buf, len, hash }
    }

    /// Listener, type and EDNS shape as one number (an entry keeps this, not the bytes).
    fn shape(&self) -> u64 {
        let mut shape = [0u8; 8];
        shape[..SHAPE_LEN].copy_from_slice(&self.buf[..SHAPE_LEN]);
        u64::from_le_bytes(shape)
    }

    /// The question name in wire form, lower case.
    fn name(&self) -> &[u8] {
        &self.buf[SHAPE_LEN..self.len]
    }

    /// Whether `answer`'s question holds this key's name (in any case). The question's
    /// name is the message's first, so it is never compressed.
    fn names(&self, answer: &[u8]) -> bool {
        let name = self.name();
        answer
            .get(12..12 + name.len())
            .is_some_and(|n| n.eq_ignore_ascii_case(name))
    }
}

/// A per-process seed for cache key hashes ([`PacketKey`], the response cache), so nobody
/// can aim names at one slot.
pub(crate) fn key_seed() -> u64 {
    RandomState::new().hash_one(0x0068_6564_6765_u64)
}

/// Bytes of answer and TTL offsets kept inside the entry itself: an A answer to a name of
/// up to 35 bytes (wire form) fits, so a hit reads the entry's two cache lines and nothing
/// behind a pointer (profiles put the miss of a boxed copy at 4.5% of a cached answer).
const INLINE: usize = 80;

/// [`Entry::category`] when there is none.
const NO_CATEGORY: CategoryIdx = CategoryIdx::MAX;

/// A cached, encoded answer and what to count when it is served: 128 bytes, aligned to
/// cache lines. The key is not stored: the shape is a number and the name is the answer's
/// own question.
#[repr(C, align(64))]
struct Entry {
    /// The key's seeded hash: the entry's identity in its shard.
    hash: u64,
    /// [`PacketKey::shape`].
    shape: u64,
    /// Whole seconds from the cache's epoch to when it was stored.
    stored: u32,
    /// Seconds it may be served for (a day at most).
    lifetime: u32,
    /// The low bits of the snapshot generation it was answered on.
    generation: u32,
    answer_len: u16,
    /// The category, [`NO_CATEGORY`] for none (a niche of its own, so that the entry has
    /// room for `hits` in its 128 bytes).
    category: CategoryIdx,
    /// The length of the counted domain, 0 for the whole name.
    domain_len: u8,
    outcome: Outcome,
    /// Served since it was stored or last passed over by an eviction (second chance).
    used: bool,
    /// An answer whose domain counts are kept here ([`Entry::hits`]), not by the observer:
    /// blocked answers, and allowed ones when the observer counts those per name.
    counts_hits: bool,
    /// With `counts_hits`, the hits counted since the last sweep ([`PacketCache::sweep`]).
    /// (repr(C): after the bytes, which leave it the 4 aligned bytes before `data`.)
    hits: u32,
    /// The encoded answer, then where each record's TTL sits in it (u16 each; served
    /// answers count their TTLs down like any cached answer). Inline up to [`INLINE`]
    /// bytes, one allocation beyond.
    data: SmallVec<[u8; INLINE]>,
}

const _: () = assert!(std::mem::size_of::<Entry>() == 128);

impl Entry {
    fn answer(&self) -> &[u8] {
        &self.data[..usize::from(self.answer_len)]
    }

    /// Hands the answers counted in the entry since the last sweep to `counted`, with what
    /// they are counted under, and starts again from zero. Makes no allocation for a name
    /// in ASCII (an entry dropped on the query path). Not inlined: `bench/counting.py`
    /// finds what an entry dropped on the query path costs by this name.
    #[inline(never)]
    fn hand_over(&mut self, counted: impl FnOnce(CachedHits<'_>)) {
        if !self.counts_hits || self.hits == 0 {
            return;
        }
        let hits = std::mem::take(&mut self.hits);
        let listener = usize::from(u16::from_be_bytes([
            self.shape.to_le_bytes()[0],
            self.shape.to_le_bytes()[1],
        ]));
        let mut buf = [0u8; 256];
        let Some(name) = question_name(self.answer(), &mut buf) else {
            return; // never: the name was checked on the way in
        };
        let len = (self.domain_len != 0).then_some(self.domain_len);
        let domain = match &name {
            Cow::Borrowed(n) => Cow::Borrowed(crate::observer::counted_domain(n, len)),
            Cow::Owned(n) => Cow::Owned(crate::observer::counted_domain(n, len).to_owned()),
        };
        counted(CachedHits {
            listener,
            outcome: self.outcome,
            category: (self.category != NO_CATEGORY).then_some(self.category),
            domain,
            hits,
        });
    }

    fn ttl_offsets(&self) -> impl Iterator<Item = usize> + '_ {
        self.data[usize::from(self.answer_len)..]
            .chunks_exact(2)
            .map(|c| usize::from(u16::from_le_bytes([c[0], c[1]])))
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

/// Encoded answers by (listener, question, EDNS shape), found by the (already seeded)
/// xxh3 of the key. Expired entries go when they are next asked for.
pub(crate) struct PacketCache {
    shards: Shards<Entry>,
    /// Entries' times are whole seconds from here (u32: 136 years).
    epoch: Instant,
}

/// Answers counted in a cache entry, taken by a sweep or when the entry goes: the observer
/// counts them under `domain` for the listener's profile, the outcome and category.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CachedHits<'a> {
    pub listener: usize,
    pub outcome: Outcome,
    pub category: Option<CategoryIdx>,
    pub domain: Cow<'a, str>,
    pub hits: u32,
}

/// The question name of an encoded message (never compressed: it is the first name) in
/// presentation form, lower case, no trailing dot, written into `buf` (bytes that are not
/// UTF-8 make a copy with replacement characters, as the full path names them). One pass
/// over the wire name: no allocation for a name in ASCII.
fn question_name<'b>(msg: &[u8], buf: &'b mut [u8; 256]) -> Option<Cow<'b, str>> {
    // One pass: each label copied lower case, a dot before each but the first.
    let mut at = 12;
    let mut n = 0;
    loop {
        let len = usize::from(*msg.get(at)?);
        if len == 0 {
            break;
        }
        let label = msg.get(at + 1..at + 1 + len)?;
        if n > 0 {
            *buf.get_mut(n)? = b'.';
            n += 1;
        }
        for (to, &b) in buf.get_mut(n..n + len)?.iter_mut().zip(label) {
            *to = b.to_ascii_lowercase();
        }
        n += len;
        at += 1 + len;
    }
    let name = &buf[..n];
    Some(match std::str::from_utf8(name) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => Cow::Owned(String::from_utf8_lossy(name).into_owned()),
    })
}

/// How long an encoded answer may be reused, and what to count when it is.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reuse {
    /// Lifetime in the cache.
    pub lifetime: Duration,
    /// Outcome to count on a hit.
    pub outcome: Outcome,
    /// Category to count on a hit.
    pub category: Option<CategoryIdx>,
    /// For a category block, the length of the listed name the block is counted under (a
    /// suffix of the query name; see [`crate::observer::counted_domain`]).
    pub domain_len: Option<u8>,
    /// Count the answers in the entry, for [`PacketCache::sweep`] to hand over (answers the
    /// observer counts per domain, [`crate::Observer::counts_cached`]), from this many (0:
    /// the answer being cached is counted by the observer, so that an entry evicted before
    /// any hit hands over nothing). A hit then costs the observer no name at all. None: the
    /// observer counts each hit itself.
    pub hits: Option<u32>,
    /// Count the records' TTLs down as the entry ages (upstream answers; sinkholes keep
    /// their configured TTL).
    pub age_ttls: bool,
}

/// Offsets of every TTL in an encoded response (answer, authority and additional records;
/// not the OPT pseudo-record, whose TTL field holds flags).
fn ttl_offsets(msg: &[u8]) -> Option<Vec<u16>> {
    let count = |at: usize| -> Option<usize> {
        Some(usize::from(u16::from_be_bytes([
            *msg.get(at)?,
            *msg.get(at + 1)?,
        ])))
    };
    let skip_name = |mut i: usize| -> Option<usize> {
        loop {
            let len = *msg.get(i)?;
            match len {
                0 => return Some(i + 1),
                l if l & 0xc0 == 0xc0 => return Some(i + 2),
                l if l < 64 => i += 1 + usize::from(l),
                _ => return None,
            }
        }
    };
    let (qd, records) = (count(4)?, count(6)? + count(8)? + count(10)?);
    let mut i = 12;
    for _ in 0..qd {
        i = skip_name(i)? + 4;
    }
    let mut out = Vec::new();
    for _ in 0..records {
        i = skip_name(i)?;
        let rtype = count(i)?;
        let ttl_at = i + 4;
        msg.get(ttl_at..ttl_at + 4)?;
        if rtype != 41 {
            out.push(u16::try_from(ttl_at).ok()?);
        }
        i = ttl_at + 6 + count(ttl_at + 4)?;
    }
    (i == msg.len()).then_some(out)
}

/// What a packet-cache hit tells the observer.
pub(crate) struct Hit {
    /// Bytes written to the output buffer.
    pub len: usize,
    /// Outcome to count.
    pub outcome: Outcome,
    /// Category to count.
    pub category: Option<CategoryIdx>,
    /// Length of the listed name, for a category block.
    pub domain_len: Option<u8>,
    /// The hit was counted in the entry ([`Reuse::hits`]).
    pub counted: bool,
}

impl PacketCache {
    /// A cache of at most `size` answers (rounded up to a multiple of 16). Its memory is
    /// reserved here and becomes resident as answers fill it.
    pub(crate) fn new(size: usize) -> PacketCache {
        PacketCache {
            shards: Shards::new(size),
            epoch: Instant::now(),
        }
    }

    /// Writes the cached answer for `q` (whose key is `key`), patched for this query, into
    /// `out`. `now` is when the query arrived. An entry it drops gives its uncounted hits
    /// to `spill`.
    pub(crate) fn answer(
        &self,
        key: &PacketKey,
        q: &FastQuery<'_>,
        generation: u64,
        now: Instant,
        out: &mut Vec<u8>,
        spill: impl FnOnce(CachedHits<'_>),
    ) -> Option<Hit> {
        let mut shard = self.shards.lock(key.hash);
        let i = shard.find(key.hash)?;
        let e = shard.get_mut(i);
        if e.shape != key.shape() || !key.names(e.answer()) {
            return None;
        }
        // Whole seconds on both sides: an entry is never served past its lifetime (it may
        // go up to a second early), and its TTLs are never counted down too little.
        let age = self.secs(now).saturating_sub(e.stored);
        if age >= e.lifetime || e.generation != generation as u32 {
            let mut gone = shard.remove(i);
            drop(shard);
            gone.hand_over(spill);
            return None;
        }
        e.used = true;
        if e.counts_hits {
            e.hits = e.hits.saturating_add(1);
        }
        out.clear();
        out.extend_from_slice(e.answer());
        if age > 0 {
            for at in e.ttl_offsets() {
                let field = &mut out[at..at + 4];
                let ttl = u32::from_be_bytes([field[0], field[1], field[2], field[3]]);
                field.copy_from_slice(&ttl.saturating_sub(age).to_be_bytes());
            }
        }
        let hit = Hit {
            len: out.len(),
            outcome: e.outcome,
            category: (e.category != NO_CATEGORY).then_some(e.category),
            domain_len: (e.domain_len != 0).then_some(e.domain_len),
            counted: e.counts_hits,
        };
        drop(shard);
        patch(q, out);
        Some(hit)
    }

    /// Remembers an encoded answer to `q` (whose key is `key`). The entry it replaces gives
    /// its uncounted hits to `spill`.
    pub(crate) fn insert(
        &self,
        key: &PacketKey,
        q: &FastQuery<'_>,
        generation: u64,
        bytes: &[u8],
        meta: Reuse,
        spill: impl FnOnce(CachedHits<'_>),
    ) {
        if bytes.len() < q.question_end || meta.lifetime.as_secs() == 0 {
            return; // a lifetime under a second would expire before it is asked for
        }
        let ttls = if meta.age_ttls {
            match ttl_offsets(bytes) {
                Some(t) => t,
                None => return,
            }
        } else {
            Vec::new()
        };
        let Ok(answer_len) = u16::try_from(bytes.len()) else {
            return;
        };
        if !key.names(bytes) {
            return; // the entry's name is its answer's question: it must be this one
        }
        if meta.category == Some(NO_CATEGORY) || meta.domain_len == Some(0) {
            return; // not representable in the entry (no taxonomy is that large)
        }
        let mut data = SmallVec::with_capacity(bytes.len() + 2 * ttls.len());
        data.extend_from_slice(bytes);
        data.extend(ttls.iter().flat_map(|at| at.to_le_bytes()));
        let entry = Entry {
            hash: key.hash,
            shape: key.shape(),
            stored: self.secs(Instant::now()),
            lifetime: u32::try_from(meta.lifetime.as_secs()).unwrap_or(u32::MAX),
            generation: generation as u32,
            answer_len,
            // A category index of u16::MAX or a domain of length 0 is none: neither names one.
            category: meta.category.unwrap_or(NO_CATEGORY),
            domain_len: meta.domain_len.unwrap_or(0),
            outcome: meta.outcome,
            used: false,
            counts_hits: meta.hits.is_some(),
            hits: meta.hits.unwrap_or(0),
            data,
        };
        let replaced = self.shards.lock(key.hash).put(entry);
        // Names made out of the shard's lock.
        if let Some(mut gone) = replaced {
            gone.hand_over(spill);
        }
    }

    /// Takes the answers counted in every entry since the last sweep, shard by shard: each
    /// is locked while its entries' counts are taken and reset and the names of the
    /// entries that counted any are made (once per write of the counts, every 5 seconds).
    pub(crate) fn sweep(&self, mut counted: impl FnMut(CachedHits<'_>)) {
        let mut taken: Vec<CachedHits<'static>> = Vec::new();
        for mut shard in self.shards.each() {
            for e in shard.entries_mut() {
                e.hand_over(|h| {
                    taken.push(CachedHits {
                        domain: Cow::Owned(h.domain.into_owned()),
                        ..h
                    })
                });
            }
            drop(shard);
            taken.drain(..).for_each(&mut counted);
        }
    }

    /// Whole seconds from the epoch to `t`.
    fn secs(&self, t: Instant) -> u32 {
        u32::try_from(t.saturating_duration_since(self.epoch).as_secs()).unwrap_or(u32::MAX)
    }

    /// Number of cached answers (expired ones included until they are asked for).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.shards.len()
    }

    /// True when empty.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use hickory_proto::op::{Edns, Message, Query};
    use hickory_proto::rr::{Name, RecordType};

    use super::*;
    use crate::answer;

    /// The question name as the full path names it: labels joined by dots, lower case.
    #[test]
    fn the_question_name_is_read_back_from_the_answer() {
        let mut buf = [0u8; 256];
        let packet = query("WWW.Example.COM.");
        assert_eq!(
            question_name(&packet, &mut buf).as_deref(),
            Some("www.example.com")
        );
        let packet = query("a.");
        assert_eq!(question_name(&packet, &mut buf).as_deref(), Some("a"));
        let mut root = vec![0u8; 12];
        root.extend_from_slice(&[0, 0, 1, 0, 1]);
        assert_eq!(question_name(&root, &mut buf).as_deref(), Some(""));
        let mut odd = vec![0u8; 12];
        odd.extend_from_slice(b"\x02\xffA\x03com\x00\x00\x01\x00\x01");
        assert_eq!(
            question_name(&odd, &mut buf).as_deref(),
            Some("\u{fffd}a.com")
        );
        assert!(question_name(&odd[..16], &mut buf).is_none(), "cut short");
    }

    /// Reuse of an answer that is not a category block.
    fn reuse(outcome: Outcome, secs: u64, age_ttls: bool) -> Reuse {
        Reuse {
            lifetime: Duration::from_secs(secs),
            outcome,
            category: None,
            domain_len: None,
            hits: None,
            age_ttls,
        }
    }

    /// An A query for `name`.
    fn query(name: &str) -> Vec<u8> {
        let mut req = Message::query();
        req.add_query(Query::query(
            Name::from_ascii(name).expect("name"),
            RecordType::A,
        ));
        req.to_vec().expect("encode")
    }

    #[test]
    fn packet_cache_patches_id_flags_and_case() {
        let cache = PacketCache::new(16);
        let mut req = Message::query();
        req.metadata.id = 1;
        req.add_query(Query::query(
            Name::from_ascii("www.example.com.").expect("name"),
            RecordType::A,
        ));
        let first = req.to_vec().expect("encode");
        let q = FastQuery::parse(&first).expect("parse");
        let mut answer = first.clone();
        answer[2] |= 0x80;
        let reuse = reuse(Outcome::Allowed, 60, true);
        let key = |q: &FastQuery<'_>, listener| PacketKey::new(q, listener, 1);
        let now = Instant::now();
        cache.insert(&key(&q, 0), &q, 7, &answer, reuse, |_| {});
        req.metadata.id = 2;
        req.metadata.recursion_desired = false;
        req.queries[0] = Query::query(
            Name::from_ascii("WWW.Example.COM.").expect("name"),
            RecordType::A,
        );
        let second = req.to_vec().expect("encode");
        let q2 = FastQuery::parse(&second).expect("parse");
        let mut out = Vec::new();
        assert!(
            cache
                .answer(&key(&q2, 1), &q2, 7, now, &mut out, |_| {})
                .is_none(),
            "another listener"
        );
        let hit = cache
            .answer(&key(&q2, 0), &q2, 7, now, &mut out, |_| {})
            .expect("a hit");
        assert_eq!(hit.len, answer.len());
        assert_eq!(&out[..2], &[0, 2]);
        assert_eq!(out[2] & 0x01, 0, "RD from the new query");
        assert_eq!(&out[12..], &second[12..], "name case from the new query");
        assert!(
            cache
                .answer(&key(&q2, 0), &q2, 8, now, &mut out, |_| {})
                .is_none(),
            "a newer generation drops it"
        );
        assert!(
            cache
                .answer(&key(&q2, 0), &q2, 7, now, &mut out, |_| {})
                .is_none(),
            "and it is gone"
        );
    }

    #[test]
    fn cached_answers_count_their_ttls_down() {
        let mut req = Message::query();
        req.add_query(Query::query(
            Name::from_ascii("www.example.com.").expect("name"),
            RecordType::A,
        ));
        req.edns = Some(Edns::new());
        let bytes = req.to_vec().expect("encode");
        let q = FastQuery::parse(&bytes).expect("parse");
        let mut resp = answer::response(&req, hickory_proto::op::ResponseCode::NoError);
        resp.answers.push(hickory_proto::rr::Record::from_rdata(
            Name::from_ascii("www.example.com.").expect("name"),
            300,
            hickory_proto::rr::RData::A(hickory_proto::rr::rdata::A([192, 0, 2, 1].into())),
        ));
        let encoded = resp.to_vec().expect("encode");
        assert_eq!(
            ttl_offsets(&encoded).map(|t| t.len()),
            Some(1),
            "the A record; not the OPT"
        );
        assert!(
            ttl_offsets(&encoded[..encoded.len() - 3]).is_none(),
            "a cut answer is not cached"
        );
        let cache = PacketCache::new(4);
        let reuse = reuse(Outcome::Allowed, 300, true);
        let key = PacketKey::new(&q, 0, 1);
        cache.insert(&key, &q, 0, &encoded, reuse, |_| {});
        let later = Instant::now() + Duration::from_millis(1100);
        let mut out = Vec::new();
        cache
            .answer(&key, &q, 0, later, &mut out, |_| {})
            .expect("a hit");
        let served = Message::from_vec(&out).expect("parse");
        assert_eq!(served.answers[0].ttl, 299);
    }

    /// The key's name is checked against the answer's question, on the way in and out.
    #[test]
    fn an_answer_serves_only_its_own_question() {
        let reuse = reuse(Outcome::Allowed, 60, false);
        let cache = PacketCache::new(16);
        let (one, two) = (query("one.example."), query("two.example."));
        let (q1, q2) = (
            FastQuery::parse(&one).expect("parse"),
            FastQuery::parse(&two).expect("parse"),
        );
        let (k1, k2) = (PacketKey::new(&q1, 0, 3), PacketKey::new(&q2, 0, 3));
        let now = Instant::now();
        let mut out = Vec::new();
        cache.insert(&k1, &q1, 0, &two, reuse, |_| {});
        assert!(cache.is_empty(), "an answer to another name is not kept");
        cache.insert(&k1, &q1, 0, &one, reuse, |_| {});
        // Another name whose hash collides: the entry is found and must be refused.
        let forged = PacketKey {
            hash: k1.hash,
            ..k2
        };
        assert!(
            cache
                .answer(&forged, &q2, 0, now, &mut out, |_| {})
                .is_none()
        );
        assert!(cache.answer(&k1, &q1, 0, now, &mut out, |_| {}).is_some());
    }

    /// Evictions and removals move entries inside a shard: every entry still held must
    /// answer for its own name, and the cache must stay within its size.
    #[test]
    fn a_full_cache_keeps_its_bound_and_finds_what_it_keeps() {
        let reuse = reuse(Outcome::Allowed, 60, false);
        let cache = PacketCache::new(64);
        let packets: Vec<Vec<u8>> = (0..2_000)
            .map(|i| query(&format!("n{i}.example.")))
            .collect();
        let now = Instant::now();
        let mut out = Vec::new();
        for (i, packet) in packets.iter().enumerate() {
            let q = FastQuery::parse(packet).expect("parse");
            let mut answer = packet.clone();
            answer[2] |= 0x80;
            // Generation 1 for every third name: asking with generation 0 removes them.
            let generation = u64::from(i % 3 == 0);
            cache.insert(
                &PacketKey::new(&q, 0, 9),
                &q,
                generation,
                &answer,
                reuse,
                |_| {},
            );
            if i % 7 == 0 {
                cache.answer(&PacketKey::new(&q, 0, 9), &q, 0, now, &mut out, |_| {});
            }
        }
        assert!(cache.len() <= 64, "bounded: {}", cache.len());
        let mut held = 0;
        for packet in &packets {
            let q = FastQuery::parse(packet).expect("parse");
            for generation in [0, 1] {
                if let Some(hit) = cache.answer(
                    &PacketKey::new(&q, 0, 9),
                    &q,
                    generation,
                    now,
                    &mut out,
                    |_| {},
                ) {
                    assert_eq!(&out[12..hit.len], &packet[12..], "its own answer");
                    held += 1;
                    break;
                }
            }
        }
        assert!(held >= 32, "most slots hold an answer: {held}");
    }

    /// A flood of names asked for once must not push out a name asked for between them.
    #[test]
    fn a_name_served_again_outlives_a_flood_of_one_off_names() {
        let reuse = reuse(Outcome::Blocked, 60, false);
        let cache = PacketCache::new(64);
        let hot = query("hot.example.");
        let hot_q = FastQuery::parse(&hot).expect("parse");
        let hot_key = PacketKey::new(&hot_q, 0, 5);
        cache.insert(&hot_key, &hot_q, 0, &hot, reuse, |_| {});
        let now = Instant::now();
        let mut out = Vec::new();
        for i in 0..2_000 {
            let packet = query(&format!("x{i}.flood.example."));
            let q = FastQuery::parse(&packet).expect("parse");
            cache.insert(&PacketKey::new(&q, 0, 5), &q, 0, &packet, reuse, |_| {});
            assert!(
                cache
                    .answer(&hot_key, &hot_q, 0, now, &mut out, |_| {})
                    .is_some(),
                "still cached after {i} one-off names"
            );
        }
    }

    /// An entry is served for its lifetime and not a second more (whole seconds, so it may
    /// go up to a second early); a lifetime under a second is not stored.
    #[test]
    fn an_entry_lives_for_its_lifetime_only() {
        let packet = query("short.example.");
        let q = FastQuery::parse(&packet).expect("parse");
        let key = PacketKey::new(&q, 0, 1);
        let cache = PacketCache::new(16);
        let stored = Instant::now();
        cache.insert(
            &key,
            &q,
            0,
            &packet,
            reuse(Outcome::Allowed, 2, false),
            |_| {},
        );
        let mut out = Vec::new();
        let mut served = |after_ms: u64| {
            let at = stored + Duration::from_millis(after_ms);
            cache.answer(&key, &q, 0, at, &mut out, |_| {}).is_some()
        };
        assert!(served(0));
        assert!(!served(2_000), "served at its lifetime");
        assert!(!served(0), "and dropped");
        let cache = PacketCache::new(16);
        cache.insert(
            &key,
            &q,
            0,
            &packet,
            reuse(Outcome::Allowed, 0, false),
            |_| {},
        );
        assert!(cache.is_empty(), "lifetime 0");
    }
}
