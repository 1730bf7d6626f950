//! Resolving `[[profile]]` tables into ready-to-query profiles: inheritance, category
//! tables, custom domain lists.

use std::collections::HashSet;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use hedge_lists::{CategoryIdx, Compiler, Format, Index, Taxonomy};

use crate::PolicyError;
use crate::config::{BlockAction, Mode, ProfileConfig, YoutubeRestrict};
use crate::schedule::Schedule;

/// Default TTL of blocked answers.
pub const DEFAULT_BLOCK_TTL: u32 = 300;

/// A profile ready for decisions. Built by [`crate::Policy::new`].
#[derive(Debug, Clone)]
pub struct Profile {
    /// Profile name.
    pub name: String,
    /// The inheritance chain, this profile first.
    pub lineage: Vec<String>,
    /// Filter or walled garden.
    pub mode: Mode,
    /// What blocked names get.
    pub action: BlockAction,
    /// Block-page addresses for `redirect`.
    pub redirect_to: Vec<IpAddr>,
    /// TTL of blocked answers.
    pub block_ttl: u32,
    /// SafeSearch rewrites.
    pub safesearch: bool,
    /// YouTube Restricted Mode.
    pub youtube: YoutubeRestrict,
    /// Firefox DoH canary → NXDOMAIN.
    pub block_doh_canary: bool,
    /// iCloud Private Relay → NXDOMAIN.
    pub block_private_relay: bool,
    /// DDR `_dns.resolver.arpa` → NODATA.
    pub block_ddr: bool,
    /// Category ids named in `block` (after inheritance).
    pub block_categories: Vec<String>,
    /// Category ids named in `allow` (after inheritance).
    pub allow_categories: Vec<String>,
    /// Custom blocked entries as configured (names, files' entries).
    pub block_entries: Vec<String>,
    /// Custom blocked entries with a URL path (`news.sky.com/#watchlive`), as written: part
    /// of the published policy, but DNS cannot enforce them (it sees only the host).
    pub block_path_entries: Vec<String>,
    /// Custom allowed entries (the walled garden in allowlist mode).
    pub allow_entries: Vec<String>,
    /// Time rules, in configuration order.
    pub schedules: Vec<Schedule>,
    /// The schedules active at the moment the policy was built for (indices into
    /// `schedules`).
    pub(crate) active: Vec<usize>,
    /// `block` and `allow` as category indices, before schedules.
    pub(crate) base_block: Vec<CategoryIdx>,
    pub(crate) base_allow: Vec<CategoryIdx>,
    /// Effective block flag per category index, schedules applied.
    pub(crate) blocked: Vec<bool>,
    /// Block flag per category index from `block` and `allow` alone, no schedule applied.
    pub(crate) unscheduled: Vec<bool>,
    pub(crate) custom_block: Option<Arc<Index>>,
    /// The custom list of each label set of `custom_block` (set by `Policy::new`).
    pub(crate) custom_block_lists: Vec<crate::CustomListId>,
    pub(crate) custom_allow: Option<Arc<Index>>,
}

impl Profile {
    /// Whether a category is blocked in this profile (root rules and child exceptions applied).
    pub fn is_blocked(&self, category: CategoryIdx) -> bool {
        self.blocked
            .get(usize::from(category))
            .copied()
            .unwrap_or(false)
    }

    /// Whether a category is blocked by the profile's `block` and `allow` alone, whatever
    /// the schedules say (the published policy; `schedules_text` lists the time rules).
    pub fn is_blocked_unscheduled(&self, category: CategoryIdx) -> bool {
        self.unscheduled
            .get(usize::from(category))
            .copied()
            .unwrap_or(false)
    }

    /// The schedules active at the moment the policy was built for.
    pub fn active_schedules(&self) -> impl Iterator<Item = &Schedule> {
        self.active.iter().map(|&i| &self.schedules[i])
    }

