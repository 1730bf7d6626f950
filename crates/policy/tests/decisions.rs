//! Decisions for the council's three profiles and the rule order.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use std::path::Path;
use std::sync::Arc;

use hedge_lists::Index;
use hedge_policy::*;

fn index() -> Arc<Index> {
    common::index_of(&[
        ("gambling", "bet365.com\n"),
        ("internet-communication/web-chat", "chatroom.example\n"),
        ("society-and-lifestyles/personals-and-dating", "match.com\n"),
        ("entertainment/media-file-download", "torrents.example\n"),
        ("entertainment/streaming-media", "netflix.com\n"),
        ("adult-material/nudity", "nude.example\n"),
        ("adult-material", "mixed.example\n"),
        ("productivity/advertisements", "adtracker.net\n"),
    ])
}

fn profile(name: &str) -> ProfileConfig {
    ProfileConfig {
        name: name.into(),
        ..Default::default()
    }
}

fn council() -> Policy {
    let adult = ProfileConfig {
        block: vec![
            "adult-material".into(),
            "gambling".into(),
            "entertainment/media-file-download".into(),
        ],
        block_domains: vec!["watchlive.channel4.com".into()],
        ..profile("adult")
    };
    let child = ProfileConfig {
        inherit: Some("adult".into()),
        block: vec![
            "internet-communication/web-chat".into(),
            "society-and-lifestyles/personals-and-dating".into(),
        ],
        block_domains: vec!["secondlife.com".into()],
        safesearch: Some(true),
        youtube_restrict: Some(YoutubeRestrict::Strict),
        ..profile("child")
    };
    let garden = ProfileConfig {
        mode: Some(Mode::Allowlist),
        allow_domains: vec!["pbskids.org".into(), "cbeebies.com".into()],
        action: Some(BlockAction::Nxdomain),
        ..profile("walled-garden")
    };
    Policy::new(index(), vec![adult, child, garden], Path::new(".")).unwrap()
}

fn verdict(p: &Policy, profile: &str, name: &str) -> Decision {
    p.decide(p.profile_id(profile).unwrap(), name)
}

fn blocked_as(p: &Policy, profile: &str, name: &str) -> Option<String> {
    match verdict(p, profile, name) {
        Decision::Block(BlockReason::Category(c, _, _)) => {
            Some(p.index().taxonomy().id(c).to_string())
        }
        Decision::Block(BlockReason::CustomBlock(l)) => Some(custom_label(p.custom_list_name(l))),
        Decision::Block(r) => Some(format!("{r:?}")),
        _ => None,
    }
}

/// Checks what each (profile, name) is blocked as: its category or custom list, or `None`
/// when it is not blocked.
fn expect_blocked_as(p: &Policy, cases: &[(&str, &str, Option<&str>)]) {
    for &(profile, name, want) in cases {
        assert_eq!(
            blocked_as(p, profile, name).as_deref(),
            want,
            "{profile} {name}"
        );
    }
}

/// Checks the decision for each (profile, name).
fn expect_verdicts(p: &Policy, cases: &[(&str, &str, Decision)]) {
    for &(profile, name, want) in cases {
        assert_eq!(verdict(p, profile, name), want, "{profile} {name}");
    }
}

#[test]
fn blocks_count_under_the_listed_name() {
    let p = council();
    let d = verdict(&p, "adult", "a.b.www.bet365.com");
    assert_eq!(d.listed_labels(), Some(2));
    assert_eq!(hedge_policy::suffix("a.b.www.bet365.com", 2), "bet365.com");
    assert_eq!(hedge_policy::suffix("bet365.com", 5), "bet365.com");
    assert_eq!(
        verdict(&p, "adult", "watchlive.channel4.com").listed_labels(),
        None
    );
}

