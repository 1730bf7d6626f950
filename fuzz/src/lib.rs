//! What the fuzz targets share: a small real policy, an in-process upstream that answers at
//! once, and the index "repair" that lets mutated index files past the checksum.

#![allow(clippy::unwrap_used, clippy::expect_used)] // set-up failures must stop the fuzzer

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::path::Path;
use std::sync::Arc;

use hedge_dns::{ForwardProtocol, ForwardServer, Snapshot, UpstreamConfig, UpstreamMode};
use hedge_lists::{Compiler, Format, Index, Taxonomy};
use hedge_policy::{Policy, ProfileConfig, YoutubeRestrict};
use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, CNAME, SOA};
use hickory_proto::rr::{Name, RData, Record, RecordType};

/// Names listed in the small index, by category (the seeds ask for them).
pub const LISTED: &[(&str, &str)] = &[
    ("gambling", "bet365.com\nbet.example\n"),
    ("adult-material", "nude.example\nmixed.example\n"),
    ("internet-communication/web-chat", "chatroom.example\n"),
    ("productivity/advertisements", "adtracker.net\n"),
    ("entertainment/streaming-media", "netflix.com\n"),
];

/// The list formats, in the order a list input's first byte picks them.
const FORMATS: [Format; 5] = [
    Format::Plain,
    Format::Hosts,
    Format::Adblock,
    Format::Ut1,
    Format::Rpz,
];

/// A list target's input: its first byte picks the format, the rest is the list file.
pub fn list_input(data: &[u8]) -> Option<(Format, &[u8])> {
    let (&pick, text) = data.split_first()?;
    Some((FORMATS[usize::from(pick) % FORMATS.len()], text))
}

/// A small compiled index over [`LISTED`].
pub fn small_index() -> Arc<Index> {
    let taxonomy = Taxonomy::builtin();
    let mut compiler = Compiler::new(&taxonomy);
    for (category, names) in LISTED {
        compiler
            .add_text(
                &category.replace('/', "-"),
                Format::Plain,
                &[category.to_string()],
                names.as_bytes(),
                "fuzz",
            )
            .unwrap();
    }
    Arc::new(Index::from_bytes(compiler.finish(&mut |_| {}).unwrap().bytes).unwrap())
}

/// One filtering profile that exercises every decision: categories, custom domains,
/// SafeSearch and YouTube rewrites, and the bypass controls (on by default).
pub fn small_policy() -> Arc<Policy> {
    let child = ProfileConfig {
        name: "child".into(),
        block: vec![
            "gambling".into(),
            "adult-material".into(),
            "internet-communication/web-chat".into(),
        ],
        block_domains: vec!["watchlive.channel4.com".into(), "blocked.test".into()],
        allow_domains: vec!["ok.bet365.com".into()],
        safesearch: Some(true),
        youtube_restrict: Some(YoutubeRestrict::Strict),
        ..ProfileConfig::default()
    };
    Arc::new(Policy::new(small_index(), vec![child], Path::new(".")).unwrap())
}

/// The snapshot of one listener serving [`small_policy`].
pub fn snapshot() -> Snapshot {
    Snapshot {
        policy: small_policy(),
        listener_profiles: vec![0],
        observer: None,
        portal_url: None,
        portal_name: None,
    }
}

/// The state of one listener (allowing 127.0.0.0/8) serving [`snapshot`], forwarding to
/// `upstream`. Call it inside a tokio runtime when the upstream is used.
pub fn harness(upstream: SocketAddr) -> hedge_dns::fuzz::Harness {
    let allow = vec!["127.0.0.0/8".parse().unwrap()];
    hedge_dns::fuzz::Harness::new(allow, &forward_to(upstream), snapshot()).unwrap()
}

/// Forwarding to `addr` over UDP, with a short timeout: a lost datagram costs 200 ms, not 3 s.
pub fn forward_to(addr: SocketAddr) -> UpstreamConfig {
    UpstreamConfig {
        mode: UpstreamMode::Forward,
        servers: vec![ForwardServer {
            address: addr.ip(),
            protocol: ForwardProtocol::Udp,
            port: Some(addr.port()),
            tls_name: None,
            path: None,
            ca_file: None,
        }],
        timeout_ms: 200,
        ..UpstreamConfig::default()
    }
}

