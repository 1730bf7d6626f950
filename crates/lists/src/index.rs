//! The index file: layout, atomic writing, loading into memory with verification, and lookup.
//!
//! ```text
//! offset  size  field
//! 0       8     magic "HEDGEIDX"
//! 8       4     format version (u32 LE)
//! 12      4     reserved, 0
//! 16      8     metadata length M (u64 LE)
//! 24      8     FST length F (u64 LE)
//! 32      M     metadata: JSON (build time, taxonomy, sources with digests and counts,
//!               provenance labels, label sets)
//! ..      pad   zero bytes up to a multiple of 8
//! ..      F     fst::Map: reversed-label name (`com.example.www`) → label-set id
//! ..      8     xxh3-64 of every byte before it (u64 LE)
//! ..      8     magic "HEDGEEND"
//! ```

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use fst::raw::{CompiledAddr, Fst, Output};
use hashbrown::HashTable;
use serde::{Deserialize, Serialize};

use crate::taxonomy::{CategoryDef, CategoryIdx, Taxonomy};
use crate::walk::{Walk, cat};
use crate::{Error, Result};

/// First bytes of every index file.
pub const MAGIC: &[u8; 8] = b"HEDGEIDX";
const END_MAGIC: &[u8; 8] = b"HEDGEEND";
/// The format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;
const HEADER_LEN: usize = 32;
const TRAILER_LEN: usize = 16;

/// Identifies a distinct set of provenance labels; every listed name maps to one.
pub type LabelSetId = u32;

/// A provenance label: one list of one source, resolved to taxonomy categories.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Label {
    /// Source name (`ut1`).
    pub source: String,
    /// The source's own list name (`gambling`); the source name for single-list sources.
    pub list: String,
    /// An allow entry (adblock `@@`, RPZ `rpz-passthru.`): an exception, not a category.
    pub allow: bool,
    /// Taxonomy categories (indexes into the index's category table).
    pub categories: Vec<CategoryIdx>,
}

impl Label {
    /// `source/list`, as shown in lookups and EDE texts.
    pub fn path(&self) -> String {
        if self.list == self.source {
            self.source.clone()
        } else {
            format!("{}/{}", self.source, self.list)
        }
    }
}

/// Counts for one list of one source at compile time.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListStats {
    /// The list's name within its source.
    pub name: String,
    /// Taxonomy ids it feeds.
    pub categories: Vec<String>,
    /// Non-blank lines read.
    pub lines: u64,
    /// Names kept (before removing duplicates).
    pub kept: u64,
    /// Names this list gave more than once.
    pub duplicates: u64,
    /// Allow entries kept.
    pub allows: u64,
    /// Lines rejected with a warning.
    pub invalid: u64,
    /// IPv4/IPv6 literals skipped.
    pub ip_literals: u64,
    /// URLs with a path: DNS cannot enforce them.
    pub paths: u64,
    /// Rules of the format hedge cannot apply.
    pub unsupported: u64,
    /// Entries deliberately ignored (`localhost` in hosts files).
    pub ignored: u64,
}

/// What the index records about one source.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceInfo {
    /// Source name.
    pub name: String,
    /// Its format.
    pub format: String,
    /// Where it was read from.
    pub origin: String,
    /// SHA-256 of the raw bytes read (files in name order for a directory).
    pub digest: String,
    /// SPDX licence id, if given.
    #[serde(default)]
    pub licence: Option<String>,
    /// Attribution, if given.
    #[serde(default)]
    pub attribution: Option<String>,
    /// Per-list counts.
    pub lists: Vec<ListStats>,
}

/// The index's metadata block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexMeta {
    /// Content id, shown in EDE texts and reports (`3fa9c2e1b7d0`).
    pub version: String,
    /// Build time, seconds since the Unix epoch (UTC).
    pub built_at: u64,
    /// hedge version that built it.
    pub built_by: String,
    /// [`Taxonomy::hash`] in hex.
    pub taxonomy_hash: String,
    /// Distinct names in the FST.
    pub names: u64,
    /// Listed names not stored: each has its listed parent's label set, so a lookup finds
    /// the parent with the same result. `names + folded` names were listed.
    #[serde(default)]
    pub folded: u64,
    /// Sources compiled in.
    pub sources: Vec<SourceInfo>,
    /// The taxonomy the label categories index into.
    pub categories: Vec<CategoryDef>,
    /// Provenance labels.
    pub labels: Vec<Label>,
    /// Label sets: indexes into `labels`, sorted.
    pub sets: Vec<Vec<u32>>,
    /// Names mapped to each set.
    pub set_names: Vec<u64>,
}

