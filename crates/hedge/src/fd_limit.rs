//! File descriptors: `serve` raises its soft limit to the hard one, and checks that the
//! listeners and `[server]` limits fit in it, so a flood of connections meets hedge's own
//! caps rather than EMFILE.

use crate::config::Config;

/// Descriptors beyond the listeners: the index, the statistics database, the metrics
/// endpoint, the runtime's own, and upstream sockets in ordinary use.
const MARGIN: u64 = 64;

/// Raises the soft RLIMIT_NOFILE to the hard limit; returns the limit now in force.
pub fn raise() -> std::io::Result<u64> {
    rlimit::increase_nofile_limit(u64::MAX)
}

/// The hard limit: what `serve` can raise its soft limit to.
pub fn hard() -> std::io::Result<u64> {
    rlimit::getrlimit(rlimit::Resource::NOFILE).map(|(_, hard)| hard)
}

/// What the configuration may keep open at once.
pub struct Budget {
    /// Listener sockets, every TCP connection slot, and [`MARGIN`].
    pub needed: u64,
    /// How `needed` adds up, for the message.
    pub parts: String,
    /// Besides `needed`, the upstream sockets of UDP queries in flight (up to
    /// `server.udp_in_flight` per UDP address, each may wait on its own socket).
    pub upstream: u64,
}

/// Counts the descriptors `config` can hold open.
pub fn budget(config: &Config) -> Budget {
    let (mut udp, mut tcp) = (0u64, 0u64);
    for l in &config.listeners {
        let addresses = l.bind.len() as u64;
        udp += if l.udp { addresses } else { 0 };
        tcp += if l.tcp { addresses } else { 0 };
    }
    let s = &config.server;
    let connections = s.tcp_connections as u64;
    // The portal: its sockets (HTTP, and HTTPS with a certificate) and every connection slot.
    let portal = config
        .portal
        .as_ref()
        .filter(|p| !p.listen.is_empty())
        .map_or(0, |p| {
            let sockets = if p.tls_cert.is_some() { 2 } else { 1 };
            p.listen.len() as u64 * sockets + p.max_connections as u64
        });
    let portal_part = if portal > 0 {
        format!(" + {portal} for the portal (portal.max_connections and its sockets)")
    } else {
        String::new()
    };
    Budget {
        needed: tcp * (connections + 1) + udp + MARGIN + portal,
        parts: format!(
            "{tcp} TCP addresses × (server.tcp_connections = {connections} + 1) + {udp} UDP sockets + {MARGIN} for files and upstream{portal_part}"
        ),
        upstream: udp * s.udp_in_flight as u64,
    }
}

/// Checks `config` against `limit`: an error when its listeners cannot fit, a warning when
/// only a full load of upstream queries might not.
pub fn check(config: &Config, limit: u64) -> Result<Option<String>, String> {
    let b = budget(config);
    if b.needed > limit {
        return Err(format!(
            "the listeners need {} file descriptors ({}), but the limit (RLIMIT_NOFILE) is {limit}: lower `server.tcp_connections`, `portal.max_connections` or the number of `bind` addresses, or raise the limit (LimitNOFILE= in hedge.service)",
            b.needed, b.parts
        ));
    }
    let with_upstream = b.needed + b.upstream;
    Ok((with_upstream > limit).then(|| format!(
        "with `server.udp_in_flight` queries in flight on every UDP address, each waiting on an upstream socket, hedge could need {with_upstream} file descriptors, more than the limit (RLIMIT_NOFILE) of {limit}: lower `server.udp_in_flight` or raise the limit (LimitNOFILE= in hedge.service)"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> Config {
        toml::from_str(text).expect("config")
    }

    #[test]
    fn listeners_that_cannot_fit_are_refused_with_the_keys_to_lower() {
        let c = config(
            "[[listener]]\nprofile = \"p\"\nbind = [\"10.0.0.1:53\", \"10.0.0.2:53\"]\nallow = [\"10.0.0.0/8\"]\n\
             [[listener]]\nprofile = \"p\"\nbind = [\"10.1.0.1:53\"]\nallow = [\"10.1.0.0/16\"]\ntcp = false\n",
        );
        let b = budget(&c);
        // 2 TCP addresses × 257 + 3 UDP sockets + the margin.
        assert_eq!(b.needed, 2 * 257 + 3 + MARGIN);
        assert_eq!(b.upstream, 3 * 4096);
        let e = check(&c, b.needed - 1).expect_err("one short");
        assert!(
            e.contains("server.tcp_connections") && e.contains("LimitNOFILE"),
            "{e}"
        );
        let warning = check(&c, b.needed).expect("fits").expect("a warning");
        assert!(warning.contains("server.udp_in_flight"), "{warning}");
        assert_eq!(check(&c, b.needed + b.upstream), Ok(None));
    }
}
