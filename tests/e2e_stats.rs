//! End-to-end statistics: a known mix of queries through the real resolver, then the store
//! and `hedge report` checked exactly; a corrupt store pauses counting but not answering.

mod support;

use std::process::Command;
use std::time::Duration;

use hickory_proto::rr::RecordType;
use support::*;

const PROFILES: &str = r#"
[[profile]]
name = "adult"
block = ["gambling"]

[[profile]]
name = "child"
inherit = "adult"
block = ["society-and-lifestyles/personals-and-dating"]
"#;

fn config(net: &FakeInternet) -> (String, std::net::SocketAddr, std::net::SocketAddr) {
    let (l1, adult) = listener("adult", "127.0.0.0/8");
    let (l2, child) = listener("child", "127.0.0.0/8");
    let text = format!(
        "{PROFILES}\n{l1}\n{l2}\n[stats]\npath = \"stats.sqlite\"\n{}",
        recursive_upstream(net, 3000)
    );
    (text, adult, child)
}

fn report(db: &std::path::Path, extra: &[&str]) -> String {
    let month = this_month_utc();
    let mut args = vec![
        "report",
        "--db",
        db.to_str().expect("utf-8"),
        "--from",
        &month,
        "--to",
        &month,
        "--format",
        "csv",
    ];
    args.extend_from_slice(extra);
    let o = Command::new(hedge_bin())
        .args(&args)
        .output()
        .expect("run report");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).expect("utf-8")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_known_mix_is_counted_exactly() {
    let net = FakeInternet::start_for_test().await;
    let (text, adult, child) = config(&net);
    let mut hedge = Hedge::start(&text);
    for _ in 0..2 {
        udp(child, "www.bet365.com.", RecordType::A).await;
    }
    // A per-user subdomain (a tracking token): counted under the listed name, never stored.
    udp(child, "x7f3q9.bet365.com.", RecordType::A).await;
    for _ in 0..2 {
        udp(child, "match.com.", RecordType::A).await;
    }
    udp(child, names::WWW_EXAMPLE_COM, RecordType::A).await;
    for _ in 0..4 {
        udp(adult, "bet365.com.", RecordType::AAAA).await;
    }
    udp(adult, "match.com.", RecordType::A).await; // listed, allowed in adult
    udp(adult, names::WWW_EXAMPLE_COM, RecordType::A).await;
    hedge.stop(); // SIGTERM flushes what is counted
    let db = hedge.dir.path().join("stats.sqlite");

    let by = report(&db, &["--by", "profile,category,action"]);
    let rows: Vec<&str> = by.lines().filter(|l| l.starts_with("row,")).collect();
    assert_eq!(
        rows,
        vec![
            "row,adult,-,allowed,1",
            "row,adult,gambling,blocked,4",
            "row,adult,society-and-lifestyles,allowed,1",
            "row,adult,society-and-lifestyles/personals-and-dating,allowed,1",
            "row,child,-,allowed,1",
            "row,child,gambling,blocked,3",
            "row,child,society-and-lifestyles,blocked,2",
            "row,child,society-and-lifestyles/personals-and-dating,blocked,2",
        ],
        "{by}"
    );
    let blocked = report(&db, &["--action", "blocked", "--top-domains", "5"]);
    assert!(
        blocked
            .lines()
            .any(|l| l.starts_with("grand-total") && l.ends_with(",9")),
        "{blocked}"
    );
    let top: Vec<&str> = blocked
        .lines()
        .filter(|l| l.starts_with("top-domain"))
        .collect();
    // www., the tracking-token subdomain and the bare name all count as the listed name.
    assert_eq!(
        top,
        vec![
            "top-domain,bet365.com,gambling,7",
            "top-domain,match.com,society-and-lifestyles/personals-and-dating,2",
        ],
        "{blocked}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_corrupt_store_pauses_counting_but_not_answers() {
    let net = FakeInternet::start_for_test().await;
    let (text, _adult, child) = config(&net);
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("stats.sqlite"), vec![0x5a; 8192]).expect("garbage");
    let path = dir.path().join("hedge.toml");
    std::fs::write(&path, text).expect("config");
    let hedge = Hedge::start_at(dir, path);
    assert!(
        hedge.wait_log("counting paused", Duration::from_secs(5)),
        "{}",
        hedge.log()
    );
    assert!(
        hedge.log().contains("stats.sqlite"),
        "the message names the file: {}",
        hedge.log()
    );
    assert_eq!(
        ips(&udp(child, "www.bet365.com.", RecordType::A).await),
        vec!["0.0.0.0"]
    );
    assert_eq!(
        ips(&udp(child, names::WWW_EXAMPLE_COM, RecordType::A).await),
        vec![names::WWW_EXAMPLE_COM_A.to_string()]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn prometheus_metrics_count_queries() {
    let net = FakeInternet::start_for_test().await;
    let (text, _adult, child) = config(&net);
    let port = free_port();
    let mut hedge = Hedge::start(&format!("[metrics]\nlisten = \"127.0.0.1:{port}\"\n{text}"));
    udp(child, "www.bet365.com.", RecordType::A).await;
    udp(child, "www.bet365.com.", RecordType::A).await;
    udp(child, names::WWW_EXAMPLE_COM, RecordType::A).await;
    udp(child, names::WWW_EXAMPLE_COM, RecordType::A).await;
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("metrics endpoint");
    s.write_all(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n")
        .expect("request");
    let mut body = String::new();
    s.read_to_string(&mut body).expect("response");
    let line = |prefix: &str| {
        body.lines()
            .find(|l| l.starts_with(prefix))
            .map(str::to_string)
    };
    let blocked =
        line("hedge_queries_total{profile=\"child\",action=\"blocked\",category=\"gambling\"}")
            .unwrap_or_default();
    assert!(blocked.ends_with(" 2"), "{body}");
    let allowed = line("hedge_queries_total{profile=\"child\",action=\"allowed\",category=\"-\"}")
        .unwrap_or_default();
    assert!(allowed.ends_with(" 2"), "{body}");
    assert!(
        line("hedge_cache_lookups_total{result=\"hit\"}").is_some_and(|l| l.ends_with(" 1")),
        "{body}"
    );
    assert!(line("hedge_index_names ").is_some(), "{body}");
    assert!(body.contains("# HELP hedge_queries_total"), "{body}");
    assert!(
        line("hedge_answer_duration_seconds_count").is_some_and(|l| l.ends_with(" 4")),
        "{body}"
    );
    hedge.stop();
}

/// Asks `server` each name in turn (type A) from one socket, a few at a time, and checks
/// that every one was answered with a block.
fn ask_blocked(server: std::net::SocketAddr, names: &[String]) {
    use hickory_proto::op::{Message, Query};
    use hickory_proto::rr::Name;
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    for (c, chunk) in names.chunks(32).enumerate() {
        for (i, name) in chunk.iter().enumerate() {
            let mut m = Message::query();
            m.metadata.id = ((c * 32 + i) % 65_536) as u16;
            m.add_query(Query::query(
                Name::from_ascii(name).expect("name"),
                RecordType::A,
            ));
            socket
                .send_to(&m.to_vec().expect("encode"), server)
                .expect("send");
        }
        let mut buf = [0u8; 1500];
        for _ in chunk {
            let (n, _) = socket.recv_from(&mut buf).expect("every query is answered");
            let reply = Message::from_vec(&buf[..n]).expect("an answer");
            assert_eq!(ips(&reply), vec!["0.0.0.0"]);
        }
    }
}

/// The blocked queries of `profile` per top domain, as `hedge report` gives them.
fn blocked_domains(db: &std::path::Path, profile: &str) -> Vec<String> {
    let out = report(
        db,
        &[
            "--action",
            "blocked",
            "--profile",
            profile,
            "--top-domains",
            "10",
        ],
    );
    out.lines()
        .filter(|l| l.starts_with("top-domain"))
        .map(str::to_string)
        .collect()
}

/// Blocked answers served again from hedge's cache of answers are counted exactly in the
/// store: through the cache, through a flood of random subdomains larger than the cache
/// (which pushes the counted entries out of it), through an entry gone stale (`block_ttl`
/// 1 s), through `kill -9` 10 s after the last query (the promise: at most 10 s of counts
/// lost) and through a TERM after a restart.
#[tokio::test(flavor = "multi_thread")]
async fn cached_blocks_are_counted_exactly_through_evictions_kill_and_stop() {
    let net = FakeInternet::start_for_test().await;
    let (l1, adult) = listener("adult", "127.0.0.0/8");
    let (l2, short) = listener("short", "127.0.0.0/8");
    let text = format!(
        "[[profile]]\nname = \"adult\"\nblock = [\"gambling\"]\n\n\
         [[profile]]\nname = \"short\"\nblock = [\"gambling\"]\nblock_ttl = 1\n\n\
         {l1}\n{l2}\n[stats]\npath = \"stats.sqlite\"\n{}",
        recursive_upstream(&net, 3000)
    );
    let mut hedge = Hedge::start(&text);
    let times = |name: &str, n: usize| vec![name.to_string(); n];
    ask_blocked(adult, &times("www.bet365.com.", 5));
    // 6,000 distinct names, each asked twice (decided, then from the cache): more than
    // the blocked-answer cache holds (4,096), so counted entries are pushed out of it.
    let flood: Vec<String> = (0..6_000)
        .flat_map(|i| [format!("x{i}.bet365.com."), format!("x{i}.bet365.com.")])
        .collect();
    ask_blocked(adult, &flood);
    ask_blocked(adult, &times("www.bet365.com.", 3));
    ask_blocked(short, &times("www.bet365.com.", 3));
    // Stale within 2 s (lifetimes are whole seconds): the next query drops the entry.
    std::thread::sleep(Duration::from_millis(2_100));
    ask_blocked(short, &times("www.bet365.com.", 2));
    std::thread::sleep(Duration::from_secs(10));
    hedge.child.kill().expect("kill -9");
    hedge.child.wait().expect("wait");
    let db = hedge.dir.path().join("stats.sqlite");
    assert_eq!(
        blocked_domains(&db, "adult"),
        ["top-domain,bet365.com,gambling,12008"],
        "{}",
        hedge.log()
    );
    assert_eq!(
        blocked_domains(&db, "short"),
        ["top-domain,bet365.com,gambling,5"]
    );

    // Started again on the same store: cached answers, then TERM.
    let dir = std::mem::replace(&mut hedge.dir, tempfile::tempdir().expect("tempdir"));
    let mut hedge = Hedge::start_at(dir, hedge.config.clone());
    ask_blocked(adult, &times("www.bet365.com.", 4));
    ask_blocked(short, &times("x1.bet365.com.", 3));
    hedge.stop();
    let db = hedge.dir.path().join("stats.sqlite");
    assert_eq!(
        blocked_domains(&db, "adult"),
        ["top-domain,bet365.com,gambling,12012"],
        "{}",
        hedge.log()
    );
    assert_eq!(
        blocked_domains(&db, "short"),
        ["top-domain,bet365.com,gambling,8"]
    );
    let by = report(&db, &["--by", "profile,action"]);
    let rows: Vec<&str> = by.lines().filter(|l| l.starts_with("row,")).collect();
    assert_eq!(
        rows,
        ["row,adult,blocked,12012", "row,short,blocked,8"],
        "{by}"
    );
}
