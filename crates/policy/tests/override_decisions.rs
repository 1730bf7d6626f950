//! Pins every decision under grants and local recategorisations: many override sets (grants
//! on parents and children, for one profile or another; recategorisations into and out of
//! roots and children, nested, contradicting) against names and profiles that meet custom
//! lists, a walled garden, SafeSearch and a schedule in force. The verdicts are compared
//! with `override_decisions.txt`, written by the straightforward implementation the faster
//! lookups replaced: a change in any decision fails here with the line that changed.
//! `HEDGE_BLESS=1 cargo test -p hedge-policy --test override_decisions` rewrites the file
//! (only for a deliberate change of semantics).

#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use std::fmt::Write as _;
use std::path::Path;

use hedge_policy::*;

const NOW: &str = "2026-12-07T10:00:00Z"; // a Monday: the school-hours schedule is on

fn base() -> Policy {
    let index = common::index_of(&[
        ("gambling", "bet365.com\npoker.example\nmixed.example\n"),
        ("games", "roblox.com\ngames.bet365.com\nmixed.example\n"),
        ("adult-material", "adult.example\n"),
        ("adult-material/nudity", "nude.example\n"),
    ]);
    let adult = ProfileConfig {
        name: "adult".into(),
        block: vec!["gambling".into(), "adult-material".into()],
        ..Default::default()
    };
    let child = ProfileConfig {
        name: "child".into(),
        inherit: Some("adult".into()),
        block_domains: vec!["secondlife.com".into(), "casino.example".into()],
        allow_domains: vec!["poker.example".into()],
        safesearch: Some(true),
        ..Default::default()
    };
    let garden = ProfileConfig {
        name: "garden".into(),
        mode: Some(Mode::Allowlist),
        allow_domains: vec!["pbskids.org".into()],
        ..Default::default()
    };
    let teen = ProfileConfig {
        name: "teen".into(),
        block: vec!["gambling".into()],
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
    Policy::new_at(
        index,
        vec![adult, child, garden, teen],
        Path::new("."),
        TimeZone::UTC,
        NOW.parse().unwrap(),
    )
    .unwrap()
}

const PROFILES: [&str; 4] = ["adult", "child", "garden", "teen"];

const NAMES: [&str; 22] = [
    "bet365.com",
    "www.bet365.com",
    "poker.bet365.com",
    "games.bet365.com",
    "x.games.bet365.com",
    "notbet365.com",
    "roblox.com",
    "www.roblox.com",
    "mixed.example",
    "a.mixed.example",
    "poker.example",
    "casino.example",
    "www.casino.example",
    "adult.example",
    "nude.example",
    "www.nude.example",
    "pbskids.org",
    "www.google.com",
    "secondlife.com",
    "example.org",
    "deep.a.b.c.example.org",
    "com",
];

/// Names overrides are made for.
const TARGETS: [&str; 11] = [
    "bet365.com",
    "www.bet365.com",
    "poker.bet365.com",
    "games.bet365.com",
    "roblox.com",
    "mixed.example",
    "casino.example",
    "www.casino.example",
    "nude.example",
    "google.com",
    "example.org",
];

const CATEGORIES: [&str; 4] = [
    "gambling",
    "games",
    "adult-material",
    "adult-material/nudity",
];

/// A small deterministic generator: the override sets are the same on every run.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

/// The override sets: the empty one, each single recategorisation and grant, then mixes.
fn override_sets() -> Vec<Overrides> {
    let mut sets = vec![Overrides::default()];
    for name in TARGETS {
        for category in CATEGORIES {
            for add in [true, false] {
                sets.push(Overrides {
                    grants: Vec::new(),
                    recategorised: vec![recat(name, category, add)],
                });
            }
        }
        for profile in PROFILES {
            sets.push(Overrides {
                grants: vec![grant(name, profile)],
                recategorised: Vec::new(),
            });
        }
    }
    let mut rng = Lcg(19);
    for _ in 0..300 {
        let mut o = Overrides::default();
        for _ in 0..rng.below(3) {
            o.grants.push(grant(
                TARGETS[rng.below(TARGETS.len())],
                PROFILES[rng.below(PROFILES.len())],
            ));
        }
        for _ in 0..1 + rng.below(4) {
            o.recategorised.push(recat(
                TARGETS[rng.below(TARGETS.len())],
                CATEGORIES[rng.below(CATEGORIES.len())],
                rng.below(2) == 0,
            ));
        }
        sets.push(o);
    }
    sets
}

fn grant(name: &str, profile: &str) -> Grant {
    Grant {
        name: name.into(),
        profile: profile.into(),
        until: None,
        request: None,
    }
}

fn recat(name: &str, category: &str, add: bool) -> Recategorisation {
    Recategorisation {
        name: name.into(),
        category: category.into(),
        add,
    }
}

fn describe(o: &Overrides) -> String {
    let grants = o
        .grants
        .iter()
        .map(|g| format!("grant {}@{}", g.name, g.profile));
    let recats = o.recategorised.iter().map(|r| {
        format!(
            "{} {} {}",
            if r.add { "into" } else { "out of" },
            r.category,
            r.name
        )
    });
    grants.chain(recats).collect::<Vec<_>>().join("; ")
}

/// Every decision of every override set, one line per (set, profile, name) the set changes.
fn decisions() -> String {
    let base = base();
    let mut out = String::new();
    for (i, o) in override_sets().iter().enumerate() {
        let p = base.with_overrides(o, NOW.parse().unwrap()).unwrap();
        writeln!(out, "set {i}: {}", describe(o)).unwrap();
        for profile in PROFILES {
            let id = p.profile_id(profile).unwrap();
            for name in NAMES {
                let d = p.decide(id, name);
                // After the first set (no overrides), only what the overrides changed.
                if i == 0 || d != base.decide(id, name) {
                    writeln!(out, "  {profile} {name}: {d:?}").unwrap();
                }
            }
        }
    }
    out
}

#[test]
fn decisions_under_overrides_are_exactly_the_pinned_ones() {
    let got = decisions();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/override_decisions.txt");
    if std::env::var_os("HEDGE_BLESS").is_some() {
        std::fs::write(&path, &got).unwrap();
    }
    let want = std::fs::read_to_string(&path).unwrap();
    let mut set = "";
    for (g, w) in got.lines().zip(want.lines()) {
        if w.starts_with("set ") {
            set = w;
        }
        assert_eq!(g, w, "in {set}");
    }
    assert_eq!(got.lines().count(), want.lines().count());
}
