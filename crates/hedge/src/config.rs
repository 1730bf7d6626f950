//! `hedge.toml`: loading, and the validation `serve` and `check-config` share.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use hedge_dns::{Limits, ListenerConfig, Snapshot, UpstreamConfig};
use hedge_lists::Index;
use hedge_policy::{Policy, ProfileConfig, TimeZone, Timestamp};
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

/// Everything `serve` checks before binding sockets.
pub fn check(loaded: &Loaded) -> anyhow::Result<Checked> {
    check_with_index(loaded, Arc::new(index_of(loaded)?))
}

/// [`check`] against an index already loaded (the one `loaded` names, or another).
pub fn check_with_index(loaded: &Loaded, index: Arc<Index>) -> anyhow::Result<Checked> {
    let c = &loaded.config;
    let policy = check_policy(loaded, index)?;
    let mut notices = Vec::new();
    for n in policy.notices() {
        if !notices.contains(n) {
            notices.push(n.clone());
        }
    }
    let listener_profiles = check_listeners(&c.listeners, &policy, &mut notices)?;
    notices.extend(crate::network::check(&c.listeners).map_err(bad)?);
    notices.extend(
        loaded
            .upstream()
            .validate()
            .map_err(|e| bad(e.to_string()))?,
    );
    check_stats(&c.stats, &mut notices)?;
    check_metrics(c.metrics.as_ref(), &mut notices);
    check_limits(&c.server)?;
    let portal = c
        .portal
        .as_ref()
        .filter(|p| !p.listen.is_empty())
        .map(|p| crate::portal::check(p, &policy, &loaded.base_dir, &mut notices))
        .transpose()?;
    Ok(Checked {
        policy: Arc::new(policy),
        listener_profiles,
        notices,
        portal,
    })
}

/// The profiles, built into a policy over `index`.
fn check_policy(loaded: &Loaded, index: Arc<Index>) -> anyhow::Result<Policy> {
    let c = &loaded.config;
    if c.profiles.is_empty() {
        return Err(bad(
            "no [[profile]] defined: add at least one (see deploy/hedge.toml)".into(),
        ));
    }
    if c.listeners.is_empty() {
        return Err(bad("no [[listener]] defined: add one per VLAN, with its profile, bind addresses and allowed subnets".into()));
    }
    let zone = time_zone(c.timezone.as_deref())?;
    Policy::new_at(
        index,
        c.profiles.clone(),
        &loaded.base_dir,
        zone,
        Timestamp::now(),
    )
    .map_err(|e| bad(e.to_string()))
}

/// `timezone`: an IANA zone from the system's tz database, or the system's own zone.
pub(crate) fn time_zone(name: Option<&str>) -> anyhow::Result<TimeZone> {
    match name {
        None => Ok(TimeZone::system()),
        Some(name) => TimeZone::get(name).map_err(|e| {
            bad(format!(
                "key `timezone`: unknown time zone `{name}` ({e}); use an IANA name such as \"Europe/London\" (the tz database comes with the tzdata package)"
            ))
        }),
    }
}

/// Each listener's profile id; refuses listeners that would serve nothing, bind a wildcard
/// or an address twice, or make hedge an open resolver.
fn check_listeners(
    listeners: &[ListenerConfig],
    policy: &Policy,
    notices: &mut Vec<String>,
) -> anyhow::Result<Vec<usize>> {
    let mut listener_profiles = Vec::new();
    let mut seen_binds = HashSet::new();
    for (i, l) in listeners.iter().enumerate() {
        let at = |key: &str| format!("listener {} (profile `{}`), key `{key}`", i + 1, l.profile);
        let Some(p) = policy.profile_id(&l.profile) else {
            return Err(bad(format!(
                "{}: no profile is named `{}`",
                at("profile"),
                l.profile
            )));
        };
        listener_profiles.push(p);
        check_binds(l, &mut seen_binds).map_err(|e| bad(format!("{}: {e}", at("bind"))))?;
        check_allow(l).map_err(|e| bad(format!("{}: {e}", at("allow"))))?;
        if !l.udp && !l.tcp {
            return Err(bad(format!(
                "{}: udp and tcp are both off; the listener would serve nothing",
                at("udp")
            )));
        }
        notices.extend(overlapping_profiles(listeners, i));
    }
    Ok(listener_profiles)
}

/// `bind`: explicit addresses, none bound by an earlier listener (recorded in `seen`).
fn check_binds(l: &ListenerConfig, seen: &mut HashSet<SocketAddr>) -> Result<(), String> {
    if l.bind.is_empty() {
        return Err("give at least one address, e.g. bind = [\"10.20.0.53:53\"]".into());
    }
    for b in &l.bind {
        if b.ip().is_unspecified() {
            return Err(format!(
                "{b} is a wildcard; bind each address explicitly (a wildcard bind makes UDP replies leave from the wrong source address)"
            ));
        }
        if !seen.insert(*b) {
            return Err(format!("{b} is bound by another listener too"));
        }
    }
    Ok(())
}

/// `allow`: some subnets, and no public address space unless `allow_public` says so.
fn check_allow(l: &ListenerConfig) -> Result<(), String> {
    if l.allow.is_empty() {
        return Err("list the client subnets this listener serves, e.g. allow = [\"10.20.0.0/16\"]; hedge is never an open resolver".into());
    }
    if !l.allow_public
        && let Some(open) = l
            .allow
            .iter()
            .find(|n| crate::public_space::covers_public(n))
    {
        return Err(format!(
            "{open} covers public address space, so anyone on the internet who can reach this listener could use hedge (an open resolver, which attackers use to amplify floods); list your own client subnets, or, if they really are public addresses (a campus's global IPv6 prefix), set `allow_public = true` on this listener"
        ));
    }
    Ok(())
}

