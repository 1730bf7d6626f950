//! Schedules: evaluation in a time zone across daylight-saving changes and midnight, the
//! change points `next_change` reports, and configuration errors.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use std::path::Path;
use std::sync::Arc;

use hedge_lists::Index;
use hedge_policy::*;

fn index() -> Arc<Index> {
    common::index_of(&[("games", "roblox.com\n"), ("gambling", "bet365.com\n")])
}

fn rule(name: &str, days: &[&str], from: &str, to: &str, block: &[&str]) -> ScheduleConfig {
    ScheduleConfig {
        name: name.into(),
        days: days.iter().map(|d| d.to_string()).collect(),
        from: from.into(),
        to: to.into(),
        block: block.iter().map(|d| d.to_string()).collect(),
        allow: Vec::new(),
    }
}

fn child(schedule: Vec<ScheduleConfig>) -> ProfileConfig {
    ProfileConfig {
        name: "child".into(),
        block: vec!["gambling".into()],
        schedule,
        ..Default::default()
    }
}

fn london() -> TimeZone {
    TimeZone::get("Europe/London").unwrap()
}

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn policy(profiles: Vec<ProfileConfig>, at: &str) -> Policy {
    Policy::new_at(index(), profiles, Path::new("."), london(), t(at)).unwrap()
}

fn blocked(p: &Policy, name: &str) -> bool {
    matches!(p.decide(0, name), Decision::Block(_))
}

/// The moments between `from` and `to` at which `name`'s verdict flips, found the way
/// `serve` finds them: rebuilding the policy at each `next_change`.
fn flips(p: &Policy, name: &str, to: &str) -> Vec<(String, bool)> {
    let mut p = p.clone();
    let mut was = blocked(&p, name);
    let mut out = Vec::new();
    while let Some(next) = p.next_change(p.moment()) {
        if next > t(to) {
            break;
        }
        p = p.at(next);
        let is = blocked(&p, name);
        if is != was {
            out.push((next.to_string(), is));
            was = is;
        }
    }
    out
}

fn school_hours() -> Vec<ProfileConfig> {
    vec![child(vec![rule(
        "school hours",
        &["mon-fri"],
        "09:00",
        "15:30",
        &["games"],
    )])]
}

#[test]
fn school_hours_follow_the_wall_clock_across_the_spring_change() {
    // Friday 27 March 2026, GMT (UTC+0).
    let p = policy(school_hours(), "2026-03-27T08:59:59Z");
    assert!(!blocked(&p, "www.roblox.com"));
    assert!(blocked(&p.at(t("2026-03-27T09:00:00Z")), "www.roblox.com"));
    assert!(!blocked(&p.at(t("2026-03-27T15:30:00Z")), "www.roblox.com"));
    // Gambling stays blocked whatever the time; unlisted names stay allowed.
    assert!(blocked(&p, "bet365.com"));
    assert!(!blocked(&p.at(t("2026-03-27T10:00:00Z")), "example.org"));
    // Clocks go forward on Sunday 29 March: Monday's 09:00 BST is 08:00 UTC.
    assert_eq!(
        flips(&p, "roblox.com", "2026-03-31T00:00:00Z"),
        vec![
            ("2026-03-27T09:00:00Z".into(), true),
            ("2026-03-27T15:30:00Z".into(), false),
            ("2026-03-30T08:00:00Z".into(), true),
            ("2026-03-30T14:30:00Z".into(), false),
        ]
    );
    // The weekend is free.
    assert!(!blocked(&p.at(t("2026-03-28T10:00:00Z")), "roblox.com"));
}

#[test]
fn school_hours_follow_the_wall_clock_across_the_autumn_change() {
    // Clocks go back on Sunday 25 October 2026: Friday is BST, Monday GMT.
    let p = policy(school_hours(), "2026-10-23T00:00:00Z");
    assert_eq!(
        flips(&p, "roblox.com", "2026-10-27T00:00:00Z"),
        vec![
            ("2026-10-23T08:00:00Z".into(), true),
            ("2026-10-23T14:30:00Z".into(), false),
            ("2026-10-26T09:00:00Z".into(), true),
            ("2026-10-26T15:30:00Z".into(), false),
        ]
    );
}

#[test]
fn a_window_in_the_skipped_hour_starts_when_the_clocks_jump() {
    // 01:30 does not exist on 29 March 2026 in London: at 01:00 UTC it becomes 02:00 BST.
    let p = policy(
        vec![child(vec![rule(
            "night",
            &["sun"],
            "01:30",
            "03:00",
            &["games"],
        )])],
        "2026-03-28T12:00:00Z",
    );
    assert_eq!(
        flips(&p, "roblox.com", "2026-03-29T12:00:00Z"),
        vec![
            ("2026-03-29T01:00:00Z".into(), true),
            ("2026-03-29T02:00:00Z".into(), false),
        ]
    );
}

