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
//! **Suppression** (`suppress_below: Some(K)`), in two steps:
//!
//! 1. *Primary:* every published count `n` with `0 < n < K` (rows, period totals, the grand
//!    total) is shown as `<K`. Zeros are shown: an absent row is a zero anyway.
//! 2. *Secondary:* every additive relation a reader can see is an equation
//!    `total = parts (+ a category's own count)`: a period total is the sum of its top-level
//!    rows, the grand total the sum of period totals (or of the top-level rows when there is
//!    no period), and a parent category's row its own count plus its children's rows. A
//!    reader knows each `<K` cell lies in `[1, K-1]` and each withheld cell (shown `[c]`) is at
//!    least `K`. For each equation, taking the category's own count as known (the cautious
//!    assumption), we compute the range a reader can narrow every hidden cell to; the
//!    equation breaks the rule when a range is a single value (in particular when exactly one
//!    of its cells is hidden), or when its total is shown and its hidden parts add up to less
//!    than `K` (that sum would itself be a small count). While an equation breaks the rule,
//!    its smallest shown non-zero part is withheld (or, if it has none, its total), and the
//!    equations touching that cell are checked again.
//!
//! Every published cell is a part of at most one equation and the total of at most one, so
//! the equations form a tree; on a tree, "no equation with exactly one unknown" already means
//! no hidden cell is fixed by any linear combination of the shown numbers, not only by one
//! subtraction. The property test (`tests/suppression.rs`) attacks random reports from what
//! they publish and checks that: every small count is `<K`; no equation has one unknown; a
//! shown total's hidden parts never add up to a small count; no hidden cell is determined by
//! linear algebra over all the equations; and no equation narrows a hidden cell to one value
//! unless every cell of it is hidden already.
//!
//! Limits, inherent in printing `<K` honestly while showing zeros: when every cell of an
//! equation is small, the bounds alone can pin one for a reader who knows a category's own
//! count (a row `<9` with one child `<9` and an own count of 7 can only be 8, its child 1),
//! although reports never show own counts; and interval reasoning across several equations
//! can narrow more than within one. Nothing can be withheld to prevent the first; the second
//! is not audited (that would take linear programming). A larger `K` and fewer breakdowns
//! make both rarer.
//!
//! The top blocked domains list leaves out domains blocked fewer than `K` times when
//! suppressing, so no listed domain's count is hidden or derivable.
//!
//! Suppression protects one report. Publishing several overlapping reports of the same data
//! (the same months by category and by profile, say) can let a reader combine them; publish
//! one.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::str::FromStr;

use jiff::civil::Date;
use serde::{Serialize, Serializer};

use crate::counters::Action;
use crate::error::Error;
use crate::store::{CountRow, CountsQuery, DomainCount, DomainsQuery, Grain, Store};

/// A month (`2025-01`) or a day (`2025-01-31`), as the start or end of a range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    /// A calendar month: from its first day, or to its last.
    Month {
        /// Year.
        year: i16,
        /// Month, 1–12.
        month: i8,
    },
    /// One day.
    Day(Date),
}

impl Period {
    /// The first day of the period.
    pub fn first_day(self) -> Date {
        match self {
            Period::Month { year, month } => Date::constant(year, month, 1),
            Period::Day(d) => d,
        }
    }

    /// The last day of the period.
    pub fn last_day(self) -> Date {
        match self {
            Period::Month { .. } => self.first_day().last_of_month(),
            Period::Day(d) => d,
        }
    }
}

impl FromStr for Period {
    type Err = Error;

    fn from_str(s: &str) -> Result<Period, Error> {
        let bad = || {
            Error::Invalid(format!(
                "{s:?} is not a month (YYYY-MM, e.g. 2025-01) or a day (YYYY-MM-DD)"
            ))
        };
        let s = s.trim();
        match s.len() {
            7 => {
                let (y, m) = s.split_once('-').ok_or_else(bad)?;
                let year: i16 = y.parse().map_err(|_| bad())?;
                let month: i8 = m.parse().map_err(|_| bad())?;
                if !(1..=12).contains(&month) || !(1..=9999).contains(&year) || y.len() != 4 {
                    return Err(bad());
                }
                Ok(Period::Month { year, month })
            }
            10 => s.parse::<Date>().map(Period::Day).map_err(|_| bad()),
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Period::Month { year, month } => write!(f, "{year:04}-{month:02}"),
            Period::Day(d) => write!(f, "{d}"),
        }
    }
}

/// A dimension to break counts down by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Dim {
    /// Calendar month (`YYYY-MM`).
    Month,
    /// Day (`YYYY-MM-DD`).
    Day,
    /// Profile name.
    Profile,
    /// Category id, rolled up the tree.
    Category,
    /// Action.
    Action,
}

