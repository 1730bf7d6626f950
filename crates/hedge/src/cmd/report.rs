//! `hedge report`: FOI answers from the statistics store.

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::Context;
use hedge_stats::{Action, Dim, Period, Report, ReportQuery, SqliteStore};

use crate::cli::ReportArgs;
use crate::config;
use crate::output::{self, Format};

pub fn run(args: ReportArgs) -> anyhow::Result<ExitCode> {
    let db = match &args.db {
        Some(p) => p.clone(),
        None => config::load(args.config.as_deref())?.stats_path(),
    };
    if !db.exists() {
        crate::usage!(
            "{}: no statistics file; is `[stats]` enabled and has hedge served queries? (or pass --db FILE)",
            db.display()
        );
    }
    let period = |s: &str, key: &str| {
        s.parse::<Period>()
            .map_err(|e| anyhow::Error::new(crate::cli::UsageError(format!("--{key}: {e}"))))
    };
    let mut query = ReportQuery::new(period(&args.from, "from")?, period(&args.to, "to")?);
    for b in &args.by {
        query.by.push(match b.trim() {
            "month" => Dim::Month,
            "day" => Dim::Day,
            "profile" => Dim::Profile,
            "category" => Dim::Category,
            "action" => Dim::Action,
            other => crate::usage!(
                "--by: unknown dimension `{other}`; use month, day, profile, category, action"
            ),
        });
    }
    query.profile = args.profile.clone();
    query.category = args.category.clone();
    query.action = match args.action.as_deref() {
        None => None,
        Some(a) => match Action::ALL.iter().find(|x| x.as_str() == a) {
            Some(x) => Some(*x),
            None => crate::usage!(
                "--action: unknown action `{a}`; use allowed, blocked, rewritten, refused, servfail"
            ),
        },
    };
    query.top_domains = args.top_domains;
    query.suppress_below = args.suppress_below;
    let store = SqliteStore::open(&db).with_context(|| "cannot read the statistics")?;
    // Say which store was read: a report of zeros from the wrong file looks like an answer.
    eprintln!("hedge report: statistics from {}", db.display());
    let Some((first, last)) = store
        .counted_days()
        .with_context(|| "cannot read the statistics")?
    else {
        eprintln!(
            "hedge report: {} holds no query counts at all. `hedge serve` writes them to \
             `[stats] path` (see `hedge check-config`); the store `hedge lists compile` keeps \
             beside the index holds only list changes.",
            db.display()
        );
        return Ok(ExitCode::FAILURE);
    };
    let report = Report::build(&store, &query).map_err(|e| match e {
        hedge_stats::Error::Invalid(msg) => anyhow::Error::new(crate::cli::UsageError(msg)),
        other => anyhow::Error::new(other),
    })?;
    let format = match args.format {
        Some(f) => f,
        None if std::io::stdout().is_terminal() => Format::Table,
        None => Format::Csv,
    };
    output::print(&output::report::render(&report, format))?;
    if last < report.from || first > report.to {
        eprintln!(
            "hedge report: no counts from {} to {}: {} holds counts from {first} to {last}",
            report.from,
            report.to,
            db.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
