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
    /// Query statistics for reports (aggregates only; see docs/privacy.md).
    #[serde(default)]
    pub stats: StatsConfig,
    /// Prometheus metrics endpoint (off unless set).
    #[serde(default)]
    pub metrics: Option<MetricsConfig>,
}

/// `[stats]`: counting for `hedge report`.
#[derive(Debug, Clone, Deserialize)]
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
            query_log: QueryLogConfig::default(),
        }
    }
}

/// `[stats.query_log]`: one row per query, for troubleshooting; off by default.
#[derive(Debug, Clone, Deserialize)]
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
#[derive(Debug, Clone, Deserialize)]
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

/// Everything `serve` checks before binding sockets.
pub fn check(loaded: &Loaded) -> anyhow::Result<Checked> {
    check_with_index(loaded, Arc::new(index_of(loaded)?))
}

/// [`check`] against an index already loaded (the one `loaded` names, or another).
pub fn check_with_index(loaded: &Loaded, index: Arc<Index>) -> anyhow::Result<Checked> {
    let c = &loaded.config;
    if c.profiles.is_empty() {
        return Err(bad(
            "no [[profile]] defined: add at least one (see deploy/hedge.toml)".into(),
        ));
    }
    if c.listeners.is_empty() {
        return Err(bad("no [[listener]] defined: add one per VLAN, with its profile, bind addresses and allowed subnets".into()));
    }
    let policy =
        Policy::new(index, c.profiles.clone(), &loaded.base_dir).map_err(|e| bad(e.to_string()))?;
    let mut notices = Vec::new();
    for n in policy.notices() {
        if !notices.contains(n) {
            notices.push(n.clone());
        }
    }
    let mut listener_profiles = Vec::new();
    let mut seen_binds = HashSet::new();
    for (i, l) in c.listeners.iter().enumerate() {
        let at = |key: &str| format!("listener {} (profile `{}`), key `{key}`", i + 1, l.profile);
        let Some(p) = policy.profile_id(&l.profile) else {
            return Err(bad(format!(
                "{}: no profile is named `{}`",
                at("profile"),
                l.profile
            )));
        };
        listener_profiles.push(p);
        if l.bind.is_empty() {
            return Err(bad(format!(
                "{}: give at least one address, e.g. bind = [\"10.20.0.53:53\"]",
                at("bind")
            )));
        }
        for b in &l.bind {
            if b.ip().is_unspecified() {
                return Err(bad(format!(
                    "{}: {b} is a wildcard; bind each address explicitly (a wildcard bind makes UDP replies leave from the wrong source address)",
                    at("bind")
                )));
            }
            if !seen_binds.insert(*b) {
                return Err(bad(format!(
                    "{}: {b} is bound by another listener too",
                    at("bind")
                )));
            }
        }
        if l.allow.is_empty() {
            return Err(bad(format!(
                "{}: list the client subnets this listener serves, e.g. allow = [\"10.20.0.0/16\"]; hedge is never an open resolver",
                at("allow")
            )));
        }
        if !l.allow_public
            && let Some(open) = l
                .allow
                .iter()
                .find(|n| crate::public_space::covers_public(n))
        {
            return Err(bad(format!(
                "{}: {open} covers public address space, so anyone on the internet who can reach this listener could use hedge (an open resolver, which attackers use to amplify floods); list your own client subnets, or, if they really are public addresses (a campus's global IPv6 prefix), set `allow_public = true` on this listener",
                at("allow")
            )));
        }
        if !l.udp && !l.tcp {
            return Err(bad(format!(
                "{}: udp and tcp are both off; the listener would serve nothing",
                at("udp")
            )));
        }
        for (j, other) in c.listeners.iter().enumerate().take(i) {
            if other.profile == l.profile {
                continue;
            }
            for a in &l.allow {
                if let Some(b) = other
                    .allow
                    .iter()
                    .find(|b| a.contains(&b.network()) || b.contains(&a.network()))
                {
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
        return Err(bad(
            "key `upstream.servers`: mode = \"forward\" needs at least one server".into(),
        ));
    }
    if u.mode == UpstreamMode::Recursive && !u.servers.is_empty() {
        notices.push(
            "upstream.servers is set but mode is \"recursive\": the servers are not used".into(),
        );
    }
    if let Some(h) = &u.root_hints {
        let path = loaded.base_dir.join(h);
        if !path.is_file() {
            return Err(bad(format!(
                "key `upstream.root_hints`: {} does not exist",
                path.display()
            )));
        }
    }
    let s = &c.stats;
    if s.retention_days == 0 {
        return Err(bad("key `stats.retention_days`: must be at least 1 (set `stats.enabled = false` to stop counting)".into()));
    }
    if s.query_log.enabled
        && s.query_log.clients == ClientMode::Hash
        && s.query_log.hash_key.as_deref().is_none_or(str::is_empty)
    {
        return Err(bad(
            "key `stats.query_log.hash_key`: clients = \"hash\" needs a secret key".into(),
        ));
    }
    if s.query_log.enabled && s.query_log.clients == ClientMode::Full {
        notices.push("stats.query_log keeps full client addresses: make sure your privacy notice says so (docs/privacy.md)".into());
    }
    if let Some(m) = &c.metrics
        && !m.listen.ip().is_loopback()
    {
        notices.push(format!("metrics.listen = {} is not a loopback address: anyone who can reach it sees traffic figures", m.listen));
    }
    hedge_dns::upstream::validate(&loaded.upstream()).map_err(|e| bad(e.to_string()))?;
    let srv = &c.server;
    for (key, v) in [
        ("udp_in_flight", srv.udp_in_flight),
        ("tcp_connections", srv.tcp_connections),
        ("tcp_per_client", srv.tcp_per_client),
        ("tcp_pipeline", srv.tcp_pipeline),
    ] {
        if v == 0 {
            return Err(bad(format!("key `server.{key}`: must be at least 1")));
        }
    }
    for (key, v) in [
        ("tcp_idle_ms", srv.tcp_idle_ms),
        ("tcp_message_ms", srv.tcp_message_ms),
    ] {
        if v == 0 {
            return Err(bad(format!("key `server.{key}`: must be at least 1")));
        }
    }
    if u.timeout_ms == 0 || u.timeout_ms > 60_000 {
        return Err(bad(
            "key `upstream.timeout_ms`: use a value between 1 and 60000".into(),
        ));
    }
    if !(1..=300).contains(&u.failure_cache_secs) {
        return Err(bad(
            "key `upstream.failure_cache_secs`: use a value between 1 and 300 (RFC 9520)".into(),
        ));
    }
    Ok(Checked {
        policy: Arc::new(policy),
        listener_profiles,
        notices,
    })
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
        Snapshot {
            policy: self.policy.clone(),
            listener_profiles: self.listener_profiles.clone(),
            observer,
        }
    }
}

/// The profile of each *running* listener under a new configuration. Listeners are matched
/// by their bind addresses, never by position; a listener added, removed or changed (subnets,
/// transports) needs a restart, so the reload is refused rather than half applied.
pub fn map_listeners(
    running: &[ListenerConfig],
    new: &Loaded,
    checked: &Checked,
) -> anyhow::Result<Vec<usize>> {
    let key = |l: &ListenerConfig| {
        let mut b = l.bind.clone();
        b.sort();
        b
    };
    let restart = |what: String| {
        bad(format!(
            "{what}; listener changes take effect on restart (systemctl restart hedge)"
        ))
    };
    if running.len() != new.config.listeners.len() {
        return Err(restart(format!(
            "the number of listeners changed from {} to {}",
            running.len(),
            new.config.listeners.len()
        )));
    }
    running
        .iter()
        .map(|r| {
            let Some(i) = new.config.listeners.iter().position(|n| key(n) == key(r)) else {
                return Err(restart(format!("no listener binds {:?} any more", r.bind)));
            };
            let n = &new.config.listeners[i];
            if n.allow != r.allow || n.udp != r.udp || n.tcp != r.tcp {
                return Err(restart(format!(
                    "the listener on {:?} changed its allow, udp or tcp",
                    r.bind
                )));
            }
            Ok(checked.listener_profiles[i])
        })
        .collect()
}

/// Settings a reload cannot apply, as warnings.
pub fn restart_only_changes(running: &Config, new: &Config) -> Vec<String> {
    let mut out = Vec::new();
    let mut differs = |name: &str, a: String, b: String| {
        if a != b {
            out.push(format!(
                "[{name}] changed: it takes effect on restart, not on reload"
            ));
        }
    };
    differs(
        "upstream",
        format!("{:?}", running.upstream),
        format!("{:?}", new.upstream),
    );
    differs(
        "server",
        format!("{:?}", running.server),
        format!("{:?}", new.server),
    );
    differs(
        "metrics",
        format!("{:?}", running.metrics),
        format!("{:?}", new.metrics),
    );
    out
}

impl Loaded {
    /// The statistics file, absolute.
    pub fn stats_path(&self) -> PathBuf {
        self.base_dir.join(&self.config.stats.path)
    }
}