impl IndexMeta {
    /// Number of listed names, folded ones included.
    pub fn listed(&self) -> u64 {
        self.names + self.folded
    }
}

/// The FST's byte range inside the index file's bytes, which the index owns: once loaded,
/// nothing done to the file on disk (truncated, overwritten in place, deleted) can reach
/// the running server. A mapping of the file could: a truncated mapped file is SIGBUS.
struct FstBytes {
    bytes: Vec<u8>,
    start: usize,
    end: usize,
}

impl AsRef<[u8]> for FstBytes {
    fn as_ref(&self) -> &[u8] {
        &self.bytes[self.start..self.end]
    }
}

/// A loaded, verified index. Cheap to share behind an `Arc`; lookups never allocate.
pub struct Index {
    meta: IndexMeta,
    taxonomy: Taxonomy,
    fst: Fst<FstBytes>,
    /// Where the walk stands after each top-level label; None when the index has too many.
    top_labels: Option<TopLabels>,
    /// Block categories of each label set, sorted (allow labels contribute none).
    set_categories: Vec<Box<[CategoryIdx]>>,
    path: PathBuf,
    file_len: u64,
}

/// The longest listed suffix of a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Match<'n> {
    /// The listed suffix, as it appears in the query (`example.com` for `www.Example.com`).
    pub suffix: &'n str,
    /// Its label set.
    pub set: LabelSetId,
}

impl std::fmt::Debug for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Index")
            .field("path", &self.path)
            .field("version", &self.meta.version)
            .field("names", &self.meta.names)
            .finish()
    }
}

impl Index {
    /// Reads an index file into memory and verifies it (magic, version, lengths, checksum,
    /// metadata, the FST's structure). The file is read once; the index never looks at it
    /// again. The FST's key count is checked by a walk over all names, not here: see
    /// [`Index::for_each_name`].
    pub fn open(path: &Path) -> Result<Index> {
        let bytes = read_whole(path).map_err(|e| Error::io(path, e))?;
        Index::verify(bytes, path)
    }

    /// Verifies and loads an index held in memory (the embedded starter index, tests).
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Index> {
        Index::verify(bytes, Path::new("<memory>"))
    }

