//! `hedge policy diff`: the real binary on temporary configurations and a store filled through
//! the store's API. Changes of categories, custom domains and schedules; a broken new
//! configuration; the impact on stored blocked counts, exactly; CSV and JSON shapes; and,
//! through a real `hedge serve` and real queries, the allowed queries a new configuration
//! would block.

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use hedge_stats::{Action, Batch, SqliteStore, Store};
use support::*;

const LISTENER: &str = r#"
[[listener]]
profile = "kids"
bind = ["127.0.0.1:5353"]
allow = ["127.0.0.0/8"]
"#;

const CURRENT: &str = r#"
[[profile]]
name = "kids"
block = ["gambling"]
block_domains = ["a.example", "b.example", "c.example", "news.example/sport"]

[[profile.schedule]]
name = "school"
days = ["mon-fri"]
from = "09:00"
to = "15:00"
block = ["games"]
"#;

/// Gambling allowed, games blocked; b and c (and the URL) off the block list, d on it, c
/// on the allow list; school runs an hour longer.
const NEW: &str = r#"
[[profile]]
name = "kids"
block = ["games"]
block_domains = ["a.example", "d.example"]
allow_domains = ["c.example"]

[[profile.schedule]]
name = "school"
days = ["mon-fri"]
from = "09:00"
to = "16:00"
block = ["games"]
"#;

struct Setup {
    _dir: tempfile::TempDir,
    current: PathBuf,
    new: PathBuf,
    db: PathBuf,
}

fn setup(new: &str) -> Setup {
    let dir = tempfile::tempdir().expect("tempdir");
    let current = dir.path().join("current.toml");
    let new_path = dir.path().join("new.toml");
    std::fs::write(&current, format!("{CURRENT}{LISTENER}")).expect("write current");
    std::fs::write(&new_path, format!("{new}{LISTENER}")).expect("write new");
    let db = dir.path().join("stats.sqlite");
    fill(&db);
    Setup {
        _dir: dir,
        current,
        new: new_path,
        db,
    }
}

/// October: a (100, stays blocked), b (50, off the list), c (20, allow-listed), gone (5,
/// blocked then, not listed now). November: b 1000 more, outside the period asked for.
fn fill(db: &Path) {
    let mut store = SqliteStore::open(db).expect("open the store");
    let s = |x: &str| -> Arc<str> { x.into() };
    let custom = s("custom:block_domains");
    let mut oct = Batch::new();
    oct.add_count(s("kids"), custom.clone(), Action::Blocked, 175);
    oct.add_count(s("kids"), s("-"), Action::Allowed, 9_999);
    for (d, n) in [
        ("a.example", 100),
        ("b.example", 50),
        ("c.example", 20),
        ("gone.example", 5),
    ] {
        oct.add_domain(s("kids"), custom.clone(), d, n);
    }
    store
        .write(jiff::civil::date(2026, 10, 5), &oct)
        .expect("write October");
    let mut nov = Batch::new();
    nov.add_count(s("kids"), custom.clone(), Action::Blocked, 1000);
    nov.add_domain(s("kids"), custom, "b.example", 1000);
    store
        .write(jiff::civil::date(2026, 11, 2), &nov)
        .expect("write November");
}

fn diff(s: &Setup, format: &str) -> std::process::Output {
    diff_with(s, format, &[])
}

/// `policy diff` of the setup's two files and store, over October 2026.
fn diff_with(s: &Setup, format: &str, extra: &[&str]) -> std::process::Output {
    let mut args: Vec<&std::ffi::OsStr> = vec!["policy".as_ref(), "diff".as_ref()];
    for (flag, value) in [
        ("--current", s.current.as_os_str()),
        ("--config", s.new.as_os_str()),
        ("--db", s.db.as_os_str()),
        ("--from", "2026-10".as_ref()),
        ("--to", "2026-10".as_ref()),
        ("--format", format.as_ref()),
    ] {
        args.push(flag.as_ref());
        args.push(value);
    }
    args.extend(extra.iter().map(|a| std::ffi::OsStr::new(*a)));
    run_hedge(args)
}

