//! `hedge.toml`: loading, and the validation `serve` and `check-config` share.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use hedge_dns::{Limits, ListenerConfig, Snapshot, UpstreamConfig, UpstreamMode};
use hedge_lists::Index;
use hedge_policy::{Policy, ProfileConfig};
use serde::Deserialize;

use crate::cli::UsageError;

/// The built-in configuration (three profiles on loopback).
pub const DEFAULT_CONFIG: &str = include_str!("default.toml");

/// The whole configuration file. Every table rejects unknown keys.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The category index (from `hedge lists compile`), relative to this file; default: the
    /// starter index built into hedge.
    #[serde(default)]
    pub index: Option<PathBuf>,
    /// User profiles.
    #[serde(default, rename = "profile")]
    pub profiles: Vec<ProfileConfig>,
    /// DNS listeners, one profile each.
    #[serde(default, rename = "listener")]
    pub listeners: Vec<ListenerConfig>,
    /// Recursion or forwarding.
    #[serde(default)]
    pub upstream: UpstreamConfig,
    /// Resource limits.
    #[serde(default)]
    pub server: Limits,
}

/// A configuration read from somewhere, with the folder its relative paths start from.
pub struct Loaded {
    pub config: Config,
    /// The file, or None for the built-in configuration.
    pub path: Option<PathBuf>,
    pub base_dir: PathBuf,
}

/// A configuration that passed every check, ready to serve.
pub struct Checked {
    pub policy: Arc<Policy>,
    pub listener_profiles: Vec<usize>,
    /// Warnings that do not stop hedge.
    pub notices: Vec<String>,
}

fn bad(msg: String) -> anyhow::Error {
    anyhow::Error::new(UsageError(msg))
}

/// Reads `path`, or the built-in configuration when None.
pub fn load(path: Option<&Path>) -> anyhow::Result<Loaded> {
    let (text, origin) = match path {
        Some(p) => (std::fs::read_to_string(p).map_err(|e| bad(format!("{}: {e}", p.display())))?, p.display().to_string()),
        None => (DEFAULT_CONFIG.to_string(), "built-in configuration".to_string()),
    };
    let config: Config = toml::from_str(&text).map_err(|e| bad(format!("{origin}: {e}")))?;
    let base_dir = path.and_then(Path::parent).map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."));
    Ok(Loaded { config, path: path.map(Path::to_path_buf), base_dir })
}

/// The index a configuration names (or the starter index).
pub fn index_of(loaded: &Loaded) -> anyhow::Result<Index> {
    match &loaded.config.index {
        Some(p) => {
            let path = loaded.base_dir.join(p);
            Index::open(&path).map_err(|e| bad(format!("key `index`: {e}")))
        }
        None => crate::starter::index().context("building the starter index"),
    }
}

/// Everything `serve` checks before binding sockets.
pub fn check(loaded: &Loaded) -> anyhow::Result<Checked> {
    let c = &loaded.config;
    let index = Arc::new(index_of(loaded)?);
    if c.profiles.is_empty() {
        return Err(bad("no [[profile]] defined: add at least one (see deploy/hedge.toml)".into()));
    }
    if c.listeners.is_empty() {
        return Err(bad("no [[listener]] defined: add one per VLAN, with its profile, bind addresses and allowed subnets".into()));
    }
    let policy = Policy::new(index, c.profiles.clone(), &loaded.base_dir).map_err(|e| bad(e.to_string()))?;
    let mut notices = policy.notices().to_vec();
    let mut listener_profiles = Vec::new();
    let mut seen_binds = HashSet::new();
    for (i, l) in c.listeners.iter().enumerate() {
        let at = |key: &str| format!("listener {} (profile `{}`), key `{key}`", i + 1, l.profile);
        let Some(p) = policy.profile_id(&l.profile) else {
            return Err(bad(format!("{}: no profile is named `{}`", at("profile"), l.profile)));
        };
        listener_profiles.push(p);
        if l.bind.is_empty() {
            return Err(bad(format!("{}: give at least one address, e.g. bind = [\"10.20.0.53:53\"]", at("bind"))));
        }
        for b in &l.bind {
            if b.ip().is_unspecified() {
                return Err(bad(format!(
                    "{}: {b} is a wildcard; bind each address explicitly (a wildcard bind makes UDP replies leave from the wrong source address)",
                    at("bind")
                )));
            }
            if !seen_binds.insert(*b) {
                return Err(bad(format!("{}: {b} is bound by another listener too", at("bind"))));
            }
        }
        if l.allow.is_empty() {
            return Err(bad(format!("{}: list the client subnets this listener serves, e.g. allow = [\"10.20.0.0/16\"]; hedge is never an open resolver", at("allow"))));
        }
        if !l.udp && !l.tcp {
            return Err(bad(format!("{}: udp and tcp are both off; the listener would serve nothing", at("udp"))));
        }
        for (j, other) in c.listeners.iter().enumerate().take(i) {
            if other.profile == l.profile {
                continue;
            }
            for a in &l.allow {
                if let Some(b) = other.allow.iter().find(|b| a.contains(&b.network()) || b.contains(&a.network())) {
                    notices.push(format!(
                        "listener {} (`{}`) allows {a} and listener {} (`{}`) allows {b}: clients in both can pick the less filtered profile by choosing its server",
                        i + 1, l.profile, j + 1, other.profile
                    ));
                }
            }
        }
    }
    let u = &c.upstream;
    if u.mode == UpstreamMode::Forward && u.servers.is_empty() {
        return Err(bad("key `upstream.servers`: mode = \"forward\" needs at least one server".into()));
    }
    if u.mode == UpstreamMode::Recursive && !u.servers.is_empty() {
        notices.push("upstream.servers is set but mode is \"recursive\": the servers are not used".into());
    }
    if let Some(h) = &u.root_hints {
        let path = loaded.base_dir.join(h);
        if !path.is_file() {
            return Err(bad(format!("key `upstream.root_hints`: {} does not exist", path.display())));
        }
    }
    if u.timeout_ms == 0 || u.timeout_ms > 60_000 {
        return Err(bad("key `upstream.timeout_ms`: use a value between 1 and 60000".into()));
    }
    Ok(Checked { policy: Arc::new(policy), listener_profiles, notices })
}

impl Loaded {
    /// The upstream settings with paths made absolute.
    pub fn upstream(&self) -> UpstreamConfig {
        let mut u = self.config.upstream.clone();
        u.root_hints = u.root_hints.map(|h| self.base_dir.join(h));
        u
    }
}

impl Checked {
    pub fn snapshot(&self, observer: Option<Arc<dyn hedge_dns::Observer>>) -> Snapshot {
        Snapshot { policy: self.policy.clone(), listener_profiles: self.listener_profiles.clone(), observer }
    }
}
