//! The resolver's observer: statistics counters and metrics, built per snapshot so the
//! per-query work is array indexing, never a lookup by name.

use std::sync::Arc;
use std::time::Instant;

use hedge_dns::{CacheSweeper, Observation, Outcome};
use hedge_lists::CategoryIdx;
use hedge_policy::{Policy, ProfileId};
use hedge_stats::{Action, CountCell, Counters};
use metrics::{Counter, Histogram, counter, histogram};

use crate::metrics as m;

const OUTCOMES: [Outcome; 5] = [
    Outcome::Allowed,
    Outcome::Blocked,
    Outcome::Rewritten,
    Outcome::Refused,
    Outcome::Servfail,
];

fn action(o: Outcome) -> Action {
    match o {
        Outcome::Allowed => Action::Allowed,
        Outcome::Blocked => Action::Blocked,
        Outcome::Rewritten => Action::Rewritten,
        Outcome::Refused => Action::Refused,
        Outcome::Servfail => Action::Servfail,
    }
}

fn slot(o: Outcome) -> usize {
    OUTCOMES.iter().position(|x| *x == o).unwrap_or(0)
}

/// Statistics: the counters and how this snapshot's ids map into them.
pub struct StatsSink {
    pub counters: Arc<Counters>,
    /// The counters' cell of each (profile, category) of this snapshot: `profile *
    /// (labels + 1) + slot`, slot 0 for none. One lookup per query, no name mapping.
    cells: Vec<Option<CountCell>>,
    slots: usize,
}

impl StatsSink {
    pub fn new(counters: Arc<Counters>, policy: &Policy) -> StatsSink {
        let profiles: Vec<Option<u16>> = policy
            .profiles()
            .iter()
            .map(|p| counters.profile_index(&p.name))
            .collect();
        let categories: Vec<Option<u16>> = policy
            .count_labels()
            .iter()
            .map(|label| counters.category_index(label))
            .collect();
        let slots = categories.len() + 1;
        let mut cells = Vec::with_capacity(profiles.len() * slots);
        for profile in &profiles {
            // A label the counters do not know counts as uncategorised, as before.
            let slot_cell =
                |category: Option<u16>| profile.and_then(|p| counters.count_cell(p, category));
            cells.push(slot_cell(None));
            cells.extend(categories.iter().map(|c| slot_cell(*c)));
        }
        StatsSink {
            counters,
            cells,
            slots,
        }
    }

    /// The cell a query of this snapshot's profile and category counts in.
    #[inline]
    fn cell(&self, profile: usize, category: Option<CategoryIdx>) -> Option<CountCell> {
        // A category past this snapshot's labels counts as uncategorised, as the maps did.
        let slot = category
            .map(|c| usize::from(c) + 1)
            .filter(|&s| s < self.slots)
            .unwrap_or(0);
        self.cells
            .get(profile * self.slots + slot)
            .copied()
            .flatten()
    }
}

/// Pre-registered metric handles for one snapshot.
struct Handles {
    /// [profile][outcome][root slot]; slot 0 is "no category".
    queries: Vec<Counter>,
    roots: Vec<usize>,
    nroots: usize,
    /// None when no metrics are exported: the latency then costs no clock read.
    latency: Option<Histogram>,
    cache_hit: Counter,
    cache_miss: Counter,
    upstream_timeout: Counter,
    upstream_error: Counter,
}

pub struct QueryObserver {
    stats: Option<StatsSink>,
    handles: Handles,
}

impl QueryObserver {
    pub fn new(policy: &Policy, stats: Option<StatsSink>, metrics_exported: bool) -> QueryObserver {
        let taxonomy = policy.index().taxonomy();
        // Metric slots: "-", each root category, then each rule label (bypass controls,
        // walled garden, custom lists), which have no root.
        let labels = policy.count_labels();
        let root_ids: Vec<usize> = (0..taxonomy.len())
            .filter(|&c| taxonomy.parent(c as u16).is_none())
            .chain(taxonomy.len()..labels.len())
            .collect();
        let roots = (0..labels.len())
            .map(|c| {
                let root = if c < taxonomy.len() {
                    taxonomy.parent(c as u16).map_or(c, usize::from)
                } else {
                    c
                };
                root_ids
                    .iter()
                    .position(|&r| r == root)
                    .map_or(0, |i| i + 1)
            })
            .collect();
        let nroots = root_ids.len() + 1;
        let mut queries = Vec::new();
        for p in policy.profiles() {
            for o in OUTCOMES {
                for r in 0..nroots {
                    let category = if r == 0 {
                        "-".to_string()
                    } else {
                        labels[root_ids[r - 1]].clone()
                    };
                    queries.push(counter!(m::QUERIES, "profile" => p.name.clone(), "action" => action(o).as_str(), "category" => category));
                }
            }
        }
        let handles = Handles {
            queries,
            roots,
            nroots,
            latency: metrics_exported.then(|| histogram!(m::ANSWER_SECONDS)),
            cache_hit: counter!(m::CACHE, "result" => "hit"),
            cache_miss: counter!(m::CACHE, "result" => "miss"),
            upstream_timeout: counter!(m::UPSTREAM_ERRORS, "kind" => "timeout"),
            upstream_error: counter!(m::UPSTREAM_ERRORS, "kind" => "error"),
        };
        QueryObserver { stats, handles }
    }
}

