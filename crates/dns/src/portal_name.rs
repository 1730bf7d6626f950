//! The portal's own name (`[portal] portal_name`), answered by every listener itself, so
//! staff can point people at it: A and AAAA give the portal's addresses, other types
//! NODATA, authoritative, with a short TTL. It is answered before any list is asked, so
//! no profile (a walled garden included) can block the page that explains blocks.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use hickory_proto::op::{Message, Query, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA};
use hickory_proto::rr::{RData, Record, RecordType};

use crate::answer;

/// The TTL of the portal's records: short, so a changed address is picked up soon.
pub(crate) const TTL: u32 = 60;

/// The portal's name and the addresses it listens on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalName {
    /// Lower case, without the final dot: the text the query path compares.
    name: String,
    v4: Vec<Ipv4Addr>,
    v6: Vec<Ipv6Addr>,
}

impl PortalName {
    /// `name` at `addrs` (the portal's listen addresses; unspecified ones, which no
    /// browser can connect to, are left out).
    pub fn new(name: &str, addrs: impl IntoIterator<Item = IpAddr>) -> PortalName {
        let mut p = PortalName {
            name: name.trim_end_matches('.').to_ascii_lowercase(),
            v4: Vec::new(),
            v6: Vec::new(),
        };
        for ip in addrs {
            match ip {
                _ if ip.is_unspecified() => {}
                IpAddr::V4(v4) if !p.v4.contains(&v4) => p.v4.push(v4),
                IpAddr::V6(v6) if !p.v6.contains(&v6) => p.v6.push(v6),
                _ => {}
            }
        }
        p
    }

    /// Whether `qname` (lower case, no final dot) is the portal's name.
    pub(crate) fn is(&self, qname: &str) -> bool {
        self.name == qname
    }

    /// The answer to `query` for the portal's name.
    pub(crate) fn answer(&self, req: &Message, query: &Query) -> Message {
        let name = query.name();
        let mut m = answer::response(req, ResponseCode::NoError);
        m.metadata.authoritative = true;
        m.answers = match query.query_type() {
            RecordType::A => self
                .v4
                .iter()
                .map(|ip| Record::from_rdata(name.clone(), TTL, RData::A(A(*ip))))
                .collect(),
            RecordType::AAAA => self
                .v6
                .iter()
                .map(|ip| Record::from_rdata(name.clone(), TTL, RData::AAAA(AAAA(*ip))))
                .collect(),
            _ => Vec::new(),
        };
        if m.answers.is_empty() {
            // NODATA, with the SOA a resolver needs to cache it.
            m.authorities.push(answer::synthetic_soa(name, TTL));
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unspecified_and_repeated_addresses_are_left_out() {
        let p = PortalName::new(
            "Portal.Library.",
            [
                "0.0.0.0".parse().expect("ip"),
                "10.20.0.80".parse().expect("ip"),
                "10.20.0.80".parse().expect("ip"),
                "::".parse().expect("ip"),
                "fd00::80".parse().expect("ip"),
            ],
        );
        assert!(p.is("portal.library"));
        assert!(!p.is("www.portal.library"));
        assert_eq!(p.v4, vec![Ipv4Addr::new(10, 20, 0, 80)]);
        assert_eq!(p.v6, vec!["fd00::80".parse::<Ipv6Addr>().expect("ip")]);
    }
}
