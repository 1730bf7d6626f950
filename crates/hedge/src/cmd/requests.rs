//! `hedge requests`: the staff's side of unblock requests — the queue, decisions, local
//! recategorisations, the audit log and the FOI export — on the statistics file.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use hedge_stats::{
    ExportQuery, Period, RequestFilter, RequestStatus, SqliteStore, requests::normalize_name,
};
use jiff::{Span, Timestamp, Zoned, civil::Date, tz::TimeZone};

use crate::cli::{ActorArg, RequestsCommand, StatsFileArgs, StatusArg, UsageError};
use crate::config;
use crate::output::{self, requests as render};

/// A decision waits this long for the flusher's write lock: it must not fail because
/// `hedge serve` is counting.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

pub fn run(command: RequestsCommand) -> anyhow::Result<ExitCode> {
    let now = Timestamp::now();
    match command {
        RequestsCommand::List {
            store,
            status,
            name,
            limit,
            format,
        } => {
            let filter = RequestFilter {
                status: status.map(status_of),
                name,
                profile: None,
                limit,
            };
            let found = stats(open(&store)?.list_requests(&filter))?;
            output::print(&render::list(&found).render(output::default_format(format)))?;
            if found.is_empty() {
                eprintln!("hedge requests: no requests match");
            }
        }
        RequestsCommand::Show { store, id } => {
            let store = open(&store)?;
            let request = stats(store.request(id))?;
            let contacts = stats(store.request_contacts(id))?;
            output::print(&render::show(&request, &contacts))?;
        }
        RequestsCommand::Grant {
            store,
            id,
            profile,
            until,
            note,
            actor,
        } => {
            let loaded = check_profiles(&store, &profile)?;
            // Dates are days where the library is: the zone schedules use.
            let zone = match loaded.config.timezone.as_deref() {
                Some(name) => TimeZone::get(name)
                    .map_err(|e| UsageError(format!("key `timezone`: {name}: {e}")))?,
                None => TimeZone::system(),
            };
            let until = until
                .as_deref()
                .map(|u| parse_until(u, now, &zone))
                .transpose()?;
            let by = actor_name(&actor)?;
            let mut db = open(&store)?;
            let grants = stats(db.grant(id, &profile, until, note.as_deref(), &by, now))?;
            let request = stats(db.request(id))?;
            let until = until.map_or_else(
                || "until revoked".to_owned(),
                |u| format!("until {}", render::time(u)),
            );
            println!(
                "request #{id} granted: {} allowed on {} {until} (grant {})",
                request.name,
                profile.join(", "),
                grants
                    .iter()
                    .map(|g| format!("#{g}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        RequestsCommand::Deny {
            store,
            id,
            note,
            actor,
        } => {
            let by = actor_name(&actor)?;
            stats(open(&store)?.deny(id, &note, &by, now))?;
            println!("request #{id} denied");
        }
        RequestsCommand::Withdraw {
            store,
            id,
            note,
            actor,
        } => {
            let by = actor_name(&actor)?;
            stats(open(&store)?.withdraw(id, note.as_deref(), &by, now))?;
            println!("request #{id} withdrawn");
        }
        RequestsCommand::Revoke {
            store,
            grant,
            actor,
        } => {
            let by = actor_name(&actor)?;
            stats(open(&store)?.revoke_grant(grant, &by, now))?;
            println!("grant #{grant} revoked");
        }
        RequestsCommand::Recategorise {
            store,
            name,
            category,
            remove,
            clear,
            actor,
        } => {
            let by = actor_name(&actor)?;
            let name = stats(normalize_name(&name))?;
            let mut db = open(&store)?;
            if clear {
                stats(db.clear_recategorisation(&name, &category, &by, now))?;
                println!(
                    "{name}: the local recategorisation in {category} is dropped; the lists decide"
                );
            } else {
                check_category(&store, &category)?;
                let changed = stats(db.recategorise(&name, &category, !remove, &by, now))?;
                let into = if remove { "out of" } else { "in" };
                match changed {
                    true => println!("{name} is now {into} {category} for every profile"),
                    false => println!("{name} was already {into} {category}; nothing changed"),
                }
            }
        }
        RequestsCommand::Export {
            store,
            from,
            to,
            suppress_below,
            format,
        } => {
            let query = ExportQuery {
                from: period(&from, "from")?.first_day(),
                to: period(&to, "to")?.last_day(),
                suppress_below,
            };
            let export = stats(open(&store)?.export(&query))?;
            output::print(&render::export(&export, output::default_format(format)))?;
        }
        RequestsCommand::Audit {
            store,
            since,
            limit,
            format,
        } => {
            let since = match since {
                Some(s) => Some(midnight_utc(date(&s, "since")?)?),
                None => None,
            };
            let log = stats(open(&store)?.audit_log(since, limit))?;
            output::print(&render::audit(&log).render(output::default_format(format)))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn status_of(s: StatusArg) -> RequestStatus {
    match s {
        StatusArg::Open => RequestStatus::Open,
        StatusArg::Granted => RequestStatus::Granted,
        StatusArg::Denied => RequestStatus::Denied,
        StatusArg::Withdrawn => RequestStatus::Withdrawn,
    }
}

/// The live grants and local recategorisations at `at` in the statistics file of `loaded`
/// (none if there is no file yet), for `policy show` and `explain`. A file that cannot be
/// read is an error: a policy shown without them would look complete and be wrong.
pub(super) fn live_decisions(
    loaded: &config::Loaded,
    at: Timestamp,
) -> anyhow::Result<hedge_stats::ActiveOverrides> {
    let path = loaded.stats_path();
    if !path.exists() {
        return Ok(hedge_stats::ActiveOverrides::default());
    }
    let store =
        SqliteStore::open(&path).with_context(|| "cannot read the grants and recategorisations")?;
    Ok(store.active_overrides(at)?)
}

/// The statistics file, which must exist: requests are only ever made through `serve`.
fn open(args: &StatsFileArgs) -> anyhow::Result<SqliteStore> {
    let path: PathBuf = super::report::store_path(args)?;
    if !path.exists() {
        crate::usage!(
            "{}: no statistics file, so no requests; is this the `[stats] path` hedge serve \
             uses? (or pass --db FILE)",
            path.display()
        );
    }
    let mut store = SqliteStore::open(&path).with_context(|| "cannot open the requests")?;
    store.set_busy_timeout(BUSY_TIMEOUT)?;
    Ok(store)
}

/// A store result; bad input (an unknown number, a request already decided, a name that is
/// not one) is a usage error, exit status 2.
pub(super) fn stats<T>(r: Result<T, hedge_stats::Error>) -> anyhow::Result<T> {
    r.map_err(|e| match e {
        hedge_stats::Error::Invalid(_)
        | hedge_stats::Error::NoSuchRequest(_)
        | hedge_stats::Error::NoSuchGrant(_)
        | hedge_stats::Error::NotOpen { .. } => anyhow::Error::new(UsageError(e.to_string())),
        other => anyhow::Error::new(other),
    })
}

/// Every `--profile` must be one of the configuration's; returns the configuration.
fn check_profiles(args: &StatsFileArgs, profiles: &[String]) -> anyhow::Result<config::Loaded> {
    let loaded = config::load(args.config.as_deref())?;
    let known: Vec<&str> = loaded
        .config
        .profiles
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    if let Some(p) = profiles.iter().find(|p| !known.contains(&p.as_str())) {
        crate::usage!(
            "--profile: no profile `{p}` in {}; the profiles are: {}",
            origin(&loaded),
            known.join(", ")
        );
    }
    Ok(loaded)
}

/// `--category` must be a category of the configuration's index.
fn check_category(args: &StatsFileArgs, category: &str) -> anyhow::Result<()> {
    let loaded = config::load(args.config.as_deref())?;
    let index = config::index_of(&loaded)?;
    let taxonomy = index.taxonomy();
    if taxonomy.get(category).is_none() {
        let suggest = taxonomy.suggest(category);
        let hint = if suggest.is_empty() {
            "`hedge policy show --format csv` lists the category ids".to_owned()
        } else {
            format!("did you mean {}?", suggest.join(", "))
        };
        crate::usage!(
            "--category: no category `{category}` in the index of {}; {hint}",
            origin(&loaded)
        );
    }
    Ok(())
}

fn origin(loaded: &config::Loaded) -> String {
    loaded.path.as_ref().map_or_else(
        || "the built-in configuration".to_owned(),
        |p| p.display().to_string(),
    )
}

/// `--as`, else the person behind sudo, else the Unix user running this.
pub(super) fn actor_name(arg: &ActorArg) -> anyhow::Result<String> {
    if let Some(a) = &arg.actor {
        return Ok(a.clone());
    }
    let from_env = ["SUDO_USER", "USER", "LOGNAME"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .find(|v| !v.trim().is_empty());
    match from_env.or_else(unix_user) {
        Some(u) => Ok(u),
        None => crate::usage!("cannot tell who you are: pass --as NAME"),
    }
}

/// The name of this process's user, from /etc/passwd (or `uid N`).
fn unix_user() -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata("/proc/self").ok()?.uid();
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let name = passwd.lines().find_map(|l| {
        let mut f = l.split(':');
        let name = f.next()?;
        (f.nth(1)? == uid.to_string()).then(|| name.to_owned())
    });
    Some(name.unwrap_or_else(|| format!("uid {uid}")))
}

fn period(s: &str, key: &str) -> anyhow::Result<Period> {
    s.parse::<Period>()
        .map_err(|e| anyhow::Error::new(UsageError(format!("--{key}: {e}"))))
}

fn date(s: &str, key: &str) -> anyhow::Result<Date> {
    s.parse::<Date>().map_err(|e| {
        anyhow::Error::new(UsageError(format!(
            "--{key} {s:?}: not a date (YYYY-MM-DD): {e}"
        )))
    })
}

fn midnight_utc(d: Date) -> anyhow::Result<Timestamp> {
    Ok(d.to_zoned(TimeZone::UTC)?.timestamp())
}

/// `--until`: a date (through the end of that day in `local`), a time with an offset, or a
/// length of time from `now`.
fn parse_until(s: &str, now: Timestamp, local: &TimeZone) -> anyhow::Result<Timestamp> {
    if let Ok(t) = s.parse::<Timestamp>() {
        return Ok(t);
    }
    if let Ok(d) = s.parse::<Date>() {
        let next = d.tomorrow()?;
        return Ok(next.to_zoned(local.clone())?.timestamp());
    }
    if let Ok(span) = s.parse::<Span>() {
        let zoned: Zoned = now.to_zoned(local.clone());
        return Ok(zoned.checked_add(span)?.timestamp());
    }
    crate::usage!(
        "--until {s:?}: give a date (2026-06-30: through that day), a time \
         (2026-06-30T17:00:00Z) or a length of time (2h, 7d, 1 month)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn until_takes_a_time_a_date_or_a_length() {
        let now: Timestamp = "2026-03-01T10:00:00Z".parse().expect("now");
        let london = TimeZone::get("Europe/London").expect("tzdata");
        let t = |s: &str| s.parse::<Timestamp>().expect("t");
        assert_eq!(
            parse_until("2026-03-02T00:00:00Z", now, &london).expect("time"),
            t("2026-03-02T00:00:00Z")
        );
        assert_eq!(
            parse_until("2h", now, &london).expect("length"),
            t("2026-03-01T12:00:00Z")
        );
        // Through the whole day, in the library's zone (summer time from 29 March).
        assert_eq!(
            parse_until("2026-07-01", now, &london).expect("date"),
            t("2026-07-01T23:00:00Z")
        );
        assert!(parse_until("next tuesday", now, &london).is_err());
    }
}