impl hedge_dns::Observer for QueryObserver {
    fn wants_every_name(&self) -> bool {
        self.stats
            .as_ref()
            .is_some_and(|s| s.counters.query_log_enabled() || s.counters.counts_allowed())
    }

    /// Without statistics nothing reads a blocked name (metrics count by category).
    fn wants_blocked_names(&self) -> bool {
        self.stats.is_some()
    }

    fn logs_queries(&self) -> bool {
        self.stats
            .as_ref()
            .is_some_and(|s| s.counters.query_log_enabled())
    }

    fn counts_cached(&self, outcome: Outcome) -> bool {
        self.stats.as_ref().is_some_and(|s| match outcome {
            Outcome::Blocked => true,
            Outcome::Allowed => s.counters.counts_allowed(),
            _ => false,
        })
    }

    fn observe_cached(
        &self,
        profile: ProfileId,
        outcome: Outcome,
        category: Option<CategoryIdx>,
        domain: &str,
        hits: u32,
    ) {
        let Some(stats) = &self.stats else { return };
        // Allowed names are counted per profile, whatever their category.
        let category = category.filter(|_| outcome == Outcome::Blocked);
        if let Some(cell) = stats.cell(profile, category) {
            stats
                .counters
                .record_domain_count(cell, action(outcome), domain, hits);
        }
    }

    fn attach_sweeper(&self, sweeper: CacheSweeper) {
        if let Some(stats) = &self.stats {
            stats.counters.set_sweep(Box::new(move || sweeper.sweep()));
        }
    }

    fn observe(&self, _policy: &Policy, o: &Observation<'_>, received: Instant) {
        let h = &self.handles;
        let root = o
            .category
            .map_or(0, |c| h.roots.get(usize::from(c)).copied().unwrap_or(0));
        let i = (o.profile * OUTCOMES.len() + slot(o.outcome)) * h.nroots + root;
        if let Some(c) = h.queries.get(i) {
            c.increment(1);
        }
        if let Some(latency) = &h.latency {
            latency.record(received.elapsed().as_secs_f64());
        }
        if matches!(o.outcome, Outcome::Allowed | Outcome::Rewritten) {
            if o.cache_hit {
                h.cache_hit.increment(1)
            } else {
                h.cache_miss.increment(1)
            }
        }
        match o.upstream_error {
            Some("timeout") => h.upstream_timeout.increment(1),
            Some(_) => h.upstream_error.increment(1),
            None => {}
        }
        let Some(stats) = &self.stats else { return };
        let Some(cell) = stats.cell(o.profile, o.category) else {
            return;
        };
        let act = action(o.outcome);
        match (act, o.qname) {
            // Under the listed name (docs/privacy.md): per-user subdomains, such as tracking
            // tokens, never reach the store, and the count stays bounded (unless the cache
            // entry counts the name).
            (Action::Blocked, Some(name)) if !o.domain_counted => {
                let domain = o.domain.unwrap_or(name);
                stats.counters.record_blocked_at(cell, domain);
            }
            // Allowed ones under the same name, per profile, so that `hedge policy diff` can
            // ask a new configuration about them (unless the cache entry counts the name).
            (Action::Allowed, Some(name)) if !o.domain_counted => {
                let domain = o.domain.unwrap_or(name);
                stats.counters.record_allowed_at(cell, domain);
            }
            _ => stats.counters.record_at(cell, act),
        }
        if let Some(name) = o.qname
            && stats.counters.query_log_enabled()
        {
            let qtype = hickory_proto::rr::RecordType::from(o.qtype).to_string();
            stats
                .counters
                .log_query(cell.profile(), cell.category(), act, o.client, name, &qtype);
        }
    }
}

#[cfg(test)]
mod tests;
