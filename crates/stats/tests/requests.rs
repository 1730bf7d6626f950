//! Unblock requests in the store: merging repeats, decisions and their audit entries, the
//! overrides the resolver applies, the export and retention.

use std::path::PathBuf;

use hedge_stats::{
    Cell, Error, ExportQuery, NewRequest, RequestFilter, RequestStatus, Retention, SqliteStore,
    Store,
};
use jiff::Timestamp;
use rusqlite::Connection;

fn t(s: &str) -> Timestamp {
    s.parse().expect("test time")
}

fn store() -> (tempfile::TempDir, PathBuf, SqliteStore) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("stats.sqlite");
    let store = SqliteStore::open(&path).expect("open");
    (dir, path, store)
}

fn ask(name: &str, profile: &str) -> NewRequest {
    NewRequest {
        name: name.into(),
        category: Some("games".into()),
        profile: profile.into(),
        reason: "homework".into(),
        contact: None,
    }
}

/// A new request for `name` on `child`; its number.
fn open_request(store: &mut SqliteStore, name: &str, now: Timestamp) -> i64 {
    store
        .submit_request(&ask(name, "child"), now)
        .expect("submit")
        .id
}

#[test]
fn repeats_within_a_week_merge_and_not_after() {
    let (_dir, _path, mut store) = store();
    let first = store
        .submit_request(&ask("Games.Example.", "child"), t("2026-03-01T10:00:00Z"))
        .expect("submit");
    assert!(!first.merged);
    assert_eq!(first.count, 1);
    // Same name (another spelling) and profile, six days later: merged.
    let again = store
        .submit_request(&ask("games.example", "child"), t("2026-03-07T09:00:00Z"))
        .expect("submit");
    assert_eq!((again.id, again.merged, again.count), (first.id, true, 2));
    // Another profile is another request.
    let adult = store
        .submit_request(&ask("games.example", "adult"), t("2026-03-07T09:00:00Z"))
        .expect("submit");
    assert_ne!(adult.id, first.id);
    // A week and a bit after the first: a new request.
    let later = store
        .submit_request(&ask("games.example", "child"), t("2026-03-08T10:00:01Z"))
        .expect("submit");
    assert!(!later.merged);
    assert_ne!(later.id, first.id);

    let r = store.request(first.id).expect("request");
    assert_eq!(r.name, "games.example");
    assert_eq!(r.count, 2);
    assert_eq!(r.last_requested_at, t("2026-03-07T09:00:00Z"));
    assert_eq!(r.status, RequestStatus::Open);

    // A decided request takes no repeats: the next one is new.
    store
        .deny(
            later.id,
            "not for children",
            "sam",
            t("2026-03-08T11:00:00Z"),
        )
        .expect("deny");
    let after_denial = store
        .submit_request(&ask("games.example", "child"), t("2026-03-08T12:00:00Z"))
        .expect("submit");
    assert!(!after_denial.merged);
}

#[test]
fn bad_input_is_refused_and_nothing_is_written() {
    let (_dir, _path, mut store) = store();
    let now = t("2026-03-01T10:00:00Z");
    for (bad, what) in [
        (ask("not a name", "child"), "name"),
        (ask("192.0.2.1", "child"), "name"),
        (ask("com", "child"), "name"),
        (ask("ok.example", ""), "profile"),
        (
            NewRequest {
                reason: "x".repeat(1001),
                ..ask("ok.example", "child")
            },
            "reason",
        ),
        (
            NewRequest {
                reason: "bell\u{7}".into(),
                ..ask("ok.example", "child")
            },
            "reason",
        ),
        (
            NewRequest {
                contact: Some("y".repeat(201)),
                ..ask("ok.example", "child")
            },
            "contact",
        ),
    ] {
        match store.submit_request(&bad, now) {
            Err(Error::Invalid(msg)) => assert!(msg.contains(what), "{msg}"),
            other => panic!("{bad:?}: {other:?}"),
        }
    }
    assert_eq!(store.row_count("unblock_requests").expect("rows"), 0);
    assert_eq!(
        store.row_count("unblock_request_contacts").expect("rows"),
        0
    );
}

