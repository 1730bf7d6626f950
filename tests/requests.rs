//! `hedge requests` and `hedge policy show` on a real statistics file: the staff's decisions
//! from the command line, bad input refused with nothing written, and the FOI export.

mod support;

use std::path::PathBuf;
use std::process::{Command, Output};

use hedge_stats::{NewRequest, RequestStatus, SqliteStore};
use support::*;

const CONFIG: &str = r#"
[[profile]]
name = "child"
block = ["games"]

[[profile]]
name = "adult"

[[listener]]
profile = "child"
bind = ["127.0.0.1:5399"]
allow = ["127.0.0.0/8"]

[stats]
path = "stats.sqlite"

[portal]
procedure = """
Use the form on the block page, or ask at the desk.
Staff decide within two working days."""
"#;

struct Library {
    _dir: tempfile::TempDir,
    config: PathBuf,
    db: PathBuf,
}

impl Library {
    fn new() -> Library {
        Library::with_config(CONFIG)
    }

    fn with_config(text: &str) -> Library {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("hedge.toml");
        std::fs::write(&config, text).expect("config");
        let db = dir.path().join("stats.sqlite");
        Library {
            _dir: dir,
            config,
            db,
        }
    }

    fn store(&self) -> SqliteStore {
        SqliteStore::open(&self.db).expect("store")
    }

    fn submit(&self, name: &str, contact: Option<&str>) -> i64 {
        self.store()
            .submit_request(
                &NewRequest {
                    name: name.into(),
                    category: Some("games".into()),
                    profile: "child".into(),
                    reason: "a private reason".into(),
                    contact: contact.map(str::to_owned),
                },
                "2026-03-02T10:00:00Z".parse().expect("time"),
            )
            .expect("submit")
            .id
    }

    /// `hedge <args> --config <config>`, as user `alex`.
    fn hedge(&self, args: &[&str]) -> Output {
        Command::new(hedge_bin())
            .args(args)
            .arg("--config")
            .arg(&self.config)
            .env_remove("SUDO_USER")
            .env("USER", "alex")
            .output()
            .expect("run hedge")
    }

    fn ok(&self, args: &[&str]) -> String {
        let o = self.hedge(args);
        assert!(o.status.success(), "{args:?}: {}", text(&o));
        String::from_utf8(o.stdout).expect("utf-8")
    }

