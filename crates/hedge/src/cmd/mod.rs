//! One module per subcommand.

use std::process::ExitCode;

use crate::cli::{Cli, Command, ListsCommand, NetworkCommand, PolicyCommand, ReportSubcommand};

mod check;
mod explain;
mod generate;
mod lists;
mod lists_history;
mod lists_update;
mod lookup;
mod network;
mod policy;
mod policy_diff;
mod report;
mod requests;
mod serve;
mod staff;

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    if !matches!(cli.command, Command::Serve { .. }) {
        end_quietly_on_a_closed_stdout();
    }
    match cli.command {
        Command::Lists(ListsCommand::Compile(args)) => lists::compile(args),
        Command::Lists(ListsCommand::Update(args)) => lists_update::run(args),
        Command::Lists(ListsCommand::Verify { file }) => lists::verify(&file),
        Command::Lists(ListsCommand::Stats { file, format }) => lists::stats(&file, format),
        Command::Lookup(args) => lookup::run(args),
        Command::Serve { config } => serve::run(config),
        Command::CheckConfig { file, config } => check::run(file.or(config)),
        Command::Explain(args) => explain::run(args),
        Command::Report(report) => match report.command {
            Some(ReportSubcommand::Changes(args)) => report::changes(args),
            None => report::run(report.counts),
        },
        Command::Lists(ListsCommand::History { out, dir, format }) => {
            lists_history::show(out.as_deref(), dir.as_deref(), format)
        }
        Command::Network(NetworkCommand::Dhcp { format, args }) => network::dhcp(args, format),
        Command::Network(NetworkCommand::Interfaces { format, args }) => {
            network::interfaces(args, format)
        }
        Command::Generate { what, out } => generate::run(what, &out),
        Command::Requests(command) => requests::run(command),
        Command::Staff(command) => staff::run(command),
        Command::Policy(PolicyCommand::Show {
            config,
            profile,
            format,
        }) => policy::show(config, profile, format),
        Command::Policy(PolicyCommand::Diff(args)) => policy_diff::run(args),
        Command::Lists(ListsCommand::Diff {
            old,
            new,
            category,
            names,
            format,
        }) => lists::diff(&old, &new, category, names, format),
    }
}

/// Restores the default action of SIGPIPE, which Rust's runtime ignores: a command whose
/// reader goes away (`hedge lists verify | head -1`) then ends as coreutils do, killed by
/// the signal (status 141 in a shell), instead of `print!` panicking on the EPIPE error.
/// Not for `serve`: a server must outlive its clients and its log reader.
fn end_quietly_on_a_closed_stdout() {
    // SAFETY: setting a signal's disposition to SIG_DFL installs no handler (no code runs
    // in signal context); it happens before any thread of this command is started.
    #[allow(unsafe_code)]
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