    /// Applies the schedules active at `now` (in `zone`) to the category flags.
    pub(crate) fn resolve_schedules(
        &mut self,
        taxonomy: &Taxonomy,
        zone: &jiff::tz::TimeZone,
        now: jiff::Timestamp,
    ) {
        let local = zone.to_datetime(now);
        let active: Vec<usize> = (0..self.schedules.len())
            .filter(|&i| self.schedules[i].is_active(local))
            .collect();
        if active == self.active && self.blocked.len() == taxonomy.len() {
            return;
        }
        let mut blocks = self.base_block.clone();
        let mut allows = self.base_allow.clone();
        let rules = || active.iter().map(|&i| &self.schedules[i]);
        // A block of any active rule wins over an allow of another, or of the profile.
        let scheduled_blocks: Vec<CategoryIdx> = rules().flat_map(|s| s.block.clone()).collect();
        let scheduled_allows: Vec<CategoryIdx> = rules()
            .flat_map(|s| s.allow.clone())
            .filter(|c| !scheduled_blocks.contains(c))
            .collect();
        allows.retain(|c| !scheduled_blocks.contains(c));
        blocks.retain(|c| !scheduled_allows.contains(c));
        blocks.extend(scheduled_blocks);
        allows.extend(scheduled_allows);
        self.blocked = blocked_flags(taxonomy, &blocks, &allows);
        self.active = active;
    }

    /// The custom block list that lists `name` (lower case), if one does.
    pub(crate) fn custom_block_list(&self, name: &str) -> Option<crate::CustomListId> {
        let m = self.custom_block.as_ref()?.lookup(name)?;
        Some(
            self.custom_block_lists
                .get(m.set as usize)
                .copied()
                .unwrap_or(0),
        )
    }

    /// Numbers this profile's custom block lists in `lists`, the policy's list of every
    /// profile's lists (a name in two lists counts under the first).
    pub(crate) fn number_custom_lists(&mut self, lists: &mut Vec<String>) {
        let Some(index) = &self.custom_block else {
            return;
        };
        self.custom_block_lists = (0..index.meta().sets.len())
            .map(|set| {
                let name = index
                    .labels(set as hedge_lists::LabelSetId)
                    .next()
                    .map_or_else(|| BLOCK_DOMAINS.to_string(), |l| l.source.clone());
                let at = lists.iter().position(|l| *l == name).unwrap_or_else(|| {
                    lists.push(name);
                    lists.len() - 1
                });
                crate::CustomListId::try_from(at).unwrap_or(crate::CustomListId::MAX)
            })
            .collect();
    }
}

/// The list name of a profile's inline `block_domains` (files are named by their stem).
const BLOCK_DOMAINS: &str = "block_domains";

/// Merges a profile with its ancestors: the child's own entries win over inherited ones.
pub(crate) fn flatten(
    configs: &[ProfileConfig],
    i: usize,
) -> Result<(ProfileConfig, Vec<String>), PolicyError> {
    let mut chain = vec![i];
    let mut seen = HashSet::from([i]);
    while let Some(parent) = &configs[*chain.last().expect("non-empty")].inherit {
        let Some(p) = configs.iter().position(|c| &c.name == parent) else {
            return Err(PolicyError::at(
                &configs[i].name,
                "inherit",
                format!("no profile is named `{parent}`"),
            ));
        };
        if !seen.insert(p) {
            return Err(PolicyError::at(
                &configs[i].name,
                "inherit",
                "inheritance loops back to this profile".into(),
            ));
        }
        chain.push(p);
    }
    let lineage = chain.iter().map(|&c| configs[c].name.clone()).collect();
    let mut merged = ProfileConfig::default();
    for &c in chain.iter().rev() {
        let own = &configs[c];
        let minus = |inherited: &mut Vec<String>, removed: &[String], added: &[String]| {
            inherited.retain(|x| !removed.contains(x));
            for a in added {
                if !inherited.contains(a) {
                    inherited.push(a.clone());
                }
            }
        };
        minus(&mut merged.block, &own.allow, &own.block);
        minus(&mut merged.allow, &own.block, &own.allow);
        minus(
            &mut merged.block_domains,
            &own.allow_domains,
            &own.block_domains,
        );
        minus(
            &mut merged.allow_domains,
            &own.block_domains,
            &own.allow_domains,
        );
        merged
            .block_domain_files
            .extend(own.block_domain_files.iter().cloned());
        merged
            .allow_domain_files
            .extend(own.allow_domain_files.iter().cloned());
        macro_rules! take {
            ($($field:ident),*) => { $( if own.$field.is_some() { merged.$field = own.$field.clone(); } )* };
        }
        take!(
            mode,
            action,
            block_ttl,
            safesearch,
            youtube_restrict,
            block_doh_canary,
            block_private_relay,
            block_ddr
        );
        if !own.redirect_to.is_empty() {
            merged.redirect_to = own.redirect_to.clone();
        }
        if !own.schedule.is_empty() {
            merged.schedule = own.schedule.clone();
        }
    }
    merged.name = configs[i].name.clone();
    merged.inherit = configs[i].inherit.clone();
    Ok((merged, lineage))
}