    /// Exit status 2, with `message` on standard error.
    fn refused(&self, args: &[&str], message: &str) {
        let o = self.hedge(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        assert!(text(&o).contains(message), "{args:?}: {}", text(&o));
    }

    fn audit_entries(&self) -> usize {
        self.store().audit_log(None, 1000).expect("audit").len()
    }
}

#[test]
fn staff_grant_deny_and_recategorise_from_the_command_line() {
    let lib = Library::new();
    // No file yet: a clear error.
    lib.refused(&["requests", "list"], "no statistics file");
    let games = lib.submit("games.example", Some("pat@example.org"));
    let chat = lib.submit("chat.example", None);
    let other = lib.submit("other.example", None);

    let csv = lib.ok(&["requests", "list", "--status", "open", "--format", "csv"]);
    assert_eq!(csv.lines().count(), 4, "{csv}");
    assert!(
        csv.contains("games.example") && csv.contains(",yes"),
        "{csv}"
    );
    assert!(
        !csv.contains("pat@example.org"),
        "the list never shows contacts: {csv}"
    );
    let show = lib.ok(&["requests", "show", &games.to_string()]);
    assert!(show.contains("pat@example.org"), "{show}");

    // Unknown request, profile or category, a decision without its note: refused, nothing
    // written.
    lib.refused(
        &["requests", "grant", "99", "--profile", "child"],
        "no unblock request #99",
    );
    lib.refused(
        &["requests", "grant", &games.to_string(), "--profile", "teen"],
        "no profile `teen`",
    );
    lib.refused(
        &[
            "requests",
            "grant",
            &games.to_string(),
            "--profile",
            "child",
            "--until",
            "soon",
        ],
        "--until \"soon\"",
    );
    lib.refused(
        &[
            "requests",
            "recategorise",
            "x.example",
            "--category",
            "gamez",
        ],
        "no category `gamez`",
    );
    lib.refused(
        &["requests", "deny", &chat.to_string(), "--note", " "],
        "needs a note",
    );
    assert_eq!(lib.audit_entries(), 0);
    assert_eq!(
        lib.store().request(games).expect("games").status,
        RequestStatus::Open
    );

    // Decisions.
    let out = lib.ok(&[
        "requests",
        "grant",
        &games.to_string(),
        "--profile",
        "child",
        "--profile",
        "adult",
        "--until",
        "7d",
        "--note",
        "homework",
        "--as",
        "Sam Librarian",
    ]);
    assert!(
        out.contains("granted") && out.contains("games.example"),
        "{out}"
    );
    lib.refused(
        &["requests", "deny", &games.to_string(), "--note", "no"],
        "is granted, not open",
    );
    lib.ok(&[
        "requests",
        "deny",
        &chat.to_string(),
        "--note",
        "not for children",
    ]);
    lib.ok(&["requests", "withdraw", &other.to_string()]);
    let into = lib.ok(&[
        "requests",
        "recategorise",
        "Quiz.Example",
        "--category",
        "games",
    ]);
    assert_eq!(into, "quiz.example is now in games for every profile\n");
    let out_of = lib.ok(&[
        "requests",
        "recategorise",
        "maths.example",
        "--category",
        "games",
        "--remove",
    ]);
    assert_eq!(
        out_of,
        "maths.example is now out of games for every profile\n"
    );

    // `explain` decides as `serve` does, with the staff's decisions.
    let explain =
        |profile: &str, name: &str| lib.ok(&["explain", "--offline", "--profile", profile, name]);
    let granted = explain("child", "games.example");
    assert!(
        granted.contains("allowed")
            && granted.contains("grant: `games.example` allowed for this profile by staff")
            && granted.contains(&format!("unblock request {games}")),
        "{granted}"
    );
    let into = explain("child", "www.quiz.example");
    assert!(
        into.contains("blocked")
            && into.contains("local recategorisation: `quiz.example` put into category `games`"),
        "{into}"
    );
    assert!(explain("adult", "www.quiz.example").contains("allowed"));

    // `report changes` lists them beside the list compilations.
    let month = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .strftime("%Y-%m")
        .to_string();
    let changes = lib.ok(&[
        "report", "changes", "--from", &month, "--to", &month, "--format", "csv",
    ]);
    assert!(
        changes.contains(",\"local, by alex\",games,added,quiz.example,,")
            && changes.contains(",\"local, by alex\",games,removed,maths.example,,"),
        "{changes}"
    );

    let audit = lib.ok(&["requests", "audit", "--format", "csv"]);
    let actors: Vec<&str> = audit
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).expect("staff column"))
        .collect();
    assert_eq!(
        actors,
        ["Sam Librarian", "alex", "alex", "alex", "alex"],
        "{audit}"
    );

    // The live policy says how to ask and what staff decided.
    let policy = lib.ok(&["policy", "show"]);
    assert!(
        policy.contains("## How to ask for a blocked site")
            && policy.contains("Staff decide within two working days."),
        "{policy}"
    );
    assert!(
        policy.contains("- `games.example` on `child`: allowed until ")
            && policy.contains("- `games.example` on `adult`: allowed until "),
        "{policy}"
    );
    assert!(
        policy.contains("- `quiz.example`: into games (by alex")
            && policy.contains("- `maths.example`: out of games"),
        "{policy}"
    );
    let csv = lib.ok(&["policy", "show", "--format", "csv", "--profile", "adult"]);
    assert!(
        csv.contains("adult,grant,games.example,\"allowed until"),
        "{csv}"
    );
    assert!(!csv.contains("child,grant"), "{csv}");
    let json = lib.ok(&["policy", "show", "--format", "json"]);
    let profiles: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(profiles[0]["grants"][0]["name"], "games.example");
    assert_eq!(profiles[0]["recategorised"][1]["name"], "quiz.example");

    // Revoking ends the grant now.
    let grant = lib
        .store()
        .active_overrides(jiff::Timestamp::now())
        .expect("o")
        .grants[0]
        .id;
    lib.ok(&["requests", "revoke", &grant.to_string()]);
    lib.refused(&["requests", "revoke", &grant.to_string()], "no live grant");
}