fn stdout_ok(o: &std::process::Output) -> String {
    assert!(o.status.success(), "policy diff failed: {}", text(o));
    String::from_utf8(o.stdout.clone()).expect("utf-8")
}

#[test]
fn text_lists_categories_domains_schedules_and_the_impact() {
    let s = setup(NEW);
    let out = stdout_ok(&diff(&s, "text"));
    for line in [
        "- category Gambling (gambling): newly allowed",
        "- category Games (games): newly blocked",
        "- blocked domain d.example: newly blocked",
        "- blocked domain b.example: no longer blocked",
        "- blocked domain c.example: no longer blocked",
        "- blocked url news.example/sport: removed (not enforceable by DNS)",
        "- allowed domain c.example: newly allowed",
        "- schedule school: mon-fri 09:00–15:00: block games → mon-fri 09:00–16:00: block games",
        "- kids: 70 of 175 blocked queries would have been allowed",
        "  (5 more were to names the current configuration no longer blocks either)",
        "  - b.example: 50 (blocked for custom:block_domains; now allowed (not listed))",
        "  - c.example: 20 (blocked for custom:block_domains; now allowed (allow list))",
        // Stored before allowed queries were counted per domain: said, not printed as 0.
        "  Newly blocked: not estimated: the period has no allowed-query counts per domain",
    ] {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }
    assert!(
        !out.contains("a.example:"),
        "a.example stays blocked:\n{out}"
    );
    assert!(
        !out.contains("1,"),
        "November's counts are outside the period:\n{out}"
    );
}

#[test]
fn top_limits_the_domains_listed_not_the_total() {
    let s = setup(NEW);
    let mut o = diff(&s, "json");
    assert!(o.status.success(), "{}", text(&o));
    let all: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let p = &all["impact"]["profiles"][0];
    assert_eq!(p["would_allow"], 70);
    assert_eq!(p["top_domains"].as_array().map(Vec::len), Some(2));
    o = diff_with(&s, "json", &["--top", "1"]);
    let one: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let p = &one["impact"]["profiles"][0];
    assert_eq!(p["would_allow"], 70);
    assert_eq!(p["top_domains"][0]["domain"], "b.example");
    assert_eq!(p["top_domains"].as_array().map(Vec::len), Some(1));
    // As `hedge report --suppress-below`: small counts are not listed, still counted.
    o = diff_with(&s, "json", &["--suppress-below", "30"]);
    let big: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let p = &big["impact"]["profiles"][0];
    assert_eq!(p["would_allow"], 70);
    assert_eq!(p["top_domains"][0]["domain"], "b.example");
    assert_eq!(p["top_domains"].as_array().map(Vec::len), Some(1));
}

#[test]
fn json_shape() {
    let s = setup(NEW);
    let v: serde_json::Value = serde_json::from_str(&stdout_ok(&diff(&s, "json"))).expect("json");
    assert_eq!(
        v["changes"][0],
        serde_json::json!({"profile": "kids", "kind": "category", "item": "Gambling (gambling)", "change": "newly allowed"}),
        "{v:#}"
    );
    let i = &v["impact"];
    assert_eq!(i["from"], "2026-10-01");
    assert_eq!(i["to"], "2026-10-31");
    assert_eq!(
        i["profiles"][0],
        serde_json::json!({
            "profile": "kids",
            "blocked_queries": 175,
            "would_allow": 70,
            "already_allowed_now": 5,
            "top_domains": [
                {"domain": "b.example", "category": "custom:block_domains", "queries": 50, "new_decision": "allowed (not listed)"},
                {"domain": "c.example", "category": "custom:block_domains", "queries": 20, "new_decision": "allowed (allow list)"},
            ],
            "allowed_queries": 9_999,
            "newly_blocked": null,
            "newly_blocked_note": "not estimated: the period has no allowed-query counts per domain (statistics written before hedge counted them, or `stats.count_allowed = false`)",
        })
    );
}

