//! End-to-end: `hedge explain` gives the verdict `hedge serve` gives, CNAME chains included,
//! resolving through the same upstream (a fake internet on loopback).

mod support;

use std::process::Output;

use hickory_proto::rr::RecordType;
use support::*;

const PROFILES: &str = r#"
[[profile]]
name = "adult"
block = ["gambling"]
block_domains = ["adtracker.net"]
"#;

fn explain(config: &std::path::Path, args: &[&str]) -> Output {
    let config = config.to_str().expect("utf-8");
    let mut all = vec!["explain", "--config", config, "--profile", "adult"];
    all.extend_from_slice(args);
    run_hedge(all)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn explain_follows_the_cname_chain_like_the_server() {
    let net = FakeInternet::start_for_test().await;
    let (l, addr) = listener("adult", "127.0.0.0/8");
    let config = format!("{PROFILES}\n{l}\n{}", recursive_upstream(&net, 3000));
    let hedge = Hedge::start(&config);

    // The server blocks a name whose chain reaches a listed name ...
    let m = udp(addr, names::METRICS_TRACKER_CLOAK_COM, RecordType::A).await;
    assert_eq!(ips(&m), vec!["0.0.0.0".to_string()], "serve blocks it");
    // ... and explain says so, with the chain and the target that decided.
    let o = explain(&hedge.config, &["metrics.tracker-cloak.com"]);
    let t = stdout(&o);
    assert!(
        o.status.success(),
        "{t}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        t.starts_with("metrics.tracker-cloak.com A: blocked (via CNAME collector.adtracker.net)"),
        "{t}"
    );
    assert!(
        t.contains("CNAME chain metrics.tracker-cloak.com → collector.adtracker.net"),
        "{t}"
    );
    assert!(
        t.contains("CNAME target `collector.adtracker.net` decides: blocked"),
        "{t}"
    );
    assert!(t.contains("custom block list `block_domains`"), "{t}");

    // --offline looks at the index alone, and says so.
    let o = explain(&hedge.config, &["--offline", "metrics.tracker-cloak.com"]);
    let t = stdout(&o);
    assert!(o.status.success(), "{t}");
    assert!(
        t.starts_with("metrics.tracker-cloak.com A: allowed (offline:"),
        "{t}"
    );

    // An allowed two-hop chain: both targets shown, the verdict the server's.
    let m = udp(addr, names::DEEP_EXAMPLE_COM, RecordType::A).await;
    assert_eq!(ips(&m), vec![names::WWW_EXAMPLE_NET_A.to_string()]);
    let o = explain(&hedge.config, &["deep.example.com"]);
    let t = stdout(&o);
    assert!(t.starts_with("deep.example.com A: allowed\n"), "{t}");
    assert!(
        t.contains("CNAME chain deep.example.com → alias.example.com → www.example.net"),
        "{t}"
    );
    assert!(t.contains("every CNAME target is allowed"), "{t}");
    drop(hedge);
}

#[test]
fn explain_says_when_the_upstream_failed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (l, _) = listener("adult", "127.0.0.0/8");
    // A root server that does not exist (nothing listens on 127.0.0.99): resolution fails.
    let config = format!(
        "{PROFILES}\n{l}\n[upstream]\nmode = \"recursive\"\nroots = [\"127.0.0.99\"]\n\
         allow_servers = [\"127.0.0.0/8\"]\ntimeout_ms = 1000\n"
    );
    let path = dir.path().join("hedge.toml");
    std::fs::write(&path, config).expect("write config");
    let o = explain(&path, &["metrics.tracker-cloak.com"]);
    let t = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(
        t.starts_with(
            "metrics.tracker-cloak.com A: allowed (OFFLINE DECISION: the upstream failed"
        ),
        "{t}"
    );
    assert!(t.contains("→ upstream: "), "{t}");
}

#[test]
fn explain_names_the_schedule_in_force_at_the_time_asked() {
    let config = repo().join("tests/configs/good/schedule.toml");
    let at = |time: &str| {
        run_hedge([
            "explain",
            "--config",
            config.to_str().expect("utf-8"),
            "--profile",
            "child",
            "--offline",
            "--at",
            time,
            "www.roblox.com",
        ])
    };
    // Monday 7 December 2026, 10:00 in London: school hours.
    let o = at("2026-12-07T10:00");
    let t = stdout(&o);
    assert!(o.status.success(), "{}", text(&o));
    assert!(t.starts_with("www.roblox.com A: blocked"), "{t}");
    assert!(
        t.contains("schedule `school hours`: mon-fri 09:00–15:30: block games (in force at 2026-12-07 10:00 Europe/London)"),
        "{t}"
    );
    // After school: allowed, and the schedule named as not in force.
    let t = stdout(&at("2026-12-07T16:00"));
    assert!(t.starts_with("www.roblox.com A: allowed"), "{t}");
    assert!(
        t.contains("(not in force at 2026-12-07 16:00 Europe/London)"),
        "{t}"
    );
    // 08:30 UTC in July is 09:30 British Summer Time: school hours.
    let t = stdout(&at("2026-07-06T08:30:00Z"));
    assert!(t.starts_with("www.roblox.com A: blocked"), "{t}");
    // A time that is not one is a usage error.
    let o = at("tomorrow");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("--at tomorrow: not a time"),
        "{}",
        text(&o)
    );
}
