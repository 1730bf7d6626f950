//! How client addresses are recorded in the optional raw query log.
//!
//! Aggregates and blocked-domain counts never hold a client at all; only the raw query log
//! (off by default) has a client column, and what goes in it is a [`ClientId`], which can only
//! be made by [`ClientPrivacy::client_id`]: a raw address cannot be written by mistake.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How a client address is turned into the client column of the raw query log.
#[derive(Clone, Default, PartialEq, Eq)]
pub enum ClientPrivacy {
    /// Keep only the network: IPv4 `/24` (`10.20.4.0/24`), IPv6 `/48` (`2001:db8:1::/48`).
    /// The default. IPv4-mapped IPv6 addresses are treated as IPv4.
    #[default]
    Truncate,
    /// A keyed hash of the full address: HMAC-SHA-256 (RFC 2104) with the operator's secret
    /// key over the address's bytes (4 for IPv4, 16 for IPv6), of which the first 8 bytes are
    /// kept, printed as `h:` and 16 hex digits. The same client gets the same id while the key
    /// stays the same, so sessions can be told apart without knowing who was behind them;
    /// changing the key unlinks old entries from new ones. Anyone who has the key can test
    /// every IPv4 address in minutes, so keep it secret (it is as sensitive as the addresses
    /// themselves) and rotate it as often as linking is no longer needed.
    KeyedHash {
        /// The secret key (any length; 32 random bytes are plenty).
        key: Vec<u8>,
    },
    /// Keep the full address. Only when the operator has a lawful reason and says so.
    Full,
}

impl fmt::Debug for ClientPrivacy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientPrivacy::Truncate => f.write_str("Truncate"),
            ClientPrivacy::KeyedHash { .. } => f.write_str("KeyedHash { key: <redacted> }"),
            ClientPrivacy::Full => f.write_str("Full"),
        }
    }
}

/// A client as recorded in the raw query log: a network, a keyed hash or (if the operator
/// opted in) an address. Made only by [`ClientPrivacy::client_id`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientId(String);

impl ClientId {
    /// The recorded text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl ClientPrivacy {
    /// The client column for `addr`.
    pub fn client_id(&self, addr: IpAddr) -> ClientId {
        let addr = addr.to_canonical();
        ClientId(match self {
            ClientPrivacy::Truncate => match addr {
                IpAddr::V4(a) => {
                    let [x, y, z, _] = a.octets();
                    format!("{}/24", Ipv4Addr::new(x, y, z, 0))
                }
                IpAddr::V6(a) => {
                    let s = a.segments();
                    format!("{}/48", Ipv6Addr::new(s[0], s[1], s[2], 0, 0, 0, 0, 0))
                }
            },
            ClientPrivacy::KeyedHash { key } => {
                let mac = match addr {
                    IpAddr::V4(a) => hmac_sha256(key, &a.octets()),
                    IpAddr::V6(a) => hmac_sha256(key, &a.octets()),
                };
                let mut s = String::with_capacity(18);
                s.push_str("h:");
                for b in &mac[..8] {
                    s.push_str(&format!("{b:02x}"));
                }
                s
            }
            ClientPrivacy::Full => addr.to_string(),
        })
    }
}

/// HMAC-SHA-256 (RFC 2104), from the RustCrypto `hmac` crate.
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    // HMAC takes a key of any length (a long one is hashed first), so this cannot fail.
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("test address")
    }

    #[test]
    fn truncate_keeps_only_the_network() {
        let p = ClientPrivacy::default();
        assert_eq!(p.client_id(ip("10.20.4.17")).as_str(), "10.20.4.0/24");
        assert_eq!(
            p.client_id(ip("2001:db8:1:2:3:4:5:6")).as_str(),
            "2001:db8:1::/48"
        );
        assert_eq!(
            p.client_id(ip("::ffff:10.20.4.17")).as_str(),
            "10.20.4.0/24"
        );
    }

    #[test]
    fn full_keeps_the_address() {
        assert_eq!(
            ClientPrivacy::Full.client_id(ip("10.20.4.17")).as_str(),
            "10.20.4.17"
        );
    }

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn hmac_long_key_matches_rfc_4231_case_6() {
        let key = [0xaau8; 131];
        let mac = hmac_sha256(
            &key,
            b"Test Using Larger Than Block-Size Key - Hash Key First",
        );
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    /// Pseudonyms already in query logs stay valid: the same key and address give the same
    /// id as before (values from Python's `hmac` module, independent of this code).
    #[test]
    fn stored_pseudonyms_are_unchanged() {
        let key = |k: &[u8]| ClientPrivacy::KeyedHash { key: k.to_vec() };
        let council = key(b"council-2025-secret");
        assert_eq!(
            council.client_id(ip("10.20.4.17")).as_str(),
            "h:18b36af0a24e9d37"
        );
        assert_eq!(
            council.client_id(ip("2001:db8:1:2:3:4:5:6")).as_str(),
            "h:f82d47aeb9c67682"
        );
        // A key longer than SHA-256's 64-byte block is hashed first (RFC 2104).
        assert_eq!(
            key(&[b'k'; 100]).client_id(ip("192.0.2.1")).as_str(),
            "h:8a3bc4e27bd2f249"
        );
    }

    #[test]
    fn keyed_hash_is_stable_per_key_and_hides_the_address() {
        let a = ClientPrivacy::KeyedHash {
            key: b"k1".to_vec(),
        };
        let b = ClientPrivacy::KeyedHash {
            key: b"k2".to_vec(),
        };
        let x = a.client_id(ip("10.20.4.17"));
        assert_eq!(x, a.client_id(ip("10.20.4.17")));
        assert_eq!(x, a.client_id(ip("::ffff:10.20.4.17")));
        assert_ne!(x, a.client_id(ip("10.20.4.18")));
        assert_ne!(x, b.client_id(ip("10.20.4.17")));
        assert!(x.as_str().starts_with("h:") && x.as_str().len() == 18);
        assert!(!x.as_str().contains("10.20"));
        assert!(!format!("{a:?}").contains("k1"));
    }
}
