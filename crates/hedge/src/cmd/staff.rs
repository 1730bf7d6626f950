//! `hedge staff`: the accounts of the portal's staff pages, in the statistics file.

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;

use anyhow::Context;
use hedge_stats::SqliteStore;
use jiff::Timestamp;

use super::requests::{actor_name, stats};
use crate::cli::{PasswordArg, StaffCommand, StatsFileArgs};

pub fn run(command: StaffCommand) -> anyhow::Result<ExitCode> {
    let now = Timestamp::now();
    match command {
        StaffCommand::Add {
            store,
            name,
            password,
            actor,
        } => {
            let by = actor_name(&actor)?;
            hedge_stats::staff::staff_name(&name).map_err(usage)?;
            let password = read_password(&password)?;
            stats(open(&store)?.add_staff(&name, &password, &by, now))?;
            println!("staff account {name} added");
        }
        StaffCommand::Passwd {
            store,
            name,
            password,
            actor,
        } => {
            let by = actor_name(&actor)?;
            let mut db = open(&store)?;
            if !stats(db.list_staff())?.iter().any(|a| a.name == name) {
                crate::usage!("no staff account {name:?} (`hedge staff list` shows them)");
            }
            let password = read_password(&password)?;
            stats(db.set_staff_password(&name, &password, &by, now))?;
            println!("password of {name} changed");
        }
        StaffCommand::Remove { store, name, actor } => {
            let by = actor_name(&actor)?;
            stats(open(&store)?.remove_staff(&name, &by, now))?;
            println!("staff account {name} removed");
        }
        StaffCommand::List { store } => {
            let accounts = stats(open(&store)?.list_staff())?;
            if accounts.is_empty() {
                eprintln!("hedge staff: no accounts (add one with `hedge staff add NAME`)");
            }
            for a in accounts {
                let state = match a.locked_until {
                    Some(until) if until > now => format!("locked until {until}"),
                    _ if a.failed_logins > 0 => format!("{} failed logins", a.failed_logins),
                    _ => "active".to_owned(),
                };
                println!("{}\tadded {}\t{state}", a.name, a.created_at);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn usage(e: hedge_stats::Error) -> anyhow::Error {
    anyhow::Error::new(crate::cli::UsageError(e.to_string()))
}

/// The store, created if missing: the first account may come before the first query.
fn open(args: &StatsFileArgs) -> anyhow::Result<SqliteStore> {
    let path = super::report::store_path(args)?;
    let mut store = SqliteStore::open(&path)
        .with_context(|| format!("cannot open the staff accounts in {}", path.display()))?;
    store.set_busy_timeout(std::time::Duration::from_secs(10))?;
    Ok(store)
}

/// The new password: typed twice without echo, or the first line of standard input.
fn read_password(arg: &PasswordArg) -> anyhow::Result<String> {
    if arg.password_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("reading the password from standard input")?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_owned());
    }
    if !std::io::stdin().is_terminal() {
        crate::usage!("no terminal to read the password from: pass --password-stdin");
    }
    let first = rpassword::prompt_password("Password: ").context("reading the password")?;
    let again = rpassword::prompt_password("Again: ").context("reading the password")?;
    if again != first {
        crate::usage!("the two passwords differ; nothing changed");
    }
    Ok(first)
}
