//! The UDP fast path: a zero-copy parse of ordinary queries, and the answers hedge writes
//! straight to the wire: sinkholes, and the refusals that need no lookup (a client outside
//! the ACL, an EDNS version other than 0, a meta query type). Cached answers are in
//! [`crate::packet_cache`]. Everything it cannot handle goes to the full path in
//! [`crate::query`]; the one place that decides stays [`hedge_policy::Policy::decide`].

use std::net::IpAddr;
use std::time::Duration;

use hedge_policy::{BlockAction, Bypass, Decision, Policy, Profile, ProfileId};

use crate::answer::{EDE_OPTION, EDNS_PAYLOAD, Ede, block_text, bypass_text, write_header_only};
use crate::observer::Outcome;

/// A query the fast path understands: one question, class IN, standard opcode, at most an
/// OPT record, no trailing bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FastQuery<'p> {
    /// The whole packet.
    pub packet: &'p [u8],
    /// End of the question's name (the type follows).
    pub(crate) name_end: usize,
    /// End of the question.
    pub(crate) question_end: usize,
    /// Query type.
    pub qtype: u16,
    /// EDNS: (advertised payload size, DO bit).
    pub edns: Option<(u16, bool)>,
    /// The EDNS version asked for (0 without EDNS); hedge speaks only 0.
    pub edns_version: u8,
}

