//! dnsmasq: one file with DHCPv4, DHCPv6 and router advertisements (with RDNSS). Its own
//! DNS server is off (`port=0`): hedge answers on port 53.
//!
//! Every line is a `key=value` directive whose values are typed addresses, prefixes and
//! interface names checked by [`super::plan`], so nothing in them can break a line.

use std::fmt::{Display, Write as _};

use super::{File, LEASE_SECS, Vlan, header, origin};

pub fn file(vlans: &[Vlan]) -> File {
    let mut out = header("#");
    directive(&mut out, "port", &[&0]);
    directive(&mut out, "bind-dynamic", &[]);
    if vlans.iter().any(|v| v.v6.is_some()) {
        directive(&mut out, "enable-ra", &[]);
    }
    for v in vlans {
        let _ = write!(out, "\n# {}\n", origin(v));
        let tag = format!("vlan{}", v.id);
        let set = format!("set:{tag}");
        let when = format!("tag:{tag}");
        directive(&mut out, "interface", &[&v.interface]);
        if let Some(n) = &v.v4 {
            directive(
                &mut out,
                "dhcp-range",
                &[
                    &set,
                    &n.pool[0],
                    &n.pool[1],
                    &n.subnet.netmask(),
                    &LEASE_SECS,
                ],
            );
            for a in &n.dns {
                directive(&mut out, "dhcp-option", &[&when, &"option:dns-server", a]);
            }
            if let Some(g) = n.gateway {
                directive(&mut out, "dhcp-option", &[&when, &"option:router", &g]);
            }
        }
        if let Some(n) = &v.v6 {
            let prefix = n.subnet.prefix_len();
            match n.pool {
                Some([first, last]) => directive(
                    &mut out,
                    "dhcp-range",
                    &[&set, &first, &last, &prefix, &LEASE_SECS],
                ),
                None => directive(
                    &mut out,
                    "dhcp-range",
                    &[
                        &set,
                        &n.subnet.network(),
                        &"ra-stateless",
                        &prefix,
                        &LEASE_SECS,
                    ],
                ),
            }
            for a in &n.dns {
                let bracketed = format!("[{a}]");
                directive(
                    &mut out,
                    "dhcp-option",
                    &[&when, &"option6:dns-server", &bracketed],
                );
            }
            // Router lifetime 0: announce the prefix and DNS servers, never the default route.
            directive(&mut out, "ra-param", &[&v.interface, &0, &0]);
        }
    }
    File {
        name: "dnsmasq-hedge.conf".into(),
        text: out,
        private: false,
    }
}

fn directive(out: &mut String, key: &str, values: &[&dyn Display]) {
    out.push_str(key);
    for (i, v) in values.iter().enumerate() {
        let _ = write!(out, "{}{v}", if i == 0 { "=" } else { "," });
    }
    out.push('\n');
}
