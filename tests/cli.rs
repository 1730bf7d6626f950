//! The `hedge` command line: config corpus, list compile/verify/lookup, corrupt indexes.

mod support;

use std::path::Path;
use std::process::{Command, Output};

use support::*;

fn hedge(args: &[&str]) -> Output {
    run_hedge(args)
}

#[test]
fn every_good_config_passes_and_every_bad_one_fails_with_its_message() {
    let corpus = repo().join("tests/configs");
    let mut good = vec![
        repo().join("deploy/hedge.toml"),
        repo().join("deploy/hedge-minimal.toml"),
    ];
    good.extend(
        std::fs::read_dir(corpus.join("good"))
            .expect("good/")
            .map(|e| e.expect("entry").path()),
    );
    for path in good {
        let o = hedge(&["check-config", path.to_str().expect("utf-8")]);
        assert!(o.status.success(), "{}: {}", path.display(), text(&o));
        assert!(text(&o).contains("ok: "), "{}", text(&o));
        for warning in std::fs::read_to_string(&path)
            .expect("read")
            .lines()
            .filter_map(|l| l.strip_prefix("# warns: "))
        {
            assert!(
                text(&o).contains(&format!("warning: {warning}")),
                "{}: expected the warning {warning:?} in:\n{}",
                path.display(),
                text(&o)
            );
        }
    }
    let mut bad = 0;
    for entry in std::fs::read_dir(corpus.join("bad")).expect("bad/") {
        let path = entry.expect("entry").path();
        let first = std::fs::read_to_string(&path)
            .expect("read")
            .lines()
            .next()
            .unwrap_or("")
            .to_string();
        let expect = first
            .strip_prefix("# expect: ")
            .unwrap_or_else(|| panic!("{}: first line must be `# expect: …`", path.display()));
        let o = hedge(&["check-config", path.to_str().expect("utf-8")]);
        assert_eq!(o.status.code(), Some(2), "{}: {}", path.display(), text(&o));
        assert!(
            text(&o).contains(expect),
            "{}: expected {expect:?} in:\n{}",
            path.display(),
            text(&o)
        );
        bad += 1;
    }
    assert!(bad >= 15);
}

/// check-config of the shipped hedge.toml warned that 6 UDP addresses × 4096 upstream
/// sockets might not fit a shell's hard limit (20000; 4096 here), while hedge.service, which
/// runs it, sets LimitNOFILE=65536. By hand it counts the unit's limit and only notes the shell's;
/// under systemd (the unit's ExecStartPre, INVOCATION_ID set) its own limit is the service's.
#[test]
fn check_config_of_the_shipped_file_counts_the_units_fd_limit() {
    let config = repo().join("deploy/hedge.toml");
    let check = |invocation_id: Option<&str>| {
        let mut c = Command::new("sh");
        c.args(["-c", "ulimit -n 4096 && exec \"$@\"", "sh", hedge_bin()])
            .arg("check-config")
            .arg(&config)
            .env("HEDGE_LOG", "warn")
            .env_remove("INVOCATION_ID");
        if let Some(id) = invocation_id {
            c.env("INVOCATION_ID", id);
        }
        let o = c.output().expect("run hedge");
        assert!(o.status.success(), "{}", text(&o));
        text(&o)
    };
    let fd_warning = |said: &str| {
        said.lines()
            .any(|l| l.starts_with("warning:") && l.contains("RLIMIT_NOFILE"))
    };
    let by_hand = check(None);
    assert!(!fd_warning(&by_hand), "{by_hand}");
    assert!(
        by_hand.contains("note: file descriptors checked against LimitNOFILE=65536")
            && by_hand.contains("server.udp_in_flight"),
        "{by_hand}"
    );
    let under_systemd = check(Some("0123456789abcdef0123456789abcdef"));
    assert!(fd_warning(&under_systemd), "{under_systemd}");
}