impl<'p> FastQuery<'p> {
    /// Parses `packet`, or None when the full path must handle it.
    pub(crate) fn parse(packet: &'p [u8]) -> Option<FastQuery<'p>> {
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
            // The name, its final zero included, is at most 255 bytes (RFC 1035 3.1).
            if len > 63 || i + 1 + len > 12 + 254 {
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
        let mut edns_version = 0;
        if counts[7] == 1 {
            // OPT: root name, type 41, class = payload, ttl = ext-rcode/version/flags, rdata.
            let at = question_end;
            if packet.get(at) != Some(&0) || field(at + 1)? != 41 {
                return None;
            }
            let payload = field(at + 3)?;
            let (version, do_bit) = (*packet.get(at + 6)?, packet.get(at + 7)? & 0x80 != 0);
            let rdlen = usize::from(field(at + 9)?);
            if at + 11 + rdlen != packet.len() {
                return None;
            }
            edns = Some((payload, do_bit));
            edns_version = version;
        } else if question_end != packet.len() {
            return None;
        }
        Some(FastQuery {
            packet,
            name_end,
            question_end,
            qtype,
            edns,
            edns_version,
        })
    }

    /// The name in presentation form, lower case, no trailing dot, written into `buf`.
    /// None for names with bytes that cannot appear in a host name (full path).
    pub(crate) fn name<'b>(&self, buf: &'b mut [u8; 256]) -> Option<&'b str> {
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
    pub(crate) fn max_udp(&self) -> usize {
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

/// Gives a cached answer this query's id, RD and CD bits, and the case of its name (0x20).
pub(crate) fn patch(q: &FastQuery<'_>, out: &mut [u8]) {
    out[0] = q.packet[0];
    out[1] = q.packet[1];
    out[2] = (out[2] & !0x01) | (q.packet[2] & 0x01);
    out[3] = (out[3] & !0x10) | (q.packet[3] & 0x10);
    out[12..q.name_end].copy_from_slice(&q.packet[12..q.name_end]);
}

/// Writes a complete sinkhole answer for a blocked or bypass decision straight to the wire;
/// the same answers as [`crate::answer::sinkhole`] and [`crate::answer::local_negative`].
/// Returns the outcome to count and the answer's lifetime in the packet cache: the block's
/// TTL (re-deciding is cheap; 0 keeps it out of the cache).
pub(crate) fn write_block(
    q: &FastQuery<'_>,
    policy: &Policy,
    profile: ProfileId,
    decision: Decision,
    portal: Option<&str>,
    out: &mut Vec<u8>,
) -> Option<(Outcome, Duration)> {
    let p = policy.profile(profile);
    let version = policy.index().version();
    let (rcode, addresses, ede, text): (u8, bool, Ede, String) = match decision {
        Decision::Block(reason) => {
            let (ede, text) = block_text(policy, p, reason, version, portal);
            match p.action {
                BlockAction::Refuse => (5, false, ede, text),
                BlockAction::Nxdomain => (3, false, ede, text),
                BlockAction::Null | BlockAction::Redirect => (0, true, ede, text),
            }
        }
        Decision::Bypass(b) => {
            let text = bypass_text(p, b);
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
        push_opt(out, 0, ede, &text);
    }
    if out.len() > q.max_udp() {
        return None; // does not fit: the full path truncates properly
    }
    Some((Outcome::Blocked, Duration::from_secs(ttl.into())))
}

/// Appends an OPT record (our payload size, version 0) carrying the high bits of an
/// extended rcode and an Extended DNS Error.
fn push_opt(out: &mut Vec<u8>, rcode_high: u8, ede: Ede, text: &str) {
    let text = text.as_bytes();
    let text = &text[..text.len().min(400)];
    out.extend_from_slice(&[0, 0, 41]);
    out.extend_from_slice(&EDNS_PAYLOAD.to_be_bytes());
    out.extend_from_slice(&[rcode_high, 0, 0, 0]);
    out.extend_from_slice(&((text.len() + 6) as u16).to_be_bytes());
    out.extend_from_slice(&EDE_OPTION.to_be_bytes());
    out.extend_from_slice(&((text.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&(ede as u16).to_be_bytes());
    out.extend_from_slice(text);
}

/// RCODE 16 (RFC 6891), for a query of an EDNS version hedge does not speak.
pub(crate) const BADVERS: u16 = 16;

/// What a client outside the listener's `allow` subnets is told.
pub(crate) const PROHIBITED_TEXT: &str = "this network is not allowed to use this resolver";

/// The answer to a query type hedge never resolves: zone transfers are REFUSED (as by any
/// resolver), other meta types (RFC 6895: OPT, TKEY, TSIG, MAILA, MAILB, the unassigned
/// 128-248) and the reserved type 0 are NOTIMP; both with EDE 21 (Not Supported). ANY is
/// not among them (see `query::any_answer`).
pub(crate) fn meta_type_answer(qtype: u16) -> Option<(u16, &'static str)> {
    match qtype {
        251 | 252 => Some((5, "zone transfers are not served by this resolver")),
        0 | 41 | 128..=254 => Some((4, "this query type is not supported")),
        _ => None,
    }
}

/// The answers the fast path gives without a lookup, in the order the full path checks
/// them: BADVERS for an EDNS version other than 0, then meta query types.
pub(crate) fn write_refusal(q: &FastQuery<'_>, out: &mut Vec<u8>) -> Option<u16> {
    let (rcode, ede, text) = if q.edns_version != 0 {
        (BADVERS, Ede::Other, "only EDNS version 0 is supported")
    } else {
        let (rcode, text) = meta_type_answer(q.qtype)?;
        (rcode, Ede::NotSupported, text)
    };
    write_rcode(q, rcode, ede, text, out);
    Some(rcode)
}

/// Writes an answer of the question alone with `rcode` and, when the query has EDNS, an
/// OPT record with the EDE (and an extended rcode's high bits). Never allocates: the
/// reply buffers hold 1232 bytes, more than a question and an OPT record.
pub(crate) fn write_rcode(q: &FastQuery<'_>, rcode: u16, ede: Ede, text: &str, out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(&q.packet[..2]);
    out.push(0x80 | (q.packet[2] & 0x01)); // QR, opcode 0, RD copied
    out.push(0x80 | (q.packet[3] & 0x10) | (rcode & 0x0f) as u8); // RA, CD copied
    for c in [1u16, 0, 0, u16::from(q.edns.is_some())] {
        out.extend_from_slice(&c.to_be_bytes());
    }
    out.extend_from_slice(&q.packet[12..q.question_end]);
    if q.edns.is_some() {
        push_opt(out, (rcode >> 4) as u8, ede, text);
    }
}

/// The answer to a client outside the listener's ACL, written on the receiving thread:
/// REFUSED with EDE 18 for a query the fast parser reads, a header-only REFUSED for
/// anything else. False when the packet gets no answer.
pub(crate) fn write_prohibited(packet: &[u8], out: &mut Vec<u8>) -> bool {
    match FastQuery::parse(packet) {
        Some(q) => {
            write_rcode(&q, 5, Ede::Prohibited, PROHIBITED_TEXT, out);
            true
        }
        None => write_header_only(packet, 5, out),
    }
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

#[cfg(test)]
mod tests {

    /// Found by the `packet_parse` fuzz target: a 256-byte name passed the fast parser, whose
    /// answer hickory (and any client) then could not read. 255 bytes is the most.
    #[test]
    fn names_longer_than_255_bytes_take_the_full_path() {
        let packet = |labels: &[usize]| {
            let mut p = vec![0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
            for &len in labels {
                p.push(len as u8);
                p.extend(std::iter::repeat_n(b'a', len));
            }
            p.extend_from_slice(&[0, 0, 1, 0, 1]);
            p
        };
        let longest = packet(&[63, 63, 63, 61]);
        assert_eq!(longest.len() - 12 - 4, 255);
        assert!(FastQuery::parse(&longest).is_some(), "255 bytes is a name");
        assert!(Message::from_vec(&longest).is_ok());
        let over = packet(&[63, 63, 63, 62]);
        assert!(FastQuery::parse(&over).is_none(), "256 bytes is not");
    }
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
                let portal = Some("http://portal.library/");
                for (edns, portal) in [(true, None), (true, portal), (false, None)] {
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
                    let Some(_) = write_block(&q, &policy, profile, decision, portal, &mut out)
                    else {
                        assert!(
                            matches!(decision, Decision::Allow(_) | Decision::Rewrite(_)),
                            "{decision:?}"
                        );
                        continue;
                    };
                    let p = policy.profile(profile);
                    let slow = match decision {
                        Decision::Block(r) => {
                            let (ede, text) =
                                answer::block_text(&policy, p, r, policy.index().version(), portal);
                            answer::sinkhole(&req, &req.queries[0], p, ede, &text)
                        }
                        Decision::Bypass(b) => {
                            let text = answer::bypass_text(p, b);
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
                    let ctx = format!("profile {} {name} {qtype} edns={edns} {portal:?}", p.name);
                    if let (Decision::Block(_), Some(url)) = (decision, portal) {
                        let texts = answer::decode_ede(&fast);
                        assert!(
                            texts.len() == 1 && texts[0].1.ends_with(&format!("; see {url}")),
                            "{ctx}: a block's EDE points to the portal: {texts:?}"
                        );
                    }
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

    fn query_bytes(qtype: RecordType, edns_version: Option<u8>) -> (Message, Vec<u8>) {
        let mut req = Message::query();
        req.metadata.id = 0x5151;
        req.metadata.recursion_desired = true;
        req.metadata.checking_disabled = true;
        req.add_query(Query::query(
            Name::from_ascii("Www.Example.com.").expect("name"),
            qtype,
        ));
        if let Some(version) = edns_version {
            let mut edns = Edns::new();
            edns.set_version(version);
            req.edns = Some(edns);
        }
        let bytes = req.to_vec().expect("encode");
        (req, bytes)
    }

    /// The refusals written on the fast path say what the full path's messages say.
    #[test]
    fn fast_refusals_equal_the_full_path() {
        use hickory_proto::op::ResponseCode;
        let cases = [
            (
                RecordType::A,
                Some(1),
                Some((ResponseCode::BADVERS, Ede::Other)),
            ),
            (
                RecordType::AXFR,
                Some(0),
                Some((ResponseCode::Refused, Ede::NotSupported)),
            ),
            (
                RecordType::IXFR,
                None,
                Some((ResponseCode::Refused, Ede::NotSupported)),
            ),
            (
                RecordType::OPT,
                Some(0),
                Some((ResponseCode::NotImp, Ede::NotSupported)),
            ),
            (
                RecordType::TSIG,
                Some(0),
                Some((ResponseCode::NotImp, Ede::NotSupported)),
            ),
            (
                RecordType::from(249),
                Some(0),
                Some((ResponseCode::NotImp, Ede::NotSupported)),
            ),
            (
                RecordType::from(253),
                Some(0),
                Some((ResponseCode::NotImp, Ede::NotSupported)),
            ),
            (
                RecordType::from(128),
                None,
                Some((ResponseCode::NotImp, Ede::NotSupported)),
            ),
            (
                RecordType::from(0),
                Some(0),
                Some((ResponseCode::NotImp, Ede::NotSupported)),
            ),
            (RecordType::ANY, Some(0), None),
            (RecordType::A, Some(0), None),
            (RecordType::from(127), Some(0), None),
        ];
        for (qtype, version, expected) in cases {
            let (req, bytes) = query_bytes(qtype, version);
            let q = FastQuery::parse(&bytes).expect("parses");
            assert_eq!(q.edns_version, version.unwrap_or(0));
            let mut out = Vec::with_capacity(1232);
            let rcode = write_refusal(&q, &mut out);
            let ctx = format!("{qtype} edns {version:?}");
            let Some((rcode_expected, ede)) = expected else {
                assert_eq!(rcode, None, "{ctx}: resolved, not refused");
                continue;
            };
            assert_eq!(rcode, Some(u16::from(rcode_expected)), "{ctx}");
            assert!(out.capacity() == 1232, "{ctx}: written in place");
            let fast = Message::from_vec(&out).expect("the fast answer parses");
            let mut slow = answer::response(&req, rcode_expected);
            let text = match ede {
                Ede::Other => "only EDNS version 0 is supported",
                _ => meta_type_answer(u16::from(qtype)).expect("meta").1,
            };
            answer::add_ede(&mut slow, ede, text);
            let slow = Message::from_vec(&slow.to_vec().expect("encode")).expect("parse");
            assert_eq!(fast.metadata, slow.metadata, "{ctx}");
            assert_eq!(
                u16::from(fast.metadata.response_code),
                u16::from(rcode_expected)
            );
            assert_eq!(
                fast.queries, slow.queries,
                "{ctx}: the question, its case kept"
            );
            assert_eq!(fast.edns.is_some(), version.is_some(), "{ctx}");
            assert_eq!(
                fast.edns.as_ref().map(|e| e.version()),
                slow.edns.as_ref().map(|e| e.version())
            );
            assert_eq!(
                answer::decode_ede(&fast),
                answer::decode_ede(&slow),
                "{ctx}"
            );
        }
    }

    #[test]
    fn outsiders_get_refused_with_ede_18_or_a_bare_header() {
        use hickory_proto::op::ResponseCode;
        let (req, bytes) = query_bytes(RecordType::A, Some(0));
        let mut out = Vec::with_capacity(1232);
        assert!(write_prohibited(&bytes, &mut out));
        let m = Message::from_vec(&out).expect("parses");
        assert_eq!(m.metadata.response_code, ResponseCode::Refused);
        assert_eq!(m.metadata.id, req.metadata.id);
        assert!(m.metadata.recursion_desired && m.metadata.checking_disabled);
        assert_eq!(m.queries, req.queries);
        assert_eq!(
            answer::decode_ede(&m),
            vec![(Ede::Prohibited as u16, PROHIBITED_TEXT.to_string())]
        );
        // What the fast parser cannot read gets a header, never a full parse.
        let garbage = b"\x12\x34\x01\x00\x00\x05\xff\xff\xff\xff\xff\xff\x03ab";
        assert!(write_prohibited(garbage, &mut out));
        assert_eq!(out, b"\x12\x34\x81\x85\0\0\0\0\0\0\0\0");
        let mut response = bytes.clone();
        response[2] |= 0x80;
        assert!(
            !write_prohibited(&response, &mut out),
            "responses get no answer"
        );
        assert!(
            !write_prohibited(&bytes[..11], &mut out),
            "nor does a short packet"
        );
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
}