#[test]
fn council_profiles() {
    let p = council();
    expect_blocked_as(
        &p,
        &[
            ("adult", "www.bet365.com", Some("gambling")),
            ("adult", "nude.example", Some("adult-material/nudity")),
            ("adult", "mixed.example", Some("adult-material")),
            (
                "adult",
                "torrents.example",
                Some("entertainment/media-file-download"),
            ),
        ],
    );
    assert_eq!(
        blocked_as(&p, "adult", "NETFLIX.com."),
        None,
        "entertainment root not blocked"
    );
    expect_blocked_as(
        &p,
        &[
            ("adult", "chatroom.example", None),
            (
                "adult",
                "watchlive.channel4.com",
                Some("custom:block_domains"),
            ),
            // Child = Adult + web chat + dating + its custom URLs.
            ("child", "www.bet365.com", Some("gambling")),
            (
                "child",
                "chatroom.example",
                Some("internet-communication/web-chat"),
            ),
            (
                "child",
                "match.com",
                Some("society-and-lifestyles/personals-and-dating"),
            ),
            (
                "child",
                "watchlive.channel4.com",
                Some("custom:block_domains"),
            ),
            ("child", "www.secondlife.com", Some("custom:block_domains")),
            ("adult", "www.secondlife.com", None),
        ],
    );
    expect_verdicts(
        &p,
        &[
            (
                "child",
                "www.google.co.uk",
                Decision::Rewrite("forcesafesearch.google.com"),
            ),
            (
                "child",
                "www.youtube.com",
                Decision::Rewrite("restrict.youtube.com"),
            ),
            (
                "adult",
                "www.google.co.uk",
                Decision::Allow(AllowReason::NotListed),
            ),
            // Walled garden.
            (
                "walled-garden",
                "www.pbskids.org",
                Decision::Allow(AllowReason::WalledGarden),
            ),
            (
                "walled-garden",
                "example.org",
                Decision::Block(BlockReason::NotInGarden),
            ),
        ],
    );
    let wg = p.profile_id("walled-garden").unwrap();
    assert_eq!(
        p.decide_cname_target(wg, "kids-site.cdn-provider.net"),
        Decision::Allow(AllowReason::WalledGarden)
    );
    // CNAME cloaking in filter mode.
    assert!(matches!(
        p.decide_cname_target(0, "collector.adtracker.net"),
        Decision::Allow(_)
    ));
    assert!(matches!(
        p.decide_cname_target(1, "x.bet365.com"),
        Decision::Block(_)
    ));
}

#[test]
fn root_and_child_rules_in_both_directions() {
    let ent_blocked_download_allowed = ProfileConfig {
        block: vec!["entertainment".into()],
        allow: vec!["entertainment/media-file-download".into()],
        ..profile("a")
    };
    let download_blocked_only = ProfileConfig {
        block: vec!["entertainment/media-file-download".into()],
        ..profile("b")
    };
    let p = Policy::new(
        index(),
        vec![ent_blocked_download_allowed, download_blocked_only],
        Path::new("."),
    )
    .unwrap();
    expect_blocked_as(
        &p,
        &[
            ("a", "netflix.com", Some("entertainment/streaming-media")),
            ("a", "torrents.example", None),
            ("b", "netflix.com", None),
            (
                "b",
                "torrents.example",
                Some("entertainment/media-file-download"),
            ),
        ],
    );
}

#[test]
fn bypass_controls_are_switchable() {
    let on = profile("on");
    let off = ProfileConfig {
        block_doh_canary: Some(false),
        block_private_relay: Some(false),
        block_ddr: Some(false),
        ..profile("off")
    };
    let p = Policy::new(index(), vec![on, off], Path::new(".")).unwrap();
    for (name, bypass) in [
        ("use-application-dns.net.", Bypass::DohCanary),
        ("Mask.iCloud.com", Bypass::PrivateRelay),
        ("mask-h2.icloud.com", Bypass::PrivateRelay),
        ("_dns.resolver.arpa", Bypass::Ddr),
    ] {
        assert_eq!(verdict(&p, "on", name), Decision::Bypass(bypass), "{name}");
    }
    for n in [
        "use-application-dns.net",
        "mask.icloud.com",
        "_dns.resolver.arpa",
    ] {
        assert_eq!(
            verdict(&p, "off", n),
            Decision::Allow(AllowReason::NotListed)
        );
    }
}

#[test]
fn allow_overrides_block_and_inherited_entries() {
    let parent = ProfileConfig {
        block: vec!["gambling".into()],
        allow_domains: vec!["ok.example".into()],
        ..profile("parent")
    };
    let kid = ProfileConfig {
        inherit: Some("parent".into()),
        allow_domains: vec!["bet365.com".into()],
        block_domains: vec!["ok.example".into()],
        ..profile("kid")
    };
    let p = Policy::new(index(), vec![parent, kid], Path::new(".")).unwrap();
    assert_eq!(
        verdict(&p, "kid", "www.bet365.com"),
        Decision::Allow(AllowReason::CustomAllow)
    );
    assert!(matches!(
        verdict(&p, "parent", "www.bet365.com"),
        Decision::Block(BlockReason::Category(..))
    ));
    assert_eq!(
        verdict(&p, "parent", "ok.example"),
        Decision::Allow(AllowReason::CustomAllow)
    );
    assert!(
        matches!(
            verdict(&p, "kid", "ok.example"),
            Decision::Block(BlockReason::CustomBlock(_))
        ),
        "the child's own block beats an inherited allow"
    );
}

