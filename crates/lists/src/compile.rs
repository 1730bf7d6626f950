//! Compiling sources into an index: parse, normalise, sort, inherit, intern label sets, build the FST.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

use crate::format::{Item, LineState, parse_line};
use crate::index::{IndexMeta, Label, ListStats, SourceInfo, encode};
use crate::name::{NameError, normalize, reversed_key};
use crate::taxonomy::{CategoryIdx, Taxonomy};
use crate::{Error, Format, Manifest, Result, SourceSpec, counted, read};

/// Warnings kept per list file (all are counted).
const WARNINGS_KEPT_PER_LIST: usize = 20;

/// A rejected list line: where, what, why. Counted; the compile goes on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// `file:line`.
    pub location: String,
    /// The entry as written (shortened).
    pub entry: String,
    /// Why it was skipped.
    pub reason: String,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {:?}: {}; line skipped",
            self.location, self.entry, self.reason
        )
    }
}

/// Progress of a compile, for a progress bar.
#[derive(Debug, Clone, Copy)]
pub enum Progress<'a> {
    /// A source starts; `bytes` is the size of its files on disk.
    Source {
        /// Source name.
        name: &'a str,
        /// Bytes to read.
        bytes: u64,
    },
    /// Bytes read so far in this source went up by this much.
    Read(u64),
    /// Sorting and building the FST.
    Building,
}

/// What a compile produced: the index bytes and what happened on the way.
#[derive(Debug)]
pub struct Compiled {
    /// The complete index file.
    pub bytes: Vec<u8>,
    /// Its metadata (also inside `bytes`).
    pub meta: IndexMeta,
    /// Warnings kept (up to 20 per list).
    pub warnings: Vec<Warning>,
    /// All warnings, kept or not.
    pub warning_count: u64,
    /// Things the operator should know that are not line errors (skipped sub-lists, unenforceable paths).
    pub notices: Vec<String>,
}

/// One listed name before sorting: its reversed key in the arena and its label.
#[derive(Clone, Copy)]
struct Entry {
    off: u32,
    len: u8,
    label: u32,
}

/// Builds an index from sources. Feed it with [`Compiler::add_manifest`],
/// [`Compiler::add_source`] or [`Compiler::add_text`], then call [`Compiler::finish`].
pub struct Compiler<'t> {
    taxonomy: &'t Taxonomy,
    keys: Vec<u8>,
    entries: Vec<Entry>,
    labels: Vec<Label>,
    /// For each label: (source index, list index) into `sources`.
    label_home: Vec<(usize, usize)>,
    sources: Vec<SourceInfo>,
    warnings: Vec<Warning>,
    warning_count: u64,
    notices: Vec<String>,
    /// Entries skipped for their path (`origin:line "entry"`, up to 5 per list), and how
    /// many there were: one notice at the end names them.
    path_entries: Vec<String>,
    path_count: u64,
    keep_covered: bool,
}

