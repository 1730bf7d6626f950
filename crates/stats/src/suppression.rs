//! Small-count suppression: which published cells of a report to hide so that no count below
//! `K` is shown or can be worked out. [`Report::from_counts`](crate::Report::from_counts) lists
//! the cells and the sums between them; this module decides, in two steps:
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

use std::collections::VecDeque;

/// `total = own + Σ parts`, over cell ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Equation {
    pub(crate) total: usize,
    pub(crate) parts: Vec<usize>,
}

/// Primary and secondary suppression (see the module docs) of cells `values`, related by
/// `equations`; `true` = hidden.
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
fn bounds(value: u64, k: u64) -> (i128, i128) {
    if value < k {
        (1, i128::from(k) - 1)
    } else {
        (i128::from(k), INFINITY)
    }
}

/// Larger than any sum of counts; keeps interval arithmetic in `i128` without overflow.
const INFINITY: i128 = 1 << 100;

/// The range a reader can narrow each hidden cell of one equation to, knowing the visible
/// cells, the hidden cells' bounds and (cautiously) the category's own count:
/// `Σ aᵢ·xᵢ = C` over the hidden cells, `a = +1` for the total and `-1` for parts.
fn equation_ranges(
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
}
