//! What the printing commands print, byte for byte: `report`, `policy show`, `lookup`,
//! `explain` and `lists stats` of one fixture, in every format, against the files in tests/fixtures/output/.
//! Names with commas, quotes, line breaks and padding check CSV quoting; counts in the millions
//! check thousands separators.
//!
//! After a deliberate change of output, `HEDGE_BLESS=1 cargo test -p hedge --test output`
//! rewrites the files (and fails, so that a blessed run is never taken for a pass); review the
//! diff before committing it.

mod support;

use std::path::Path;
use std::sync::Arc;

use hedge_stats::{Action, Batch, SqliteStore, Store};
use support::*;

/// Compares `actual` with tests/fixtures/output/`name`, or rewrites it under HEDGE_BLESS.
fn golden(name: &str, actual: &str) {
    let path = repo().join("tests/fixtures/output").join(name);
    if blessing() {
        std::fs::write(&path, actual).expect("write the golden file");
        return;
    }
    let expected =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        actual == expected,
        "{name} changed.\n--- expected ({})\n{expected}\n--- actual\n{actual}",
        path.display()
    );
}

fn blessing() -> bool {
    std::env::var_os("HEDGE_BLESS").is_some()
}

/// A blessed run rewrote the files instead of checking them: it must not pass.
fn fail_if_blessed() {
    assert!(
        !blessing(),
        "golden files rewritten; run again without HEDGE_BLESS"
    );
}

/// Runs hedge; it must succeed. Returns its standard output.
fn stdout_of(args: &[&str]) -> String {
    let o = run_hedge(args);
    assert!(
        o.status.success(),
        "hedge {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).expect("utf-8 output")
}

/// Counts in two months, under names a CSV writer must quote.
fn write_store(db: &Path) {
    let mut store = SqliteStore::open(db).expect("open the store");
    let s = |x: &str| -> Arc<str> { x.into() };
    let mut jan = Batch::new();
    jan.add_count(s("adult"), s("gambling"), Action::Blocked, 1_234_567);
    jan.add_count(s("adult"), s("adult-material"), Action::Blocked, 12);
    jan.add_count(
        s("adult"),
        s("adult-material/nudity"),
        Action::Blocked,
        4_321,
    );
    jan.add_count(s("lab, \"north\""), s("gambling"), Action::Blocked, 2);
    jan.add_count(s("two\nlines"), s("gambling"), Action::Allowed, 1_000);
    jan.add_count(s(" padded "), s("custom:tv"), Action::Blocked, 5);
    jan.add_count(s("cr\rprofile"), s("gambling"), Action::Blocked, 3);
    jan.add_domain(s("adult"), s("gambling"), "bet.example", 1_000_000);
    jan.add_domain(
        s("adult"),
        s("adult-material/nudity"),
        "nude,\"x\".example",
        4_000,
    );
    store
        .write(jiff::civil::date(2025, 1, 31), &jan)
        .expect("write January");
    let mut feb = Batch::new();
    feb.add_count(s("adult"), s("gambling"), Action::Blocked, 999);
    feb.add_domain(s("adult"), s("gambling"), "bet.example", 999);
    store
        .write(jiff::civil::date(2025, 2, 1), &feb)
        .expect("write February");
}

#[test]
fn report_output_is_pinned() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("stats.sqlite");
    write_store(&db);
    let db = db.to_str().expect("utf-8");
    let report = |format: &str, extra: &[&str]| {
        let mut args = vec![
            "report", "--db", db, "--from", "2025-01", "--to", "2025-02", "--format", format,
        ];
        args.extend_from_slice(extra);
        stdout_of(&args)
    };
    let full = ["--by", "month,profile,category", "--top-domains", "3"];
    golden("report.table.txt", &report("table", &full));
    golden("report.csv", &report("csv", &full));
    golden("report.json", &report("json", &full));
    golden("report.md", &report("markdown", &full));
    let suppressed = [
        "--by",
        "month,category",
        "--action",
        "blocked",
        "--suppress-below",
        "10",
        "--top-domains",
        "5",
    ];
    golden("report-suppressed.table.txt", &report("table", &suppressed));
    golden("report-suppressed.csv", &report("csv", &suppressed));
    golden("report-suppressed.md", &report("markdown", &suppressed));
    golden("report-total.csv", &report("csv", &[]));
    fail_if_blessed();
}