impl<'t> Compiler<'t> {
    /// A compiler for lists categorised in `taxonomy`.
    pub fn new(taxonomy: &'t Taxonomy) -> Compiler<'t> {
        Compiler {
            taxonomy,
            keys: Vec::new(),
            entries: Vec::new(),
            labels: Vec::new(),
            label_home: Vec::new(),
            sources: Vec::new(),
            warnings: Vec::new(),
            warning_count: 0,
            notices: Vec::new(),
            path_entries: Vec::new(),
            path_count: 0,
            keep_covered: false,
        }
    }

    /// Stores every listed name, also those [`finish`](Compiler::finish) would fold into a
    /// listed parent: lookups then report the most specific listed name, for a bigger index.
    pub fn keep_covered(&mut self, keep: bool) {
        self.keep_covered = keep;
    }

    /// Adds every source of a manifest. A source without a local copy is an error.
    pub fn add_manifest(
        &mut self,
        manifest: &Manifest,
        progress: &mut dyn FnMut(Progress<'_>),
    ) -> Result<()> {
        for spec in &manifest.sources {
            self.add_source(spec, progress)?;
        }
        Ok(())
    }

    /// Reads one source from its local copy.
    pub fn add_source(
        &mut self,
        spec: &SourceSpec,
        progress: &mut dyn FnMut(Progress<'_>),
    ) -> Result<()> {
        let path = spec.local_path()?;
        let mut info = SourceInfo {
            name: spec.name.clone(),
            format: spec.format.to_string(),
            origin: path.display().to_string(),
            licence: spec.licence.clone(),
            attribution: spec.attribution.clone(),
            ..SourceInfo::default()
        };
        let mut hasher = Sha256::new();
        let source_idx = self.sources.len();
        if spec.categories.is_some() {
            let map = spec.categories.clone().unwrap_or_default();
            let files = directory_lists(spec.format, path)?;
            let total = files
                .iter()
                .map(|(_, p)| p.metadata().map_or(0, |m| m.len()))
                .sum();
            progress(Progress::Source {
                name: &spec.name,
                bytes: total,
            });
            self.sources.push(info);
            let mut unmapped = Vec::new();
            let mut read_lists: Vec<(String, std::path::PathBuf)> = Vec::new();
            for (list, file) in files {
                let Some(cats) = map.get(&list) else {
                    unmapped.push(list);
                    continue;
                };
                if !read_lists.iter().any(|(l, _)| *l == list) {
                    read_lists.push((list.clone(), file.clone()));
                }
                hasher.update(list.as_bytes());
                let buf = read::open(&file, &mut hasher, &mut |n| progress(Progress::Read(n)))?;
                let is_urls = file
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("urls"));
                let format = if spec.format == Format::Ut1 {
                    Format::Plain
                } else {
                    spec.format
                };
                self.add_list(
                    source_idx,
                    &list,
                    format,
                    cats,
                    &buf,
                    &file.display().to_string(),
                    is_urls,
                )?;
            }
            for (list, file) in &read_lists {
                self.check_not_empty(source_idx, list, Some(list), file)?;
            }
            if !unmapped.is_empty() {
                unmapped.dedup();
                self.notices.push(format!(
                    "{}: {} sub-lists not named in [source.categories] were skipped: {}",
                    spec.name,
                    unmapped.len(),
                    unmapped.join(", ")
                ));
            }
            for list in map.keys() {
                if !self.sources[source_idx]
                    .lists
                    .iter()
                    .any(|l| &l.name == list)
                {
                    self.notices.push(format!(
                        "{}: list `{list}` is mapped but {} has no such list",
                        spec.name,
                        path.display()
                    ));
                }
            }
        } else {
            let cats = spec.category.clone().unwrap_or_default();
            progress(Progress::Source {
                name: &spec.name,
                bytes: path.metadata().map_or(0, |m| m.len()),
            });
            self.sources.push(info);
            let buf = read::open(path, &mut hasher, &mut |n| progress(Progress::Read(n)))?;
            self.add_list(
                source_idx,
                &spec.name,
                spec.format,
                &cats,
                &buf,
                &path.display().to_string(),
                false,
            )?;
            self.check_not_empty(source_idx, &spec.name, None, path)?;
        }
        info = std::mem::take(&mut self.sources[source_idx]);
        info.digest = format!("{:x}", hasher.finalize());
        self.sources[source_idx] = info;
        Ok(())
    }

    /// Fails when a list read from `file` kept no name: an empty or truncated download, or
    /// the wrong format, would otherwise compile into an index that unblocks its categories.
    fn check_not_empty(
        &self,
        source_idx: usize,
        list: &str,
        shown_list: Option<&str>,
        file: &Path,
    ) -> Result<()> {
        let source = &self.sources[source_idx];
        let Some(stats) = source.lists.iter().find(|l| l.name == list) else {
            return Ok(());
        };
        if stats.kept + stats.allows > 0 {
            return Ok(());
        }
        let reasons: String = [
            (stats.invalid, "invalid"),
            (stats.unsupported, "unsupported rules"),
            (stats.ip_literals, "IP literals"),
            (stats.paths, "URLs with a path"),
            (stats.ignored, "ignored"),
        ]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!(", {n} {what}"))
        .collect();
        Err(Error::EmptySource {
            source_name: source.name.clone(),
            list: shown_list.map(str::to_string),
            path: file.to_path_buf(),
            lines: stats.lines,
            reasons,
        })
    }

    /// Adds a list held in memory, as a single-list source named `source`.
    pub fn add_text(
        &mut self,
        source: &str,
        format: Format,
        categories: &[String],
        text: &[u8],
        origin: &str,
    ) -> Result<()> {
        let source_idx = self.sources.len();
        self.sources.push(SourceInfo {
            name: source.to_string(),
            format: format.to_string(),
            origin: origin.to_string(),
            digest: format!("{:x}", Sha256::digest(text)),
            ..SourceInfo::default()
        });
        self.add_list(source_idx, source, format, categories, text, origin, false)
    }

    fn label(
        &mut self,
        source_idx: usize,
        list_idx: usize,
        allow: bool,
        categories: &[CategoryIdx],
    ) -> u32 {
        let source = &self.sources[source_idx];
        let list = &source.lists[list_idx];
        let label = Label {
            source: source.name.clone(),
            list: list.name.clone(),
            allow,
            categories: categories.to_vec(),
        };
        if let Some(i) = self.labels.iter().position(|l| *l == label) {
            return i as u32;
        }
        self.labels.push(label);
        self.label_home.push((source_idx, list_idx));
        (self.labels.len() - 1) as u32
    }

    #[allow(clippy::too_many_arguments)]
    fn add_list(
        &mut self,
        source_idx: usize,
        list: &str,
        format: Format,
        categories: &[String],
        buf: &[u8],
        origin: &str,
        paths_only: bool,
    ) -> Result<()> {
        let mut cats = Vec::with_capacity(categories.len());
        for c in categories {
            cats.push(self.taxonomy.get(c).ok_or_else(|| Error::Manifest {
                manifest: origin.into(),
                source_name: self.sources[source_idx].name.clone(),
                problem: format!("unknown category `{c}`"),
            })?);
        }
        let lists = &mut self.sources[source_idx].lists;
        let list_idx = match lists.iter().position(|l| l.name == list) {
            Some(i) => i,
            None => {
                lists.push(ListStats {
                    name: list.to_string(),
                    categories: categories.to_vec(),
                    ..ListStats::default()
                });
                lists.len() - 1
            }
        };
        let block = self.label(source_idx, list_idx, false, &cats);
        let allow = self.label(source_idx, list_idx, true, &cats);
        let mut stats = std::mem::take(&mut self.sources[source_idx].lists[list_idx]);
        let mut kept_warnings = 0;
        let mut warn = |this: &mut Self, line_no: usize, entry: &str, reason: &str| {
            this.warning_count += 1;
            if kept_warnings < WARNINGS_KEPT_PER_LIST {
                kept_warnings += 1;
                let entry: String = entry.chars().take(80).collect();
                this.warnings.push(Warning {
                    location: format!("{origin}:{line_no}"),
                    entry,
                    reason: reason.to_string(),
                });
            }
        };
        let mut state = LineState::default();
        let mut items = Vec::new();
        for (line_no, line) in read::lines(buf) {
            stats.lines += 1;
            let line = match line {
                Ok(l) => l,
                Err(reason) => {
                    stats.invalid += 1;
                    warn(self, line_no, "", reason);
                    continue;
                }
            };
            items.clear();
            parse_line(format, line, &mut state, &mut |i| items.push(i));
            for item in &items {
                let (name, label) = match *item {
                    Item::Block(n) if paths_only && n.contains('/') => {
                        stats.paths += 1;
                        continue;
                    }
                    Item::Block(n) => (n, block),
                    Item::Allow(n) => (n, allow),
                    Item::Path(p) => {
                        stats.paths += 1;
                        if !paths_only {
                            self.path_count += 1;
                            if stats.paths <= 5 {
                                self.path_entries.push(format!("{origin}:{line_no} {p:?}"));
                            }
                        }
                        continue;
                    }
                    Item::Unsupported(reason) => {
                        stats.unsupported += 1;
                        warn(self, line_no, line, reason);
                        continue;
                    }
                    Item::Ignored => {
                        stats.ignored += 1;
                        continue;
                    }
                };
                match normalize_fast(name) {
                    Ok(n) => {
                        self.push(&n, label, origin)?;
                        if label == allow {
                            stats.allows += 1
                        } else {
                            stats.kept += 1
                        }
                    }
                    Err(NameError::Ipv4Literal | NameError::Ipv6Literal) => stats.ip_literals += 1,
                    Err(e) => {
                        stats.invalid += 1;
                        warn(self, line_no, name, &e.to_string());
                    }
                }
            }
        }
        if paths_only && stats.paths > 0 {
            self.notices.push(format!(
                "{origin}: {} URL entries with a path cannot be enforced by DNS and were not used (their hosts were not blocked)",
                stats.paths
            ));
        }
        self.sources[source_idx].lists[list_idx] = stats;
        Ok(())
    }

    fn push(&mut self, name: &str, label: u32, origin: &str) -> Result<()> {
        let off = u32::try_from(self.keys.len()).map_err(|_| Error::BadIndex {
            path: origin.into(),
            problem: "more than 4 GiB of names; split the sources".into(),
        })?;
        reversed_key(name, &mut self.keys);
        let len = (self.keys.len() - off as usize) as u8; // ≤ 253, checked by normalize
        self.entries.push(Entry { off, len, label });
        Ok(())
    }

    /// Sorts, resolves inheritance and builds the index file.
    ///
    /// A listed name covers its subdomains, so a name's label set is its own labels plus those
    /// of every listed parent (`www.example.com` listed by one source keeps `example.com`'s
    /// categories from another). An allow entry removes the same source's blocks inherited
    /// from above; a block entry removes the same source's inherited allows.
    ///
    /// A name whose label set is its listed parent's is folded into the parent: not stored,
    /// since its lookups find the parent with the same labels (a fifth of the real lists'
    /// names, 6% of the FST). A lookup then reports the parent as the listed suffix, unless
    /// [`keep_covered`](Compiler::keep_covered) was asked for.
    pub fn finish(mut self, progress: &mut dyn FnMut(Progress<'_>)) -> Result<Compiled> {
        progress(Progress::Building);
        let mut entries = std::mem::take(&mut self.entries);
        let keys = std::mem::take(&mut self.keys);
        let key_of = |e: Entry| &keys[e.off as usize..e.off as usize + usize::from(e.len)];
        entries.sort_unstable_by(|a, b| key_of(*a).cmp(key_of(*b)).then(a.label.cmp(&b.label)));

        let mut builder = fst::MapBuilder::memory();
        let mut sets: Vec<Vec<u32>> = Vec::new();
        let mut set_ids: HashMap<Box<[u32]>, u32> = HashMap::new();
        let mut set_names: Vec<u64> = Vec::new();
        // Keys on the current path, each a byte prefix of the next, with their effective set.
        let mut stack: Vec<(Entry, u32)> = Vec::new();
        let mut own: Vec<u32> = Vec::new();
        let mut effective: Vec<u32> = Vec::new();
        let (mut names, mut folded) = (0u64, 0u64);
        let mut i = 0;
        while i < entries.len() {
            let first = entries[i];
            let key = key_of(first);
            own.clear();
            while i < entries.len() && key_of(entries[i]) == key {
                let label = entries[i].label;
                if own.last() == Some(&label) {
                    let (s, l) = self.label_home[label as usize];
                    self.sources[s].lists[l].duplicates += 1;
                } else {
                    own.push(label);
                }
                i += 1;
            }
            while stack
                .last()
                .is_some_and(|(e, _)| !key.starts_with(key_of(*e)))
            {
                stack.pop();
            }
            let parent = stack
                .iter()
                .rev()
                .find(|(e, _)| key.get(usize::from(e.len)) == Some(&b'.'))
                .map(|&(_, set)| set);
            effective.clear();
            if let Some(parent) = parent {
                let labels = &self.labels;
                let overrides = |l: u32| {
                    let inherited = &labels[l as usize];
                    own.iter().any(|&o| {
                        labels[o as usize].source == inherited.source
                            && labels[o as usize].allow != inherited.allow
                    })
                };
                effective.extend(
                    sets[parent as usize]
                        .iter()
                        .copied()
                        .filter(|&l| !overrides(l)),
                );
            }
            effective.extend_from_slice(&own);
            effective.sort_unstable();
            effective.dedup();
            let set = match set_ids.get(effective.as_slice()) {
                Some(&id) => id,
                None => {
                    let id = sets.len() as u32;
                    sets.push(effective.clone());
                    set_names.push(0);
                    set_ids.insert(effective.clone().into_boxed_slice(), id);
                    id
                }
            };
            set_names[set as usize] += 1;
            if parent == Some(set) && !self.keep_covered {
                // Its lookups find the parent, with the same labels: nothing to store.
                folded += 1;
                continue;
            }
            builder.insert(key, u64::from(set))?;
            names += 1;
            stack.push((first, set));
        }
        drop(entries);
        let fst = builder.into_inner()?;
        let version = {
            let mut h = xxhash_rust::xxh3::Xxh3::new();
            h.update(&fst);
            h.update(&serde_json::to_vec(&(&self.labels, &sets)).unwrap_or_default());
            format!("{:012x}", h.digest() >> 16)
        };
        let meta = IndexMeta {
            version,
            built_at: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            built_by: format!("hedge {}", env!("CARGO_PKG_VERSION")),
            taxonomy_hash: format!("{:016x}", self.taxonomy.hash()),
            names,
            folded,
            sources: self.sources,
            categories: self.taxonomy.defs().to_vec(),
            labels: self.labels,
            sets,
            set_names,
        };
        let bytes = encode(&meta, &fst)?;
        if let Some(notice) = paths_notice(&self.path_entries, self.path_count) {
            self.notices.push(notice);
        }
        Ok(Compiled {
            bytes,
            meta,
            warnings: self.warnings,
            warning_count: self.warning_count,
            notices: self.notices,
        })
    }
}

/// One notice for every entry skipped for its path (DNS never sees a path), naming those in
/// `shown` and counting the rest.
fn paths_notice(shown: &[String], count: u64) -> Option<String> {
    if count == 0 {
        return None;
    }
    let (have, they_were) = if count == 1 {
        ("has", "it was")
    } else {
        ("have", "they were")
    };
    let more = match count - shown.len() as u64 {
        0 => String::new(),
        n => format!(" and {n} more"),
    };
    Some(format!(
        "{} {have} a path, which DNS cannot see (it sees only the host), so {they_were} not listed: {}{more}; to block one, list its whole host",
        counted(count, "entry"),
        shown.join(", "),
    ))
}

/// [`normalize`] without an allocation for the common case: already lower-case valid ASCII.
pub(crate) fn normalize_fast(entry: &str) -> Result<Cow<'_, str>, NameError> {
    let trimmed = entry.trim();
    let plain = trimmed.bytes().all(|b| {
        b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_' || b == b'.'
    });
    if plain && !trimmed.ends_with('.') && !trimmed.starts_with('.') && !trimmed.contains("..") {
        let last = trimmed.rsplit('.').next().unwrap_or("");
        let looks_ip = last.bytes().all(|b| b.is_ascii_digit());
        if !looks_ip
            && trimmed.len() <= crate::name::MAX_NAME_LEN
            && trimmed.contains('.')
            && trimmed
                .split('.')
                .all(|l| l.len() <= crate::name::MAX_LABEL_LEN)
        {
            return Ok(Cow::Borrowed(trimmed));
        }
    }
    normalize(trimmed).map(Cow::Owned)
}

/// The sub-lists of a directory source, sorted by name: `(list name, file)`.
fn directory_lists(format: Format, dir: &Path) -> Result<Vec<(String, std::path::PathBuf)>> {
    let read_dir = |d: &Path| std::fs::read_dir(d).map_err(|e| Error::io(d, e));
    let mut out = Vec::new();
    for entry in read_dir(dir)? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if format == Format::Ut1 {
            if !path.is_dir() {
                continue;
            }
            for file in read_dir(&path)? {
                let file = file.map_err(|e| Error::io(&path, e))?.path();
                let f = file
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let stem = f.split('.').next().unwrap_or("");
                if stem == "domains" || stem == "urls" {
                    out.push((name.clone(), file));
                }
            }
        } else if path.is_file()
            && !name.starts_with('.')
            && !name.ends_with(".md")
            && !name.ends_with(".tsv")
            && name != "LICENSE"
        {
            let stem = name.split('.').next().unwrap_or(&name).to_string();
            out.push((stem, path));
        }
    }
    out.sort();
    Ok(out)
}
