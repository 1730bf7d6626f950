//! Kea: kea-dhcp4.conf and kea-dhcp6.conf, built as JSON values (Kea's own format).

use serde_json::{Value, json};

use super::{File, LEASE_SECS, Vlan, origin};

pub fn files(vlans: &[Vlan]) -> Vec<File> {
    let mut files = Vec::new();
    let v4: Vec<&Vlan> = vlans.iter().filter(|v| v.v4.is_some()).collect();
    if !v4.is_empty() {
        files.push(render("kea-dhcp4.conf", "Dhcp4", "subnet4", &v4, subnet4));
    }
    let v6: Vec<&Vlan> = vlans.iter().filter(|v| v.v6.is_some()).collect();
    if !v6.is_empty() {
        files.push(render("kea-dhcp6.conf", "Dhcp6", "subnet6", &v6, subnet6));
    }
    files
}

fn render(
    name: &str,
    server: &str,
    list: &str,
    vlans: &[&Vlan],
    subnet: fn(&Vlan) -> Value,
) -> File {
    let lease_file = format!("/var/lib/kea/{}.leases.csv", name.trim_end_matches(".conf"));
    let config = json!({
        server: {
            "interfaces-config": {
                "interfaces": vlans.iter().map(|v| v.interface.as_str()).collect::<Vec<_>>(),
            },
            "lease-database": { "type": "memfile", "persist": true, "name": lease_file },
            "valid-lifetime": LEASE_SECS,
            list: vlans.iter().map(|v| subnet(v)).collect::<Vec<_>>(),
        }
    });
    let text = serde_json::to_string_pretty(&config).expect("a JSON value always serialises");
    File {
        name: name.into(),
        text: text + "\n",
        private: false,
    }
}

fn subnet4(v: &Vlan) -> Value {
    let n = v.v4.as_ref().expect("filtered to IPv4 VLANs");
    let mut options = vec![option("domain-name-servers", &n.dns)];
    options.extend(n.gateway.map(|g| option("routers", &[g])));
    json!({
        "id": v.id,
        "comment": origin(v),
        "subnet": n.subnet.to_string(),
        "interface": v.interface,
        "pools": [{ "pool": format!("{} - {}", n.pool[0], n.pool[1]) }],
        "option-data": options,
    })
}

fn subnet6(v: &Vlan) -> Value {
    let n = v.v6.as_ref().expect("filtered to IPv6 VLANs");
    let pools: Vec<Value> = n
        .pool
        .iter()
        .map(|[a, b]| json!({ "pool": format!("{a} - {b}") }))
        .collect();
    json!({
        "id": v.id,
        "comment": origin(v),
        "subnet": n.subnet.to_string(),
        "interface": v.interface,
        "pools": pools,
        "option-data": [option("dns-servers", &n.dns)],
    })
}

fn option<A: ToString>(name: &str, addrs: &[A]) -> Value {
    let data: Vec<String> = addrs.iter().map(ToString::to_string).collect();
    json!({ "name": name, "data": data.join(", ") })
}