impl Dim {
    /// The lower-case name used on the command line and as a column heading.
    pub fn as_str(self) -> &'static str {
        match self {
            Dim::Month => "month",
            Dim::Day => "day",
            Dim::Profile => "profile",
            Dim::Category => "category",
            Dim::Action => "action",
        }
    }

    /// Parses a comma-separated list such as `month,profile,category`.
    pub fn parse_list(s: &str) -> Result<Vec<Dim>, Error> {
        s.split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::parse)
            .collect()
    }
}

impl FromStr for Dim {
    type Err = Error;

    fn from_str(s: &str) -> Result<Dim, Error> {
        [
            Dim::Month,
            Dim::Day,
            Dim::Profile,
            Dim::Category,
            Dim::Action,
        ]
        .into_iter()
        .find(|d| d.as_str().eq_ignore_ascii_case(s))
        .ok_or_else(|| {
            Error::Invalid(format!(
                "cannot break a report down by {s:?}; use month, day, profile, category or \
                     action"
            ))
        })
    }
}

/// What to report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportQuery {
    /// Start of the range (a month starts on its first day).
    pub from: Period,
    /// End of the range, inclusive (a month ends on its last day).
    pub to: Period,
    /// Dimensions to break counts down by, in column order. Empty: only the total.
    pub by: Vec<Dim>,
    /// Only this profile.
    pub profile: Option<String>,
    /// Only this category and everything under it.
    pub category: Option<String>,
    /// Only this action (`blocked` for "blocked requests").
    pub action: Option<Action>,
    /// Also list this many most-blocked domains.
    pub top_domains: Option<usize>,
    /// Show counts below this as `<K` (see the module docs).
    pub suppress_below: Option<u64>,
}

impl ReportQuery {
    /// Everything in the range, as one total.
    pub fn new(from: Period, to: Period) -> ReportQuery {
        ReportQuery {
            from,
            to,
            by: Vec::new(),
            profile: None,
            category: None,
            action: None,
            top_domains: None,
            suppress_below: None,
        }
    }

    fn grain(&self) -> Option<Grain> {
        if self.by.contains(&Dim::Day) {
            Some(Grain::Day)
        } else if self.by.contains(&Dim::Month) {
            Some(Grain::Month)
        } else {
            None
        }
    }

    fn validate(&self) -> Result<(Date, Date), Error> {
        let (from, to) = (self.from.first_day(), self.to.last_day());
        if from > to {
            return Err(Error::Invalid(format!(
                "the report starts ({}) after it ends ({})",
                self.from, self.to
            )));
        }
        if self.by.contains(&Dim::Day) && self.by.contains(&Dim::Month) {
            return Err(Error::Invalid(
                "break a report down by month or by day, not both".into(),
            ));
        }
        for (i, d) in self.by.iter().enumerate() {
            if self.by[..i].contains(d) {
                return Err(Error::Invalid(format!(
                    "{} appears twice in the breakdown",
                    d.as_str()
                )));
            }
        }
        if let Some(k) = self.suppress_below
            && k < 3
        {
            return Err(Error::Invalid(format!(
                "--suppress-below {k}: use at least 3 (with zeros shown, \"<2\" could only \
                     mean 1)"
            )));
        }
        if self.by.contains(&Dim::Day) && (to - from).get_days() > 3660 {
            return Err(Error::Invalid(
                "a day-by-day report covers at most ten years; break it down by month".into(),
            ));
        }
        Ok((from, to))
    }
}

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
        let grain = query.grain();
        let by_category = query.by.contains(&Dim::Category);
        let scope = query.category.as_deref();

        // Totals come from the stored counts, before any roll-up.
        let mut period_totals: BTreeMap<String, u64> = match grain {
            Some(g) => periods(g, from, to).into_iter().map(|p| (p, 0)).collect(),
            None => BTreeMap::new(),
        };
        let mut grand = 0u64;
        let mut cells: BTreeMap<Key, u64> = BTreeMap::new();
        for r in counts {
            grand = grand.saturating_add(r.n);
            if let Some(p) = &r.period {
                let t = period_totals.entry(p.clone()).or_insert(0);
                *t = t.saturating_add(r.n);
            }
            if query.by.is_empty() {
                continue;
            }
            let mut key = Key {
                period: r.period,
                profile: r.profile,
                category: r.category,
                action: r.action,
            };
            loop {
                let v = cells.entry(key.clone()).or_insert(0);
                *v = v.saturating_add(r.n);
                if !by_category {
                    break;
                }
                match key.category.as_deref().and_then(|c| parent(c, scope)) {
                    Some(p) => key.category = Some(p.to_owned()),
                    None => break,
                }
            }
        }

        let mut keys: Vec<(Key, u64)> = cells.into_iter().collect();
        keys.sort_by(|(a, _), (b, _)| {
            for d in &query.by {
                let o = match d {
                    Dim::Month | Dim::Day => a.period.cmp(&b.period),
                    Dim::Profile => a.profile.cmp(&b.profile),
                    Dim::Category => cmp_category(
                        a.category.as_deref().unwrap_or(""),
                        b.category.as_deref().unwrap_or(""),
                    ),
                    Dim::Action => a.action.cmp(&b.action),
                };
                if o != Ordering::Equal {
                    return o;
                }
            }
            Ordering::Equal
        });

        // Cells: rows, then period totals, then the grand total.
        let nrows = keys.len();
        let totals: Vec<(String, u64)> = period_totals.into_iter().collect();
        let mut values: Vec<u64> = keys.iter().map(|(_, n)| *n).collect();
        values.extend(totals.iter().map(|(_, n)| *n));
        values.push(grand);
        let grand_id = values.len() - 1;

        let hidden = match query.suppress_below {
            Some(k) => {
                let equations = equations(&keys, &totals, grain.is_some(), by_category, scope);
                suppress(&values, &equations, k)
            }
            _ => vec![false; values.len()],
        };
        let cell = |i: usize| match query.suppress_below {
            Some(k) if hidden[i] && values[i] < k => Cell::Suppressed { below: k },
            Some(_) if hidden[i] => Cell::Withheld,
            _ => Cell::Count(values[i]),
        };

        Ok(Report {
            from: from.to_string(),
            to: to.to_string(),
            by: query.by.clone(),
            profile: query.profile.clone(),
            category: query.category.clone(),
            action: query.action,
            suppress_below: query.suppress_below,
            rows: keys
                .into_iter()
                .enumerate()
                .map(|(i, (k, _))| Row {
                    period: k.period,
                    profile: k.profile,
                    category: k.category,
                    action: k.action,
                    count: cell(i),
                })
                .collect(),
            totals: totals
                .into_iter()
                .enumerate()
                .map(|(i, (period, _))| PeriodTotal {
                    period,
                    count: cell(nrows + i),
                })
                .collect(),
            total: cell(grand_id),
            top_domains: query.top_domains.map(|limit| {
                let min = query.suppress_below.unwrap_or(0);
                domains
                    .into_iter()
                    .filter(|d| d.n > 0 && d.n >= min)
                    .take(limit)
                    .map(|d| TopDomain {
                        domain: d.domain,
                        category: d.category,
                        count: d.n,
                    })
                    .collect()
            }),
        })
    }
}

