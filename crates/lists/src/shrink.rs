//! The shrink guard: a category that loses most of its names between the index in service
//! and a new compile is far more often a broken download than a real change, and it
//! silently unblocks those names. The compile stops and names what shrank.

use std::collections::BTreeMap;

use crate::IndexMeta;

/// One category that lost more than the allowed share of its names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shrink {
    /// Taxonomy id.
    pub category: String,
    /// Listed names in the existing index.
    pub old: u64,
    /// Listed names in the new compile.
    pub new: u64,
    /// The lists that feed the category, old and new: `(source/list, origin, old, new)`.
    pub lists: Vec<ShrinkList>,
}

/// Names one source list gave a shrunken category, before and after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShrinkList {
    /// `source/list` (or the source name for a single-list source).
    pub label: String,
    /// Where the new compile read it (empty when the list is gone).
    pub origin: String,
    /// Names it kept in the existing index.
    pub old: u64,
    /// Names it kept in the new compile.
    pub new: u64,
}

impl std::fmt::Display for Shrink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "category `{}` would shrink from {} to {} names (-{:.0}%)",
            self.category,
            self.old,
            self.new,
            100.0 * (self.old - self.new) as f64 / self.old as f64
        )?;
        let sources: Vec<String> = self
            .lists
            .iter()
            .map(|l| {
                let from = if l.origin.is_empty() {
                    "no longer compiled".to_string()
                } else {
                    l.origin.clone()
                };
                format!("{} ({from}): {} -> {} names", l.label, l.old, l.new)
            })
            .collect();
        if !sources.is_empty() {
            write!(f, "; its sources: {}", sources.join(", "))?;
        }
        Ok(())
    }
}

/// Categories of `old` that keep less than `100 - max_shrink_percent` % of their names in
/// `new`, in taxonomy-id order. A category `new` no longer has counts as 0 names.
pub fn shrunk(old: &IndexMeta, new: &IndexMeta, max_shrink_percent: u8) -> Vec<Shrink> {
    let (before, after) = (category_names(old), category_names(new));
    let kept_share = 100 - u64::from(max_shrink_percent.min(100));
    before
        .into_iter()
        .filter_map(|(category, old_n)| {
            let new_n = after.get(&category).copied().unwrap_or(0);
            // new / old < kept_share / 100, in integers.
            (u128::from(new_n) * 100 < u128::from(old_n) * u128::from(kept_share)).then(|| {
                let lists = lists_of(old, new, &category);
                Shrink {
                    category,
                    old: old_n,
                    new: new_n,
                    lists,
                }
            })
        })
        .collect()
}

/// Listed names per category id (folded names included): what `hedge lists stats` shows.
pub fn category_names(meta: &IndexMeta) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    let mut cats = Vec::new();
    for (set, &n) in meta.sets.iter().zip(&meta.set_names) {
        cats.clear();
        for label in set.iter().filter_map(|&l| meta.labels.get(l as usize)) {
            if !label.allow {
                cats.extend_from_slice(&label.categories);
            }
        }
        cats.sort_unstable();
        cats.dedup();
        for &c in &cats {
            if let Some(def) = meta.categories.get(usize::from(c)) {
                *out.entry(def.id.clone()).or_insert(0) += n;
            }
        }
    }
    out
}

/// Every source list that feeds `category` in either index, with its kept names in each.
fn lists_of(old: &IndexMeta, new: &IndexMeta, category: &str) -> Vec<ShrinkList> {
    let mut out: Vec<ShrinkList> = Vec::new();
    for (meta, is_new) in [(old, false), (new, true)] {
        for source in &meta.sources {
            for list in source
                .lists
                .iter()
                .filter(|l| l.categories.iter().any(|c| c == category))
            {
                let label = if list.name == source.name {
                    source.name.clone()
                } else {
                    format!("{}/{}", source.name, list.name)
                };
                let at = match out.iter().position(|l| l.label == label) {
                    Some(i) => i,
                    None => {
                        out.push(ShrinkList {
                            label,
                            origin: String::new(),
                            old: 0,
                            new: 0,
                        });
                        out.len() - 1
                    }
                };
                let entry = &mut out[at];
                if is_new {
                    entry.new = list.kept;
                    entry.origin = source.origin.clone();
                } else {
                    entry.old = list.kept;
                }
            }
        }
    }
    out
}
