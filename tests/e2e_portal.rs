//! End-to-end: `hedge serve` with a `[portal]` and redirect profiles. The DNS answer for a
//! blocked name points at the portal, the portal's page for that name says why, and for
//! two profiles on two listeners the page decides exactly as DNS does.

mod support;

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_proto::op::Message;
use hickory_proto::rr::RecordType;
use support::*;

/// The portal's address: port 80, as a redirected browser connects to it. An address of
/// its own on loopback, so no other test's server is in the way.
const PORTAL: &str = "127.80.19.1";
/// A client on the child network (any 127/8 address but the adult's).
const CHILD_PC: [u8; 4] = [127, 0, 0, 2];
/// The one client of the adult listener.
const ADULT_PC: [u8; 4] = [127, 0, 0, 3];

const PROFILES: &str = r#"
[[profile]]
name = "child"
block = ["gambling", "adult-material"]
block_domains = ["secondlife.com"]
action = "redirect"
redirect_to = ["127.80.19.1"]

[[profile]]
name = "adult"
block = ["adult-material"]
action = "redirect"
redirect_to = ["127.80.19.1"]
"#;

/// Asks `server` for `name` from the address `from`, as that client's PC would.
async fn udp_from(from: [u8; 4], server: SocketAddr, name: &str) -> Message {
    let socket = tokio::net::UdpSocket::bind((IpAddr::from(from), 0))
        .await
        .expect("bind client");
    let mut q = hedge_testkit::client::query(name, RecordType::A).expect("query");
    q.metadata.recursion_desired = true;
    socket
        .send_to(&q.to_vec().expect("encode"), server)
        .await
        .expect("send");
    let mut buf = vec![0; 65_535];
    let len = tokio::time::timeout(Duration::from_secs(5), socket.recv(&mut buf))
        .await
        .expect("an answer within 5 s")
        .expect("recv");
    Message::from_vec(&buf[..len]).expect("parse")
}

/// GET `/` on the portal with `Host: host` from `from`: (status, page).
async fn page(from: [u8; 4], host: &str) -> (u16, String) {
    let client = reqwest::Client::builder()
        .local_address(IpAddr::from(from))
        .build()
        .expect("client");
    let resp = client
        .get(format!("http://{PORTAL}/"))
        .header("host", host)
        .send()
        .await
        .expect("GET the portal");
    let status = resp.status().as_u16();
    (status, resp.text().await.expect("page"))
}

/// `hedge serve` on `config`, once its log says `ready` (the portal's address).
fn serve(config: &str, ready: &str) -> Hedge {
    let hedge = Hedge::start(config);
    assert!(
        hedge.wait_log(ready, Duration::from_secs(10)),
        "{}",
        hedge.log()
    );
    hedge
}

