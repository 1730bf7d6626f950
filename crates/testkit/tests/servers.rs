//! The fake internet's servers, queried directly with the bare client: referrals with glue,
//! authoritative answers, negative answers with the SOA, truncation, counting, shutdown.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use hedge_testkit::{FakeInternet, client, names};
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{Name, RData, Record, RecordType};

// Port 53 for the fake internet, whoever runs the tests.
hedge_testkit::port_53_for_any_user!();

fn name(text: &str) -> Name {
    Name::from_ascii(text).expect("valid name")
}

fn server(internet: &FakeInternet, zone: &str) -> SocketAddr {
    internet.server_for(zone).expect("a standard zone")
}

fn ipv4s(records: &[Record]) -> Vec<Ipv4Addr> {
    records
        .iter()
        .filter_map(|record| match &record.data {
            RData::A(a) => Some(a.0),
            _ => None,
        })
        .collect()
}

fn cnames(records: &[Record]) -> Vec<(String, String)> {
    records
        .iter()
        .filter_map(|record| match &record.data {
            RData::CNAME(target) => Some((record.name.to_ascii(), target.0.to_ascii())),
            _ => None,
        })
        .collect()
}

/// Checks that `response` is a referral to `zone` whose glue is the zone's server.
fn assert_referral(internet: &FakeInternet, response: &Message, zone: &str) {
    assert_eq!(response.metadata.response_code, ResponseCode::NoError);
    assert!(
        !response.metadata.authoritative,
        "a referral is not authoritative"
    );
    assert!(response.answers.is_empty(), "{:?}", response.answers);
    let ns: Vec<&Record> = response.authorities.iter().collect();
    assert_eq!(ns.len(), 1, "{ns:?}");
    assert_eq!(ns[0].name, name(zone));
    let RData::NS(target) = &ns[0].data else {
        panic!("authority is not NS: {:?}", ns[0]);
    };
    let glue: Vec<IpAddr> = response
        .additionals
        .iter()
        .filter(|record| record.name == target.0)
        .filter_map(|record| record.data.ip_addr())
        .collect();
    assert_eq!(glue, [server(internet, zone).ip()], "glue for {}", target.0);
}

#[tokio::test]
async fn root_refers_to_the_tld_with_glue() {
    let internet = FakeInternet::start_for_test().await;
    let root = SocketAddr::new(internet.root_hints()[0], 53);
    assert_eq!(Some(root), internet.server_for("."));

    let response = client::query_udp(root, names::WWW_EXAMPLE_COM, RecordType::A).await;
    assert_referral(&internet, &response.expect("root answers"), "com.");
    // The question a recursor asks while looking for the zone cut gets the same referral.
    let response = client::query_udp(root, "com.", RecordType::NS).await;
    assert_referral(&internet, &response.expect("root answers"), "com.");
    let response = client::query_udp(root, names::WWW_BBC_CO_UK, RecordType::A).await;
    assert_referral(&internet, &response.expect("root answers"), "uk.");
}

#[tokio::test]
async fn tld_and_leaf_servers_refer_to_their_children() {
    let internet = FakeInternet::start_for_test().await;
    let cases = [
        ("com.", names::WWW_EXAMPLE_COM, "example.com."),
        ("com.", names::HOST_SUB_EXAMPLE_COM, "example.com."),
        (
            "example.com.",
            names::HOST_SUB_EXAMPLE_COM,
            "sub.example.com.",
        ),
        ("example.com.", "sub.example.com.", "sub.example.com."),
        ("uk.", names::WWW_BBC_CO_UK, "co.uk."),
        ("co.uk.", names::WWW_BBC_CO_UK, "bbc.co.uk."),
        ("net.", names::COLLECTOR_ADTRACKER_NET, "adtracker.net."),
    ];
    for (parent, query, child) in cases {
        let response = client::query_udp(server(&internet, parent), query, RecordType::A).await;
        assert_referral(&internet, &response.expect("parent answers"), child);
    }
}

