//! The man pages and shell completions that `hedge generate` writes for the package
//! (deploy/build-package.sh): every page renders without a warning, and every completion
//! script parses in its shell. The tools are needed, not optional: a missing one fails the
//! test (.ci/run installs man-db, groff-base, zsh and fish).

mod support;

use std::path::Path;
use std::process::{Command, Output};

use support::hedge_bin;

fn generate(what: &str, out: &Path) {
    let o = Command::new(hedge_bin())
        .args(["generate", what, "--out"])
        .arg(out)
        .output()
        .expect("run hedge");
    assert!(o.status.success(), "hedge generate {what}: {o:?}");
}

/// Runs a tool the test needs; its absence is a failure with the package to install.
fn tool(program: &str, args: &[&str], file: &Path, package: &str) -> Output {
    Command::new(program)
        .args(args)
        .arg(file)
        .env("MANWIDTH", "80")
        .env("MANPAGER", "cat")
        .output()
        .unwrap_or_else(|e| panic!("{program} ({e}): apt-get install {package}"))
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn one_man_page_per_command_renders_without_warnings() {
    let dir = tempfile::tempdir().expect("tempdir");
    generate("man", dir.path());
    let mut pages: Vec<String> = std::fs::read_dir(dir.path())
        .expect("read the pages")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    for page in [
        "hedge.1",
        "hedge-serve.1",
        "hedge-check-config.1",
        "hedge-lists-update.1",
        "hedge-policy-show.1",
    ] {
        assert!(pages.iter().any(|p| p == page), "{page} missing: {pages:?}");
    }
    assert!(
        !pages.iter().any(|p| p.contains("generate")),
        "the hidden command has no page: {pages:?}"
    );
    for page in &pages {
        let path = dir.path().join(page);
        // As man renders it: -k reads UTF-8 (the help text has → and …); -ww: every
        // warning; -z: the parse alone, no output.
        let o = tool(
            "groff",
            &["-k", "-man", "-Tutf8", "-ww", "-z"],
            &path,
            "groff-base",
        );
        assert!(
            o.status.success() && o.stderr.is_empty(),
            "{page}: {}",
            stderr(&o)
        );
    }
    let serve = dir.path().join("hedge-serve.1");
    let o = tool("man", &["--warnings", "-l"], &serve, "man-db");
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success() && o.stderr.is_empty(),
        "man -l: {}",
        stderr(&o)
    );
    assert!(
        text.contains("hedge-serve") && text.contains("--config") && text.contains("SIGHUP"),
        "man -l hedge-serve.1 printed:\n{text}"
    );
}

#[test]
fn completions_parse_in_bash_zsh_and_fish() {
    let dir = tempfile::tempdir().expect("tempdir");
    generate("completions", dir.path());
    for (shell, file, package) in [
        ("bash", "hedge.bash", "bash"),
        ("zsh", "_hedge", "zsh"),
        ("fish", "hedge.fish", "fish"),
    ] {
        let o = tool(shell, &["-n"], &dir.path().join(file), package);
        assert!(
            o.status.success() && o.stderr.is_empty(),
            "{shell} -n {file}: {}",
            stderr(&o)
        );
    }
    // Parsing is not enough for bash: sourcing it must register the completion for `hedge`.
    let o = Command::new("bash")
        .arg("-c")
        .arg("source \"$1\" && complete -p hedge")
        .arg("bash")
        .arg(dir.path().join("hedge.bash"))
        .output()
        .expect("run bash");
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success() && text.contains("hedge"),
        "complete -p hedge: {text}{}",
        stderr(&o)
    );
}