/// Builds a profile from its flattened config; `notices` collects what an operator should know.
pub(crate) fn build(
    cfg: ProfileConfig,
    lineage: Vec<String>,
    taxonomy: &Taxonomy,
    base_dir: &Path,
    notices: &mut Vec<String>,
) -> Result<Profile, PolicyError> {
    let name = cfg.name.clone();
    let category = |key: &str, id: &str| {
        taxonomy.get(id).ok_or_else(|| {
            PolicyError::at(
                &name,
                key,
                format!("unknown category `{id}`{}; the ids are in lists/categories.toml and `hedge lists stats INDEX`", crate::did_you_mean(taxonomy, id)),
            )
        })
    };
    let blocks: Vec<CategoryIdx> = cfg
        .block
        .iter()
        .map(|id| category("block", id))
        .collect::<Result<_, _>>()?;
    let allows: Vec<CategoryIdx> = cfg
        .allow
        .iter()
        .map(|id| category("allow", id))
        .collect::<Result<_, _>>()?;
    let blocked = blocked_flags(taxonomy, &blocks, &allows);
    let schedules = cfg
        .schedule
        .iter()
        .map(|s| Schedule::parse(&name, s, taxonomy))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(twice) = schedules
        .iter()
        .enumerate()
        .find(|(i, s)| schedules[..*i].iter().any(|o| o.name == s.name))
    {
        return Err(PolicyError::at(
            &name,
            "schedule.name",
            format!(
                "two schedules of this profile are named `{}`; give each its own name",
                twice.1.name
            ),
        ));
    }
    for &a in &allows {
        let root_blocked = taxonomy.parent(a).is_some_and(|p| blocks.contains(&p));
        if !root_blocked && !blocks.contains(&a) && taxonomy.parent(a).is_some() {
            notices.push(format!(
                "profile `{name}`: allow = `{}` has no effect: its root `{}` is not blocked",
                taxonomy.id(a),
                taxonomy.id(taxonomy.parent(a).expect("a child"))
            ));
        }
    }
    let mode = cfg.mode.unwrap_or(Mode::Filter);
    let action = cfg.action.unwrap_or(BlockAction::Null);
    if action == BlockAction::Redirect && cfg.redirect_to.is_empty() {
        return Err(PolicyError::at(
            &name,
            "redirect_to",
            "action = \"redirect\" needs block-page addresses, e.g. redirect_to = [\"10.0.0.80\"]"
                .into(),
        ));
    }
    if mode == Mode::Allowlist && cfg.allow_domains.is_empty() && cfg.allow_domain_files.is_empty()
    {
        return Err(PolicyError::at(
            &name,
            "allow_domains",
            "a walled garden (mode = \"allowlist\") needs allow_domains or allow_domain_files"
                .into(),
        ));
    }
    let CustomIndex {
        index: custom_block,
        entries: block_entries,
        path_entries: block_path_entries,
    } = custom_index(
        &name,
        "block",
        &cfg.block_domains,
        &cfg.block_domain_files,
        base_dir,
        notices,
    )?;
    let CustomIndex {
        index: custom_allow,
        entries: allow_entries,
        ..
    } = custom_index(
        &name,
        "allow",
        &cfg.allow_domains,
        &cfg.allow_domain_files,
        base_dir,
        notices,
    )?;
    for entry in &allow_entries {
        if block_entries.contains(entry) {
            notices.push(format!(
                "profile `{name}`: `{entry}` is in both the allow and block domains; allow wins"
            ));
        }
    }
    Ok(Profile {
        lineage,
        mode,
        action,
        redirect_to: cfg.redirect_to,
        block_ttl: cfg.block_ttl.unwrap_or(DEFAULT_BLOCK_TTL),
        safesearch: cfg.safesearch.unwrap_or(false),
        youtube: cfg.youtube_restrict.unwrap_or(YoutubeRestrict::Off),
        block_doh_canary: cfg.block_doh_canary.unwrap_or(true),
        block_private_relay: cfg.block_private_relay.unwrap_or(true),
        block_ddr: cfg.block_ddr.unwrap_or(true),
        block_categories: cfg.block,
        allow_categories: cfg.allow,
        schedules,
        active: Vec::new(),
        base_block: blocks,
        base_allow: allows,
        unscheduled: blocked.clone(),
        block_entries,
        block_path_entries,
        allow_entries,
        blocked,
        custom_block: custom_block.map(Arc::new),
        custom_block_lists: Vec::new(),
        custom_allow: custom_allow.map(Arc::new),
        name,
    })
}

