//! Live overrides: grants (subdomains, expiry, walled garden, order against custom lists)
//! and local recategorisations into and out of categories.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use std::path::Path;
use std::sync::Arc;

use hedge_lists::Index;
use hedge_policy::*;

fn index() -> Arc<Index> {
    common::index_of(&[
        ("gambling", "bet365.com\n"),
        ("games", "roblox.com\n"),
        ("adult-material/nudity", "nude.example\n"),
    ])
}

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

const NOW: &str = "2026-12-07T10:00:00Z";

fn base() -> Policy {
    let adult = ProfileConfig {
        name: "adult".into(),
        block: vec!["gambling".into(), "adult-material".into()],
        ..Default::default()
    };
    let child = ProfileConfig {
        name: "child".into(),
        inherit: Some("adult".into()),
        block_domains: vec!["secondlife.com".into()],
        safesearch: Some(true),
        ..Default::default()
    };
    let garden = ProfileConfig {
        name: "garden".into(),
        mode: Some(Mode::Allowlist),
        allow_domains: vec!["pbskids.org".into()],
        ..Default::default()
    };
    Policy::new_at(
        index(),
        vec![adult, child, garden],
        Path::new("."),
        TimeZone::UTC,
        t(NOW),
    )
    .unwrap()
}

fn grant(name: &str, profile: &str, until: Option<&str>) -> Grant {
    Grant {
        name: name.into(),
        profile: profile.into(),
        until: until.map(t),
        request: Some(7),
    }
}

fn grants(g: Vec<Grant>) -> Overrides {
    Overrides {
        grants: g,
        recategorised: Vec::new(),
    }
}

fn recat(name: &str, category: &str, add: bool) -> Overrides {
    Overrides {
        grants: Vec::new(),
        recategorised: vec![Recategorisation {
            name: name.into(),
            category: category.into(),
            add,
        }],
    }
}

fn decide(p: &Policy, profile: &str, name: &str) -> Decision {
    p.decide(p.profile_id(profile).unwrap(), name)
}

#[test]
fn a_grant_allows_the_name_and_its_subdomains_for_its_profile_only() {
    let p = base()
        .with_overrides(&grants(vec![grant("Bet365.com.", "child", None)]), t(NOW))
        .unwrap();
    assert_eq!(
        decide(&p, "child", "www.bet365.com"),
        Decision::Allow(AllowReason::Granted(0))
    );
    assert_eq!(
        decide(&p, "child", "bet365.com"),
        Decision::Allow(AllowReason::Granted(0))
    );
    assert!(matches!(
        decide(&p, "adult", "www.bet365.com"),
        Decision::Block(BlockReason::Category(..))
    ));
    // `notbet365.com` is not a subdomain.
    assert_eq!(
        decide(&p, "child", "notbet365.com"),
        Decision::Allow(AllowReason::NotListed)
    );
    let e = p.explain(p.profile_id("child").unwrap(), "www.bet365.com");
    assert!(
        e.to_string().contains(
            "grant: `Bet365.com.` allowed for this profile by staff (no expiry, unblock request 7)"
        ),
        "{e}"
    );
}

#[test]
fn a_grant_expires_by_itself() {
    let until = "2026-12-07T11:00:00Z";
    let p = base()
        .with_overrides(
            &grants(vec![grant("bet365.com", "child", Some(until))]),
            t(NOW),
        )
        .unwrap();
    assert!(matches!(
        decide(&p, "child", "bet365.com"),
        Decision::Allow(_)
    ));
    assert_eq!(p.next_change(t(NOW)), Some(t(until)));
    let later = p.at(t(until));
    assert!(matches!(
        decide(&later, "child", "bet365.com"),
        Decision::Block(_)
    ));
    assert!(later.overrides().grants.is_empty());
    assert_eq!(later.next_change(t(until)), None);
    // Built after its expiry, it never applies.
    let late = base()
        .with_overrides(
            &grants(vec![grant("bet365.com", "child", Some(until))]),
            t(until),
        )
        .unwrap();
    assert!(matches!(
        decide(&late, "child", "bet365.com"),
        Decision::Block(_)
    ));
}

