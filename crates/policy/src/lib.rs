//! Per-profile filtering decisions for hedge: one pure function from (profile, name) to a
//! verdict with its reason. No sockets, no upstreams, no storage.
//!
//! ```text
//! [[profile]] tables ─▶ Policy::new (inherit, category tables, custom lists) ─┐
//! category Index (hedge-lists) ───────────────────────────────────────────────┴▶ Policy::decide(profile, name) ─▶ Decision
//! ```
//!
//! The order of rules, first match wins:
//! 1. bypass controls: Firefox's DoH canary and iCloud Private Relay → NXDOMAIN, DDR → NODATA;
//! 2. the profile's allowed domains (in a walled garden: the garden; nothing else resolves);
//! 3. the profile's blocked domains;
//! 4. live grants for the profile (see [`overrides`]): allowed, SafeSearch still applies;
//! 5. local recategorisations (every profile): a name put into a blocked category is
//!    blocked; a name taken out of a category loses the index's listing in it;
//! 6. categories: the longest listed suffix's categories; a blocked root blocks its children
//!    unless a child is allowed, and an allowed root's blocked child is blocked; the
//!    profile's schedules active at the policy's moment add or lift category blocks
//!    (see [`schedule`]);
//! 7. SafeSearch / YouTube restricted rewrites;
//! 8. everything else is allowed.
//!
//! A policy is built for one moment ([`Policy::at`], [`Policy::with_overrides`]) and says
//! when it next needs rebuilding ([`Policy::next_change`]), so deciding does no time work.
//!
//! ```
//! use std::sync::Arc;
//! use hedge_lists::{Compiler, Format, Index, Taxonomy};
//! use hedge_policy::{Decision, Policy, ProfileConfig};
//!
//! let taxonomy = Taxonomy::builtin();
//! let mut c = Compiler::new(&taxonomy);
//! c.add_text("demo", Format::Plain, &["gambling".into()], b"bet.com\n", "demo")?;
//! let index = Arc::new(Index::from_bytes(c.finish(&mut |_| {})?.bytes)?);
//! let adult = ProfileConfig { name: "adult".into(), block: vec!["gambling".into()], ..Default::default() };
//! let policy = Policy::new(index, vec![adult], std::path::Path::new("."))?;
//! let p = policy.profile_id("adult").unwrap();
//! assert!(matches!(policy.decide(p, "www.bet.com"), Decision::Block(_)));
//! assert!(matches!(policy.decide(p, "example.org"), Decision::Allow(_)));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]

use std::path::Path;
use std::sync::Arc;

use hedge_lists::{CategoryIdx, Index, LabelSetId};

pub mod config;
mod explain;
pub mod overrides;
mod profile;
pub mod safesearch;
pub mod schedule;
mod show;
mod unsupplied;

pub use config::{BlockAction, Mode, ProfileConfig, ScheduleConfig, YoutubeRestrict};
pub use explain::Explanation;
pub use jiff::{Timestamp, tz::TimeZone};
pub use overrides::{Grant, Overrides, Recategorisation};
pub use profile::{DEFAULT_BLOCK_TTL, Profile};
pub use schedule::Schedule;

/// Index of a profile in its [`Policy`].
pub type ProfileId = usize;

/// Index of a custom block list in [`Policy::custom_lists`].
pub type CustomListId = u16;

/// What blocks that no category explains are counted under, after the taxonomy's
/// categories (see [`Decision::category`] and [`Policy::count_labels`]).
pub const RULE_LABELS: [&str; 4] = [
    "bypass:doh-canary",
    "bypass:private-relay",
    "bypass:ddr",
    "walled-garden",
];

/// The counting label of a custom block list (`custom:adult`).
pub fn custom_label(list: &str) -> String {
    format!("custom:{list}")
}

/// A configuration error, naming the profile and key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("profile `{profile}`, key `{key}`: {problem}")]
pub struct PolicyError {
    /// The profile's name.
    pub profile: String,
    /// The offending key.
    pub key: String,
    /// What is wrong and how to fix it.
    pub problem: String,
}

impl PolicyError {
    pub(crate) fn at(profile: &str, key: &str, problem: String) -> PolicyError {
        PolicyError {
            profile: profile.to_string(),
            key: key.to_string(),
            problem,
        }
    }
}