/// Starts an upstream on 127.0.0.1 (a thread, for the life of the process) that answers
/// every question at once:
/// - `nx.*`: NXDOMAIN with an SOA;
/// - `cname.REST`: a CNAME to REST (so inputs reach the CNAME-cloaking check);
/// - A and AAAA: an address, TTL 300; any other type: NODATA with an SOA.
pub fn start_upstream() -> SocketAddr {
    let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let addr = socket.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        loop {
            let Ok((len, from)) = socket.recv_from(&mut buf) else {
                continue;
            };
            let Ok(req) = Message::from_vec(&buf[..len]) else {
                continue;
            };
            if let Some(bytes) = upstream_answer(&req).and_then(|m| m.to_vec().ok()) {
                let _ = socket.send_to(&bytes, from);
            }
        }
    });
    addr
}

fn upstream_answer(req: &Message) -> Option<Message> {
    let q = req.queries.first()?.clone();
    let mut m = Message::new(req.metadata.id, MessageType::Response, OpCode::Query);
    m.metadata.recursion_desired = req.metadata.recursion_desired;
    m.metadata.recursion_available = true;
    m.add_query(q.clone());
    let name = q.name().clone();
    let first = name.iter().next().map(|l| l.to_ascii_lowercase());
    let soa = || {
        let zone = Name::from_ascii("test.").unwrap();
        Record::from_rdata(
            zone.clone(),
            60,
            RData::SOA(SOA::new(zone.clone(), zone, 1, 3600, 600, 86_400, 30)),
        )
    };
    match (first.as_deref(), q.query_type()) {
        (Some(b"nx"), _) => {
            m.metadata.response_code = ResponseCode::NXDomain;
            m.authorities.push(soa());
        }
        (Some(b"cname"), _) if name.num_labels() > 1 => {
            let target = name.base_name();
            m.answers
                .push(Record::from_rdata(name, 300, RData::CNAME(CNAME(target))));
        }
        (_, RecordType::A) => m.answers.push(Record::from_rdata(
            name,
            300,
            RData::A(A(Ipv4Addr::new(192, 0, 2, 1))),
        )),
        (_, RecordType::AAAA) => m.answers.push(Record::from_rdata(
            name,
            300,
            RData::AAAA(AAAA(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1))),
        )),
        _ => m.authorities.push(soa()),
    }
    Some(m)
}

/// Clients the harness's listener allows (127.0.0.0/8) and refuses.
pub const ALLOWED_CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 9));
/// A client outside the listener's ACL.
pub const REFUSED_CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 77));

const INDEX_HEADER: usize = 32;
const INDEX_TRAILER: usize = 16;

/// Makes a mutated index file self-consistent where a fuzzer cannot: the FST length
/// follows from the file's length and the metadata length in the header, and the trailer
/// gets the right checksum and end magic. A hostile file can do the same, so this lets the
/// fuzzer reach the metadata and FST checks behind the checksum. None when the header is
/// not a hedge header or the lengths cannot fit.
pub fn repair_index(data: &[u8]) -> Option<Vec<u8>> {
    if data.len() < INDEX_HEADER + INDEX_TRAILER || &data[..8] != hedge_lists::MAGIC {
        return None;
    }
    let meta_len = usize::try_from(u64::from_le_bytes(data[16..24].try_into().ok()?)).ok()?;
    let fst_start = INDEX_HEADER
        .checked_add(meta_len)?
        .checked_next_multiple_of(8)?;
    let fst_end = data.len() - INDEX_TRAILER;
    let fst_len = fst_end.checked_sub(fst_start)?;
    let mut out = data.to_vec();
    out[24..32].copy_from_slice(&(fst_len as u64).to_le_bytes());
    let sum = xxhash_rust::xxh3::xxh3_64(&out[..fst_end]);
    out[fst_end..fst_end + 8].copy_from_slice(&sum.to_le_bytes());
    out[fst_end + 8..].copy_from_slice(b"HEDGEEND");
    Some(out)
}
