//! [`Upstream`]: one server for every zone, on any loopback port.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use hedge_testkit::{Upstream, client, names};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{RData, RecordType};
use hickory_resolver::Resolver;
use hickory_resolver::config::{NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;

#[tokio::test]
async fn upstream_answers_every_zone_over_udp_and_tcp() {
    let upstream = Upstream::start_local()
        .await
        .expect("a free port on 127.0.0.1");
    let addr = upstream.addr();
    assert_eq!(addr.ip(), IpAddr::V4(Ipv4Addr::LOCALHOST));
    assert_ne!(addr.port(), 0);

    for (owner, address) in names::A_RECORDS {
        let response = client::query_udp(addr, owner, RecordType::A).await;
        let response = response.unwrap_or_else(|e| panic!("{owner}: {e}"));
        assert!(response.metadata.authoritative, "{owner}");
        assert_eq!(response.answers.len(), 1, "{owner}: {:?}", response.answers);
        assert_eq!(
            response.answers[0].data,
            RData::A((*address).into()),
            "{owner}"
        );
    }

    let response = client::query_tcp(addr, names::BIG_EXAMPLE_COM, RecordType::TXT).await;
    assert_eq!(
        response.expect("TCP works").answers.len(),
        names::BIG_TXT_COUNT
    );

    let response = client::query_udp(addr, names::NXDOMAIN_EXAMPLE_COM, RecordType::A).await;
    let response = response.expect("answers");
    assert_eq!(response.metadata.response_code, ResponseCode::NXDomain);

    // An authoritative server stops at the zone's edge: the client follows the chain.
    let response = client::query_udp(addr, names::ALIAS_EXAMPLE_COM, RecordType::A).await;
    let answers = response.expect("answers").answers;
    assert_eq!(answers.len(), 1, "{answers:?}");
    assert_eq!(answers[0].record_type(), RecordType::CNAME);

    assert_eq!(
        upstream.queries_answered(),
        names::A_RECORDS.len() as u64 + 3
    );
}

#[tokio::test]
async fn upstream_binds_ipv6_loopback_refuses_others_and_stops() {
    let error = Upstream::start(SocketAddr::from(([192, 0, 2, 1], 0)))
        .await
        .err();
    assert_eq!(
        error.map(|e| e.kind()),
        Some(std::io::ErrorKind::InvalidInput)
    );

    let mut upstream = Upstream::start(SocketAddr::new(Ipv6Addr::LOCALHOST.into(), 0))
        .await
        .unwrap_or_else(|error| panic!("{error} (this test needs IPv6 on loopback: ::1)"));
    let addr = upstream.addr();
    let response = client::query_udp(addr, names::WWW_EXAMPLE_COM, RecordType::AAAA).await;
    let answers = response.expect("answers over IPv6").answers;
    assert_eq!(
        answers[0].data,
        RData::AAAA(names::WWW_EXAMPLE_COM_AAAA.into())
    );

    upstream.shutdown();
    upstream.shutdown();
    let udp = client::query_udp(addr, names::WWW_EXAMPLE_COM, RecordType::A).await;
    assert!(udp.is_err(), "answer after shutdown: {udp:?}");
    let tcp = client::query_tcp(addr, names::WWW_EXAMPLE_COM, RecordType::A).await;
    assert!(tcp.is_err(), "answer after shutdown: {tcp:?}");
}

#[tokio::test]
async fn a_forwarding_resolver_follows_chains_across_zones_through_upstream() {
    let upstream = Upstream::start_local()
        .await
        .expect("a free port on 127.0.0.1");
    let mut server = NameServerConfig::udp_and_tcp(upstream.addr().ip());
    for connection in &mut server.connections {
        connection.port = upstream.addr().port();
    }
    let config = ResolverConfig::from_name_servers(vec![server]);
    let resolver = Resolver::builder_with_config(config, TokioRuntimeProvider::new())
        .build()
        .expect("resolver builds");

    for (owner, address) in [
        (names::DEEP_EXAMPLE_COM, names::WWW_EXAMPLE_NET_A),
        (names::KIDS_EXAMPLE_ORG, names::KIDS_SITE_CDN_PROVIDER_NET_A),
        (
            names::METRICS_TRACKER_CLOAK_COM,
            names::COLLECTOR_ADTRACKER_NET_A,
        ),
        (names::HOST_SUB_EXAMPLE_COM, names::HOST_SUB_EXAMPLE_COM_A),
    ] {
        let lookup = resolver.lookup(owner, RecordType::A).await;
        let lookup = lookup.unwrap_or_else(|e| panic!("{owner}: {e}"));
        let addresses: Vec<RData> = lookup
            .answers()
            .iter()
            .filter(|record| record.record_type() == RecordType::A)
            .map(|record| record.data.clone())
            .collect();
        assert_eq!(addresses, [RData::A(address.into())], "{owner}");
    }
    let txt = resolver
        .lookup(names::BIG_EXAMPLE_COM, RecordType::TXT)
        .await;
    assert_eq!(
        txt.expect("TCP fallback").answers().len(),
        names::BIG_TXT_COUNT
    );
    let missing = resolver
        .lookup(names::DANGLING_EXAMPLE_COM, RecordType::A)
        .await;
    let error = missing.expect_err("dangling chain");
    assert!(error.is_nx_domain(), "{error}");
}
