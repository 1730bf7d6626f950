//! The history of indexes: `lists compile` and `lists update` keep a copy of each new index
//! in `history/` beside it, with a record of where it came from, so that an FOI answer about
//! a past month can name the lists it was given and `hedge lists diff` can compare any two.
//!
//! ```text
//! <out dir>/history/<version>.hidx   the index, as written to --out
//! <out dir>/history/<version>.json   its record: date, sources and their versions, counts
//! ```
//!
//! The newest `--keep-history` records (by compile time) are kept, with their indexes. Keeping
//! history never fails a compile: the index at --out is already in place when it runs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::SystemTime;

use anyhow::Context;
use hedge_lists::{Index, Manifest, write_atomic};
use serde::{Deserialize, Serialize};

use crate::output::{self, Format, Rows, thousands};

/// One downloaded or local file a source was compiled from, and its version as known.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileVersion {
    /// The URL it was downloaded from, or the local path read.
    pub location: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
    /// SHA-256 of the download.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// A local file's modification time (the newest file's, for a folder).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<String>,
}

/// Source name → the files it was compiled from.
pub type Provenance = BTreeMap<String, Vec<FileVersion>>;

/// One source of a kept index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceVersion {
    pub name: String,
    /// SHA-256 of everything read for it (as `hedge lists verify` shows).
    pub sha256: String,
    #[serde(default)]
    pub files: Vec<FileVersion>,
}

/// `<version>.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub version: String,
    /// Compile time, UTC (`2026-01-31 02:00:00Z`).
    pub compiled: String,
    /// The same, seconds since the Unix epoch: the order of the history.
    pub built_at: u64,
    /// When the copy was kept, nanoseconds since the Unix epoch: the order of compiles in
    /// the same second.
    #[serde(default)]
    pub kept_ns: u64,
    /// Listed names (folded ones included).
    pub names: u64,
    pub sources: Vec<SourceVersion>,
    /// Names per category id (zero counts left out).
    pub categories: BTreeMap<String, u64>,
}

/// The history folder of the index at `out`.
pub fn folder_of(out: &Path) -> PathBuf {
    out.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .join("history")
}

/// The local files of every source with a `path`: their modification times.
pub fn local_files(manifest: &Manifest) -> Provenance {
    manifest
        .sources
        .iter()
        .filter_map(|s| {
            let path = s.path.as_ref()?;
            let file = FileVersion {
                location: path.display().to_string(),
                modified: newest_mtime(path, 2)
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map(|d| output::utc_time(d.as_secs())),
                ..FileVersion::default()
            };
            Some((s.name.clone(), vec![file]))
        })
        .collect()
}

fn newest_mtime(path: &Path, depth: u32) -> Option<SystemTime> {
    let meta = path.metadata().ok()?;
    let own = meta.modified().ok();
    if !meta.is_dir() || depth == 0 {
        return own;
    }
    let children = std::fs::read_dir(path).ok()?.filter_map(Result::ok);
    children
        .filter_map(|e| newest_mtime(&e.path(), depth - 1))
        .chain(own)
        .max()
}

/// Copies the index just written (`bytes`, opened as `index`) into the history folder with
/// its record, then deletes all but the newest `keep`. Each file is written atomically, the
/// index before its record, so a record always has its index.
pub fn keep(
    dir: &Path,
    bytes: &[u8],
    index: &Index,
    files: &Provenance,
    keep: usize,
) -> anyhow::Result<usize> {
    let meta = index.meta();
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let record = Record {
        version: meta.version.clone(),
        compiled: output::utc_time(meta.built_at),
        built_at: meta.built_at,
        kept_ns: SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)),
        names: meta.listed(),
        sources: meta
            .sources
            .iter()
            .map(|s| SourceVersion {
                name: s.name.clone(),
                sha256: s.digest.clone(),
                files: files.get(&s.name).cloned().unwrap_or_default(),
            })
            .collect(),
        categories: category_counts(index)
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .collect(),
    };
    write_atomic(&dir.join(format!("{}.hidx", record.version)), bytes)?;
    write_atomic(
        &dir.join(format!("{}.json", record.version)),
        &serde_json::to_vec_pretty(&record)?,
    )?;
    prune(dir, keep)
}