#[test]
fn csv_shape() {
    let s = setup(NEW);
    let o = diff(&s, "csv");
    let out = stdout_ok(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "profile,kind,item,change,queries");
    for row in [
        "kids,category,Gambling (gambling),newly allowed,",
        "kids,blocked domain,d.example,newly blocked,",
        "kids,impact,(total),blocked → allowed,70",
        "kids,impact,b.example,blocked (custom:block_domains) → allowed (not listed),50",
        "kids,impact,c.example,blocked (custom:block_domains) → allowed (allow list),20",
    ] {
        assert!(lines.contains(&row), "missing {row:?} in:\n{out}");
    }
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("profile kids: newly blocked: not estimated"),
        "{err}"
    );
    assert!(!out.contains("allowed → blocked"), "not a 0 row:\n{out}");
}

#[test]
fn a_broken_new_config_is_an_error_naming_file_and_line() {
    let broken = NEW.replace(
        r#"block = ["games"]
block_domains"#,
        r#"block = ["web-chat"]
block_domains"#,
    );
    let s = setup(&broken);
    let o = diff(&s, "text");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(o.stdout.is_empty(), "nothing else is printed: {}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    let want = format!(
        "{}:4: profile `kids`, key `block`: unknown category `web-chat`",
        s.new.display()
    );
    assert!(err.contains(&want), "want {want:?} in:\n{err}");
}

#[test]
fn a_new_config_that_is_not_toml_names_its_line() {
    // The array is never closed: the parser stops at the listener's table, on line 5.
    let s = setup("[[profile]]\nname = \"kids\"\nblock = [\"games\"\n");
    let o = diff(&s, "text");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&s.new.display().to_string()) && err.contains("TOML parse error at line 5"),
        "{err}"
    );
}

#[test]
fn a_walled_garden_and_a_new_profile() {
    let garden = r#"
[[profile]]
name = "kids"
mode = "allowlist"
allow_domains = ["c.example"]

[[profile]]
name = "library"
block = ["gambling"]
"#;
    let s = setup(garden);
    let out = stdout_ok(&diff(&s, "text"));
    for line in [
        "- setting mode: filter → walled garden",
        "- walled garden c.example: newly allowed",
        "- blocked domain a.example: no longer blocked",
        "- schedule school: removed: mon-fri 09:00–15:00: block games",
        "Profile library\n\n- profile library: added",
        "- kids: 20 of 175 blocked queries would have been allowed",
        "  - c.example: 20 (blocked for custom:block_domains; now allowed (walled garden))",
    ] {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }
    // Categories do not decide in a walled garden.
    assert!(!out.contains("- category"), "{out}");
}

#[test]
fn a_broken_schedule_names_its_line() {
    let s = setup(&NEW.replace(
        "to = \"16:00\"\nblock = [\"games\"]",
        "to = \"16:00\"\nblock = [\"web-chat\"]",
    ));
    let o = diff(&s, "text");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    let want = format!(
        "{}:13: profile `kids`, key `schedule.block`: schedule `school`: unknown category `web-chat`",
        s.new.display()
    );
    assert!(err.contains(&want), "want {want:?} in:\n{err}");
}

