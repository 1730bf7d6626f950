//! `hedge-bench-root`: a tiny authoritative DNS hierarchy on loopback for bench/.
//!
//! Three UDP servers on port 53 of the first free network `127.54.N.0/24` (a different range
//! from hedge-testkit's `127.53.N.0/24`, so benchmarks and tests never collide):
//!
//! | address | zone | serves |
//! |---|---|---|
//! | `127.54.N.1` | `.` | delegates `test.` to `ns.test.` |
//! | `127.54.N.2` | `test.` | delegates `bench.test.` to `ns.bench.test.` |
//! | `127.54.N.3` | `bench.test.` | every name below it: `A 192.0.2.1`, `AAAA 2001:db8::1` |
//!
//! So a benchmark has as many distinct resolvable names as it likes (`w123.bench.test.`),
//! and a recursive resolver walks a real referral chain to reach them. Everything else is
//! NXDOMAIN with the zone's SOA. TTLs are a day (negative answers 300 s), so caches stay warm
//! for a whole run. No TCP, no EDNS, no DNSSEC: the answers are small.
//!
//! Prints `root 127.54.N.1` on stdout once every server is listening, then serves until
//! killed (SIGTERM or SIGINT).

use std::io::{self, Write};
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::thread;

const TTL: u32 = 86_400;
const NEGATIVE_TTL: u32 = 300;
const ANSWER_A: [u8; 4] = [192, 0, 2, 1];
const ANSWER_AAAA: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];

const TYPE_A: u16 = 1;
const TYPE_NS: u16 = 2;
const TYPE_SOA: u16 = 6;
const TYPE_AAAA: u16 = 28;
const CLASS_IN: u16 = 1;

const RCODE_NOERROR: u8 = 0;
const RCODE_NXDOMAIN: u8 = 3;
const RCODE_NOTIMP: u8 = 4;

/// Which server of the hierarchy a socket is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Root,
    Test,
    Bench,
}

impl Role {
    /// Zone apex, as lower-case labels from the root side (`["test", "bench"]`).
    fn zone(self) -> &'static [&'static str] {
        match self {
            Role::Root => &[],
            Role::Test => &["test"],
            Role::Bench => &["test", "bench"],
        }
    }
    /// The delegated child zone, its name server and that server's host number.
    fn child(self) -> Option<(&'static [&'static str], &'static [&'static str], u8)> {
        match self {
            Role::Root => Some((&["test"], &["test", "ns"], 2)),
            Role::Test => Some((&["test", "bench"], &["test", "bench", "ns"], 3)),
            Role::Bench => None,
        }
    }
    fn host(self) -> u8 {
        match self {
            Role::Root => 1,
            Role::Test => 2,
            Role::Bench => 3,
        }
    }
    /// The apex's name server name.
    fn ns(self) -> &'static [&'static str] {
        match self {
            Role::Root => &["test", "root", "a"],
            Role::Test => &["test", "ns"],
            Role::Bench => &["test", "bench", "ns"],
        }
    }
}

fn main() {
    let (network, sockets) = match bind_first_free() {
        Ok(found) => found,
        Err(error) => {
            eprintln!("hedge-bench-root: {error}");
            std::process::exit(1);
        }
    };
    let mut threads = Vec::new();
    for (role, socket) in sockets {
        threads.push(thread::spawn(move || serve(role, network, &socket)));
    }
    let root = Ipv4Addr::new(network[0], network[1], network[2], Role::Root.host());
    let mut stdout = io::stdout();
    if writeln!(stdout, "root {root}")
        .and_then(|()| stdout.flush())
        .is_err()
    {
        std::process::exit(1);
    }
    for handle in threads {
        if handle.join().is_err() {
            std::process::exit(1);
        }
    }
}

type Bound = ([u8; 3], Vec<(Role, UdpSocket)>);

