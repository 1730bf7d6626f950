//! Which client subnets are public: a listener whose `allow` covers globally routed
//! addresses would answer the internet, so check-config refuses it unless the listener
//! says `allow_public = true`.

use ipnet::IpNet;

/// Address space that is not globally routed (the IANA special-purpose registries): private,
/// shared (CGNAT), loopback, link-local, documentation, benchmarking and reserved ranges.
const NOT_PUBLIC: &[&str] = &[
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "240.0.0.0/4",
    "::/128",
    "::1/128",
    "::ffff:0:0/96",
    "64:ff9b:1::/48",
    "100::/64",
    "2001:db8::/32",
    "fc00::/7",
    "fe80::/10",
];

/// Whether `net` holds any public (globally routed) address.
pub fn covers_public(net: &IpNet) -> bool {
    let net = net.trunc();
    !NOT_PUBLIC.iter().any(|range| {
        range
            .parse::<IpNet>()
            .is_ok_and(|range| range.contains(&net))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn public(net: &str) -> bool {
        covers_public(&net.parse().expect("subnet"))
    }

    #[test]
    fn private_subnets_are_not_public_and_the_internet_is() {
        for private in [
            "10.20.0.0/16",
            "192.168.1.0/24",
            "172.16.0.0/12",
            "100.64.0.0/10",
            "127.0.0.0/8",
            "fd00:20::/64",
            "fe80::/64",
            "::1/128",
            "10.1.2.3/8",
        ] {
            assert!(!public(private), "{private}");
        }
        for open in [
            "0.0.0.0/0",
            "::/0",
            "8.8.8.0/24",
            "10.0.0.0/7",
            "172.0.0.0/8",
            "2000::/3",
            "2a00:1098:20::/48",
        ] {
            assert!(public(open), "{open}");
        }
    }
}
