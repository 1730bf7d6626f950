//! End-to-end: a schedule switches the served policy at its boundaries, with no reload
//! and no restart (the live policy swaps a rebuilt snapshot in at the boundary).

mod support;

use std::time::Duration;

use hickory_proto::rr::RecordType;
use jiff::{SignedDuration, Timestamp, tz::TimeZone};
use support::*;

#[tokio::test(flavor = "multi_thread")]
async fn a_schedule_boundary_flips_the_answer_without_a_reload() {
    let net = FakeInternet::start_for_test().await;
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("games.txt"), "example.com\n").expect("list");
    std::fs::write(
        dir.path().join("games.toml"),
        "[[source]]\nname = \"games\"\nformat = \"plain\"\npath = \"games.txt\"\ncategory = [\"games\"]\n",
    )
    .expect("manifest");
    let o = lists_compile(
        &dir.path().join("games.toml"),
        &dir.path().join("index.hidx"),
        &[],
    );
    assert!(o.status.success(), "{}", text(&o));

    // A window a few seconds from now, in UTC, on the same day (wait out a near midnight).
    let utc = TimeZone::UTC;
    while utc.to_datetime(Timestamp::now()).time().hour() == 23
        && utc.to_datetime(Timestamp::now()).time().minute() == 59
    {
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let now = Timestamp::now();
    let start = (now + SignedDuration::from_secs(6))
        .round(jiff::Unit::Second)
        .expect("round");
    let end = start + SignedDuration::from_secs(3);
    let clock = |t: Timestamp| utc.to_datetime(t).time().strftime("%H:%M:%S").to_string();
    let (l, addr) = listener("child", "127.0.0.0/8");
    let config = format!(
        "timezone = \"UTC\"\nindex = \"index.hidx\"\n[[profile]]\nname = \"child\"\nblock = [\"gambling\"]\n\
         [[profile.schedule]]\nname = \"test hours\"\nfrom = \"{}\"\nto = \"{}\"\nblock = [\"games\"]\n\
         {l}\n{}",
        clock(start),
        clock(end),
        recursive_upstream(&net, 3000)
    );
    let path = dir.path().join("hedge.toml");
    std::fs::write(&path, config).expect("config");
    let hedge = Hedge::start_at(dir, path);

    // Before the window: resolved (and now in the packet cache).
    let allowed = names::WWW_EXAMPLE_COM_A.to_string();
    assert_eq!(
        example_answers(addr).await,
        [[allowed.as_str()], [allowed.as_str()]]
    );
    assert!(
        Timestamp::now() < start,
        "hedge took more than 6 s to answer; the window has begun before the first query"
    );

    // In the window: blocked, never before it starts.
    let blocked_at = until_answer(addr, "0.0.0.0", end).await;
    assert!(
        blocked_at + SignedDuration::from_millis(100) >= start,
        "blocked at {blocked_at}, before the window starts at {start}"
    );
    let m = udp(addr, names::WWW_EXAMPLE_COM, RecordType::A).await;
    assert!(
        ede(&m).iter().any(|(_, t)| t.starts_with("blocked: games")),
        "{:?}",
        ede(&m)
    );
    // After it: resolved again.
    let allowed_at = until_answer(addr, &allowed, end + SignedDuration::from_secs(5)).await;
    assert!(
        allowed_at + SignedDuration::from_millis(100) >= end,
        "allowed at {allowed_at}, before the window ends at {end}"
    );
    let log = hedge.log();
    assert!(
        log.contains("profile `child`: schedule `test hours` in force"),
        "{log}"
    );
    assert!(
        log.contains("profile `child`: schedule `test hours` ended"),
        "{log}"
    );
    assert!(!log.contains("reloaded"), "{log}");
}