/// Deletes the records (and their indexes) older than the newest `keep`; the number deleted.
fn prune(dir: &Path, keep: usize) -> anyhow::Result<usize> {
    let records = read(dir)?;
    let mut deleted = 0;
    // The index beside its record file, by file name: never a path read from a record.
    for (path, _) in records.iter().skip(keep) {
        std::fs::remove_file(path.with_extension("hidx"))
            .or_else(|e| match e.kind() {
                std::io::ErrorKind::NotFound => Ok(()),
                _ => Err(e),
            })
            .with_context(|| format!("cannot delete the index of {}", path.display()))?;
        std::fs::remove_file(path).with_context(|| format!("cannot delete {}", path.display()))?;
        deleted += 1;
    }
    Ok(deleted)
}

/// Every readable record in `dir`, newest first. A record that cannot be read is reported
/// and left alone.
fn read(dir: &Path) -> anyhow::Result<Vec<(PathBuf, Record)>> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    let mut records = Vec::new();
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let parsed = std::fs::read(&path)
            .map_err(anyhow::Error::from)
            .and_then(|b| Ok(serde_json::from_slice::<Record>(&b)?));
        match parsed {
            Ok(record) => records.push((path, record)),
            Err(e) => eprintln!(
                "warning: {} is not a history record ({e}); it is left alone",
                path.display()
            ),
        }
    }
    records.sort_by(|(_, a), (_, b)| {
        (b.built_at, b.kept_ns, &b.version).cmp(&(a.built_at, a.kept_ns, &a.version))
    });
    Ok(records)
}

/// `hedge lists history`.
pub fn show(out: Option<&Path>, dir: Option<&Path>, format: Format) -> anyhow::Result<ExitCode> {
    let dir = match (dir, out) {
        (Some(d), _) => d.to_path_buf(),
        (None, Some(out)) => folder_of(out),
        (None, None) => crate::usage!("give --out FILE (the index) or --dir DIR (its history)"),
    };
    let records = if dir.is_dir() {
        read(&dir)?
    } else {
        Vec::new()
    };
    if records.is_empty() {
        eprintln!(
            "{}: no indexes kept. `hedge lists compile` and `hedge lists update` keep the \
             newest --keep-history (default 12) in history/ beside --out.",
            dir.display()
        );
        return Ok(ExitCode::FAILURE);
    }
    if format == Format::Json {
        let list: Vec<&Record> = records.iter().map(|(_, r)| r).collect();
        output::print(&output::json(&list))?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut rows = Rows::new(&[
        "version",
        "compiled",
        "names",
        "categories",
        "sources",
        "index",
    ]);
    for (path, r) in &records {
        let index = path.with_extension("hidx");
        rows.push(vec![
            r.version.clone(),
            r.compiled.clone(),
            output::count_cell(r.names, format),
            r.categories
                .iter()
                .map(|(id, n)| format!("{id} {}", thousands(*n)))
                .collect::<Vec<_>>()
                .join("; "),
            r.sources
                .iter()
                .map(source_text)
                .collect::<Vec<_>>()
                .join("; "),
            if index.exists() {
                index.display().to_string()
            } else {
                "(deleted)".into()
            },
        ]);
    }
    output::print(&rows.render(format))?;
    Ok(ExitCode::SUCCESS)
}

/// `ut1 sha256:3fa9c2e1b7d0, etag "abc", last-modified …` (one file), `…, 12 files` (several).
fn source_text(s: &SourceVersion) -> String {
    let digest = s.sha256.get(..12).unwrap_or(&s.sha256);
    let mut text = format!("{} sha256:{digest}", s.name);
    match s.files.as_slice() {
        [] => {}
        [f] => {
            for (key, value) in [
                ("etag", &f.etag),
                ("last-modified", &f.last_modified),
                ("modified", &f.modified),
            ] {
                if let Some(v) = value {
                    text += &format!(", {key} {v}");
                }
            }
        }
        many => text += &format!(", {} files", many.len()),
    }
    text
}

/// Names per category id of `index`, in taxonomy order (stored names: folded ones are not
/// counted, as `hedge lists stats` shows).
pub(super) fn category_counts(index: &Index) -> Vec<(String, u64)> {
    let taxonomy = index.taxonomy();
    let mut per_category = vec![0u64; taxonomy.len()];
    for (set, &n) in index.meta().set_names.iter().enumerate() {
        for &c in index.categories(set as u32) {
            per_category[usize::from(c)] += n;
        }
    }
    taxonomy
        .defs()
        .iter()
        .zip(per_category)
        .map(|(def, n)| (def.id.clone(), n))
        .collect()
}
