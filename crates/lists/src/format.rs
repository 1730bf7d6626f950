//! The list formats hedge reads, one line at a time.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A list format, as named in the manifest's `format` key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// One name per line, `#` comments (also after a name).
    Plain,
    /// Hosts file: `0.0.0.0 a b c`, `127.0.0.1 …`, tabs, CRLF.
    Hosts,
    /// Adblock-style DNS rules: `||name^` blocks, `@@||name^` allows; others are counted and skipped.
    Adblock,
    /// A UT1 directory: `<category>/domains` (and `urls`, which DNS cannot enforce).
    Ut1,
    /// An RPZ zone file: `name CNAME .`, `*.name CNAME .`, `rpz-passthru.` allows.
    Rpz,
}

impl Format {
    /// Whether a source of this format is a directory of sub-lists.
    pub fn is_directory(self) -> bool {
        matches!(self, Format::Ut1)
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Plain => "plain",
            Format::Hosts => "hosts",
            Format::Adblock => "adblock",
            Format::Ut1 => "ut1",
            Format::Rpz => "rpz",
        })
    }
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "plain" => Format::Plain,
            "hosts" => Format::Hosts,
            "adblock" => Format::Adblock,
            "ut1" => Format::Ut1,
            "rpz" => Format::Rpz,
            _ => {
                return Err(format!(
                    "unknown format `{s}`: use plain, hosts, adblock, ut1 or rpz"
                ));
            }
        })
    }
}

