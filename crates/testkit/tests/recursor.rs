//! hickory's own recursor (the one hedge uses) resolving through the fake internet: the
//! proof that referrals, glue, CNAME chains and TCP fallback work for a real client.

use std::net::Ipv4Addr;
use std::time::Instant;

use hedge_testkit::{FakeInternet, names};
use hickory_proto::op::{Message, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::recursor::{Recursor, RecursorError, RecursorOptions};

// Port 53 for the fake internet, whoever runs the tests.
hedge_testkit::port_53_for_any_user!();

fn recursor(internet: &FakeInternet) -> Recursor<TokioRuntimeProvider> {
    let options = RecursorOptions {
        // The default refuses loopback servers; the fake internet lives there.
        deny_server: Vec::new(),
        ..RecursorOptions::default()
    };
    Recursor::with_options(&internet.root_hints(), options, TokioRuntimeProvider::new())
        .expect("recursor builds")
}

async fn resolve(
    recursor: &Recursor<TokioRuntimeProvider>,
    name: &str,
    rtype: RecordType,
) -> Result<Message, RecursorError> {
    let name = Name::from_ascii(name).expect("valid name");
    recursor
        .resolve(Query::query(name, rtype), Instant::now(), false)
        .await
}

fn ipv4s(message: &Message) -> Vec<Ipv4Addr> {
    message
        .answers
        .iter()
        .filter_map(|record| match &record.data {
            RData::A(a) => Some(a.0),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn recursor_resolves_every_name_from_the_root_hints() {
    let internet = FakeInternet::start_for_test().await;
    let recursor = recursor(&internet);
    for (owner, address) in names::A_RECORDS {
        let response = resolve(&recursor, owner, RecordType::A).await;
        let response = response.unwrap_or_else(|e| panic!("{owner}: {e}"));
        assert_eq!(ipv4s(&response), [*address], "{owner}");
    }
}

#[tokio::test]
async fn recursor_follows_cname_chains_across_zones() {
    let internet = FakeInternet::start_for_test().await;
    let recursor = recursor(&internet);
    for (owner, address, hops) in [
        (names::ALIAS_EXAMPLE_COM, names::WWW_EXAMPLE_NET_A, 1),
        (names::DEEP_EXAMPLE_COM, names::WWW_EXAMPLE_NET_A, 2),
        (
            names::KIDS_EXAMPLE_ORG,
            names::KIDS_SITE_CDN_PROVIDER_NET_A,
            1,
        ),
        (
            names::METRICS_TRACKER_CLOAK_COM,
            names::COLLECTOR_ADTRACKER_NET_A,
            1,
        ),
    ] {
        let response = resolve(&recursor, owner, RecordType::A).await;
        let response = response.unwrap_or_else(|e| panic!("{owner}: {e}"));
        assert_eq!(ipv4s(&response), [address], "{owner}");
        let cnames = response
            .answers
            .iter()
            .filter(|record| record.record_type() == RecordType::CNAME)
            .count();
        assert_eq!(cnames, hops, "{owner}: {:?}", response.answers);
    }
}

#[tokio::test]
async fn recursor_sees_nxdomain_including_at_the_end_of_a_chain() {
    let internet = FakeInternet::start_for_test().await;
    let recursor = recursor(&internet);
    for owner in [names::NXDOMAIN_EXAMPLE_COM, names::DANGLING_EXAMPLE_COM] {
        match resolve(&recursor, owner, RecordType::A).await {
            Err(error) => assert!(error.is_nx_domain(), "{owner}: {error}"),
            Ok(response) => {
                assert_eq!(
                    response.metadata.response_code,
                    ResponseCode::NXDomain,
                    "{owner}"
                );
                assert!(ipv4s(&response).is_empty());
            }
        }
    }
}

#[tokio::test]
async fn recursor_gets_the_big_txt_over_tcp() {
    let internet = FakeInternet::start_for_test().await;
    let recursor = recursor(&internet);
    let response = resolve(&recursor, names::BIG_EXAMPLE_COM, RecordType::TXT).await;
    let response = response.expect("big.example.com resolves");
    assert!(!response.metadata.truncation);
    assert_eq!(response.answers.len(), names::BIG_TXT_COUNT);
}

#[tokio::test]
async fn a_cached_answer_sends_no_query_and_shutdown_breaks_new_lookups() {
    let mut internet = FakeInternet::start_for_test().await;
    let recursor = recursor(&internet);
    let first = resolve(&recursor, names::WWW_EXAMPLE_COM, RecordType::A).await;
    assert_eq!(ipv4s(&first.expect("resolves")), [names::WWW_EXAMPLE_COM_A]);
    let sent = internet.queries_answered();
    assert!(
        sent >= 3,
        "root, com. and example.com. must have been asked: {sent}"
    );
    assert!(internet.queries_answered_by("example.com.") >= Some(1));

    let again = resolve(&recursor, names::WWW_EXAMPLE_COM, RecordType::A).await;
    assert_eq!(ipv4s(&again.expect("resolves")), [names::WWW_EXAMPLE_COM_A]);
    assert_eq!(
        internet.queries_answered(),
        sent,
        "the second answer came from the cache"
    );

    internet.shutdown();
    let down = resolve(&recursor, names::WWW_EXAMPLE_NET, RecordType::A).await;
    assert!(down.is_err(), "resolved with every server down: {down:?}");
}
