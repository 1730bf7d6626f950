//! The category taxonomy: stable ids, display names, one level of children.
//!
//! A category id is its display name slugged, children joined to their root with `/`:
//! `gambling`, `adult-material/nudity`. Configs, reports and EDE texts use these ids, so they
//! never change once published; the taxonomy file (`lists/categories.toml`) is checked so an
//! id cannot drift from its name.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::Xxh3;

use crate::{Error, Result};

/// Index of a category in its [`Taxonomy`] (dense, stable within one index file).
pub type CategoryIdx = u16;

/// The taxonomy shipped in `lists/categories.toml`, embedded in the binary.
pub const BUILTIN_TAXONOMY: &str = include_str!("../../../lists/categories.toml");

/// One category as written in the taxonomy file and stored in the index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryDef {
    /// Stable id: `slug(name)` for a root, `parent/slug(name)` for a child.
    pub id: String,
    /// Display name, e.g. "Personals and Dating".
    pub name: String,
    /// The root this category belongs to, if it is a child.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// One line saying what belongs here.
    #[serde(default)]
    pub description: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TaxonomyFile {
    category: Vec<CategoryDef>,
}

/// A validated taxonomy: categories in file order, roots before their children.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taxonomy {
    categories: Vec<CategoryDef>,
    parents: Vec<Option<CategoryIdx>>,
    by_id: HashMap<String, CategoryIdx>,
}