#[test]
fn the_export_names_sites_and_decisions_but_never_who_asked() {
    let lib = Library::new();
    let popular = lib.submit("popular.example", Some("pat@example.org"));
    for _ in 0..11 {
        lib.submit("popular.example", None);
    }
    let rare = lib.submit("rare.example", Some("kim@example.org"));
    lib.ok(&[
        "requests",
        "grant",
        &popular.to_string(),
        "--profile",
        "child",
        "--as",
        "sam",
    ]);
    lib.ok(&[
        "requests",
        "deny",
        &rare.to_string(),
        "--note",
        "no",
        "--as",
        "sam",
    ]);

    let export = |extra: &[&str]| {
        let mut args = vec!["requests", "export", "--from", "2026-01", "--to", "2026-12"];
        args.extend_from_slice(extra);
        lib.ok(&args)
    };
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
        .to_string();
    let csv = export(&["--format", "csv"]);
    assert_eq!(
        csv,
        format!(
            "name,category,profile,requests,decision,decided\n\
             popular.example,games,child,12,granted,{today}\n\
             rare.example,games,child,1,denied,{today}\n\
             (total),,,12,granted,\n\
             (total),,,1,denied,\n\
             (total),,,13,all,\n"
        )
    );
    for format in ["csv", "markdown", "json", "table"] {
        let out = export(&["--format", format]);
        for secret in [
            "pat@example.org",
            "kim@example.org",
            "a private reason",
            "sam",
        ] {
            assert!(!out.contains(secret), "{format}: {secret} in {out}");
        }
    }
    let suppressed = export(&["--format", "markdown", "--suppress-below", "5"]);
    assert!(!suppressed.contains("rare.example"), "{suppressed}");
    assert!(
        suppressed.contains("| (names asked for fewer than 5 times) |  |  | <5 | denied |  |"),
        "{suppressed}"
    );
    assert!(
        suppressed.contains("| popular.example | games | child | [c] | granted |"),
        "the granted total would give the denied count away: {suppressed}"
    );
    let none = lib.ok(&[
        "requests", "export", "--from", "2026-01", "--to", "2026-02", "--format", "csv",
    ]);
    assert_eq!(
        none,
        "name,category,profile,requests,decision,decided\n(total),,,0,all,\n"
    );
}

#[test]
fn policy_show_gives_the_procedure_in_every_format() {
    let lib = Library::new();
    let procedure = "Use the form on the block page, or ask at the desk.\nStaff decide within two working days.";
    let json: serde_json::Value =
        serde_json::from_str(&lib.ok(&["policy", "show", "--format", "json"])).expect("json");
    let profiles = json.as_array().expect("an array of profiles");
    assert_eq!(profiles.len(), 2, "{json}");
    for p in profiles {
        assert_eq!(p["procedure"], procedure, "{p}");
    }
    let csv = lib.ok(&["policy", "show", "--format", "csv"]);
    for profile in ["child", "adult"] {
        assert!(
            csv.contains(&format!("\n{profile},procedure,\"{procedure}\",\n")),
            "{csv}"
        );
    }
}