/// Allowed queries through a real server, then a new configuration that blocks some of
/// them: `policy diff` counts them, per profile, with the top domain, in every format.
#[tokio::test(flavor = "multi_thread")]
async fn allowed_queries_that_a_new_config_would_block_are_counted() {
    use hickory_proto::rr::RecordType;
    let net = FakeInternet::start_for_test().await;
    let (l, addr) = listener("kids", "127.0.0.0/8");
    let current = format!(
        "[[profile]]\nname = \"kids\"\nblock = [\"gambling\"]\n\n{l}\n[stats]\npath = \"stats.sqlite\"\n{}",
        recursive_upstream(&net, 3000)
    );
    let mut hedge = Hedge::start(&current);
    // Three from the resolver and then the packet cache, one other allowed name, one block.
    for _ in 0..3 {
        udp(addr, names::WWW_EXAMPLE_COM, RecordType::A).await;
    }
    udp(addr, names::WWW_EXAMPLE_NET, RecordType::A).await;
    udp(addr, "www.bet365.com.", RecordType::A).await;
    hedge.stop(); // TERM flushes what is counted
    let new = hedge.dir.path().join("new.toml");
    std::fs::write(
        &new,
        current.replace(
            "block = [\"gambling\"]",
            "block = [\"gambling\"]\nblock_domains = [\"example.com\"]",
        ),
    )
    .expect("write new");
    let month = this_month_utc();
    let run = |format: &str| {
        let o = run_hedge([
            "policy".as_ref(),
            "diff".as_ref(),
            "--current".as_ref(),
            hedge.config.as_os_str(),
            "--config".as_ref(),
            new.as_os_str(),
            "--from".as_ref(),
            month.as_ref(),
            "--to".as_ref(),
            month.as_ref(),
            "--format".as_ref(),
            std::ffi::OsStr::new(format),
        ]);
        stdout_ok(&o)
    };
    let out = run("text");
    for line in [
        "- kids: 0 of 1 blocked queries would have been allowed",
        "  3 of 4 allowed queries would have been blocked",
        "  - www.example.com: 3 (allowed; now blocked (custom:block_domains))",
    ] {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }
    assert!(!out.contains("www.example.net"), "still allowed:\n{out}");
    let csv = run("csv");
    for row in [
        "kids,impact,(total),allowed → blocked,3",
        "kids,impact,www.example.com,allowed → blocked (custom:block_domains),3",
    ] {
        assert!(csv.lines().any(|l| l == row), "missing {row:?} in:\n{csv}");
    }
    let json: serde_json::Value = serde_json::from_str(&run("json")).expect("json");
    let p = &json["impact"]["profiles"][0];
    assert_eq!(p["allowed_queries"], 4, "{p:#}");
    assert_eq!(
        p["newly_blocked"],
        serde_json::json!({
            "would_block": 3,
            "already_blocked_now": 0,
            "unnamed": 0,
            "top_domains": [
                {"domain": "www.example.com", "queries": 3, "new_decision": "blocked (custom:block_domains)"},
            ],
        }),
        "{p:#}"
    );
}

/// Allowed answers served from the packet cache are counted in their cache entries, which
/// the flusher sweeps before each write of the counts: exactly, while hedge serves (the
/// sweep) and when it stops (what was left in the cache).
#[tokio::test(flavor = "multi_thread")]
async fn cached_allowed_answers_are_counted_exactly_across_sweeps() {
    use hickory_proto::rr::RecordType;
    let net = FakeInternet::start_for_test().await;
    let (l, addr) = listener("kids", "127.0.0.0/8");
    let current = format!(
        "[[profile]]\nname = \"kids\"\nblock = [\"gambling\"]\n\n{l}\n[stats]\npath = \"stats.sqlite\"\n{}",
        recursive_upstream(&net, 3000)
    );
    let mut hedge = Hedge::start(&current);
    let new = hedge.dir.path().join("new.toml");
    std::fs::write(
        &new,
        current.replace(
            "block = [\"gambling\"]",
            "block = [\"gambling\"]\nblock_domains = [\"example.com\"]",
        ),
    )
    .expect("write new");
    let month = this_month_utc();
    let current_config = hedge.config.clone();
    // The allowed queries of www.example.com written so far (the new config blocks them).
    let written = || {
        let o = run_hedge([
            "policy".as_ref(),
            "diff".as_ref(),
            "--current".as_ref(),
            current_config.as_os_str(),
            "--config".as_ref(),
            new.as_os_str(),
            "--from".as_ref(),
            month.as_ref(),
            "--to".as_ref(),
            month.as_ref(),
            "--format".as_ref(),
            "json".as_ref(),
        ]);
        let json: serde_json::Value = serde_json::from_str(&stdout_ok(&o)).expect("json");
        json["impact"]["profiles"][0]["newly_blocked"]["would_block"]
            .as_u64()
            .unwrap_or(0)
    };
    // One answer from the resolver, then three from the packet cache.
    for _ in 0..4 {
        udp(addr, names::WWW_EXAMPLE_COM, RecordType::A).await;
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let n = written();
        assert!(n <= 4, "{n} written for 4 queries");
        if n == 4 {
            break; // swept and written while serving
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{n} of 4 written after 30 s:\n{}",
            hedge.log()
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    // Five more from the same cache entry, counted on from zero after the sweep.
    for _ in 0..5 {
        udp(addr, names::WWW_EXAMPLE_COM, RecordType::A).await;
    }
    hedge.stop(); // TERM flushes what is counted
    assert_eq!(written(), 9, "{}", hedge.log());
}
