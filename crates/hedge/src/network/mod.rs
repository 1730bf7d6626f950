//! `hedge network`: DHCP and interface configuration written from the listeners'
//! `[listener.network]` tables, so the VLANs hand out exactly the addresses hedge serves.
//!
//! [`plan`] turns the checked configuration into one [`Vlan`] per listener with a network;
//! each format module writes files from those, and [`check`] is what check-config runs.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use hedge_dns::ListenerConfig;
use ipnet::{Ipv4Net, Ipv6Net};

pub mod check;
mod dnsmasq;
mod ifupdown;
mod isc;
mod kea;
mod netplan;
mod networkd;
mod radvd;

pub use check::check;

/// Leases last 12 hours: a library PC session is shorter, a VLAN renumbering rarer.
const LEASE_SECS: u32 = 43_200;

/// One generated file: its name inside the output folder, and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    pub name: String,
    pub text: String,
    /// Only root may read it (netplan warns about, and will refuse, files others can read).
    pub private: bool,
}

/// A listener's VLAN, as the generators see it.
#[derive(Debug, Clone)]
pub struct Vlan {
    /// 1-based position of the listener in hedge.toml (named in comments).
    pub listener: usize,
    pub profile: String,
    pub id: u16,
    /// The VLAN interface on the hedge host: `<parent>.<id>`.
    pub interface: String,
    pub v4: Option<V4>,
    pub v6: Option<V6>,
}

#[derive(Debug, Clone)]
pub struct V4 {
    pub subnet: Ipv4Net,
    pub gateway: Option<Ipv4Addr>,
    pub pool: [Ipv4Addr; 2],
    /// The listener's port-53 IPv4 addresses: the DNS servers DHCP hands out.
    pub dns: Vec<Ipv4Addr>,
}

#[derive(Debug, Clone)]
pub struct V6 {
    pub subnet: Ipv6Net,
    pub pool: Option<[Ipv6Addr; 2]>,
    /// The listener's port-53 IPv6 addresses: DHCPv6 and RDNSS servers.
    pub dns: Vec<Ipv6Addr>,
}

impl V4 {
    /// The listener addresses that sit on this subnet, with its prefix (the host's
    /// addresses on the VLAN interface).
    pub fn host_addresses(&self) -> Vec<Ipv4Net> {
        self.dns
            .iter()
            .filter(|a| self.subnet.contains(*a))
            .filter_map(|a| Ipv4Net::new(*a, self.subnet.prefix_len()).ok())
            .collect()
    }
}

impl V6 {
    /// As [`V4::host_addresses`].
    pub fn host_addresses(&self) -> Vec<Ipv6Net> {
        self.dns
            .iter()
            .filter(|a| self.subnet.contains(*a))
            .filter_map(|a| Ipv6Net::new(*a, self.subnet.prefix_len()).ok())
            .collect()
    }
}

/// DHCP server software `hedge network dhcp` writes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DhcpFormat {
    /// kea-dhcp4.conf and kea-dhcp6.conf (JSON), radvd.conf for RDNSS.
    Kea,
    /// One dnsmasq file: DHCPv4, DHCPv6 and router advertisements (DNS off: port=0).
    Dnsmasq,
    /// dhcpd.conf and dhcpd6.conf (isc-dhcp-server), radvd.conf for RDNSS.
    Isc,
}

/// Interface configuration `hedge network interfaces` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum InterfacesFormat {
    /// systemd-networkd .netdev and .network files.
    Networkd,
    /// One netplan YAML file.
    Netplan,
    /// One /etc/network/interfaces.d file.
    Ifupdown,
}

/// The VLANs of the listeners that have a network, on `parent` (the trunk interface).
/// `listeners` must have passed [`check`].
pub fn plan(listeners: &[ListenerConfig], parent: &str) -> Result<Vec<Vlan>, String> {
    check_interface_name(parent)?;
    let vlans: Vec<Vlan> = listeners
        .iter()
        .enumerate()
        .filter_map(|(i, l)| {
            let n = l.network.as_ref()?;
            let port53 = |want_v4: bool| {
                l.bind
                    .iter()
                    .filter(move |b| b.port() == 53 && b.is_ipv4() == want_v4)
                    .map(|b| b.ip())
            };
            let dns4 = dedup(port53(true).filter_map(|ip| match ip {
                IpAddr::V4(a) => Some(a),
                IpAddr::V6(_) => None,
            }));
            let dns6 = dedup(port53(false).filter_map(|ip| match ip {
                IpAddr::V6(a) => Some(a),
                IpAddr::V4(_) => None,
            }));
            Some(Vlan {
                listener: i + 1,
                profile: l.profile.clone(),
                id: n.vlan,
                interface: format!("{parent}.{}", n.vlan),
                v4: n.subnet.zip(n.pool).map(|(subnet, pool)| V4 {
                    subnet,
                    gateway: n.gateway,
                    pool,
                    dns: dns4,
                }),
                v6: n.subnet6.map(|subnet| V6 {
                    subnet,
                    pool: n.pool6,
                    dns: dns6,
                }),
            })
        })
        .collect();
    if vlans.is_empty() {
        return Err("no listener has a [listener.network] table: add one with `vlan` and `subnet` (docs/configuration.md)".into());
    }
    if let Some(long) = vlans.iter().find(|v| v.interface.len() > MAX_IFNAME) {
        return Err(format!(
            "--parent: the VLAN interface name `{}` is longer than Linux's {MAX_IFNAME} characters; use a shorter parent name",
            long.interface
        ));
    }
    Ok(vlans)
}

/// The DHCP server files for `vlans`.
pub fn dhcp(vlans: &[Vlan], format: DhcpFormat) -> Vec<File> {
    let mut files = match format {
        DhcpFormat::Kea => kea::files(vlans),
        DhcpFormat::Dnsmasq => return vec![dnsmasq::file(vlans)],
        DhcpFormat::Isc => isc::files(vlans),
    };
    files.extend(radvd::file(vlans));
    files
}

/// The host's VLAN interface files for `vlans`.
pub fn interfaces(vlans: &[Vlan], format: InterfacesFormat, parent: &str) -> Vec<File> {
    match format {
        InterfacesFormat::Networkd => networkd::files(vlans, parent),
        InterfacesFormat::Netplan => vec![netplan::file(vlans, parent)],
        InterfacesFormat::Ifupdown => vec![ifupdown::file(vlans, parent)],
    }
}

/// Linux's IFNAMSIZ less the terminating NUL.
const MAX_IFNAME: usize = 15;

/// A Linux interface name: what the kernel accepts, and nothing a config file would read
/// as syntax (no spaces, quotes, braces or comment characters).
fn check_interface_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= MAX_IFNAME
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "--parent: `{name}` is not an interface name (1 to {MAX_IFNAME} letters, digits, `-`, `_` or `.`)"
        ))
    }
}

fn dedup<T: PartialEq>(items: impl Iterator<Item = T>) -> Vec<T> {
    let mut out = Vec::new();
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

/// The comment line that says where a block came from (the profile name is a TOML string:
/// Debug-quoted so a newline in it cannot end the comment).
fn origin(v: &Vlan) -> String {
    format!(
        "listener {} (profile {:?}), VLAN {} on {}",
        v.listener, v.profile, v.id, v.interface
    )
}

/// The header every line-based file starts with.
fn header(comment: &str) -> String {
    format!(
        "{comment} Written by `hedge network` from hedge.toml: edit hedge.toml and write it again.\n"
    )
}
