//! Reports: the FOI questions, answered from the store in one call.
//!
//! A [`ReportQuery`] names a range of months or days, the dimensions to break counts down by,
//! optional filters, and whether to suppress small counts. [`Report::build`] asks the store for
//! sums (one grouped query), rolls categories up their tree, adds per-period and grand totals,
//! applies suppression, and ranks the top blocked domains.
//!
//! **Category roll-up.** Category ids name their parents (`adult-material/nudity` is under
//! `adult-material`), so no tree needs passing in: a category's row counts the category and
//! everything under it, and a filter on a category includes its descendants. Rows of a parent
//! and its children therefore overlap; totals are computed from the stored counts, never by
//! adding rows.
//!
//! **Suppression** (`suppress_below: Some(K)`) hides small counts, and as many others as it
//! takes to keep them hidden: see [`crate::suppression`].

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::fmt;

use jiff::civil::Date;
use serde::{Serialize, Serializer};

use crate::action::Action;
use crate::error::Error;
use crate::store::{CountRow, CountsQuery, DomainCount, DomainsQuery, Grain, Store};
use crate::suppression::{Equation, suppress};

mod query;

pub use query::{Dim, Period, ReportQuery};

/// One published count: a number, a small count hidden as `<K`, or a larger count withheld
/// (`[c]`) so that the small ones cannot be worked out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cell {
    /// The count.
    Count(u64),
    /// A count `n` with `0 < n < K`, shown as `<K` (primary suppression).
    Suppressed {
        /// `K`.
        below: u64,
    },
    /// A count of at least `K`, withheld so that no hidden count can be derived from the
    /// totals (secondary suppression); shown as `[c]`, the UK statistics convention for
    /// "confidential".
    Withheld,
}

impl Cell {
    /// The count, if shown.
    pub fn value(self) -> Option<u64> {
        match self {
            Cell::Count(n) => Some(n),
            Cell::Suppressed { .. } | Cell::Withheld => None,
        }
    }
}

impl fmt::Display for Cell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cell::Count(n) => write!(f, "{n}"),
            Cell::Suppressed { below } => write!(f, "<{below}"),
            Cell::Withheld => f.write_str("[c]"),
        }
    }
}

/// A shown count is a JSON number; a hidden one is the string `"<K"` or `"[c]"`.
impl Serialize for Cell {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Cell::Count(n) => s.serialize_u64(*n),
            hidden => s.serialize_str(&hidden.to_string()),
        }
    }
}

/// One row: the values of the breakdown's dimensions and the count. Dimensions not broken
/// down by are `None` (and left out of JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    /// `YYYY-MM` or `YYYY-MM-DD`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<String>,
    /// Profile name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// Category id; the count includes the categories under it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Action.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<Action>,
    /// The count.
    pub count: Cell,
}

impl Row {
    /// The value of one dimension, as text.
    pub fn get(&self, dim: Dim) -> &str {
        match dim {
            Dim::Month | Dim::Day => self.period.as_deref(),
            Dim::Profile => self.profile.as_deref(),
            Dim::Category => self.category.as_deref(),
            Dim::Action => self.action.map(Action::as_str),
        }
        .unwrap_or("")
    }
}

/// The total of one period (every row of the period, whatever the breakdown).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeriodTotal {
    /// `YYYY-MM` or `YYYY-MM-DD`.
    pub period: String,
    /// The total.
    pub count: Cell,
}

/// A report, ready to render or serialise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// First day covered.
    pub from: String,
    /// Last day covered.
    pub to: String,
    /// The breakdown, in column order.
    pub by: Vec<Dim>,
    /// The profile filter.
    pub profile: Option<String>,
    /// The category filter (descendants included).
    pub category: Option<String>,
    /// The action filter.
    pub action: Option<Action>,
    /// `K`, if counts below it are hidden.
    pub suppress_below: Option<u64>,
    /// The rows, ordered by the breakdown's dimensions.
    pub rows: Vec<Row>,
    /// One total per period in the range (months or days), when the breakdown has one.
    pub totals: Vec<PeriodTotal>,
    /// The total over the whole range.
    pub total: Cell,
    /// The most-blocked domains, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_domains: Option<Vec<TopDomain>>,
}

/// A most-blocked domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TopDomain {
    /// The domain.
    pub domain: String,
    /// The category it was (mostly) blocked for.
    pub category: String,
    /// Blocked queries in the range.
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Key {
    period: Option<String>,
    profile: Option<String>,
    category: Option<String>,
    action: Option<Action>,
}

/// `a/b` → `a`, within the filter's subtree.
fn parent<'a>(category: &'a str, scope: Option<&str>) -> Option<&'a str> {
    let p = &category[..category.rfind('/')?];
    match scope {
        Some(s) if !(p == s || p.starts_with(&format!("{s}/"))) => None,
        _ => Some(p),
    }
}

