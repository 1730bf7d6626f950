//! `hedge policy diff`: what a new configuration would change, before it is put in place.
//!
//! Both configurations are checked as `serve` would, against one index (so that the
//! difference is the configuration's, not the lists'). The impact re-decides the stored
//! blocked and allowed domains of a period with both policies: those the current one blocks
//! and the new one would answer, and those it answers and the new one would block.

mod changes;
mod impact;

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use hedge_lists::Index;
use hedge_stats::{Period, SqliteStore};

use crate::cli::{DiffFormat, PolicyDiffArgs, UsageError};
use crate::config::{self, Loaded};
use crate::output::{self, policy_diff as out};

pub fn run(args: PolicyDiffArgs) -> anyhow::Result<ExitCode> {
    let (from, to) = period(&args)?;
    let current = config::load(args.current.as_deref())?;
    let index = Arc::new(match &args.index {
        Some(p) => Index::open(p).map_err(|e| usage(format!("--index {}: {e}", p.display())))?,
        None => config::index_of(&current)?,
    });
    // A broken new configuration is the answer: nothing else is done.
    let new = config::load(Some(&args.config))?;
    let new_policy = checked(&new, &args.config, index.clone())?;
    let current_name = current.path.as_ref().map_or_else(
        || "built-in configuration".into(),
        |p| p.display().to_string(),
    );
    let current_policy = checked(&current, Path::new(&current_name), index)?;
    let db = args.db.clone().unwrap_or_else(|| current.stats_path());
    let scope = impact::Scope {
        from,
        to,
        top: args.top,
        min_listed: args.suppress_below.unwrap_or(0),
    };
    let mut impact = out::Impact {
        from: from.first_day().to_string(),
        to: to.last_day().to_string(),
        unavailable: None,
        profiles: Vec::new(),
    };
    if db.exists() {
        let store = SqliteStore::open(&db).with_context(|| "cannot read the statistics")?;
        impact.profiles = impact::impact(&store, &current_policy, &new_policy, &scope)
            .with_context(|| format!("{}: cannot read the domain counts", db.display()))?;
        if impact.profiles.is_empty() {
            impact.unavailable = Some(format!(
                "{} holds no blocked or allowed queries in the period.",
                db.display()
            ));
        }
    } else {
        impact.unavailable = Some(format!(
            "No statistics file at {}: the impact is not estimated (pass --db FILE).",
            db.display()
        ));
    }
    let diff = out::PolicyDiff {
        current: current_name,
        new: args.config.display().to_string(),
        changes: changes::changes(&current_policy, &new_policy),
        impact,
    };
    let text = match args.format {
        DiffFormat::Text => out::text(&diff, false),
        DiffFormat::Markdown => out::text(&diff, true),
        DiffFormat::Json => output::json(&diff),
        DiffFormat::Csv => {
            // A CSV row cannot say it; the person who ran it reads it here.
            for p in &diff.impact.profiles {
                if let Some(why) = p.newly_blocked_note {
                    eprintln!(
                        "hedge policy diff: profile {}: newly blocked: {why}",
                        p.profile
                    );
                }
            }
            out::csv(&diff)
        }
    };
    output::print(&text)?;
    Ok(ExitCode::SUCCESS)
}

fn usage(msg: String) -> anyhow::Error {
    anyhow::Error::new(UsageError(msg))
}

/// `--from`/`--to`, else last month (UTC).
fn period(args: &PolicyDiffArgs) -> anyhow::Result<(Period, Period)> {
    let parse = |s: &str, key: &str| {
        s.parse::<Period>()
            .map_err(|e| usage(format!("--{key}: {e}")))
    };
    let (from, to) = match (&args.from, &args.to) {
        (Some(f), Some(t)) => (parse(f, "from")?, parse(t, "to")?),
        _ => {
            let last = hedge_stats::utc_today().first_of_month().yesterday()?;
            let month = parse(&format!("{:04}-{:02}", last.year(), last.month()), "from")?;
            (month, month)
        }
    };
    if from.first_day() > to.last_day() {
        return Err(usage(format!("--from {from} is after --to {to}")));
    }
    Ok((from, to))
}

/// The configuration's policy, checked as `serve` checks it. A profile's error names the
/// file and the line of the key.
fn checked(
    loaded: &Loaded,
    file: &Path,
    index: Arc<Index>,
) -> anyhow::Result<Arc<hedge_policy::Policy>> {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    if let Err(e) = hedge_policy::Policy::new(
        index.clone(),
        loaded.config.profiles.clone(),
        &loaded.base_dir,
    ) {
        let line = line_of(&text, &e.profile, &e.key)
            .map(|l| format!(":{l}"))
            .unwrap_or_default();
        return Err(usage(format!("{}{line}: {e}", file.display())));
    }
    config::check_with_index(loaded, index)
        .map(|c| c.policy)
        .map_err(|e| usage(format!("{}: {e:#}", file.display())))
}

/// The line (1-based) of `key` in profile `profile`'s table, or of its `name`.
fn line_of(text: &str, profile: &str, key: &str) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let named = |l: &str| {
        let l: String = l.chars().filter(|c| !c.is_whitespace()).collect();
        l == format!("name=\"{profile}\"") || l == format!("name='{profile}'")
    };
    let start = lines.iter().position(|l| named(l))?;
    let end = (start + 1..lines.len())
        .find(|&i| lines[i].trim() == "[[profile]]")
        .unwrap_or(lines.len());
    // `schedule.block`: the `block` of a `[[profile.schedule]]` table.
    let (table, leaf) = match key.rsplit_once('.') {
        Some((t, leaf)) => (Some(format!("[[profile.{t}]]")), leaf),
        None => (None, key),
    };
    let from = match &table {
        Some(t) => (start..end).find(|&i| lines[i].trim() == t)?,
        None => start,
    };
    let is_key = |l: &str| {
        l.trim_start()
            .strip_prefix(leaf)
            .is_some_and(|r| r.trim_start().starts_with('='))
    };
    Some((from..end).find(|&i| is_key(lines[i])).unwrap_or(start) + 1)
}