#[tokio::test]
async fn leaf_servers_answer_authoritatively() {
    let internet = FakeInternet::start_for_test().await;
    let example_com = server(&internet, names::EXAMPLE_COM);
    for (owner, address) in [
        (names::WWW_EXAMPLE_COM, names::WWW_EXAMPLE_COM_A),
        (names::EXAMPLE_COM, names::EXAMPLE_COM_A),
    ] {
        let response = client::query_udp(example_com, owner, RecordType::A).await;
        let response = response.expect("example.com answers");
        assert_eq!(response.metadata.response_code, ResponseCode::NoError);
        assert!(response.metadata.authoritative);
        assert_eq!(ipv4s(&response.answers), [address], "{owner}");
    }

    let response = client::query_udp(example_com, names::WWW_EXAMPLE_COM, RecordType::AAAA).await;
    let answers = response.expect("example.com answers").answers;
    assert!(
        matches!(&answers[..], [r] if r.data == RData::AAAA(names::WWW_EXAMPLE_COM_AAAA.into())),
        "{answers:?}"
    );

    let sub = server(&internet, names::SUB_EXAMPLE_COM);
    let response = client::query_udp(sub, names::HOST_SUB_EXAMPLE_COM, RecordType::A).await;
    let response = response.expect("sub.example.com answers");
    assert!(response.metadata.authoritative);
    assert_eq!(ipv4s(&response.answers), [names::HOST_SUB_EXAMPLE_COM_A]);

    let google = server(&internet, "google.com.");
    let response = client::query_udp(google, names::FORCESAFESEARCH_GOOGLE_COM, RecordType::A);
    let answers = response.await.expect("google.com answers").answers;
    assert_eq!(ipv4s(&answers), [names::FORCESAFESEARCH_GOOGLE_COM_A]);
}

#[tokio::test]
async fn cname_chains_are_followed_within_a_zone_only() {
    let internet = FakeInternet::start_for_test().await;
    let example_com = server(&internet, names::EXAMPLE_COM);
    let response = client::query_udp(example_com, names::DEEP_EXAMPLE_COM, RecordType::A).await;
    let response = response.expect("example.com answers");
    assert_eq!(response.metadata.response_code, ResponseCode::NoError);
    assert!(response.metadata.authoritative);
    let chain = cnames(&response.answers);
    let expected = [
        (names::DEEP_EXAMPLE_COM, names::ALIAS_EXAMPLE_COM),
        (names::ALIAS_EXAMPLE_COM, names::WWW_EXAMPLE_NET),
    ]
    .map(|(owner, target)| (owner.to_owned(), target.to_owned()));
    assert_eq!(chain, expected);
    assert!(
        ipv4s(&response.answers).is_empty(),
        "www.example.net is another zone"
    );
}

#[tokio::test]
async fn unknown_names_get_nxdomain_and_missing_types_nodata_both_with_the_soa() {
    let internet = FakeInternet::start_for_test().await;
    let example_com = server(&internet, names::EXAMPLE_COM);
    for (query, rtype, rcode) in [
        (
            names::NXDOMAIN_EXAMPLE_COM,
            RecordType::A,
            ResponseCode::NXDomain,
        ),
        (
            names::WWW_EXAMPLE_COM,
            RecordType::MX,
            ResponseCode::NoError,
        ),
    ] {
        let response = client::query_udp(example_com, query, rtype).await;
        let response = response.expect("example.com answers");
        assert_eq!(response.metadata.response_code, rcode, "{query} {rtype}");
        assert!(response.metadata.authoritative);
        assert!(response.answers.is_empty());
        let soa: Vec<_> = response
            .authorities
            .iter()
            .filter_map(|record| match &record.data {
                RData::SOA(soa) => Some((record.name.clone(), soa.minimum)),
                _ => None,
            })
            .collect();
        assert_eq!(soa, [(name(names::EXAMPLE_COM), names::NEGATIVE_TTL)]);
    }

    let example_net = server(&internet, names::EXAMPLE_NET);
    let response = client::query_udp(example_net, names::NOTHERE_EXAMPLE_NET, RecordType::A);
    let response = response.await.expect("example.net answers");
    assert_eq!(response.metadata.response_code, ResponseCode::NXDomain);

    // A name outside every zone the server holds is refused, as real servers do.
    let response = client::query_udp(example_com, names::WWW_EXAMPLE_NET, RecordType::A);
    let response = response.await.expect("example.com answers");
    assert_eq!(response.metadata.response_code, ResponseCode::Refused);
}