#[tokio::test(flavor = "multi_thread")]
async fn the_block_page_shows_what_dns_decided_for_each_profile() {
    let net = FakeInternet::start_for_test().await;
    let (child_listener, child) = listener("child", "127.0.0.0/8");
    let (adult_listener, adult) = listener("adult", "127.0.0.3/32");
    let config = format!(
        "{PROFILES}\n{child_listener}\n{adult_listener}\n{}\n[portal]\nlisten = [\"{PORTAL}:80\"]\nportal_name = \"portal.library\"\nstaff_listen = []\n",
        recursive_upstream(&net, 3000)
    );
    let hedge = serve(&config, "portal on http://");

    // DNS sends the child PC's browser to the portal, and the EDE says where it is.
    let m = udp_from(CHILD_PC, child, "www.bet365.com.").await;
    assert_eq!(ips(&m), vec![PORTAL.to_string()]);
    let e = ede(&m);
    assert!(
        e.len() == 1
            && e[0]
                .1
                .starts_with("blocked: gambling (profile child, index ")
            && e[0].1.ends_with("; see http://portal.library/"),
        "{e:?}"
    );
    let (status, body) = page(CHILD_PC, "www.bet365.com").await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body.contains("This site is blocked")
            && body.contains("Gambling")
            && body.contains("child"),
        "{body}"
    );

    // The same name is allowed on the adult listener, and the adult PC's page says so.
    let (status, body) = page(ADULT_PC, "www.bet365.com").await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("not blocked here") && body.contains("adult"),
        "{body}"
    );

    // For either profile, the page is a block page exactly when the DNS answer is a block.
    for name in [
        "www.bet365.com",
        "bet365.com",
        "secondlife.com",
        "www.pornhub.com",
        "example.org",
        "portal-unlisted.example",
    ] {
        for (pc, server) in [(CHILD_PC, child), (ADULT_PC, adult)] {
            let m = udp_from(pc, server, &format!("{name}.")).await;
            let dns_blocked = ede(&m).iter().any(|(code, _)| *code == 15);
            if dns_blocked {
                assert_eq!(ips(&m), vec![PORTAL.to_string()], "{name} from {pc:?}");
            }
            let (status, body) = page(pc, name).await;
            let page_blocked = body.contains("This site is blocked");
            assert_eq!(
                page_blocked,
                dns_blocked,
                "{name} from {pc:?}: DNS {:?}, page {status}",
                ede(&m)
            );
        }
    }
    // A request from the block page lands in the statistics file, without the address.
    let resp = reqwest::Client::builder()
        .local_address(IpAddr::from(CHILD_PC))
        .build()
        .expect("client")
        .post(format!("http://{PORTAL}/request"))
        .header("host", "www.bet365.com")
        .form(&[
            ("name", "www.bet365.com"),
            ("reason", "maths homework on odds"),
        ])
        .send()
        .await
        .expect("POST the form");
    assert_eq!(resp.status().as_u16(), 200);
    let body = resp.text().await.expect("page");
    assert!(body.contains("Your request has been sent"), "{body}");
    let stored = hedge_stats::SqliteStore::open(hedge.dir.path().join("hedge-stats.sqlite"))
        .expect("stats file")
        .list_requests(&hedge_stats::RequestFilter::default())
        .expect("requests");
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(
        (
            stored[0].name.as_str(),
            stored[0].profile.as_str(),
            stored[0].category.as_deref()
        ),
        ("www.bet365.com", "child", Some("gambling"))
    );

    // The portal's own name is its home page.
    let (status, body) = page(CHILD_PC, "portal.library").await;
    assert_eq!(status, 200);
    assert!(body.contains("Why is this blocked?"), "{body}");

    // A reload that blocks gambling for adults too: the page follows the served policy.
    let reloaded = config.replace(
        "name = \"adult\"\nblock = [\"adult-material\"]",
        "name = \"adult\"\nblock = [\"adult-material\", \"gambling\"]",
    );
    assert_ne!(reloaded, config, "the test edits the adult profile");
    std::fs::write(&hedge.config, reloaded).expect("write config");
    hedge.signal("HUP");
    assert!(
        hedge.wait_log("reloaded (SIGHUP)", Duration::from_secs(10)),
        "{}",
        hedge.log()
    );
    let m = udp_from(ADULT_PC, adult, "www.bet365.com.").await;
    assert_eq!(ips(&m), vec![PORTAL.to_string()], "{:?}", ede(&m));
    let (status, body) = page(ADULT_PC, "www.bet365.com").await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body.contains("Gambling") && body.contains("adult"),
        "{body}"
    );
    assert!(
        !hedge.log().contains("[portal] changed"),
        "an unchanged [portal] needs no restart: {}",
        hedge.log()
    );
}