/// What one line of a list says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item<'a> {
    /// Block this name and its subdomains.
    Block(&'a str),
    /// Allow this name and its subdomains (an exception inside the same source).
    Allow(&'a str),
    /// A URL with a path: DNS sees only the host, so this cannot be enforced.
    Path(&'a str),
    /// A rule of the format that hedge cannot apply (cosmetic, regex, local data…).
    Unsupported(&'static str),
    /// A name that is not a malformed entry but is deliberately not listed (`localhost` in hosts).
    Ignored,
}

/// Per-file state a format needs across lines (RPZ origin, owner and parentheses).
#[derive(Debug, Default)]
pub(crate) struct LineState {
    rpz_origin: Option<String>,
    rpz_paren_depth: usize,
}

/// Names hosts files carry for the local machine, never meant as blocks.
const HOSTS_LOCAL: &[&str] = &[
    "localhost",
    "localhost.localdomain",
    "local",
    "broadcasthost",
    "ip6-localhost",
    "ip6-loopback",
    "ip6-localnet",
    "ip6-mcastprefix",
    "ip6-allnodes",
    "ip6-allrouters",
    "ip6-allhosts",
];

/// Adblock modifiers that do not change which host a rule means, so a DNS filter can apply
/// the rule to the whole host (as AdGuard Home does).
const HOST_WIDE_MODIFIERS: &[&str] = &[
    "important",
    "third-party",
    "3p",
    "first-party",
    "1p",
    "document",
    "doc",
    "all",
];

/// Splits a line into its items; comments and blank lines yield nothing.
pub(crate) fn parse_line<'a>(
    format: Format,
    line: &'a str,
    state: &mut LineState,
    emit: &mut dyn FnMut(Item<'a>),
) {
    match format {
        Format::Plain | Format::Ut1 => plain(line, emit),
        Format::Hosts => hosts(line, emit),
        Format::Adblock => adblock(line, emit),
        Format::Rpz => rpz(line, state, emit),
    }
}

/// The entries of a list that carry a URL path (`news.sky.com/#watchlive`), as written. DNS
/// cannot enforce them and the compiler leaves them out, but a published policy must show them.
pub fn path_entries(format: Format, text: &str) -> Vec<String> {
    let mut state = LineState::default();
    let mut out = Vec::new();
    for line in text.lines() {
        parse_line(format, line, &mut state, &mut |item| {
            if let Item::Path(p) = item {
                out.push(p.to_string());
            }
        });
    }
    out
}

fn strip_comment(line: &str, marker: char) -> &str {
    line.split(marker).next().unwrap_or("").trim()
}

/// A host, or a URL whose path DNS cannot see.
fn host_or_path(entry: &str) -> Item<'_> {
    let rest = entry.split_once("://").map_or(entry, |(_, r)| r);
    match rest.find(['/', '#', '?']) {
        Some(i) if rest[i..].trim_start_matches('/').is_empty() => Item::Block(&rest[..i]),
        Some(_) => Item::Path(entry),
        None => Item::Block(rest),
    }
}

fn plain<'a>(line: &'a str, emit: &mut dyn FnMut(Item<'a>)) {
    let entry = line.trim();
    // `#` starts a comment at the start of a line or after white space; inside an entry
    // (`news.sky.com/#watchlive`) it is a URL fragment.
    let entry = match entry
        .char_indices()
        .find(|&(i, c)| c == '#' && (i == 0 || entry[..i].ends_with([' ', '\t'])))
    {
        Some((i, _)) => entry[..i].trim(),
        None => entry,
    };
    if entry.is_empty() || entry.bytes().all(|b| b == b'=' || b == b'-') {
        return;
    }
    emit(host_or_path(entry));
}

fn hosts<'a>(line: &'a str, emit: &mut dyn FnMut(Item<'a>)) {
    let mut fields = strip_comment(line, '#').split_ascii_whitespace();
    let Some(addr) = fields.next() else { return };
    if addr.parse::<std::net::IpAddr>().is_err() {
        emit(Item::Unsupported(
            "hosts line does not start with an address",
        ));
        return;
    }
    for name in fields {
        if HOSTS_LOCAL.contains(&name) {
            emit(Item::Ignored);
        } else {
            emit(Item::Block(name));
        }
    }
}

fn adblock<'a>(line: &'a str, emit: &mut dyn FnMut(Item<'a>)) {
    let rule = line.trim();
    if rule.is_empty() || rule.starts_with('!') || (rule.starts_with('[') && rule.ends_with(']')) {
        return;
    }
    if rule.starts_with('#') && !rule.contains("##") {
        return; // hosts-style comment, common in DNS-oriented adblock lists
    }
    if rule.contains("##") || rule.contains("#@#") || rule.contains("#$#") || rule.contains("#?#") {
        return emit(Item::Unsupported(
            "cosmetic rule (DNS cannot hide page elements)",
        ));
    }
    if rule.starts_with('/') && rule.ends_with('/') && rule.len() > 1 {
        return emit(Item::Unsupported("regular-expression rule"));
    }
    let (allow, body) = match rule.strip_prefix("@@") {
        Some(b) => (true, b),
        None => (false, rule),
    };
    let (pattern, modifiers) = body.split_once('$').unwrap_or((body, ""));
    if !modifiers.is_empty()
        && modifiers
            .split(',')
            .any(|m| !HOST_WIDE_MODIFIERS.contains(&m.trim_start_matches('~')))
    {
        return emit(Item::Unsupported(
            "rule with a modifier DNS cannot apply ($domain=, $dnstype=, content types…)",
        ));
    }
    let Some(host) = pattern.strip_prefix("||") else {
        // AdGuard Home also accepts a bare host name as a rule.
        if !pattern.contains(['|', '^', '*', '/']) && pattern.contains('.') {
            return emit(if allow {
                Item::Allow(pattern)
            } else {
                Item::Block(pattern)
            });
        }
        return emit(Item::Unsupported("not a `||name^` rule"));
    };
    let host = host
        .strip_suffix('^')
        .or_else(|| host.strip_suffix("^|"))
        .unwrap_or(host);
    if host.contains('/') {
        return emit(Item::Path(host));
    }
    if host.contains(['*', '^', '|']) {
        return emit(Item::Unsupported("wildcard inside a rule"));
    }
    emit(if allow {
        Item::Allow(host)
    } else {
        Item::Block(host)
    });
}

fn rpz<'a>(line: &'a str, state: &mut LineState, emit: &mut dyn FnMut(Item<'a>)) {
    let text = strip_comment(line, ';');
    // Multi-line records (SOA) sit inside parentheses: skip until they close.
    let opens = text.matches('(').count();
    let closes = text.matches(')').count();
    let was_inside = state.rpz_paren_depth > 0;
    state.rpz_paren_depth = (state.rpz_paren_depth + opens).saturating_sub(closes);
    if text.is_empty() || was_inside {
        return;
    }
    let mut fields = text.split_ascii_whitespace();
    let Some(first) = fields.next() else { return };
    if first.eq_ignore_ascii_case("$ORIGIN") {
        state.rpz_origin = fields
            .next()
            .map(|o| o.trim_end_matches('.').to_ascii_lowercase());
        return;
    }
    if first.starts_with('$') {
        return; // $TTL, $INCLUDE (not followed: a list may not read other files)
    }
    if line.starts_with([' ', '\t']) || first == "@" {
        return; // records of the apex (SOA, NS) or continuing the previous owner
    }
    // owner [ttl] [class] type rdata
    let rest: Vec<&str> = fields.collect();
    let mut i = 0;
    while i < rest.len()
        && (rest[i].bytes().all(|b| b.is_ascii_digit()) || rest[i].eq_ignore_ascii_case("IN"))
    {
        i += 1;
    }
    let (Some(rtype), Some(rdata)) = (rest.get(i), rest.get(i + 1)) else {
        return emit(Item::Unsupported("RPZ record without type and data"));
    };
    let mut owner = first.trim_end_matches('.');
    if first.ends_with('.') {
        // An absolute owner carries the policy zone's name: strip it.
        if let Some(origin) = &state.rpz_origin {
            // Compared as bytes: `cut` may fall inside a multi-byte character; once the
            // byte there is a `.`, it is a character boundary.
            let bytes = owner.as_bytes();
            match owner.len().checked_sub(origin.len() + 1) {
                Some(cut)
                    if bytes[cut] == b'.'
                        && bytes[cut + 1..].eq_ignore_ascii_case(origin.as_bytes()) =>
                {
                    owner = &owner[..cut]
                }
                _ => return emit(Item::Unsupported("RPZ owner outside the zone's origin")),
            }
        }
    }
    if owner.contains(".rpz-") {
        return emit(Item::Unsupported(
            "RPZ IP/NSDNAME/client trigger (only QNAME triggers are supported)",
        ));
    }
    let rtype = rtype.to_ascii_uppercase();
    let rdata = rdata.to_ascii_lowercase();
    match (rtype.as_str(), rdata.as_str()) {
        ("CNAME", "." | "*." | "rpz-drop.") => emit(Item::Block(owner)),
        ("CNAME", "rpz-passthru.") => emit(Item::Allow(owner)),
        ("CNAME", _) => emit(Item::Unsupported(
            "RPZ redirect (CNAME to a name) is not supported",
        )),
        _ => emit(Item::Unsupported(
            "RPZ local data (A, AAAA, TXT…) is not supported",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(format: Format, text: &str) -> Vec<Item<'_>> {
        let mut state = LineState::default();
        let mut out = Vec::new();
        for line in text.lines() {
            parse_line(format, line, &mut state, &mut |i| out.push(i));
        }
        out
    }

    #[test]
    fn plain_lines_comments_and_paths() {
        let got = items(
            Format::Plain,
            "# head\nexample.com # why\n\n=====\nnews.sky.com/#watchlive\nhttps://x.com/\n",
        );
        assert_eq!(
            got,
            vec![
                Item::Block("example.com"),
                Item::Path("news.sky.com/#watchlive"),
                Item::Block("x.com")
            ]
        );
    }

    #[test]
    fn hosts_many_names_tabs_and_locals() {
        let got = items(
            Format::Hosts,
            "127.0.0.1\tlocalhost\n0.0.0.0 a.com\tb.com # c\r\nnot-an-ip x.com\n",
        );
        assert_eq!(
            got,
            vec![
                Item::Ignored,
                Item::Block("a.com"),
                Item::Block("b.com"),
                Item::Unsupported("hosts line does not start with an address")
            ]
        );
    }

    #[test]
    fn adblock_rules() {
        let got = items(
            Format::Adblock,
            "[Adblock Plus 2.0]\n! c\n||ads.com^\n@@||ok.ads.com^\nexample.com##.banner\n/ads[0-9]/\n||t.com^$third-party\n||i.com^$important\n",
        );
        assert_eq!(got[0], Item::Block("ads.com"));
        assert_eq!(got[1], Item::Allow("ok.ads.com"));
        assert!(matches!(got[2], Item::Unsupported(_)));
        assert!(matches!(got[3], Item::Unsupported(_)));
        assert_eq!(
            got[4],
            Item::Block("t.com"),
            "third-party rules apply to the whole host in DNS"
        );
        assert_eq!(got[5], Item::Block("i.com"));
    }

    /// Found by the `list_formats` fuzz target: an absolute owner with a multi-byte character
    /// where the origin's leading dot would be made the reader slice inside the character
    /// and panic (`lists compile` of a hostile RPZ file).
    #[test]
    fn rpz_owner_with_a_multibyte_character_before_the_origin() {
        let got = items(
            Format::Rpz,
            "$ORIGIN rpz.hedge.test.\nabsolute.example\u{48f}pz.hedge.test. CNAME .\n",
        );
        assert_eq!(
            got,
            vec![Item::Unsupported("RPZ owner outside the zone's origin")]
        );
    }

    #[test]
    fn rpz_records() {
        let zone = "$TTL 300\n$ORIGIN rpz.local.\n@ IN SOA ns. admin. (\n 1 3600\n 600 86400 60 )\n  IN NS ns.\n\
                    bad.com CNAME .\n*.bad.com CNAME .\ngood.bad.com 300 IN CNAME rpz-passthru.\n\
                    abs.org.rpz.local. CNAME .\nlocal.com A 1.2.3.4\n32.1.2.0.192.rpz-ip CNAME .\n";
        let got = items(Format::Rpz, zone);
        assert_eq!(got[0], Item::Block("bad.com"));
        assert_eq!(got[1], Item::Block("*.bad.com"));
        assert_eq!(got[2], Item::Allow("good.bad.com"));
        assert_eq!(got[3], Item::Block("abs.org"));
        assert!(matches!(got[4], Item::Unsupported(_)));
        assert!(matches!(got[5], Item::Unsupported(_)));
        assert_eq!(got.len(), 6);
    }
}