#[test]
fn only_open_requests_can_be_decided() {
    let (_dir, _path, mut store) = store();
    let now = t("2026-03-01T10:00:00Z");
    let a = open_request(&mut store, "a.example", now);
    let b = open_request(&mut store, "b.example", now);
    let c = open_request(&mut store, "c.example", now);

    store.withdraw(a, None, "sam", now).expect("withdraw");
    let e = store
        .grant(a, &["child".into()], None, None, "sam", now)
        .expect_err("a withdrawn request cannot be granted");
    assert!(matches!(e, Error::NotOpen { id, ref status } if id == a && status == "withdrawn"));

    store
        .grant(
            b,
            &["child".into(), "adult".into()],
            None,
            Some("ok"),
            "sam",
            now,
        )
        .expect("grant");
    assert!(matches!(
        store.deny(b, "no", "sam", now),
        Err(Error::NotOpen { .. })
    ));
    assert!(matches!(
        store.withdraw(b, None, "sam", now),
        Err(Error::NotOpen { .. })
    ));
    store.deny(c, "not needed", "sam", now).expect("deny");
    assert!(matches!(
        store.grant(c, &["child".into()], None, None, "sam", now),
        Err(Error::NotOpen { .. })
    ));
    assert!(matches!(
        store.deny(99, "x", "sam", now),
        Err(Error::NoSuchRequest(99))
    ));
    // A denial needs a note; a grant needs a profile and a future expiry.
    let d = open_request(&mut store, "d.example", now);
    assert!(matches!(
        store.deny(d, "  ", "sam", now),
        Err(Error::Invalid(_))
    ));
    assert!(matches!(
        store.grant(d, &[], None, None, "sam", now),
        Err(Error::Invalid(_))
    ));
    assert!(matches!(
        store.grant(d, &["child".into()], Some(now), None, "sam", now),
        Err(Error::Invalid(_))
    ));
    assert!(matches!(
        store.deny(d, "why", "", now),
        Err(Error::Invalid(_))
    ));
    assert_eq!(store.request(d).expect("d").status, RequestStatus::Open);

    let statuses: Vec<_> = store
        .list_requests(&RequestFilter::default())
        .expect("list")
        .into_iter()
        .map(|r| (r.name, r.status))
        .collect();
    assert_eq!(
        statuses,
        vec![
            ("a.example".to_owned(), RequestStatus::Withdrawn),
            ("b.example".to_owned(), RequestStatus::Granted),
            ("c.example".to_owned(), RequestStatus::Denied),
            ("d.example".to_owned(), RequestStatus::Open),
        ]
    );
    let open = store
        .list_requests(&RequestFilter {
            status: Some(RequestStatus::Open),
            ..RequestFilter::default()
        })
        .expect("list");
    assert_eq!(open.len(), 1);
    // Three decisions, three audit entries.
    let log = store.audit_log(None, 100).expect("audit");
    let actions: Vec<_> = log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["withdraw", "grant", "deny"]);
    assert_eq!(log[1].target, format!("request #{b}"));
    assert_eq!(log[1].detail, "b.example on child, adult: ok");
}

#[test]
fn a_decision_is_written_with_its_audit_entry_or_not_at_all() {
    let (_dir, path, mut store) = store();
    let now = t("2026-03-01T10:00:00Z");
    let id = open_request(&mut store, "a.example", now);
    // Another connection breaks the audit log.
    Connection::open(&path)
        .expect("second connection")
        .execute_batch(
            "CREATE TRIGGER broken BEFORE INSERT ON audit_log \
             BEGIN SELECT RAISE(ABORT, 'audit log unavailable'); END;",
        )
        .expect("trigger");
    let e = store
        .grant(id, &["child".into()], None, None, "sam", now)
        .expect_err("the audit insert fails");
    assert!(format!("{e:?}").contains("audit log unavailable"), "{e:?}");
    assert_eq!(
        store.request(id).expect("request").status,
        RequestStatus::Open
    );
    assert_eq!(store.row_count("grants").expect("rows"), 0);
    assert!(
        store
            .active_overrides(now)
            .expect("overrides")
            .grants
            .is_empty()
    );
    assert!(store.deny(id, "no", "sam", now).is_err());
    assert!(
        store
            .recategorise("a.example", "games", true, "sam", now)
            .is_err()
    );
    assert_eq!(store.row_count("recategorisations").expect("rows"), 0);
    assert_eq!(
        store.request(id).expect("request").status,
        RequestStatus::Open
    );

    // Mended, the same decision goes through.
    Connection::open(&path)
        .expect("second connection")
        .execute_batch("DROP TRIGGER broken;")
        .expect("drop trigger");
    store
        .grant(id, &["child".into()], None, None, "sam", now)
        .expect("grant");
    assert_eq!(store.audit_log(None, 10).expect("audit").len(), 1);
    // The audit log cannot be edited.
    let edit = Connection::open(&path)
        .expect("second connection")
        .execute("UPDATE audit_log SET actor = 'nobody'", []);
    assert!(edit.is_err());
}

