//! One module per subcommand.

use std::process::ExitCode;

use crate::cli::{Cli, Command, ListsCommand};

mod lists;
mod lookup;

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Lists(ListsCommand::Compile(args)) => lists::compile(args),
        Command::Lists(ListsCommand::Verify { file }) => lists::verify(&file),
        Command::Lists(ListsCommand::Stats { file, format }) => lists::stats(&file, format),
        Command::Lookup(args) => lookup::run(args),
    }
}
