//! Domain-name normalisation and the reversed-label keys of the index.
//!
//! List entries are normalised once, at compile time: case folded, trailing dot and `*.`
//! stripped, Unicode converted to punycode (IDNA/UTS-46), lengths checked. Query names are
//! *not* normalised at lookup time beyond ASCII case folding, which [`crate::Index`] does on
//! the fly: names on the wire are already ASCII.

use std::net::IpAddr;

/// Longest name in presentation form, without the trailing dot (RFC 1035 limit, 255 on the wire).
pub const MAX_NAME_LEN: usize = 253;
/// Longest label (RFC 1035).
pub const MAX_LABEL_LEN: usize = 63;

/// Why a list entry is not a usable domain name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Nothing left after trimming.
    #[error("empty name")]
    Empty,
    /// An IPv4 address; DNS filtering cannot block addresses.
    #[error("IPv4 address, not a name (DNS filtering cannot block addresses)")]
    Ipv4Literal,
    /// An IPv6 address.
    #[error("IPv6 address, not a name (DNS filtering cannot block addresses)")]
    Ipv6Literal,
    /// `a..b`, or a leading dot.
    #[error("empty label (`..` or a leading dot)")]
    EmptyLabel,
    /// A label over 63 bytes.
    #[error("label longer than 63 bytes")]
    LabelTooLong,
    /// A name over 253 bytes.
    #[error("name longer than 253 bytes")]
    NameTooLong,
    /// A character that cannot appear in a host name.
    #[error("character {0:?} is not allowed in a domain name")]
    BadChar(char),
    /// Whitespace inside the entry.
    #[error("space inside a name")]
    Space,
    /// IDNA conversion failed.
    #[error("not a valid internationalised name (IDNA/UTS-46 conversion failed)")]
    Idna,
    /// A single label such as `localhost` or `com`: listing it would block a whole TLD.
    #[error(
        "single label: listing it would cover a whole top-level domain; write it as a full name"
    )]
    SingleLabel,
}

/// Normalises a list entry to the form stored in the index: lower-case ASCII (punycode),
/// no trailing dot, no leading `*.`, labels of `[a-z0-9_-]`.
///
/// ```
/// use hedge_lists::normalize;
/// assert_eq!(normalize("WWW.Example.COM.").unwrap(), "www.example.com");
/// assert_eq!(normalize("*.bücher.de").unwrap(), "xn--bcher-kva.de");
/// assert!(normalize("192.0.2.1").is_err());
/// ```
pub fn normalize(entry: &str) -> Result<String, NameError> {
    let mut s = entry.trim();
    if s.chars().any(char::is_whitespace) {
        return Err(NameError::Space);
    }
    s = s.strip_suffix('.').unwrap_or(s);
    s = s.strip_prefix("*.").unwrap_or(s);
    // UT1 writes a few entries with a leading dot (`.afshin.ir`): the same name.
    s = s.strip_prefix('.').unwrap_or(s);
    if s.is_empty() {
        return Err(NameError::Empty);
    }
    if let Ok(ip) = s
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    {
        return Err(match ip {
            IpAddr::V4(_) => NameError::Ipv4Literal,
            IpAddr::V6(_) => NameError::Ipv6Literal,
        });
    }
    let name = if s.is_ascii() {
        s.to_ascii_lowercase()
    } else {
        // UTS-46 processing also folds case and maps full-width dots.
        idna::domain_to_ascii(s).map_err(|_| NameError::Idna)?
    };
    check(&name)?;
    Ok(name)
}

/// Checks an already lower-cased ASCII name against the label and length rules. Byte by
/// byte: a walk over an index checks every key with it.
fn check(name: &str) -> Result<(), NameError> {
    if name.len() > MAX_NAME_LEN {
        return Err(NameError::NameTooLong);
    }
    let mut labels = 0;
    let mut at = 0;
    for label in name.as_bytes().split(|&b| b == b'.') {
        labels += 1;
        if label.is_empty() {
            return Err(NameError::EmptyLabel);
        }
        if label.len() > MAX_LABEL_LEN {
            return Err(NameError::LabelTooLong);
        }
        if let Some(bad) = label.iter().position(|&b| {
            !(b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        }) {
            // The first byte of a character, since every byte before it is ASCII.
            let c = name[at + bad..].chars().next().unwrap_or('\u{fffd}');
            return Err(NameError::BadChar(c));
        }
        at += label.len() + 1;
    }
    if labels < 2 {
        return Err(NameError::SingleLabel);
    }
    Ok(())
}

/// Appends the index key of a normalised name: its labels in reverse order joined by dots
/// (`www.example.com` → `com.example.www`), so names sharing a parent share a key prefix.
pub fn reversed_key(name: &str, out: &mut Vec<u8>) {
    for (i, label) in name.rsplit('.').enumerate() {
        if i > 0 {
            out.push(b'.');
        }
        out.extend_from_slice(label.as_bytes());
    }
}

/// Checks an index key (`com.example`) by the rules of [`normalize`]'s output: reversing
/// the labels changes none of them.
pub(crate) fn check_key(key: &[u8]) -> Result<(), NameError> {
    let key = std::str::from_utf8(key).map_err(|_| NameError::Idna)?;
    check(key)
}

/// The inverse of [`reversed_key`], for display.
pub fn name_from_key(key: &[u8]) -> String {
    let text = String::from_utf8_lossy(key);
    let mut labels: Vec<&str> = text.split('.').collect();
    labels.reverse();
    labels.join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_dots_wildcards_and_idna() {
        assert_eq!(normalize(" Example.COM. ").as_deref(), Ok("example.com"));
        assert_eq!(
            normalize("*.ads.example.com").as_deref(),
            Ok("ads.example.com")
        );
        assert_eq!(normalize("ÆØÅ.no").as_deref(), Ok("xn--5cab8c.no"));
        assert_eq!(
            normalize("xn--bcher-kva.de").as_deref(),
            Ok("xn--bcher-kva.de")
        );
        assert_eq!(
            normalize("under_score.example.com").as_deref(),
            Ok("under_score.example.com")
        );
    }

    #[test]
    fn rejects_what_dns_cannot_filter() {
        assert_eq!(normalize("10.0.0.1"), Err(NameError::Ipv4Literal));
        assert_eq!(normalize("2001:db8::1"), Err(NameError::Ipv6Literal));
        assert_eq!(normalize("exa mple.com"), Err(NameError::Space));
        assert_eq!(normalize("a..b.com"), Err(NameError::EmptyLabel));
        assert_eq!(normalize(".example.com").as_deref(), Ok("example.com"));
        assert_eq!(normalize("..example.com"), Err(NameError::EmptyLabel));
        assert_eq!(
            normalize(&format!("{}.com", "a".repeat(64))),
            Err(NameError::LabelTooLong)
        );
        let long = vec!["abcdefghi"; 26].join(".");
        assert_eq!(normalize(&long), Err(NameError::NameTooLong));
        assert_eq!(normalize("localhost"), Err(NameError::SingleLabel));
        assert_eq!(normalize("a!b.com"), Err(NameError::BadChar('!')));
        assert_eq!(normalize(""), Err(NameError::Empty));
    }

    #[test]
    fn keys_reverse_labels() {
        let mut key = Vec::new();
        reversed_key("www.example.com", &mut key);
        assert_eq!(key, b"com.example.www");
        assert_eq!(name_from_key(&key), "www.example.com");
    }
}
