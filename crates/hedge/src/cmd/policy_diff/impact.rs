//! The impact of a new policy on the stored counts: each stored blocked domain and each
//! stored allowed domain re-decided, per profile, by the current and the new policy.

use std::collections::BTreeMap;

use hedge_policy::{AllowReason, Decision, Policy, ProfileId};
use hedge_stats::{Action, CountsQuery, DomainsQuery, OTHER_DOMAIN, Period, SqliteStore, Store};

use crate::output::policy_diff::{
    BlockImpact, DomainImpact, NEWLY_BLOCKED_NOT_COUNTED, NewlyBlocked, ProfileImpact,
};

/// What to count.
pub struct Scope {
    pub from: Period,
    pub to: Period,
    pub top: usize,
    /// Domains counted fewer times than this are counted, not listed.
    pub min_listed: u64,
}

/// One row per profile of the stored counts in the period (blocked or allowed queries).
pub fn impact(
    store: &SqliteStore,
    current: &Policy,
    new: &Policy,
    scope: &Scope,
) -> Result<Vec<ProfileImpact>, hedge_stats::Error> {
    let (from, to) = (scope.from.first_day(), scope.to.last_day());
    let per_profile = |action| {
        store.counts(&CountsQuery {
            from: Some(from),
            to: Some(to),
            action: Some(action),
            by_profile: true,
            ..Default::default()
        })
    };
    // (blocked, allowed) queries per profile.
    let mut totals: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for row in per_profile(Action::Blocked)? {
        if let Some(p) = row.profile {
            totals.entry(p).or_default().0 += row.n;
        }
    }
    for row in per_profile(Action::Allowed)? {
        if let Some(p) = row.profile {
            totals.entry(p).or_default().1 += row.n;
        }
    }
    let mut out = Vec::new();
    for (name, (blocked_queries, allowed_queries)) in totals {
        let mut p = ProfileImpact {
            profile: name.clone(),
            blocked_queries,
            would_allow: 0,
            already_allowed_now: 0,
            top_domains: Vec::new(),
            allowed_queries,
            newly_blocked: None,
            newly_blocked_note: None,
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
        let ids = (old_id, new_id);
        would_allow(store, (current, new), ids, &name, scope, &mut p)?;
        p.newly_blocked = would_block(store, (current, new), ids, &name, scope)?;
        if p.newly_blocked.is_none() {
            p.newly_blocked_note = Some(NEWLY_BLOCKED_NOT_COUNTED);
        }
        out.push(p);
    }
    Ok(out)
}

/// The profile's stored blocked queries that the new policy would answer.
fn would_allow(
    store: &SqliteStore,
    (current, new): (&Policy, &Policy),
    (old_id, new_id): (ProfileId, ProfileId),
    name: &str,
    scope: &Scope,
    p: &mut ProfileImpact,
) -> Result<(), hedge_stats::Error> {
    let domains = store.top_blocked_domains(&DomainsQuery {
        from: Some(scope.from.first_day()),
        to: Some(scope.to.last_day()),
        profile: Some(name.to_string()),
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
    Ok(())
}

/// The profile's stored allowed queries that the new policy would block; None when the
/// period has no allowed-domain counts (not a zero: unknown).
fn would_block(
    store: &SqliteStore,
    (current, new): (&Policy, &Policy),
    (old_id, new_id): (ProfileId, ProfileId),
    name: &str,
    scope: &Scope,
) -> Result<Option<NewlyBlocked>, hedge_stats::Error> {
    let domains = store.allowed_domains(scope.from.first_day(), scope.to.last_day(), name)?;
    if domains.is_empty() {
        return Ok(None);
    }
    let mut n = NewlyBlocked::default();
    let labels = new.count_labels();
    for d in domains {
        if d.domain == OTHER_DOMAIN {
            // Past a flush interval's cap of distinct names: no name to ask about.
            n.unnamed += d.n;
            continue;
        }
        if blocks(current.decide(old_id, &d.domain)) {
            n.already_blocked_now += d.n;
            continue;
        }
        let decision = new.decide(new_id, &d.domain);
        if !blocks(decision) {
            continue;
        }
        n.would_block += d.n;
        if n.top_domains.len() < scope.top && d.n >= scope.min_listed {
            n.top_domains.push(BlockImpact {
                domain: d.domain,
                queries: d.n,
                new_decision: blocked_as(new, &labels, decision),
            });
        }
    }
    Ok(Some(n))
}

fn blocks(d: Decision) -> bool {
    matches!(d, Decision::Block(_) | Decision::Bypass(_))
}

/// How a blocked name would be blocked: with its category or rule label when there is one.
fn blocked_as(policy: &Policy, labels: &[String], d: Decision) -> String {
    match d
        .category(policy.index())
        .and_then(|c| labels.get(usize::from(c)))
    {
        Some(label) => format!("blocked ({label})"),
        None => "blocked".into(),
    }
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
