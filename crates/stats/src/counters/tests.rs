use std::sync::Arc;

use super::*;
use crate::batch::{Batch, OTHER_DOMAIN};

fn counters() -> Counters {
    Counters::new(
        vec!["adult".into(), "child".into()],
        vec!["adult-material".into(), "adult-material/nudity".into()],
    )
    .expect("valid names")
}

#[test]
fn swap_out_returns_exact_counts_and_zeroes() {
    let c = counters();
    for _ in 0..3 {
        c.record(1, Some(1), Action::Blocked);
    }
    c.record(0, None, Action::Allowed);
    c.record(1, None, Action::Servfail);
    c.record(9, None, Action::Allowed);
    c.record(0, Some(2), Action::Allowed);
    let b = c.swap_out();
    let mut got: Vec<_> = b
        .counts()
        .map(|(k, n)| (k.profile.to_string(), k.category.to_string(), k.action, n))
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            ("adult".into(), "-".into(), Action::Allowed, 1),
            ("child".into(), "-".into(), Action::Servfail, 1),
            (
                "child".into(),
                "adult-material/nudity".into(),
                Action::Blocked,
                3
            ),
        ]
    );
    assert_eq!(c.invalid_records(), 2);
    assert!(c.swap_out().is_empty());
}

#[test]
fn a_name_blocked_under_several_profiles_and_categories_counts_each() {
    let c = counters();
    let record = [
        (0, Some(0)),
        (1, Some(0)),
        (0, Some(0)),
        (0, Some(1)),
        (1, None),
        (1, Some(0)),
    ];
    for (profile, category) in record {
        c.record_blocked_domain(profile, category, "bet.example");
    }
    c.record_blocked_domain(1, Some(1), "other.example");
    // Longer than a name kept inline (24 bytes).
    let long = "a-name-longer-than-inline.example";
    c.record_blocked_domain(0, Some(1), long);
    c.record_blocked_domain(0, Some(1), long);
    c.record_blocked_domain(1, Some(1), long);
    let b = c.swap_out();
    let mut got: Vec<(String, String, String, u64)> = b
        .domains()
        .map(|(k, n)| {
            let k = k.clone();
            (
                k.profile.to_string(),
                k.category.to_string(),
                k.domain.into(),
                n,
            )
        })
        .collect();
    got.sort();
    let want = [
        ("adult", "adult-material", "bet.example", 2),
        (
            "adult",
            "adult-material/nudity",
            "a-name-longer-than-inline.example",
            2,
        ),
        ("adult", "adult-material/nudity", "bet.example", 1),
        ("child", "-", "bet.example", 1),
        ("child", "adult-material", "bet.example", 2),
        (
            "child",
            "adult-material/nudity",
            "a-name-longer-than-inline.example",
            1,
        ),
        ("child", "adult-material/nudity", "other.example", 1),
    ];
    let want: Vec<_> = want
        .iter()
        .map(|(p, c, d, n)| (p.to_string(), c.to_string(), d.to_string(), *n))
        .collect();
    assert_eq!(got, want);
    assert_eq!(c.swap_out().domains().count(), 0, "taken out, not copied");
    // The drained table counts afresh.
    c.record_blocked_domain(0, Some(0), "bet.example");
    let again: Vec<u64> = c.swap_out().domains().map(|(_, n)| n).collect();
    assert_eq!(again, [1]);
}

#[test]
fn quiet_intervals_give_back_a_busy_one_s_table() {
    let c = Counters::new(vec!["p".into()], vec!["c".into()]).expect("counters");
    let capacity = |c: &Counters| -> usize {
        c.tallies
            .iter()
            .map(|t| t.domains.lock().entries.capacity())
            .sum()
    };
    for i in 0..10_000 {
        c.record_blocked_domain(0, Some(0), &format!("n{i}.example"));
    }
    assert_eq!(c.swap_out().domains().count(), 10_000);
    let busy = capacity(&c);
    assert!(busy >= 10_000, "kept for the next interval: {busy}");
    c.record_blocked_domain(0, Some(0), "one.example");
    assert_eq!(c.swap_out().domains().count(), 1);
    assert_eq!(capacity(&c), busy, "one quiet interval keeps it");
    for _ in 0..40 {
        c.record_blocked_domain(0, Some(0), "one.example");
        assert_eq!(c.swap_out().domains().count(), 1);
    }
    let quiet = capacity(&c);
    assert!(quiet * 4 <= busy, "given back: {busy} -> {quiet}");
}

