//! Listener, upstream and limit settings (the `[[listener]]`, `[upstream]` and `[server]`
//! tables of `hedge.toml`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use serde::{Deserialize, Serialize};

use crate::error::DnsError;

/// One DNS listener: a profile served on some addresses to some subnets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListenerConfig {
    /// The profile its clients get.
    pub profile: String,
    /// Addresses to bind, each explicitly (a wildcard bind makes UDP replies leave from the
    /// wrong source address on multi-homed hosts), e.g. `["10.20.0.53:53", "[fd00:20::53]:53"]`.
    pub bind: Vec<SocketAddr>,
    /// Source subnets allowed to query; anything else gets REFUSED (EDE 18) over UDP, and
    /// its TCP connections are closed at once. Required: hedge is never an open resolver.
    pub allow: Vec<IpNet>,
    /// Lets `allow` cover public (globally routed) address space, e.g. a campus's own global
    /// IPv6 prefix (default false: check-config refuses such subnets, so that `0.0.0.0/0`
    /// can never make hedge an open resolver by mistake).
    #[serde(default)]
    pub allow_public: bool,
    /// Serve UDP (default true).
    #[serde(default = "yes")]
    pub udp: bool,
    /// Serve TCP (default true).
    #[serde(default = "yes")]
    pub tcp: bool,
    /// The VLAN and subnets its clients are on, for `hedge network` to write DHCP and
    /// interface configuration from (optional). The resolver never reads it: it lives here
    /// because this table rejects unknown keys, and a flattened wrapper in hedge would not.
    #[serde(default)]
    pub network: Option<ListenerNetwork>,
}

/// `[listener.network]`: the client network a listener serves (data only; `hedge
/// network` checks it and writes DHCP and interface configuration from it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListenerNetwork {
    /// 802.1Q VLAN id (1 to 4094), unique across listeners.
    pub vlan: u16,
    /// The VLAN's IPv4 subnet, e.g. `10.20.0.0/16`.
    #[serde(default)]
    pub subnet: Option<Ipv4Net>,
    /// The IPv4 default router DHCP hands out.
    #[serde(default)]
    pub gateway: Option<Ipv4Addr>,
    /// First and last address DHCP leases, e.g. `["10.20.1.0", "10.20.255.254"]`.
    #[serde(default)]
    pub pool: Option<[Ipv4Addr; 2]>,
    /// The VLAN's IPv6 prefix, e.g. `fd00:20::/64` (announced with RDNSS).
    #[serde(default)]
    pub subnet6: Option<Ipv6Net>,
    /// First and last address DHCPv6 leases (without it, addresses come from SLAAC and
    /// DHCPv6 only hands out the DNS servers).
    #[serde(default)]
    pub pool6: Option<[Ipv6Addr; 2]>,
}

fn yes() -> bool {
    true
}

/// How allowed names are resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamConfig {
    /// `recursive` (default): full recursion from the root. `forward`: ask `servers`.
    #[serde(default)]
    pub mode: UpstreamMode,
    /// A root hints file (zone-file A/AAAA records); default: the built-in IANA root servers.
    #[serde(default)]
    pub root_hints: Option<PathBuf>,
    /// Root server addresses, instead of a hints file (for private roots and tests).
    #[serde(default)]
    pub roots: Vec<IpAddr>,
    /// Networks the recursor may query although they are loopback or private (it refuses
    /// them by default, against DNS rebinding of the resolver itself).
    #[serde(default)]
    pub allow_servers: Vec<IpNet>,
    /// Forwarding targets, for `mode = "forward"`.
    #[serde(default)]
    pub servers: Vec<ForwardServer>,
    /// Give up on an upstream answer after this long (milliseconds, default 3000); the
    /// client then gets SERVFAIL. A client with a stale answer cached gets it after 1.8 s
    /// at most (RFC 8767), while the fetch goes on to refresh the cache.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// After a question fails upstream (timeout, SERVFAIL, REFUSED, unreachable), answer
    /// it from the failure for this many seconds without asking again (RFC 9520; default
    /// 5, 1 to 300); doubled while it keeps failing, up to 60 s (or this value if larger).
    #[serde(default = "default_failure_cache_secs")]
    pub failure_cache_secs: u32,
    /// Answers kept in the response cache (default 20000; about 40 bytes each plus the
    /// encoded answer).
    #[serde(default = "default_cache_size")]
    pub cache_size: usize,
    /// Serve expired answers for up to this many seconds when upstreams fail (RFC 8767;
    /// default 86400, 0 turns it off).
    #[serde(default = "default_stale_secs")]
    pub serve_stale_secs: u32,
}

impl Default for UpstreamConfig {
    fn default() -> Self {
        UpstreamConfig {
            mode: UpstreamMode::Recursive,
            root_hints: None,
            roots: Vec::new(),
            allow_servers: Vec::new(),
            servers: Vec::new(),
            timeout_ms: default_timeout_ms(),
            failure_cache_secs: default_failure_cache_secs(),
            cache_size: default_cache_size(),
            serve_stale_secs: default_stale_secs(),
        }
    }
}

fn default_timeout_ms() -> u64 {
    3000
}
fn default_failure_cache_secs() -> u32 {
    5
}
fn default_cache_size() -> usize {
    20_000
}
fn default_stale_secs() -> u32 {
    86_400
}

/// Recursion or forwarding.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UpstreamMode {
    /// Full recursion from the root hints.
    #[default]
    Recursive,
    /// Forward to `servers`.
    Forward,
}