/// A two-list index (one of over a thousand names, for the separators of `lists stats`) and
/// a config of three profiles on it, in `dir`.
fn write_policy(dir: &Path) {
    let bets: String = (0..1200).map(|i| format!("bet{i}.example\n")).collect();
    std::fs::write(
        dir.join("gambling.txt"),
        format!("bet.example\ncasino.example\n{bets}"),
    )
    .expect("list");
    std::fs::write(dir.join("nudity.txt"), "nude.example\n").expect("list");
    std::fs::write(
        dir.join("sources.toml"),
        "[[source]]\nname = \"bets\"\nformat = \"plain\"\npath = \"gambling.txt\"\n\
         category = [\"gambling\"]\n\n\
         [[source]]\nname = \"pics\"\nformat = \"plain\"\npath = \"nudity.txt\"\n\
         category = [\"adult-material/nudity\"]\n",
    )
    .expect("manifest");
    let o = lists_compile(
        &dir.join("sources.toml"),
        &dir.join("x.hidx"),
        &["--stats-db", "-"],
    );
    assert!(o.status.success(), "lists compile: {}", text(&o));
    std::fs::write(
        dir.join("hedge.toml"),
        r#"index = "x.hidx"

[[profile]]
name = "adult"
block = ["gambling"]
block_domains = ["inline.example", "news.example/a,b", "news.example/say\"hi\""]
action = "redirect"
redirect_to = ["192.0.2.1", "2001:db8::1"]

[[profile]]
name = "child"
inherit = "adult"
block = ["adult-material"]
allow = ["adult-material/sex-education"]
youtube_restrict = "strict"

[[profile]]
name = "garden"
mode = "allowlist"
allow_domains = ["pbskids.org"]

[[listener]]
profile = "adult"
bind = ["127.0.0.1:5353"]
allow = ["127.0.0.0/8"]
"#,
    )
    .expect("config");
}

#[test]
fn policy_lookup_and_explain_output_is_pinned() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_policy(dir.path());
    let config = dir.path().join("hedge.toml");
    let config = config.to_str().expect("utf-8");
    let index = dir.path().join("x.hidx");
    let index = index.to_str().expect("utf-8");

    for (format, file) in [
        ("markdown", "policy.md"),
        ("csv", "policy.csv"),
        ("json", "policy.json"),
    ] {
        golden(
            file,
            &stdout_of(&["policy", "show", "--config", config, "--format", format]),
        );
    }
    golden(
        "policy-child.csv",
        &stdout_of(&[
            "policy",
            "show",
            "--config",
            config,
            "--profile",
            "child",
            "--format",
            "csv",
        ]),
    );

    // `lists stats` prints through the same table renderer.
    for (format, file) in [
        ("table", "lists-stats.txt"),
        ("csv", "lists-stats.csv"),
        ("json", "lists-stats.json"),
        ("markdown", "lists-stats.md"),
    ] {
        golden(
            file,
            &stdout_of(&["lists", "stats", index, "--format", format]),
        );
    }

    let names = [
        "www.bet.example",
        "CASINO.example",
        "nude.example",
        "nope.example",
        "bücher.example",
    ];
    for (format, file) in [
        ("text", "lookup.txt"),
        ("tsv", "lookup.tsv"),
        ("json", "lookup.jsonl"),
    ] {
        let mut args = vec!["lookup", "--index", index, "--format", format];
        args.extend_from_slice(&names);
        golden(file, &stdout_of(&args));
    }

    // Every verdict here is final without resolving (offline, or not an allow), so no
    // upstream is asked.
    let mut explained = String::new();
    for args in [
        &["--profile", "adult", "--offline", "www.bet.example"][..],
        &["--profile", "adult", "--offline", "nude.example", "AAAA"],
        &["--profile", "child", "nude.example"],
        &["--profile", "adult", "sub.inline.example", "mx"],
        &["--profile", "garden", "--offline", "www.pbskids.org"],
        &["--profile", "garden", "nope.example"],
    ] {
        let mut all = vec!["explain", "--config", config];
        all.extend_from_slice(args);
        explained.push_str(&format!("$ hedge explain {}\n", args.join(" ")));
        explained.push_str(&stdout_of(&all));
    }
    golden("explain.txt", &explained);
    fail_if_blessed();
}

/// A reader that stops early (`hedge policy show | head`) closes the pipe: the command stops
/// quietly, as `cat` would (killed by SIGPIPE, or exit 0), instead of panicking on the
/// failed write.
#[test]
fn printing_into_a_closed_pipe_is_not_a_panic() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_policy(dir.path());
    let db = dir.path().join("stats.sqlite");
    write_store(&db);
    let config = dir.path().join("hedge.toml");
    let (config, db) = (config.to_str().expect("utf-8"), db.to_str().expect("utf-8"));
    let index = dir.path().join("x.hidx");
    let index = index.to_str().expect("utf-8");
    let runs: [&[&str]; 6] = [
        &["policy", "show", "--config", config],
        &["policy", "show", "--config", config, "--format", "json"],
        &[
            "report", "--db", db, "--from", "2025-01", "--to", "2025-02", "--by", "month",
        ],
        &[
            "explain",
            "--config",
            config,
            "--profile",
            "child",
            "nude.example",
        ],
        &["lookup", "--index", index, "nude.example"],
        &["lists", "stats", index],
    ];
    for args in runs {
        assert_quiet_on_a_closed_stdout(args);
    }
}