fn bind_first_free() -> io::Result<Bound> {
    for n in 0..=u8::MAX {
        let network = [127, 54, n];
        let mut sockets = Vec::new();
        let mut busy = false;
        for role in [Role::Root, Role::Test, Role::Bench] {
            let addr = Ipv4Addr::new(network[0], network[1], network[2], role.host());
            match UdpSocket::bind(SocketAddrV4::new(addr, 53)) {
                Ok(socket) => sockets.push((role, socket)),
                Err(error) if error.kind() == io::ErrorKind::AddrInUse => {
                    busy = true;
                    break;
                }
                Err(error) => {
                    return Err(io::Error::new(
                        error.kind(),
                        format!(
                            "cannot bind {addr}:53 ({error}); run as root or grant CAP_NET_BIND_SERVICE"
                        ),
                    ));
                }
            }
        }
        if !busy {
            return Ok((network, sockets));
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AddrInUse,
        "every network 127.54.0.0/24 ..= 127.54.255.0/24 has a busy port 53",
    ))
}

fn serve(role: Role, network: [u8; 3], socket: &UdpSocket) {
    let mut buf = [0u8; 1500];
    let mut out = Vec::with_capacity(512);
    loop {
        let Ok((len, peer)) = socket.recv_from(&mut buf) else {
            continue;
        };
        out.clear();
        if answer(role, network, &buf[..len], &mut out).is_some() {
            // A lost answer is the client's retry to make.
            let _ = socket.send_to(&out, peer);
        }
    }
}

/// A parsed question: lower-case labels (root side first), type, and where it ends.
struct Question {
    labels: Vec<String>,
    qtype: u16,
    end: usize,
}

fn parse_question(packet: &[u8]) -> Option<Question> {
    let mut pos = 12;
    let mut labels = Vec::new();
    loop {
        let len = usize::from(*packet.get(pos)?);
        pos += 1;
        if len == 0 {
            break;
        }
        if len > 63 {
            return None;
        }
        let label = packet.get(pos..pos + len)?;
        labels.push(String::from_utf8_lossy(label).to_ascii_lowercase());
        pos += len;
    }
    labels.reverse();
    let qtype = u16::from_be_bytes([*packet.get(pos)?, *packet.get(pos + 1)?]);
    let qclass = u16::from_be_bytes([*packet.get(pos + 2)?, *packet.get(pos + 3)?]);
    if qclass != CLASS_IN {
        return None;
    }
    Some(Question {
        labels,
        qtype,
        end: pos + 4,
    })
}

fn under(name: &[String], zone: &[&str]) -> bool {
    name.len() >= zone.len() && name.iter().zip(zone).all(|(a, b)| a == b)
}

