//! isc-dhcp-server: dhcpd.conf (DHCPv4) and dhcpd6.conf (DHCPv6).

use std::fmt::Write as _;

use super::{File, LEASE_SECS, Vlan, header, origin};

pub fn files(vlans: &[Vlan]) -> Vec<File> {
    let mut files = Vec::new();
    let globals = format!(
        "{}authoritative;\ndefault-lease-time {LEASE_SECS};\nmax-lease-time {};\n",
        header("#"),
        LEASE_SECS * 2
    );
    let mut v4 = globals.clone();
    let mut v6 = globals;
    let (mut any4, mut any6) = (false, false);
    for v in vlans {
        if let Some(n) = &v.v4 {
            any4 = true;
            let _ = write!(
                v4,
                "\n# {}\nsubnet {} netmask {} {{\n    range {} {};\n    option domain-name-servers {};\n",
                origin(v),
                n.subnet.network(),
                n.subnet.netmask(),
                n.pool[0],
                n.pool[1],
                list(&n.dns)
            );
            if let Some(g) = n.gateway {
                let _ = writeln!(v4, "    option routers {g};");
            }
            v4.push_str("}\n");
        }
        if let Some(n) = &v.v6 {
            any6 = true;
            let _ = write!(v6, "\n# {}\nsubnet6 {} {{\n", origin(v), n.subnet);
            if let Some([first, last]) = n.pool {
                let _ = writeln!(v6, "    range6 {first} {last};");
            }
            let _ = write!(v6, "    option dhcp6.name-servers {};\n}}\n", list(&n.dns));
        }
    }
    if any4 {
        files.push(File {
            name: "dhcpd.conf".into(),
            text: v4,
            private: false,
        });
    }
    if any6 {
        files.push(File {
            name: "dhcpd6.conf".into(),
            text: v6,
            private: false,
        });
    }
    files
}

fn list<A: ToString>(addrs: &[A]) -> String {
    addrs
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