/// ` (did you mean games, gambling?)` for an unknown category id, or nothing.
pub(crate) fn did_you_mean(taxonomy: &hedge_lists::Taxonomy, id: &str) -> String {
    let hint = taxonomy.suggest(id);
    if hint.is_empty() {
        String::new()
    } else {
        format!(" (did you mean {}?)", hint.join(", "))
    }
}

/// What to do with a query name, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Resolve it.
    Allow(AllowReason),
    /// Answer with the profile's block action.
    Block(BlockReason),
    /// Answer with a CNAME to this safe endpoint (and the endpoint's addresses).
    Rewrite(&'static str),
    /// A resolver-bypass signal, answered so clients stay on the filter.
    Bypass(Bypass),
}

/// Why a name is allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllowReason {
    /// No list names it.
    NotListed,
    /// Listed, but none of its categories is blocked in this profile.
    Listed(LabelSetId),
    /// In the profile's allowed domains.
    CustomAllow,
    /// In the walled garden.
    WalledGarden,
    /// A live grant for this profile (an index into [`Overrides::grants`] of
    /// [`Policy::overrides`]).
    Granted(u32),
    /// A local recategorisation took the name out of the category that blocked it (an
    /// index into [`Overrides::recategorised`]).
    Recategorised(u32),
}

/// Why a name is blocked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockReason {
    /// A blocked category, from this label set, matched by the listed suffix of this many
    /// labels (`bet365.com` for `www.bet365.com`: 2).
    Category(CategoryIdx, LabelSetId, u8),
    /// The profile's blocked domains, from this custom list (an index into
    /// [`Policy::custom_lists`]).
    CustomBlock(CustomListId),
    /// A walled garden, and the name is not in it.
    NotInGarden,
    /// A local recategorisation put the name into this blocked category (the
    /// recategorisation's index into [`Overrides::recategorised`], and the labels of the
    /// recategorised name).
    Recategorised(CategoryIdx, u32, u8),
}

/// Resolver-bypass signals hedge answers itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bypass {
    /// `use-application-dns.net`: NXDOMAIN tells Firefox not to enable DoH.
    DohCanary,
    /// `mask.icloud.com`, `mask-h2.icloud.com`: NXDOMAIN turns iCloud Private Relay off.
    PrivateRelay,
    /// `_dns.resolver.arpa`: NODATA, so clients do not discover an encrypted resolver (RFC 9462).
    Ddr,
}

/// The last `labels` labels of `name` (`suffix("www.bet365.com", 2)` is `bet365.com`).
pub fn suffix(name: &str, labels: u8) -> &str {
    if labels == 0 {
        return "";
    }
    // One backward pass over the bytes: for names this short, cheaper than a `rfind` per label.
    let mut left = labels;
    for (i, &b) in name.as_bytes().iter().enumerate().rev() {
        if b == b'.' {
            left -= 1;
            if left == 0 {
                return &name[i + 1..];
            }
        }
    }
    name
}

impl Decision {
    /// For a category block, how many labels the listed name has: the domain a block is
    /// counted under (random subdomains of a listed site count as the site).
    pub fn listed_labels(&self) -> Option<u8> {
        match *self {
            Decision::Block(
                BlockReason::Category(_, _, labels) | BlockReason::Recategorised(_, _, labels),
            ) => Some(labels),
            _ => None,
        }
    }

    /// What to count this decision under, if anything: an index into
    /// [`Policy::count_labels`]. Below the taxonomy's length it is a category; above, a
    /// rule that blocked without a category: a bypass control, the walled garden, or a
    /// custom list ([`RULE_LABELS`], then the custom lists).
    pub fn category(&self, index: &Index) -> Option<CategoryIdx> {
        let rules = index.taxonomy().len() as CategoryIdx;
        let rule = |i: usize| rules.saturating_add(i as CategoryIdx);
        match *self {
            Decision::Block(
                BlockReason::Category(c, _, _) | BlockReason::Recategorised(c, _, _),
            ) => Some(c),
            Decision::Allow(AllowReason::Listed(set)) => index.categories(set).first().copied(),
            Decision::Bypass(Bypass::DohCanary) => Some(rule(0)),
            Decision::Bypass(Bypass::PrivateRelay) => Some(rule(1)),
            Decision::Bypass(Bypass::Ddr) => Some(rule(2)),
            Decision::Block(BlockReason::NotInGarden) => Some(rule(3)),
            Decision::Block(BlockReason::CustomBlock(list)) => {
                Some(rule(RULE_LABELS.len()).saturating_add(list))
            }
            Decision::Allow(_) | Decision::Rewrite(_) => None,
        }
    }
}

