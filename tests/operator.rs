//! The operator's tools tell the truth: `policy show` of the example config is the council's
//! published policy, `report` says which store it read and when it holds nothing, and blocks
//! that no category explains are counted under the rule that blocked them.

mod support;

use std::collections::BTreeSet;
use std::process::Output;

use hedge_stats::{Action, Batch, SqliteStore, Store};
use hickory_proto::rr::RecordType;
use serde_json::Value;
use support::*;

fn hedge(args: &[&str]) -> Output {
    run_hedge(args)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// hedge's own additions to the council's categories, in every filtering profile of the
/// example: the bypass control docs/deployment.md asks for (it is labelled in the config).
const HEDGE_ADDITIONS: &[&str] = &["Encrypted DNS Resolvers"];

/// Where the published text is ambiguous, the reading its comments ask for: "Society and
/// Lifestyles" in Child names the root of Personals and Dating, not a blocked root.
const READ_AS_ROOT_NOT_BLOCKED: &[&str] = &["Society and Lifestyles"];

fn strings(v: &toml::Value, key: &str) -> BTreeSet<String> {
    v.get(key)
        .and_then(toml::Value::as_array)
        .map(|a| {
            a.iter()
                .map(|s| s.as_str().expect("a string").to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// (blocked categories, roots not blocked with blocked children, custom URLs) of one
/// profile of `policy show --format json`.
fn shown(profile: &Value) -> (BTreeSet<String>, BTreeSet<String>, BTreeSet<String>) {
    let mut blocked = BTreeSet::new();
    let mut roots = BTreeSet::new();
    for c in profile["categories"].as_array().expect("categories") {
        let name = c["name"].as_str().expect("name").to_string();
        match c["status"].as_str().expect("status") {
            "blocked" | "blocked, with exceptions" => {
                blocked.insert(name);
            }
            "not blocked; some children blocked" => {
                roots.insert(name);
            }
            _ => {}
        }
    }
    let urls = ["blocked_domains", "blocked_urls_not_enforceable_by_dns"]
        .iter()
        .flat_map(|k| profile[*k].as_array().cloned().unwrap_or_default())
        .map(|u| u.as_str().expect("entry").to_string())
        .collect();
    (blocked, roots, urls)
}

fn assert_same(what: &str, shown: &BTreeSet<String>, published: &BTreeSet<String>) {
    let extra: Vec<_> = shown.difference(published).collect();
    let missing: Vec<_> = published.difference(shown).collect();
    assert!(
        extra.is_empty() && missing.is_empty(),
        "{what}: shown but not published {extra:?}; published but not shown {missing:?}"
    );
}

#[test]
fn policy_show_of_the_example_is_the_published_policy() {
    let fixture = repo().join("tests/fixtures/published-policy.toml");
    let published: toml::Value =
        toml::from_str(&std::fs::read_to_string(&fixture).expect("fixture")).expect("toml");
    let config = repo().join("deploy/hedge.toml");
    let o = hedge(&[
        "policy",
        "show",
        "--config",
        config.to_str().expect("utf-8"),
        "--format",
        "json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let profiles: Vec<Value> = serde_json::from_slice(&o.stdout).expect("json");
    let profile = |name: &str| {
        profiles
            .iter()
            .find(|p| p["profile"] == name)
            .unwrap_or_else(|| panic!("no profile {name}"))
    };
    let adult = &published["adult"];
    let child = &published["child"];
    assert_eq!(child["inherits"].as_str(), Some("adult"));
    let additions: BTreeSet<String> = HEDGE_ADDITIONS.iter().map(|s| s.to_string()).collect();
    let ambiguous: BTreeSet<String> = READ_AS_ROOT_NOT_BLOCKED
        .iter()
        .map(|s| s.to_string())
        .collect();

    let mut expect_blocked = strings(adult, "blocked");
    let mut expect_roots = strings(adult, "root_not_blocked");
    let mut expect_urls = strings(adult, "custom_urls");
    // Categories and URLs both ways; the roots the answer said were not blocked, shown so.
    let check = |name: &str,
                 expect_blocked: &BTreeSet<String>,
                 expect_roots: &BTreeSet<String>,
                 expect_urls: &BTreeSet<String>| {
        let (blocked, roots, urls) = shown(profile(name));
        let expected = expect_blocked.union(&additions).cloned().collect();
        assert_same(&format!("{name} categories"), &blocked, &expected);
        assert!(
            expect_roots.is_subset(&roots),
            "{name} roots {roots:?} ⊉ {expect_roots:?}"
        );
        assert_same(&format!("{name} custom URLs"), &urls, expect_urls);
    };
    check("adult", &expect_blocked, &expect_roots, &expect_urls);

    // Child: everything Adult blocks, plus its own.
    expect_blocked.extend(strings(child, "blocked"));
    expect_roots.extend(strings(child, "root_not_blocked"));
    for root in &ambiguous {
        assert!(expect_blocked.remove(root), "{root} is not in the fixture");
        expect_roots.insert(root.clone());
    }
    expect_urls.extend(strings(child, "custom_urls"));
    check("child", &expect_blocked, &expect_roots, &expect_urls);

    assert_eq!(
        published["walled_garden"]["mode"].as_str(),
        Some("allowlist")
    );
    assert_eq!(profile("walled-garden")["mode"], "allowlist");

    // The URLs DNS cannot enforce are in the published answer, marked as such.
    let md = hedge(&[
        "policy",
        "show",
        "--config",
        config.to_str().expect("utf-8"),
        "--profile",
        "adult",
    ]);
    let md = String::from_utf8_lossy(&md.stdout);
    assert!(
        md.contains("- `news.sky.com/#watchlive` (listed, not enforceable by DNS)"),
        "{md}"
    );
}

#[test]
fn every_filtering_profile_of_the_defaults_blocks_encrypted_dns_resolvers() {
    let examples = [
        "deploy/hedge.toml",
        "deploy/hedge-minimal.toml",
        "deploy/hedge-extended.toml",
    ]
    .map(|e| repo().join(e).to_str().expect("utf-8").to_string());
    let mut runs = vec![vec!["policy", "show", "--format", "json"]];
    for e in &examples {
        runs.push(vec!["policy", "show", "--format", "json", "--config", e]);
    }
    for args in runs {
        let o = hedge(&args);
        assert!(o.status.success(), "{}", stderr(&o));
        let profiles: Vec<Value> = serde_json::from_slice(&o.stdout).expect("json");
        for p in profiles.iter().filter(|p| p["mode"] == "filter") {
            let (blocked, _, _) = shown(p);
            assert!(
                blocked.contains("Encrypted DNS Resolvers"),
                "{args:?}: profile {} does not block encrypted-dns-resolvers",
                p["profile"]
            );
        }
    }
}

#[test]
fn report_names_its_store_and_says_when_it_holds_no_counts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("hedge-stats.sqlite");
    drop(SqliteStore::open(&db).expect("an empty store, as `lists compile` leaves"));
    let db_arg = db.to_str().expect("utf-8");
    let report = |from: &str, to: &str| {
        hedge(&[
            "report", "--db", db_arg, "--from", from, "--to", to, "--format", "csv",
        ])
    };
    let o = report("2025-01", "2025-12");
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(e.contains(db_arg), "names the store: {e}");
    assert!(e.contains("holds no query counts at all"), "{e}");

    let mut store = SqliteStore::open(&db).expect("open");
    let mut batch = Batch::new();
    batch.add_count("adult".into(), "gambling".into(), Action::Blocked, 3);
    store
        .write(jiff::civil::date(2025, 3, 1), &batch)
        .expect("write");
    let o = report("2026-01", "2026-02");
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{e}");
    assert!(e.contains(&format!("statistics from {db_arg}")), "{e}");
    assert!(
        e.contains("no counts from 2026-01-01 to 2026-02-28")
            && e.contains("holds counts from 2025-03-01 to 2025-03-01"),
        "{e}"
    );
    let o = report("2025-01", "2025-12");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!stderr(&o).contains("no counts"), "{}", stderr(&o));
}

#[tokio::test(flavor = "multi_thread")]
async fn blocks_without_a_category_are_counted_under_their_rule() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("tv.txt"), "watchlive.channel4.com\n").expect("list");
    let (l1, adult) = listener("adult", "127.0.0.0/8");
    let (l2, garden) = listener("garden", "127.0.0.0/8");
    let config = format!(
        "[[profile]]\nname = \"adult\"\nblock = [\"gambling\"]\n\
         block_domains = [\"inline.example\"]\nblock_domain_files = [\"tv.txt\"]\n\
         [[profile]]\nname = \"garden\"\nmode = \"allowlist\"\nallow_domains = [\"pbskids.org\"]\n\
         {l1}\n{l2}\n[stats]\npath = \"stats.sqlite\"\n"
    );
    let path = dir.path().join("hedge.toml");
    std::fs::write(&path, config).expect("config");
    let mut hedge = Hedge::start_at(dir, path);
    for (server, name, t) in [
        (adult, "www.bet365.com.", RecordType::A),
        (adult, "watchlive.channel4.com.", RecordType::A),
        (adult, "inline.example.", RecordType::A),
        (adult, "use-application-dns.net.", RecordType::A),
        (adult, "mask.icloud.com.", RecordType::A),
        (adult, "_dns.resolver.arpa.", RecordType::SVCB),
        (garden, "www.example.org.", RecordType::A),
    ] {
        udp(server, name, t).await;
    }
    hedge.stop(); // TERM flushes what is counted
    let db = hedge.dir.path().join("stats.sqlite");
    let month = this_month_utc();
    let o = hedge_report(&db, &month, &[]);
    let rows: Vec<&str> = o.lines().filter(|l| l.starts_with("row,")).collect();
    assert_eq!(
        rows,
        vec![
            "row,adult,bypass:ddr,1",
            "row,adult,bypass:doh-canary,1",
            "row,adult,bypass:private-relay,1",
            "row,adult,custom:block_domains,1",
            "row,adult,custom:tv,1",
            "row,adult,gambling,1",
            "row,garden,walled-garden,1",
        ],
        "{o}"
    );
    // The blocked names are counted under the same labels (the listed name for a category).
    let o = hedge_report(&db, &month, &["--top-domains", "20"]);
    let top: Vec<&str> = o.lines().filter(|l| l.starts_with("top-domain,")).collect();
    assert_eq!(
        top,
        vec![
            "top-domain,,bypass:ddr,_dns.resolver.arpa,1",
            "top-domain,,gambling,bet365.com,1",
            "top-domain,,custom:block_domains,inline.example,1",
            "top-domain,,bypass:private-relay,mask.icloud.com,1",
            "top-domain,,bypass:doh-canary,use-application-dns.net,1",
            "top-domain,,custom:tv,watchlive.channel4.com,1",
            "top-domain,,walled-garden,www.example.org,1",
        ],
        "{o}"
    );
}

fn hedge_report(db: &std::path::Path, month: &str, extra: &[&str]) -> String {
    let mut args = vec![
        "report",
        "--db",
        db.to_str().expect("utf-8"),
        "--from",
        month,
        "--to",
        month,
        "--by",
        "profile,category",
        "--action",
        "blocked",
        "--format",
        "csv",
    ];
    args.extend_from_slice(extra);
    let o = hedge(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}