#[test]
fn a_grant_adds_to_a_walled_garden() {
    let p = base()
        .with_overrides(&grants(vec![grant("example.org", "garden", None)]), t(NOW))
        .unwrap();
    assert_eq!(
        decide(&p, "garden", "www.example.org"),
        Decision::Allow(AllowReason::Granted(0))
    );
    assert_eq!(
        decide(&p, "garden", "example.net"),
        Decision::Block(BlockReason::NotInGarden)
    );
    assert_eq!(
        decide(&p, "garden", "pbskids.org"),
        Decision::Allow(AllowReason::WalledGarden)
    );
}

#[test]
fn a_grant_does_not_lift_a_custom_block_nor_safesearch() {
    let p = base()
        .with_overrides(
            &grants(vec![
                grant("secondlife.com", "child", None),
                grant("google.com", "child", None),
            ]),
            t(NOW),
        )
        .unwrap();
    assert!(matches!(
        decide(&p, "child", "secondlife.com"),
        Decision::Block(BlockReason::CustomBlock(_))
    ));
    assert!(matches!(
        decide(&p, "child", "www.google.com"),
        Decision::Rewrite(_)
    ));
}

#[test]
fn a_name_recategorised_into_a_blocked_category_is_blocked_for_every_profile_that_blocks_it() {
    let p = base()
        .with_overrides(&recat("casino.example", "gambling", true), t(NOW))
        .unwrap();
    let gambling = p.index().taxonomy().get("gambling").unwrap();
    for profile in ["adult", "child"] {
        let d = decide(&p, profile, "www.casino.example");
        assert_eq!(
            d,
            Decision::Block(BlockReason::Recategorised(gambling, 0, 2)),
            "{profile}"
        );
        // Counted like a category block, under the recategorised name.
        assert_eq!(d.category(p.index()), Some(gambling));
        assert_eq!(d.listed_labels(), Some(2));
    }
    let e = p.explain(0, "www.casino.example");
    assert!(
        e.to_string().contains(
            "local recategorisation: `casino.example` put into category `gambling` by staff"
        ),
        "{e}"
    );
    // A category the profile does not block changes nothing.
    let games = base()
        .with_overrides(&recat("casino.example", "games", true), t(NOW))
        .unwrap();
    assert_eq!(
        decide(&games, "adult", "casino.example"),
        Decision::Allow(AllowReason::NotListed)
    );
}

#[test]
fn a_name_taken_out_of_a_category_loses_that_listing() {
    let p = base()
        .with_overrides(&recat("bet365.com", "gambling", false), t(NOW))
        .unwrap();
    assert_eq!(
        decide(&p, "adult", "www.bet365.com"),
        Decision::Allow(AllowReason::Recategorised(0))
    );
    let e = p.explain(0, "www.bet365.com");
    assert!(
        e.to_string()
            .contains("local recategorisation: `bet365.com` taken out of category `gambling`"),
        "{e}"
    );
    // Out of a root: its children's listings go too.
    let root = base()
        .with_overrides(&recat("nude.example", "adult-material", false), t(NOW))
        .unwrap();
    assert_eq!(
        decide(&root, "adult", "nude.example"),
        Decision::Allow(AllowReason::Recategorised(0))
    );
    // A more specific name put back in wins over its parent's removal.
    let both = Overrides {
        grants: Vec::new(),
        recategorised: vec![
            Recategorisation {
                name: "bet365.com".into(),
                category: "gambling".into(),
                add: false,
            },
            Recategorisation {
                name: "poker.bet365.com".into(),
                category: "gambling".into(),
                add: true,
            },
        ],
    };
    let both = base().with_overrides(&both, t(NOW)).unwrap();
    assert!(matches!(
        decide(&both, "adult", "www.bet365.com"),
        Decision::Allow(_)
    ));
    assert!(matches!(
        decide(&both, "adult", "poker.bet365.com"),
        Decision::Block(BlockReason::Recategorised(..))
    ));
}

#[test]
fn a_grant_beats_a_local_recategorisation() {
    let mut o = recat("casino.example", "gambling", true);
    o.grants.push(grant("casino.example", "child", None));
    let p = base().with_overrides(&o, t(NOW)).unwrap();
    assert_eq!(
        decide(&p, "child", "casino.example"),
        Decision::Allow(AllowReason::Granted(0))
    );
    assert!(matches!(
        decide(&p, "adult", "casino.example"),
        Decision::Block(_)
    ));
}