fn cmp_category(a: &str, b: &str) -> Ordering {
    a.split('/').cmp(b.split('/'))
}

fn periods(grain: Grain, from: Date, to: Date) -> Vec<String> {
    let mut out = Vec::new();
    match grain {
        Grain::Day => {
            let mut d = from;
            while d <= to {
                out.push(d.to_string());
                match d.tomorrow() {
                    Ok(next) => d = next,
                    Err(_) => break,
                }
            }
        }
        Grain::Month => {
            let mut d = from.first_of_month();
            while d <= to {
                out.push(format!("{:04}-{:02}", d.year(), d.month()));
                match d.checked_add(jiff::Span::new().months(1)) {
                    Ok(next) => d = next,
                    Err(_) => break,
                }
            }
        }
    }
    out
}

impl Report {
    /// Runs `query` against `store`.
    pub fn build<S: Store + ?Sized>(store: &S, query: &ReportQuery) -> Result<Report, Error> {
        let (from, to) = query.validate()?;
        let rows = store.counts(&CountsQuery {
            from: Some(from),
            to: Some(to),
            profile: query.profile.clone(),
            category: query.category.clone(),
            action: query.action,
            grain: query.grain(),
            by_profile: query.by.contains(&Dim::Profile),
            by_category: query.by.contains(&Dim::Category),
            by_action: query.by.contains(&Dim::Action),
        })?;
        let domains = match query.top_domains {
            None => Vec::new(),
            Some(limit) => store.top_blocked_domains(&DomainsQuery {
                from: Some(from),
                to: Some(to),
                profile: query.profile.clone(),
                category: query.category.clone(),
                min_count: query.suppress_below.unwrap_or(0),
                limit,
            })?,
        };
        Report::from_counts(query, rows, domains)
    }

    /// Builds the report from grouped sums as [`Store::counts`] returns them for this query
    /// (and [`Store::top_blocked_domains`]' answer): roll-up, totals, suppression. For stores
    /// that compute sums their own way, and for tests.
    pub fn from_counts(
        query: &ReportQuery,
        counts: Vec<CountRow>,
        domains: Vec<DomainCount>,
    ) -> Result<Report, Error> {
        let (from, to) = query.validate()?;
        let sums = Sums::add_up(query, from, to, counts);
        let hidden = sums.hidden(query);
        let values = sums.values();
        let cell = |i: usize| match query.suppress_below {
            Some(k) if hidden[i] && values[i] < k => Cell::Suppressed { below: k },
            Some(_) if hidden[i] => Cell::Withheld,
            _ => Cell::Count(values[i]),
        };
        let nrows = sums.rows.len();
        let grand = values.len() - 1;
        Ok(Report {
            from: from.to_string(),
            to: to.to_string(),
            by: query.by.clone(),
            profile: query.profile.clone(),
            category: query.category.clone(),
            action: query.action,
            suppress_below: query.suppress_below,
            rows: (sums.rows.into_iter().enumerate())
                .map(|(i, (k, _))| Row {
                    period: k.period,
                    profile: k.profile,
                    category: k.category,
                    action: k.action,
                    count: cell(i),
                })
                .collect(),
            totals: (sums.totals.into_iter().enumerate())
                .map(|(i, (period, _))| PeriodTotal {
                    period,
                    count: cell(nrows + i),
                })
                .collect(),
            total: cell(grand),
            top_domains: top_domains(query, domains),
        })
    }
}

/// A report's numbers before suppression. Its cells, in the order suppression numbers them:
/// the rows, then one per period total, then the grand total.
struct Sums {
    /// Rolled up the category tree, in the breakdown's order.
    rows: Vec<(Key, u64)>,
    /// Every period in the range, when the breakdown has one.
    totals: Vec<(String, u64)>,
    grand: u64,
}

impl Sums {
    /// Adds up `counts`. Totals come from the stored counts, before any roll-up: a category
    /// and its parent's row overlap, their queries do not.
    fn add_up(query: &ReportQuery, from: Date, to: Date, counts: Vec<CountRow>) -> Sums {
        let mut totals: BTreeMap<String, u64> = match query.grain() {
            Some(g) => periods(g, from, to).into_iter().map(|p| (p, 0)).collect(),
            None => BTreeMap::new(),
        };
        let mut grand = 0u64;
        let mut rows: BTreeMap<Key, u64> = BTreeMap::new();
        for r in counts {
            grand = grand.saturating_add(r.n);
            if let Some(p) = &r.period {
                let t = totals.entry(p.clone()).or_insert(0);
                *t = t.saturating_add(r.n);
            }
            if !query.by.is_empty() {
                roll_up(&mut rows, query, r);
            }
        }
        let mut rows: Vec<(Key, u64)> = rows.into_iter().collect();
        rows.sort_by(|(a, _), (b, _)| breakdown_order(&query.by, a, b));
        Sums {
            rows,
            totals: totals.into_iter().collect(),
            grand,
        }
    }

