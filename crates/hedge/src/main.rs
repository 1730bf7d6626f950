//! The `hedge` command: a thin shell over the hedge crates.
//!
//! Exit codes: 0 success, 1 runtime failure, 2 bad configuration or usage.

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::{Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

use hedge::{cli, cmd};

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    // `target=level` directives, as Targets parses them (EnvFilter's span and field syntax
    // would link a regex engine into the resolver for a log setting).
    let default: Targets = cli.log_filter().parse().expect("a level is a valid filter");
    let (filter, bad) = match std::env::var("HEDGE_LOG") {
        Ok(text) => match text.parse::<Targets>() {
            Ok(filter) => (filter, None),
            Err(e) => (default, Some((text, e))),
        },
        Err(_) => (default, None),
    };
    // The filter decides alone: `fmt()`'s own subscriber would also cap events at INFO.
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_target(false)
                .with_filter(filter),
        )
        .init();
    if let Some((text, e)) = bad {
        tracing::warn!(
            "HEDGE_LOG={text:?} ignored ({e}): write a level (info) or comma-separated \
             target=level pairs (info,hedge_dns=debug)"
        );
    }
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
