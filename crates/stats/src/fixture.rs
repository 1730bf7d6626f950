//! Deterministic, realistic statistics for tests and benchmarks: a year of aggregates for a
//! few profiles and ~80 categories, with a long tail of blocked domains. Not part of the
//! stable API.

use std::collections::BTreeMap;
use std::sync::Arc;

use jiff::civil::Date;

use crate::action::Action;
use crate::batch::{Batch, UNCATEGORISED};
use crate::error::Error;
use crate::store::Store;

/// What to generate.
#[derive(Debug, Clone)]
pub struct FixtureSpec {
    /// First day.
    pub start: Date,
    /// Number of days.
    pub days: u32,
    /// Profile names; the first blocks least, the last most.
    pub profiles: Vec<String>,
    /// About this many queries in all.
    pub total_queries: u64,
    /// About this many blocked queries.
    pub blocked_queries: u64,
    /// Distinct blocked domains to draw from (Zipf-distributed).
    pub distinct_domains: usize,
    /// RNG seed.
    pub seed: u64,
}

impl FixtureSpec {
    /// The year: 3 profiles, ~100 million queries, ~1.3 million blocked, 30 000
    /// distinct blocked domains, 2025.
    pub fn year() -> FixtureSpec {
        FixtureSpec {
            start: Date::constant(2025, 1, 1),
            days: 365,
            profiles: vec!["adult".into(), "child".into(), "walled-garden".into()],
            total_queries: 100_000_000,
            blocked_queries: 1_300_000,
            distinct_domains: 30_000,
            seed: 2025,
        }
    }

    /// A small version for unit tests: `days` days, 1/100 of the volume.
    pub fn small(days: u32) -> FixtureSpec {
        FixtureSpec {
            days,
            total_queries: 1_000_000 * u64::from(days) / 365,
            blocked_queries: 13_000 * u64::from(days) / 365,
            distinct_domains: 2_000,
            ..FixtureSpec::year()
        }
    }
}

/// What was generated, to check reports against.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FixtureSummary {
    /// All queries.
    pub total: u64,
    /// Blocked queries.
    pub blocked: u64,
    /// Blocked queries per month (`YYYY-MM`).
    pub blocked_by_month: BTreeMap<String, u64>,
    /// Blocked queries per stored category id.
    pub blocked_by_category: BTreeMap<String, u64>,
    /// Blocked queries per domain.
    pub blocked_by_domain: BTreeMap<String, u64>,
}

/// A taxonomy of 20 roots with 3 children each (80 ids), in the shape of hedge's.
pub fn categories() -> Vec<String> {
    const TREE: [(&str, [&str; 3]); 20] = [
        ("adult-material", ["nudity", "pornography", "sex-education"]),
        ("gambling", ["casino", "betting", "lottery"]),
        ("drugs", ["alcohol", "tobacco", "illegal"]),
        ("weapons", ["firearms", "knives", "explosives"]),
        ("violence", ["gore", "self-harm", "terrorism"]),
        ("hate", ["racism", "extremism", "harassment"]),
        (
            "information-technology",
            ["proxy-avoidance", "hacking", "remote-access"],
        ),
        ("security", ["malware", "phishing", "cryptomining"]),
        ("social-networking", ["chat", "forums", "photo-sharing"]),
        ("games", ["online-games", "game-stores", "cheats"]),
        ("streaming-media", ["video", "music", "live-streaming"]),
        ("dating", ["personals", "adult-dating", "matchmaking"]),
        ("shopping", ["auctions", "marketplaces", "classifieds"]),
        ("finance", ["crypto", "trading", "payday-loans"]),
        ("advertising", ["trackers", "ad-networks", "popups"]),
        ("file-sharing", ["torrents", "warez", "file-hosts"]),
        ("news", ["tabloids", "news-sites", "aggregators"]),
        (
            "search-engines",
            ["web-search", "image-search", "translation"],
        ),
        ("education", ["reference", "homework-help", "courses"]),
        ("health", ["medicine", "fitness", "mental-health"]),
    ];
    let mut out = Vec::with_capacity(80);
    for (root, children) in TREE {
        out.push(root.to_owned());
        for c in children {
            out.push(format!("{root}/{c}"));
        }
    }
    out
}

/// splitmix64: small, fast, deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Index drawn from cumulative weights.
    fn pick(&mut self, cumulative: &[f64]) -> usize {
        let total = cumulative.last().copied().unwrap_or(0.0);
        let x = self.unit() * total;
        cumulative
            .partition_point(|&c| c <= x)
            .min(cumulative.len().saturating_sub(1))
    }

    /// `mean` scaled by a factor in [0.8, 1.2), rounded.
    fn around(&mut self, mean: f64) -> u64 {
        (mean * (0.8 + 0.4 * self.unit())).round().max(0.0) as u64
    }
}

fn cumulative(weights: impl IntoIterator<Item = f64>) -> Vec<f64> {
    let mut acc = 0.0;
    weights
        .into_iter()
        .map(|w| {
            acc += w;
            acc
        })
        .collect()
}

