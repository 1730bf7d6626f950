//! `hedge lists update`: download every source with a `url`, compile as `lists compile` does,
//! and replace the index only when something changed and the compile succeeded.

mod cache;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use hedge_fetch::{Client, Fetched, Limits, Progress, Request, UnpackLimits};
use hedge_lists::{LIST_PLACEHOLDER, Manifest, SourceSpec};
use indicatif::ProgressBar;
use sha2::{Digest, Sha256};

use self::cache::{Cache, FileState, State, link_or_copy};
use super::lists::{Written, check_out_folder, compile_manifest, load_manifest, progress_bar};
use super::lists_history;
use crate::cli::{UpdateArgs, UsageError};
use crate::output::thousands;

pub fn run(args: UpdateArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let out = args.compile.out.clone();
    check_out_folder(&out).map_err(|e| anyhow::Error::new(UsageError(e)))?;
    let (taxonomy, manifest) = load_manifest(&args.compile)?;
    let cache_dir = args.cache.clone().unwrap_or_else(|| {
        out.parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .join("lists-cache")
    });
    let client = client(&args)?;
    let cache = Cache::open(&cache_dir)?;
    let mut state = cache.load_state();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;

    let mut fresh: Vec<(&str, Vec<(String, FileState)>)> = Vec::new();
    let mut failed = Vec::new();
    for spec in manifest.sources.iter().filter(|s| s.url.is_some()) {
        let result = runtime.block_on(download_source(&client, &cache, &state, spec, &args));
        match result {
            Ok(Downloaded::Current) => {
                println!("{}: not modified, the cached copy is current", spec.name);
            }
            Ok(Downloaded::New { files, bytes, note }) => {
                println!("{}: downloaded {} bytes{note}", spec.name, thousands(bytes));
                fresh.push((&spec.name, files));
            }
            Err(e) => {
                println!("{}: failed: {e:#}", spec.name);
                failed.push((spec.name.as_str(), e));
            }
        }
    }
    if !failed.is_empty() {
        cache.roll_back()?;
        let reasons: String = failed
            .iter()
            .map(|(name, e)| format!("\n  {name}: {e:#}"))
            .collect();
        anyhow::bail!(
            "{} of {} downloads failed; {} and the cached copies are unchanged:{reasons}",
            failed.len(),
            manifest.sources.iter().filter(|s| s.url.is_some()).count(),
            out.display()
        );
    }

    let inputs = inputs_digest(&args, &manifest)?;
    if fresh.is_empty() && out.exists() && state.inputs.as_deref() == Some(inputs.as_str()) {
        cache.commit()?;
        println!(
            "unchanged: no source changed upstream; {} stays as it is",
            out.display()
        );
        return Ok(ExitCode::SUCCESS);
    }

    let new_sources: Vec<&str> = fresh.iter().map(|(name, _)| *name).collect();
    cache.swap_in(&new_sources)?;
    let local = local_manifest(&manifest, &cache)?;
    let files = provenance(&manifest, &state, &fresh);
    let written = match compile_manifest(&args.compile, &taxonomy, &local, &files, started) {
        Ok(written) => written,
        Err(e) => {
            cache.roll_back()?;
            return Err(e.context(format!(
                "the compile failed; {} and the cached copies are unchanged",
                out.display()
            )));
        }
    };
    for (_, files) in fresh {
        state.files.extend(files);
    }
    state.inputs = Some(inputs);
    cache.save_state(&state)?;
    cache.commit()?;
    print_changes(&out, &written);
    Ok(ExitCode::SUCCESS)
}

fn client(args: &UpdateArgs) -> anyhow::Result<Client> {
    let limits = Limits {
        connect: Duration::from_secs(args.connect_timeout),
        stall: Duration::from_secs(args.stall_timeout),
        total: Duration::from_secs(args.timeout),
        retries: args.retries,
        backoff: Duration::from_secs(2),
    };
    let roots = match &args.ca_cert {
        Some(path) => {
            vec![std::fs::read(path).with_context(|| format!("--ca-cert {}", path.display()))?]
        }
        None => Vec::new(),
    };
    Ok(Client::new(limits, &roots)?)
}

/// What one source's downloads gave.
enum Downloaded {
    /// Every file answered 304 and the cached copy is there.
    Current,
    /// A complete new copy is staged.
    New {
        files: Vec<(String, FileState)>,
        bytes: u64,
        note: String,
    },
}

/// How a source is laid out in the cache, from its `url` and format.
enum Layout {
    /// One list file, cached as `<source>/list`.
    File,
    /// A `.tar.gz` unpacked into `<source>/` (UT1).
    Archive,
    /// One file per mapped list, `url` with `{list}`, cached as `<source>/<list>`.
    PerList,
}

