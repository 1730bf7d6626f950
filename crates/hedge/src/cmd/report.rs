//! `hedge report`: FOI answers from the statistics store.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use hedge_stats::{Action, ChangesQuery, Dim, Period, Report, ReportQuery, SqliteStore};

use crate::cli::{ChangesArgs, ReportArgs, StatsFileArgs};
use crate::config;
use crate::output::{self, Rows, thousands};

/// The statistics file: --db, or `[stats] path` of the configuration.
pub(super) fn store_path(args: &StatsFileArgs) -> anyhow::Result<PathBuf> {
    Ok(match &args.db {
        Some(p) => p.clone(),
        None => config::load(args.config.as_deref())?.stats_path(),
    })
}

fn period(s: &str, key: &str) -> anyhow::Result<Period> {
    s.parse::<Period>()
        .map_err(|e| anyhow::Error::new(crate::cli::UsageError(format!("--{key}: {e}"))))
}

pub fn run(args: ReportArgs) -> anyhow::Result<ExitCode> {
    let db = store_path(&args.store)?;
    if !db.exists() {
        crate::usage!(
            "{}: no statistics file; is `[stats]` enabled and has hedge served queries? (or pass --db FILE)",
            db.display()
        );
    }
    // clap requires both unless a subcommand is given.
    let (from, to) = (
        args.from.as_deref().unwrap_or_default(),
        args.to.as_deref().unwrap_or_default(),
    );
    let mut query = ReportQuery::new(period(from, "from")?, period(to, "to")?);
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
    let format = output::default_format(args.format);
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

/// `hedge report changes`: the names the list compiles of a period added, removed or
/// recategorised, from the store `hedge lists compile` records them in.
pub fn changes(args: ChangesArgs) -> anyhow::Result<ExitCode> {
    let db = store_path(&args.store)?;
    if !db.exists() {
        crate::usage!(
            "{}: no statistics file. `hedge lists compile` and `hedge lists update` record list \
             changes in hedge-stats.sqlite beside the index (or their --stats-db FILE); pass \
             --db FILE to read that one",
            db.display()
        );
    }
    let (from, to) = (period(&args.from, "from")?, period(&args.to, "to")?);
    let (first, last) = (from.first_day(), to.last_day());
    if first > last {
        crate::usage!("--from {} is after --to {}", args.from, args.to);
    }
    let midnight =
        |d: jiff::civil::Date| d.to_zoned(jiff::tz::TimeZone::UTC).map(|z| z.timestamp());
    let query = ChangesQuery {
        from: midnight(first)?,
        until: last
            .tomorrow()
            .and_then(midnight)
            .unwrap_or(jiff::Timestamp::MAX),
        category: args.category.clone(),
    };
    let store = SqliteStore::open(&db).with_context(|| "cannot read the statistics")?;
    eprintln!("hedge report changes: list changes from {}", db.display());
    let found = store
        .changed_names(&query)
        .with_context(|| "cannot read the list changes")?;
    let scope = match &args.category {
        Some(c) => format!(" in category {c}"),
        None => String::new(),
    };
    // The staff's local recategorisations in force that were made in the period.
    let in_category = |c: &str| {
        args.category
            .as_deref()
            .is_none_or(|f| c == f || c.strip_prefix(f).is_some_and(|r| r.starts_with('/')))
    };
    let local: Vec<_> = store
        .active_overrides(jiff::Timestamp::now())
        .with_context(|| "cannot read the local recategorisations")?
        .recategorised
        .into_iter()
        .filter(|r| r.at >= query.from && r.at < query.until && in_category(&r.category))
        .collect();
    if found.names.is_empty() && found.unrecorded.is_empty() && local.is_empty() {
        eprintln!(
            "hedge report changes: {} holds no list changes from {first} to {last}{scope} \
             ({} in the period changed anything). Each `hedge lists compile` or \
             `hedge lists update` records what it changed, in hedge-stats.sqlite beside the \
             index unless given --stats-db; is this that file?",
            db.display(),
            compiles(found.compilations)
        );
        return Ok(ExitCode::FAILURE);
    }
    let mut rows = Rows::new(&[
        "compiled", "version", "category", "change", "name", "from", "to",
    ]);
    let mut counts = [0u64; 3];
    for n in &found.names {
        counts[n.change as usize] += 1;
        rows.push(vec![
            n.compiled_at.strftime("%Y-%m-%d %H:%M:%SZ").to_string(),
            n.new_version.clone(),
            n.category.clone(),
            n.change.as_str().into(),
            n.name.clone(),
            n.from_category.clone().unwrap_or_default(),
            n.to_category.clone().unwrap_or_default(),
        ]);
    }
    for r in &local {
        rows.push(vec![
            r.at.strftime("%Y-%m-%d %H:%M:%SZ").to_string(),
            format!("local, by {}", r.by),
            r.category.clone(),
            if r.add { "added" } else { "removed" }.into(),
            r.name.clone(),
            String::new(),
            String::new(),
        ]);
    }
    output::print(&rows.render(output::default_format(args.format)))?;
    eprintln!(
        "hedge report changes: {} added, {} removed, {} recategorised from {first} to {last}{scope}, \
         in {}; {} local recategorisations by staff in force",
        thousands(counts[0]),
        thousands(counts[1]),
        thousands(counts[2]),
        compiles(found.compilations),
        local.len()
    );
    for u in &found.unrecorded {
        eprintln!(
            "hedge report changes: the compile of {} changed {} names in {} but the store kept \
             {} (at most {} per category and compile); `hedge lists diff` of the two indexes \
             (see `hedge lists history`) lists them all",
            u.compiled_at.strftime("%Y-%m-%d %H:%M:%SZ"),
            thousands(u.changed),
            u.category,
            thousands(u.recorded),
            thousands(hedge_stats::MAX_CHANGE_NAMES as u64)
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn compiles(n: u64) -> String {
    match n {
        1 => "1 compile".into(),
        n => format!("{} compiles", thousands(n)),
    }
}
