//! The UDP fast path: a zero-copy parse of ordinary queries, sinkhole answers written
//! straight to the wire, and a packet cache of encoded answers that patches only the ID, the
//! RD/CD bits and the case of the name. Everything it cannot handle goes to the full path
//! in [`crate::query`]; the one place that decides stays [`hedge_policy::Policy::decide`].

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hedge_lists::CategoryIdx;
use hedge_policy::{BlockAction, BlockReason, Bypass, Decision, Policy, Profile, ProfileId};
use smallvec::SmallVec;

use crate::Outcome;
use crate::answer::{EDE_OPTION, EDNS_PAYLOAD, Ede};

/// A query the fast path understands: one question, class IN, standard opcode, at most an
/// OPT record, no trailing bytes.
#[derive(Debug, Clone, Copy)]
pub struct FastQuery<'p> {
    /// The whole packet.
    pub packet: &'p [u8],
    /// End of the question's name (the type follows).
    name_end: usize,
    /// End of the question.
    question_end: usize,
    /// Query type.
    pub qtype: u16,
    /// EDNS: (advertised payload size, DO bit).
    pub edns: Option<(u16, bool)>,
}

impl<'p> FastQuery<'p> {
    /// Parses `packet`, or None when the full path must handle it.
    pub fn parse(packet: &'p [u8]) -> Option<FastQuery<'p>> {
        if packet.len() < 17 {
            return None;
        }
        let (flags, counts) = (&packet[2..4], &packet[4..12]);
        // QR=0, OPCODE=0, QDCOUNT=1, ANCOUNT=0, NSCOUNT=0, ARCOUNT 0 or 1.
        if flags[0] & 0xf8 != 0
            || counts[..6] != [0, 1, 0, 0, 0, 0]
            || counts[6] != 0
            || counts[7] > 1
        {
            return None;
        }
        let mut i = 12;
        loop {
            let len = usize::from(*packet.get(i)?);
            if len == 0 {
                i += 1;
                break;
            }
            if len > 63 || i + 1 + len > 12 + 255 {
                return None; // compression pointers or over-long names: full path
            }
            i += 1 + len;
        }
        let name_end = i;
        let field = |at: usize| {
            packet
                .get(at..at + 2)
                .map(|b| u16::from_be_bytes([b[0], b[1]]))
        };
        let (qtype, qclass) = (field(i)?, field(i + 2)?);
        if qclass != 1 {
            return None;
        }
        let question_end = i + 4;
        let mut edns = None;
        if counts[7] == 1 {
            // OPT: root name, type 41, class = payload, ttl = ext-rcode/version/flags, rdata.
            let at = question_end;
            if packet.get(at) != Some(&0) || field(at + 1)? != 41 {
                return None;
            }
            let payload = field(at + 3)?;
            let (version, do_bit) = (*packet.get(at + 6)?, packet.get(at + 7)? & 0x80 != 0);
            let rdlen = usize::from(field(at + 9)?);
            if version != 0 || at + 11 + rdlen != packet.len() {
                return None;
            }
            edns = Some((payload, do_bit));
        } else if question_end != packet.len() {
            return None;
        }
        Some(FastQuery {
            packet,
            name_end,
            question_end,
            qtype,
            edns,
        })
    }

    /// The name in presentation form, lower case, no trailing dot, written into `buf`.
    /// None for names with bytes that cannot appear in a host name (full path).
    pub fn name<'b>(&self, buf: &'b mut [u8; 256]) -> Option<&'b str> {
        let mut n = 0;
        let mut i = 12;
        while i < self.name_end - 1 {
            let len = usize::from(self.packet[i]);
            if n > 0 {
                buf[n] = b'.';
                n += 1;
            }
            for &b in &self.packet[i + 1..i + 1 + len] {
                let lower = HOST_BYTES[usize::from(b)];
                if lower == 0 {
                    return None;
                }
                buf[n] = lower;
                n += 1;
            }
            i += 1 + len;
        }
        std::str::from_utf8(&buf[..n]).ok()
    }

    /// The largest answer this client takes over UDP.
    pub fn max_udp(&self) -> usize {
        self.edns
            .map_or(512, |(p, _)| usize::from(p.clamp(512, EDNS_PAYLOAD)))
    }
}

/// Bytes of a host name label, lower-cased; 0 for bytes the fast path leaves to the full
/// path (anything but letters, digits, `-` and `_`). One table load per byte.
static HOST_BYTES: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        if c.is_ascii_alphanumeric() || c == b'-' || c == b'_' {
            t[b] = c.to_ascii_lowercase();
        }
        b += 1;
    }
    t
};