fn layout(spec: &SourceSpec) -> Layout {
    if spec.format.is_directory() {
        Layout::Archive
    } else if spec.is_list_per_file() {
        Layout::PerList
    } else {
        Layout::File
    }
}

/// The files of a source with a `url`: (name in the cache, URL).
fn source_files(spec: &SourceSpec) -> Vec<(String, String)> {
    let url = spec.url.as_deref().unwrap_or_default();
    match layout(spec) {
        Layout::File => vec![("list".into(), url.to_string())],
        Layout::Archive => vec![("archive".into(), url.to_string())],
        Layout::PerList => spec
            .categories
            .iter()
            .flat_map(|m| m.keys())
            .map(|list| (list.clone(), url.replace(LIST_PLACEHOLDER, list)))
            .collect(),
    }
}

/// What each source is compiled from, for the history: each download's URL with its ETag,
/// Last-Modified and digest (this run's, or the cached copy's), and local files' times.
fn provenance(
    manifest: &Manifest,
    state: &State,
    fresh: &[(&str, Vec<(String, FileState)>)],
) -> lists_history::Provenance {
    let downloaded: std::collections::HashMap<&str, &FileState> = state
        .files
        .iter()
        .chain(
            fresh
                .iter()
                .flat_map(|(_, files)| files.iter().map(|(u, f)| (u, f))),
        )
        .map(|(url, file)| (url.as_str(), file))
        .collect();
    let mut out = lists_history::local_files(manifest);
    for spec in manifest.sources.iter().filter(|s| s.url.is_some()) {
        let files = source_files(spec)
            .into_iter()
            .map(|(_, url)| {
                let known = downloaded.get(url.as_str());
                lists_history::FileVersion {
                    etag: known.and_then(|f| f.validators.etag.clone()),
                    last_modified: known.and_then(|f| f.validators.last_modified.clone()),
                    sha256: known.map(|f| f.sha256.clone()),
                    location: url,
                    modified: None,
                }
            })
            .collect();
        out.insert(spec.name.clone(), files);
    }
    out
}

async fn download_source(
    client: &Client,
    cache: &Cache,
    state: &State,
    spec: &SourceSpec,
    args: &UpdateArgs,
) -> anyhow::Result<Downloaded> {
    let url = spec.url.as_deref().unwrap_or_default();
    let current = cache.current(&spec.name);
    let files = source_files(spec);
    let staging = cache.staging(&spec.name)?;
    let max_bytes = spec.max_size.unwrap_or(args.max_size);
    let mut new_files = Vec::new();
    let mut bytes = 0;
    let mut unchanged = Vec::new();
    for (file, url) in &files {
        // Without the copy it validated, a 304 would leave nothing to compile.
        let cached = match layout(spec) {
            Layout::Archive => current.join("unpacked"),
            Layout::File | Layout::PerList => current.join(file),
        };
        let previous = state.files.get(url).filter(|_| cached.exists());
        let dest = staging.join(file);
        let request = Request {
            url,
            validators: previous.map(|p| &p.validators),
            max_bytes,
            sha256: spec.sha256.as_deref(),
        };
        let mut bar = Bar::new(&spec.name, file, files.len() > 1);
        let fetched = client.fetch(&request, &dest, &mut |p| bar.on(p)).await;
        bar.done();
        match fetched? {
            Fetched::NotModified => unchanged.push(file.clone()),
            Fetched::Downloaded {
                bytes: n,
                sha256,
                validators,
            } => {
                bytes += n;
                new_files.push((
                    url.clone(),
                    FileState {
                        validators,
                        sha256,
                        bytes: n,
                    },
                ));
            }
        }
    }
    if new_files.is_empty() {
        return Ok(Downloaded::Current);
    }
    let mut note = String::new();
    match layout(spec) {
        Layout::Archive => {
            let archive = staging.join("archive");
            let unpacked = staging.join("unpacked");
            let limits = UnpackLimits {
                max_member: args.max_size,
                max_total: args.max_unpacked,
                ..UnpackLimits::default()
            };
            let done = hedge_fetch::unpack_tar_gz(&archive, &unpacked, limits)
                .with_context(|| format!("unpacking {url}"))?;
            std::fs::remove_file(&archive).ok();
            note = format!(
                ", unpacked {} files ({} bytes)",
                thousands(done.files),
                thousands(done.bytes)
            );
            if !done.skipped_links.is_empty() {
                note += &format!(
                    ", skipped {} links ({})",
                    done.skipped_links.len(),
                    done.skipped_links.join(", ")
                );
            }
        }
        Layout::PerList => {
            for file in &unchanged {
                link_or_copy(&current.join(file), &staging.join(file))?;
            }
            note = format!(" in {} of {} lists", new_files.len(), files.len());
            if !unchanged.is_empty() {
                note += &format!(" ({} not modified)", unchanged.len());
            }
        }
        Layout::File => {}
    }
    Ok(Downloaded::New {
        files: new_files,
        bytes,
        note,
    })
}

