//! `hedge generate`: the man pages and shell completions, from the same clap definitions
//! that parse the command line, so they cannot drift from `--help`. The package build
//! (deploy/build-package.sh) runs it; it is hidden from `--help`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::{Cli, Generated};

pub fn run(what: Generated, out: &Path) -> anyhow::Result<ExitCode> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    match what {
        // One page per command and subcommand (hidden ones skipped): `man hedge-serve`.
        Generated::Man => clap_mangen::generate_to(Cli::command(), out)
            .with_context(|| format!("writing man pages into {}", out.display()))?,
        Generated::Completions => {
            let mut cli = Cli::command();
            for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
                let path = clap_complete::generate_to(shell, &mut cli, "hedge", out).with_context(
                    || format!("writing {shell} completions into {}", out.display()),
                )?;
                println!("{}", path.display());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