#[test]
fn bad_overrides_are_refused_with_the_entry_named_and_applicable_keeps_the_rest() {
    let unknown_profile = grants(vec![grant("a.example", "teen", None)]);
    let err = base().with_overrides(&unknown_profile, t(NOW)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "profile `teen`, key `grant `a.example``: no profile is named `teen`; profiles: adult, child, garden"
    );
    let bad_name = grants(vec![grant("not a name", "child", None)]);
    let err = base().with_overrides(&bad_name, t(NOW)).unwrap_err();
    assert!(err.to_string().contains("is not a domain name"), "{err}");
    let err = base()
        .with_overrides(&recat("a.example", "gmabling", true), t(NOW))
        .unwrap_err();
    assert!(
        err.to_string().contains("unknown category `gmabling`"),
        "{err}"
    );
    let mut mixed = unknown_profile;
    mixed.grants.push(grant("ok.example", "child", None));
    let (ok, errors) = base().applicable(&mixed);
    assert_eq!(ok.grants.len(), 1);
    assert_eq!(ok.grants[0].name, "ok.example");
    assert_eq!(errors.len(), 1);
}

#[test]
fn overrides_text_lists_grants_and_recategorisations() {
    let mut o = recat("casino.example", "gambling", true);
    o.grants
        .push(grant("bet365.com", "child", Some("2026-12-08T00:00:00Z")));
    let p = base().with_overrides(&o, t(NOW)).unwrap();
    assert_eq!(
        p.overrides_text(),
        "- granted: `bet365.com` for profile `child` (until 2026-12-08T00:00:00Z, unblock request 7)\n\
         - recategorised: `casino.example` into `gambling` for every profile\n"
    );
}

#[test]
fn with_overrides_shares_the_index_and_decides_as_without_overrides() {
    let b = base();
    let p = b.with_overrides(&Overrides::default(), t(NOW)).unwrap();
    assert!(Arc::ptr_eq(b.index(), p.index()));
    assert!(p.decides_as(&b));
    let g = b
        .with_overrides(&grants(vec![grant("x.example", "child", None)]), t(NOW))
        .unwrap();
    assert!(!g.decides_as(&b));
}

#[test]
fn a_grant_on_a_subdomain_does_not_cover_its_parent_nor_siblings() {
    let p = base()
        .with_overrides(
            &grants(vec![grant("www.bet365.com", "child", None)]),
            t(NOW),
        )
        .unwrap();
    assert_eq!(
        decide(&p, "child", "a.www.bet365.com"),
        Decision::Allow(AllowReason::Granted(0))
    );
    for name in ["bet365.com", "poker.bet365.com"] {
        assert!(
            matches!(decide(&p, "child", name), Decision::Block(_)),
            "{name}"
        );
    }
}

#[test]
fn a_name_taken_out_of_one_category_stays_blocked_by_another() {
    let index = common::index_of(&[
        ("gambling", "mixed.example\n"),
        ("games", "mixed.example\n"),
    ]);
    let profile = ProfileConfig {
        name: "p".into(),
        block: vec!["gambling".into(), "games".into()],
        ..Default::default()
    };
    let p = Policy::new_at(index, vec![profile], Path::new("."), TimeZone::UTC, t(NOW))
        .unwrap()
        .with_overrides(&recat("mixed.example", "gambling", false), t(NOW))
        .unwrap();
    let games = p.index().taxonomy().get("games").unwrap();
    assert!(matches!(
        decide(&p, "p", "www.mixed.example"),
        Decision::Block(BlockReason::Category(c, _, 2)) if c == games
    ));
}

#[test]
fn a_name_recategorised_into_a_scheduled_category_is_blocked_while_the_schedule_is_on() {
    let teen = ProfileConfig {
        name: "teen".into(),
        schedule: vec![ScheduleConfig {
            name: "school hours".into(),
            days: vec!["mon-fri".into()],
            from: "09:00".into(),
            to: "15:30".into(),
            block: vec!["games".into()],
            allow: Vec::new(),
        }],
        ..Default::default()
    };
    // NOW is a Monday at 10:00 UTC.
    let p = Policy::new_at(index(), vec![teen], Path::new("."), TimeZone::UTC, t(NOW))
        .unwrap()
        .with_overrides(&recat("chess.example", "games", true), t(NOW))
        .unwrap();
    assert!(matches!(
        decide(&p, "teen", "chess.example"),
        Decision::Block(BlockReason::Recategorised(..))
    ));
    let evening = p.at(t("2026-12-07T18:00:00Z"));
    assert_eq!(
        decide(&evening, "teen", "chess.example"),
        Decision::Allow(AllowReason::NotListed)
    );
}
