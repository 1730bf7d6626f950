//! ifupdown: one file for /etc/network/interfaces.d/ (ifupdown creates each VLAN
//! interface from its `vlan-raw-device`).

use std::fmt::Write as _;

use super::{File, Vlan, header, origin};

pub fn file(vlans: &[Vlan], parent: &str) -> File {
    let mut out = header("#");
    for v in vlans {
        let _ = write!(out, "\n# {}\nauto {}\n", origin(v), v.interface);
        let v4 =
            v.v4.iter()
                .flat_map(|n| n.host_addresses())
                .map(|a| ("inet", a.to_string()));
        let v6 =
            v.v6.iter()
                .flat_map(|n| n.host_addresses())
                .map(|a| ("inet6", a.to_string()));
        let mut stanzas = v4.chain(v6).peekable();
        if stanzas.peek().is_none() {
            let _ = writeln!(
                out,
                "iface {} inet manual\n    vlan-raw-device {parent}",
                v.interface
            );
        }
        for (family, address) in stanzas {
            let _ = writeln!(
                out,
                "iface {} {family} static\n    address {address}\n    vlan-raw-device {parent}",
                v.interface
            );
            if family == "inet6" {
                out.push_str("    accept_ra 0\n");
            }
        }
    }
    File {
        name: "hedge-vlans".into(),
        text: out,
        private: false,
    }
}
