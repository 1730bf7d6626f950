//! End-to-end: protocol edges. EDNS versions, meta query types and ANY are answered by
//! hedge itself, never sent upstream; clients outside a listener's ACL are refused on the
//! receiving thread (UDP) or at accept (TCP), before they cost a query slot.

mod support;

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use hedge_testkit::client::{exchange_tcp, exchange_udp, query};
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{RData, RecordType};
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, UdpSocket};

/// The response code as its number (hickory reads 16 as BADSIG, which BADVERS shares).
fn code(m: &Message) -> u16 {
    u16::from(m.metadata.response_code)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_edns_version_other_than_0_gets_badvers() {
    let (hedge, server, upstream) = start_forwarding("127.0.0.0/8", "").await;
    for name in [names::WWW_EXAMPLE_COM, "www.bet365.com."] {
        let mut q = query(name, RecordType::A).expect("query");
        if let Some(edns) = q.edns.as_mut() {
            edns.set_version(1);
        }
        // UDP takes the fast path, TCP the full one.
        for (transport, m) in [
            ("udp", exchange_udp(server, &q).await),
            ("tcp", exchange_tcp(server, &q).await),
        ] {
            let m = m.unwrap_or_else(|e| panic!("{transport} {name}: {e}"));
            assert_eq!(code(&m), 16, "{transport} {name}: BADVERS, got {m:?}");
            let edns = m.edns.as_ref().expect("BADVERS travels in an OPT record");
            assert_eq!(edns.version(), 0, "the version hedge speaks");
            assert!(m.answers.is_empty(), "{transport} {name}");
            assert_eq!(m.metadata.id, q.metadata.id);
        }
    }
    assert_eq!(upstream.queries_answered(), 0, "never sent upstream");
    // Version 0 still works.
    let m = udp(server, names::WWW_EXAMPLE_COM, RecordType::A).await;
    assert_eq!(ips(&m), vec![names::WWW_EXAMPLE_COM_A.to_string()]);
    drop(hedge);
}

#[tokio::test(flavor = "multi_thread")]
async fn zone_transfers_and_meta_types_are_refused_locally() {
    let (hedge, server, upstream) = start_forwarding("127.0.0.0/8", "").await;
    let cases = [
        (RecordType::AXFR, ResponseCode::Refused),
        (RecordType::IXFR, ResponseCode::Refused),
        (RecordType::from(253), ResponseCode::NotImp), // MAILB
        (RecordType::from(254), ResponseCode::NotImp), // MAILA
        (RecordType::TSIG, ResponseCode::NotImp),
        (RecordType::from(249), ResponseCode::NotImp), // TKEY
        (RecordType::OPT, ResponseCode::NotImp),
        (RecordType::from(200), ResponseCode::NotImp), // an unassigned meta type
    ];
    for (qtype, expected) in cases {
        // A blocked name too: a meta type is refused before the policy is asked.
        for name in [names::WWW_EXAMPLE_COM, "www.bet365.com."] {
            let q = query(name, qtype).expect("query");
            for (transport, m) in [
                ("udp", exchange_udp(server, &q).await),
                ("tcp", exchange_tcp(server, &q).await),
            ] {
                let m = m.unwrap_or_else(|e| panic!("{transport} {name} {qtype}: {e}"));
                let what = format!("{transport} {name} {qtype}");
                assert_eq!(m.metadata.response_code, expected, "{what}");
                assert!(m.answers.is_empty(), "{what}");
                let e = ede(&m);
                assert_eq!(
                    e.first().map(|e| e.0),
                    Some(21),
                    "{what}: EDE Not Supported"
                );
            }
        }
    }
    assert_eq!(upstream.queries_answered(), 0, "never sent upstream");
    drop(hedge);
}

#[tokio::test(flavor = "multi_thread")]
async fn any_gets_the_rfc_8482_hinfo_and_blocked_names_stay_blocked() {
    let (hedge, server, upstream) = start_forwarding("127.0.0.0/8", "").await;
    for transport in ["udp", "tcp"] {
        let q = query(names::WWW_EXAMPLE_COM, RecordType::ANY).expect("query");
        let m = match transport {
            "udp" => exchange_udp(server, &q).await,
            _ => exchange_tcp(server, &q).await,
        }
        .expect("ANY");
        assert_eq!(
            m.metadata.response_code,
            ResponseCode::NoError,
            "{transport}"
        );
        let hinfo: Vec<_> = m
            .answers
            .iter()
            .filter_map(|r| match &r.data {
                RData::HINFO(h) => Some((
                    String::from_utf8_lossy(&h.cpu).into_owned(),
                    String::from_utf8_lossy(&h.os).into_owned(),
                )),
                _ => None,
            })
            .collect();
        assert_eq!(
            hinfo,
            vec![("RFC8482".to_string(), String::new())],
            "{transport}"
        );
        let m = match transport {
            "udp" => {
                exchange_udp(
                    server,
                    &query("www.bet365.com.", RecordType::ANY).expect("q"),
                )
                .await
            }
            _ => {
                exchange_tcp(
                    server,
                    &query("www.bet365.com.", RecordType::ANY).expect("q"),
                )
                .await
            }
        }
        .expect("ANY blocked");
        assert!(
            m.answers.is_empty(),
            "{transport}: NODATA for a blocked name"
        );
        assert_eq!(ede(&m).first().map(|e| e.0), Some(15), "{transport}");
    }
    assert_eq!(upstream.queries_answered(), 0, "ANY is never sent upstream");
    drop(hedge);
}

/// A UDP exchange from a chosen source address.
async fn udp_from(source: Ipv4Addr, server: SocketAddr, packet: &[u8]) -> Option<Vec<u8>> {
    let socket = UdpSocket::bind((source, 0)).await.expect("bind");
    socket.send_to(packet, server).await.expect("send");
    let mut buf = vec![0u8; 2048];
    let got = tokio::time::timeout(Duration::from_secs(2), socket.recv(&mut buf)).await;
    got.ok().map(|n| buf[..n.expect("recv")].to_vec())
}

#[tokio::test(flavor = "multi_thread")]
async fn clients_outside_the_acl_are_refused_without_a_query_slot() {
    // An upstream that never answers keeps the one UDP slot busy for the whole timeout.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    let silent_addr = silent.local_addr().expect("addr");
    let (l, server) = listener("p", "127.0.0.1/32");
    let config = format!(
        "[[profile]]\nname = \"p\"\n{l}\n[server]\nudp_in_flight = 1\n{}",
        forward_upstream(&[silent_addr], 3000)
    );
    let hedge = Hedge::start(&config);
    let busy = query(names::WWW_EXAMPLE_COM, RecordType::A).expect("query");
    let inside = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    inside
        .send_to(&busy.to_vec().expect("encode"), server)
        .await
        .expect("send");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let outside = Ipv4Addr::new(127, 9, 0, 1);
    let q = query(names::WWW_EXAMPLE_COM, RecordType::A).expect("query");
    let started = Instant::now();
    let reply = udp_from(outside, server, &q.to_vec().expect("encode"))
        .await
        .expect("an answer to a client outside the ACL");
    let m = Message::from_vec(&reply).expect("parse");
    assert_eq!(
        m.metadata.response_code,
        ResponseCode::Refused,
        "refused, not `busy`, although every query slot is taken: {m:?}"
    );
    assert_eq!(ede(&m).first().map(|e| e.0), Some(18), "EDE Prohibited");
    assert_eq!(m.queries, q.queries, "the question is echoed");
    assert!(started.elapsed() < Duration::from_secs(1));
    // Garbage from outside is refused too, without being parsed.
    let reply = udp_from(
        outside,
        server,
        b"\x12\x34\x01\x00\x00\x05\xff\xff\xff\xff\xff\xff\x03ab",
    )
    .await
    .expect("an answer");
    assert_eq!(&reply[..2], b"\x12\x34", "id echoed");
    assert_eq!(reply[3] & 0x0f, 5, "REFUSED");
    assert_eq!(reply.len(), 12, "header only");
    drop(hedge);
}

#[tokio::test(flavor = "multi_thread")]
async fn tcp_from_outside_the_acl_is_closed_at_accept_and_takes_no_slot() {
    let (hedge, server, _upstream) =
        start_forwarding("127.0.0.1/32", "[server]\ntcp_connections = 1\n").await;
    let outsider = || async {
        let socket = TcpSocket::new_v4().expect("socket");
        socket
            .bind(SocketAddr::from(([127, 9, 0, 1], 0)))
            .expect("bind");
        let mut stream = socket.connect(server).await.expect("connect");
        let q = query(names::WWW_EXAMPLE_COM, RecordType::A)
            .expect("query")
            .to_vec()
            .expect("encode");
        let _ = stream.write_all(&(q.len() as u16).to_be_bytes()).await;
        let _ = stream.write_all(&q).await;
        let mut buf = [0u8; 512];
        let read = tokio::time::timeout(Duration::from_secs(2), stream.read(&mut buf)).await;
        assert!(
            matches!(read, Ok(Ok(0) | Err(_))),
            "closed without an answer, got {read:?}"
        );
    };
    outsider().await;
    // The one slot is held by an allowed, idle connection; an outsider does not take it.
    let mut inside = tokio::net::TcpStream::connect(server)
        .await
        .expect("connect");
    tokio::time::sleep(Duration::from_millis(100)).await;
    outsider().await;
    let q = query(names::WWW_EXAMPLE_COM, RecordType::A)
        .expect("query")
        .to_vec()
        .expect("encode");
    inside
        .write_all(&(q.len() as u16).to_be_bytes())
        .await
        .expect("write");
    inside.write_all(&q).await.expect("write");
    let len = tokio::time::timeout(Duration::from_secs(3), inside.read_u16())
        .await
        .expect("an answer on the allowed connection")
        .expect("read");
    let mut buf = vec![0u8; usize::from(len)];
    inside.read_exact(&mut buf).await.expect("read");
    let m = Message::from_vec(&buf).expect("parse");
    assert_eq!(ips(&m), vec![names::WWW_EXAMPLE_COM_A.to_string()]);
    drop(hedge);
}
