//! One module per subcommand.

use std::process::ExitCode;

use crate::cli::{Cli, Command, ListsCommand, NetworkCommand, PolicyCommand};

mod check;
mod explain;
mod lists;
mod lists_update;
mod lookup;
mod network;
mod policy;
mod report;
mod serve;

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Lists(ListsCommand::Compile(args)) => lists::compile(args),
        Command::Lists(ListsCommand::Update(args)) => lists_update::run(args),
        Command::Lists(ListsCommand::Verify { file }) => lists::verify(&file),
        Command::Lists(ListsCommand::Stats { file, format }) => lists::stats(&file, format),
        Command::Lookup(args) => lookup::run(args),
        Command::Serve { config } => serve::run(config),
        Command::CheckConfig { config } => check::run(config),
        Command::Explain(args) => explain::run(args),
        Command::Report(args) => report::run(args),
        Command::Network(NetworkCommand::Dhcp { format, args }) => network::dhcp(args, format),
        Command::Network(NetworkCommand::Interfaces { format, args }) => {
            network::interfaces(args, format)
        }
        Command::Policy(PolicyCommand::Show {
            config,
            profile,
            format,
        }) => policy::show(config, profile, format),
        Command::Lists(ListsCommand::Diff {
            old,
            new,
            category,
            names,
            format,
        }) => lists::diff(&old, &new, category, names, format),
    }
}
