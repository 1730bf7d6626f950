//! Suppression never reveals a hidden cell: random reports are attacked, from what they
//! publish only, by subtraction, by linear algebra and by interval reasoning.

use std::collections::BTreeMap;

use hedge_stats::{Action, Cell, CountRow, Dim, Period, Report, ReportQuery};
use proptest::prelude::*;

const CATEGORIES: [&str; 8] = ["-", "a", "a/x", "a/y", "a/y/z", "b", "b/x", "c"];
const INF: i128 = 1 << 100;

#[derive(Debug, Clone)]
struct Case {
    k: u64,
    by_month: bool,
    by_profile: bool,
    by_category: bool,
    by_action: bool,
    filter_a: bool,
    data: Vec<(usize, usize, usize, usize, u64)>,
}

fn case() -> impl Strategy<Value = Case> {
    let n = prop_oneof![4 => 1..6u64, 3 => 1..30u64, 2 => 0..300u64];
    let datum = (0..3usize, 0..2usize, 0..CATEGORIES.len(), 0..2usize, n);
    (
        3..=10u64,
        any::<[bool; 5]>(),
        proptest::collection::vec(datum, 0..40),
    )
        .prop_map(|(k, f, data)| Case {
            k,
            by_month: f[0],
            by_profile: f[1],
            by_category: f[2],
            by_action: f[3],
            filter_a: f[4],
            data,
        })
}

fn under(category: &str, filter: Option<&str>) -> bool {
    match filter {
        None => true,
        Some(f) => category == f || category.starts_with(&format!("{f}/")),
    }
}

type RowKey = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<Action>,
);

/// What `Store::counts` would return for this data and grouping.
fn counts(c: &Case) -> Vec<CountRow> {
    let filter = c.filter_a.then_some("a");
    let mut sums: BTreeMap<RowKey, u64> = BTreeMap::new();
    for &(m, p, cat, a, n) in &c.data {
        if !under(CATEGORIES[cat], filter) || n == 0 {
            continue;
        }
        let key = (
            c.by_month.then(|| format!("2025-{:02}", m + 1)),
            c.by_profile.then(|| format!("p{p}")),
            c.by_category.then(|| CATEGORIES[cat].to_owned()),
            c.by_action.then(|| [Action::Allowed, Action::Blocked][a]),
        );
        *sums.entry(key).or_default() += n;
    }
    sums.into_iter()
        .map(|((period, profile, category, action), n)| CountRow {
            period,
            profile,
            category,
            action,
            n,
        })
        .collect()
}

fn query(c: &Case, suppress: bool) -> ReportQuery {
    let mut q = ReportQuery::new(
        "2025-01".parse::<Period>().expect("month"),
        "2025-04".parse::<Period>().expect("month"), // April has no data: a zero total
    );
    for (on, d) in [
        (c.by_month, Dim::Month),
        (c.by_profile, Dim::Profile),
        (c.by_category, Dim::Category),
        (c.by_action, Dim::Action),
    ] {
        if on {
            q.by.push(d);
        }
    }
    q.category = c.filter_a.then(|| "a".to_owned());
    q.suppress_below = suppress.then_some(c.k);
    q
}

/// The published cells (rows, period totals, grand total) and the equations a reader can
/// write from them, rebuilt from the report alone: (total, parts).
fn attack_equations(r: &Report) -> (Vec<Cell>, Vec<(usize, Vec<usize>)>) {
    let mut cells: Vec<Cell> = r.rows.iter().map(|row| row.count).collect();
    let nrows = cells.len();
    cells.extend(r.totals.iter().map(|t| t.count));
    cells.push(r.total);
    let grand = cells.len() - 1;
    let mut eqs: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, row) in r.rows.iter().enumerate() {
        let parent = row.category.as_deref().and_then(|c| {
            let p = &c[..c.rfind('/')?];
            if !under(p, r.category.as_deref()) {
                return None;
            }
            r.rows.iter().position(|o| {
                o.category.as_deref() == Some(p)
                    && o.period == row.period
                    && o.profile == row.profile
                    && o.action == row.action
            })
        });
        let up = match (parent, &row.period) {
            (Some(p), _) => p,
            (None, Some(period)) => {
                nrows
                    + r.totals
                        .iter()
                        .position(|t| &t.period == period)
                        .expect("every row's period has a total")
            }
            (None, None) => grand,
        };
        eqs.entry(up).or_default().push(i);
    }
    if !r.totals.is_empty() {
        eqs.insert(grand, (nrows..grand).collect());
    }
    (cells, eqs.into_iter().collect())
}