#[test]
fn overrides_follow_grants_expiry_revocation_and_recategorisations() {
    let (_dir, _path, mut store) = store();
    let now = t("2026-03-01T10:00:00Z");
    let a = open_request(&mut store, "a.example", now);
    let b = open_request(&mut store, "b.example", now);
    let until = t("2026-03-02T10:00:00Z");
    store
        .grant(
            a,
            &["child".into(), "child".into()],
            Some(until),
            None,
            "sam",
            now,
        )
        .expect("grant a");
    let b_grants = store
        .grant(b, &["child".into(), "adult".into()], None, None, "sam", now)
        .expect("grant b");
    assert_eq!(b_grants.len(), 2);
    store
        .recategorise("News.Example", "news", true, "sam", now)
        .expect("into");
    store
        .recategorise("games.example", "games", false, "sam", now)
        .expect("out of");
    assert!(
        !store
            .recategorise("games.example", "games", false, "sam", now)
            .expect("again")
    );

    let o = store.active_overrides(now).expect("overrides");
    let grants: Vec<_> = o
        .grants
        .iter()
        .map(|g| (g.name.as_str(), g.profile.as_str(), g.until))
        .collect();
    assert_eq!(
        grants,
        [
            ("a.example", "child", Some(until)),
            ("b.example", "adult", None),
            ("b.example", "child", None),
        ]
    );
    assert_eq!(o.grants[0].request, Some(a));
    assert_eq!(o.next_expiry(), Some(until));
    let recat: Vec<_> = o
        .recategorised
        .iter()
        .map(|r| (r.name.as_str(), r.category.as_str(), r.add))
        .collect();
    assert_eq!(
        recat,
        [
            ("games.example", "games", false),
            ("news.example", "news", true)
        ]
    );

    // The grant of a expires by itself; b's child grant is revoked.
    store.revoke_grant(b_grants[0], "sam", now).expect("revoke");
    assert!(matches!(
        store.revoke_grant(b_grants[0], "sam", now),
        Err(Error::NoSuchGrant(_))
    ));
    let o = store.active_overrides(until).expect("overrides");
    let names: Vec<_> = o
        .grants
        .iter()
        .map(|g| (g.name.as_str(), g.profile.as_str()))
        .collect();
    assert_eq!(names, [("b.example", "adult")]);
    assert_eq!(o.next_expiry(), None);

    store
        .clear_recategorisation("games.example", "games", "sam", now)
        .expect("clear");
    assert!(
        store
            .clear_recategorisation("games.example", "games", "sam", now)
            .is_err()
    );
    assert_eq!(
        store.active_overrides(now).expect("o").recategorised.len(),
        1
    );
    let actions: Vec<_> = store
        .audit_log(None, 100)
        .expect("audit")
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(
        actions,
        [
            "grant",
            "grant",
            "recategorise",
            "recategorise",
            "revoke",
            "unrecategorise"
        ]
    );
}

#[test]
fn export_lists_no_requester_and_suppresses_small_counts() {
    let (_dir, _path, mut store) = store();
    let day = |d: u32| t(&format!("2026-03-{d:02}T10:00:00Z"));
    let mut submit = |name: &str, n: u32, with_contact: bool| {
        let mut id = 0;
        for i in 0..n {
            let r = NewRequest {
                contact: with_contact.then(|| "pat@example.org".to_owned()),
                reason: "my secret reason".into(),
                ..ask(name, "child")
            };
            id = store.submit_request(&r, day(1 + i % 5)).expect("submit").id;
        }
        id
    };
    let popular = submit("popular.example", 12, true);
    let rare = submit("rare.example", 2, true);
    let other = submit("other.example", 15, false);
    let now = day(10);
    store
        .grant(popular, &["child".into()], None, None, "sam", now)
        .expect("grant");
    store.deny(rare, "no", "sam", now).expect("deny");
    store.deny(other, "no", "sam", now).expect("deny");
    // Outside the period.
    store
        .submit_request(&ask("april.example", "child"), t("2026-04-01T00:00:00Z"))
        .expect("april");

    let q = ExportQuery {
        from: "2026-03-01".parse().expect("date"),
        to: "2026-03-31".parse().expect("date"),
        suppress_below: None,
    };
    let all = store.export(&q).expect("export");
    let rows: Vec<_> = all
        .rows
        .iter()
        .map(|r| (r.name.as_str(), r.requests, r.decision))
        .collect();
    assert_eq!(
        rows,
        [
            ("other.example", Cell::Count(15), RequestStatus::Denied),
            ("popular.example", Cell::Count(12), RequestStatus::Granted),
            ("rare.example", Cell::Count(2), RequestStatus::Denied),
        ]
    );
    assert_eq!(
        all.rows[1].decided_on,
        Some("2026-03-10".parse().expect("date"))
    );
    assert_eq!(all.total, Cell::Count(29));
    let json = serde_json::to_string(&all).expect("json");
    for secret in ["pat@example.org", "my secret reason", "sam", "\"id\""] {
        assert!(!json.contains(secret), "{secret} in {json}");
    }

    // K = 10: rare.example is not listed; its 2 requests are a small count, and the denied
    // total would give it away, so the other denied row is withheld too.
    let k = store
        .export(&ExportQuery {
            suppress_below: Some(10),
            ..q
        })
        .expect("export");
    let rows: Vec<_> = k
        .rows
        .iter()
        .map(|r| (r.name.as_str(), r.requests))
        .collect();
    assert_eq!(
        rows,
        [
            ("other.example", Cell::Withheld),
            ("popular.example", Cell::Count(12)),
        ]
    );
    assert_eq!(
        k.unlisted,
        [
            (RequestStatus::Granted, Cell::Count(0)),
            (RequestStatus::Denied, Cell::Suppressed { below: 10 }),
        ]
    );
    assert_eq!(
        k.totals,
        [
            (RequestStatus::Granted, Cell::Count(12)),
            (RequestStatus::Denied, Cell::Count(17)),
        ]
    );
    assert_eq!(k.total, Cell::Count(29));
    assert!(!serde_json::to_string(&k).expect("json").contains("rare"));
}

