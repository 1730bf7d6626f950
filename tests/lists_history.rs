//! The history of indexes and the FOI question "which sites were added, removed or
//! recategorised in this period": three compiles of a small list through the binary, then
//! `hedge lists history` and `hedge report changes` on what they kept and recorded.

mod support;

use std::path::{Path, PathBuf};
use std::process::Output;

use hedge_stats::{CategoryChange, ChangeKind, ListChange, NameChange, SqliteStore, Store};
use support::run_hedge;

/// A folder with a manifest of two single-list sources: `bets` (gambling) and `play` (games).
struct Lists {
    dir: tempfile::TempDir,
}

impl Lists {
    fn new() -> Lists {
        let dir = tempfile::tempdir().expect("temporary folder");
        std::fs::write(
            dir.path().join("sources.toml"),
            "[[source]]\nname = \"bets\"\nformat = \"plain\"\npath = \"bets.txt\"\n\
             category = [\"gambling\"]\n\n\
             [[source]]\nname = \"play\"\nformat = \"plain\"\npath = \"play.txt\"\n\
             category = [\"games\"]\n",
        )
        .expect("manifest");
        Lists { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn out(&self) -> PathBuf {
        self.path("hedge.hidx")
    }

    fn db(&self) -> PathBuf {
        self.path("hedge-stats.sqlite")
    }

    /// Writes the two lists and compiles them into `hedge.hidx`.
    fn compile(&self, bets: &[&str], play: &[&str], extra: &[&str]) -> Output {
        std::fs::write(self.path("bets.txt"), bets.join("\n")).expect("bets");
        std::fs::write(self.path("play.txt"), play.join("\n")).expect("play");
        let mut args: Vec<String> = ["lists", "compile", "--sources"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        args.push(self.path("sources.toml").display().to_string());
        args.push("--out".into());
        args.push(self.out().display().to_string());
        args.extend(extra.iter().map(|s| s.to_string()));
        let out = run_hedge(&args);
        assert!(
            out.status.success(),
            "compile failed: {}",
            text(&out.stderr)
        );
        out
    }

    /// The three versions: v2 adds d and removes c from gambling; v3 moves b to games.
    fn compile_three(&self, extra: &[&str]) -> Vec<String> {
        let v1 = ["a.example", "b.example", "c.example"];
        let v2 = ["a.example", "b.example", "d.example"];
        let v3 = ["a.example", "d.example"];
        [
            self.compile(&v1, &["g.example"], extra),
            self.compile(&v2, &["g.example"], extra),
            self.compile(&v3, &["g.example", "b.example"], extra),
        ]
        .iter()
        .map(|o| version_written(&text(&o.stdout)))
        .collect()
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The version in compile's "wrote …, version X, in …" line.
fn version_written(stdout: &str) -> String {
    let rest = stdout
        .split(", version ")
        .nth(1)
        .unwrap_or_else(|| panic!("no version in {stdout:?}"));
    rest.split(',').next().expect("version").trim().to_string()
}

fn csv_rows(stdout: &str) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(stdout.as_bytes())
        .records()
        .map(|r| r.expect("csv").iter().map(str::to_string).collect())
        .collect()
}

fn history(out: &Path, format: &str) -> Output {
    run_hedge([
        "lists".as_ref(),
        "history".as_ref(),
        "--out".as_ref(),
        out.as_os_str(),
        "--format".as_ref(),
        format.as_ref(),
    ])
}

fn this_month() -> String {
    jiff::Timestamp::now().strftime("%Y-%m").to_string()
}

fn report_changes(db: &Path, from: &str, to: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "report".to_string(),
        "changes".into(),
        "--db".into(),
        db.display().to_string(),
        "--from".into(),
        from.into(),
        "--to".into(),
        to.into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    run_hedge(&args)
}

#[test]
fn history_keeps_each_version_with_its_sources_and_counts() {
    let lists = Lists::new();
    let versions = lists.compile_three(&[]);
    assert_eq!(versions.len(), 3);

    let out = history(&lists.out(), "csv");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let rows = csv_rows(&text(&out.stdout));
    // Newest first: version, compiled, names, categories, sources, index.
    let shown: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    let newest_first: Vec<&str> = versions.iter().rev().map(String::as_str).collect();
    assert_eq!(shown, newest_first, "{rows:?}");
    let counts: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r[2].as_str(), r[3].as_str()))
        .collect();
    assert_eq!(
        counts,
        [
            ("4", "gambling 2; games 2"),
            ("4", "gambling 3; games 1"),
            ("4", "gambling 3; games 1"),
        ]
    );
    for r in &rows {
        assert!(
            r[4].contains("bets sha256:") && r[4].contains("play sha256:"),
            "{r:?}"
        );
        assert!(r[4].contains(", modified "), "local files' times: {r:?}");
        assert!(Path::new(&r[5]).is_file(), "the kept index {} exists", r[5]);
    }
    // A kept index is a real index: `lists diff` of the oldest and newest gives v1 → v3.
    let diff = run_hedge([
        "lists",
        "diff",
        rows[2][5].as_str(),
        rows[0][5].as_str(),
        "--format",
        "csv",
    ]);
    assert!(diff.status.success(), "{}", text(&diff.stderr));

    // JSON carries the same records.
    let json = history(&lists.out(), "json");
    let records: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    assert_eq!(records.as_array().expect("array").len(), 3);
    assert_eq!(records[0]["categories"]["games"], 2);
    assert_eq!(records[0]["sources"][0]["name"], "bets");
}

#[test]
fn history_is_pruned_to_keep_history() {
    let lists = Lists::new();
    let versions = lists.compile_three(&["--keep-history", "2"]);
    let out = history(&lists.out(), "csv");
    let rows = csv_rows(&text(&out.stdout));
    let shown: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(shown, [versions[2].as_str(), versions[1].as_str()]);
    let mut files: Vec<String> = std::fs::read_dir(lists.path("history"))
        .expect("history folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let mut expected: Vec<String> = versions[1..]
        .iter()
        .flat_map(|v| [format!("{v}.hidx"), format!("{v}.json")])
        .collect();
    expected.sort();
    assert_eq!(files, expected, "the oldest index and record are deleted");

    // --dir reads the folder itself; an empty one says so and exits 1.
    let by_dir = run_hedge([
        "lists".as_ref(),
        "history".as_ref(),
        "--dir".as_ref(),
        lists.path("history").as_os_str(),
        "--format".as_ref(),
        "csv".as_ref(),
    ]);
    assert_eq!(csv_rows(&text(&by_dir.stdout)).len(), 2);
    let none = history(&lists.path("elsewhere/x.hidx"), "csv");
    assert_eq!(none.status.code(), Some(1));
    assert!(
        text(&none.stderr).contains("no indexes kept"),
        "{}",
        text(&none.stderr)
    );
}

#[test]
fn a_history_that_cannot_be_written_still_swaps_the_index_and_warns() {
    let lists = Lists::new();
    let first = lists.compile(&["a.example"], &["g.example"], &[]);
    let v1 = version_written(&text(&first.stdout));
    // The tests run as root, which permission bits do not stop: a file where the history
    // folder goes makes every write to it fail, for any user.
    std::fs::remove_dir_all(lists.path("history")).expect("remove history");
    std::fs::write(lists.path("history"), "not a folder").expect("block history");
    let second = lists.compile(&["a.example", "b.example"], &["g.example"], &[]);
    let v2 = version_written(&text(&second.stdout));
    assert_ne!(v1, v2);
    let stderr = text(&second.stderr);
    assert!(
        stderr.contains("warning: could not keep a copy of the index in")
            && stderr.contains("the new index is in place"),
        "{stderr}"
    );
    let verify = run_hedge(["lists".as_ref(), "verify".as_ref(), lists.out().as_os_str()]);
    assert!(
        text(&verify.stdout).contains(&format!("version {v2}")),
        "the new index was swapped in: {}",
        text(&verify.stdout)
    );
}

#[test]
fn report_changes_lists_the_names_added_removed_and_recategorised() {
    let lists = Lists::new();
    let versions = lists.compile_three(&[]);
    let month = this_month();

    // Everything this month: v2 added d and removed c; v3 moved b from gambling to games.
    let out = report_changes(&lists.db(), &month, &month, &["--format", "csv"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let got: Vec<Vec<String>> = csv_rows(&text(&out.stdout))
        .into_iter()
        .map(|r| r[1..].to_vec())
        .collect();
    let row = |v: &str, cat: &str, change: &str, name: &str, from: &str, to: &str| {
        [v, cat, change, name, from, to]
            .map(str::to_string)
            .to_vec()
    };
    assert_eq!(
        got,
        [
            row(&versions[1], "gambling", "added", "d.example", "", ""),
            row(&versions[1], "gambling", "removed", "c.example", "", ""),
            row(
                &versions[2],
                "gambling",
                "removed",
                "b.example",
                "",
                "games"
            ),
            row(
                &versions[2],
                "games",
                "recategorised",
                "b.example",
                "gambling",
                ""
            ),
        ]
    );
    assert!(
        text(&out.stderr).contains("1 added, 2 removed, 1 recategorised"),
        "{}",
        text(&out.stderr)
    );

    // --category games: only the name moved into games.
    let games = report_changes(
        &lists.db(),
        &month,
        &month,
        &["--category", "games", "--format", "csv"],
    );
    let rows = csv_rows(&text(&games.stdout));
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0][3..6], ["recategorised", "b.example", "gambling"]);

    // The text table names the same changes.
    let table = report_changes(&lists.db(), &month, &month, &["--format", "table"]);
    let table = text(&table.stdout);
    for name in [
        "d.example",
        "c.example",
        "b.example",
        "recategorised",
        "added",
        "removed",
    ] {
        assert!(table.contains(name), "{name} in\n{table}");
    }
    assert!(
        !table.contains("a.example") && !table.contains("g.example"),
        "{table}"
    );
}

#[test]
fn report_changes_keeps_to_its_period_and_says_when_there_is_nothing() {
    let lists = Lists::new();
    lists.compile_three(&[]);
    // A change recorded in March 2026, as if compiled then (the clock is not ours to set).
    let mut store = SqliteStore::open(lists.db()).expect("open the store");
    store
        .record_list_change(&ListChange {
            compiled_at: "2026-03-10T02:00:00Z".parse().expect("time"),
            old_version: "000000000001".into(),
            new_version: "000000000002".into(),
            categories: vec![CategoryChange {
                category: "gambling/lottery".into(),
                added: 1,
                removed: 0,
                recategorised: 0,
                names: vec![NameChange {
                    name: "lotto.example".into(),
                    change: ChangeKind::Added,
                    from_category: None,
                }],
            }],
        })
        .expect("record");
    drop(store);

    let spring = report_changes(&lists.db(), "2026-01", "2026-06", &["--format", "csv"]);
    assert!(spring.status.success(), "{}", text(&spring.stderr));
    let rows = csv_rows(&text(&spring.stdout));
    assert_eq!(rows.len(), 1, "only March's change: {rows:?}");
    assert_eq!(rows[0][0], "2026-03-10 02:00:00Z");
    assert_eq!(
        rows[0][2..5],
        ["gambling/lottery", "added", "lotto.example"]
    );
    // A category's children are in it.
    let gambling = report_changes(
        &lists.db(),
        "2026-01",
        "2026-06",
        &["--category", "gambling", "--format", "csv"],
    );
    assert_eq!(csv_rows(&text(&gambling.stdout)).len(), 1);

    // Nothing in the period, or in the category: said plainly, exit 1, no table.
    let empty: [(&str, &str, &[&str]); 2] = [
        ("2025-01", "2025-12", &["--format", "csv"]),
        (
            "2026-01",
            "2026-06",
            &["--category", "games", "--format", "csv"],
        ),
    ];
    for (from, to, extra) in empty {
        let none = report_changes(&lists.db(), from, to, extra);
        assert_eq!(none.status.code(), Some(1), "{}", text(&none.stderr));
        assert!(none.stdout.is_empty());
        assert!(
            text(&none.stderr).contains("holds no list changes from"),
            "{}",
            text(&none.stderr)
        );
    }

    // No store at all: a usage error that says where compile records changes.
    let missing = report_changes(&lists.path("nowhere.sqlite"), "2026-01", "2026-06", &[]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        text(&missing.stderr).contains("beside the index"),
        "{}",
        text(&missing.stderr)
    );
}
