//! `hedge explain`: the decision chain, step by step.

use std::fmt;

use crate::{AllowReason, BlockReason, Bypass, Decision, Policy, ProfileId};

/// A decision with the steps that led to it, for people.
#[derive(Debug, Clone)]
pub struct Explanation {
    /// The decision.
    pub decision: Decision,
    /// One line per step: profile → rule or category → source list → index version.
    pub steps: Vec<String>,
    /// A one-word verdict: allowed, blocked, rewritten, nxdomain, nodata.
    pub verdict: &'static str,
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.steps.iter().enumerate() {
            writeln!(f, "{}{s}", if i == 0 { "" } else { "  → " })?;
        }
        Ok(())
    }
}

impl Policy {
    /// Explains the decision for `name` in a profile.
    pub fn explain(&self, profile: ProfileId, name: &str) -> Explanation {
        let p = self.profile(profile);
        let index = self.index();
        let taxonomy = index.taxonomy();
        let decision = self.decide(profile, name);
        let mut steps = vec![format!(
            // The words hedge.toml uses (`mode = "filter"`): the enums are lowercase in serde.
            "profile `{}`{} (mode {}, action {})",
            p.name,
            if p.lineage.len() > 1 {
                format!(" (inherits {})", p.lineage[1..].join(" → "))
            } else {
                String::new()
            },
            format!("{:?}", p.mode).to_lowercase(),
            format!("{:?}", p.action).to_lowercase()
        )];
        let lookup = index.lookup(name);
        let sources = |set| {
            index
                .labels(set)
                .map(|l| l.path())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let verdict = match decision {
            Decision::Bypass(b) => {
                steps.push(match b {
                    Bypass::DohCanary => "Firefox DoH canary: NXDOMAIN keeps Firefox on this resolver (block_doh_canary)".into(),
                    Bypass::PrivateRelay => "iCloud Private Relay: NXDOMAIN keeps Apple devices on this resolver (block_private_relay)".into(),
                    Bypass::Ddr => "DDR discovery (RFC 9462): NODATA so clients do not switch to an unfiltered encrypted resolver (block_ddr)".into(),
                });
                if b == Bypass::Ddr {
                    "nodata"
                } else {
                    "nxdomain"
                }
            }
            Decision::Allow(AllowReason::CustomAllow) => {
                steps.push(
                    "rule: in the profile's allow_domains (allow overrides every block)".into(),
                );
                "allowed"
            }
            Decision::Allow(AllowReason::WalledGarden) => {
                steps.push("rule: in the walled garden (allow_domains)".into());
                "allowed"
            }
            Decision::Block(BlockReason::NotInGarden) => {
                steps.push("rule: walled garden, and this name is not in its allow_domains".into());
                "blocked"
            }
            Decision::Block(BlockReason::CustomBlock(list)) => {
                steps.push(format!(
                    "rule: in the profile's custom block list `{}` (counted as `{}`)",
                    self.custom_list_name(list),
                    crate::custom_label(self.custom_list_name(list))
                ));
                "blocked"
            }
            Decision::Block(BlockReason::Category(c, set, _)) => {
                let m = lookup.map(|m| m.suffix).unwrap_or(name);
                steps.push(format!(
                    "listed as `{m}` in categories {}",
                    category_list(self, set)
                ));
                steps.push(format!(
                    "category `{}` is blocked{}",
                    taxonomy.id(c),
                    root_note(self, profile, c)
                ));
                steps.extend(schedule_notes(self, profile, &[c]));
                steps.push(format!("source lists: {}", sources(set)));
                "blocked"
            }
            Decision::Block(BlockReason::Recategorised(c, id, _)) => {
                if let Some(r) = self.recategorisation(id) {
                    steps.push(format!(
                        "local recategorisation: `{}` put into category `{}` by staff, for every profile",
                        r.name, r.category
                    ));
                }
                steps.push(format!(
                    "category `{}` is blocked{}",
                    taxonomy.id(c),
                    root_note(self, profile, c)
                ));
                steps.extend(schedule_notes(self, profile, &[c]));
                "blocked"
            }
            Decision::Allow(AllowReason::Granted(id)) => {
                if let Some(g) = self.grant(id) {
                    steps.push(format!(
                        "grant: `{}` allowed for this profile by staff ({})",
                        g.name,
                        g.terms()
                    ));
                }
                "allowed"
            }
            Decision::Allow(AllowReason::Recategorised(id)) => {
                let m = lookup.map(|m| m.suffix).unwrap_or(name);
                if let Some(set) = lookup.map(|m| m.set) {
                    steps.push(format!(
                        "listed as `{m}` in categories {}",
                        category_list(self, set)
                    ));
                }
                if let Some(r) = self.recategorisation(id) {
                    steps.push(format!(
                        "local recategorisation: `{}` taken out of category `{}` by staff, for every profile",
                        r.name, r.category
                    ));
                }
                "allowed"
            }
            Decision::Allow(AllowReason::Listed(set)) => {
                let m = lookup.map(|m| m.suffix).unwrap_or(name);
                steps.push(format!(
                    "listed as `{m}` in categories {} — none blocked in this profile",
                    category_list(self, set)
                ));
                steps.extend(schedule_notes(self, profile, index.categories(set)));
                steps.push(format!("source lists: {}", sources(set)));
                "allowed"
            }
            Decision::Rewrite(target) => {
                steps.push(format!("SafeSearch / restricted mode: CNAME to {target}"));
                "rewritten"
            }
            Decision::Allow(AllowReason::NotListed) => {
                steps.push("not listed in any category, not in a custom list".into());
                "allowed"
            }
        };
        steps.push(format!(
            "index version {} ({})",
            index.version(),
            hedge_lists::counted(index.len(), "name")
        ));
        Explanation {
            decision,
            steps,
            verdict,
        }
    }
}

/// The schedules of a profile that name one of `categories` (or its root), and whether
/// they are in force at the policy's moment.
fn schedule_notes(
    policy: &Policy,
    profile: ProfileId,
    categories: &[hedge_lists::CategoryIdx],
) -> Vec<String> {
    let p = policy.profile(profile);
    let taxonomy = policy.index().taxonomy();
    let names = |list: &[hedge_lists::CategoryIdx]| {
        categories
            .iter()
            .any(|&c| list.contains(&c) || taxonomy.parent(c).is_some_and(|r| list.contains(&r)))
    };
    p.schedules
        .iter()
        .enumerate()
        .filter(|(_, s)| names(&s.block) || names(&s.allow))
        .map(|(i, s)| {
            let now = if p.active.contains(&i) { "" } else { "not " };
            format!(
                "schedule {} ({now}in force at {} {})",
                s.describe(taxonomy),
                policy
                    .zone()
                    .to_datetime(policy.moment())
                    .strftime("%Y-%m-%d %H:%M"),
                policy.zone_name()
            )
        })
        .collect()
}

fn category_list(policy: &Policy, set: hedge_lists::LabelSetId) -> String {
    let index = policy.index();
    let ids: Vec<&str> = index
        .categories(set)
        .iter()
        .map(|&c| index.taxonomy().id(c))
        .collect();
    if ids.is_empty() {
        "(none: an allow entry of its list)".into()
    } else {
        ids.join(", ")
    }
}

fn root_note(policy: &Policy, profile: ProfileId, c: hedge_lists::CategoryIdx) -> String {
    let p = policy.profile(profile);
    let taxonomy = policy.index().taxonomy();
    let id = taxonomy.id(c);
    if p.block_categories.iter().any(|b| b == id) {
        " (named in `block`)".into()
    } else if let Some(root) = taxonomy.parent(c) {
        format!(" (its root `{}` is in `block`)", taxonomy.id(root))
    } else {
        String::new()
    }
}