/// Writes `dir/name`: profile `adult` with `profile_keys`, one loopback listener, then `rest`.
fn one_listener_config(dir: &Path, name: &str, profile_keys: &str, rest: &str) -> String {
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!(
            "[[profile]]\nname = \"adult\"\n{profile_keys}\n\
             [[listener]]\nprofile = \"adult\"\nbind = [\"127.0.0.1:15353\"]\nallow = [\"127.0.0.0/8\"]\n\n{rest}"
        ),
    )
    .expect("config");
    path.to_str().expect("utf-8").to_string()
}

/// The summary line speaks the configuration's words (`upstream recursive`, as
/// `mode = "recursive"`), in the singular for one.
#[test]
fn check_config_summary_counts_in_plain_words() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = one_listener_config(
        dir.path(),
        "hedge.toml",
        "block = [\"gambling\"]\n",
        "[upstream]\nmode = \"forward\"\nservers = [{ address = \"127.0.0.1\" }]\n\n\
         [metrics]\nlisten = \"0.0.0.0:9153\"\n",
    );
    let o = hedge(&["check-config", &config]);
    assert!(o.status.success(), "{}", text(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    let summary = stdout.lines().last().unwrap_or("");
    assert!(
        summary.starts_with("ok: 1 profile, 1 listener, index ")
            && summary.ends_with("), upstream forward; 1 warning"),
        "{stdout}"
    );

    let o = hedge(&["check-config"]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    let summary = stdout.lines().last().unwrap_or("");
    assert!(
        summary.starts_with("ok: 3 profiles, 3 listeners, index ")
            && summary.ends_with("), upstream recursive; 1 warning"),
        "{stdout}"
    );
}

/// The "Start here" commands of `hedge --help` line their descriptions up in one column.
#[test]
fn help_start_here_is_one_column() {
    let o = hedge(&["--help"]);
    let help = String::from_utf8_lossy(&o.stdout).to_string();
    let commands: Vec<&str> = help
        .lines()
        .skip_while(|l| *l != "Start here:")
        .skip(1)
        .take_while(|l| l.starts_with("  hedge "))
        .collect();
    assert!(commands.len() >= 4, "{help}");
    let column = |l: &str| {
        l.find("  ")
            .map(|i| i + l[i..].len() - l[i..].trim_start().len())
    };
    let columns: Vec<Option<usize>> = commands.iter().map(|l| column(l.trim_start())).collect();
    assert!(
        columns.iter().all(|c| c.is_some() && *c == columns[0]),
        "{columns:?}\n{}",
        commands.join("\n")
    );
}

/// `check-config` finds the file as every other command does, not only as its argument:
/// `--config FILE`, `-c FILE` and `HEDGE_CONFIG` check that file, and the argument wins.
#[test]
fn check_config_takes_the_file_as_the_other_commands_do() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = one_listener_config(dir.path(), "bad.toml", "block = [\"gamblin\"]\n", "");
    let bad = bad.as_str();
    let refused =
        |o: &Output| o.status.code() == Some(2) && text(o).contains("unknown category `gamblin`");
    for args in [
        &["check-config", "--config", bad][..],
        &["check-config", "-c", bad],
    ] {
        let o = hedge(args);
        assert!(refused(&o), "{args:?}: {}", text(&o));
    }
    let from_env = |args: &[&str]| {
        Command::new(hedge_bin())
            .args(args)
            .env("HEDGE_CONFIG", bad)
            .output()
            .expect("run hedge")
    };
    let o = from_env(&["check-config"]);
    assert!(refused(&o), "HEDGE_CONFIG: {}", text(&o));
    // The argument beats the environment (hedge.service names its file).
    let good = one_listener_config(dir.path(), "good.toml", "", "");
    let o = from_env(&["check-config", &good]);
    assert!(o.status.success(), "{}", text(&o));
}

/// The warnings of a check-config run, one per line.
fn warnings(o: &Output) -> Vec<String> {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter(|l| l.starts_with("warning: "))
        .map(str::to_string)
        .collect()
}

/// A first start (`hedge serve`, no --config) was 13 warnings: three loopback listener
/// overlaps that matter on no host, two unenforceable URLs put there to show the warning,
/// and a line per profile and category. Now: the one real thing, in one line that names the
/// key and says what to do.
#[test]
fn the_builtin_config_warns_once_and_only_about_what_is_real() {
    let o = hedge(&["check-config"]);
    assert!(o.status.success(), "{}", text(&o));
    let w = warnings(&o);
    assert_eq!(
        w,
        [
            "warning: 3 blocked categories have no list in the index, so they block nothing until a list supplies them (a source in sources.toml, or a custom list): `extended-protection/elevated-exposure`, `extended-protection/emerging-exploits`, `information-technology/parked-domain` (key `block` of profiles `adult`, `child`)"
        ],
        "{}",
        text(&o)
    );
}

/// The shipped config keeps its real warnings, each kind in one line naming every file:line.
#[test]
fn the_deploy_config_warns_once_per_kind_naming_each_entry() {
    let config = repo().join("deploy/hedge.toml");
    let o = hedge(&["check-config", config.to_str().expect("utf-8")]);
    assert!(o.status.success(), "{}", text(&o));
    let adult = repo().join("deploy/custom/adult.txt");
    let adult = adult.display();
    assert_eq!(
        warnings(&o),
        [
            format!("warning: 2 entries have a path, which DNS cannot see (it sees only the host), so they were not listed: {adult}:16 \"go.sky.com/vod/page/tvlistings.do\", {adult}:21 \"news.sky.com/#watchlive\"; to block one, list its whole host"),
            "warning: 1 blocked category has no list in the index, so it blocks nothing until a list supplies it (a source in sources.toml, or a custom list): `information-technology/parked-domain` (key `block` of profiles `adult`, `child`)".to_string(),
        ],
        "{}",
        text(&o)
    );
}

/// Listeners of two profiles that both allow loopback are no way round the filter (a
/// loopback client is on the hedge host); the same overlap on a LAN subnet is.
#[test]
fn only_overlapping_subnets_off_the_host_are_warned_about() {
    let dir = tempfile::tempdir().expect("tempdir");
    let two = |allow_a: &str, allow_b: &str| {
        let path = dir.path().join("two.toml");
        std::fs::write(
            &path,
            format!(
                "[[profile]]\nname = \"adult\"\n\n[[profile]]\nname = \"child\"\n\n\
                 [[listener]]\nprofile = \"adult\"\nbind = [\"127.0.0.1:15353\"]\nallow = [{allow_a}]\n\n\
                 [[listener]]\nprofile = \"child\"\nbind = [\"127.0.0.2:15353\"]\nallow = [{allow_b}]\n"
            ),
        )
        .expect("config");
        let o = hedge(&["check-config", path.to_str().expect("utf-8")]);
        assert!(o.status.success(), "{}", text(&o));
        warnings(&o)
    };
    assert_eq!(
        two(
            "\"127.0.0.0/8\", \"::1/128\"",
            "\"127.0.0.2/32\", \"::1/128\""
        ),
        Vec::<String>::new()
    );
    assert_eq!(
        two(
            "\"127.0.0.0/8\", \"10.0.0.0/8\"",
            "\"127.0.0.0/8\", \"10.1.0.0/16\""
        ),
        [
            "warning: listener 2 (`child`) allows 10.1.0.0/16 and listener 1 (`adult`) allows 10.0.0.0/8: clients in both can pick the less filtered profile by choosing its server"
        ]
    );
}

fn write_manifest(dir: &Path) {
    let data = repo().join("crates/lists/tests/data");
    std::fs::write(
        dir.join("sources.toml"),
        format!(
            r#"
[[source]]
name = "ut1"
format = "ut1"
path = "{data}/ut1"
[source.categories]
gambling = ["gambling"]
dating = ["society-and-lifestyles/personals-and-dating"]
doh = ["information-technology/encrypted-dns-resolvers"]

[[source]]
name = "blp"
format = "hosts"
path = "{data}/blocklistproject-gambling.txt"
category = ["gambling"]

[[source]]
name = "bad"
format = "plain"
path = "{data}/bad-lines.txt"
category = ["violence"]
"#,
            data = data.display()
        ),
    )
    .expect("manifest");
}

#[test]
fn compile_verify_lookup_and_corrupt_indexes() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_manifest(dir.path());
    let index = dir.path().join("x.hidx");
    let o = lists_compile(&dir.path().join("sources.toml"), &index, &[]);
    assert!(o.status.success(), "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("wrote ") && t.contains("names"), "{t}");
    assert!(t.contains("bad-lines.txt:"), "warnings name file:line: {t}");
    assert!(
        t.contains("sub-lists not named"),
        "skipped sub-lists are noticed: {t}"
    );
    assert!(
        t.contains("cannot be enforced by DNS"),
        "UT1 urls entries are counted and explained: {t}"
    );

    let o = hedge(&["lists", "verify", index.to_str().expect("utf-8")]);
    assert!(
        o.status.success() && text(&o).contains(": ok"),
        "{}",
        text(&o)
    );

    // tsv lookup of names from the UT1 snippet.
    let first_dating =
        std::fs::read_to_string(repo().join("crates/lists/tests/data/ut1/dating/domains"))
            .expect("snippet");
    let dating = first_dating
        .lines()
        .find(|l| !l.starts_with('#') && !l.is_empty())
        .expect("a name")
        .to_string();
    let o = hedge(&[
        "lookup",
        "--index",
        index.to_str().expect("utf-8"),
        "--format",
        "tsv",
        &format!("www.{dating}"),
        "not-listed.example",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "name\tmatched\tcategories\tsources");
    assert_eq!(
        lines[1],
        format!("www.{dating}\t{dating}\tsociety-and-lifestyles/personals-and-dating\tut1/dating")
    );
    assert_eq!(lines[2], "not-listed.example\t-\t-\t-");

    // Names from standard input.
    let mut child = Command::new(hedge_bin())
        .args([
            "lookup",
            "--index",
            index.to_str().expect("utf-8"),
            "--format",
            "json",
            "-",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{dating}\nexample.org\n").as_bytes())
        .expect("write");
    let o = child.wait_with_output().expect("wait");
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(
        out.lines().next().expect("line").contains("\"matched\":\""),
        "{out}"
    );

    // Corruptions are refused with a message that says what to do, never a panic.
    let bytes = std::fs::read(&index).expect("read");
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("truncated", bytes[..bytes.len() / 2].to_vec()),
        ("flipped", {
            let mut b = bytes.clone();
            let i = b.len() / 2;
            b[i] ^= 0x55;
            b
        }),
        ("version", {
            let mut b = bytes.clone();
            b[8] = 99;
            b
        }),
        ("not an index", b"hello world, not an index at all".to_vec()),
        ("empty", Vec::new()),
    ];
    for (what, corrupt) in cases {
        let path = dir.path().join("corrupt.hidx");
        std::fs::write(&path, corrupt).expect("write");
        let o = hedge(&["lists", "verify", path.to_str().expect("utf-8")]);
        assert_eq!(o.status.code(), Some(1), "{what}: {}", text(&o));
        let t = text(&o);
        assert!(
            t.contains("rebuild it with `hedge lists compile`"),
            "{what}: {t}"
        );
        assert!(!t.contains("panicked"), "{what}: {t}");
    }
}

#[test]
fn a_failed_compile_leaves_the_old_index_in_place() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_manifest(dir.path());
    let index = dir.path().join("x.hidx");
    std::fs::write(&index, b"previous").expect("write");
    std::fs::write(
        dir.path().join("broken.toml"),
        "[[source]]\nname = \"gone\"\nformat = \"plain\"\npath = \"missing.txt\"\nurl = \"https://example.org/list.txt\"\ncategory = [\"gambling\"]\n",
    )
    .expect("manifest");
    let o = lists_compile(&dir.path().join("broken.toml"), &index, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("download https://example.org/list.txt"),
        "{}",
        text(&o)
    );
    assert_eq!(std::fs::read(&index).expect("read"), b"previous");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .expect("dir")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn explain_prints_the_chain() {
    let o = hedge(&["explain", "--profile", "child", "www.bet365.com"]);
    assert!(o.status.success(), "{}", text(&o));
    let t = String::from_utf8_lossy(&o.stdout);
    assert!(t.contains("www.bet365.com A: blocked"), "{t}");
    assert!(t.contains("profile `child` (inherits adult)"), "{t}");
    assert!(t.contains("category `gambling` is blocked"), "{t}");
    assert!(t.contains("source lists: starter-gambling"), "{t}");
    let o = hedge(&["explain", "--profile", "nobody", "x.com"]);
    assert_eq!(o.status.code(), Some(2));
}

/// Writes `list` as the single source `feed` (category gambling) and compiles it to
/// `dir/x.hidx` with `extra` arguments.
fn compile_one(dir: &Path, format: &str, list: &[u8], extra: &[&str]) -> Output {
    let args = [&["--stats-db", "-"], extra].concat();
    compile_one_source(dir, format, list, &dir.join("x.hidx"), &args)
}

fn names(n: usize) -> Vec<u8> {
    (0..n)
        .map(|i| format!("bet{i}.example\n"))
        .collect::<String>()
        .into_bytes()
}

#[test]
fn a_source_that_gives_no_names_fails_the_compile_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let feed = dir.path().join("feed.txt").display().to_string();
    let cases: [(&str, &str, &[u8]); 4] = [
        ("0-byte file", "plain", b""),
        ("HTML error page", "plain", b"<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head>\n<body><h1>Not Found</h1></body></html>\n"),
        ("hosts file declared as adblock", "adblock", b"0.0.0.0 bet1.example\n0.0.0.0 bet2.example\n"),
        ("adblock list declared as hosts", "hosts", b"||bet1.example^\n||bet2.example^\n"),
    ];
    for (what, format, list) in cases {
        let o = compile_one(dir.path(), format, list, &[]);
        let t = text(&o);
        assert_eq!(o.status.code(), Some(1), "{what}: {t}");
        assert!(
            t.contains(&format!("{feed}: source `feed`: no names")),
            "{what}: the error names the source and its path: {t}"
        );
        assert!(
            !dir.path().join("x.hidx").exists(),
            "{what}: no index written"
        );
    }
    // The count of every source is printed.
    let o = compile_one(dir.path(), "plain", &names(3), &[]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains(&format!("source feed: 3 names from {feed}")),
        "{}",
        text(&o)
    );
}

/// One of a thing is `1 name`, not `1 names`.
#[test]
fn compile_and_verify_say_one_name_in_the_singular() {
    let dir = tempfile::tempdir().expect("tempdir");
    let o = compile_one(dir.path(), "plain", &names(1), &[]);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    let feed = dir.path().join("feed.txt");
    assert!(
        t.contains(&format!("source feed: 1 name from {}", feed.display())),
        "{t}"
    );
    assert!(t.contains(": 1 name, 1 label set, "), "{t}");
    let index = dir.path().join("x.hidx");
    let o = hedge(&["lists", "verify", index.to_str().expect("utf-8")]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains(" 1 name, 1 label set, "), "{}", text(&o));
}

/// `lists verify` lines its columns up however long a source's name (it assumed 18
/// characters at most); `lists history` writes 1,201 as people read it in a table, and as
/// a program reads it in CSV.
#[test]
fn verify_columns_fit_long_source_names_and_history_separates_thousands() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("one.txt"), "bet.example\n").expect("list");
    std::fs::write(
        dir.path().join("sources.toml"),
        "[[source]]\nname = \"a\"\nformat = \"plain\"\npath = \"one.txt\"\ncategory = [\"gambling\"]\n\n\
         [[source]]\nname = \"a-source-with-a-long-name\"\nformat = \"hosts\"\npath = \"many.txt\"\n\
         category = [\"gambling\"]\n",
    )
    .expect("manifest");
    std::fs::write(
        dir.path().join("many.txt"),
        (0..1200)
            .map(|i| format!("0.0.0.0 bet{i}.example\n"))
            .collect::<String>(),
    )
    .expect("list");
    let index = dir.path().join("x.hidx");
    let o = lists_compile(
        &dir.path().join("sources.toml"),
        &index,
        &["--stats-db", "-"],
    );
    assert!(o.status.success(), "{}", text(&o));
    let index = index.to_str().expect("utf-8");
    let o = hedge(&["lists", "verify", index]);
    assert!(o.status.success(), "{}", text(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    let columns: Vec<(Option<usize>, Option<usize>)> = stdout
        .lines()
        .filter(|l| l.starts_with("  source "))
        .map(|l| (l.find(" plain ").or(l.find(" hosts ")), l.find(" sha256:")))
        .collect();
    assert_eq!(columns.len(), 2, "{stdout}");
    assert!(
        columns[0] == columns[1] && columns[0].0.is_some(),
        "the format and digest columns line up: {stdout}"
    );

    let history = |format: &str| {
        let o = hedge(&["lists", "history", "--out", index, "--format", format]);
        assert!(o.status.success(), "{}", text(&o));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let table = history("table");
    assert!(table.contains("| 1,201 "), "{table}");
    let csv = history("csv");
    assert!(csv.contains(",1201,"), "{csv}");
}

#[test]
fn a_category_that_shrinks_past_the_limit_keeps_the_old_index() {
    let dir = tempfile::tempdir().expect("tempdir");
    let index = dir.path().join("x.hidx");
    let o = compile_one(dir.path(), "plain", &names(10), &[]);
    assert!(o.status.success(), "{}", text(&o));
    let before = std::fs::read(&index).expect("index");

    // 10 -> 4 names is a 60% loss: refused, the old index byte for byte in place.
    let o = compile_one(dir.path(), "plain", &names(4), &[]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(
        t.contains("category `gambling` would shrink from 10 to 4 names")
            && t.contains("feed (")
            && t.contains("10 -> 4 names")
            && t.contains("--allow-shrink"),
        "names the category, the source and both counts: {t}"
    );
    assert_eq!(
        std::fs::read(&index).expect("index"),
        before,
        "old index untouched"
    );

    // Within the limit, or with --allow-shrink, the new index is written.
    let o = compile_one(dir.path(), "plain", &names(4), &["--max-shrink", "70"]);
    assert!(o.status.success(), "{}", text(&o));
    let o = compile_one(dir.path(), "plain", &names(1), &["--allow-shrink"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("would shrink from 4 to 1 names"),
        "warned: {}",
        text(&o)
    );
    let o = hedge(&[
        "lists",
        "stats",
        index.to_str().expect("utf-8"),
        "--format",
        "csv",
    ]);
    assert!(text(&o).contains("category,gambling,1"), "{}", text(&o));
}

#[test]
fn compile_into_a_missing_folder_fails_before_the_work_with_one_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_manifest(dir.path());
    let missing = dir.path().join("no-such-folder");
    let out = missing.join("x.hidx");
    let o = lists_compile(&dir.path().join("sources.toml"), &out, &[]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert_eq!(
        t.trim(),
        format!(
            "error: cannot write the index {}: folder {} does not exist; create it or choose another --out",
            out.display(),
            missing.display()
        ),
        "one message, before any source is read"
    );
}

/// `hedge lists verify | head -1` panicked ("failed printing to stdout: Broken pipe", exit
/// 101). A command whose reader has gone ends quietly, as coreutils do: killed by SIGPIPE
/// (141 in a shell), or exit 0, and never a panic.
#[test]
fn a_command_whose_stdout_is_closed_ends_quietly() {
    let dir = tempfile::tempdir().expect("tempdir");
    assert!(
        compile_one(dir.path(), "plain", &names(50), &[])
            .status
            .success()
    );
    let index = dir.path().join("x.hidx");
    let index = index.to_str().expect("utf-8");
    let commands: [&[&str]; 4] = [
        &["lists", "verify", index],
        &["lists", "stats", index],
        &["lists", "diff", index, index],
        &["policy", "show"],
    ];
    for args in commands {
        assert_quiet_on_a_closed_stdout(args);
    }
}