/// The effective block flag of every category: the most specific rule wins, so a child's
/// own entry beats its root's, and `allow` beats `block` for the same category.
fn blocked_flags(taxonomy: &Taxonomy, blocks: &[CategoryIdx], allows: &[CategoryIdx]) -> Vec<bool> {
    (0..taxonomy.len() as CategoryIdx)
        .map(|c| {
            let named = |set: &[CategoryIdx]| set.contains(&c);
            let root_named =
                |set: &[CategoryIdx]| taxonomy.parent(c).is_some_and(|p| set.contains(&p));
            if named(allows) {
                false
            } else if named(blocks) {
                true
            } else {
                root_named(blocks) && !root_named(allows)
            }
        })
        .collect()
}

/// A profile's custom domains, compiled.
#[derive(Default)]
struct CustomIndex {
    index: Option<Index>,
    /// The names kept, for `policy show`.
    entries: Vec<String>,
    /// The entries with a URL path, which DNS cannot enforce, as written.
    path_entries: Vec<String>,
}

/// Compiles inline domains and domain files into a small index (the same suffix lookup as
/// the category index). Returns the entries kept and those with a path DNS cannot enforce,
/// for `policy show`.
fn custom_index(
    profile: &str,
    kind: &str,
    inline: &[String],
    files: &[std::path::PathBuf],
    base_dir: &Path,
    notices: &mut Vec<String>,
) -> Result<CustomIndex, PolicyError> {
    if inline.is_empty() && files.is_empty() {
        return Ok(CustomIndex::default());
    }
    let mut path_entries = Vec::new();
    let taxonomy = Taxonomy::from_defs(Vec::new(), "custom lists")
        .map_err(|e| PolicyError::at(profile, kind, e.to_string()))?;
    let mut compiler = Compiler::new(&taxonomy);
    let key = format!("{kind}_domains");
    // Sources are named after their lists, so a block is counted under its list.
    if !inline.is_empty() {
        path_entries.extend(hedge_lists::path_entries(Format::Plain, &inline.join("\n")));
        compiler
            .add_text(
                &key,
                Format::Plain,
                &[],
                inline.join("\n").as_bytes(),
                &format!("profile `{profile}` {key}"),
            )
            .map_err(|e| PolicyError::at(profile, &key, e.to_string()))?;
    }
    for file in files {
        let path = base_dir.join(file);
        let text = std::fs::read(&path).map_err(|e| {
            PolicyError::at(
                profile,
                &format!("{kind}_domain_files"),
                format!(
                    "{}: {e}; fix the path (relative to the config file)",
                    path.display()
                ),
            )
        })?;
        path_entries.extend(hedge_lists::path_entries(
            Format::Plain,
            &String::from_utf8_lossy(&text),
        ));
        let list = file
            .file_stem()
            .map_or_else(|| key.clone(), |s| s.to_string_lossy().into_owned());
        compiler
            .add_text(
                &list,
                Format::Plain,
                &[],
                &text,
                &path.display().to_string(),
            )
            .map_err(|e| {
                PolicyError::at(profile, &format!("{kind}_domain_files"), e.to_string())
            })?;
    }
    let compiled = compiler
        .finish(&mut |_| {})
        .map_err(|e| PolicyError::at(profile, &key, e.to_string()))?;
    for n in &compiled.notices {
        notices.push(n.clone());
    }
    for w in &compiled.warnings {
        notices.push(w.to_string());
    }
    let index = Index::from_bytes(compiled.bytes)
        .map_err(|e| PolicyError::at(profile, &key, e.to_string()))?;
    let mut entries = Vec::new();
    index
        .for_each_name(|k, _| entries.push(hedge_lists::name_from_key(k)))
        .map_err(|e| PolicyError::at(profile, &key, e.to_string()))?;
    Ok(CustomIndex {
        index: Some(index),
        entries,
        path_entries,
    })
}