#[test]
fn a_steady_load_counts_into_a_table_that_has_room_for_it() {
    // Growing a table rehashes every name in it on the query path: after the first
    // interval, the same load finds room for all its names in the table the swap-out
    // leaves (the thread may have counted into it while the old one was drained).
    let c = Counters::new(vec!["p".into()], vec!["c".into()]).expect("counters");
    let table = |c: &Counters| -> (usize, usize) {
        let t = c.tallies.iter().next().expect("a tally").domains.lock();
        (t.entries.capacity(), t.names.capacity())
    };
    let names: Vec<String> = (0..5_000).map(|i| format!("n{i}.example")).collect();
    let bytes: usize = names.iter().map(String::len).sum();
    for _ in 0..3 {
        for name in &names {
            c.record_blocked_domain(0, Some(0), name);
        }
        assert_eq!(c.swap_out().domains().count(), 5_000);
        let (entries, name_bytes) = table(&c);
        assert!(
            entries >= 5_000 && name_bytes >= bytes,
            "{entries}, {name_bytes}"
        );
    }
    let before = table(&c);
    for name in &names {
        c.record_blocked_domain(0, Some(0), name);
    }
    assert_eq!(table(&c), before, "the table did not grow");
}

/// One profile, one category, at most 16 distinct domains an interval.
fn capped_at_16() -> Counters {
    let options = CountersOptions {
        max_domains_per_interval: 16,
        query_log: None,
        ..CountersOptions::default()
    };
    Counters::with_options(vec!["p".into()], vec!["c".into()], options).expect("valid names")
}

#[test]
fn domain_counts_overflow_into_other() {
    let c = capped_at_16();
    for i in 0..200 {
        c.record_blocked_domain(0, Some(0), &format!("d{i}.example"));
    }
    let b = c.swap_out();
    let total: u64 = b.domains().map(|(_, n)| n).sum();
    assert_eq!(total, 200);
    let distinct = b
        .domains()
        .filter(|(k, _)| &*k.domain != OTHER_DOMAIN)
        .count();
    assert!(distinct <= 16, "{distinct} distinct domains kept");
    assert!(b.domains().any(|(k, _)| &*k.domain == OTHER_DOMAIN));
}

#[test]
fn concurrent_records_are_all_counted() {
    let c = Arc::new(counters());
    let mut seen = 0;
    std::thread::scope(|s| {
        for _ in 0..4 {
            let c = c.clone();
            s.spawn(move || {
                for _ in 0..10_000 {
                    c.record(0, Some(0), Action::Blocked);
                }
            });
        }
        for _ in 0..10 {
            seen += c.swap_out().total();
        }
    });
    seen += c.swap_out().total();
    assert_eq!(seen, 40_000);
}

#[test]
fn blocked_queries_counted_on_many_threads_while_swapping_all_come_out() {
    let c = Arc::new(counters());
    let mut domains: std::collections::BTreeMap<String, u64> = Default::default();
    let mut blocked = 0;
    let mut take = |b: Batch| {
        blocked += b.total();
        for (k, n) in b.domains() {
            *domains.entry(k.domain.to_string()).or_default() += n;
        }
    };
    std::thread::scope(|s| {
        for t in 0..4 {
            let c = c.clone();
            s.spawn(move || {
                for i in 0..5_000 {
                    let name = format!("d{}.example", (i + t) % 50);
                    c.record_blocked(1, Some(0), &name);
                }
            });
        }
        for _ in 0..10 {
            take(c.swap_out());
        }
    });
    take(c.swap_out());
    assert_eq!(blocked, 20_000);
    assert_eq!(domains.len(), 50);
    assert!(domains.values().all(|n| *n == 400), "{domains:?}");
}

#[test]
fn the_domain_cap_holds_across_threads_and_frees_at_each_swap() {
    let c = capped_at_16();
    for round in 0..2 {
        std::thread::scope(|s| {
            for t in 0..4 {
                let c = &c;
                s.spawn(move || {
                    for i in 0..100 {
                        c.record_blocked_domain(0, Some(0), &format!("r{round}t{t}n{i}.example"));
                    }
                });
            }
        });
        let b = c.swap_out();
        assert_eq!(b.domains().map(|(_, n)| n).sum::<u64>(), 400);
        let named = b
            .domains()
            .filter(|(k, _)| &*k.domain != OTHER_DOMAIN)
            .count();
        assert_eq!(
            named, 16,
            "round {round}: the cap, all of it, every interval"
        );
    }
}

/// The named (non-`(other)`) domains of a batch, with their counts, sorted.
fn named(b: &Batch) -> Vec<(String, u64)> {
    let mut v: Vec<_> = b
        .domains()
        .filter(|(k, _)| &*k.domain != OTHER_DOMAIN)
        .map(|(k, n)| (k.domain.to_string(), n))
        .collect();
    v.sort();
    v
}

