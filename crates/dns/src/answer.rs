//! Building responses: the header rules, sinkhole answers and the texts of their Extended
//! DNS Errors (RFC 8914), and encoding with truncation.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use hedge_policy::{BlockAction, BlockReason, Bypass, Policy, Profile};
use hickory_proto::op::{Edns, Message, MessageType, Metadata, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::opt::EdnsOption;
use hickory_proto::rr::rdata::{A, AAAA, CNAME, HINFO, SOA};
use hickory_proto::rr::{Name, RData, Record, RecordType};

/// EDNS option code of Extended DNS Errors (RFC 8914). hickory-proto 0.26 has no typed
/// option for it, so it travels as an unknown option: 2 bytes of info-code, then UTF-8 text.
pub(crate) const EDE_OPTION: u16 = 15;

/// EDE info-codes hedge uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u16)]
pub(crate) enum Ede {
    /// 0 Other.
    Other = 0,
    /// 3 Stale Answer (RFC 8767).
    StaleAnswer = 3,
    /// 15 Blocked: the operator's policy.
    Blocked = 15,
    /// 17 Filtered: a walled garden's allow-list.
    Filtered = 17,
    /// 18 Prohibited: the client is not allowed to use this listener.
    Prohibited = 18,
    /// 21 Not Supported: zone transfers and meta query types.
    NotSupported = 21,
    /// 22 No Reachable Authority.
    NoReachableAuthority = 22,
}

/// Our UDP payload size: the DNS Flag Day 2020 value, safe against fragmentation.
pub(crate) const EDNS_PAYLOAD: u16 = 1232;

/// Encodes an EDE option.
pub(crate) fn ede_option(code: Ede, text: &str) -> EdnsOption {
    let mut data = (code as u16).to_be_bytes().to_vec();
    data.extend_from_slice(text.as_bytes());
    EdnsOption::Unknown(EDE_OPTION, data)
}

/// Decodes the EDE options of a message: (info-code, extra text).
pub fn decode_ede(msg: &Message) -> Vec<(u16, String)> {
    let Some(edns) = &msg.edns else {
        return Vec::new();
    };
    edns.options()
        .as_ref()
        .iter()
        .filter_map(|(_, opt)| match opt {
            EdnsOption::Unknown(EDE_OPTION, data) if data.len() >= 2 => Some((
                u16::from_be_bytes([data[0], data[1]]),
                String::from_utf8_lossy(&data[2..]).into_owned(),
            )),
            _ => None,
        })
        .collect()
}

/// A response skeleton for `req`: same id, opcode, question and RD/CD; QR=1, RA=1, AA=0;
/// an OPT record only if the request had one.
pub(crate) fn response(req: &Message, rcode: ResponseCode) -> Message {
    let mut m = Message::new(req.metadata.id, MessageType::Response, req.metadata.op_code);
    m.metadata = Metadata::response_from_request(&req.metadata);
    m.metadata.recursion_available = true;
    m.metadata.response_code = rcode;
    m.queries = req.queries.clone();
    if req.edns.is_some() {
        let mut edns = Edns::new();
        edns.set_max_payload(EDNS_PAYLOAD);
        m.edns = Some(edns);
    }
    m
}

/// Adds an Extended DNS Error, if the client speaks EDNS (an OPT record may only answer one).
pub(crate) fn add_ede(m: &mut Message, code: Ede, text: &str) {
    if let Some(edns) = &mut m.edns {
        edns.options_mut().insert(ede_option(code, text));
    }
}

/// A synthesised SOA for negative answers hedge makes itself; `minimum` drives negative caching.
pub(crate) fn synthetic_soa(owner: &Name, ttl: u32) -> Record {
    let mname = Name::from_ascii("hedge.invalid.").unwrap_or_default();
    let rname = Name::from_ascii("blocked.hedge.invalid.").unwrap_or_default();
    Record::from_rdata(
        owner.clone(),
        ttl,
        RData::SOA(SOA::new(mname, rname, 1, 3600, 600, 86_400, ttl)),
    )
}

/// The answer to a blocked name, per the profile's action, with an EDE saying why.
pub(crate) fn sinkhole(
    req: &Message,
    query: &Query,
    profile: &Profile,
    ede: Ede,
    text: &str,
) -> Message {
    let ttl = profile.block_ttl;
    let name = query.name();
    let addresses = |v4: Vec<Ipv4Addr>, v6: Vec<Ipv6Addr>| -> Vec<Record> {
        match query.query_type() {
            RecordType::A => v4
                .into_iter()
                .map(|ip| Record::from_rdata(name.clone(), ttl, RData::A(A(ip))))
                .collect(),
            RecordType::AAAA => v6
                .into_iter()
                .map(|ip| Record::from_rdata(name.clone(), ttl, RData::AAAA(AAAA(ip))))
                .collect(),
            _ => Vec::new(),
        }
    };
    let mut m = match profile.action {
        BlockAction::Refuse => response(req, ResponseCode::Refused),
        BlockAction::Nxdomain => {
            let mut m = response(req, ResponseCode::NXDomain);
            m.authorities.push(synthetic_soa(name, ttl));
            m
        }
        BlockAction::Null | BlockAction::Redirect => {
            let (v4, v6) = if profile.action == BlockAction::Null {
                (vec![Ipv4Addr::UNSPECIFIED], vec![Ipv6Addr::UNSPECIFIED])
            } else {
                split_ips(&profile.redirect_to)
            };
            let mut m = response(req, ResponseCode::NoError);
            m.answers = addresses(v4, v6);
            if m.answers.is_empty() {
                m.authorities.push(synthetic_soa(name, ttl));
            }
            m
        }
    };
    add_ede(&mut m, ede, text);
    m
}

fn split_ips(ips: &[IpAddr]) -> (Vec<Ipv4Addr>, Vec<Ipv6Addr>) {
    let v4 = ips
        .iter()
        .filter_map(|ip| {
            if let IpAddr::V4(v) = ip {
                Some(*v)
            } else {
                None
            }
        })
        .collect();
    let v6 = ips
        .iter()
        .filter_map(|ip| {
            if let IpAddr::V6(v) = ip {
                Some(*v)
            } else {
                None
            }
        })
        .collect();
    (v4, v6)
}

/// NXDOMAIN or NODATA that hedge answers itself (bypass controls), with an SOA.
pub(crate) fn local_negative(
    req: &Message,
    query: &Query,
    nxdomain: bool,
    ttl: u32,
    text: &str,
) -> Message {
    let mut m = response(
        req,
        if nxdomain {
            ResponseCode::NXDomain
        } else {
            ResponseCode::NoError
        },
    );
    m.authorities.push(synthetic_soa(query.name(), ttl));
    add_ede(&mut m, Ede::Blocked, text);
    m
}

/// The EDE code and text of a block: category path, profile, index version, and the
/// portal's address when there is one.
pub(crate) fn block_text(
    policy: &Policy,
    p: &Profile,
    reason: BlockReason,
    version: &str,
    portal: Option<&str>,
) -> (Ede, String) {
    block_text_via(policy, p, reason, version, None, portal)
}

/// [`block_text`] for a block found on a CNAME target.
pub(crate) fn block_text_via(
    policy: &Policy,
    p: &Profile,
    reason: BlockReason,
    version: &str,
    via: Option<&str>,
    portal: Option<&str>,
) -> (Ede, String) {
    let (ede, mut text) = block_words(policy, p, reason, version, via);
    if let Some(url) = portal {
        text.push_str("; see ");
        text.push_str(url);
    }
    (ede, text)
}

fn block_words(
    policy: &Policy,
    p: &Profile,
    reason: BlockReason,
    version: &str,
    via: Option<&str>,
) -> (Ede, String) {
    let via = via.map(|t| format!(" via CNAME {t}")).unwrap_or_default();
    match reason {
        BlockReason::Category(c, _, _) | BlockReason::Recategorised(c, _, _) => (
            Ede::Blocked,
            format!(
                "blocked: {}{via} (profile {}, index {version})",
                policy.index().taxonomy().id(c),
                p.name
            ),
        ),
        BlockReason::CustomBlock(_) => (
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

/// The EDE text of a bypass control, naming the profile.
pub(crate) fn bypass_text(p: &Profile, b: Bypass) -> String {
    let why = match b {
        Bypass::DohCanary => "blocked: Firefox DoH canary, encrypted DNS would bypass the filter",
        Bypass::PrivateRelay => "blocked: iCloud Private Relay would bypass the filter",
        Bypass::Ddr => "blocked: encrypted resolver discovery (DDR) would bypass the filter",
    };
    format!("{why} (profile {})", p.name)
}

/// A CNAME record from `name` to `target`.
pub(crate) fn cname(name: &Name, target: &Name, ttl: u32) -> Record {
    Record::from_rdata(name.clone(), ttl, RData::CNAME(CNAME(target.clone())))
}

/// Writes a header-only answer with `rcode` for a packet that may not parse: its id,
/// opcode and RD echoed. False for packets that get no answer (shorter than a header,
/// or responses).
pub(crate) fn write_header_only(packet: &[u8], rcode: u8, out: &mut Vec<u8>) -> bool {
    if packet.len() < 12 || packet[2] & 0x80 != 0 {
        return false;
    }
    out.clear();
    out.extend_from_slice(&packet[..2]);
    out.push(0x80 | (packet[2] & 0x79)); // QR, opcode, RD
    out.push(0x80 | (rcode & 0x0f)); // RA
    out.extend_from_slice(&[0; 8]);
    true
}

/// FORMERR for a packet that does not parse: header only, id and opcode echoed if present.
pub(crate) fn formerr(packet: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(12);
    // Too short to carry an id, or a response: never answer those.
    write_header_only(packet, 1, &mut out).then_some(out)
}

/// SERVFAIL with an EDE for a packet the server could not handle (busy, internal error):
/// a full response when the packet parses, a bare header otherwise.
pub(crate) fn servfail_with_ede(packet: &[u8], why: &str) -> Option<Vec<u8>> {
    match Message::from_vec(packet) {
        Ok(req) if req.metadata.message_type == MessageType::Query => {
            let mut m = response(&req, ResponseCode::ServFail);
            add_ede(&mut m, Ede::Other, why);
            m.to_vec().ok()
        }
        Ok(_) => None,
        Err(_) => {
            let mut out = Vec::with_capacity(12);
            write_header_only(packet, 2, &mut out).then_some(out)
        }
    }
}

/// Encodes a response for a transport that carries at most `max` bytes; when it does not
/// fit, the answer is replaced by a truncated one (TC=1, question and OPT only), so the
/// client retries over TCP.
pub(crate) fn encode(m: &Message, max: usize) -> Option<Vec<u8>> {
    let bytes = m.to_vec().ok()?;
    if bytes.len() <= max {
        return Some(bytes);
    }
    let mut t = Message::new(m.metadata.id, MessageType::Response, m.metadata.op_code);
    t.metadata = m.metadata;
    t.metadata.truncation = true;
    t.queries = m.queries.clone();
    t.edns = m.edns.clone();
    t.to_vec().ok()
}

/// SERVFAIL for a response that could not be encoded, with an EDE saying so, and a
/// header-only SERVFAIL if even that fails: the client always gets an answer.
pub(crate) fn unencodable(m: &Message) -> Vec<u8> {
    // `m` answers a request with the same id, opcode, flags and question.
    let mut s = response(m, ResponseCode::ServFail);
    add_ede(&mut s, Ede::Other, "the answer could not be encoded");
    s.to_vec().unwrap_or_else(|_| {
        let mut out = Vec::with_capacity(12);
        out.extend_from_slice(&m.metadata.id.to_be_bytes());
        out.push(
            0x80 | (u8::from(m.metadata.op_code) << 3) | u8::from(m.metadata.recursion_desired),
        );
        out.push(0x80 | 2);
        out.extend_from_slice(&[0; 8]);
        out
    })
}

/// The answer to ANY for a name the policy allows (RFC 8482 section 4.2): one synthesised
/// HINFO record, CPU "RFC8482", instead of every record of the name. Nothing is asked
/// upstream, and the answer cannot be used to amplify traffic.
pub(crate) fn any_hinfo(req: &Message, query: &Query, ttl: u32) -> Message {
    let mut m = response(req, ResponseCode::NoError);
    m.answers.push(Record::from_rdata(
        query.name().clone(),
        ttl,
        RData::HINFO(HINFO::new("RFC8482".into(), String::new())),
    ));
    m
}

/// Whether an opcode is one hedge answers (QUERY); others get NOTIMP.
pub(crate) fn supported(op: OpCode) -> bool {
    op == OpCode::Query
}

#[cfg(test)]
mod tests {
    use hickory_proto::rr::rdata::TXT;

    use super::*;

    #[test]
    fn an_answer_that_cannot_be_encoded_becomes_servfail() {
        let mut req = Message::query();
        req.metadata.id = 0x1234;
        req.metadata.recursion_desired = true;
        let name = Name::from_ascii("t.example.").expect("name");
        req.add_query(Query::query(name.clone(), RecordType::TXT));
        req.edns = Some(Edns::new());
        let mut m = response(&req, ResponseCode::NoError);
        // A character-string longer than 255 bytes has no wire form.
        let txt = TXT::new(vec!["x".repeat(300)]);
        m.answers
            .push(Record::from_rdata(name, 60, RData::TXT(txt)));
        assert!(
            encode(&m, 65_535).is_none(),
            "the test needs an unencodable answer"
        );
        let reply = Message::from_vec(&unencodable(&m)).expect("SERVFAIL parses");
        assert_eq!(reply.metadata.response_code, ResponseCode::ServFail);
        assert_eq!(reply.metadata.id, 0x1234);
        assert!(reply.metadata.recursion_desired);
        assert_eq!(reply.queries, req.queries);
        assert!(reply.answers.is_empty());
        assert_eq!(
            decode_ede(&reply),
            vec![(0, "the answer could not be encoded".to_string())]
        );
    }
}
