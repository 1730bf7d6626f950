//! End-to-end: reload under load (SIGHUP and a replaced index file) with zero failed
//! queries, a failed reload that keeps serving, and TCP pipelining.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;
use support::*;

fn compile(dir: &std::path::Path, names: &str) {
    let o = compile_one_source(dir, "plain", names.as_bytes(), &dir.join("index.hidx"), &[]);
    assert!(o.status.success(), "{}", text(&o));
}

/// Sends SIGHUP and waits until the log says `needle` for the `n`-th time; returns the log.
fn hup_until(hedge: &Hedge, needle: &str, n: usize) -> String {
    hedge.signal("HUP");
    assert!(
        hedge.wait_log_count(needle, n, Duration::from_secs(5)),
        "{}",
        hedge.log()
    );
    hedge.log()
}

#[tokio::test(flavor = "multi_thread")]
async fn reload_under_load_loses_nothing() {
    let net = FakeInternet::start_for_test().await;
    let dir = tempfile::tempdir().expect("tempdir");
    compile(dir.path(), "first.example\n");
    let (l, addr) = listener("p", "127.0.0.0/8");
    let base = format!("{l}\n{}", recursive_upstream(&net, 3000));
    let profile = |extra: &str| {
        format!(
            "index = \"index.hidx\"\n[[profile]]\nname = \"p\"\nblock = [\"gambling\"]\n{extra}\n"
        )
    };
    let config = dir.path().join("hedge.toml");
    std::fs::write(&config, format!("{}{base}", profile(""))).expect("config");
    let hedge = Hedge::start_at(dir, config.clone());
    let dir = hedge.dir.path().to_path_buf();
    assert_eq!(
        ips(&udp(addr, "www.first.example.", RecordType::A).await),
        vec!["0.0.0.0"]
    );
    assert_eq!(
        ips(&udp(addr, names::WWW_EXAMPLE_COM, RecordType::A).await),
        vec![names::WWW_EXAMPLE_COM_A.to_string()]
    );

    // Load: four clients asking a blocked and a cached allowed name as fast as they can.
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let mut clients = Vec::new();
    for i in 0..4 {
        let (stop, ok, failed) = (stop.clone(), ok.clone(), failed.clone());
        clients.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let name = if i % 2 == 0 {
                    "www.first.example."
                } else {
                    names::WWW_EXAMPLE_COM
                };
                match hedge_testkit::client::query_udp(addr, name, RecordType::A).await {
                    Ok(m)
                        if m.metadata.response_code == ResponseCode::NoError
                            && !m.answers.is_empty() =>
                    {
                        ok.fetch_add(1, Ordering::Relaxed)
                    }
                    _ => failed.fetch_add(1, Ordering::Relaxed),
                };
            }
        }));
    }
    // SIGHUP with a new profile rule, five times.
    std::fs::write(
        &config,
        format!("{}{base}", profile("block_domains = [\"example.net\"]")),
    )
    .expect("config");
    for _ in 0..5 {
        hedge.signal("HUP");
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    assert!(
        hedge.wait_log("reloaded (SIGHUP)", Duration::from_secs(5)),
        "{}",
        hedge.log()
    );
    // Free heap goes back to the kernel within a poll (2 s) of a reload (glibc only).
    if cfg!(all(target_os = "linux", target_env = "gnu")) {
        assert!(
            hedge.wait_log("malloc_trim:", Duration::from_secs(5)),
            "{}",
            hedge.log()
        );
    }
    // A broken config: the reload fails and the old snapshot keeps serving.
    std::fs::write(&config, format!("{}{base}", profile("colour = \"red\""))).expect("config");
    hup_until(
        &hedge,
        "failed, still serving the previous configuration",
        1,
    );
    // A new index file, picked up without a signal.
    tokio::time::sleep(Duration::from_millis(1100)).await; // a distinct mtime
    std::fs::write(
        &config,
        format!("{}{base}", profile("block_domains = [\"example.net\"]")),
    )
    .expect("config");
    compile(&dir, "first.example\nsecond.example\n");
    assert!(
        hedge.wait_log("reloaded (index file changed)", Duration::from_secs(6)),
        "{}",
        hedge.log()
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.await.expect("client");
    }
    let (ok, failed) = (ok.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    assert!(ok > 200, "only {ok} answers under load");
    assert_eq!(failed, 0, "{failed} failed queries of {}", ok + failed);
    assert_eq!(
        ips(&udp(addr, names::WWW_EXAMPLE_NET, RecordType::A).await),
        vec!["0.0.0.0"],
        "new rule applies"
    );
    assert_eq!(
        ips(&udp(addr, "a.second.example.", RecordType::A).await),
        vec!["0.0.0.0"],
        "new index applies"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn tcp_pipelined_queries_do_not_wait_behind_a_slow_one() {
    let mut net = FakeInternet::start_for_test().await;
    let (l, addr) = listener("p", "127.0.0.0/8");
    let hedge = Hedge::start(&format!(
        "[[profile]]\nname = \"p\"\nblock = [\"gambling\"]\n{l}\n{}",
        recursive_upstream(&net, 1500)
    ));
    net.shutdown(); // every uncached allowed name now takes the full timeout
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut batch = Vec::new();
    for (id, name) in [(1u16, names::WWW_EXAMPLE_NET), (2, "www.bet365.com.")] {
        let mut q = hedge_testkit::client::query(name, RecordType::A).expect("query");
        q.metadata.id = id;
        let bytes = q.to_vec().expect("encode");
        batch.extend_from_slice(&(bytes.len() as u16).to_be_bytes());
        batch.extend_from_slice(&bytes);
    }
    stream.write_all(&batch).await.expect("write");
    let mut ids = Vec::new();
    for _ in 0..2 {
        let len = tokio::time::timeout(Duration::from_secs(5), stream.read_u16())
            .await
            .expect("answer in time")
            .expect("read");
        let mut buf = vec![0u8; usize::from(len)];
        stream.read_exact(&mut buf).await.expect("read");
        let m = hickory_proto::op::Message::from_vec(&buf).expect("parse");
        ids.push((m.metadata.id, m.metadata.response_code));
    }
    assert_eq!(
        ids,
        vec![(2, ResponseCode::NoError), (1, ResponseCode::ServFail)],
        "the blocked answer overtakes the slow one"
    );
    drop(hedge);
}

#[tokio::test(flavor = "multi_thread")]
async fn reordered_listeners_keep_their_profiles_and_listener_changes_need_a_restart() {
    let net = FakeInternet::start_for_test().await;
    let (la, adult) = listener("adult", "127.0.0.0/8");
    let (lc, child) = listener("child", "127.0.0.0/8");
    let profiles =
        "[[profile]]\nname = \"adult\"\n[[profile]]\nname = \"child\"\nblock = [\"gambling\"]\n";
    let upstream = recursive_upstream(&net, 3000);
    let hedge = Hedge::start(&format!("{profiles}{la}\n{lc}\n{upstream}"));
    assert_eq!(
        ips(&udp(child, "www.bet365.com.", RecordType::A).await),
        vec!["0.0.0.0"]
    );
    std::fs::write(&hedge.config, format!("{profiles}{lc}\n{la}\n{upstream}")).expect("config");
    hup_until(&hedge, "reloaded (SIGHUP)", 1);
    assert_eq!(
        ips(&udp(child, "www.bet365.com.", RecordType::A).await),
        vec!["0.0.0.0"],
        "child stays child"
    );
    assert!(
        ips(&udp(adult, "www.bet365.com.", RecordType::A).await).is_empty(),
        "adult stays adult"
    );
    let (other, _) = listener("adult", "127.0.0.0/8");
    std::fs::write(
        &hedge.config,
        format!("{profiles}{lc}\n{other}\n{upstream}"),
    )
    .expect("config");
    hup_until(&hedge, "listener changes take effect on restart", 1);
    assert_eq!(
        ips(&udp(child, "www.bet365.com.", RecordType::A).await),
        vec!["0.0.0.0"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reload_applies_profiles_and_statistics_and_warns_about_restart_only_settings() {
    let net = FakeInternet::start_for_test().await;
    let (l, addr) = listener("p", "127.0.0.0/8");
    let config = |block: &str, stats: &str, timeout_ms: u64, rest: &str| {
        format!(
            "[[profile]]\nname = \"p\"\nblock_domains = [{block}]\n{l}\n{}[stats]\npath = \"{stats}\"\n{rest}",
            recursive_upstream(&net, timeout_ms)
        )
    };
    let hedge = Hedge::start(&config("", "a.sqlite", 3000, ""));
    assert!(
        hedge.wait_log("a.sqlite", Duration::from_secs(5)),
        "{}",
        hedge.log()
    );
    assert_eq!(
        ips(&udp(addr, names::WWW_EXAMPLE_NET, RecordType::A).await),
        vec![names::WWW_EXAMPLE_NET_A.to_string()]
    );

    // Nothing changed: no warning about restart-only settings.
    hup_until(&hedge, "reloaded (SIGHUP)", 1);
    assert!(
        !hedge.log().contains("takes effect on restart"),
        "{}",
        hedge.log()
    );

    // Profiles and statistics reload; upstream, server and metrics only warn.
    std::fs::write(
        &hedge.config,
        config(
            "\"example.net\"",
            "b.sqlite",
            2000,
            "[server]\ntcp_idle_ms = 5000\n[metrics]\nlisten = \"127.0.0.1:1\"\n",
        ),
    )
    .expect("config");
    let log = hup_until(&hedge, "reloaded (SIGHUP)", 2);
    assert!(
        log.contains("b.sqlite"),
        "statistics move to the new file:\n{log}"
    );
    for section in ["upstream", "server", "metrics"] {
        assert!(
            log.contains(&format!(
                "[{section}] changed: it takes effect on restart, not on reload"
            )),
            "{section}:\n{log}"
        );
    }
    assert_eq!(
        ips(&udp(addr, names::WWW_EXAMPLE_NET, RecordType::A).await),
        vec!["0.0.0.0"],
        "the new profile rule applies"
    );

    // Reloaded again unchanged: counting goes on into the same file (a reload compares
    // `[stats]` with the settings last applied, not with those hedge started with).
    let log = hup_until(&hedge, "reloaded (SIGHUP)", 3);
    assert_eq!(
        log.matches("counting queries into").count(),
        2,
        "counting restarts only when `[stats]` changed:\n{log}"
    );
}