#[test]
fn a_window_in_the_repeated_hour_applies_at_both_occurrences() {
    // 01:00-02:00 local happens twice on 25 October 2026: in BST (00:00-01:00 UTC), then
    // in GMT (01:00-02:00 UTC).
    let p = policy(
        vec![child(vec![rule(
            "night",
            &["sun"],
            "01:30",
            "01:45",
            &["games"],
        )])],
        "2026-10-24T12:00:00Z",
    );
    assert_eq!(
        flips(&p, "roblox.com", "2026-10-25T12:00:00Z"),
        vec![
            ("2026-10-25T00:30:00Z".into(), true),
            ("2026-10-25T00:45:00Z".into(), false),
            ("2026-10-25T01:30:00Z".into(), true),
            ("2026-10-25T01:45:00Z".into(), false),
        ]
    );
}

#[test]
fn a_window_split_at_midnight_stays_in_force_through_it() {
    // Friday 22:00 to Saturday 06:00, written as two rules; London is on GMT in December.
    let p = policy(
        vec![child(vec![
            rule("late", &["fri"], "22:00", "24:00", &["games"]),
            rule("early", &["sat"], "00:00", "06:00", &["games"]),
        ])],
        "2026-12-04T12:00:00Z",
    );
    assert_eq!(
        flips(&p, "roblox.com", "2026-12-06T00:00:00Z"),
        vec![
            ("2026-12-04T22:00:00Z".into(), true),
            ("2026-12-05T06:00:00Z".into(), false),
        ]
    );
    let late = p.at(t("2026-12-04T23:59:59Z"));
    assert_eq!(
        late.profile(0)
            .active_schedules()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>(),
        ["late"]
    );
    let early = p.at(t("2026-12-05T00:00:00Z"));
    assert_eq!(
        early
            .profile(0)
            .active_schedules()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>(),
        ["early"]
    );
}

#[test]
fn a_schedule_can_allow_what_the_profile_blocks() {
    let mut profile = child(vec![ScheduleConfig {
        allow: vec!["games".into()],
        block: Vec::new(),
        ..rule("lunch", &[], "12:00", "13:00", &[])
    }]);
    profile.block.push("games".into());
    let p = policy(vec![profile], "2026-12-07T11:59:00Z");
    assert!(blocked(&p, "roblox.com"));
    assert!(!blocked(&p.at(t("2026-12-07T12:30:00Z")), "roblox.com"));
    assert!(blocked(&p.at(t("2026-12-07T12:30:00Z")), "bet365.com"));
    assert!(blocked(&p.at(t("2026-12-07T13:00:00Z")), "roblox.com"));
}

#[test]
fn a_block_of_one_active_rule_beats_an_allow_of_another() {
    let allow = ScheduleConfig {
        allow: vec!["games".into()],
        ..rule("open", &[], "00:00", "24:00", &[])
    };
    let p = policy(
        vec![child(vec![
            allow,
            rule("closed", &[], "10:00", "11:00", &["games"]),
        ])],
        "2026-12-07T10:30:00Z",
    );
    assert!(blocked(&p, "roblox.com"));
}

#[test]
fn a_child_profile_inherits_its_parents_schedules() {
    let parent = ProfileConfig {
        name: "adult".into(),
        schedule: vec![rule("evening", &[], "18:00", "20:00", &["games"])],
        ..Default::default()
    };
    let kid = ProfileConfig {
        name: "kid".into(),
        inherit: Some("adult".into()),
        ..Default::default()
    };
    let p = policy(vec![parent, kid], "2026-12-07T19:00:00Z");
    assert!(matches!(p.decide(1, "roblox.com"), Decision::Block(_)));
}

#[test]
fn explain_names_the_schedule_and_policy_show_lists_it() {
    let p = policy(school_hours(), "2026-12-07T10:00:00Z");
    let games = p.index().taxonomy().get("games").unwrap();
    assert!(p.profile(0).is_blocked(games));
    assert!(!p.profile(0).is_blocked_unscheduled(games));
    let e = p.explain(0, "www.roblox.com");
    assert_eq!(e.verdict, "blocked");
    let text = e.to_string();
    assert!(
        text.contains("schedule `school hours`: mon-fri 09:00–15:30: block games (in force at 2026-12-07 10:00 Europe/London)"),
        "{text}"
    );
    let later = p.at(t("2026-12-07T16:00:00Z")).explain(0, "www.roblox.com");
    assert_eq!(later.verdict, "allowed");
    assert!(
        later
            .to_string()
            .contains("(not in force at 2026-12-07 16:00"),
        "{later}"
    );
    assert_eq!(
        p.schedules_text(0),
        "- `school hours`: mon-fri 09:00–15:30: block games (in force now)\n(times are local, time zone Europe/London)\n"
    );
}