/// The manifest with every downloaded source pointed at its cached copy (`path` is not read
/// for them: `url` wins in `lists update`).
fn local_manifest(manifest: &Manifest, cache: &Cache) -> anyhow::Result<Manifest> {
    let mut local = manifest.clone();
    for spec in local.sources.iter_mut().filter(|s| s.url.is_some()) {
        let dir = cache.current(&spec.name);
        spec.path = Some(match layout(spec) {
            Layout::File => dir.join("list"),
            Layout::PerList => dir,
            Layout::Archive => archive_root(&dir.join("unpacked"))?,
        });
    }
    Ok(local)
}

/// The folder of an unpacked archive that holds its lists: UT1 wraps them in `blacklists/`.
fn archive_root(dir: &Path) -> anyhow::Result<PathBuf> {
    let entries: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(Result::ok)
        .collect();
    match entries.as_slice() {
        [only] if only.path().is_dir() => Ok(only.path()),
        _ => Ok(dir.to_path_buf()),
    }
}

/// A digest of what else decides the index: the manifest, the taxonomy, the compile options
/// and the local sources (size and time of each file). A change recompiles even when every
/// download is current.
fn inputs_digest(args: &UpdateArgs, manifest: &Manifest) -> anyhow::Result<String> {
    let mut hasher = Sha256::new();
    let read = |p: &Path| std::fs::read(p).with_context(|| format!("cannot read {}", p.display()));
    hasher.update(read(&args.compile.sources)?);
    if let Some(taxonomy) = &args.compile.taxonomy {
        hasher.update(read(taxonomy)?);
    }
    hasher.update([u8::from(args.compile.keep_covered)]);
    for spec in manifest.sources.iter().filter(|s| s.url.is_none()) {
        if let Some(path) = &spec.path {
            hash_tree(&mut hasher, path, 2);
        }
    }
    Ok(format!("{:x}", hasher.finalize()))
}

fn hash_tree(hasher: &mut Sha256, path: &Path, depth: u32) {
    hasher.update(path.as_os_str().as_encoded_bytes());
    let Ok(meta) = path.metadata() else { return };
    hasher.update(meta.len().to_le_bytes());
    if let Ok(modified) = meta.modified()
        && let Ok(since) = modified.duration_since(std::time::UNIX_EPOCH)
    {
        hasher.update(since.as_nanos().to_le_bytes());
    }
    if meta.is_dir() && depth > 0 {
        let mut children: Vec<PathBuf> = std::fs::read_dir(path)
            .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        children.sort();
        for child in children {
            hash_tree(hasher, &child, depth - 1);
        }
    }
}

/// "updated", then each source's names against the index it replaced.
fn print_changes(out: &Path, written: &Written) {
    let names =
        |s: &hedge_lists::SourceInfo| -> u64 { s.lists.iter().map(|l| l.kept + l.allows).sum() };
    match &written.previous {
        Some(old) => println!(
            "updated {}: version {} → {}",
            out.display(),
            old.version(),
            written.meta.version
        ),
        None => println!(
            "updated {}: version {} (no index before)",
            out.display(),
            written.meta.version
        ),
    }
    for source in &written.meta.sources {
        let now = names(source);
        let before = written
            .previous
            .as_ref()
            .and_then(|old| old.meta().sources.iter().find(|s| s.name == source.name))
            .map(names);
        let change = match before {
            Some(b) if b == now => "unchanged".to_string(),
            Some(b) => format!(
                "{}{} (was {})",
                if now > b { "+" } else { "-" },
                thousands(now.abs_diff(b)),
                thousands(b)
            ),
            None => "new".to_string(),
        };
        println!(
            "  {}: {}, {change}",
            source.name,
            hedge_lists::counted(now, "name")
        );
    }
}

/// A progress bar for one download on a terminal; nothing otherwise (one line per source
/// is printed when it is done, and retries are reported on stderr either way).
struct Bar {
    bar: ProgressBar,
    label: String,
}

impl Bar {
    fn new(source: &str, file: &str, several: bool) -> Bar {
        let label = if several {
            format!("{source}/{file}")
        } else {
            source.to_string()
        };
        let bar = progress_bar();
        bar.set_message(label.clone());
        Bar { bar, label }
    }

    fn on(&mut self, progress: Progress<'_>) {
        match progress {
            Progress::Started { total } => {
                self.bar.set_position(0);
                self.bar.set_length(total.unwrap_or(0));
            }
            Progress::Bytes(n) => self.bar.inc(n),
            Progress::Retrying { error, delay } => {
                self.bar.suspend(|| {
                    eprintln!("{}: {error}; retrying in {} s", self.label, delay.as_secs());
                });
            }
        }
    }

    fn done(&self) {
        self.bar.finish_and_clear();
    }
}