    fn values(&self) -> Vec<u64> {
        let rows = self.rows.iter().map(|(_, n)| *n);
        let totals = self.totals.iter().map(|(_, n)| *n);
        rows.chain(totals).chain([self.grand]).collect()
    }

    /// Which cells suppression hides (none without `suppress_below`).
    fn hidden(&self, query: &ReportQuery) -> Vec<bool> {
        let values = self.values();
        match query.suppress_below {
            Some(k) => {
                let equations = equations(
                    &self.rows,
                    &self.totals,
                    query.grain().is_some(),
                    query.by.contains(&Dim::Category),
                    query.category.as_deref(),
                );
                suppress(&values, &equations, k)
            }
            None => vec![false; values.len()],
        }
    }
}

/// Adds one stored count to its row and, when broken down by category, to the row of every
/// parent category within the filter.
fn roll_up(rows: &mut BTreeMap<Key, u64>, query: &ReportQuery, r: CountRow) {
    let by_category = query.by.contains(&Dim::Category);
    let mut key = Key {
        period: r.period,
        profile: r.profile,
        category: r.category,
        action: r.action,
    };
    loop {
        let v = rows.entry(key.clone()).or_insert(0);
        *v = v.saturating_add(r.n);
        if !by_category {
            break;
        }
        match key
            .category
            .as_deref()
            .and_then(|c| parent(c, query.category.as_deref()))
        {
            Some(p) => key.category = Some(p.to_owned()),
            None => break,
        }
    }
}

/// Rows sort by the breakdown's dimensions in column order; categories as a tree.
fn breakdown_order(by: &[Dim], a: &Key, b: &Key) -> Ordering {
    let by_dim = |d: &Dim| match d {
        Dim::Month | Dim::Day => a.period.cmp(&b.period),
        Dim::Profile => a.profile.cmp(&b.profile),
        Dim::Category => cmp_category(
            a.category.as_deref().unwrap_or(""),
            b.category.as_deref().unwrap_or(""),
        ),
        Dim::Action => a.action.cmp(&b.action),
    };
    by.iter()
        .map(by_dim)
        .find(|o| *o != Ordering::Equal)
        .unwrap_or(Ordering::Equal)
}

/// The most-blocked domains, when asked for; with suppression, only those blocked at least
/// `K` times, so no listed count is small.
fn top_domains(query: &ReportQuery, domains: Vec<DomainCount>) -> Option<Vec<TopDomain>> {
    let limit = query.top_domains?;
    let min = query.suppress_below.unwrap_or(0);
    let top = domains
        .into_iter()
        .filter(|d| d.n > 0 && d.n >= min)
        .take(limit)
        .map(|d| TopDomain {
            domain: d.domain,
            category: d.category,
            count: d.n,
        })
        .collect();
    Some(top)
}

/// The additive relations between published cells: rows `0..keys.len()`, then one cell per
/// period total, then the grand total.
fn equations(
    keys: &[(Key, u64)],
    totals: &[(String, u64)],
    has_periods: bool,
    by_category: bool,
    scope: Option<&str>,
) -> Vec<Equation> {
    let nrows = keys.len();
    let grand = nrows + totals.len();
    let index: HashMap<&Key, usize> = keys.iter().enumerate().map(|(i, (k, _))| (k, i)).collect();
    let period_cell: HashMap<&str, usize> = totals
        .iter()
        .enumerate()
        .map(|(i, (p, _))| (p.as_str(), nrows + i))
        .collect();
    // total cell -> parts
    let mut sums: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, (k, _)) in keys.iter().enumerate() {
        let parent_row = if by_category {
            k.category
                .as_deref()
                .and_then(|c| parent(c, scope))
                .and_then(|p| {
                    index.get(&Key {
                        category: Some(p.to_owned()),
                        ..k.clone()
                    })
                })
        } else {
            None
        };
        // Every row's period has a total cell (from_counts adds the periods it sees).
        let up = match parent_row {
            Some(&p) => p,
            None if has_periods => k
                .period
                .as_deref()
                .and_then(|p| period_cell.get(p).copied())
                .unwrap_or(grand),
            None => grand,
        };
        sums.entry(up).or_default().push(i);
    }
    if has_periods {
        sums.entry(grand).or_default().extend(nrows..grand);
    }
    sums.into_iter()
        .map(|(total, parts)| Equation { total, parts })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn category_parents_are_parents_within_the_filter() {
        assert_eq!(parent("a/b/c", None), Some("a/b"));
        assert_eq!(parent("a/b", Some("a/b")), None);
        assert_eq!(parent("a/b/c", Some("a/b")), Some("a/b"));
        assert_eq!(parent("a", None), None);
        assert_eq!(cmp_category("a", "a/b"), Ordering::Less);
        assert_eq!(cmp_category("a/b", "a-x"), Ordering::Less);
    }
}