/// Warnings for subnets that listener `i` and an earlier listener of another profile both
/// allow: their clients can pick the less filtered profile. Overlaps within loopback are
/// left out: a loopback client runs on the hedge host itself, which reaches the internet
/// unfiltered anyway (hedge resolves from it), so choosing a profile gains it nothing.
fn overlapping_profiles(listeners: &[ListenerConfig], i: usize) -> Vec<String> {
    let l = &listeners[i];
    let mut notices = Vec::new();
    for (j, other) in listeners.iter().enumerate().take(i) {
        if other.profile == l.profile {
            continue;
        }
        for a in &l.allow {
            if let Some(b) = other.allow.iter().find(|b| {
                let overlap = a.contains(&b.network()) || b.contains(&a.network());
                // Subnets nest or are apart: the narrower one is what both allow.
                let shared = if a.prefix_len() >= b.prefix_len() {
                    a
                } else {
                    b
                };
                overlap && !only_loopback(shared)
            }) {
                notices.push(format!(
                    "listener {} (`{}`) allows {a} and listener {} (`{}`) allows {b}: clients in both can pick the less filtered profile by choosing its server",
                    i + 1, l.profile, j + 1, other.profile
                ));
            }
        }
    }
    notices
}

/// Whether every address of `net` is a loopback one (in 127.0.0.0/8, or ::1).
fn only_loopback(net: &ipnet::IpNet) -> bool {
    match net {
        ipnet::IpNet::V4(n) => n.prefix_len() >= 8 && n.network().is_loopback(),
        ipnet::IpNet::V6(n) => n.prefix_len() == 128 && n.network().is_loopback(),
    }
}

/// `[stats]`: retention, and the query log's client addresses.
fn check_stats(s: &StatsConfig, notices: &mut Vec<String>) -> anyhow::Result<()> {
    if s.retention_days == 0 {
        return Err(bad("key `stats.retention_days`: must be at least 1 (set `stats.enabled = false` to stop counting)".into()));
    }
    let log = &s.query_log;
    if log.enabled
        && log.clients == ClientMode::Hash
        && log.hash_key.as_deref().is_none_or(str::is_empty)
    {
        return Err(bad(
            "key `stats.query_log.hash_key`: clients = \"hash\" needs a secret key".into(),
        ));
    }
    if log.enabled && log.clients == ClientMode::Full {
        notices.push("stats.query_log keeps full client addresses: make sure your privacy notice says so (docs/privacy.md)".into());
    }
    Ok(())
}

/// `[metrics]`: a warning when the endpoint is reachable from off the host.
fn check_metrics(metrics: Option<&MetricsConfig>, notices: &mut Vec<String>) {
    if let Some(m) = metrics
        && !m.listen.ip().is_loopback()
    {
        notices.push(format!("metrics.listen = {} is not a loopback address: anyone who can reach it sees traffic figures", m.listen));
    }
}

/// `[server]`: every limit at least 1 (a zero would refuse all work).
fn check_limits(srv: &Limits) -> anyhow::Result<()> {
    let Limits {
        udp_in_flight,
        tcp_connections,
        tcp_per_client,
        tcp_pipeline,
        tcp_idle_ms,
        tcp_message_ms,
    } = srv;
    let zero = [
        ("udp_in_flight", *udp_in_flight == 0),
        ("tcp_connections", *tcp_connections == 0),
        ("tcp_per_client", *tcp_per_client == 0),
        ("tcp_pipeline", *tcp_pipeline == 0),
        ("tcp_idle_ms", *tcp_idle_ms == 0),
        ("tcp_message_ms", *tcp_message_ms == 0),
    ]
    .into_iter()
    .find(|(_, zero)| *zero);
    match zero {
        Some((key, _)) => Err(bad(format!("key `server.{key}`: must be at least 1"))),
        None => Ok(()),
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

/// The settings a reload cannot apply, as warnings: what differs from the configuration
/// hedge started with. Every field is named: a new one does not compile until someone
/// decides whether a reload applies it.
pub fn restart_only_changes(started: &Config, new: &Config) -> Vec<String> {
    let Config {
        // Reloaded: the new index and policy are swapped in whole.
        index: _,
        profiles: _,
        // Reloaded with the profiles: schedules are resolved in it.
        timezone: _,
        // Each running listener keeps its sockets and gets its new profile; any other
        // change refuses the reload (see `map_listeners`).
        listeners: _,
        // Reloaded: `serve` restarts counting when `[stats]` differs from what it applied
        // last (not from the start: that would restart it on every later reload).
        stats: _,
        upstream,
        server,
        metrics,
        // `policy show` reads `procedure` afresh each time; the running portal keeps what
        // it started with.
        portal,
    } = started;
    [
        ("upstream", *upstream != new.upstream),
        ("server", *server != new.server),
        ("metrics", *metrics != new.metrics),
        ("portal", *portal != new.portal),
    ]
    .into_iter()
    .filter(|(_, changed)| *changed)
    .map(|(name, _)| format!("[{name}] changed: it takes effect on restart, not on reload"))
    .collect()
}

impl Loaded {
    /// The statistics file, absolute.
    pub fn stats_path(&self) -> PathBuf {
        self.base_dir.join(&self.config.stats.path)
    }
}