/// The portal's name resolves on every listener, to the portal's address, over UDP and TCP:
/// on a profile whose block list holds it, and on a walled garden that allows nothing else.
#[tokio::test(flavor = "multi_thread")]
async fn every_listener_answers_the_portals_name_with_its_address() {
    const NAMED: &str = "127.80.19.3";
    let net = FakeInternet::start_for_test().await;
    let (child_listener, child) = listener("child", "127.0.0.0/8");
    let (garden_listener, garden) = listener("garden", "127.0.0.0/8");
    let config = format!(
        "[[profile]]\nname = \"child\"\nblock_domains = [\"portal.library\"]\naction = \"redirect\"\nredirect_to = [\"{NAMED}\"]\n\
         [[profile]]\nname = \"garden\"\nmode = \"allowlist\"\nallow_domains = [\"example.org\"]\n\
         {child_listener}\n{garden_listener}\n{}\n\
         [portal]\nlisten = [\"{NAMED}:80\"]\nportal_name = \"Portal.Library\"\nstaff_listen = []\n",
        recursive_upstream(&net, 3000)
    );
    let _hedge = serve(&config, "portal on http://");
    for (profile, server) in [("child", child), ("garden", garden)] {
        for (transport, a, aaaa, mx) in [
            (
                "UDP",
                udp(server, "portal.library.", RecordType::A).await,
                udp(server, "portal.library.", RecordType::AAAA).await,
                udp(server, "PORTAL.library.", RecordType::MX).await,
            ),
            (
                "TCP",
                tcp(server, "portal.library.", RecordType::A).await,
                tcp(server, "portal.library.", RecordType::AAAA).await,
                tcp(server, "PORTAL.library.", RecordType::MX).await,
            ),
        ] {
            let at = format!("{profile} over {transport}");
            assert_eq!(ips(&a), vec![NAMED.to_string()], "{at}: {a:?}");
            assert!(a.metadata.authoritative, "{at}: {a:?}");
            assert!(ede(&a).is_empty(), "{at}: no block: {a:?}");
            assert!(
                a.answers.iter().all(|r| r.ttl == 60),
                "{at}: a short TTL: {a:?}"
            );
            for (t, m) in [("AAAA", &aaaa), ("MX", &mx)] {
                assert_eq!(
                    m.metadata.response_code,
                    hickory_proto::op::ResponseCode::NoError,
                    "{at} {t}: {m:?}"
                );
                assert!(
                    m.answers.is_empty() && ede(m).is_empty(),
                    "{at} {t}: NODATA: {m:?}"
                );
            }
        }
        // Only the name itself: a name under it is the lists' to decide.
        let under = udp(server, "www.portal.library.", RecordType::A).await;
        assert!(!ede(&under).is_empty(), "{profile}: {under:?}");
    }
    // The name leads to the portal's home page.
    let resp = reqwest::Client::new()
        .get(format!("http://{NAMED}/"))
        .header("host", "portal.library")
        .send()
        .await
        .expect("GET the portal");
    assert_eq!(resp.status().as_u16(), 200);
}

/// With `tls_port`, the portal speaks HTTPS on that port of its address, with the
/// configured certificate.
#[tokio::test(flavor = "multi_thread")]
async fn the_portal_speaks_https_on_the_configured_tls_port() {
    const SECURE: &str = "127.80.19.2";
    let dir = tempfile::tempdir().expect("tempdir");
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = rcgen::CertificateParams::new(vec!["portal.library".to_string()])
        .expect("params")
        .self_signed(&key)
        .expect("cert");
    std::fs::write(dir.path().join("portal.pem"), cert.pem()).expect("write");
    std::fs::write(dir.path().join("portal.key"), key.serialize_pem()).expect("write");
    let net = FakeInternet::start_for_test().await;
    let (child_listener, _) = listener("child", "127.0.0.0/8");
    let port = free_port();
    let config = format!(
        "{PROFILES}\n{child_listener}\n{}\n[portal]\nlisten = [\"{SECURE}:80\"]\nportal_name = \"portal.library\"\n\
         tls_cert = {:?}\ntls_key = {:?}\ntls_port = {port}\nstaff_listen = []\n",
        recursive_upstream(&net, 3000),
        dir.path().join("portal.pem").display().to_string(),
        dir.path().join("portal.key").display().to_string(),
    );
    let _hedge = serve(&config, &format!("portal on https://{SECURE}:{port}/"));
    let client = reqwest::Client::builder()
        .local_address(IpAddr::from(CHILD_PC))
        .add_root_certificate(reqwest::Certificate::from_pem(cert.pem().as_bytes()).expect("pem"))
        .resolve(
            "portal.library",
            SocketAddr::new(SECURE.parse().expect("ip"), port),
        )
        .build()
        .expect("client");
    let resp = client
        .get(format!(
            "https://portal.library:{port}/why?name=www.bet365.com"
        ))
        .send()
        .await
        .expect("HTTPS GET");
    assert_eq!(resp.status().as_u16(), 403);
    let body = resp.text().await.expect("page");
    assert!(body.contains("Gambling"), "{body}");
}
