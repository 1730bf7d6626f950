//! The names and addresses of the standard hierarchy, so tests say `WWW_EXAMPLE_COM` and
//! `WWW_EXAMPLE_COM_A` instead of repeating literals.
//!
//! Every name is fully qualified (trailing dot), lower case. The zone files under
//! `crates/testkit/zones/` are the source of truth; the `names_match_zone_data` test checks
//! that every constant here agrees with them.
//!
//! | name | type | data | case it exercises |
//! |---|---|---|---|
//! | `example.com.` | A | 192.0.2.1 | apex answer |
//! | `www.example.com.` | A, AAAA | 192.0.2.10, 2001:db8::10 | plain answer |
//! | `alias.example.com.` | CNAME | `www.example.net.` | chain across zones |
//! | `deep.example.com.` | CNAME | `alias.example.com.` | two-hop chain |
//! | `dangling.example.com.` | CNAME | `nothere.example.net.` | chain ending in NXDOMAIN |
//! | `big.example.com.` | TXT | [`BIG_TXT_COUNT`] strings, > 4 KB | TC=1 over UDP, full over TCP |
//! | `host.sub.example.com.` | A | 192.0.2.30 | delegated sub-zone on its own server |
//! | `short.ttl.example.com.` | A | 192.0.2.60, TTL [`SHORT_A_TTL`] | an answer that expires (zone `ttl.example.com.`) |
//! | `gone.ttl.example.com.` | — | NXDOMAIN, lives [`SHORT_NEGATIVE_TTL`] | a negative answer that expires |
//! | `www.example.net.` | A | 192.0.2.20 | target of `alias` |
//! | `kids.example.org.` | CNAME | `kids-site.cdn-provider.net.` | walled garden CNAME to a CDN |
//! | `kids-site.cdn-provider.net.` | A | 192.0.2.40 | |
//! | `www.example.org.` | A | 192.0.2.41 | |
//! | `metrics.tracker-cloak.com.` | CNAME | `collector.adtracker.net.` | CNAME cloaking |
//! | `collector.adtracker.net.` | A | 192.0.2.66 | the cloaked tracker |
//! | `www.bbc.co.uk.` | A | 192.0.2.50 | three-level delegation (`uk.` → `co.uk.` → `bbc.co.uk.`) |
//! | `forcesafesearch.google.com.` | A | 216.239.38.120 | SafeSearch target |
//! | `www.google.com.` | A | 142.250.0.1 | |
//! | `strict.bing.com.` | A | 204.79.197.220 | SafeSearch target |
//! | `www.bing.com.` | A | 13.107.0.1 | |
//! | `restrict.youtube.com.` | A | 216.239.38.120 | SafeSearch target (strict) |
//! | `restrictmoderate.youtube.com.` | A | 216.239.38.119 | SafeSearch target (moderate) |
//! | `www.youtube.com.` | A | 142.250.0.2 | |
//! | `safe.duckduckgo.com.` | A | 52.142.124.215 | SafeSearch target |
//! | `duckduckgo.com.` | A | 52.142.124.216 | |
//!
//! | `short.ttl-diff.net.` | A, AAAA, TXT | 192.0.2.80, TTL [`SHORT_TTL`] | short-lived records, asked again after expiry |
//!
//! `differential.net.` holds one name per record type and kind of answer (MX, SRV, CAA, PTR,
//! multi-record RRsets, NODATA, an empty non-terminal, chains ending in NODATA and NXDOMAIN)
//! and `arpa.` one reverse name; `bench/differential.py` asks every name of every zone file.
//!
//! In `bench.net.` every name exists (a wildcard: `A 192.0.2.1`, TTL a day): the benchmark
//! (`bench/bench.py`) resolves as many distinct names there as it likes.
//!
//! Anything else inside a zone is NXDOMAIN (for example [`NXDOMAIN_EXAMPLE_COM`]); every zone's
//! SOA has minimum (and TTL) [`NEGATIVE_TTL`], except `ttl-diff.net.`'s ([`SHORT_TTL`]) and
//! `ttl.example.com.` (SOA TTL [`SHORT_SOA_TTL`], minimum [`SHORT_NEGATIVE_TTL`]).

use std::net::{Ipv4Addr, Ipv6Addr};

