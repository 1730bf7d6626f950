//! The zone data of the standard hierarchy: zone files under `crates/testkit/zones/`, one
//! per zone, parsed with hickory's zone file parser.
//!
//! Zone files write server addresses as `{net}.<host>`; [`ZoneSpec::load`] replaces `{net}`
//! with the instance's network (say `127.53.4`) so several fake internets can run at once.
//! To add a zone: write its file, add a row to [`HIERARCHY`] with an unused host octet, add
//! the name to [`crate::names::ZONES`] and delegate it (NS and glue) from its parent.

use std::collections::BTreeMap;
use std::io;
use std::net::Ipv4Addr;

use hickory_proto::rr::{Name, RecordSet, RrKey};
use hickory_proto::serialize::txt::Parser;

use crate::names;

/// One zone of the hierarchy: its origin, the last octet of its server's address and its
/// zone file.
pub(crate) struct ZoneSpec {
    /// The zone apex, fully qualified.
    pub(crate) origin: &'static str,
    /// The server listens on `{net}.<host>:53`.
    pub(crate) host: u8,
    /// The zone file, with `{net}` placeholders.
    text: &'static str,
}

/// Every zone of the standard hierarchy, parents before children, in the order of
/// [`names::ZONES`].
pub(crate) const HIERARCHY: &[ZoneSpec] = &[
    zone(".", 1, include_str!("../zones/root.zone")),
    zone("com.", 2, include_str!("../zones/com.zone")),
    zone("net.", 3, include_str!("../zones/net.zone")),
    zone("org.", 4, include_str!("../zones/org.zone")),
    zone("uk.", 5, include_str!("../zones/uk.zone")),
    zone("co.uk.", 6, include_str!("../zones/co.uk.zone")),
    zone(
        "example.com.",
        10,
        include_str!("../zones/example.com.zone"),
    ),
    zone(
        "sub.example.com.",
        11,
        include_str!("../zones/sub.example.com.zone"),
    ),
    zone(
        "ttl.example.com.",
        18,
        include_str!("../zones/ttl.example.com.zone"),
    ),
    zone(
        "example.net.",
        12,
        include_str!("../zones/example.net.zone"),
    ),
    zone(
        "example.org.",
        13,
        include_str!("../zones/example.org.zone"),
    ),
    zone(
        "cdn-provider.net.",
        14,
        include_str!("../zones/cdn-provider.net.zone"),
    ),
    zone(
        "tracker-cloak.com.",
        15,
        include_str!("../zones/tracker-cloak.com.zone"),
    ),
    zone(
        "adtracker.net.",
        16,
        include_str!("../zones/adtracker.net.zone"),
    ),
    zone("bbc.co.uk.", 17, include_str!("../zones/bbc.co.uk.zone")),
    zone("google.com.", 20, include_str!("../zones/google.com.zone")),
    zone("bing.com.", 21, include_str!("../zones/bing.com.zone")),
    zone(
        "youtube.com.",
        22,
        include_str!("../zones/youtube.com.zone"),
    ),
    zone(
        "duckduckgo.com.",
        23,
        include_str!("../zones/duckduckgo.com.zone"),
    ),
    zone(
        "differential.net.",
        24,
        include_str!("../zones/differential.net.zone"),
    ),
    zone(
        "ttl-diff.net.",
        25,
        include_str!("../zones/ttl-diff.net.zone"),
    ),
    zone("arpa.", 26, include_str!("../zones/arpa.zone")),
    zone("bench.net.", 27, include_str!("../zones/bench.net.zone")),
];

const fn zone(origin: &'static str, host: u8, text: &'static str) -> ZoneSpec {
    ZoneSpec { origin, host, text }
}

/// A parsed zone, ready to be served.
pub(crate) struct Zone {
    /// The zone apex.
    pub(crate) origin: Name,
    /// Every RRset of the zone, including delegations and glue.
    pub(crate) records: BTreeMap<RrKey, RecordSet>,
}

impl ZoneSpec {
    /// The address of this zone's server in the network `net` (first three octets).
    pub(crate) fn address(&self, net: [u8; 3]) -> Ipv4Addr {
        Ipv4Addr::new(net[0], net[1], net[2], self.host)
    }