#[tokio::test]
async fn big_txt_is_truncated_over_udp_and_complete_over_tcp() {
    let internet = FakeInternet::start_for_test().await;
    let example_com = server(&internet, names::EXAMPLE_COM);

    let mut plain = client::query(names::BIG_EXAMPLE_COM, RecordType::TXT).expect("valid query");
    plain.edns = None;
    let with_edns = client::query(names::BIG_EXAMPLE_COM, RecordType::TXT).expect("valid query");
    for (query, limit) in [
        (&plain, 512),
        (&with_edns, usize::from(client::EDNS_PAYLOAD)),
    ] {
        let response = client::exchange_udp(example_com, query).await;
        let response = response.expect("example.com answers over UDP");
        assert!(response.metadata.truncation, "TC=1 expected");
        assert!(response.answers.len() < names::BIG_TXT_COUNT);
        let size = response.to_vec().expect("re-encodes").len();
        assert!(size <= limit, "{size} bytes over UDP, limit {limit}");
    }

    let response = client::exchange_tcp(example_com, &with_edns).await;
    let response = response.expect("example.com answers over TCP");
    assert!(!response.metadata.truncation);
    assert!(response.metadata.authoritative);
    let mut texts: Vec<String> = response
        .answers
        .iter()
        .map(|record| match &record.data {
            RData::TXT(txt) => String::from_utf8_lossy(&txt.txt_data.concat()).into_owned(),
            other => panic!("not TXT: {other:?}"),
        })
        .collect();
    texts.sort();
    let expected: Vec<String> = (0..names::BIG_TXT_COUNT).map(names::big_txt).collect();
    assert_eq!(texts, expected);
    assert!(response.to_vec().expect("re-encodes").len() > 4096);
}

/// A minimal iterative resolver: follows referrals from the root hints, over UDP, and
/// returns the final response and every server asked.
async fn iterate(
    internet: &FakeInternet,
    qname: &str,
    rtype: RecordType,
) -> (Message, Vec<SocketAddr>) {
    let mut next = SocketAddr::new(internet.root_hints()[0], 53);
    let mut asked = Vec::new();
    while asked.len() < 8 {
        asked.push(next);
        let response = client::query_udp(next, qname, rtype)
            .await
            .expect("an answer");
        if response.metadata.authoritative
            || response.metadata.response_code != ResponseCode::NoError
        {
            return (response, asked);
        }
        let ns = response
            .authorities
            .iter()
            .find_map(|record| match &record.data {
                RData::NS(ns) => Some(ns.0.clone()),
                _ => None,
            });
        let ns = ns.unwrap_or_else(|| panic!("{qname}: neither answer nor referral: {response:?}"));
        let glue = response
            .additionals
            .iter()
            .find(|record| record.name == ns)
            .and_then(|record| record.data.ip_addr());
        next = SocketAddr::new(
            glue.unwrap_or_else(|| panic!("{qname}: no glue for {ns}")),
            53,
        );
    }
    panic!("{qname}: more than 8 referrals: {asked:?}");
}

