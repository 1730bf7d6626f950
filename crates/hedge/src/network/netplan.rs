//! netplan: one YAML file, emitted as JSON (JSON is YAML, and serde_json quotes every
//! string, so no interface name or address can be read as YAML syntax).

use serde_json::{Map, json};

use super::{File, Vlan};

pub fn file(vlans: &[Vlan], parent: &str) -> File {
    let mut defs = Map::new();
    for v in vlans {
        let addresses: Vec<String> =
            v.v4.iter()
                .flat_map(|n| n.host_addresses())
                .map(|a| a.to_string())
                .chain(
                    v.v6.iter()
                        .flat_map(|n| n.host_addresses())
                        .map(|a| a.to_string()),
                )
                .collect();
        defs.insert(
            v.interface.clone(),
            json!({
                "id": v.id,
                "link": parent,
                "addresses": addresses,
                "accept-ra": false,
            }),
        );
    }
    let config = json!({
        "network": {
            "version": 2,
            // The parent is named so that the VLANs' `link` resolves; netplan merges this
            // with the file that configures it.
            "ethernets": { parent: {} },
            "vlans": defs,
        }
    });
    let body = serde_json::to_string_pretty(&config).expect("a JSON value always serialises");
    File {
        name: "60-hedge-vlans.yaml".into(),
        text: format!(
            "# Written by `hedge network` from hedge.toml (JSON, which is YAML).\n{body}\n"
        ),
        private: true,
    }
}