/// The categories `policy show` lists are the published policy: the same whether a schedule
/// is in force at this moment or not, with the schedules listed on their own.
#[test]
fn policy_show_lists_the_same_categories_whether_a_schedule_is_in_force_or_not() {
    let days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .weekday()
        .to_monday_zero_offset() as usize;
    // Every day all day: in force now. Only on another day: not in force now.
    let show = |days: &str| {
        let lib = Library::with_config(&format!(
            "timezone = \"UTC\"\n\
             [[profile]]\nname = \"child\"\nblock = [\"games\"]\n\
             [[profile.schedule]]\nname = \"evenings\"\ndays = [{days}]\nfrom = \"00:00\"\nto = \"24:00\"\nblock = [\"gambling\"]\n\
             [[listener]]\nprofile = \"child\"\nbind = [\"127.0.0.1:5399\"]\nallow = [\"127.0.0.0/8\"]\n\
             [stats]\npath = \"stats.sqlite\"\n"
        ));
        let json: serde_json::Value =
            serde_json::from_str(&lib.ok(&["policy", "show", "--format", "json"])).expect("json");
        let csv = lib.ok(&["policy", "show", "--format", "csv"]);
        (json[0].clone(), csv)
    };
    let (in_force, in_force_csv) = show(&format!("\"{}\"", days.join("\", \"")));
    let (not_in_force, not_in_force_csv) = show(&format!("\"{}\"", days[(today + 3) % 7]));
    assert_eq!(in_force["categories"], not_in_force["categories"]);
    assert_eq!(in_force["schedules"][0]["in_force_now"], true, "{in_force}");
    assert_eq!(
        not_in_force["schedules"][0]["in_force_now"], false,
        "{not_in_force}"
    );
    let ids: Vec<&str> = in_force["categories"]
        .as_array()
        .expect("categories")
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert!(
        ids.contains(&"games") && !ids.contains(&"gambling"),
        "{ids:?}"
    );
    let category_rows = |csv: &str| -> Vec<String> {
        csv.lines()
            .filter(|l| l.starts_with("child,category,"))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(
        category_rows(&in_force_csv),
        category_rows(&not_in_force_csv)
    );
    assert!(
        in_force_csv.contains("child,schedule,") && in_force_csv.contains("block gambling"),
        "{in_force_csv}"
    );
}

/// `hedge <args>` with `input` on standard input.
fn hedge_with_stdin(lib: &Library, args: &[&str], input: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(hedge_bin())
        .args(args)
        .arg("--config")
        .arg(&lib.config)
        .env_remove("SUDO_USER")
        .env("USER", "alex")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run hedge");
    // hedge may refuse its arguments and exit before it reads a byte: a closed pipe is
    // then its answer, not the test's failure.
    let written = child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes());
    if let Err(e) = written {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "write: {e}");
    }
    child.wait_with_output().expect("wait")
}

#[test]
fn staff_accounts_from_the_command_line_are_hashed_and_audited() {
    let lib = Library::new();
    let add = &["staff", "add", "sam", "--password-stdin"];
    let o = hedge_with_stdin(&lib, add, "a long staff password\n");
    assert!(o.status.success(), "{}", text(&o));
    // Twice, a short password, a bad name, no terminal and no --password-stdin: refused.
    let o = hedge_with_stdin(&lib, add, "a long staff password\n");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("exists already"), "{}", text(&o));
    let o = hedge_with_stdin(
        &lib,
        &["staff", "add", "kim", "--password-stdin"],
        "short\n",
    );
    assert!(text(&o).contains("10 characters"), "{}", text(&o));
    let o = hedge_with_stdin(&lib, &["staff", "add", "<b>", "--password-stdin"], "x\n");
    assert!(text(&o).contains("staff name"), "{}", text(&o));
    lib.refused(&["staff", "add", "kim"], "--password-stdin");

    let list = lib.ok(&["staff", "list"]);
    assert!(
        list.starts_with("sam\t") && list.contains("active"),
        "{list}"
    );
    let o = hedge_with_stdin(
        &lib,
        &["staff", "passwd", "sam", "--password-stdin"],
        "another long password\n",
    );
    assert!(o.status.success(), "{}", text(&o));
    let accepted = lib
        .store()
        .staff_login(
            "sam",
            "another long password",
            hedge_stats::staff::Lockout::default(),
            jiff::Timestamp::now(),
        )
        .expect("login");
    assert_eq!(accepted, hedge_stats::staff::Login::Accepted);
    lib.ok(&["staff", "remove", "sam"]);
    lib.refused(&["staff", "remove", "sam"], "no staff account");
    let actions: Vec<String> = lib
        .store()
        .audit_log(None, 100)
        .expect("audit")
        .into_iter()
        .map(|e| format!("{} {}", e.actor, e.action))
        .collect();
    assert_eq!(
        actions,
        [
            "alex staff-add",
            "alex staff-passwd",
            "sam login",
            "alex staff-remove"
        ]
    );
}