#[tokio::test]
async fn every_name_is_reachable_from_the_root_hints() {
    let internet = FakeInternet::start_for_test().await;
    for (owner, address) in names::A_RECORDS {
        let (response, _) = iterate(&internet, owner, RecordType::A).await;
        assert_eq!(ipv4s(&response.answers), [*address], "{owner}");
    }
    for (owner, target) in names::CNAME_RECORDS {
        let (response, _) = iterate(&internet, owner, RecordType::A).await;
        let chain = cnames(&response.answers);
        assert_eq!(
            chain.first(),
            Some(&((*owner).to_owned(), (*target).to_owned()))
        );
    }

    // The path is the one the hierarchy promises: root, TLD, registry, leaf.
    let (_, asked) = iterate(&internet, names::WWW_BBC_CO_UK, RecordType::A).await;
    let expected = [".", "uk.", "co.uk.", "bbc.co.uk."].map(|zone| server(&internet, zone));
    assert_eq!(asked, expected);
    let (_, asked) = iterate(&internet, names::HOST_SUB_EXAMPLE_COM, RecordType::A).await;
    let expected = [".", "com.", "example.com.", "sub.example.com."].map(|z| server(&internet, z));
    assert_eq!(asked, expected);
}

#[tokio::test]
async fn queries_are_counted_per_server_and_in_total() {
    let internet = FakeInternet::start_for_test().await;
    assert_eq!(internet.queries_answered(), 0);
    let (_, asked) = iterate(&internet, names::WWW_EXAMPLE_COM, RecordType::A).await;
    assert_eq!(asked.len(), 3);
    assert_eq!(internet.queries_answered(), 3);
    for zone in [".", "com.", "example.com."] {
        assert_eq!(internet.queries_answered_by(zone), Some(1), "{zone}");
    }
    assert_eq!(internet.queries_answered_by("net."), Some(0));
    assert_eq!(internet.queries_answered_by("Example.COM"), Some(1));
    assert_eq!(internet.queries_answered_by("nowhere."), None);

    let tcp = client::query_tcp(
        server(&internet, "example.com."),
        names::EXAMPLE_COM,
        RecordType::A,
    );
    tcp.await.expect("example.com answers over TCP");
    assert_eq!(internet.queries_answered_by("example.com."), Some(2));
    assert_eq!(internet.queries_answered(), 4);
}

#[tokio::test]
async fn shutdown_stops_every_server() {
    let mut internet = FakeInternet::start_for_test().await;
    let example_com = server(&internet, names::EXAMPLE_COM);
    let root = server(&internet, ".");
    client::query_udp(example_com, names::WWW_EXAMPLE_COM, RecordType::A)
        .await
        .expect("answers before shutdown");

    internet.shutdown();
    internet.shutdown(); // idempotent

    // UDP goes unanswered (the client times out), TCP is refused; all servers at once.
    let checks = [example_com, root].map(|server| async move {
        let udp = client::query_udp(server, names::WWW_EXAMPLE_COM, RecordType::A).await;
        assert!(udp.is_err(), "UDP answer after shutdown: {udp:?}");
        let tcp = client::query_tcp(server, names::WWW_EXAMPLE_COM, RecordType::A).await;
        assert!(tcp.is_err(), "TCP answer after shutdown: {tcp:?}");
    });
    let [first, second] = checks;
    tokio::join!(first, second);

    // The addresses stay reserved: no other instance can start on them.
    let [a, b, c] = internet.network();
    let taken = FakeInternet::start_on(Ipv4Addr::new(a, b, c, 0))
        .await
        .err();
    assert_eq!(taken.map(|e| e.kind()), Some(std::io::ErrorKind::AddrInUse));
    assert_eq!(internet.queries_answered(), 1);
    assert_eq!(internet.server_for("example.com."), Some(example_com));
}

