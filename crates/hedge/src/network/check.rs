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

#[cfg(test)]
mod tests {
    use super::*;

    /// Listeners from TOML: `[[listener]]` tables as in hedge.toml.
    fn listeners(toml_text: &str) -> Vec<ListenerConfig> {
        #[derive(serde::Deserialize)]
        struct File {
            listener: Vec<ListenerConfig>,
        }
        toml::from_str::<File>(toml_text)
            .expect("test TOML")
            .listener
    }

    fn child(network: &str) -> String {
        format!(
            "[[listener]]\nprofile = \"child\"\nbind = [\"10.20.0.53:53\", \"[fd00:20::53]:53\"]\nallow = [\"10.20.0.0/16\", \"fd00:20::/64\"]\n[listener.network]\nvlan = 20\n{network}\n"
        )
    }

    const GOOD: &str = "subnet = \"10.20.0.0/16\"\ngateway = \"10.20.0.1\"\npool = [\"10.20.1.0\", \"10.20.255.254\"]\nsubnet6 = \"fd00:20::/64\"";

    fn error(toml_text: &str) -> String {
        check(&listeners(toml_text)).expect_err("check refuses it")
    }

    #[test]
    fn a_good_network_passes_without_warnings() {
        assert_eq!(check(&listeners(&child(GOOD))), Ok(vec![]));
    }

    #[test]
    fn values_no_dhcp_server_takes_are_errors_naming_the_key() {
        let cases = [
            (
                GOOD.replace("10.20.0.1\"", "10.30.0.1\""),
                "key `network.gateway`: 10.30.0.1 is not a host address of subnet 10.20.0.0/16",
            ),
            (
                GOOD.replace("10.20.255.254", "10.21.0.9"),
                "key `network.pool`: [10.20.1.0, 10.21.0.9] must be",
            ),
            (
                GOOD.replace("10.20.1.0\"", "10.20.0.0\""),
                "key `network.pool`: [10.20.0.0, 10.20.255.254] must be",
            ),
            (
                GOOD.replace("10.20.1.0\"", "10.20.0.1\""),
                "contains the gateway 10.20.0.1",
            ),
            (
                GOOD.replace("10.20.1.0\"", "10.20.0.50\""),
                "contains the listener's address 10.20.0.53",
            ),
            (
                GOOD.replace("\"10.20.0.0/16\"", "\"10.20.0.7/16\""),
                "key `network.subnet`: 10.20.0.7/16 has host bits set; write 10.20.0.0/16",
            ),
            (
                GOOD.replace("fd00:20::/64", "fd00:20::/56"),
                "key `network.subnet6`: fd00:20::/56: addresses without `pool6` come from SLAAC",
            ),
            (
                format!("{GOOD}\npool6 = [\"fd00:21::1\", \"fd00:21::9\"]"),
                "key `network.pool6`",
            ),
            (
                GOOD.replace("pool = [\"10.20.1.0\", \"10.20.255.254\"]", ""),
                "key `network.pool`: give the first and last address",
            ),
            (
                "gateway = \"10.20.0.1\"".into(),
                "key `network.gateway`: needs `subnet`",
            ),
        ];
        for (network, expected) in cases {
            let e = error(&child(&network));
            assert!(e.contains(expected), "{network}:\n{e}\nlacks: {expected}");
            assert!(e.starts_with("listener 1 (profile `child`)"), "{e}");
        }
        let e = error(&child(GOOD).replace("vlan = 20", "vlan = 4095"));
        assert!(
            e.contains("key `network.vlan`: 4095 is not a VLAN id (1 to 4094)"),
            "{e}"
        );
    }

    #[test]
    fn conflicting_vlans_and_subnets_are_errors_naming_both_listeners() {
        let adult = child(
            &GOOD
                .replace("10.20.", "10.10.")
                .replace("fd00:20", "fd00:10"),
        )
        .replace("child", "adult")
        .replace("10.20.", "10.10.")
        .replace("fd00:20", "fd00:10");
        let e = error(&(adult.clone() + &child(GOOD)));
        assert!(
            e.contains(
                "listener 2 (profile `child`), key `network.vlan`: VLAN 20 is also listener 1's"
            ),
            "{e}"
        );
        let e = error(
            &(adult
                .replace("vlan = 20", "vlan = 10")
                .replace("\"10.10.0.0/16\"", "\"10.0.0.0/8\"")
                + &child(GOOD)),
        );
        assert!(e.contains("listener 2 (profile `child`), key `network.subnet`: 10.20.0.0/16 overlaps listener 1's 10.0.0.0/8"), "{e}");
    }

    #[test]
    fn an_allow_that_misses_the_subnet_is_a_warning() {
        let text =
            child(GOOD).replace("allow = [\"10.20.0.0/16\", ", "allow = [\"10.20.0.0/24\", ");
        let notices = check(&listeners(&text)).expect("only a warning");
        assert_eq!(notices.len(), 1, "{notices:?}");
        assert!(
            notices[0].contains(
                "key `network.subnet`: 10.20.0.0/16 is not covered by the listener's `allow`"
            ),
            "{notices:?}"
        );
    }
}
