//! What a reload may change in place, and what needs a restart.

use hedge_dns::ListenerConfig;

use super::{Checked, Config, Loaded, bad};

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
