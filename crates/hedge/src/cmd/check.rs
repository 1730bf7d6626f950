//! `hedge check-config`: everything `serve` does except binding sockets.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::config;

pub fn run(path: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let loaded = config::load(path.as_deref())?;
    let checked = config::check(&loaded)?;
    for n in &checked.notices {
        println!("warning: {n}");
    }
    let index = checked.policy.index();
    println!(
        "ok: {} profiles, {} listeners, index {} ({} names), upstream {:?}; {} warnings",
        checked.policy.profiles().len(),
        loaded.config.listeners.len(),
        index.version(),
        index.len(),
        loaded.config.upstream.mode,
        checked.notices.len()
    );
    Ok(ExitCode::SUCCESS)
}
