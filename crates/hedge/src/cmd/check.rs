//! `hedge check-config`: everything `serve` does except binding sockets.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::config;
use crate::fd_limit;
use crate::output::{config_word, counted};

pub fn run(path: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let loaded = config::load(path.as_deref())?;
    let mut checked = config::check(&loaded)?;
    crate::staff_portal::check_config(&loaded, &checked)?;
    // `serve` raises its limit to the hard one and refuses what cannot fit; here it is a
    // warning, against the limit the service will have.
    let mut note = None;
    if let Ok(hard) = fd_limit::hard() {
        let under_systemd = std::env::var_os("INVOCATION_ID").is_some();
        let verdict = fd_limit::check_for_service(&loaded.config, hard, under_systemd);
        checked.notices.extend(verdict.warning);
        note = verdict.note;
    }
    for n in &checked.notices {
        println!("warning: {n}");
    }
    if let Some(n) = note {
        println!("note: {n}");
    }
    let index = checked.policy.index();
    println!(
        "ok: {}, {}, index {} ({}), upstream {}; {}",
        counted(checked.policy.profiles().len(), "profile"),
        counted(loaded.config.listeners.len(), "listener"),
        index.version(),
        hedge_lists::counted(index.len(), "name"),
        config_word(loaded.config.upstream.mode),
        counted(checked.notices.len(), "warning")
    );
    Ok(ExitCode::SUCCESS)
}
