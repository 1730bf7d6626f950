//! The impact of a new policy on the stored counts: each stored blocked domain re-decided,
//! per profile, by the current and the new policy.

use hedge_policy::{AllowReason, Decision, Policy};
use hedge_stats::{Action, CountsQuery, DomainsQuery, Period, SqliteStore, Store};

use crate::output::policy_diff::{DomainImpact, ProfileImpact};

/// What to count.
pub struct Scope {
    pub from: Period,
    pub to: Period,
    pub top: usize,
    /// Domains blocked fewer times than this are counted, not listed.
    pub min_listed: u64,
}

/// One row per profile of the current policy that has counts in the period.
pub fn impact(
    store: &SqliteStore,
    current: &Policy,
    new: &Policy,
    scope: &Scope,
) -> Result<Vec<ProfileImpact>, hedge_stats::Error> {
    let (from, to) = (Some(scope.from.first_day()), Some(scope.to.last_day()));
    let blocked = store.counts(&CountsQuery {
        from,
        to,
        action: Some(Action::Blocked),
        by_profile: true,
        ..Default::default()
    })?;
    let mut out = Vec::new();
    for row in blocked {
        let Some(name) = row.profile else { continue };
        let mut p = ProfileImpact {
            profile: name.clone(),
            blocked_queries: row.n,
            would_allow: 0,
            already_allowed_now: 0,
            top_domains: Vec::new(),
            note: None,
        };
        let (Some(old_id), Some(new_id)) = (current.profile_id(&name), new.profile_id(&name))
        else {
            p.note = Some(if current.profile_id(&name).is_none() {
                "not a profile of the current configuration: not estimated".into()
            } else {
                "the new configuration removes this profile: not estimated".into()
            });
            out.push(p);
            continue;
        };
        let domains = store.top_blocked_domains(&DomainsQuery {
            from,
            to,
            profile: Some(name.clone()),
            limit: usize::MAX,
            ..Default::default()
        })?;
        for d in domains {
            if !blocks(current.decide(old_id, &d.domain)) {
                p.already_allowed_now += d.n;
                continue;
            }
            let Some(instead) = answered(new.decide(new_id, &d.domain)) else {
                continue;
            };
            p.would_allow += d.n;
            // Largest first (the store's order), so the first `top` listable ones.
            if p.top_domains.len() < scope.top && d.n >= scope.min_listed {
                p.top_domains.push(DomainImpact {
                    domain: d.domain,
                    category: d.category,
                    queries: d.n,
                    new_decision: instead,
                });
            }
        }
        out.push(p);
    }
    Ok(out)
}

fn blocks(d: Decision) -> bool {
    matches!(d, Decision::Block(_) | Decision::Bypass(_))
}

/// How a name would be answered, when it would be.
fn answered(d: Decision) -> Option<String> {
    Some(match d {
        Decision::Block(_) | Decision::Bypass(_) => return None,
        Decision::Rewrite(target) => format!("rewritten to {target}"),
        Decision::Allow(reason) => match reason {
            AllowReason::CustomAllow => "allowed (allow list)",
            AllowReason::WalledGarden => "allowed (walled garden)",
            AllowReason::Granted(_) => "allowed (grant)",
            AllowReason::Recategorised(_) => "allowed (local recategorisation)",
            AllowReason::Listed(_) => "allowed (category not blocked)",
            AllowReason::NotListed => "allowed (not listed)",
        }
        .into(),
    })
}
