//! `hedge.toml`: the file's shape and loading it. The checks `serve` and `check-config`
//! share are in [`check`], what a reload may change in [`reload`].

mod check;
mod reload;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use hedge_dns::{Limits, ListenerConfig, Snapshot, UpstreamConfig};
use hedge_lists::Index;
use hedge_policy::{Policy, ProfileConfig};
use serde::Deserialize;

use crate::cli::UsageError;

pub(crate) use check::time_zone;
pub use check::{check, check_with_index};
pub use reload::{map_listeners, restart_only_changes};

/// The built-in configuration (three profiles on loopback).
pub const DEFAULT_CONFIG: &str = include_str!("../default.toml");

/// The whole configuration file. Every table rejects unknown keys.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The category index (from `hedge lists compile`), relative to this file; default: the
    /// starter index built into hedge.
    #[serde(default)]
    pub index: Option<PathBuf>,
    /// The IANA time zone schedules are evaluated in (`Europe/London`); default: the
    /// system's zone.
    #[serde(default)]
    pub timezone: Option<String>,
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
    /// Query statistics for reports (aggregates only; see docs/privacy.md).
    #[serde(default)]
    pub stats: StatsConfig,
    /// Prometheus metrics endpoint (off unless set).
    #[serde(default)]
    pub metrics: Option<MetricsConfig>,
    /// The patron portal: block page, "Why is this blocked?" and access requests (off
    /// unless set).
    #[serde(default)]
    pub portal: Option<crate::portal::PortalConfig>,
}

/// `[stats]`: counting for `hedge report`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatsConfig {
    /// Count queries (default true). Counting keeps no client addresses.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The SQLite statistics file, relative to this file (default `hedge-stats.sqlite`).
    #[serde(default = "default_stats_path")]
    pub path: PathBuf,
    /// Days of aggregate counts kept (default 400; years are fine: a busy year is ~100 MB).
    #[serde(default = "default_retention")]
    pub retention_days: u32,
    /// Count allowed queries per (profile, domain) too, for `hedge policy diff` (default
    /// true). No client is kept, as for blocked names.
    #[serde(default = "yes")]
    pub count_allowed: bool,
    /// The raw query log, off by default.
    #[serde(default)]
    pub query_log: QueryLogConfig,
}

impl Default for StatsConfig {
    fn default() -> Self {
        StatsConfig {
            enabled: true,
            path: default_stats_path(),
            retention_days: default_retention(),
            count_allowed: true,
            query_log: QueryLogConfig::default(),
        }
    }
}

/// `[stats.query_log]`: one row per query, for troubleshooting; off by default.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueryLogConfig {
    /// Keep a row per query (default false).
    #[serde(default)]
    pub enabled: bool,
    /// Days kept (default 7).
    #[serde(default = "default_log_retention")]
    pub retention_days: u32,
    /// How client addresses are kept: `truncate` (default: /24, /48), `hash` (keyed
    /// HMAC-SHA-256, needs `hash_key`), or `full` (only with a lawful reason).
    #[serde(default)]
    pub clients: ClientMode,
    /// Secret key for `clients = "hash"`.
    #[serde(default)]
    pub hash_key: Option<String>,
}

/// How the raw query log keeps client addresses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientMode {
    /// IPv4 /24, IPv6 /48.
    #[default]
    Truncate,
    /// Keyed hash.
    Hash,
    /// The full address.
    Full,
}

/// `[metrics]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// Address of the Prometheus endpoint, e.g. `127.0.0.1:9153` (keep it on loopback or a
    /// management network: the figures describe your users' traffic).
    pub listen: std::net::SocketAddr,
}

fn yes() -> bool {
    true
}
fn default_stats_path() -> PathBuf {
    PathBuf::from("hedge-stats.sqlite")
}
fn default_retention() -> u32 {
    400
}
fn default_log_retention() -> u32 {
    7
}

impl Default for QueryLogConfig {
    fn default() -> Self {
        QueryLogConfig {
            enabled: false,
            retention_days: default_log_retention(),
            clients: ClientMode::Truncate,
            hash_key: None,
        }
    }
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
    /// The portal, ready to start, if `[portal]` is set.
    pub portal: Option<crate::portal::Checked>,
}

fn bad(msg: String) -> anyhow::Error {
    anyhow::Error::new(UsageError(msg))
}

/// Reads `path`, or the built-in configuration when None.
pub fn load(path: Option<&Path>) -> anyhow::Result<Loaded> {
    let (text, origin) = match path {
        Some(p) => (
            std::fs::read_to_string(p).map_err(|e| bad(format!("{}: {e}", p.display())))?,
            p.display().to_string(),
        ),
        None => (
            DEFAULT_CONFIG.to_string(),
            "built-in configuration".to_string(),
        ),
    };
    parse(&text, &origin, path)
}

/// Parses a configuration's text; `origin` names it in errors, `path` is where it was read
/// from (its folder is where relative paths start).
pub fn parse(text: &str, origin: &str, path: Option<&Path>) -> anyhow::Result<Loaded> {
    let config: Config = toml::from_str(text).map_err(|e| bad(format!("{origin}: {e}")))?;
    let base_dir = path
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    Ok(Loaded {
        config,
        path: path.map(Path::to_path_buf),
        base_dir,
    })
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

impl Loaded {
    /// The upstream settings with paths made absolute.
    pub fn upstream(&self) -> UpstreamConfig {
        let mut u = self.config.upstream.clone();
        u.root_hints = u.root_hints.map(|h| self.base_dir.join(h));
        for s in &mut u.servers {
            s.ca_file = s.ca_file.take().map(|f| self.base_dir.join(f));
        }
        u
    }
}

impl Checked {
    pub fn snapshot(&self, observer: Option<Arc<dyn hedge_dns::Observer>>) -> Snapshot {
        let mut snapshot = Snapshot {
            policy: self.policy.clone(),
            listener_profiles: self.listener_profiles.clone(),
            observer,
            portal_url: None,
            portal_name: None,
        };
        crate::portal::point_dns(self.portal.as_ref(), &mut snapshot);
        snapshot
    }
}

impl Loaded {
    /// The statistics file, absolute.
    pub fn stats_path(&self) -> PathBuf {
        self.base_dir.join(&self.config.stats.path)
    }
}
