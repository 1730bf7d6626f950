//! The source manifest (`lists/sources.toml`): where each list comes from, its format,
//! licence, and which taxonomy categories its sub-lists feed.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{Error, Format, Result, Taxonomy};

/// One `[[source]]` entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceSpec {
    /// Short unique name, used in provenance labels (`ut1/gambling`).
    pub name: String,
    /// The list format.
    pub format: Format,
    /// Local copy: a file, or a directory for directory formats; relative to the manifest.
    /// `lists compile` reads it; `lists update` downloads `url` instead when both are set.
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// Upstream address, downloaded by `lists update`: the file, UT1's `.tar.gz`, or, for a
    /// directory of lists, an address with `{list}` where each sub-list's name goes.
    #[serde(default)]
    pub url: Option<String>,
    /// The expected sha256 (hex) of the file at `url`, checked before it is used.
    #[serde(default)]
    pub sha256: Option<String>,
    /// The size cap of a download from `url`, in bytes (default: `lists update --max-size`).
    #[serde(default)]
    pub max_size: Option<u64>,
    /// SPDX licence id of the list data.
    #[serde(default)]
    pub licence: Option<String>,
    /// The attribution the licence asks for.
    #[serde(default)]
    pub attribution: Option<String>,
    /// Project page.
    #[serde(default)]
    pub homepage: Option<String>,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
    /// A directory source's sub-lists → taxonomy ids. Sub-lists not named are skipped.
    #[serde(default)]
    pub categories: Option<BTreeMap<String, Vec<String>>>,
    /// A single-list source's taxonomy ids.
    #[serde(default)]
    pub category: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestFile {
    #[serde(default)]
    source: Vec<SourceSpec>,
}

/// A parsed, checked manifest: its sources with paths resolved against the manifest's folder.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// Where the manifest was read from.
    pub path: PathBuf,
    /// The sources, in file order.
    pub sources: Vec<SourceSpec>,
}

impl Manifest {
    /// Reads a manifest and checks it against a taxonomy: unique names, known categories,
    /// `categories` for directories and `category` for single files.
    pub fn load(path: &Path, taxonomy: &Taxonomy) -> Result<Manifest> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Manifest::from_toml(&text, path, taxonomy)
    }

    /// Parses manifest text; relative paths are resolved against `path`'s folder.
    pub fn from_toml(text: &str, path: &Path, taxonomy: &Taxonomy) -> Result<Manifest> {
        let file: ManifestFile = toml::from_str(text).map_err(|e| Error::Toml {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        let mut seen = HashSet::new();
        let mut sources = Vec::with_capacity(file.source.len());
        for mut s in file.source {
            let bad = |problem: String| Error::Manifest {
                manifest: path.to_path_buf(),
                source_name: s.name.clone(),
                problem,
            };
            if s.name.is_empty()
                || !s
                    .name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
            {
                return Err(bad(
                    "`name` must be lower-case letters, digits, `-` or `_`".into()
                ));
            }
            if !seen.insert(s.name.clone()) {
                return Err(bad(
                    "two sources have this name; names must be unique".into()
                ));
            }
            if s.path.is_none() && s.url.is_none() {
                return Err(bad("needs a `path` (a local copy) or a `url`".into()));
            }
            if let Some(problem) = s.download_problem() {
                return Err(bad(problem));
            }
            let lists: Vec<(&String, &Vec<String>)> = match (&s.categories, &s.category) {
                (Some(map), None) => map.iter().collect(),
                (None, Some(cats)) if !s.format.is_directory() => vec![(&s.name, cats)],
                (Some(_), Some(_)) => return Err(bad("set either `category` (one list) or `[source.categories]` (a directory of lists), not both".into())),
                (None, _) if s.format.is_directory() => return Err(bad(format!("a `{}` source is a directory: map its sub-lists with a `[source.categories]` table", s.format))),
                (None, _) => return Err(bad("name the categories of this list with `category = [\"…\"]`, or map a directory's lists with `[source.categories]`".into())),
            };
            for (list, cats) in lists {
                if cats.is_empty() {
                    return Err(bad(format!("list `{list}` maps to no category")));
                }
                for c in cats {
                    if taxonomy.get(c).is_none() {
                        let hint = taxonomy.suggest(c);
                        let hint = if hint.is_empty() {
                            String::new()
                        } else {
                            format!(" (did you mean {}?)", hint.join(", "))
                        };
                        return Err(bad(format!(
                            "list `{list}`: unknown category `{c}`{hint}; ids are in lists/categories.toml"
                        )));
                    }
                }
            }
            s.path = s.path.map(|p| base.join(p));
            sources.push(s);
        }
        Ok(Manifest {
            path: path.to_path_buf(),
            sources,
        })
    }
}

/// Where a list's name goes in the `url` of a directory of lists.
pub const LIST_PLACEHOLDER: &str = "{list}";

impl SourceSpec {
    /// Whether `lists update` downloads one file per sub-list (`url` with `{list}`) rather
    /// than one file or archive.
    pub fn is_list_per_file(&self) -> bool {
        self.categories.is_some() && !self.format.is_directory()
    }

    /// What is wrong with the download keys, if anything.
    fn download_problem(&self) -> Option<String> {
        if self.url.is_none() {
            return (self.sha256.is_some() || self.max_size.is_some())
                .then(|| "`sha256` and `max_size` apply to a download: set `url` too".into());
        }
        let url = self.url.as_deref().unwrap_or_default();
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Some(format!(
                "`url` {url:?} must start with https:// (or http://)"
            ));
        }
        let placeholder = url.contains(LIST_PLACEHOLDER);
        if self.is_list_per_file() && !placeholder {
            return Some(format!(
                "a directory of lists downloads one file per list: write `{LIST_PLACEHOLDER}` in `url` where the list's name goes (e.g. \"https://example.org/lists/{LIST_PLACEHOLDER}.txt\")"
            ));
        }
        if !self.is_list_per_file() && placeholder {
            return Some(format!(
                "`{LIST_PLACEHOLDER}` in `url` is for a directory of lists mapped with `[source.categories]`"
            ));
        }
        if let Some(pin) = &self.sha256 {
            if self.is_list_per_file() {
                return Some(
                    "`sha256` pins one file; a directory of lists downloads several".into(),
                );
            }
            if pin.len() != 64 || !pin.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Some(format!(
                    "`sha256` {pin:?} is not 64 hex digits (`sha256sum FILE` prints it)"
                ));
            }
        }
        if let Some(list) = self
            .categories
            .iter()
            .flat_map(|m| m.keys())
            .find(|l| l.is_empty() || l.starts_with('.') || l.contains(['/', '\\', '.', '\0']))
        {
            return Some(format!(
                "list `{list}`: a list name is a file name: no `/`, `\\` or `.`"
            ));
        }
        None
    }

    /// The local copy to read, or why there is none.
    pub fn local_path(&self) -> Result<&Path> {
        match (&self.path, &self.url) {
            (Some(p), _) if p.exists() => Ok(p),
            (Some(p), Some(url)) => Err(Error::NotFetched {
                source_name: self.name.clone(),
                path: p.clone(),
                url: url.clone(),
            }),
            (None, Some(url)) => Err(Error::NotFetched {
                source_name: self.name.clone(),
                path: PathBuf::from("(no `path` set)"),
                url: url.clone(),
            }),
            (Some(p), None) => Err(Error::io(
                p,
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "list file not found; fix `path` in the manifest",
                ),
            )),
            (None, None) => unreachable!("checked when the manifest was loaded"),
        }
    }
}