/// Every zone of the standard hierarchy, parents before children. Each has its own server
/// on port 53 of `127.53.N.<host>` ([`crate::FakeInternet::server_for`]):
///
/// | host | zones |
/// |---|---|
/// | 1 | `.` (name server `a.root-servers.test.`) |
/// | 2 to 6 | `com.`, `net.`, `org.`, `uk.`, `co.uk.` (name servers `ns.nic.<zone>`) |
/// | 10, 11, 18 | `example.com.`, `sub.example.com.`, `ttl.example.com.` |
/// | 12 to 17 | `example.net.`, `example.org.`, `cdn-provider.net.`, `tracker-cloak.com.`, `adtracker.net.`, `bbc.co.uk.` |
/// | 20 to 23 | `google.com.`, `bing.com.`, `youtube.com.`, `duckduckgo.com.` |
/// | 24 to 27 | `differential.net.`, `ttl-diff.net.`, `arpa.`, `bench.net.` |
///
/// Leaf zones' name servers are `ns1.<zone>`; every parent holds the NS records and glue.
pub const ZONES: &[&str] = &[
    ".",
    "com.",
    "net.",
    "org.",
    "uk.",
    "co.uk.",
    "example.com.",
    "sub.example.com.",
    "ttl.example.com.",
    "example.net.",
    "example.org.",
    "cdn-provider.net.",
    "tracker-cloak.com.",
    "adtracker.net.",
    "bbc.co.uk.",
    "google.com.",
    "bing.com.",
    "youtube.com.",
    "duckduckgo.com.",
    "differential.net.",
    "ttl-diff.net.",
    "arpa.",
    "bench.net.",
];

/// SOA minimum and SOA TTL of every zone: how long a negative answer may be cached.
pub const NEGATIVE_TTL: u32 = 300;

// example.com.

/// The zone `example.com.`; its apex has an A record.
pub const EXAMPLE_COM: &str = "example.com.";
/// `example.com. A`.
pub const EXAMPLE_COM_A: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
/// A name with an A and an AAAA record.
pub const WWW_EXAMPLE_COM: &str = "www.example.com.";
/// `www.example.com. A`.
pub const WWW_EXAMPLE_COM_A: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
/// `www.example.com. AAAA`.
pub const WWW_EXAMPLE_COM_AAAA: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x10);
/// `alias.example.com. CNAME www.example.net.`: a chain that crosses zones.
pub const ALIAS_EXAMPLE_COM: &str = "alias.example.com.";
/// `deep.example.com. CNAME alias.example.com.`: a two-hop chain.
pub const DEEP_EXAMPLE_COM: &str = "deep.example.com.";
/// `dangling.example.com. CNAME nothere.example.net.`: a chain that ends in NXDOMAIN.
pub const DANGLING_EXAMPLE_COM: &str = "dangling.example.com.";
/// `big.example.com. TXT`: [`BIG_TXT_COUNT`] records, too big for UDP even with EDNS.
pub const BIG_EXAMPLE_COM: &str = "big.example.com.";
/// A name that does not exist in `example.com.`.
pub const NXDOMAIN_EXAMPLE_COM: &str = "does-not-exist.example.com.";

/// The zone `sub.example.com.`, delegated by `example.com.` to its own server.
pub const SUB_EXAMPLE_COM: &str = "sub.example.com.";
/// A name inside the delegated sub-zone.
pub const HOST_SUB_EXAMPLE_COM: &str = "host.sub.example.com.";
/// `host.sub.example.com. A`.
pub const HOST_SUB_EXAMPLE_COM_A: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 30);

// ttl.example.com.: short-lived data.

/// The zone `ttl.example.com.`, delegated by `example.com.` to its own server: data that
/// expires within seconds, for TTL tests.
pub const TTL_EXAMPLE_COM: &str = "ttl.example.com.";
/// A name whose A record has TTL [`SHORT_A_TTL`].
pub const SHORT_TTL_EXAMPLE_COM: &str = "short.ttl.example.com.";
/// `short.ttl.example.com. A`.
pub const SHORT_TTL_EXAMPLE_COM_A: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 60);
/// TTL of `short.ttl.example.com. A`.
pub const SHORT_A_TTL: u32 = 2;
/// A name that does not exist in `ttl.example.com.`: its NXDOMAIN lives
/// min([`SHORT_SOA_TTL`], [`SHORT_NEGATIVE_TTL`]) seconds (RFC 2308).
pub const GONE_TTL_EXAMPLE_COM: &str = "gone.ttl.example.com.";
/// TTL of the SOA record of `ttl.example.com.`.
pub const SHORT_SOA_TTL: u32 = 60;
/// SOA minimum of `ttl.example.com.`: how long its negative answers live.
pub const SHORT_NEGATIVE_TTL: u32 = 2;

// example.net.

/// The zone `example.net.`.
pub const EXAMPLE_NET: &str = "example.net.";
/// The target of [`ALIAS_EXAMPLE_COM`].
pub const WWW_EXAMPLE_NET: &str = "www.example.net.";
/// `www.example.net. A`.
pub const WWW_EXAMPLE_NET_A: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 20);
/// The (non-existent) target of [`DANGLING_EXAMPLE_COM`].
pub const NOTHERE_EXAMPLE_NET: &str = "nothere.example.net.";