/// A question's packet-cache key (listener, type, EDNS shape, name in lower case) and its
/// seeded hash: built once per query and used for both caches.
pub struct PacketKey {
    buf: [u8; 272],
    len: usize,
    hash: u64,
}

impl PacketKey {
    /// The key of `q` on `listener`; `seed` is the process's [`key_seed`].
    pub fn new(q: &FastQuery<'_>, listener: usize, seed: u64) -> PacketKey {
        let mut buf = [0u8; 272];
        let name = &q.packet[12..q.name_end];
        buf[..2].copy_from_slice(&(listener as u16).to_be_bytes());
        buf[2..4].copy_from_slice(&q.qtype.to_be_bytes());
        let (payload, do_bit) = q
            .edns
            .map_or((0, false), |(p, d)| (p.clamp(512, EDNS_PAYLOAD), d));
        buf[4..6].copy_from_slice(&payload.to_be_bytes());
        buf[6] = u8::from(q.edns.is_some()) | (u8::from(do_bit) << 1);
        let len = 7 + name.len();
        buf[7..len].copy_from_slice(name);
        buf[7..len].make_ascii_lowercase();
        let hash = xxhash_rust::xxh3::xxh3_64_with_seed(&buf[..len], seed);
        PacketKey { buf, len, hash }
    }

    fn bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// A per-process seed for [`PacketKey`] hashes, so nobody can aim names at one slot.
pub fn key_seed() -> u64 {
    RandomState::new().hash_one(0x0068_6564_6765_u64)
}

/// Bytes of key, answer and TTL offsets kept inside the entry itself: an A or AAAA answer
/// fits, so a hit reads the table slot and nothing behind a pointer (profiles put the
/// second cache miss, of a boxed copy, at 4.5% of a cached answer's CPU).
const INLINE: usize = 112;

/// A cached, encoded answer and what to count when it is served.
struct Entry {
    /// The key, then the encoded answer, then where each record's TTL sits in the answer
    /// (u16 each; served answers count their TTLs down like any cached answer). Inline up
    /// to [`INLINE`] bytes, one allocation beyond.
    data: SmallVec<[u8; INLINE]>,
    key_len: u16,
    answer_len: u16,
    stored: Instant,
    expires: Instant,
    generation: u64,
    outcome: Outcome,
    category: Option<CategoryIdx>,
    listed_labels: Option<u8>,
}

/// Encoded answers by (listener, question, EDNS shape): shards of plain hash maps keyed by
/// the (already seeded) xxh3 of the key, so a hit is one probe and one lock, with no list
/// to relink. Expired entries go when they are next asked for; a full shard drops an
/// arbitrary entry.
pub struct PacketCache {
    shards: Box<[Mutex<Shard>]>,
    shard_cap: usize,
}

/// Shards of the packet cache.
const SHARDS: usize = 16;

/// One shard: entries by the hash of their key.
type Shard = HashMap<u64, Entry, BuildHasherDefault<PreHashed>>;

/// The keys are xxh3 hashes already: use them as they are.
#[derive(Default)]
struct PreHashed(u64);

impl Hasher for PreHashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// How long an encoded answer may be reused, and what to count when it is.
#[derive(Debug, Clone, Copy)]
pub struct Reuse {
    /// Lifetime in the cache.
    pub lifetime: Duration,
    /// Outcome to count on a hit.
    pub outcome: Outcome,
    /// Category to count on a hit.
    pub category: Option<CategoryIdx>,
    /// For a category block, the labels of the listed name (the domain counted).
    pub listed_labels: Option<u8>,
    /// Count the records' TTLs down as the entry ages (upstream answers; sinkholes keep
    /// their configured TTL).
    pub age_ttls: bool,
}

impl Entry {
    fn key(&self) -> &[u8] {
        &self.data[..usize::from(self.key_len)]
    }

    fn answer(&self) -> &[u8] {
        let start = usize::from(self.key_len);
        &self.data[start..start + usize::from(self.answer_len)]
    }

