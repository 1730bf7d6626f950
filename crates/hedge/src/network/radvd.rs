//! radvd.conf: router advertisements that carry the listener's IPv6 addresses as RDNSS
//! (RFC 8106), for the Kea and ISC setups (dnsmasq advertises by itself).
//!
//! The router lifetime is 0: the hedge host announces the prefix and DNS servers but never
//! offers itself as the default router (the VLAN's router does that).

use std::fmt::Write as _;

use super::{File, Vlan, header, origin};

pub fn file(vlans: &[Vlan]) -> Option<File> {
    let mut text = header("#");
    let mut any = false;
    for v in vlans {
        let Some(n) = &v.v6 else { continue };
        any = true;
        let stateful = if n.pool.is_some() { "on" } else { "off" };
        let dns: Vec<String> = n.dns.iter().map(ToString::to_string).collect();
        let _ = write!(
            text,
            "\n# {}\ninterface {} {{\n    AdvSendAdvert on;\n    AdvDefaultLifetime 0;\n    AdvManagedFlag {stateful};\n    AdvOtherConfigFlag on;\n    prefix {} {{\n        AdvOnLink on;\n        AdvAutonomous {};\n    }};\n    RDNSS {} {{\n    }};\n}};\n",
            origin(v),
            v.interface,
            n.subnet,
            if n.pool.is_some() { "off" } else { "on" },
            dns.join(" "),
        );
    }
    any.then(|| File {
        name: "radvd.conf".into(),
        text,
        private: false,
    })
}