// Walled garden: example.org. and cdn-provider.net.

/// The zone `example.org.`.
pub const EXAMPLE_ORG: &str = "example.org.";
/// `kids.example.org. CNAME kids-site.cdn-provider.net.`: an allowed site served from a CDN.
pub const KIDS_EXAMPLE_ORG: &str = "kids.example.org.";
/// `www.example.org. A`.
pub const WWW_EXAMPLE_ORG: &str = "www.example.org.";
/// `www.example.org. A`.
pub const WWW_EXAMPLE_ORG_A: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 41);
/// The zone `cdn-provider.net.`.
pub const CDN_PROVIDER_NET: &str = "cdn-provider.net.";
/// The target of [`KIDS_EXAMPLE_ORG`].
pub const KIDS_SITE_CDN_PROVIDER_NET: &str = "kids-site.cdn-provider.net.";
/// `kids-site.cdn-provider.net. A`.
pub const KIDS_SITE_CDN_PROVIDER_NET_A: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 40);

// CNAME cloaking: tracker-cloak.com. and adtracker.net.

/// The zone `tracker-cloak.com.`.
pub const TRACKER_CLOAK_COM: &str = "tracker-cloak.com.";
/// `metrics.tracker-cloak.com. CNAME collector.adtracker.net.`: a first-party name hiding a
/// tracker.
pub const METRICS_TRACKER_CLOAK_COM: &str = "metrics.tracker-cloak.com.";
/// The zone `adtracker.net.` (test indexes list it as advertising).
pub const ADTRACKER_NET: &str = "adtracker.net.";
/// The target of [`METRICS_TRACKER_CLOAK_COM`].
pub const COLLECTOR_ADTRACKER_NET: &str = "collector.adtracker.net.";
/// `collector.adtracker.net. A`.
pub const COLLECTOR_ADTRACKER_NET_A: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 66);

// bbc.co.uk.

/// The zone `bbc.co.uk.`, reached through `uk.` and `co.uk.`.
pub const BBC_CO_UK: &str = "bbc.co.uk.";
/// A name three delegations below the root.
pub const WWW_BBC_CO_UK: &str = "www.bbc.co.uk.";
/// `www.bbc.co.uk. A`.
pub const WWW_BBC_CO_UK_A: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 50);

// SafeSearch endpoints and the sites they stand in for.

/// Google's SafeSearch name.
pub const FORCESAFESEARCH_GOOGLE_COM: &str = "forcesafesearch.google.com.";
/// `forcesafesearch.google.com. A`.
pub const FORCESAFESEARCH_GOOGLE_COM_A: Ipv4Addr = Ipv4Addr::new(216, 239, 38, 120);
/// Google search.
pub const WWW_GOOGLE_COM: &str = "www.google.com.";
/// `www.google.com. A`.
pub const WWW_GOOGLE_COM_A: Ipv4Addr = Ipv4Addr::new(142, 250, 0, 1);
/// Bing's SafeSearch name.
pub const STRICT_BING_COM: &str = "strict.bing.com.";
/// `strict.bing.com. A`.
pub const STRICT_BING_COM_A: Ipv4Addr = Ipv4Addr::new(204, 79, 197, 220);
/// Bing search.
pub const WWW_BING_COM: &str = "www.bing.com.";
/// `www.bing.com. A`.
pub const WWW_BING_COM_A: Ipv4Addr = Ipv4Addr::new(13, 107, 0, 1);
/// YouTube's strict restricted-mode name.
pub const RESTRICT_YOUTUBE_COM: &str = "restrict.youtube.com.";
/// `restrict.youtube.com. A`.
pub const RESTRICT_YOUTUBE_COM_A: Ipv4Addr = Ipv4Addr::new(216, 239, 38, 120);
/// YouTube's moderate restricted-mode name.
pub const RESTRICTMODERATE_YOUTUBE_COM: &str = "restrictmoderate.youtube.com.";
/// `restrictmoderate.youtube.com. A`.
pub const RESTRICTMODERATE_YOUTUBE_COM_A: Ipv4Addr = Ipv4Addr::new(216, 239, 38, 119);
/// YouTube.
pub const WWW_YOUTUBE_COM: &str = "www.youtube.com.";
/// `www.youtube.com. A`.
pub const WWW_YOUTUBE_COM_A: Ipv4Addr = Ipv4Addr::new(142, 250, 0, 2);
/// DuckDuckGo's SafeSearch name.
pub const SAFE_DUCKDUCKGO_COM: &str = "safe.duckduckgo.com.";
/// `safe.duckduckgo.com. A`.
pub const SAFE_DUCKDUCKGO_COM_A: Ipv4Addr = Ipv4Addr::new(52, 142, 124, 215);
/// DuckDuckGo search (the zone apex).
pub const DUCKDUCKGO_COM: &str = "duckduckgo.com.";
/// `duckduckgo.com. A`.
pub const DUCKDUCKGO_COM_A: Ipv4Addr = Ipv4Addr::new(52, 142, 124, 216);