    fn ttl_offsets(&self) -> impl Iterator<Item = usize> + '_ {
        let start = usize::from(self.key_len) + usize::from(self.answer_len);
        self.data[start..]
            .chunks_exact(2)
            .map(|c| usize::from(u16::from_le_bytes([c[0], c[1]])))
    }
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
pub struct Hit {
    /// Bytes written to the output buffer.
    pub len: usize,
    /// Outcome to count.
    pub outcome: Outcome,
    /// Category to count.
    pub category: Option<CategoryIdx>,
    /// Labels of the listed name, for a category block.
    pub listed_labels: Option<u8>,
}

impl PacketCache {
    /// A cache of at most `size` answers.
    pub fn new(size: usize) -> PacketCache {
        let shard_cap = size.div_ceil(SHARDS).max(1);
        // The shards grow with use: a table reserved at full size is touched at random
        // slots, so a few thousand answers would keep most of its pages resident.
        let shards = (0..SHARDS).map(|_| Mutex::default()).collect();
        PacketCache { shards, shard_cap }
    }

    /// Writes the cached answer for `q` (whose key is `key`), patched for this query, into
    /// `out`. `now` is when the query arrived.
    pub fn answer(
        &self,
        key: &PacketKey,
        q: &FastQuery<'_>,
        generation: u64,
        now: Instant,
        out: &mut Vec<u8>,
    ) -> Option<Hit> {
        let (h, key) = (key.hash, key.bytes());
        {
            let mut map = self.shard(h).lock().unwrap_or_else(|p| p.into_inner());
            let e = map.get(&h)?;
            if e.key() != key {
                return None;
            }
            if e.expires <= now || e.generation != generation {
                map.remove(&h);
                return None;
            }
            out.clear();
            out.extend_from_slice(e.answer());
            let age = now.saturating_duration_since(e.stored).as_secs() as u32;
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
                category: e.category,
                listed_labels: e.listed_labels,
            };
            drop(map);
            patch(q, out);
            Some(hit)
        }
    }

    /// Remembers an encoded answer to `q` (whose key is `key`).
    pub fn insert(
        &self,
        key: &PacketKey,
        q: &FastQuery<'_>,
        generation: u64,
        bytes: &[u8],
        meta: Reuse,
    ) {
        if bytes.len() < q.question_end {
            return;
        }
        let (h, key) = (key.hash, key.bytes());
        let ttls = if meta.age_ttls {
            match ttl_offsets(bytes) {
                Some(t) => t,
                None => return,
            }
        } else {
            Vec::new()
        };
        let (Ok(key_len), Ok(answer_len)) = (u16::try_from(key.len()), u16::try_from(bytes.len()))
        else {
            return;
        };
        let mut data = SmallVec::with_capacity(key.len() + bytes.len() + 2 * ttls.len());
        data.extend_from_slice(key);
        data.extend_from_slice(bytes);
        data.extend(ttls.iter().flat_map(|at| at.to_le_bytes()));
        let now = Instant::now();
        let entry = Entry {
            data,
            key_len,
            answer_len,
            stored: now,
            expires: now + meta.lifetime,
            generation,
            outcome: meta.outcome,
            category: meta.category,
            listed_labels: meta.listed_labels,
        };
        let mut map = self.shard(h).lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= self.shard_cap
            && !map.contains_key(&h)
            && let Some(&victim) = map.keys().next()
        {
            map.remove(&victim);
        }
        map.insert(h, entry);
    }

    fn shard(&self, h: u64) -> &Mutex<Shard> {
        &self.shards[(h >> 60) as usize % SHARDS]
    }
}

/// Gives a cached answer this query's id, RD and CD bits, and the case of its name (0x20).
fn patch(q: &FastQuery<'_>, out: &mut [u8]) {
    out[0] = q.packet[0];
    out[1] = q.packet[1];
    out[2] = (out[2] & !0x01) | (q.packet[2] & 0x01);
    out[3] = (out[3] & !0x10) | (q.packet[3] & 0x10);
    out[12..q.name_end].copy_from_slice(&q.packet[12..q.name_end]);
}

