//! End-to-end: `hedge serve` forwarding over DNS over TLS and DNS over HTTPS to a real TLS
//! server on loopback whose certificate comes from a private CA made in the test (as a
//! council's internal resolver would have).

mod support;

use std::process::Command;

use hedge_testkit::TlsUpstream;
use hedge_testkit::tls::TestCa;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType;
use support::*;

/// The name in the upstream's certificate.
const TLS_NAME: &str = "dns.council.test";

#[derive(Clone, Copy)]
enum Protocol {
    Tls,
    Https,
}

impl Protocol {
    fn name(self) -> &'static str {
        match self {
            Protocol::Tls => "tls",
            Protocol::Https => "https",
        }
    }

    fn port(self, upstream: &TlsUpstream) -> u16 {
        match self {
            Protocol::Tls => upstream.dot_addr().port(),
            Protocol::Https => upstream.doh_addr().port(),
        }
    }
}

/// How hedge is told to trust the upstream.
enum Trust {
    /// `ca_file` holding the CA that signed the upstream's certificate.
    UpstreamCa,
    /// `ca_file` holding this PEM.
    CaFile(String),
    /// No `ca_file`: the public roots.
    PublicRoots,
}

async fn start_upstream() -> TlsUpstream {
    TlsUpstream::start_local(TLS_NAME)
        .await
        .unwrap_or_else(|e| panic!("cannot start the DoT/DoH upstream: {e}"))
}

/// `hedge serve` forwarding to `upstream` over `protocol`, asking for `tls_name`; the
/// `ca_file` is relative to the config, as an operator would write it.
fn start_hedge(
    upstream: &TlsUpstream,
    protocol: Protocol,
    tls_name: &str,
    trust: Trust,
) -> (Hedge, std::net::SocketAddr) {
    let dir = tempfile::tempdir().expect("tempdir");
    let pem = match trust {
        Trust::UpstreamCa => Some(upstream.ca_pem().to_string()),
        Trust::CaFile(pem) => Some(pem),
        Trust::PublicRoots => None,
    };
    let ca_file = match pem {
        Some(pem) => {
            std::fs::write(dir.path().join("council-ca.pem"), pem).expect("write ca_file");
            ", ca_file = \"council-ca.pem\""
        }
        None => "",
    };
    let (l, addr) = listener("p", "127.0.0.0/8");
    let config = format!(
        "[[profile]]\nname = \"p\"\nblock = [\"gambling\"]\nblock_domains = [\"adtracker.net\"]\n{l}\n\
         [upstream]\nmode = \"forward\"\ntimeout_ms = 2000\n\
         servers = [{{ address = \"127.0.0.1\", port = {}, protocol = \"{}\", tls_name = \"{tls_name}\"{ca_file} }}]\n",
        protocol.port(upstream),
        protocol.name(),
    );
    let path = dir.path().join("hedge.toml");
    std::fs::write(&path, config).expect("write config");
    (Hedge::start_at(dir, path), addr)
}

fn ede_text(m: &Message) -> String {
    ede(m)
        .into_iter()
        .map(|(_, text)| text)
        .collect::<Vec<_>>()
        .join("; ")
}

async fn answers_and_blocks_through(protocol: Protocol) {
    let upstream = start_upstream().await;
    let (hedge, addr) = start_hedge(&upstream, protocol, TLS_NAME, Trust::UpstreamCa);
    let m = udp(addr, names::WWW_EXAMPLE_COM, RecordType::A).await;
    assert_eq!(
        ips(&m),
        vec![names::WWW_EXAMPLE_COM_A.to_string()],
        "{m:?}\nlog:\n{}",
        hedge.log()
    );
    let m = tcp(addr, names::ALIAS_EXAMPLE_COM, RecordType::A).await;
    assert_eq!(cnames(&m), vec![names::WWW_EXAMPLE_NET.to_string()]);
    assert_eq!(ips(&m), vec![names::WWW_EXAMPLE_NET_A.to_string()]);
    let m = udp(addr, names::NXDOMAIN_EXAMPLE_COM, RecordType::A).await;
    assert_eq!(rcode(&m), ResponseCode::NXDomain);
    let asked = upstream.queries_answered();
    assert!(asked >= 3, "answers came over {}: {asked}", protocol.name());
    // Blocked names stay blocked: by the index, and behind a CNAME only upstream knows.
    let m = udp(addr, "www.bet365.com.", RecordType::A).await;
    assert_eq!(ips(&m), vec!["0.0.0.0"]);
    let m = udp(addr, names::METRICS_TRACKER_CLOAK_COM, RecordType::A).await;
    assert_eq!(ips(&m), vec!["0.0.0.0"], "{m:?}");
    assert!(
        ede_text(&m).contains("via CNAME collector.adtracker.net"),
        "{}",
        ede_text(&m)
    );
    drop(hedge);
}

