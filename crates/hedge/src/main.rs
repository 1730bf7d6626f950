//! The `hedge` command: a thin shell over the hedge crates.
//!
//! Exit codes: 0 success, 1 runtime failure, 2 bad configuration or usage.

use std::process::ExitCode;

use clap::Parser;

mod cli;
mod cmd;
mod config;
mod metrics;
mod observe;
mod output;
mod starter;
mod stats;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_env("HEDGE_LOG")
        .unwrap_or_else(|_| cli.log_filter().into());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
    match cmd::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            if err.is::<cli::UsageError>() {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}