#[test]
fn a_full_cap_sends_new_names_to_other_and_known_names_keep_counting() {
    let c = capped_at_16();
    for i in 0..20 {
        c.record_blocked_domain(0, Some(0), &format!("d{i:02}.example"));
    }
    // Known names count under their own name once the cap is reached.
    c.record_blocked_domain(0, Some(0), "d00.example");
    c.record_blocked_domain(0, Some(0), "d19.example");
    let b = c.swap_out();
    let want: Vec<(String, u64)> = (0..16)
        .map(|i| (format!("d{i:02}.example"), if i == 0 { 2 } else { 1 }))
        .collect();
    assert_eq!(named(&b), want, "the first 16 names, in arrival order");
    let other: Vec<u64> = b
        .domains()
        .filter(|(k, _)| &*k.domain == OTHER_DOMAIN)
        .map(|(_, n)| n)
        .collect();
    assert_eq!(
        other,
        [5],
        "four new names past the cap, and one of them again"
    );
}

/// `quiet` names counted on one thread, then `busy` on another while the first is still
/// alive (so the two cannot share a thread's table).
fn on_two_threads(c: &Counters, quiet: &[&str], busy: &[String]) {
    let turn = std::sync::Barrier::new(2);
    std::thread::scope(|s| {
        s.spawn(|| {
            for name in quiet {
                c.record_blocked_domain(0, Some(0), name);
            }
            turn.wait();
            turn.wait();
        });
        s.spawn(|| {
            turn.wait();
            for name in busy {
                c.record_blocked_domain(0, Some(0), name);
            }
            turn.wait();
        });
    });
}

#[test]
fn a_busy_thread_gets_every_slot_a_quiet_thread_left() {
    // The cap is one pool for all threads: a thread that counted a single name holds a
    // single slot, and the rest of the cap is there for a busier one.
    let c = capped_at_16();
    let busy: Vec<String> = (0..100).map(|i| format!("busy{i:02}.example")).collect();
    on_two_threads(&c, &["quiet.example"], &busy);
    let got = named(&c.swap_out());
    assert_eq!(got.len(), 16, "{got:?}");
    assert!(got.contains(&("quiet.example".into(), 1)), "{got:?}");
    // A name counted on two threads takes a slot on each.
    let busy: Vec<String> = std::iter::once("quiet.example".to_string())
        .chain(busy)
        .collect();
    on_two_threads(&c, &["quiet.example"], &busy);
    let got = named(&c.swap_out());
    assert_eq!(got.len(), 15, "two slots for one name: {got:?}");
    assert!(got.contains(&("quiet.example".into(), 2)), "{got:?}");
}

#[test]
fn rejects_reserved_names() {
    assert!(Counters::new(vec!["-".into()], vec![]).is_err());
    assert!(Counters::new(vec!["a".into()], vec!["".into()]).is_err());
}

/// One profile, one category; at most 16 distinct allowed names an interval.
fn allowed_capped_at_16(count_allowed: bool) -> Counters {
    let options = CountersOptions {
        count_allowed,
        max_allowed_per_interval: 16,
        ..CountersOptions::default()
    };
    Counters::with_options(vec!["p".into(), "q".into()], vec!["c".into()], options)
        .expect("valid names")
}

/// The allowed names of a batch, with their profile and count, sorted.
fn allowed(b: &Batch) -> Vec<(String, String, u64)> {
    let mut v: Vec<_> = b
        .allowed()
        .map(|(k, n)| (k.profile.to_string(), k.domain.to_string(), n))
        .collect();
    v.sort();
    v
}

#[test]
fn allowed_queries_count_per_profile_and_name_whatever_the_category() {
    let c = allowed_capped_at_16(true);
    let (listed, plain) = (
        c.count_cell(0, Some(0)).expect("cell"),
        c.count_cell(0, None).expect("cell"),
    );
    let other_profile = c.count_cell(1, None).expect("cell");
    c.record_allowed_at(listed, "news.example");
    c.record_allowed_at(plain, "news.example");
    c.record_allowed_at(other_profile, "news.example");
    c.record_allowed_at(plain, "www.example");
    let b = c.swap_out();
    assert_eq!(
        allowed(&b),
        [
            ("p".into(), "news.example".into(), 2),
            ("p".into(), "www.example".into(), 1),
            ("q".into(), "news.example".into(), 1),
        ]
    );
    // The aggregate counts are those of `record`, category and all.
    let mut counts: Vec<_> = b
        .counts()
        .map(|(k, n)| (k.profile.to_string(), k.category.to_string(), k.action, n))
        .collect();
    counts.sort();
    assert_eq!(
        counts,
        [
            ("p".into(), "-".into(), Action::Allowed, 2),
            ("p".into(), "c".into(), Action::Allowed, 1),
            ("q".into(), "-".into(), Action::Allowed, 1),
        ]
    );
    assert_eq!(b.domains().count(), 0, "no blocked names");
    assert!(c.swap_out().is_empty(), "taken out, not copied");
}