#[tokio::test(flavor = "multi_thread")]
async fn dot_with_a_private_ca_file_answers_and_still_blocks() {
    answers_and_blocks_through(Protocol::Tls).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn doh_with_a_private_ca_file_answers_and_still_blocks() {
    answers_and_blocks_through(Protocol::Https).await;
}

/// A refused certificate gives SERVFAIL whose EDE (and the log) says why, never a generic
/// "no connections available".
async fn refused(
    protocol: Protocol,
    tls_name: &str,
    trust: Trust,
    expect_ede: &[&str],
    expect_log: &str,
) {
    let upstream = start_upstream().await;
    let (hedge, addr) = start_hedge(&upstream, protocol, tls_name, trust);
    let m = udp(addr, names::WWW_EXAMPLE_COM, RecordType::A).await;
    assert_eq!(rcode(&m), ResponseCode::ServFail, "{m:?}");
    assert!(m.answers.is_empty());
    let text = ede_text(&m);
    for needle in expect_ede {
        assert!(text.contains(needle), "EDE {text:?} lacks {needle:?}");
    }
    assert!(
        hedge.wait_log(expect_log, std::time::Duration::from_secs(5)),
        "log lacks {expect_log:?}:\n{}",
        hedge.log()
    );
    assert_eq!(upstream.queries_answered(), 0, "no query crossed");
    drop(hedge);
}

/// The reported symptom: a private CA's certificate, no `ca_file`.
async fn not_trusted_without_ca_file(protocol: Protocol) {
    refused(
        protocol,
        TLS_NAME,
        Trust::PublicRoots,
        &[
            "TLS certificate of upstream dns.council.test refused: not trusted",
            "set `ca_file`",
        ],
        "upstream TLS certificate refused: not trusted",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn dot_without_ca_file_says_the_certificate_is_not_trusted() {
    not_trusted_without_ca_file(Protocol::Tls).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn doh_without_ca_file_says_the_certificate_is_not_trusted() {
    not_trusted_without_ca_file(Protocol::Https).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_ca_file_of_another_ca_is_not_trusted() {
    let other = TestCa::new("some other CA").expect("CA");
    refused(
        Protocol::Tls,
        TLS_NAME,
        Trust::CaFile(other.pem()),
        &["refused: not trusted: not signed by the CA in its ca_file"],
        "upstream TLS certificate refused: not trusted",
    )
    .await;
}

/// The right CA, but hedge asks for a name the certificate is not for.
async fn wrong_tls_name(protocol: Protocol) {
    refused(
        protocol,
        "resolver.council.test",
        Trust::UpstreamCa,
        &[
            "TLS certificate of upstream resolver.council.test refused: not valid for this name",
            "check `tls_name`",
        ],
        "not valid for this name",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn dot_with_a_wrong_tls_name_says_the_name_does_not_match() {
    wrong_tls_name(Protocol::Tls).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn doh_with_a_wrong_tls_name_says_the_name_does_not_match() {
    wrong_tls_name(Protocol::Https).await;
}

/// `check-config` reads the `ca_file` the server would: each way it can be unusable is
/// reported with the key and the file.
#[test]
fn check_config_reports_an_unusable_ca_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let write =
        |name: &str, text: &[u8]| std::fs::write(dir.path().join(name), text).expect("write");
    write("empty.pem", b"");
    write(
        "key-only.pem",
        b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    );
    write(
        "truncated.pem",
        b"-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n",
    );
    write(
        "garbage.pem",
        b"-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n",
    );
    let ca = TestCa::new("check-config CA").expect("CA");
    write("good.pem", ca.pem().as_bytes());
    let cases = [
        (
            "missing.pem",
            "tls",
            "missing.pem: No such file or directory",
        ),
        ("empty.pem", "tls", "empty.pem: no certificate found"),
        (
            "key-only.pem",
            "https",
            "key-only.pem: no certificate found",
        ),
        ("truncated.pem", "tls", "truncated.pem: bad PEM"),
        (
            "garbage.pem",
            "tls",
            "garbage.pem: certificate 1 is not a usable X.509 CA certificate",
        ),
        (
            "good.pem",
            "udp",
            "only tls and https servers have a certificate",
        ),
    ];
    for (file, protocol, expect) in cases {
        let (ok, text) = check_config(dir.path(), protocol, file);
        assert!(!ok, "{file}: {text}");
        assert!(
            text.contains("key `upstream.servers.ca_file`") || protocol == "udp",
            "{file}: {text}"
        );
        assert!(
            text.contains(expect),
            "{file}: expected {expect:?} in {text}"
        );
    }
    let (ok, text) = check_config(dir.path(), "tls", "good.pem");
    assert!(ok, "the same file on a tls server is fine: {text}");
}

/// `hedge check-config` of a forwarding config whose one server has `protocol` and
/// `ca_file`: (passed?, its output).
fn check_config(dir: &std::path::Path, protocol: &str, ca_file: &str) -> (bool, String) {
    let config = dir.join("hedge.toml");
    std::fs::write(
        &config,
        format!(
            "[[profile]]\nname = \"p\"\n[[listener]]\nprofile = \"p\"\nbind = [\"127.0.0.1:5353\"]\nallow = [\"127.0.0.0/8\"]\n\
             [upstream]\nmode = \"forward\"\n\
             servers = [{{ address = \"192.0.2.53\", protocol = \"{protocol}\", tls_name = \"{TLS_NAME}\", ca_file = \"{ca_file}\" }}]\n"
        ),
    )
    .expect("write config");
    let out = Command::new(hedge_bin())
        .arg("check-config")
        .arg(&config)
        .env("HEDGE_LOG", "warn")
        .output()
        .expect("run hedge");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    match out.status.code() {
        Some(0) => (true, text),
        Some(2) => (false, text),
        other => panic!("check-config exited with {other:?}: {text}"),
    }
}