/// `Personals and Dating` → `personals-and-dating`.
pub fn slug(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

impl Taxonomy {
    /// The embedded taxonomy from `lists/categories.toml`.
    pub fn builtin() -> Taxonomy {
        Taxonomy::from_toml(BUILTIN_TAXONOMY, "lists/categories.toml")
            .expect("the embedded taxonomy is checked by the test suite")
    }

    /// Reads and validates a taxonomy file.
    pub fn load(path: &Path) -> Result<Taxonomy> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Taxonomy::from_toml(&text, &path.display().to_string())
    }

    /// Parses and validates taxonomy TOML; `origin` names it in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<Taxonomy> {
        let file: TaxonomyFile = toml::from_str(text).map_err(|e| Error::Toml {
            path: origin.into(),
            message: e.to_string(),
        })?;
        Taxonomy::from_defs(file.category, origin)
    }

    /// Validates a list of definitions (from a file or from an index header).
    pub fn from_defs(categories: Vec<CategoryDef>, origin: &str) -> Result<Taxonomy> {
        let bad = |id: &str, problem: String| Error::Taxonomy {
            origin: origin.to_string(),
            id: id.to_string(),
            problem,
        };
        if categories.len() >= usize::from(CategoryIdx::MAX) {
            return Err(bad("", "too many categories".into()));
        }
        let mut by_id = HashMap::new();
        let mut parents: Vec<Option<CategoryIdx>> = Vec::with_capacity(categories.len());
        for (i, c) in categories.iter().enumerate() {
            let expected = match &c.parent {
                None => slug(&c.name),
                Some(p) => {
                    let Some(&pi) = by_id.get(p.as_str()) else {
                        return Err(bad(
                            &c.id,
                            format!("parent `{p}` is not defined above this category"),
                        ));
                    };
                    if parents[usize::from(pi)].is_some() {
                        return Err(bad(
                            &c.id,
                            format!("parent `{p}` is itself a child; only two levels are allowed"),
                        ));
                    }
                    parents.push(Some(pi));
                    format!("{p}/{}", slug(&c.name))
                }
            };
            if c.parent.is_none() {
                parents.push(None);
            }
            if c.id != expected {
                return Err(bad(
                    &c.id,
                    format!(
                        "id must be `{expected}` (the slug of its name \"{}\")",
                        c.name
                    ),
                ));
            }
            let idx =
                CategoryIdx::try_from(i).map_err(|_| bad(&c.id, "too many categories".into()))?;
            if by_id.insert(c.id.clone(), idx).is_some() {
                return Err(bad(&c.id, "defined twice".into()));
            }
        }
        Ok(Taxonomy {
            categories,
            parents,
            by_id,
        })
    }

    /// The index of a category id.
    pub fn get(&self, id: &str) -> Option<CategoryIdx> {
        self.by_id.get(id).copied()
    }

    /// The definition at an index.
    pub fn def(&self, idx: CategoryIdx) -> &CategoryDef {
        &self.categories[usize::from(idx)]
    }

    /// The id at an index.
    pub fn id(&self, idx: CategoryIdx) -> &str {
        &self.categories[usize::from(idx)].id
    }

    /// The parent of a category (None for a root).
    pub fn parent(&self, idx: CategoryIdx) -> Option<CategoryIdx> {
        self.parents[usize::from(idx)]
    }

    /// The children of a root.
    pub fn children(&self, idx: CategoryIdx) -> impl Iterator<Item = CategoryIdx> + '_ {
        (0..self.len() as CategoryIdx).filter(move |&c| self.parent(c) == Some(idx))
    }

    /// All categories in file order.
    pub fn defs(&self) -> &[CategoryDef] {
        &self.categories
    }

    /// Number of categories.
    pub fn len(&self) -> usize {
        self.categories.len()
    }

    /// True if there are no categories.
    pub fn is_empty(&self) -> bool {
        self.categories.is_empty()
    }

    /// Ids close to an unknown one, for "did you mean" hints.
    pub fn suggest(&self, unknown: &str) -> Vec<&str> {
        let last = unknown.rsplit('/').next().unwrap_or(unknown);
        let needle = slug(last);
        self.categories
            .iter()
            .map(|c| c.id.as_str())
            .filter(|id| {
                !needle.is_empty()
                    && (id.contains(&needle)
                        || needle.contains(id.rsplit('/').next().unwrap_or(id)))
            })
            .take(3)
            .collect()
    }

    /// A stable hash of ids and parents: two indexes with the same hash use the same category
    /// numbering.
    pub fn hash(&self) -> u64 {
        let mut h = Xxh3::new();
        for c in &self.categories {
            h.update(c.id.as_bytes());
            h.update(b"\0");
        }
        h.digest()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert_eq!(slug("Personals and Dating"), "personals-and-dating");
        assert_eq!(
            slug("Advanced Malware Command and Control"),
            "advanced-malware-command-and-control"
        );
        assert_eq!(slug("Web and Email Spam"), "web-and-email-spam");
        assert_eq!(slug("Custom-Encrypted Uploads"), "custom-encrypted-uploads");
    }

    #[test]
    fn builtin_taxonomy_is_valid_and_has_the_council_categories() {
        let t = Taxonomy::builtin();
        for id in [
            "adult-material/nudity",
            "entertainment/media-file-download",
            "extended-protection/dynamic-dns",
            "gambling",
            "illegal-or-questionable",
            "information-technology/proxy-avoidance",
            "information-technology/parked-domain",
            "security/phishing-and-other-frauds",
            "security/advanced-malware-command-and-control",
            "security/suspicious-embedded-link",
            "violence",
            "internet-communication/web-chat",
            "society-and-lifestyles/personals-and-dating",
        ] {
            assert!(
                t.get(id).is_some(),
                "{id} missing from lists/categories.toml"
            );
        }
        let nudity = t.get("adult-material/nudity").unwrap();
        assert_eq!(t.id(t.parent(nudity).unwrap()), "adult-material");
    }

    #[test]
    fn rejects_drifted_ids_and_unknown_parents() {
        let err = Taxonomy::from_toml(
            "[[category]]\nid = \"gaming\"\nname = \"Gambling\"\n",
            "t.toml",
        )
        .unwrap_err();
        assert!(err.to_string().contains("id must be `gambling`"), "{err}");
        let err = Taxonomy::from_toml(
            "[[category]]\nid = \"x/y\"\nname = \"Y\"\nparent = \"x\"\n",
            "t.toml",
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("parent `x` is not defined"),
            "{err}"
        );
        let err = Taxonomy::from_toml(
            "[[category]]\nid = \"a\"\nname = \"A\"\ncolour = 1\n",
            "t.toml",
        )
        .unwrap_err();
        assert!(err.to_string().contains("unknown field"), "{err}");
    }
}