    /// Checks every length against the buffer's size before using it, so no header, however
    /// hostile, makes it index out of bounds or allocate more than the file holds.
    fn verify(bytes: Vec<u8>, path: &Path) -> Result<Index> {
        let bad = |problem: &str| Error::BadIndex {
            path: path.to_path_buf(),
            problem: format!("{problem}; rebuild it with `hedge lists compile`"),
        };
        if bytes.len() < HEADER_LEN + TRAILER_LEN || &bytes[..8] != MAGIC {
            return Err(bad("not a hedge index file (no HEDGEIDX header)"));
        }
        let le64 = |at: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&bytes[at..at + 8]);
            u64::from_le_bytes(b)
        };
        let version = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
        if version != FORMAT_VERSION {
            return Err(bad(&format!(
                "index format version {version}, but this hedge reads version {FORMAT_VERSION}"
            )));
        }
        let Some(layout) = Layout::of(le64(16), le64(24), bytes.len()) else {
            return Err(bad(&format!(
                "file is {} bytes, which does not match its header (truncated or corrupted)",
                bytes.len()
            )));
        };
        let Layout {
            meta_end,
            fst_start,
            fst_end,
        } = layout;
        if &bytes[fst_end + 8..] != END_MAGIC {
            return Err(bad("trailer missing (truncated or corrupted)"));
        }
        if xxhash_rust::xxh3::xxh3_64(&bytes[..fst_end]) != le64(fst_end) {
            return Err(bad("checksum mismatch (the file is corrupted)"));
        }
        let meta: IndexMeta = serde_json::from_slice(&bytes[HEADER_LEN..meta_end])
            .map_err(|e| bad(&format!("metadata unreadable: {e}")))?;
        let taxonomy = Taxonomy::from_defs(meta.categories.clone(), "index metadata")
            .map_err(|e| bad(&e.to_string()))?;
        let mut set_categories = Vec::with_capacity(meta.sets.len());
        for set in &meta.sets {
            let mut cats = Vec::new();
            for &l in set {
                let label = meta
                    .labels
                    .get(l as usize)
                    .ok_or_else(|| bad("label set names a missing label"))?;
                if label
                    .categories
                    .iter()
                    .any(|&c| usize::from(c) >= taxonomy.len())
                {
                    return Err(bad("label names a missing category"));
                }
                if !label.allow {
                    cats.extend_from_slice(&label.categories);
                }
            }
            cats.sort_unstable();
            cats.dedup();
            set_categories.push(cats.into_boxed_slice());
        }
        if meta.set_names.len() != meta.sets.len() {
            return Err(bad("label-set counts do not match the label sets"));
        }
        let max_set = meta.sets.len().saturating_sub(1) as u64;
        crate::fst_check::check(&bytes[fst_start..fst_end], max_set)
            .map_err(|e| bad(&format!("name table damaged: {e}")))?;
        let file_len = bytes.len() as u64;
        let fst_bytes = FstBytes {
            bytes,
            start: fst_start,
            end: fst_end,
        };
        let fst = Fst::new(fst_bytes).map_err(|e| bad(&format!("name table unreadable: {e}")))?;
        if fst.len() as u64 != meta.names {
            return Err(bad("name count does not match the metadata"));
        }
        if meta.names.checked_add(meta.folded).is_none() {
            return Err(bad("name counts overflow (names + folded)"));
        }
        let top_labels = TopLabels::find(&fst, TOP_LABELS_MAX);
        Ok(Index {
            meta,
            taxonomy,
            fst,
            top_labels,
            set_categories,
            path: path.to_path_buf(),
            file_len,
        })
    }

    /// Finds the longest listed suffix of `name` (ASCII case-insensitive, one trailing dot
    /// allowed). `bet.com` listed never matches `alphabet.com`. No allocation.
    pub fn lookup<'n>(&self, name: &'n str) -> Option<Match<'n>> {
        let trimmed = name.strip_suffix('.').unwrap_or(name);
        let (set, start) = self.longest_suffix(trimmed.as_bytes())?;
        // `start` follows a '.' or is 0, so it is a char boundary.
        Some(Match {
            suffix: &trimmed[start..],
            set,
        })
    }

    /// The lookup core: one backward pass over the name's bytes, feeding the FST its labels
    /// from the TLD down and remembering the last final state at a label boundary. Returns
    /// the label set and where the listed suffix starts. Stops at an empty label.
    fn longest_suffix(&self, name: &[u8]) -> Option<(LabelSetId, usize)> {
        let fst = &self.fst;
        let mut node = fst.root();
        let mut out = Output::zero();
        let mut best = None;
        let mut end = name.len();
        loop {
            let start = name[..end]
                .iter()
                .rposition(|&b| b == b'.')
                .map_or(0, |dot| dot + 1);
            let label = &name[start..end];
            if label.is_empty() {
                break;
            }
            let top = self.top_labels.as_ref().filter(|_| end == name.len());
            if let Some(top) = top {
                // Start past the top-level label: its bytes go through the FST's widest nodes.
                let (addr, at) = top.get(label)?;
                node = fst.node(addr);
                out = at;
            } else {
                let separator = (end < name.len()).then_some(b'.');
                for b in separator
                    .into_iter()
                    .chain(label.iter().map(u8::to_ascii_lowercase))
                {
                    let Some(t) = node.find_input(b) else {
                        return self.label_set(best);
                    };
                    let t = node.transition(t);
                    out = cat(out, t.out);
                    node = fst.node(t.addr);
                }
            }
            if node.is_final() {
                best = Some((cat(out, node.final_output()).value(), start));
            }
            if start == 0 {
                break;
            }
            end = start - 1;
        }
        self.label_set(best)
    }

    /// Checks a label-set id from the FST: one beyond the table can only come from a
    /// corrupted file that passed the checksum.
    fn label_set(&self, found: Option<(u64, usize)>) -> Option<(LabelSetId, usize)> {
        let (set, start) = found?;
        let set = LabelSetId::try_from(set)
            .ok()
            .filter(|&s| (s as usize) < self.set_categories.len())?;
        Some((set, start))
    }

    /// Block categories of a label set (sorted; empty when only allow labels matched).
    pub fn categories(&self, set: LabelSetId) -> &[CategoryIdx] {
        self.set_categories.get(set as usize).map_or(&[], |c| c)
    }

    /// Provenance labels of a label set.
    pub fn labels(&self, set: LabelSetId) -> impl Iterator<Item = &Label> + '_ {
        self.meta
            .sets
            .get(set as usize)
            .into_iter()
            .flatten()
            .filter_map(|&l| self.meta.labels.get(l as usize))
    }

    /// The taxonomy stored in this index.
    pub fn taxonomy(&self) -> &Taxonomy {
        &self.taxonomy
    }

    /// Metadata: sources, counts, version.
    pub fn meta(&self) -> &IndexMeta {
        &self.meta
    }

    /// Content id shown in EDE texts.
    pub fn version(&self) -> &str {
        &self.meta.version
    }

    /// Where it was loaded from (`<memory>` for an in-memory index).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Size of the index file in bytes.
    pub fn file_len(&self) -> u64 {
        self.file_len
    }

    /// Number of listed names, folded ones included.
    pub fn len(&self) -> u64 {
        self.meta.listed()
    }

    /// True when no name is listed.
    pub fn is_empty(&self) -> bool {
        self.meta.names == 0
    }

    /// A walk over the names in key order, with their label-set ids, checking the name
    /// table as it goes (see [`crate::walk`]).
    pub(crate) fn walk(&self) -> Names<'_> {
        Names {
            walk: Walk::new(&self.fst, self.set_categories.len()),
            path: &self.path,
        }
    }

    /// Calls `f` with every listed name's key (`com.example`) and label set, in key order.
    /// The walk is the one reader that depends on the name table's key count, which loading
    /// does not check (see [`crate::walk`]): a table that holds more or fewer keys than it
    /// says, or an invalid key, stops it with an error naming the file.
    pub fn for_each_name(&self, mut f: impl FnMut(&[u8], LabelSetId)) -> Result<()> {
        let mut names = self.walk();
        while let Some((key, set)) = names.next()? {
            f(key, set);
        }
        Ok(())
    }
}