#[test]
fn contacts_go_sooner_than_requests_and_live_policy_is_kept() {
    let (_dir, _path, mut store) = store();
    let asked = t("2026-01-05T10:00:00Z");
    let with_contact = |name: &str| NewRequest {
        contact: Some("pat@example.org".into()),
        ..ask(name, "child")
    };
    let decided = store
        .submit_request(&with_contact("a.example"), asked)
        .expect("a")
        .id;
    let waiting = store
        .submit_request(&with_contact("b.example"), asked)
        .expect("b")
        .id;
    store
        .grant(
            decided,
            &["child".into()],
            None,
            None,
            "sam",
            t("2026-01-06T10:00:00Z"),
        )
        .expect("grant");
    assert_eq!(
        store.request_contacts(decided).expect("contacts"),
        ["pat@example.org"]
    );
    store
        .recategorise("c.example", "games", true, "sam", asked)
        .expect("recategorise");
    let retention = Retention::default();

    // 31 days after the decision: its contact is gone, the open request's is kept.
    let pruned = store
        .prune("2026-02-06".parse().expect("date"), &retention)
        .expect("prune");
    assert_eq!(pruned.request_contacts, 1);
    assert!(
        store
            .request_contacts(decided)
            .expect("contacts")
            .is_empty()
    );
    assert_eq!(store.request_contacts(waiting).expect("contacts").len(), 1);
    // 90 days after it was given, the open request's contact goes too.
    let pruned = store
        .prune("2026-04-05".parse().expect("date"), &retention)
        .expect("prune");
    assert_eq!(pruned.request_contacts, 1);
    assert_eq!(pruned.unblock_requests, 0);

    // Past the aggregate retention, requests and the audit log go; the live grant (no expiry)
    // and the recategorisation stay.
    let short = Retention {
        aggregate_days: 30,
        ..retention
    };
    let pruned = store
        .prune("2026-04-05".parse().expect("date"), &short)
        .expect("prune");
    assert_eq!(pruned.unblock_requests, 2);
    assert_eq!(pruned.audit_log, 2);
    let o = store
        .active_overrides(t("2026-04-05T00:00:00Z"))
        .expect("o");
    assert_eq!(o.grants.len(), 1);
    assert_eq!(o.grants[0].request, None, "its request is gone");
    assert_eq!(o.recategorised.len(), 1);
}

#[test]
fn a_second_connection_sees_decisions_through_the_data_version() {
    let (_dir, path, mut store) = store();
    let watcher = SqliteStore::open(&path).expect("second connection");
    let now = t("2026-03-01T10:00:00Z");
    let v0 = watcher.data_version().expect("version");
    let id = open_request(&mut store, "a.example", now);
    store
        .grant(id, &["child".into()], None, None, "sam", now)
        .expect("grant");
    assert_ne!(watcher.data_version().expect("version"), v0);
    assert_eq!(watcher.active_overrides(now).expect("o").grants.len(), 1);
}

#[test]
fn a_version_3_store_keeps_its_requests_through_the_migration() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("old.sqlite");
    let conn = Connection::open(&path).expect("create");
    for m in hedge_stats::MIGRATIONS.iter().filter(|m| m.version <= 3) {
        conn.execute_batch(m.sql).expect("old schema");
    }
    conn.execute_batch(
        "PRAGMA user_version = 3;
         INSERT INTO unblock_requests (requested_at, profile, domain, reason)
             VALUES ('2026-01-02T03:04:05Z', 'child', 'old.example', 'from before');",
    )
    .expect("old row");
    drop(conn);
    let store = SqliteStore::open(&path).expect("migrate");
    assert_eq!(
        store.schema_version().expect("version"),
        hedge_stats::SCHEMA_VERSION
    );
    let r = store.request(1).expect("kept");
    assert_eq!(
        (r.name.as_str(), r.status, r.count, r.reason.as_str()),
        ("old.example", RequestStatus::Open, 1, "from before")
    );
    assert_eq!(r.last_requested_at, r.requested_at);
}