/// Writes the response to `packet` into `out`; `None` for packets not worth answering.
fn answer(role: Role, network: [u8; 3], packet: &[u8], out: &mut Vec<u8>) -> Option<()> {
    if packet.len() < 12 || packet[2] & 0x80 != 0 {
        return None;
    }
    let opcode = (packet[2] >> 3) & 0x0f;
    let qdcount = u16::from_be_bytes([packet[4], packet[5]]);
    if opcode != 0 || qdcount != 1 {
        header(out, packet, false, RCODE_NOTIMP, [0, 0, 0, 0]);
        return Some(());
    }
    let q = parse_question(packet)?;
    let addr = |host: u8| [network[0], network[1], network[2], host];
    let mut body = Vec::with_capacity(256);
    let (aa, rcode, counts);
    if let Some((child, child_ns, child_host)) =
        role.child().filter(|(c, _, _)| under(&q.labels, c))
    {
        // Referral: NS in authority, glue in additional.
        aa = false;
        rcode = RCODE_NOERROR;
        record(
            &mut body,
            Owner::Name(child),
            TYPE_NS,
            TTL,
            &name_rdata(child_ns),
        );
        record(
            &mut body,
            Owner::Name(child_ns),
            TYPE_A,
            TTL,
            &addr(child_host),
        );
        counts = [0, 1, 1];
    } else if under(&q.labels, role.zone()) {
        aa = true;
        let zone = role.zone();
        let rel = &q.labels[zone.len()..];
        let glue: Option<(&[&str], u8)> = match (role, rel) {
            (Role::Test, [r, a]) if r == "root" && a == "a" => Some((Role::Root.ns(), 1)),
            (Role::Test, [ns]) if ns == "ns" => Some((Role::Test.ns(), 2)),
            (Role::Bench, [ns]) if ns == "ns" => Some((Role::Bench.ns(), 3)),
            _ => None,
        };
        if rel.is_empty() && q.qtype == TYPE_NS {
            rcode = RCODE_NOERROR;
            record(
                &mut body,
                Owner::Question,
                TYPE_NS,
                TTL,
                &name_rdata(role.ns()),
            );
            let (ns, host) = (role.ns(), role.host());
            record(&mut body, Owner::Name(ns), TYPE_A, TTL, &addr(host));
            counts = [1, 0, 1];
        } else if rel.is_empty() && q.qtype == TYPE_SOA {
            rcode = RCODE_NOERROR;
            record(&mut body, Owner::Question, TYPE_SOA, TTL, &soa_rdata(role));
            counts = [1, 0, 0];
        } else if let Some((_, host)) = glue.filter(|_| q.qtype == TYPE_A) {
            rcode = RCODE_NOERROR;
            record(&mut body, Owner::Question, TYPE_A, TTL, &addr(host));
            counts = [1, 0, 0];
        } else if role == Role::Bench && q.qtype == TYPE_A && glue.is_none() {
            rcode = RCODE_NOERROR;
            record(&mut body, Owner::Question, TYPE_A, TTL, &ANSWER_A);
            counts = [1, 0, 0];
        } else if role == Role::Bench && q.qtype == TYPE_AAAA && glue.is_none() {
            rcode = RCODE_NOERROR;
            record(&mut body, Owner::Question, TYPE_AAAA, TTL, &ANSWER_AAAA);
            counts = [1, 0, 0];
        } else {
            // NODATA for names that exist, NXDOMAIN otherwise; SOA in authority either way.
            let exists = rel.is_empty() || glue.is_some() || role == Role::Bench;
            rcode = if exists {
                RCODE_NOERROR
            } else {
                RCODE_NXDOMAIN
            };
            record(
                &mut body,
                Owner::Name(zone),
                TYPE_SOA,
                NEGATIVE_TTL,
                &soa_rdata(role),
            );
            counts = [0, 1, 0];
        }
    } else {
        return None;
    }
    header(out, packet, aa, rcode, [1, counts[0], counts[1], counts[2]]);
    out.extend_from_slice(&packet[12..q.end]);
    out.extend_from_slice(&body);
    Some(())
}

fn header(out: &mut Vec<u8>, query: &[u8], aa: bool, rcode: u8, counts: [u16; 4]) {
    out.extend_from_slice(&query[0..2]);
    let rd = query[2] & 0x01;
    let opcode = query[2] & 0x78;
    out.push(0x80 | opcode | if aa { 0x04 } else { 0 } | rd);
    out.push(rcode);
    for count in counts {
        out.extend_from_slice(&count.to_be_bytes());
    }
}

enum Owner<'a> {
    /// A pointer to the question's name (keeps the client's case).
    Question,
    /// Labels, root side first.
    Name(&'a [&'a str]),
}

fn record(out: &mut Vec<u8>, owner: Owner<'_>, rtype: u16, ttl: u32, rdata: &[u8]) {
    match owner {
        Owner::Question => out.extend_from_slice(&[0xc0, 0x0c]),
        Owner::Name(labels) => encode_name(out, labels),
    }
    out.extend_from_slice(&rtype.to_be_bytes());
    out.extend_from_slice(&CLASS_IN.to_be_bytes());
    out.extend_from_slice(&ttl.to_be_bytes());
    let len = u16::try_from(rdata.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(rdata);
}

fn encode_name(out: &mut Vec<u8>, labels: &[&str]) {
    for label in labels.iter().rev() {
        // Labels here are short constants.
        out.push(u8::try_from(label.len()).unwrap_or(63));
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
}

fn name_rdata(labels: &[&str]) -> Vec<u8> {
    let mut out = Vec::new();
    encode_name(&mut out, labels);
    out
}

fn soa_rdata(role: Role) -> Vec<u8> {
    let mut out = Vec::new();
    encode_name(&mut out, role.ns());
    let mut rname = role.zone().to_vec();
    rname.push("hostmaster");
    encode_name(&mut out, &rname);
    for value in [1u32, 3600, 600, 604_800, NEGATIVE_TTL] {
        out.extend_from_slice(&value.to_be_bytes());
    }
    out
}