/// Profiles bound to an index, at one moment, with the live overrides: the one place that
/// decides. Cloning shares the index and the custom lists.
#[derive(Debug, Clone)]
pub struct Policy {
    index: Arc<Index>,
    profiles: Vec<Profile>,
    notices: Vec<String>,
    /// Names of the custom block lists of every profile (file stems, `block_domains`).
    custom_lists: Vec<String>,
    /// The zone schedules are evaluated in.
    zone: TimeZone,
    /// The moment the schedules were resolved for.
    at: Timestamp,
    /// Grants and local recategorisations in force.
    overrides: overrides::Compiled,
}

impl Policy {
    /// Builds every profile (resolving `inherit`, checking category ids against the index's
    /// taxonomy, reading custom domain files relative to `base_dir`), with schedules in the
    /// system's time zone, resolved now.
    pub fn new(
        index: Arc<Index>,
        configs: Vec<ProfileConfig>,
        base_dir: &Path,
    ) -> Result<Policy, PolicyError> {
        Policy::new_at(
            index,
            configs,
            base_dir,
            TimeZone::system(),
            Timestamp::now(),
        )
    }

    /// [`Policy::new`] with schedules evaluated in `zone` and resolved at `now`.
    pub fn new_at(
        index: Arc<Index>,
        configs: Vec<ProfileConfig>,
        base_dir: &Path,
        zone: TimeZone,
        now: Timestamp,
    ) -> Result<Policy, PolicyError> {
        let mut notices = Vec::new();
        let mut profiles = Vec::with_capacity(configs.len());
        for (i, c) in configs.iter().enumerate() {
            if configs[..i].iter().any(|p| p.name == c.name) {
                return Err(PolicyError::at(
                    &c.name,
                    "name",
                    "two profiles have this name".into(),
                ));
            }
            let (flat, lineage) = profile::flatten(&configs, i)?;
            profiles.push(profile::build(
                flat,
                lineage,
                index.taxonomy(),
                base_dir,
                &mut notices,
            )?);
        }
        let mut unsupplied: Vec<(&str, Vec<&str>)> = Vec::new();
        for p in &profiles {
            for id in &p.block_categories {
                let c = index.taxonomy().get(id).expect("checked when built");
                let supplied = index.meta().sets.iter().enumerate().any(|(s, _)| {
                    index
                        .categories(s as LabelSetId)
                        .iter()
                        .any(|&x| x == c || index.taxonomy().parent(x) == Some(c))
                });
                if !supplied {
                    match unsupplied.iter_mut().find(|(c, _)| c == id) {
                        Some((_, by)) => by.push(&p.name),
                        None => unsupplied.push((id, vec![&p.name])),
                    }
                }
            }
        }
        notices.extend(unsupplied::notice(&unsupplied));
        let mut custom_lists = Vec::new();
        for p in &mut profiles {
            p.number_custom_lists(&mut custom_lists);
        }
        let mut policy = Policy {
            overrides: overrides::Compiled::default(),
            index,
            profiles,
            notices,
            custom_lists,
            zone,
            at: now,
        };
        policy.resolve_schedules(now);
        Ok(policy)
    }

    /// The same policy (overrides included) with the schedules resolved at `now` and the
    /// grants expired by then dropped.
    pub fn at(&self, now: Timestamp) -> Policy {
        let mut policy = self.clone();
        let expired = |g: &Grant| g.until.is_some_and(|u| u <= now);
        if self.overrides().grants.iter().any(expired) {
            let live = self
                .with_overrides(self.overrides(), now)
                .expect("overrides in force were checked when applied");
            policy = live;
        }
        policy.resolve_schedules(now);
        policy
    }

    /// The next moment after `now` at which this policy's decisions may change: a schedule
    /// boundary, a daylight-saving change in a zone with schedules, or a grant's expiry.
    pub fn next_change(&self, now: Timestamp) -> Option<Timestamp> {
        let boundary = schedule::next_boundary(
            self.profiles.iter().flat_map(|p| &p.schedules),
            &self.zone,
            now,
        );
        let expiry = self
            .overrides()
            .grants
            .iter()
            .filter_map(|g| g.until)
            .filter(|&u| u > now)
            .min();
        boundary.into_iter().chain(expiry).min()
    }