/// Writes a complete sinkhole answer for a blocked or bypass decision straight to the wire;
/// the same answers as [`crate::answer::sinkhole`] and [`crate::answer::local_negative`].
/// Returns the outcome to count and the answer's lifetime in the packet cache.
pub fn write_block(
    q: &FastQuery<'_>,
    policy: &Policy,
    profile: ProfileId,
    decision: Decision,
    out: &mut Vec<u8>,
) -> Option<(Outcome, Duration)> {
    let p = policy.profile(profile);
    let version = policy.index().version();
    let (rcode, addresses, ede, text): (u8, bool, Ede, String) = match decision {
        Decision::Block(reason) => {
            let (ede, text) = block_text(policy, p, reason, version);
            match p.action {
                BlockAction::Refuse => (5, false, ede, text),
                BlockAction::Nxdomain => (3, false, ede, text),
                BlockAction::Null | BlockAction::Redirect => (0, true, ede, text),
            }
        }
        Decision::Bypass(b) => {
            let text = format!("{} (profile {})", bypass_text(b), p.name);
            (
                if b == Bypass::Ddr { 0 } else { 3 },
                false,
                Ede::Blocked,
                text,
            )
        }
        _ => return None,
    };
    out.clear();
    out.extend_from_slice(&q.packet[..2]);
    out.push(0x80 | (q.packet[2] & 0x01)); // QR, opcode 0, RD copied
    out.push(0x80 | (q.packet[3] & 0x10) | rcode); // RA, CD copied, rcode
    let ttl = p.block_ttl;
    let sinkhole = sinkhole_addresses(p, q.qtype).filter(|_| addresses);
    let answers = sinkhole.clone().count();
    let soa = rcode != 5 && answers == 0;
    let header_counts = [
        1u16,
        answers as u16,
        u16::from(soa),
        u16::from(q.edns.is_some()),
    ];
    for c in header_counts {
        out.extend_from_slice(&c.to_be_bytes());
    }
    out.extend_from_slice(&q.packet[12..q.question_end]);
    for ip in sinkhole {
        out.extend_from_slice(&[0xc0, 0x0c]); // the question's name
        let rtype: u16 = if ip.is_ipv4() { 1 } else { 28 };
        out.extend_from_slice(&rtype.to_be_bytes());
        out.extend_from_slice(&1u16.to_be_bytes());
        out.extend_from_slice(&ttl.to_be_bytes());
        match ip {
            IpAddr::V4(v4) => {
                out.extend_from_slice(&4u16.to_be_bytes());
                out.extend_from_slice(&v4.octets());
            }
            IpAddr::V6(v6) => {
                out.extend_from_slice(&16u16.to_be_bytes());
                out.extend_from_slice(&v6.octets());
            }
        }
    }
    if soa {
        out.extend_from_slice(&[0xc0, 0x0c, 0, 6, 0, 1]);
        out.extend_from_slice(&ttl.to_be_bytes());
        out.extend_from_slice(&(SOA_NAMES.len() as u16 + 20).to_be_bytes());
        out.extend_from_slice(SOA_NAMES);
        for v in [1u32, 3600, 600, 86_400, ttl] {
            out.extend_from_slice(&v.to_be_bytes());
        }
    }
    if q.edns.is_some() {
        let text = text.as_bytes();
        let text = &text[..text.len().min(400)];
        out.extend_from_slice(&[0, 0, 41]);
        out.extend_from_slice(&EDNS_PAYLOAD.to_be_bytes());
        out.extend_from_slice(&[0, 0, 0, 0]);
        out.extend_from_slice(&((text.len() + 6) as u16).to_be_bytes());
        out.extend_from_slice(&EDE_OPTION.to_be_bytes());
        out.extend_from_slice(&((text.len() + 2) as u16).to_be_bytes());
        out.extend_from_slice(&(ede as u16).to_be_bytes());
        out.extend_from_slice(text);
    }
    if out.len() > q.max_udp() {
        return None; // does not fit: the full path truncates properly
    }
    let outcome = Outcome::Blocked;
    Some((outcome, Duration::from_secs(3600)))
}

/// The sinkhole's MNAME and RNAME (`hedge.invalid.`, `blocked.hedge.invalid.`) in wire form.
const SOA_NAMES: &[u8] = b"\x05hedge\x07invalid\x00\x07blocked\x05hedge\x07invalid\x00";

/// The addresses a block answers `qtype` with: the null address, or the profile's redirect
/// addresses of that family (none for other types). No allocation: this is the block path.
fn sinkhole_addresses(p: &Profile, qtype: u16) -> impl Iterator<Item = IpAddr> + Clone + '_ {
    let v4 = match qtype {
        1 => Some(true),
        28 => Some(false),
        _ => None,
    };
    let null = match (p.action, v4) {
        (BlockAction::Null, Some(true)) => Some(IpAddr::from([0, 0, 0, 0])),
        (BlockAction::Null, Some(false)) => Some(IpAddr::from([0u16; 8])),
        _ => None,
    };
    let redirect = p
        .redirect_to
        .iter()
        .copied()
        .filter(move |ip| p.action != BlockAction::Null && Some(ip.is_ipv4()) == v4);
    null.into_iter().chain(redirect)
}