#[tokio::test]
async fn two_instances_run_side_by_side() {
    let first = FakeInternet::start_for_test().await;
    let second = FakeInternet::start()
        .await
        .expect("a second network is free");
    assert_ne!(first.network(), second.network());
    assert_ne!(first.root_hints(), second.root_hints());

    for internet in [&first, &second] {
        let (response, asked) = iterate(internet, names::WWW_EXAMPLE_NET, RecordType::A).await;
        assert_eq!(ipv4s(&response.answers), [names::WWW_EXAMPLE_NET_A]);
        // Glue stays inside the instance's own network.
        for server in asked {
            let IpAddr::V4(ip) = server.ip() else {
                panic!("IPv6 server {server}");
            };
            assert_eq!(ip.octets()[..3], internet.network());
        }
    }
    assert_eq!(first.queries_answered(), 3);
    assert_eq!(second.queries_answered(), 3);
    drop(first);
    let response = client::query_udp(server(&second, "."), "com.", RecordType::NS).await;
    assert_referral(&second, &response.expect("second still answers"), "com.");
}

#[tokio::test]
async fn start_on_uses_the_given_network_and_rejects_others() {
    let error = FakeInternet::start_on(Ipv4Addr::new(192, 0, 2, 0))
        .await
        .err();
    assert_eq!(
        error.map(|e| e.kind()),
        Some(std::io::ErrorKind::InvalidInput)
    );
    let error = FakeInternet::start_on(Ipv4Addr::new(127, 54, 0, 1))
        .await
        .err();
    assert_eq!(
        error.map(|e| e.kind()),
        Some(std::io::ErrorKind::InvalidInput)
    );

    // 127.54.x.0 is outside start()'s range; x starts from the pid and moves on past
    // networks that a concurrent run of this test holds.
    let first = (std::process::id() % 256) as u8;
    let mut started = None;
    for x in (0..16).map(|step| first.wrapping_add(step)) {
        match FakeInternet::start_on(Ipv4Addr::new(127, 54, x, 0)).await {
            Ok(internet) => {
                started = Some((x, internet));
                break;
            }
            Err(error) if error.kind() == std::io::ErrorKind::AddrInUse => continue,
            Err(error) => panic!("{error}"),
        }
    }
    let (x, internet) = started.expect("one of 16 networks is free");
    assert_eq!(internet.network(), [127, 54, x]);
    assert_eq!(
        internet.root_hints(),
        [IpAddr::V4(Ipv4Addr::new(127, 54, x, 1))]
    );
    let (response, _) = iterate(&internet, names::COLLECTOR_ADTRACKER_NET, RecordType::A).await;
    assert_eq!(ipv4s(&response.answers), [names::COLLECTOR_ADTRACKER_NET_A]);
}

#[tokio::test]
async fn every_name_below_bench_net_resolves() {
    let internet = FakeInternet::start_for_test().await;
    for owner in ["w0.bench.net.", "w19999.bench.net.", "x.allowed.bench.net."] {
        let (response, asked) = iterate(&internet, owner, RecordType::A).await;
        assert_eq!(response.metadata.response_code, ResponseCode::NoError);
        assert_eq!(ipv4s(&response.answers), [names::BENCH_NET_A], "{owner}");
        assert_eq!(response.answers[0].name, name(owner));
        assert_eq!(asked.last(), Some(&server(&internet, names::BENCH_NET)));
    }
    // A type the wildcard lacks is NODATA (the name exists), not NXDOMAIN: a resolver's
    // QNAME-minimisation probe must not conclude the name is gone.
    let bench = server(&internet, names::BENCH_NET);
    for (owner, rtype) in [
        ("w1.bench.net.", RecordType::NS),
        ("w1.bench.net.", RecordType::AAAA),
        ("a.b.bench.net.", RecordType::TXT),
    ] {
        let response = client::query_udp(bench, owner, rtype).await;
        let response = response.expect("bench.net answers");
        assert_eq!(
            response.metadata.response_code,
            ResponseCode::NoError,
            "{owner} {rtype}"
        );
        assert!(response.metadata.authoritative);
        assert!(response.answers.is_empty(), "{:?}", response.answers);
        assert!(
            matches!(&response.authorities[..], [soa] if soa.record_type() == RecordType::SOA),
            "{:?}",
            response.authorities
        );
    }
}