#[test]
fn a_policy_without_schedules_never_needs_rebuilding() {
    let p = policy(vec![child(Vec::new())], "2026-12-07T10:00:00Z");
    assert_eq!(p.next_change(p.moment()), None);
}

#[test]
fn schedule_errors_name_the_profile_rule_and_key() {
    let cases: [(ScheduleConfig, &str); 11] = [
        (
            rule("a", &[], "09:60", "10:00", &["games"]),
            "key `schedule.from`: schedule `a`: `09:60` is not a time",
        ),
        (
            rule("a", &[], "9:5", "10:00", &["games"]),
            "`9:5` is not a time",
        ),
        (
            rule("a", &[], "9am", "15:30", &["games"]),
            "profile `child`, key `schedule.from`: schedule `a`: `9am` is not a time",
        ),
        (
            rule("a", &[], "09:00", "25:00", &["games"]),
            "key `schedule.to`: schedule `a`: `25:00` is not a time",
        ),
        (
            rule("a", &[], "15:30", "09:00", &["games"]),
            "key `schedule.to`: schedule `a`: `09:00` is not after from = `15:30`",
        ),
        (
            rule("a", &[], "09:00", "09:00", &["games"]),
            "is not after from",
        ),
        (
            rule("a", &[], "24:00", "24:00", &["games"]),
            "key `schedule.from`: schedule `a`: 24:00 is only allowed in `to`",
        ),
        (
            rule("a", &["funday"], "09:00", "10:00", &["games"]),
            "key `schedule.days`: schedule `a`: `funday` is not a day",
        ),
        (
            rule("a", &["fri-mon"], "09:00", "10:00", &["games"]),
            "`fri-mon` runs backwards",
        ),
        (
            rule("a", &[], "09:00", "10:00", &["gmaes"]),
            "key `schedule.block`: schedule `a`: unknown category `gmaes`",
        ),
        (
            rule("a", &[], "09:00", "10:00", &[]),
            "the rule changes nothing",
        ),
    ];
    for (cfg, expected) in cases {
        let err = Policy::new_at(
            index(),
            vec![child(vec![cfg.clone()])],
            Path::new("."),
            london(),
            t("2026-12-07T10:00:00Z"),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains(expected), "{cfg:?}: {err}");
    }
    let twice = Policy::new_at(
        index(),
        vec![child(vec![
            rule("a", &[], "09:00", "10:00", &["games"]),
            rule("a", &[], "11:00", "12:00", &["games"]),
        ])],
        Path::new("."),
        london(),
        t("2026-12-07T10:00:00Z"),
    )
    .unwrap_err();
    assert!(
        twice
            .to_string()
            .contains("two schedules of this profile are named `a`"),
        "{twice}"
    );
}

#[test]
fn times_may_have_seconds() {
    let p = policy(
        vec![child(vec![rule(
            "s",
            &[],
            "10:00:30",
            "10:00:45",
            &["games"],
        )])],
        "2026-12-07T10:00:29Z",
    );
    assert!(!blocked(&p, "roblox.com"));
    assert!(blocked(&p.at(t("2026-12-07T10:00:30Z")), "roblox.com"));
    assert!(!blocked(&p.at(t("2026-12-07T10:00:45Z")), "roblox.com"));
    assert!(
        p.schedules_text(0)
            .starts_with("- `s`: every day 10:00:30–10:00:45: block games")
    );
}

#[test]
fn days_accept_names_full_names_and_ranges() {
    let p = policy(
        vec![child(vec![rule(
            "w",
            &["Saturday", "sun", "mon-tue"],
            "00:00",
            "24:00",
            &["games"],
        )])],
        // A Wednesday.
        "2026-12-09T10:00:00Z",
    );
    assert!(!blocked(&p, "roblox.com"));
    assert!(blocked(&p.at(t("2026-12-12T10:00:00Z")), "roblox.com"));
    assert!(blocked(&p.at(t("2026-12-08T10:00:00Z")), "roblox.com"));
    assert_eq!(
        p.schedules_text(0).lines().next().unwrap(),
        "- `w`: mon, tue, sat, sun 00:00–24:00: block games"
    );
}