#[test]
fn configuration_errors_name_the_profile_and_key() {
    let err = Policy::new(
        index(),
        vec![ProfileConfig {
            block: vec!["web-chat".into()],
            ..profile("x")
        }],
        Path::new("."),
    )
    .unwrap_err();
    assert_eq!(err.key, "block");
    assert!(
        err.problem.contains("unknown category `web-chat`")
            && err.problem.contains("internet-communication/web-chat"),
        "{err}"
    );
    let err = Policy::new(
        index(),
        vec![ProfileConfig {
            inherit: Some("nobody".into()),
            ..profile("x")
        }],
        Path::new("."),
    )
    .unwrap_err();
    assert_eq!(
        (err.key.as_str(), err.problem.as_str()),
        ("inherit", "no profile is named `nobody`")
    );
    let a = ProfileConfig {
        inherit: Some("b".into()),
        ..profile("a")
    };
    let b = ProfileConfig {
        inherit: Some("a".into()),
        ..profile("b")
    };
    assert!(
        Policy::new(index(), vec![a, b], Path::new("."))
            .unwrap_err()
            .problem
            .contains("loops")
    );
    let r = ProfileConfig {
        action: Some(BlockAction::Redirect),
        ..profile("r")
    };
    assert_eq!(
        Policy::new(index(), vec![r], Path::new("."))
            .unwrap_err()
            .key,
        "redirect_to"
    );
    let g = ProfileConfig {
        mode: Some(Mode::Allowlist),
        ..profile("g")
    };
    assert_eq!(
        Policy::new(index(), vec![g], Path::new("."))
            .unwrap_err()
            .key,
        "allow_domains"
    );
    let missing = ProfileConfig {
        block_domain_files: vec!["nope.txt".into()],
        ..profile("m")
    };
    let err = Policy::new(index(), vec![missing], Path::new("/nonexistent")).unwrap_err();
    assert!(err.problem.contains("/nonexistent/nope.txt"), "{err}");
}

#[test]
fn notices_for_shadowed_allows_paths_and_unsupplied_categories() {
    let p = ProfileConfig {
        allow: vec!["entertainment/streaming-media".into()],
        block: vec!["security/bot-networks".into()],
        block_domains: vec!["news.sky.com/#watchlive".into()],
        ..profile("n")
    };
    let policy = Policy::new(index(), vec![p], Path::new(".")).unwrap();
    let all = policy.notices().join("\n");
    assert!(
        all.contains("allow = `entertainment/streaming-media` has no effect"),
        "{all}"
    );
    assert!(
        all.contains("news.sky.com/#watchlive") && all.contains("DNS cannot see"),
        "{all}"
    );
    assert!(
        all.contains("1 blocked category has no list in the index, so it blocks nothing until a list supplies it (a source in sources.toml, or a custom list): `security/bot-networks` (key `block` of profile `n`)"),
        "{all}"
    );
}

#[test]
fn explain_names_profile_category_source_and_version() {
    let p = council();
    let e = p.explain(p.profile_id("child").unwrap(), "www.bet365.com");
    let text = e.to_string();
    assert_eq!(e.verdict, "blocked");
    assert!(text.contains("profile `child` (inherits adult)"), "{text}");
    assert!(text.contains("category `gambling` is blocked"), "{text}");
    assert!(text.contains("source lists: gambling"), "{text}");
    assert!(
        text.contains(&format!("index version {}", p.index().version())),
        "{text}"
    );
}

/// What a block is counted under: its category, or the rule that blocked it (each custom
/// list, each bypass control and the walled garden under a name of its own, never `-`).
#[test]
fn blocks_without_a_category_count_under_their_rule() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tv.txt"), "watchlive.channel4.com\n").unwrap();
    std::fs::write(dir.path().join("worlds.txt"), "secondlife.com\n").unwrap();
    let adult = ProfileConfig {
        block: vec!["gambling".into()],
        block_domains: vec!["inline.example".into()],
        block_domain_files: vec!["tv.txt".into()],
        ..profile("adult")
    };
    let child = ProfileConfig {
        inherit: Some("adult".into()),
        block_domain_files: vec!["worlds.txt".into()],
        ..profile("child")
    };
    let garden = ProfileConfig {
        mode: Some(Mode::Allowlist),
        allow_domains: vec!["pbskids.org".into()],
        ..profile("garden")
    };
    let p = Policy::new(index(), vec![adult, child, garden], dir.path()).unwrap();
    let labels = p.count_labels();
    let counted = |profile: &str, name: &str| {
        let d = verdict(&p, profile, name);
        d.category(p.index())
            .map(|c| labels[usize::from(c)].clone())
    };
    for (profile, name, label) in [
        ("adult", "www.bet365.com", "gambling"),
        ("adult", "watchlive.channel4.com", "custom:tv"),
        // An inherited list keeps its name.
        ("child", "watchlive.channel4.com", "custom:tv"),
        ("child", "www.secondlife.com", "custom:worlds"),
        ("adult", "inline.example", "custom:block_domains"),
        ("adult", "use-application-dns.net", "bypass:doh-canary"),
        ("adult", "mask.icloud.com", "bypass:private-relay"),
        ("adult", "_dns.resolver.arpa", "bypass:ddr"),
        ("garden", "example.com", "walled-garden"),
    ] {
        assert_eq!(
            counted(profile, name).as_deref(),
            Some(label),
            "{profile} {name}"
        );
    }
    assert_eq!(counted("adult", "example.com"), None);
}