// Short-lived records: ttl-diff.net.

/// The zone `ttl-diff.net.`: every record in it lives [`SHORT_TTL`] seconds, and so do its
/// negative answers (SOA TTL and minimum).
pub const TTL_DIFF_NET: &str = "ttl-diff.net.";
/// The TTL of the short-lived records, and `ttl-diff.net.`'s negative TTL.
pub const SHORT_TTL: u32 = 2;
/// A name whose A, AAAA and TXT records live [`SHORT_TTL`] seconds.
pub const SHORT_TTL_DIFF_NET: &str = "short.ttl-diff.net.";
/// `short.ttl-diff.net. A`.
pub const SHORT_TTL_DIFF_NET_A: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 80);

// Any name: bench.net.

/// The zone `bench.net.`, where every name below the apex has an A record.
pub const BENCH_NET: &str = "bench.net.";
/// The A record of every name below [`BENCH_NET`].
pub const BENCH_NET_A: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);

/// Every name with an A record and its address, for table-driven tests.
pub const A_RECORDS: &[(&str, Ipv4Addr)] = &[
    (EXAMPLE_COM, EXAMPLE_COM_A),
    (WWW_EXAMPLE_COM, WWW_EXAMPLE_COM_A),
    (HOST_SUB_EXAMPLE_COM, HOST_SUB_EXAMPLE_COM_A),
    (SHORT_TTL_EXAMPLE_COM, SHORT_TTL_EXAMPLE_COM_A),
    (WWW_EXAMPLE_NET, WWW_EXAMPLE_NET_A),
    (WWW_EXAMPLE_ORG, WWW_EXAMPLE_ORG_A),
    (KIDS_SITE_CDN_PROVIDER_NET, KIDS_SITE_CDN_PROVIDER_NET_A),
    (COLLECTOR_ADTRACKER_NET, COLLECTOR_ADTRACKER_NET_A),
    (WWW_BBC_CO_UK, WWW_BBC_CO_UK_A),
    (FORCESAFESEARCH_GOOGLE_COM, FORCESAFESEARCH_GOOGLE_COM_A),
    (WWW_GOOGLE_COM, WWW_GOOGLE_COM_A),
    (STRICT_BING_COM, STRICT_BING_COM_A),
    (WWW_BING_COM, WWW_BING_COM_A),
    (RESTRICT_YOUTUBE_COM, RESTRICT_YOUTUBE_COM_A),
    (RESTRICTMODERATE_YOUTUBE_COM, RESTRICTMODERATE_YOUTUBE_COM_A),
    (WWW_YOUTUBE_COM, WWW_YOUTUBE_COM_A),
    (SAFE_DUCKDUCKGO_COM, SAFE_DUCKDUCKGO_COM_A),
    (DUCKDUCKGO_COM, DUCKDUCKGO_COM_A),
    (SHORT_TTL_DIFF_NET, SHORT_TTL_DIFF_NET_A),
];

/// Every CNAME and its target, for table-driven tests.
pub const CNAME_RECORDS: &[(&str, &str)] = &[
    (ALIAS_EXAMPLE_COM, WWW_EXAMPLE_NET),
    (DEEP_EXAMPLE_COM, ALIAS_EXAMPLE_COM),
    (DANGLING_EXAMPLE_COM, NOTHERE_EXAMPLE_NET),
    (KIDS_EXAMPLE_ORG, KIDS_SITE_CDN_PROVIDER_NET),
    (METRICS_TRACKER_CLOAK_COM, COLLECTOR_ADTRACKER_NET),
];

/// How many TXT records `big.example.com.` has.
pub const BIG_TXT_COUNT: usize = 32;

/// The `index`-th TXT string of `big.example.com.` (`index < BIG_TXT_COUNT`): 200 bytes, each
/// one different, so the whole RRset is about 7 KB on the wire.
pub fn big_txt(index: usize) -> String {
    let head = format!("big-{index:02}-");
    let fill = char::from(b'a' + (index % 26) as u8);
    let mut text = head;
    while text.len() < 200 {
        text.push(fill);
    }
    text
}
