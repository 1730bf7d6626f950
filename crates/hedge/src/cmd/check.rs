//! `hedge check-config`: everything `serve` does except binding sockets.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::config;
use crate::fd_limit;

pub fn run(path: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let loaded = config::load(path.as_deref())?;
    let mut checked = config::check(&loaded)?;
    crate::staff_portal::check_config(&loaded, &checked)?;
    // `serve` raises its limit to the hard one and refuses what cannot fit; here it is a
    // warning, as serve may run under other limits (LimitNOFILE= in hedge.service).
    if let Ok(hard) = fd_limit::hard() {
        match fd_limit::check(&loaded.config, hard) {
            Ok(warning) => checked.notices.extend(warning),
            Err(e) => checked.notices.push(format!(
                "{e}; `hedge serve` under this limit refuses to start"
            )),
        }
    }
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
