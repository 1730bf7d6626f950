//! systemd-networkd: a .netdev and a .network per VLAN interface, and a .network for the
//! parent that attaches them (if the parent already has a .network file, move its `VLAN=`
//! lines there instead: networkd applies only the first file that matches an interface).

use std::fmt::Write as _;

use super::{File, Vlan, header, origin};

pub fn files(vlans: &[Vlan], parent: &str) -> Vec<File> {
    let mut parent_net = format!("{}[Match]\nName={parent}\n\n[Network]\n", header("#"));
    let mut files = Vec::new();
    for v in vlans {
        let _ = writeln!(parent_net, "VLAN={}", v.interface);
        files.push(File {
            name: format!("60-hedge-{}.netdev", v.interface),
            text: format!(
                "{}# {}\n[NetDev]\nName={}\nKind=vlan\n\n[VLAN]\nId={}\n",
                header("#"),
                origin(v),
                v.interface,
                v.id
            ),
            private: false,
        });
        let mut net = format!(
            "{}# {}\n[Match]\nName={}\n\n[Network]\n",
            header("#"),
            origin(v),
            v.interface
        );
        for a in v.v4.iter().flat_map(|n| n.host_addresses()) {
            let _ = writeln!(net, "Address={a}");
        }
        for a in v.v6.iter().flat_map(|n| n.host_addresses()) {
            let _ = writeln!(net, "Address={a}");
        }
        // The host serves the VLAN; it must not configure itself from the RAs it sends.
        net.push_str("IPv6AcceptRA=no\n");
        files.push(File {
            name: format!("60-hedge-{}.network", v.interface),
            text: net,
            private: false,
        });
    }
    files.push(File {
        name: format!("60-hedge-{parent}.network"),
        text: parent_net,
        private: false,
    });
    files
}