    /// Whether `other` decides every name as this policy does: the same profiles and index,
    /// the same schedules in force, the same overrides (a rebuild at a moment where nothing
    /// changed need not be swapped in).
    pub fn decides_as(&self, other: &Policy) -> bool {
        Arc::ptr_eq(&self.index, &other.index)
            && self.profiles.len() == other.profiles.len()
            && self
                .profiles
                .iter()
                .zip(&other.profiles)
                .all(|(a, b)| a.name == b.name && a.active == b.active)
            && self.overrides() == other.overrides()
    }

    /// The moment the schedules were resolved for.
    pub fn moment(&self) -> Timestamp {
        self.at
    }

    /// The zone schedules are evaluated in.
    pub fn zone(&self) -> &TimeZone {
        &self.zone
    }

    fn resolve_schedules(&mut self, now: Timestamp) {
        self.at = now;
        let taxonomy = self.index.taxonomy();
        for p in &mut self.profiles {
            p.resolve_schedules(taxonomy, &self.zone, now);
        }
    }

    /// The custom block lists' names, as counted (`custom:<name>`) and shown in EDE texts.
    pub fn custom_lists(&self) -> &[String] {
        &self.custom_lists
    }

    /// One custom block list's name (`block_domains` for a profile's inline entries).
    pub fn custom_list_name(&self, list: CustomListId) -> &str {
        self.custom_lists
            .get(usize::from(list))
            .map_or("block_domains", String::as_str)
    }

    /// What [`Decision::category`] indexes: the taxonomy's category ids, then
    /// [`RULE_LABELS`], then `custom:<list>` for each custom block list.
    pub fn count_labels(&self) -> Vec<String> {
        let taxonomy = self.index.taxonomy();
        (0..taxonomy.len())
            .map(|c| taxonomy.id(c as CategoryIdx).to_string())
            .chain(RULE_LABELS.iter().map(|l| l.to_string()))
            .chain(self.custom_lists.iter().map(|l| custom_label(l)))
            .collect()
    }

    /// Things an operator should know that do not stop the policy (shadowed allows, URL
    /// entries DNS cannot enforce, blocked categories no list supplies).
    pub fn notices(&self) -> &[String] {
        &self.notices
    }

    /// The category index.
    pub fn index(&self) -> &Arc<Index> {
        &self.index
    }

    /// All profiles.
    pub fn profiles(&self) -> &[Profile] {
        &self.profiles
    }

    /// A profile's id by name.
    pub fn profile_id(&self, name: &str) -> Option<ProfileId> {
        self.profiles.iter().position(|p| p.name == name)
    }

    /// A profile by id.
    pub fn profile(&self, id: ProfileId) -> &Profile {
        &self.profiles[id]
    }

    /// Decides a query name (case-insensitive, trailing dot optional). Does not allocate.
    pub fn decide(&self, profile: ProfileId, name: &str) -> Decision {
        let p = &self.profiles[profile];
        let name = name.strip_suffix('.').unwrap_or(name);
        let mut buf = [0u8; 256];
        let Some(lower) = lowercase(name, &mut buf) else {
            return Decision::Allow(AllowReason::NotListed);
        };
        if p.block_doh_canary && lower == "use-application-dns.net" {
            return Decision::Bypass(Bypass::DohCanary);
        }
        if p.block_private_relay && (lower == "mask.icloud.com" || lower == "mask-h2.icloud.com") {
            return Decision::Bypass(Bypass::PrivateRelay);
        }
        if p.block_ddr && lower == "_dns.resolver.arpa" {
            return Decision::Bypass(Bypass::Ddr);
        }
        let in_allow = p
            .custom_allow
            .as_ref()
            .is_some_and(|i| i.lookup(lower).is_some());
        if p.mode == Mode::Allowlist {
            return if in_allow {
                Decision::Allow(AllowReason::WalledGarden)
            } else if let Some(g) = self.overrides.find(profile, lower).grant {
                Decision::Allow(AllowReason::Granted(g))
            } else {
                Decision::Block(BlockReason::NotInGarden)
            };
        }
        if in_allow {
            return Decision::Allow(AllowReason::CustomAllow);
        }
        if let Some(list) = p.custom_block_list(lower) {
            return Decision::Block(BlockReason::CustomBlock(list));
        }
        let found = self.overrides.find(profile, lower);
        if let Some(g) = found.grant {
            return match safesearch::rewrite(lower, p.safesearch, p.youtube) {
                Some(target) => Decision::Rewrite(target),
                None => Decision::Allow(AllowReason::Granted(g)),
            };
        }
        let hit = self.index.lookup(lower);
        let listed = hit.map(|m| m.set);
        if found.recategorised()
            && let Some(d) = self.decide_recategorised(p, lower, &found, hit)
        {
            return d;
        }
        if let Some(m) = hit
            && let Some(c) = self.blocked_category(p, m.set)
        {
            return Decision::Block(BlockReason::Category(c, m.set, labels_of(m.suffix)));
        }
        if let Some(target) = safesearch::rewrite(lower, p.safesearch, p.youtube) {
            return Decision::Rewrite(target);
        }
        Decision::Allow(listed.map_or(AllowReason::NotListed, AllowReason::Listed))
    }

