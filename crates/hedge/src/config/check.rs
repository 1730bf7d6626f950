//! The checks `serve`, `check-config` and a reload share: a configuration that passes them
//! can be served.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;

use hedge_dns::{Limits, ListenerConfig};
use hedge_lists::Index;
use hedge_policy::{Policy, TimeZone, Timestamp};

use super::{Checked, ClientMode, Loaded, MetricsConfig, StatsConfig, bad, index_of};

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