/// The walk of [`Index::walk`], with its errors naming the index file.
pub(crate) struct Names<'i> {
    walk: Walk<'i, FstBytes>,
    path: &'i Path,
}

impl Names<'_> {
    /// The next name's key and label set; None after the last.
    pub(crate) fn next(&mut self) -> Result<Option<(&[u8], LabelSetId)>> {
        let path = self.path;
        self.walk.next().map_err(|problem| Error::BadIndex {
            path: path.to_path_buf(),
            problem: format!(
                "name table damaged: {problem}; rebuild it with `hedge lists compile`"
            ),
        })
    }
}

/// Most top-level labels [`TopLabels`] keeps; an index with more walks from the root.
const TOP_LABELS_MAX: usize = 4096;

/// The FST's state after each top-level label it holds (`com`, `uk`, …, whatever ends
/// before the first `.` of a key), found once at load. A lookup starts there: the label's
/// bytes would otherwise go through the widest nodes of the FST, and a name under a
/// top-level label nobody lists ends with one probe.
struct TopLabels {
    table: HashTable<TopLabel>,
}

struct TopLabel {
    label: Box<[u8]>,
    addr: CompiledAddr,
    out: Output,
}

impl TopLabels {
    /// Walks every path from the root up to its first `.`; None past `max` labels or
    /// nodes (a list of single-label names, say), when lookups simply walk from the root.
    fn find<D: AsRef<[u8]>>(fst: &Fst<D>, max: usize) -> Option<TopLabels> {
        let mut table = HashTable::new();
        let mut visited = 0;
        let mut stack = vec![(fst.root().addr(), Output::zero(), Vec::new())];
        while let Some((addr, out, label)) = stack.pop() {
            let node = fst.node(addr);
            visited += 1;
            if visited > 16 * max || table.len() > max || label.len() > 63 {
                return None;
            }
            if !label.is_empty() && (node.is_final() || node.find_input(b'.').is_some()) {
                let label: Box<[u8]> = label.clone().into_boxed_slice();
                table.insert_unique(hash(&label), TopLabel { label, addr, out }, |t| {
                    hash(&t.label)
                });
            }
            for t in node.transitions().filter(|t| t.inp != b'.') {
                let mut next = label.clone();
                next.push(t.inp);
                stack.push((t.addr, cat(out, t.out), next));
            }
        }
        Some(TopLabels { table })
    }

    /// The state after `label` (any case), or None if no key starts with it.
    fn get(&self, label: &[u8]) -> Option<(CompiledAddr, Output)> {
        let mut buf = [0u8; 63];
        let lower = buf.get_mut(..label.len())?;
        for (l, b) in lower.iter_mut().zip(label) {
            *l = b.to_ascii_lowercase();
        }
        let t = self.table.find(hash(lower), |t| *t.label == *lower)?;
        Some((t.addr, t.out))
    }
}

/// The hash of a top-level label in [`TopLabels`].
fn hash(label: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(label)
}