/// Writes the fixture into `store`, one transaction per day (as the flusher would, only
/// larger), and returns what it wrote.
pub fn build<S: Store + ?Sized>(
    store: &mut S,
    spec: &FixtureSpec,
) -> Result<FixtureSummary, Error> {
    let mut rng = Rng(spec.seed);
    let cats: Vec<Arc<str>> = categories().into_iter().map(Arc::from).collect();
    let none: Arc<str> = Arc::from(UNCATEGORISED);
    let profiles: Vec<Arc<str>> = spec
        .profiles
        .iter()
        .map(|p| Arc::from(p.as_str()))
        .collect();
    let np = profiles.len().max(1);

    // Which categories each profile blocks: the first profile a few, the last all.
    let blocks: Vec<Vec<bool>> = (0..np)
        .map(|p| {
            let share = if np == 1 {
                1.0
            } else {
                0.15 + 0.85 * p as f64 / (np - 1) as f64
            };
            (0..cats.len())
                .map(|c| ((c * 37) % cats.len()) as f64 / (cats.len() as f64) < share)
                .collect()
        })
        .collect();
    // Popularity of categories among blocked queries (Zipf-like over a shuffled order), and
    // among allowed categorised queries.
    let cat_weight: Vec<f64> = (0..cats.len())
        .map(|c| 1.0 / (((c * 53) % cats.len()) as f64 + 1.0).powf(0.9))
        .collect();
    // Domain pools per category, sized by popularity; Zipf within each pool.
    let weight_sum: f64 = cat_weight.iter().sum();
    let pools: Vec<(usize, Vec<f64>)> = {
        let mut start = 0;
        cat_weight
            .iter()
            .map(|w| {
                let size =
                    ((spec.distinct_domains as f64 * w / weight_sum).round() as usize).max(3);
                let pool = (start, cumulative((1..=size).map(|r| 1.0 / r as f64)));
                start += size;
                pool
            })
            .collect()
    };
    let domain_name = |cat: usize, j: usize| {
        let leaf = cats[cat].rsplit('/').next().unwrap_or("x").to_owned();
        format!("{leaf}-{:05}.example", pools[cat].0 + j)
    };

    // Days: weekends quieter.
    let day_weight: Vec<f64> = (0..spec.days)
        .map(|i| {
            let dow = (i + 2) % 7; // 2025-01-01 was a Wednesday
            if dow == 6 {
                0.7
            } else if dow == 0 {
                0.3
            } else {
                1.0
            }
        })
        .collect();
    let dw_sum: f64 = day_weight.iter().sum();
    let traffic_share = cumulative((0..np).map(|p| if p == 0 { 2.0 } else { 1.0 }));
    let blocked_share = cumulative((0..np).map(|p| 1.0 + 2.0 * p as f64));
    let blocked_cats: Vec<Vec<f64>> = (0..np)
        .map(|p| {
            cumulative((0..cats.len()).map(|c| if blocks[p][c] { cat_weight[c] } else { 0.0 }))
        })
        .collect();

    let mut summary = FixtureSummary::default();
    let mut day = spec.start;
    for dw in day_weight {
        let mut batch = Batch::new();
        let scale = dw / dw_sum;
        let mut blocked_today = 0;
        let n_blocked = rng.around(spec.blocked_queries as f64 * scale);
        for _ in 0..n_blocked {
            let p = rng.pick(&blocked_share);
            let c = rng.pick(&blocked_cats[p]);
            if !blocks[p][c] {
                continue;
            }
            let j = rng.pick(&pools[c].1);
            let domain = domain_name(c, j);
            batch.add_count(profiles[p].clone(), cats[c].clone(), Action::Blocked, 1);
            batch.add_domain(profiles[p].clone(), cats[c].clone(), &domain, 1);
            *summary
                .blocked_by_category
                .entry(cats[c].to_string())
                .or_default() += 1;
            *summary.blocked_by_domain.entry(domain).or_default() += 1;
            blocked_today += 1;
        }
        let rest = (spec.total_queries as f64 * scale - blocked_today as f64).max(0.0);
        for p in 0..np {
            let share = (traffic_share[p] - if p == 0 { 0.0 } else { traffic_share[p - 1] })
                / traffic_share[np - 1];
            let traffic = rest * share;
            let profile = &profiles[p];
            // 85 % of allowed traffic is in no category.
            batch.add_count(
                profile.clone(),
                none.clone(),
                Action::Allowed,
                rng.around(traffic * 0.85),
            );
            batch.add_count(
                profile.clone(),
                none.clone(),
                Action::Servfail,
                rng.around(traffic * 0.003),
            );
            batch.add_count(
                profile.clone(),
                none.clone(),
                Action::Refused,
                rng.around(traffic * 0.0005),
            );
            let allowed_cats: f64 = (0..cats.len())
                .filter(|&c| !blocks[p][c])
                .map(|c| cat_weight[c])
                .sum();
            for c in (0..cats.len()).filter(|&c| !blocks[p][c]) {
                let n = rng.around(traffic * 0.14 * cat_weight[c] / allowed_cats.max(1e-9));
                batch.add_count(profile.clone(), cats[c].clone(), Action::Allowed, n);
            }
            if p > 0 {
                let search = cats
                    .iter()
                    .position(|c| &**c == "search-engines/web-search");
                if let Some(c) = search {
                    batch.add_count(
                        profile.clone(),
                        cats[c].clone(),
                        Action::Rewritten,
                        rng.around(traffic * 0.002),
                    );
                }
            }
        }
        let month = format!("{:04}-{:02}", day.year(), day.month());
        *summary.blocked_by_month.entry(month).or_default() += blocked_today;
        summary.blocked += blocked_today;
        summary.total += batch.total();
        store.write(day, &batch)?;
        day = day
            .tomorrow()
            .map_err(|e| Error::Invalid(format!("fixture runs past {day}: {e}")))?;
    }
    Ok(summary)
}
