//! `hedge network dhcp|interfaces`: check the configuration, then write the files.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

use crate::cli::{NetworkArgs, UsageError};
use crate::config;
use crate::network::{self, DhcpFormat, File, InterfacesFormat, Vlan};

pub fn dhcp(args: NetworkArgs, format: DhcpFormat) -> anyhow::Result<ExitCode> {
    let vlans = vlans(&args)?;
    write(&args.out, &network::dhcp(&vlans, format))
}

pub fn interfaces(args: NetworkArgs, format: InterfacesFormat) -> anyhow::Result<ExitCode> {
    let vlans = vlans(&args)?;
    write(
        &args.out,
        &network::interfaces(&vlans, format, &args.parent),
    )
}

/// The VLANs of a configuration that passes check-config (its warnings on stderr).
fn vlans(args: &NetworkArgs) -> anyhow::Result<Vec<Vlan>> {
    let loaded = config::load(args.config.as_deref())?;
    let checked = config::check(&loaded)?;
    for n in &checked.notices {
        eprintln!("warning: {n}");
    }
    network::plan(&loaded.config.listeners, &args.parent)
        .map_err(|e| anyhow::Error::new(UsageError(e)))
}

fn write(dir: &Path, files: &[File]) -> anyhow::Result<ExitCode> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for f in files {
        let path = dir.join(&f.name);
        std::fs::write(&path, &f.text).with_context(|| format!("writing {}", path.display()))?;
        let mode = if f.private { 0o600 } else { 0o644 };
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
            .with_context(|| format!("setting the mode of {}", path.display()))?;
        println!("{}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}