/// Where the parts of an index file lie, from the header's two lengths.
#[derive(Debug, PartialEq, Eq)]
struct Layout {
    meta_end: usize,
    fst_start: usize,
    fst_end: usize,
}

impl Layout {
    /// None unless header, metadata, padding, FST and trailer add up to exactly `file_len`
    /// (every sum checked: a hostile length cannot overflow or point past the file).
    fn of(meta_len: u64, fst_len: u64, file_len: usize) -> Option<Layout> {
        let meta_end = HEADER_LEN.checked_add(usize::try_from(meta_len).ok()?)?;
        let fst_start = meta_end.checked_next_multiple_of(8)?;
        let fst_end = fst_start.checked_add(usize::try_from(fst_len).ok()?)?;
        (fst_end.checked_add(TRAILER_LEN)? == file_len).then_some(Layout {
            meta_end,
            fst_start,
            fst_end,
        })
    }
}

/// The whole file, read into a buffer of its own. The size the file has when opened is
/// only a hint: a file that grows or shrinks while it is read is caught by the checksum.
fn read_whole(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut file = File::open(path)?;
    let hint = file.metadata().map_or(0, |m| m.len());
    let mut bytes = Vec::with_capacity(usize::try_from(hint).unwrap_or(0));
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Lays out an index file from its parts.
pub(crate) fn encode(meta: &IndexMeta, fst: &[u8]) -> Result<Vec<u8>> {
    let meta_json = serde_json::to_vec(meta).map_err(|e| Error::BadIndex {
        path: "<new index>".into(),
        problem: e.to_string(),
    })?;
    let mut out = Vec::with_capacity(HEADER_LEN + meta_json.len() + fst.len() + TRAILER_LEN + 8);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&(meta_json.len() as u64).to_le_bytes());
    out.extend_from_slice(&(fst.len() as u64).to_le_bytes());
    out.extend_from_slice(&meta_json);
    out.resize(out.len().next_multiple_of(8), 0);
    out.extend_from_slice(fst);
    let sum = xxhash_rust::xxh3::xxh3_64(&out);
    out.extend_from_slice(&sum.to_le_bytes());
    out.extend_from_slice(END_MAGIC);
    Ok(out)
}