/// `total = own + Σ parts`, over cell ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Equation {
    pub(crate) total: usize,
    pub(crate) parts: Vec<usize>,
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

/// Primary and secondary suppression (see the module docs); `true` = hidden.
pub(crate) fn suppress(values: &[u64], equations: &[Equation], k: u64) -> Vec<bool> {
    let mut hidden: Vec<bool> = values.iter().map(|&n| n > 0 && n < k).collect();
    let mut touching: Vec<Vec<usize>> = vec![Vec::new(); values.len()];
    for (e, eq) in equations.iter().enumerate() {
        touching[eq.total].push(e);
        for &p in &eq.parts {
            touching[p].push(e);
        }
    }
    let mut queue: VecDeque<usize> = (0..equations.len()).collect();
    let mut queued = vec![true; equations.len()];
    while let Some(e) = queue.pop_front() {
        queued[e] = false;
        let eq = &equations[e];
        if !is_broken(eq, values, &hidden, k) {
            continue;
        }
        let smallest_visible = eq
            .parts
            .iter()
            .copied()
            .filter(|&p| !hidden[p] && values[p] > 0)
            .min_by_key(|&p| (values[p], p));
        let cell = match smallest_visible {
            Some(p) => p,
            None if !hidden[eq.total] && values[eq.total] > 0 => eq.total,
            // Every cell of the equation is hidden already: nothing more can be done here.
            None => continue,
        };
        hidden[cell] = true;
        for &e2 in &touching[cell] {
            if !queued[e2] {
                queued[e2] = true;
                queue.push_back(e2);
            }
        }
    }
    hidden
}

/// What a reader knows about a hidden cell: `[1, K-1]` when shown as `<K`, `[K, ∞)` when
/// withheld.
pub(crate) fn bounds(value: u64, k: u64) -> (i128, i128) {
    if value < k {
        (1, i128::from(k) - 1)
    } else {
        (i128::from(k), INFINITY)
    }
}

/// Larger than any sum of counts; keeps interval arithmetic in `i128` without overflow.
pub(crate) const INFINITY: i128 = 1 << 100;