#[test]
fn allowed_names_have_a_cap_of_their_own_with_an_overflow_count() {
    let c = allowed_capped_at_16(true);
    let cell = c.count_cell(0, None).expect("cell");
    for round in 0..2 {
        for i in 0..40 {
            c.record_allowed_at(cell, &format!("a{:02}.example", i % 20));
            // Blocked names are bounded by their own cap, not this one.
            c.record_blocked_domain(0, Some(0), &format!("b{i:02}.example"));
        }
        let b = c.swap_out();
        let got = allowed(&b);
        let named: Vec<_> = got.iter().filter(|r| r.1 != OTHER_DOMAIN).collect();
        assert_eq!(named.len(), 16, "round {round}: {got:?}");
        assert!(named.iter().all(|r| r.2 == 2), "{got:?}");
        let other: u64 = got
            .iter()
            .filter(|r| r.1 == OTHER_DOMAIN)
            .map(|r| r.2)
            .sum();
        assert_eq!(other, 8, "four names past the cap, twice each");
        assert_eq!(
            b.domains().count(),
            40,
            "the blocked cap (20 000) is not this one"
        );
        assert_eq!(b.total(), 40, "every allowed query in the aggregate counts");
    }
}

#[test]
fn allowed_names_are_not_counted_when_turned_off() {
    let c = allowed_capped_at_16(false);
    let cell = c.count_cell(1, None).expect("cell");
    c.record_allowed_at(cell, "news.example");
    let b = c.swap_out();
    assert_eq!(b.allowed().count(), 0);
    assert_eq!(b.total(), 1, "the query is still counted");
}

#[test]
fn counts_handed_over_in_one_go_count_as_many_queries_under_the_cap() {
    // A packet-cache entry hands over n queries of a name at once: the name takes one slot
    // of the cap and counts n, past the cap the n go to (other), and the per-category
    // totals are not touched (each query was counted when it was answered).
    let c = capped_at_16();
    let cell = c.count_cell(0, Some(0)).expect("cell");
    for i in 0..20 {
        c.record_domain_count(cell, Action::Blocked, &format!("d{i:02}.example"), 3);
    }
    c.record_domain_count(cell, Action::Blocked, "d00.example", 2);
    c.record_domain_count(cell, Action::Blocked, "zero.example", 0);
    c.record_domain_count(cell, Action::Rewritten, "r.example", 5);
    let b = c.swap_out();
    let names = named(&b);
    assert_eq!(names.len(), 16, "{names:?}");
    assert!(names.contains(&("d00.example".to_string(), 5)), "{names:?}");
    assert_eq!(names.iter().map(|(_, n)| n).sum::<u64>(), 15 * 3 + 5);
    let other: u64 = b
        .domains()
        .filter(|(k, _)| &*k.domain == OTHER_DOMAIN)
        .map(|(_, n)| n)
        .sum();
    assert_eq!(other, 4 * 3);
    assert_eq!(b.counts().count(), 0, "no per-category count");
    // Allowed names per profile, whatever the cell's category; none when not counted.
    let on = allowed_capped_at_16(true);
    let off = allowed_capped_at_16(false);
    for c in [&on, &off] {
        let cell = c.count_cell(1, Some(0)).expect("cell");
        c.record_domain_count(cell, Action::Allowed, "news.example", 4);
    }
    assert_eq!(
        allowed(&on.swap_out()),
        [("q".to_string(), "news.example".to_string(), 4)]
    );
    assert!(off.swap_out().is_empty());
}

/// Past the cap, a name's counts handed over on another thread (a packet-cache entry's hits,
/// swept by the flusher) go to the table that counts the name already, not to `(other)`;
/// a name no table has still goes to `(other)`.
#[test]
fn past_the_cap_handed_over_counts_join_the_name_on_another_thread() {
    let c = capped_at_16();
    let names: Vec<String> = (0..16).map(|i| format!("d{i:02}.example")).collect();
    let cell = c.count_cell(0, Some(0)).unwrap();
    let turn = std::sync::Barrier::new(2);
    std::thread::scope(|s| {
        s.spawn(|| {
            for name in &names {
                c.record_blocked_at(cell, name);
            }
            turn.wait();
            turn.wait(); // alive while the other thread hands over
        });
        s.spawn(|| {
            turn.wait();
            c.record_domain_count(cell, Action::Blocked, "d03.example", 3);
            c.record_domain_count(cell, Action::Blocked, "new.example", 2);
            turn.wait();
        });
    });
    let b = c.swap_out();
    let want: Vec<(String, u64)> = names
        .iter()
        .map(|n| (n.clone(), if n == "d03.example" { 4 } else { 1 }))
        .collect();
    assert_eq!(named(&b), want);
    let other: u64 = b
        .domains()
        .filter(|(k, _)| &*k.domain == OTHER_DOMAIN)
        .map(|(_, n)| n)
        .sum();
    assert_eq!(other, 2);
}
