//! Profile configuration, as written in `hedge.toml`'s `[[profile]]` tables.

use std::net::IpAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// One user profile: what its listener's clients may reach.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileConfig {
    /// Name used by listeners, reports and EDE texts (`adult`, `child`, `walled-garden`).
    pub name: String,
    /// Start from another profile's settings (defined earlier or later in the file).
    #[serde(default)]
    pub inherit: Option<String>,
    /// `filter` (default): block listed categories and domains. `allowlist`: a walled garden,
    /// only `allow_domains` (and their subdomains) resolve.
    #[serde(default)]
    pub mode: Option<Mode>,
    /// Category ids to block. A root blocks its children unless a child is in `allow`.
    #[serde(default)]
    pub block: Vec<String>,
    /// Category ids to allow although their root is blocked (or an inherited block).
    #[serde(default)]
    pub allow: Vec<String>,
    /// Domains to block (each covers its subdomains), beyond the categories.
    #[serde(default)]
    pub block_domains: Vec<String>,
    /// Domains to allow whatever their categories; in allowlist mode, the walled garden.
    #[serde(default)]
    pub allow_domains: Vec<String>,
    /// Plain-format files of domains to block, relative to the config file.
    #[serde(default)]
    pub block_domain_files: Vec<PathBuf>,
    /// Plain-format files of domains to allow, relative to the config file.
    #[serde(default)]
    pub allow_domain_files: Vec<PathBuf>,
    /// What a blocked name gets (default `null`).
    #[serde(default)]
    pub action: Option<BlockAction>,
    /// Block-page addresses for `action = "redirect"` (A and AAAA answers).
    #[serde(default)]
    pub redirect_to: Vec<IpAddr>,
    /// TTL of blocked answers and of the SOA minimum for `nxdomain` (default 300 s).
    #[serde(default)]
    pub block_ttl: Option<u32>,
    /// Force SafeSearch on Google, Bing and DuckDuckGo (CNAME to their safe endpoints).
    #[serde(default)]
    pub safesearch: Option<bool>,
    /// YouTube Restricted Mode: `off`, `moderate` or `strict`.
    #[serde(default)]
    pub youtube_restrict: Option<YoutubeRestrict>,
    /// Answer Firefox's DoH canary `use-application-dns.net` with NXDOMAIN (default on).
    #[serde(default)]
    pub block_doh_canary: Option<bool>,
    /// Answer iCloud Private Relay's `mask.icloud.com`/`mask-h2.icloud.com` with NXDOMAIN (default on).
    #[serde(default)]
    pub block_private_relay: Option<bool>,
    /// Answer DDR discovery `_dns.resolver.arpa` with NODATA so clients do not upgrade
    /// to an encrypted resolver around the filter (default on).
    #[serde(default)]
    pub block_ddr: Option<bool>,
    /// Time rules (`[[profile.schedule]]`): categories blocked or allowed on some days
    /// between two local times. A profile with none inherits its parent's.
    #[serde(default)]
    pub schedule: Vec<ScheduleConfig>,
}

/// One `[[profile.schedule]]` rule, e.g. `name = "school hours", days = ["mon-fri"],
/// from = "09:00", to = "15:30", block = ["games"]`. Times are local, in `timezone`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleConfig {
    /// Shown by `explain` and `policy show`.
    pub name: String,
    /// Days it applies: `mon`…`sun` and ranges (`mon-fri`); default every day.
    #[serde(default)]
    pub days: Vec<String>,
    /// Start, `HH:MM` (24-hour; `HH:MM:SS` also works), inclusive.
    pub from: String,
    /// End, `HH:MM`, exclusive; `24:00` is the end of the day.
    pub to: String,
    /// Categories blocked while the rule applies.
    #[serde(default)]
    pub block: Vec<String>,
    /// Categories allowed while the rule applies (a block of another active rule wins).
    #[serde(default)]
    pub allow: Vec<String>,
}

/// How a profile filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Block what is listed in blocked categories or custom block lists.
    Filter,
    /// Walled garden: allow only `allow_domains`.
    Allowlist,
}

/// The answer a blocked name gets (Unbound's local-zone vocabulary).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BlockAction {
    /// 0.0.0.0 / :: for A/AAAA, NODATA for other types.
    Null,
    /// NXDOMAIN with an SOA, so clients cache the negative answer for `block_ttl`.
    Nxdomain,
    /// REFUSED.
    Refuse,
    /// The configured block-page addresses (`redirect_to`).
    Redirect,
}

/// YouTube Restricted Mode levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum YoutubeRestrict {
    /// No rewrite.
    Off,
    /// `restrictmoderate.youtube.com`.
    Moderate,
    /// `restrict.youtube.com`.
    Strict,
}