/// Writes `bytes` to `path` atomically: a temporary file beside it, fsync, rename, fsync of
/// the folder. A failure leaves the old file (if any) untouched and no temporary behind.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "index".into());
    let tmp = dir.join(format!(".{file_name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(path, e));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests fail loudly by design
mod tests {
    use super::*;
    use crate::{Compiler, Format, name_from_key};

    /// Found by the `index_load` fuzz target's review: a hostile file's name counts must
    /// not overflow when added (a panic in debug builds, a nonsense total in release).
    #[test]
    fn name_counts_that_overflow_are_refused() {
        let taxonomy = Taxonomy::builtin();
        let mut compiler = Compiler::new(&taxonomy);
        compiler
            .add_text("t", Format::Plain, &["gambling".into()], b"bet.com\n", "t")
            .unwrap();
        let compiled = compiler.finish(&mut |_| {}).unwrap();
        let fst = Index::from_bytes(compiled.bytes)
            .unwrap()
            .fst
            .as_bytes()
            .to_vec();
        let mut meta = compiled.meta;
        meta.folded = u64::MAX;
        let hostile = encode(&meta, &fst).unwrap();
        let err = Index::from_bytes(hostile).map(|i| i.len()).unwrap_err();
        assert!(err.to_string().contains("name counts"), "{err}");
    }

    /// The metadata of an index listing `bet.com` (one label set), to pair with a crafted
    /// name table.
    fn meta_of_one_name() -> IndexMeta {
        let taxonomy = Taxonomy::builtin();
        let mut compiler = Compiler::new(&taxonomy);
        compiler
            .add_text("t", Format::Plain, &["gambling".into()], b"bet.com\n", "t")
            .unwrap();
        compiler.finish(&mut |_| {}).unwrap().meta
    }

    /// Found by the `index_load` fuzz target's review: `fst` adds the outputs along a path
    /// with `+`, so a crafted name table whose outputs sum past u64::MAX made walking it
    /// (`for_each_name`, `lists diff`) panic in debug builds. Such a table is refused.
    #[test]
    fn outputs_that_overflow_are_refused() {
        let mut build = fst::MapBuilder::memory();
        build.insert("a", 1 << 63).unwrap();
        build.insert("ab", (1 << 63) + (1 << 62)).unwrap();
        let mut fst = build.into_inner().unwrap();
        // The transition `b` carries 1 << 62 (8 bytes, little-endian): make it 1 << 63, so
        // "ab" sums to 1 << 64.
        let at = fst
            .windows(8)
            .position(|w| w == (1u64 << 62).to_le_bytes())
            .unwrap();
        fst[at + 7] = 0x80;
        let mut meta = meta_of_one_name();
        meta.names = 2;
        meta.folded = 0;
        let hostile = encode(&meta, &fst).unwrap();
        let err = Index::from_bytes(hostile)
            .and_then(|index| index.for_each_name(|_, _| {}))
            .unwrap_err();
        assert!(
            err.to_string().contains("above the largest label-set id"),
            "{err}"
        );
    }

    /// An index whose name table is `keys` (with label set 0), its footer claiming `count`.
    fn index_of_keys(keys: &[&str], count: u8) -> Index {
        let mut keys = keys.to_vec();
        keys.sort_unstable();
        let mut build = fst::MapBuilder::memory();
        for key in keys {
            build.insert(key, 0).unwrap();
        }
        let mut fst = build.into_inner().unwrap();
        let count_at = fst.len() - 4 - 16;
        fst[count_at] = count;
        let mut meta = meta_of_one_name();
        meta.names = u64::from(count);
        meta.folded = 0;
        Index::from_bytes(encode(&meta, &fst).unwrap()).unwrap()
    }

    /// Every name the walk yields, or its error.
    fn walk_all(index: &Index) -> Result<Vec<String>> {
        let mut names = Vec::new();
        index.for_each_name(|key, _| names.push(name_from_key(key)))?;
        Ok(names)
    }

    /// Found by the `index_load` fuzz target: a name table whose footer claims more (or
    /// fewer) keys than its nodes hold loaded, so the index's name count was wrong, and a
    /// table with many paths through a few nodes could make a walk go on for ever. Loading
    /// no longer counts the keys (lookups do not depend on the count); the walk refuses
    /// such a table, and stops at the first key beyond the count.
    #[test]
    fn a_key_count_that_does_not_match_the_table_is_refused() {
        let fewer = index_of_keys(&["com.a", "com.b"], 3);
        let err = walk_all(&fewer).unwrap_err().to_string();
        assert!(err.contains("2 keys, but its footer says 3"), "{err}");
        assert!(err.starts_with("<memory>: name table damaged"), "{err}");
        let more = index_of_keys(&["com.a", "com.b", "com.c"], 1);
        let mut walked = 0;
        let err = more.for_each_name(|_, _| walked += 1).unwrap_err();
        assert!(
            err.to_string()
                .contains("more keys than the 1 its footer counts"),
            "{err}"
        );
        assert_eq!(
            walked, 1,
            "the walk stops at the first key beyond the count"
        );
        let right = index_of_keys(&["com.a", "com.b"], 2);
        assert_eq!(walk_all(&right).unwrap(), ["a.com", "b.com"]);
        assert!(walk_all(&index_of_keys(&[], 0)).unwrap().is_empty());
        let err = walk_all(&index_of_keys(&[], 1)).unwrap_err();
        assert!(
            err.to_string().contains("0 keys, but its footer says 1"),
            "{err}"
        );
    }

    /// A key a compile never writes (not a normalised name) stops the walk: `lists diff`
    /// and the change record would otherwise show names no list holds.
    #[test]
    fn a_key_that_is_not_a_domain_name_stops_the_walk() {
        for (bad, why) in [
            ("com..a", "empty label"),
            ("com.A", "not allowed"),
            ("com", "single label"),
        ] {
            let index = index_of_keys(&["com.a", bad], 2);
            let err = walk_all(&index).unwrap_err().to_string();
            assert!(err.contains(&format!("key `{bad}`")), "{bad}: {err}");
            assert!(err.contains(why), "{bad}: {err}");
        }
        let long = format!("com.{}", ["a"; 130].join("."));
        let err = walk_all(&index_of_keys(&[&long], 1)).unwrap_err();
        assert!(err.to_string().contains("longer than 253"), "{err}");
    }

    /// Lookups never depend on the key count: a table that lies about it still answers
    /// from what it holds, without a panic.
    #[test]
    fn lookups_in_a_table_with_a_wrong_key_count_answer_from_what_it_holds() {
        let index = index_of_keys(&["com.a", "com.b"], 200);
        assert_eq!(index.lookup("www.a.com").unwrap().suffix, "a.com");
        assert!(index.lookup("c.com").is_none());
    }
}
