//! What changed between two indexes, per category: names added, removed, and recategorised
//! (listed in both, but moved into this category from another). This is the
//! "sites may have been re-categorised" report.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use crate::{Index, LabelSetId, Result, name_from_key};

/// One name's change within a category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Change {
    /// Newly listed (not in the old index at all).
    Added,
    /// Was in this category, is not any more (delisted, or moved elsewhere).
    Removed,
    /// Listed in both indexes, newly in this category.
    Recategorised,
}

impl Change {
    /// `added`, `removed`, `recategorised`.
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Added => "added",
            Change::Removed => "removed",
            Change::Recategorised => "recategorised",
        }
    }
}

/// A name with its change; `from` names a recategorised name's old categories.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameDiff {
    /// The domain.
    pub name: String,
    /// What happened.
    pub change: Change,
    /// For a recategorised name, its categories in the old index (comma-separated).
    pub from: Option<String>,
}

/// Changes in one category.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CategoryDiff {
    /// Names newly listed in this category.
    pub added: u64,
    /// Names no longer in this category.
    pub removed: u64,
    /// Names moved into this category from others.
    pub recategorised: u64,
    /// Up to the requested number of names per category.
    pub names: Vec<NameDiff>,
}

/// The differences between two indexes, by category id.
#[derive(Debug, Clone, Default)]
pub struct Diff {
    /// Per category id.
    pub categories: BTreeMap<String, CategoryDiff>,
}

/// Category ids of every label set of an index.
fn set_ids(index: &Index) -> Vec<Vec<&str>> {
    (0..index.meta().sets.len())
        .map(|s| {
            index
                .categories(s as LabelSetId)
                .iter()
                .map(|&c| index.taxonomy().id(c))
                .collect()
        })
        .collect()
}

/// Compares two indexes in one merged pass over their names (both are sorted), keeping at
/// most `max_names` example names per category. A name is compared by the categories each
/// index gives it, so one that moves under a listed parent of the same category is unchanged.
/// Fails, naming the file, on a name table the walk finds damaged (see [`Index::for_each_name`]).
pub fn diff(old: &Index, new: &Index, max_names: usize) -> Result<Diff> {
    let (old_sets, new_sets) = (set_ids(old), set_ids(new));
    let mut out = Diff::default();
    let mut record = |key: &[u8], before: &[&str], after: &[&str]| {
        for &c in after.iter().filter(|c| !before.contains(c)) {
            let change = if before.is_empty() {
                Change::Added
            } else {
                Change::Recategorised
            };
            let d = out.categories.entry(c.to_string()).or_default();
            if change == Change::Added {
                d.added += 1
            } else {
                d.recategorised += 1
            }
            if d.names.len() < max_names {
                let from = (change == Change::Recategorised).then(|| before.join(","));
                d.names.push(NameDiff {
                    name: name_from_key(key),
                    change,
                    from,
                });
            }
        }
        for &c in before.iter().filter(|c| !after.contains(c)) {
            let d = out.categories.entry(c.to_string()).or_default();
            d.removed += 1;
            if d.names.len() < max_names {
                d.names.push(NameDiff {
                    name: name_from_key(key),
                    change: Change::Removed,
                    from: None,
                });
            }
        }
    };
    fn pick<'s>(sets: &'s [Vec<&'s str>], v: u64) -> &'s [&'s str] {
        sets.get(v as usize).map_or(&[], |s| s.as_slice())
    }
    // A name stored in one index only may still be covered in the other, by a listed
    // parent (or folded into one, see `Compiler::finish`): compare with what it gets there.
    fn covered<'s>(index: &Index, sets: &'s [Vec<&'s str>], key: &[u8]) -> &'s [&'s str] {
        let set = index.lookup(&name_from_key(key)).map(|m| m.set);
        set.map_or(&[], |s| pick(sets, u64::from(s)))
    }
    let (mut a, mut b) = (old.walk(), new.walk());
    let own = |(k, v): (&[u8], LabelSetId)| (k.to_vec(), u64::from(v));
    let (mut x, mut y) = (a.next()?.map(own), b.next()?.map(own));
    loop {
        let order = match (&x, &y) {
            (None, None) => break,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some((ka, _)), Some((kb, _))) => ka.cmp(kb),
        };
        match order {
            Ordering::Less => {
                let (k, v) = x.take().expect("present");
                record(&k, pick(&old_sets, v), covered(new, &new_sets, &k));
                x = a.next()?.map(own);
            }
            Ordering::Greater => {
                let (k, v) = y.take().expect("present");
                record(&k, covered(old, &old_sets, &k), pick(&new_sets, v));
                y = b.next()?.map(own);
            }
            Ordering::Equal => {
                let (k, va) = x.take().expect("present");
                let (_, vb) = y.take().expect("present");
                let (before, after) = (pick(&old_sets, va), pick(&new_sets, vb));
                if before != after {
                    record(&k, before, after);
                }
                x = a.next()?.map(own);
                y = b.next()?.map(own);
            }
        }
    }
    Ok(out)
}