    /// The zone file with `{net}` filled in and generated records appended.
    pub(crate) fn text(&self, net: [u8; 3]) -> String {
        let mut text = self
            .text
            .replace("{net}", &format!("{}.{}.{}", net[0], net[1], net[2]));
        if self.origin == names::EXAMPLE_COM {
            text.push_str("\n; Generated: names::big_txt\n");
            for index in 0..names::BIG_TXT_COUNT {
                text.push_str(&format!("big TXT \"{}\"\n", names::big_txt(index)));
            }
        }
        text
    }

    /// Parses the zone for the network `net`.
    ///
    /// The zone files are part of this crate, so an error here is a bug in them; it names
    /// the zone and the parser's complaint.
    pub(crate) fn load(&self, net: [u8; 3]) -> io::Result<Zone> {
        let invalid = |what: String| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "hedge-testkit: zone {}: {what} (fix crates/testkit/zones/)",
                    self.origin
                ),
            )
        };
        let origin = Name::from_ascii(self.origin).map_err(|e| invalid(e.to_string()))?;
        let (parsed_origin, records) = Parser::new(self.text(net), None, Some(origin.clone()))
            .parse()
            .map_err(|e| invalid(e.to_string()))?;
        if parsed_origin != origin {
            return Err(invalid(format!("file declares origin {parsed_origin}")));
        }
        Ok(Zone { origin, records })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::net::IpAddr;

    use hickory_proto::rr::rdata::CNAME;
    use hickory_proto::rr::{LowerName, RData, RecordType};

    use super::*;

    const NET: [u8; 3] = [127, 53, 0];

    fn load_all() -> Vec<(&'static ZoneSpec, Zone)> {
        HIERARCHY
            .iter()
            .map(|spec| (spec, spec.load(NET).expect("standard zones parse")))
            .collect()
    }

    fn name(text: &str) -> LowerName {
        LowerName::new(&Name::from_ascii(text).expect("valid name"))
    }

    /// The zone of the hierarchy that holds `name`'s data: the most specific one.
    fn zone_holding<'z>(zones: &'z [(&ZoneSpec, Zone)], owner: &str) -> &'z Zone {
        let owner = name(owner);
        zones
            .iter()
            .map(|(_, zone)| zone)
            .filter(|zone| LowerName::new(&zone.origin).zone_of(&owner))
            .max_by_key(|zone| zone.origin.num_labels())
            .expect("the root holds everything")
    }

    fn rdata(zone: &Zone, owner: &str, rtype: RecordType) -> Vec<RData> {
        zone.records
            .get(&RrKey::new(name(owner), rtype))
            .map(|rrset| {
                rrset
                    .records_without_rrsigs()
                    .map(|r| r.data.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn hierarchy_lists_every_zone_once_in_names_order() {
        let origins: Vec<&str> = HIERARCHY.iter().map(|spec| spec.origin).collect();
        assert_eq!(origins, crate::names::ZONES);
        let hosts: BTreeSet<u8> = HIERARCHY.iter().map(|spec| spec.host).collect();
        assert_eq!(hosts.len(), HIERARCHY.len(), "host octets must be unique");
        assert!(!hosts.contains(&0), "host 0 is the network address");
    }

    #[test]
    fn every_zone_parses_with_its_origin_and_an_soa_with_minimum_300() {
        for (spec, zone) in load_all() {
            assert_eq!(zone.origin.to_ascii(), spec.origin);
            let soa = rdata(&zone, spec.origin, RecordType::SOA);
            let [RData::SOA(soa)] = soa.as_slice() else {
                panic!("{}: expected one SOA, found {soa:?}", spec.origin);
            };
            // ttl.example.com. and ttl-diff.net. hold the short-lived data.
            let (minimum, ttl) = match spec.origin {
                names::TTL_EXAMPLE_COM => (names::SHORT_NEGATIVE_TTL, names::SHORT_SOA_TTL),
                names::TTL_DIFF_NET => (names::SHORT_TTL, names::SHORT_TTL),
                _ => (names::NEGATIVE_TTL, names::NEGATIVE_TTL),
            };
            assert_eq!(soa.minimum, minimum, "{}", spec.origin);
            let soa_ttl = zone.records[&RrKey::new(name(spec.origin), RecordType::SOA)].ttl();
            assert_eq!(soa_ttl, ttl, "{}", spec.origin);
            assert!(!zone.origin.is_wildcard());
        }
    }

    #[test]
    fn the_short_lived_record_has_its_short_ttl() {
        let zones = load_all();
        let owner = names::SHORT_TTL_EXAMPLE_COM;
        let zone = zone_holding(&zones, owner);
        assert_eq!(zone.origin.to_ascii(), names::TTL_EXAMPLE_COM);
        let ttl = zone.records[&RrKey::new(name(owner), RecordType::A)].ttl();
        assert_eq!(ttl, names::SHORT_A_TTL);
    }

    /// The invariant that makes recursion work: every zone is delegated from its parent,
    /// and the glue there (and the zone's own NS address) is its server's address.
    #[test]
    fn delegations_and_glue_point_at_each_zones_server() {
        let zones = load_all();
        for (spec, zone) in &zones {
            let server = IpAddr::V4(spec.address(NET));
            let own_ns = rdata(zone, spec.origin, RecordType::NS);
            assert!(!own_ns.is_empty(), "{}: no apex NS", spec.origin);
            let mut holders: Vec<&Zone> = vec![zone];
            if spec.origin != "." {
                let parent_origin = zone.origin.base_name().to_ascii();
                let parent = zone_holding(&zones, &parent_origin);
                let cut = rdata(parent, spec.origin, RecordType::NS);
                assert_eq!(
                    cut, own_ns,
                    "{}: parent NS differs from apex NS",
                    spec.origin
                );
                holders.push(parent);
            }
            for ns in &own_ns {
                let RData::NS(target) = ns else {
                    unreachable!()
                };
                for holder in &holders {
                    let glue = rdata(holder, &target.0.to_ascii(), RecordType::A);
                    let glue: Vec<IpAddr> = glue.iter().filter_map(RData::ip_addr).collect();
                    assert_eq!(
                        glue,
                        [server],
                        "{}: address of {} in zone {}",
                        spec.origin,
                        target.0,
                        holder.origin
                    );
                }
            }
        }
    }

    #[test]
    fn names_constants_match_the_zone_files() {
        let zones = load_all();
        for (owner, address) in names::A_RECORDS {
            let found = rdata(zone_holding(&zones, owner), owner, RecordType::A);
            assert_eq!(found, [RData::A((*address).into())], "{owner} A");
        }
        let short = names::SHORT_TTL_DIFF_NET;
        let key = RrKey::new(name(short), RecordType::A);
        assert_eq!(
            zone_holding(&zones, short).records[&key].ttl(),
            names::SHORT_TTL
        );
        for (owner, target) in names::CNAME_RECORDS {
            let found = rdata(zone_holding(&zones, owner), owner, RecordType::CNAME);
            let target = Name::from_ascii(target).expect("valid name");
            assert_eq!(found, [RData::CNAME(CNAME(target))], "{owner} CNAME");
        }
        let www = names::WWW_EXAMPLE_COM;
        let found = rdata(zone_holding(&zones, www), www, RecordType::AAAA);
        assert_eq!(found, [RData::AAAA(names::WWW_EXAMPLE_COM_AAAA.into())]);
        for absent in [
            names::NXDOMAIN_EXAMPLE_COM,
            names::NOTHERE_EXAMPLE_NET,
            names::GONE_TTL_EXAMPLE_COM,
        ] {
            let zone = zone_holding(&zones, absent);
            let owner = name(absent);
            assert!(
                !zone.records.keys().any(|key| owner.zone_of(&key.name)),
                "{absent}"
            );
        }
    }

    #[test]
    fn big_txt_is_larger_than_any_udp_buffer() {
        let zone = HIERARCHY[6].load(NET).expect("example.com parses");
        assert_eq!(zone.origin.to_ascii(), names::EXAMPLE_COM);
        let txt = rdata(&zone, names::BIG_EXAMPLE_COM, RecordType::TXT);
        assert_eq!(txt.len(), names::BIG_TXT_COUNT);
        let strings: BTreeSet<String> = txt
            .iter()
            .map(|data| match data {
                RData::TXT(txt) => String::from_utf8_lossy(&txt.txt_data.concat()).into_owned(),
                other => panic!("not TXT: {other:?}"),
            })
            .collect();
        let expected: BTreeSet<String> = (0..names::BIG_TXT_COUNT).map(names::big_txt).collect();
        assert_eq!(strings, expected);
        let bytes: usize = expected.iter().map(String::len).sum();
        assert!(bytes > 4096, "only {bytes} bytes of TXT");
    }
}
