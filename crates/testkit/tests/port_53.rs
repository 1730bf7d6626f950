//! The fake internet runs whoever runs the tests: as root directly, as any other user in the
//! test binary's own user and network namespace. It is never skipped.

use hedge_testkit::{FakeInternet, client, names};
use hickory_proto::rr::{RData, RecordType};

hedge_testkit::port_53_for_any_user!();

#[tokio::test]
async fn the_fake_internet_starts_and_answers_whoever_runs_the_tests() {
    let internet = FakeInternet::start()
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    let server = internet
        .server_for(names::EXAMPLE_COM)
        .expect("a standard zone");
    assert_eq!(server.port(), 53);
    let response = client::query_udp(server, names::WWW_EXAMPLE_COM, RecordType::A)
        .await
        .expect("example.com answers");
    assert!(
        matches!(response.answers[0].data, RData::A(a) if a.0 == names::WWW_EXAMPLE_COM_A),
        "{:?}",
        response.answers
    );
}