/// The range a reader can narrow each hidden cell of one equation to, knowing the visible
/// cells, the hidden cells' bounds and (cautiously) the category's own count:
/// `Σ aᵢ·xᵢ = C` over the hidden cells, `a = +1` for the total and `-1` for parts.
pub(crate) fn equation_ranges(
    eq: &Equation,
    values: &[u64],
    hidden: &[bool],
    k: u64,
) -> Vec<(usize, i128, i128)> {
    // Each hidden cell as a term aᵢ·xᵢ with its range; an infinite end is `±INFINITY`.
    let terms: Vec<(usize, i128, i128, i128)> = std::iter::once((eq.total, 1))
        .chain(eq.parts.iter().map(|&p| (p, -1)))
        .filter(|&(c, _)| hidden[c])
        .map(|(c, a)| {
            let (lo, hi) = bounds(values[c], k);
            if a > 0 {
                (c, a, lo, hi)
            } else {
                (c, a, -hi, -lo)
            }
        })
        .collect();
    let c: i128 = terms
        .iter()
        .map(|&(i, a, _, _)| a * i128::from(values[i]))
        .sum();
    // Sums of the finite ends, and how many ends are infinite.
    let (mut lo_sum, mut lo_inf, mut hi_sum, mut hi_inf) = (0i128, 0usize, 0i128, 0usize);
    for &(_, _, lo, hi) in &terms {
        if lo <= -INFINITY {
            lo_inf += 1;
        } else {
            lo_sum += lo;
        }
        if hi >= INFINITY {
            hi_inf += 1;
        } else {
            hi_sum += hi;
        }
    }
    terms
        .iter()
        .map(|&(i, a, lo, hi)| {
            // The others' sum, Σ_{j≠i} aⱼxⱼ, lies in [rest_lo, rest_hi].
            let rest_lo = if lo <= -INFINITY {
                if lo_inf > 1 { -INFINITY } else { lo_sum }
            } else if lo_inf > 0 {
                -INFINITY
            } else {
                lo_sum - lo
            };
            let rest_hi = if hi >= INFINITY {
                if hi_inf > 1 { INFINITY } else { hi_sum }
            } else if hi_inf > 0 {
                INFINITY
            } else {
                hi_sum - hi
            };
            let (x_lo, x_hi) = if a > 0 {
                (c - rest_hi, c - rest_lo)
            } else {
                (rest_lo - c, rest_hi - c)
            };
            let (own_lo, own_hi) = bounds(values[i], k);
            (i, x_lo.max(own_lo), x_hi.min(own_hi))
        })
        .collect()
}

/// An equation breaks the rule when a reader can pin a hidden cell to one value from it, or
/// when its total is visible and its hidden parts add up to less than `K`.
fn is_broken(eq: &Equation, values: &[u64], hidden: &[bool], k: u64) -> bool {
    let ranges = equation_ranges(eq, values, hidden, k);
    if ranges.iter().any(|&(_, lo, hi)| lo >= hi) {
        return true;
    }
    if !hidden[eq.total] {
        let sum: u64 = eq
            .parts
            .iter()
            .filter(|&&p| hidden[p])
            .map(|&p| values[p])
            .sum();
        return sum > 0 && sum < k;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_parse() {
        assert_eq!(
            "2025-01".parse::<Period>().expect("month"),
            Period::Month {
                year: 2025,
                month: 1
            }
        );
        let d = "2025-02-28".parse::<Period>().expect("day");
        assert_eq!(d.first_day(), Date::constant(2025, 2, 28));
        let m = "2024-02".parse::<Period>().expect("month");
        assert_eq!(m.last_day(), Date::constant(2024, 2, 29));
        for bad in ["2025-13", "2025-1", "25-01", "2025-02-30", "january"] {
            assert!(bad.parse::<Period>().is_err(), "{bad}");
        }
    }

    #[test]
    fn single_hidden_part_pulls_in_the_next_smallest() {
        // total(3) = a(5) + b(20) + c(30); K = 10: a is primary, b secondary.
        let values = [5, 20, 30, 55];
        let eqs = [Equation {
            total: 3,
            parts: vec![0, 1, 2],
        }];
        assert_eq!(suppress(&values, &eqs, 10), vec![true, true, false, false]);
    }

    #[test]
    fn two_small_parts_with_small_sum_pull_in_a_third() {
        // a(2) + b(3) = 5 < K = 10: their sum would be a small count.
        let values = [2, 3, 40, 50, 95];
        let eqs = [Equation {
            total: 4,
            parts: vec![0, 1, 2, 3],
        }];
        assert_eq!(
            suppress(&values, &eqs, 10),
            vec![true, true, true, false, false]
        );
    }

    #[test]
    fn only_part_hides_the_total() {
        let values = [4, 4];
        let eqs = [Equation {
            total: 1,
            parts: vec![0],
        }];
        assert_eq!(suppress(&values, &eqs, 10), vec![true, true]);
    }

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