/// The EDE code and text of a block: category path, profile, index version.
pub fn block_text(
    policy: &Policy,
    p: &Profile,
    reason: BlockReason,
    version: &str,
) -> (Ede, String) {
    block_text_via(policy, p, reason, version, None)
}

/// [`block_text`] for a block found on a CNAME target.
pub fn block_text_via(
    policy: &Policy,
    p: &Profile,
    reason: BlockReason,
    version: &str,
    via: Option<&str>,
) -> (Ede, String) {
    let via = via.map(|t| format!(" via CNAME {t}")).unwrap_or_default();
    match reason {
        BlockReason::Category(c, _, _) => (
            Ede::Blocked,
            format!(
                "blocked: {}{via} (profile {}, index {version})",
                policy.index().taxonomy().id(c),
                p.name
            ),
        ),
        BlockReason::CustomBlock => (
            Ede::Blocked,
            format!(
                "blocked: custom block list{via} (profile {}, index {version})",
                p.name
            ),
        ),
        BlockReason::NotInGarden => (
            Ede::Filtered,
            format!(
                "not in the walled garden (profile {}, index {version})",
                p.name
            ),
        ),
    }
}

/// The EDE text of a bypass control.
pub fn bypass_text(b: Bypass) -> &'static str {
    match b {
        Bypass::DohCanary => "blocked: Firefox DoH canary, encrypted DNS would bypass the filter",
        Bypass::PrivateRelay => "blocked: iCloud Private Relay would bypass the filter",
        Bypass::Ddr => "blocked: encrypted resolver discovery (DDR) would bypass the filter",
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use hedge_lists::{Compiler, Format, Index, Taxonomy};
    use hedge_policy::{Policy, ProfileConfig};
    use hickory_proto::op::{Edns, Message, Query};
    use hickory_proto::rr::{Name, RecordType};

    use super::*;
    use crate::answer;

    fn policy() -> Policy {
        let t = Taxonomy::builtin();
        let mut c = Compiler::new(&t);
        c.add_text(
            "g",
            Format::Plain,
            &["gambling".into()],
            b"bet.example\n",
            "t",
        )
        .expect("list");
        let index = Arc::new(
            Index::from_bytes(c.finish(&mut |_| {}).expect("compile").bytes).expect("index"),
        );
        let profile = |name: &str, action: BlockAction| ProfileConfig {
            name: name.into(),
            block: vec!["gambling".into()],
            action: Some(action),
            redirect_to: vec![
                "192.0.2.80".parse().expect("ip"),
                "2001:db8::80".parse().expect("ip"),
            ],
            ..Default::default()
        };
        let garden = ProfileConfig {
            name: "garden".into(),
            mode: Some(hedge_policy::Mode::Allowlist),
            allow_domains: vec!["ok.example".into()],
            ..Default::default()
        };
        let configs = vec![
            profile("null", BlockAction::Null),
            profile("nx", BlockAction::Nxdomain),
            profile("refuse", BlockAction::Refuse),
            profile("redirect", BlockAction::Redirect),
            garden,
        ];
        Policy::new(index, configs, std::path::Path::new(".")).expect("policy")
    }

    /// The wire-written sinkhole must say exactly what the hickory-built one says.
    #[test]
    fn fast_sinkholes_equal_the_full_path() {
        let policy = policy();
        for profile in 0..policy.profiles().len() {
            for (name, qtype) in [
                ("www.Bet.example.", RecordType::A),
                ("bet.example.", RecordType::AAAA),
                ("bet.example.", RecordType::MX),
                ("use-application-dns.net.", RecordType::A),
                ("_dns.resolver.arpa.", RecordType::SVCB),
                ("other.example.", RecordType::A),
            ] {
                for edns in [true, false] {
                    let mut req = Message::query();
                    req.metadata.id = 0x4242;
                    req.metadata.recursion_desired = true;
                    req.add_query(Query::query(Name::from_ascii(name).expect("name"), qtype));
                    if edns {
                        req.edns = Some(Edns::new());
                    }
                    let bytes = req.to_vec().expect("encode");
                    let q = FastQuery::parse(&bytes).expect("a plain query parses");
                    let lower = name.trim_end_matches('.').to_ascii_lowercase();
                    let decision = policy.decide(profile, &lower);
                    let mut out = Vec::new();
                    let Some(_) = write_block(&q, &policy, profile, decision, &mut out) else {
                        assert!(
                            matches!(decision, Decision::Allow(_) | Decision::Rewrite(_)),
                            "{decision:?}"
                        );
                        continue;
                    };
                    let p = policy.profile(profile);
                    let slow = match decision {
                        Decision::Block(r) => {
                            let (ede, text) = block_text(&policy, p, r, policy.index().version());
                            answer::sinkhole(&req, &req.queries[0], p, ede, &text)
                        }
                        Decision::Bypass(b) => {
                            let text = format!("{} (profile {})", bypass_text(b), p.name);
                            answer::local_negative(
                                &req,
                                &req.queries[0],
                                b != Bypass::Ddr,
                                p.block_ttl,
                                &text,
                            )
                        }
                        other => panic!("{other:?}"),
                    };
                    let fast = Message::from_vec(&out).expect("the fast answer parses");
                    let slow = Message::from_vec(&slow.to_vec().expect("encode")).expect("parse");
                    let ctx = format!("profile {} {name} {qtype} edns={edns}", p.name);
                    assert_eq!(fast.metadata, slow.metadata, "{ctx}");
                    assert_eq!(fast.queries, slow.queries, "{ctx}");
                    assert_eq!(fast.answers, slow.answers, "{ctx}");
                    assert_eq!(fast.authorities, slow.authorities, "{ctx}");
                    assert_eq!(
                        answer::decode_ede(&fast),
                        answer::decode_ede(&slow),
                        "{ctx}"
                    );
                    assert_eq!(fast.edns.is_some(), edns, "{ctx}");
                }
            }
        }
    }

    #[test]
    fn parse_refuses_what_the_full_path_must_see() {
        let mut req = Message::query();
        req.add_query(Query::query(
            Name::from_ascii("a.example.").expect("name"),
            RecordType::A,
        ));
        let good = req.to_vec().expect("encode");
        assert!(FastQuery::parse(&good).is_some());
        let mut trailing = good.clone();
        trailing.push(0);
        assert!(FastQuery::parse(&trailing).is_none(), "trailing bytes");
        let mut response = good.clone();
        response[2] |= 0x80;
        assert!(FastQuery::parse(&response).is_none(), "a response");
        let mut two = good.clone();
        two[5] = 2;
        assert!(FastQuery::parse(&two).is_none(), "two questions");
        assert!(
            FastQuery::parse(&good[..good.len() - 1]).is_none(),
            "cut short"
        );
        let mut chaos = good.clone();
        let n = chaos.len();
        chaos[n - 1] = 3;
        assert!(FastQuery::parse(&chaos).is_none(), "class CH");
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
        let reuse = Reuse {
            lifetime: Duration::from_secs(60),
            outcome: Outcome::Allowed,
            category: None,
            listed_labels: None,
            age_ttls: true,
        };
        let key = |q: &FastQuery<'_>, listener| PacketKey::new(q, listener, 1);
        let now = Instant::now();
        cache.insert(&key(&q, 0), &q, 7, &answer, reuse);
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
            cache.answer(&key(&q2, 1), &q2, 7, now, &mut out).is_none(),
            "another listener"
        );
        let hit = cache
            .answer(&key(&q2, 0), &q2, 7, now, &mut out)
            .expect("a hit");
        assert_eq!(hit.len, answer.len());
        assert_eq!(&out[..2], &[0, 2]);
        assert_eq!(out[2] & 0x01, 0, "RD from the new query");
        assert_eq!(&out[12..], &second[12..], "name case from the new query");
        assert!(
            cache.answer(&key(&q2, 0), &q2, 8, now, &mut out).is_none(),
            "a newer generation drops it"
        );
        assert!(
            cache.answer(&key(&q2, 0), &q2, 7, now, &mut out).is_none(),
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
        let reuse = Reuse {
            lifetime: Duration::from_secs(300),
            outcome: Outcome::Allowed,
            category: None,
            listed_labels: None,
            age_ttls: true,
        };
        let key = PacketKey::new(&q, 0, 1);
        cache.insert(&key, &q, 0, &encoded, reuse);
        let later = Instant::now() + Duration::from_millis(1100);
        let mut out = Vec::new();
        cache.answer(&key, &q, 0, later, &mut out).expect("a hit");
        let served = Message::from_vec(&out).expect("parse");
        assert_eq!(served.answers[0].ttl, 299);
    }
}