    /// Decides a CNAME target met in an allowed name's answer (CNAME cloaking). In a walled
    /// garden the chain of an allowed name is followed and allowed (sites on CDNs work).
    pub fn decide_cname_target(&self, profile: ProfileId, target: &str) -> Decision {
        match self.profiles[profile].mode {
            Mode::Allowlist => Decision::Allow(AllowReason::WalledGarden),
            Mode::Filter => match self.decide(profile, target) {
                Decision::Rewrite(_) | Decision::Bypass(_) => {
                    Decision::Allow(AllowReason::NotListed)
                }
                d => d,
            },
        }
    }

    /// The blocked category a label set hits in a profile: the most specific one.
    fn blocked_category(&self, p: &Profile, set: LabelSetId) -> Option<CategoryIdx> {
        self.blocked_category_where(p, set, |_| true)
    }

    /// [`Policy::blocked_category`] among the categories `keep` accepts.
    fn blocked_category_where(
        &self,
        p: &Profile,
        set: LabelSetId,
        keep: impl Fn(CategoryIdx) -> bool,
    ) -> Option<CategoryIdx> {
        let taxonomy = self.index.taxonomy();
        // One pass, `keep` asked once per blocked category: the first child category,
        // else the first root.
        let mut root = None;
        for &c in self.index.categories(set) {
            if p.is_blocked(c) && keep(c) {
                if taxonomy.parent(c).is_some() {
                    return Some(c);
                }
                root.get_or_insert(c);
            }
        }
        root
    }

    /// The decision when local recategorisations cover the name (`found`): None leaves it
    /// to the index. For each category the most specific recategorised name decides
    /// whether it applies.
    fn decide_recategorised(
        &self,
        p: &Profile,
        name: &str,
        found: &overrides::Found,
        hit: Option<hedge_lists::Match<'_>>,
    ) -> Option<Decision> {
        let o = &self.overrides;
        let taxonomy = self.index.taxonomy();
        // Into a blocked category, unless a more specific entry takes the name out again.
        if let Some(a) = o.recategorisations(name, found).find(|a| {
            a.add
                && p.is_blocked(a.category)
                && o.recategorisation(name, found, a.category)
                    .is_some_and(|m| m.id == a.id)
        }) {
            return Some(Decision::Block(BlockReason::Recategorised(
                a.category, a.id, a.labels,
            )));
        }
        let m = hit?;
        // Out of a category: the index's listing in it, or in its children, is ignored.
        let removal = |c: CategoryIdx| {
            std::iter::once(c)
                .chain(taxonomy.parent(c))
                .find_map(|x| o.recategorisation(name, found, x).filter(|a| !a.add))
        };
        let blocked = self.blocked_category(p, m.set)?;
        match self.blocked_category_where(p, m.set, |c| removal(c).is_none()) {
            Some(c) => Some(Decision::Block(BlockReason::Category(
                c,
                m.set,
                labels_of(m.suffix),
            ))),
            None => removal(blocked).map(|a| Decision::Allow(AllowReason::Recategorised(a.id))),
        }
    }
}

/// The number of labels of a listed name.
fn labels_of(name: &str) -> u8 {
    let labels = name.bytes().filter(|&b| b == b'.').count() + 1;
    labels.min(127) as u8
}

/// ASCII-lowercases `name` into `buf`; None if it is too long to be a DNS name or not ASCII.
fn lowercase<'b>(name: &str, buf: &'b mut [u8; 256]) -> Option<&'b str> {
    let bytes = name.as_bytes();
    if bytes.len() > 255 {
        return None;
    }
    let out = &mut buf[..bytes.len()];
    for (o, b) in out.iter_mut().zip(bytes) {
        *o = b.to_ascii_lowercase();
    }
    std::str::from_utf8(out).ok()
}