const P: i64 = 1_000_000_007;

fn rank(mut m: Vec<Vec<i64>>) -> usize {
    let cols = m.first().map_or(0, Vec::len);
    let mut r = 0;
    for c in 0..cols {
        let Some(pivot) = (r..m.len()).find(|&i| m[i][c] != 0) else {
            continue;
        };
        m.swap(r, pivot);
        let inv = pow(m[r][c], P - 2);
        for x in m[r].iter_mut() {
            *x = *x * inv % P;
        }
        let pivot_row = m[r].clone();
        for (i, row) in m.iter_mut().enumerate() {
            if i != r && row[c] != 0 {
                let f = row[c];
                for (x, p) in row.iter_mut().zip(&pivot_row) {
                    *x = ((*x - f * p) % P + P) % P;
                }
            }
        }
        r += 1;
    }
    r
}

fn pow(mut b: i64, mut e: i64) -> i64 {
    let mut acc = 1;
    b %= P;
    while e > 0 {
        if e & 1 == 1 {
            acc = acc * b % P;
        }
        b = b * b % P;
        e >>= 1;
    }
    acc
}

fn check(c: &Case) -> Result<(), TestCaseError> {
    let truth = Report::from_counts(&query(c, false), counts(c), vec![]).expect("plain report");
    let published =
        Report::from_counts(&query(c, true), counts(c), vec![]).expect("suppressed report");
    let (true_cells, _) = attack_equations(&truth);
    let (cells, eqs) = attack_equations(&published);
    prop_assert_eq!(true_cells.len(), cells.len());
    let value = |i: usize| true_cells[i].value().expect("true value");
    let k = c.k;

    // Every small count is shown as <K; withheld cells are at least K; shown cells are true.
    for (i, cell) in cells.iter().enumerate() {
        let v = value(i);
        match *cell {
            Cell::Count(n) => {
                prop_assert_eq!(n, v);
                prop_assert!(v == 0 || v >= k, "cell {} = {} shown below K={}", i, v, k);
            }
            Cell::Suppressed { below } => {
                prop_assert_eq!(below, k);
                prop_assert!(v > 0 && v < k);
            }
            Cell::Withheld => prop_assert!(v >= k),
        }
    }
    let hidden: Vec<usize> = (0..cells.len())
        .filter(|&i| cells[i].value().is_none())
        .collect();
    if hidden.is_empty() {
        return Ok(());
    }

    // 1. No equation with exactly one hidden cell (one subtraction would reveal it), and a
    //    shown total's hidden parts never add up to a small count.
    for (total, parts) in &eqs {
        let unknown = std::iter::once(total)
            .chain(parts)
            .filter(|&&i| cells[i].value().is_none())
            .count();
        prop_assert!(
            unknown != 1,
            "equation {} = {:?} has one unknown",
            total,
            parts
        );
        if cells[*total].value().is_some() {
            let s: u64 = parts
                .iter()
                .filter(|&&p| cells[p].value().is_none())
                .map(|&p| value(p))
                .sum();
            prop_assert!(s == 0 || s >= k, "hidden parts of {} sum to {}", total, s);
        }
    }

    // 2. Linear algebra: no hidden cell is a combination of the equations.
    let col: BTreeMap<usize, usize> = hidden.iter().enumerate().map(|(j, &i)| (i, j)).collect();
    let matrix: Vec<Vec<i64>> = eqs
        .iter()
        .map(|(total, parts)| {
            let mut row = vec![0i64; hidden.len()];
            if let Some(&j) = col.get(total) {
                row[j] = 1;
            }
            for p in parts {
                if let Some(&j) = col.get(p) {
                    row[j] = P - 1;
                }
            }
            row
        })
        .collect();
    let base = rank(matrix.clone());
    for (&cell, &j) in &col {
        let mut m = matrix.clone();
        let mut e = vec![0i64; hidden.len()];
        e[j] = 1;
        m.push(e);
        prop_assert!(
            rank(m) > base,
            "hidden cell {} (value {}) is determined by the equations",
            cell,
            value(cell)
        );
    }

    // 3. Interval reasoning within each equation: knowing the shown cells, every category's
    //    own count (cautiously), that `<K` means 1..K-1 and `[c]` means at least K, no hidden
    //    cell of the equation is narrowed to one value unless nothing more could be withheld.
    for (total, parts) in &eqs {
        let vars: Vec<(usize, i128)> = std::iter::once((*total, 1i128))
            .chain(parts.iter().map(|&p| (p, -1)))
            .filter(|&(i, _)| cells[i].value().is_none())
            .collect();
        let cst: i128 = vars.iter().map(|&(i, a)| a * i128::from(value(i))).sum();
        let bounds = |i: usize| match cells[i] {
            Cell::Suppressed { .. } => (1, i128::from(k) - 1),
            _ => (i128::from(k), INF),
        };
        for &(i, a) in &vars {
            // a·xᵢ = cst − Σ_{j≠i} aⱼxⱼ
            let (mut rmin, mut rmax) = (0i128, 0i128);
            for &(j, b) in &vars {
                if j == i {
                    continue;
                }
                let (l, h) = bounds(j);
                if b > 0 {
                    rmin += l;
                    rmax = (rmax + h).min(INF);
                } else {
                    rmin = (rmin - h).max(-INF);
                    rmax -= l;
                }
            }
            let (l, h) = if a > 0 {
                (cst - rmax, cst - rmin)
            } else {
                (rmin - cst, rmax - cst)
            };
            let (l, h) = (l.max(bounds(i).0), h.min(bounds(i).1));
            let v = i128::from(value(i));
            prop_assert!(l <= v && v <= h, "interval reasoning is unsound");
            if l == h {
                // Possible only where the `<K` bounds alone pin it (say a row shown `<3` whose
                // own count is 1 and whose one child is `<3`): then every cell of the
                // equation must be hidden already, so that nothing more could be withheld.
                let all_hidden = std::iter::once(total)
                    .chain(parts)
                    .all(|&c| cells[c].value().is_none() || value(c) == 0);
                prop_assert!(
                    all_hidden,
                    "hidden cell {} pinned to {} by equation {}",
                    i,
                    l,
                    total
                );
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn no_hidden_cell_can_be_recovered(c in case()) {
        check(&c)?;
    }
}

#[test]
fn the_issue_example_month_by_category() {
    // A month with one small category: its row is <10, and the next smallest is withheld.
    let c = Case {
        k: 10,
        by_month: true,
        by_profile: false,
        by_category: true,
        by_action: false,
        filter_a: false,
        data: vec![(0, 0, 6, 0, 3), (0, 0, 7, 0, 40), (0, 0, 0, 0, 25)],
    };
    check(&c).expect("safe");
    let r = Report::from_counts(&query(&c, true), counts(&c), vec![]).expect("report");
    let shown: Vec<String> = r
        .rows
        .iter()
        .map(|row| format!("{} {}", row.get(Dim::Category), row.count))
        .collect();
    assert_eq!(shown, vec!["- [c]", "b <10", "b/x <10", "c 40"]);
    assert_eq!(r.totals[0].count, Cell::Count(68));
}

#[test]
fn k_below_three_is_refused() {
    let c = Case {
        k: 2,
        by_month: false,
        by_profile: false,
        by_category: false,
        by_action: false,
        filter_a: false,
        data: vec![],
    };
    let e = Report::from_counts(&query(&c, true), vec![], vec![]).expect_err("K = 2");
    assert!(e.to_string().contains("at least 3"), "{e}");
}
