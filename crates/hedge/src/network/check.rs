//! What check-config checks of the `[listener.network]` tables: errors for values no DHCP
//! server or kernel would take (naming the key), warnings for settings that defeat hedge.

use std::collections::HashMap;
use std::net::IpAddr;

use hedge_dns::{ListenerConfig, ListenerNetwork};
use ipnet::IpNet;

/// Warnings for the listeners' networks, or the first error, naming listener and key.
pub fn check(listeners: &[ListenerConfig]) -> Result<Vec<String>, String> {
    let mut notices = Vec::new();
    let mut vlans: HashMap<u16, usize> = HashMap::new();
    let mut subnets: Vec<(IpNet, usize)> = Vec::new();
    for (i, l) in listeners.iter().enumerate() {
        let Some(n) = &l.network else { continue };
        let at = |key: &str| {
            format!(
                "listener {} (profile `{}`), key `network.{key}`",
                i + 1,
                l.profile
            )
        };
        if !(1..=4094).contains(&n.vlan) {
            return Err(format!(
                "{}: {} is not a VLAN id (1 to 4094)",
                at("vlan"),
                n.vlan
            ));
        }
        if let Some(first) = vlans.insert(n.vlan, i) {
            return Err(format!(
                "{}: VLAN {} is also listener {}'s; each VLAN is one network with one listener",
                at("vlan"),
                n.vlan,
                first + 1
            ));
        }
        check_v4(l, n).map_err(|(key, e)| format!("{}: {e}", at(key)))?;
        check_v6(l, n).map_err(|(key, e)| format!("{}: {e}", at(key)))?;
        let own = [n.subnet.map(IpNet::V4), n.subnet6.map(IpNet::V6)];
        for (key, net) in ["subnet", "subnet6"].into_iter().zip(own) {
            let Some(net) = net else { continue };
            if !l.allow.iter().any(|a| a.contains(&net)) {
                notices.push(format!(
                    "{}: {net} is not covered by the listener's `allow`, so its DHCP clients would be REFUSED; add it to `allow`",
                    at(key)
                ));
            }
            if let Some((other, j)) = subnets
                .iter()
                .find(|(o, _)| o.contains(&net) || net.contains(o))
            {
                return Err(format!(
                    "{}: {net} overlaps listener {}'s {other}; each VLAN needs its own subnet",
                    at(key),
                    j + 1
                ));
            }
            subnets.push((net, i));
        }
    }
    Ok(notices)
}

type KeyError = (&'static str, String);

fn check_v4(l: &ListenerConfig, n: &ListenerNetwork) -> Result<(), KeyError> {
    let Some(subnet) = n.subnet else {
        return match (n.gateway, n.pool) {
            (Some(_), _) => Err(("gateway", "needs `subnet`".into())),
            (_, Some(_)) => Err(("pool", "needs `subnet`".into())),
            _ => Ok(()),
        };
    };
    if subnet.trunc() != subnet {
        return Err((
            "subnet",
            format!("{subnet} has host bits set; write {}", subnet.trunc()),
        ));
    }
    let usable = |a: &std::net::Ipv4Addr| {
        subnet.contains(a)
            && (subnet.prefix_len() >= 31 || (*a != subnet.network() && *a != subnet.broadcast()))
    };
    if let Some(g) = n.gateway
        && !usable(&g)
    {
        return Err((
            "gateway",
            format!("{g} is not a host address of subnet {subnet}"),
        ));
    }
    let Some([first, last]) = n.pool else {
        return Err((
            "pool",
            format!(
                "give the first and last address DHCP leases in {subnet}, e.g. pool = [\"{}\", \"{}\"]",
                subnet.hosts().nth(99).unwrap_or(subnet.network()),
                std::net::Ipv4Addr::from(u32::from(subnet.broadcast()).saturating_sub(1))
            ),
        ));
    };
    if !usable(&first) || !usable(&last) || first > last {
        return Err((
            "pool",
            format!(
                "[{first}, {last}] must be a first and a last host address of subnet {subnet}, first ≤ last"
            ),
        ));
    }
    let in_pool = |a: std::net::Ipv4Addr| (first..=last).contains(&a);
    if let Some(g) = n.gateway.filter(|g| in_pool(*g)) {
        return Err((
            "pool",
            format!("[{first}, {last}] contains the gateway {g}: DHCP would lease it to a PC"),
        ));
    }
    if let Some(b) = l
        .bind
        .iter()
        .find(|b| matches!(b.ip(), IpAddr::V4(a) if in_pool(a)))
    {
        return Err((
            "pool",
            format!(
                "[{first}, {last}] contains the listener's address {}: DHCP would lease it to a PC",
                b.ip()
            ),
        ));
    }
    if !l.bind.iter().any(|b| b.is_ipv4() && b.port() == 53) {
        return Err(("subnet", "the listener binds no IPv4 address on port 53 for DHCP to hand out (DHCP cannot name another port)".into()));
    }
    Ok(())
}

fn check_v6(l: &ListenerConfig, n: &ListenerNetwork) -> Result<(), KeyError> {
    let Some(subnet) = n.subnet6 else {
        return match n.pool6 {
            Some(_) => Err(("pool6", "needs `subnet6`".into())),
            None => Ok(()),
        };
    };
    if subnet.trunc() != subnet {
        return Err((
            "subnet6",
            format!("{subnet} has host bits set; write {}", subnet.trunc()),
        ));
    }
    if n.pool6.is_none() && subnet.prefix_len() != 64 {
        return Err((
            "subnet6",
            format!("{subnet}: addresses without `pool6` come from SLAAC, which needs a /64"),
        ));
    }
    if let Some([first, last]) = n.pool6 {
        if !subnet.contains(&first)
            || !subnet.contains(&last)
            || first > last
            || first == subnet.network()
        {
            return Err((
                "pool6",
                format!(
                    "[{first}, {last}] must be a first and a last host address of subnet6 {subnet}, first ≤ last"
                ),
            ));
        }
        if let Some(b) = l
            .bind
            .iter()
            .find(|b| matches!(b.ip(), IpAddr::V6(a) if (first..=last).contains(&a)))
        {
            return Err((
                "pool6",
                format!(
                    "[{first}, {last}] contains the listener's address {}: DHCPv6 would lease it to a PC",
                    b.ip()
                ),
            ));
        }
    }
    if !l.bind.iter().any(|b| b.is_ipv6() && b.port() == 53) {
        return Err((
            "subnet6",
            "the listener binds no IPv6 address on port 53 for DHCPv6 and RDNSS to hand out".into(),
        ));
    }
    Ok(())
}