/// A forwarding target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForwardServer {
    /// Its address.
    pub address: IpAddr,
    /// `udp` (UDP with TCP fallback, default), `tcp`, `tls` (DoT) or `https` (DoH).
    #[serde(default)]
    pub protocol: ForwardProtocol,
    /// Port (default 53, 853 for tls, 443 for https).
    #[serde(default)]
    pub port: Option<u16>,
    /// Name in the server's certificate, required for tls and https (e.g. `dns.quad9.net`).
    #[serde(default)]
    pub tls_name: Option<String>,
    /// DoH path (default `/dns-query`).
    #[serde(default)]
    pub path: Option<String>,
    /// For tls and https: a PEM file of the CA certificate(s) the server's certificate must
    /// chain to, instead of the public roots (e.g. a council's internal CA). Default: the
    /// public web PKI roots.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
}

impl ForwardServer {
    /// The name its certificate must carry; tls and https need one.
    pub(crate) fn tls_name(&self) -> Result<&str, DnsError> {
        self.tls_name
            .as_deref()
            .filter(|name| !name.is_empty())
            .ok_or_else(|| {
                DnsError::Config(format!(
                    "key `upstream.servers` ({}): tls and https need `tls_name`, the name in the server's certificate",
                    self.address
                ))
            })
    }
}

/// Forwarding transport.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ForwardProtocol {
    /// UDP, retrying over TCP when truncated.
    #[default]
    Udp,
    /// TCP.
    Tcp,
    /// DNS over TLS (certificates verified against `ca_file`, or the webpki roots).
    Tls,
    /// DNS over HTTPS (certificates verified against `ca_file`, or the webpki roots).
    Https,
}

impl ForwardProtocol {
    /// DoT or DoH: the server has a certificate.
    pub(crate) fn is_encrypted(self) -> bool {
        matches!(self, ForwardProtocol::Tls | ForwardProtocol::Https)
    }
}

/// Resource bounds of the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// UDP queries being resolved at once per listener address (default 4096); beyond it,
    /// SERVFAIL with an EDE saying the resolver is busy.
    #[serde(default = "default_udp_in_flight")]
    pub udp_in_flight: usize,
    /// Open TCP connections per listener address (default 256). When all are taken, a new
    /// connection replaces the one idle longest.
    #[serde(default = "default_tcp_connections")]
    pub tcp_connections: usize,
    /// Open TCP connections per client address and listener address (default 16); a client
    /// at its cap replaces its own connection idle longest.
    #[serde(default = "default_tcp_per_client")]
    pub tcp_per_client: usize,
    /// Queries in flight on one TCP connection (default 32); pipelined queries are
    /// answered as they complete, not in order.
    #[serde(default = "default_tcp_pipeline")]
    pub tcp_pipeline: usize,
    /// Close a TCP connection idle for this long (milliseconds, default 10000).
    #[serde(default = "default_tcp_idle_ms")]
    pub tcp_idle_ms: u64,
    /// A TCP message (query, or answer being sent) must be complete within this long of its
    /// first byte (milliseconds, default 2000), so a client sending a byte at a time cannot
    /// hold a connection.
    #[serde(default = "default_tcp_message_ms")]
    pub tcp_message_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            udp_in_flight: default_udp_in_flight(),
            tcp_connections: default_tcp_connections(),
            tcp_per_client: default_tcp_per_client(),
            tcp_pipeline: default_tcp_pipeline(),
            tcp_idle_ms: default_tcp_idle_ms(),
            tcp_message_ms: default_tcp_message_ms(),
        }
    }
}

fn default_udp_in_flight() -> usize {
    4096
}
fn default_tcp_connections() -> usize {
    256
}
fn default_tcp_per_client() -> usize {
    16
}
fn default_tcp_pipeline() -> usize {
    32
}
fn default_tcp_idle_ms() -> u64 {
    10_000
}
fn default_tcp_message_ms() -> u64 {
    2000
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Upstream;

    /// `Upstream::new` (serve, explain) refuses what `validate` (check-config) refuses, with
    /// the same message.
    #[test]
    fn the_upstream_refuses_what_validation_refuses() {
        let server = |protocol, tls_name: Option<&str>| ForwardServer {
            address: IpAddr::from([192, 0, 2, 53]),
            protocol,
            port: None,
            tls_name: tls_name.map(str::to_string),
            path: None,
            ca_file: None,
        };
        let forward = |servers| UpstreamConfig {
            mode: UpstreamMode::Forward,
            servers,
            ..UpstreamConfig::default()
        };
        for cfg in [
            forward(Vec::new()),
            forward(vec![server(ForwardProtocol::Tls, None)]),
            forward(vec![server(ForwardProtocol::Https, Some(""))]),
            UpstreamConfig {
                timeout_ms: 0,
                ..UpstreamConfig::default()
            },
            UpstreamConfig {
                failure_cache_secs: 301,
                ..UpstreamConfig::default()
            },
            UpstreamConfig {
                root_hints: Some(PathBuf::from("/nonexistent/named.root")),
                ..UpstreamConfig::default()
            },
        ] {
            let refused = cfg.validate().expect_err("invalid").to_string();
            assert!(refused.starts_with("key `upstream."), "{refused}");
            let started = Upstream::new(&cfg).err().map(|e| e.to_string());
            assert_eq!(started.as_deref(), Some(refused.as_str()), "{cfg:?}");
        }
    }
}
