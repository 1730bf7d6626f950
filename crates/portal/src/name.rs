//! Names as visitors give them: the `Host` header a redirected browser sends, and what a
//! patron types or pastes into a form (a name, or a whole address).

use std::net::IpAddr;

/// The longest DNS name, in presentation form without the trailing dot.
const MAX_NAME: usize = 253;
/// The longest label.
const MAX_LABEL: usize = 63;

/// What a request's `Host` says the visitor asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Host {
    /// A DNS name: a site redirected here, or the portal's own name.
    Name(String),
    /// An address, no Host at all, or one that is not a name: the portal itself.
    Portal,
}

/// Reads a `Host` header (`Bet.com:80`, `bet.com.`, `[fd00::80]:8080`): port stripped,
/// lowercased, trailing dot removed. Anything that is not a valid name is the portal.
pub(crate) fn parse_host(raw: Option<&str>) -> Host {
    let Some(raw) = raw.map(str::trim).filter(|r| !r.is_empty()) else {
        return Host::Portal;
    };
    if raw.starts_with('[') {
        return Host::Portal;
    }
    let host = match raw.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => raw,
    };
    if host.parse::<IpAddr>().is_ok() {
        return Host::Portal;
    }
    match domain(host) {
        Some(name) => Host::Name(name),
        None => Host::Portal,
    }
}

/// A name typed by a patron, or pasted as an address (`https://www.bet.com/page?x=1`):
/// scheme, user, path and port dropped; international names in their ASCII (punycode) form.
/// None if what is left is not a DNS name.
pub(crate) fn typed_name(input: &str) -> Option<String> {
    let s = input.trim();
    let s = s.split_once("://").map_or(s, |(_, rest)| rest);
    let s = s.split(['/', '?', '#']).next().unwrap_or("");
    let s = s.rsplit_once('@').map_or(s, |(_, host)| host);
    let s = match s.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => s,
    };
    if s.parse::<IpAddr>().is_ok() {
        return None;
    }
    domain(s)
}

/// `name` as hedge decides it (lowercase ASCII, no trailing dot) if it is a DNS name:
/// labels of letters, digits, `-` and `_`, 1 to 63 bytes each, 253 in all.
pub(crate) fn domain(name: &str) -> Option<String> {
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.is_empty() || name.len() > 4 * MAX_NAME {
        return None;
    }
    let ascii = idna::domain_to_ascii(name).ok()?;
    let valid = !ascii.is_empty()
        && ascii.len() <= MAX_NAME
        && ascii.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= MAX_LABEL
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    valid.then_some(ascii)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_header_becomes_the_name_dns_decided() {
        let name = |s: &str| Host::Name(s.to_string());
        assert_eq!(parse_host(Some("Bet.COM")), name("bet.com"));
        assert_eq!(parse_host(Some("www.bet.com.:80")), name("www.bet.com"));
        assert_eq!(parse_host(Some("bet.com:8080")), name("bet.com"));
        assert_eq!(parse_host(Some("10.20.0.80")), Host::Portal);
        assert_eq!(parse_host(Some("10.20.0.80:80")), Host::Portal);
        assert_eq!(parse_host(Some("[fd00::80]:80")), Host::Portal);
        assert_eq!(parse_host(None), Host::Portal);
        assert_eq!(parse_host(Some("")), Host::Portal);
        assert_eq!(parse_host(Some("<script>")), Host::Portal);
        assert_eq!(parse_host(Some("a..b")), Host::Portal);
    }

    #[test]
    fn a_typed_address_becomes_its_name() {
        let t = |s: &str| typed_name(s);
        assert_eq!(t(" www.Bet.com "), Some("www.bet.com".into()));
        assert_eq!(
            t("https://user@www.bet.com:443/page?x=1#top"),
            Some("www.bet.com".into())
        );
        assert_eq!(t("bücher.de"), Some("xn--bcher-kva.de".into()));
        assert_eq!(t("bet.com."), Some("bet.com".into()));
        assert_eq!(t(""), None);
        assert_eq!(t("10.0.0.1"), None);
        assert_eq!(t("<script>alert(1)</script>"), None);
        assert_eq!(t(&format!("{}.com", "a".repeat(64))), None);
        assert_eq!(t(&"a.".repeat(200)), None);
        assert_eq!(t("a b.com"), None);
    }
}
