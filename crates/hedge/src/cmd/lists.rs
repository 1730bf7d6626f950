//! `hedge lists compile | verify | stats`.

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use hedge_lists::{Compiler, Index, Manifest, Progress, Taxonomy, counted, write_atomic};
use indicatif::{ProgressBar, ProgressStyle};

use super::lists_history;
use crate::cli::CompileArgs;
use crate::output::{self, Format, Rows, thousands};

pub fn compile(args: CompileArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    // Before minutes of work: the index must be writable where it goes.
    check_out_folder(&args.out).map_err(|e| anyhow::Error::new(crate::cli::UsageError(e)))?;
    let (taxonomy, manifest) = load_manifest(&args)?;
    let files = lists_history::local_files(&manifest);
    compile_manifest(&args, &taxonomy, &manifest, &files, started)?;
    Ok(ExitCode::SUCCESS)
}

/// The taxonomy and manifest `args` name; a bad one is a usage error.
pub(super) fn load_manifest(args: &CompileArgs) -> anyhow::Result<(Taxonomy, Manifest)> {
    let taxonomy = match &args.taxonomy {
        Some(path) => Taxonomy::load(path).map_err(usage)?,
        None => Taxonomy::builtin(),
    };
    let manifest = Manifest::load(&args.sources, &taxonomy).map_err(usage)?;
    Ok((taxonomy, manifest))
}

/// The index at --out before and after a compile.
pub(super) struct Written {
    pub previous: Option<Index>,
    pub meta: hedge_lists::IndexMeta,
}

/// Compiles `manifest` fail-closed (an empty source or a category shrunk past --max-shrink
/// is an error and --out is left as it was), writes --out atomically, records the changes
/// and keeps a copy in the history with `files` as the sources' versions.
pub(super) fn compile_manifest(
    args: &CompileArgs,
    taxonomy: &Taxonomy,
    manifest: &Manifest,
    files: &lists_history::Provenance,
    started: Instant,
) -> anyhow::Result<Written> {
    let bar = progress_bar();
    let mut on_progress = |p: Progress<'_>| match p {
        Progress::Source { name, bytes } => {
            bar.set_length(bytes);
            bar.set_position(0);
            bar.set_message(name.to_string());
        }
        Progress::Read(n) => bar.inc(n),
        Progress::Building => {
            bar.set_message("sorting and building the index");
            bar.set_length(0);
        }
    };
    let mut compiler = Compiler::new(taxonomy);
    compiler.keep_covered(args.keep_covered);
    compiler.add_manifest(manifest, &mut on_progress)?;
    let compiled = compiler.finish(&mut on_progress)?;
    bar.finish_and_clear();
    let previous = match args.out.exists().then(|| Index::open(&args.out)) {
        Some(Ok(index)) => Some(index),
        Some(Err(e)) => {
            eprintln!("warning: the index at --out cannot be read, so it is not compared: {e}");
            None
        }
        None => None,
    };

    let mut rows = Rows::new(&[
        "source/list",
        "categories",
        "lines",
        "names",
        "duplicates",
        "allows",
        "warnings",
        "IP literals",
        "paths",
        "unsupported",
    ]);
    for s in &compiled.meta.sources {
        for l in &s.lists {
            let label = if l.name == s.name {
                s.name.clone()
            } else {
                format!("{}/{}", s.name, l.name)
            };
            rows.push(vec![
                label,
                l.categories.join(", "),
                thousands(l.lines),
                thousands(l.kept),
                thousands(l.duplicates),
                thousands(l.allows),
                thousands(l.invalid),
                thousands(l.ip_literals),
                thousands(l.paths),
                thousands(l.unsupported),
            ]);
        }
    }
    eprint!("{}", rows.render(Format::Table));
    for notice in &compiled.notices {
        eprintln!("notice: {notice}");
    }
    for w in compiled.warnings.iter().take(args.show_warnings) {
        eprintln!("warning: {w}");
    }
    let shown = compiled.warnings.len().min(args.show_warnings) as u64;
    if compiled.warning_count > shown {
        eprintln!(
            "… and {} more warnings (use --show-warnings N to see more)",
            thousands(compiled.warning_count - shown)
        );
    }
    for s in &compiled.meta.sources {
        let names: u64 = s.lists.iter().map(|l| l.kept + l.allows).sum();
        eprintln!(
            "source {}: {} from {}",
            s.name,
            counted(names, "name"),
            s.origin
        );
    }
    if let Some(old) = &previous {
        check_shrink(args, old, &compiled.meta)?;
    }
    write_atomic(&args.out, &compiled.bytes)?;
    // The new index is in place: what follows is bookkeeping, and its failures are warnings.
    match Index::open(&args.out) {
        Ok(new) => {
            record_changes(args, previous.as_ref(), &new);
            keep_in_history(args, &compiled.bytes, &new, files);
        }
        Err(e) => eprintln!(
            "warning: the index just written cannot be read back, so its changes are not \
             recorded nor a copy kept: {e}"
        ),
    }
    let meta = &compiled.meta;
    let names = meta.listed().max(1);
    let folded = match meta.folded {
        0 => String::new(),
        n => format!(
            " ({} folded into a listed parent with the same labels)",
            thousands(n)
        ),
    };
    println!(
        "wrote {}: {}{folded}, {}, {} bytes ({:.1} bytes/name), version {}, in {:.2} s",
        args.out.display(),
        counted(names, "name"),
        counted(meta.sets.len() as u64, "label set"),
        thousands(compiled.bytes.len() as u64),
        compiled.bytes.len() as f64 / names as f64,
        meta.version,
        started.elapsed().as_secs_f64()
    );
    Ok(Written {
        previous,
        meta: compiled.meta,
    })
}

/// Fails when the output folder is missing or not writable: found after the compile, that
/// would throw its work away.
pub(super) fn check_out_folder(out: &Path) -> Result<(), String> {
    let dir = match out.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if out.is_dir() {
        return Err(format!(
            "--out {} is a folder; give the index file's path (e.g. {}/hedge.hidx)",
            out.display(),
            out.display()
        ));
    }
    if !dir.is_dir() {
        return Err(format!(
            "cannot write the index {}: folder {} does not exist; create it or choose another --out",
            out.display(),
            dir.display()
        ));
    }
    let file_name = out
        .file_name()
        .map_or_else(|| "index".into(), |n| n.to_string_lossy().into_owned());
    let probe = dir.join(format!(".{file_name}.{}.probe", std::process::id()));
    match std::fs::File::create(&probe) {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(e) => Err(format!(
            "cannot write the index {}: folder {}: {e}",
            out.display(),
            dir.display()
        )),
    }
}

/// Refuses a compile in which a category lost more than `--max-shrink` percent of the
/// names the index at --out gives it, unless `--allow-shrink`; the old index stays.
fn check_shrink(
    args: &CompileArgs,
    old: &Index,
    new: &hedge_lists::IndexMeta,
) -> anyhow::Result<()> {
    let shrunk = hedge_lists::shrunk(old.meta(), new, args.max_shrink);
    if shrunk.is_empty() {
        return Ok(());
    }
    let list: String = shrunk.iter().map(|s| format!("\n  {s}")).collect();
    let categories = match shrunk.len() {
        1 => "1 category".to_string(),
        n => format!("{n} categories"),
    };
    if args.allow_shrink {
        eprintln!(
            "warning: {categories} lost more than {}% of their names (--allow-shrink):{list}",
            args.max_shrink
        );
        return Ok(());
    }
    anyhow::bail!(
        "{categories} would lose more than {}% of the names they have in {} (version {}):{list}\n\
         The index was not replaced. Check those sources (an empty or truncated download?); \
         if the lists really shrank, run again with --allow-shrink",
        args.max_shrink,
        args.out.display(),
        old.version()
    )
}

/// Keeps a copy of the new index and its record in `history/` beside it (`--keep-history`);
/// a failure here is a warning, the new index stands.
fn keep_in_history(
    args: &CompileArgs,
    bytes: &[u8],
    new: &Index,
    files: &lists_history::Provenance,
) {
    if args.keep_history == 0 {
        return;
    }
    let dir = lists_history::folder_of(&args.out);
    match lists_history::keep(&dir, bytes, new, files, args.keep_history) {
        Ok(0) => eprintln!("kept a copy in {}", dir.display()),
        Ok(n) => eprintln!(
            "kept a copy in {}, deleted the {n} oldest beyond --keep-history {}",
            dir.display(),
            args.keep_history
        ),
        Err(e) => eprintln!(
            "warning: could not keep a copy of the index in {}: {e:#}; the new index is in place",
            dir.display()
        ),
    }
}

/// Records what changed against the previous index in the statistics store (the
/// recategorisation report); a failure here is a warning, the new index stands.
fn record_changes(args: &CompileArgs, previous: Option<&Index>, new: &Index) {
    let db = match &args.stats_db {
        Some(p) if p.as_os_str() == "-" => return,
        Some(p) => p.clone(),
        None => args
            .out
            .parent()
            .unwrap_or(Path::new("."))
            .join("hedge-stats.sqlite"),
    };
    let result = (|| -> anyhow::Result<usize> {
        let diff = match previous {
            Some(old) => hedge_lists::diff(old, new, hedge_stats::MAX_CHANGE_NAMES)?,
            None => hedge_lists::Diff::default(),
        };
        let change = to_store_change(previous.map(|o| o.version()).unwrap_or(""), new, &diff);
        let n = change.categories.len();
        let mut store = hedge_stats::SqliteStore::open(&db)?;
        hedge_stats::Store::record_list_change(&mut store, &change)?;
        Ok(n)
    })();
    match result {
        Ok(n) => eprintln!(
            "recorded changes in {n} categories against the previous index in {}",
            db.display()
        ),
        Err(e) => eprintln!(
            "warning: could not record list changes in {}: {e:#}",
            db.display()
        ),
    }
}

fn to_store_change(
    old_version: &str,
    new: &Index,
    diff: &hedge_lists::Diff,
) -> hedge_stats::ListChange {
    let compiled_at = jiff::Timestamp::from_second(new.meta().built_at as i64)
        .unwrap_or_else(|_| jiff::Timestamp::now());
    hedge_stats::ListChange {
        compiled_at,
        old_version: old_version.to_string(),
        new_version: new.version().to_string(),
        categories: diff
            .categories
            .iter()
            .map(|(id, d)| hedge_stats::CategoryChange {
                category: id.clone(),
                added: d.added,
                removed: d.removed,
                recategorised: d.recategorised,
                names: d
                    .names
                    .iter()
                    .map(|n| hedge_stats::NameChange {
                        name: n.name.clone(),
                        change: match n.change {
                            hedge_lists::Change::Added => hedge_stats::ChangeKind::Added,
                            hedge_lists::Change::Removed => hedge_stats::ChangeKind::Removed,
                            hedge_lists::Change::Recategorised => {
                                hedge_stats::ChangeKind::Recategorised
                            }
                        },
                        from_category: n.from.clone(),
                    })
                    .collect(),
            })
            .collect(),
    }
}

pub fn diff(
    old: &Path,
    new: &Path,
    category: Option<String>,
    names: usize,
    format: Format,
) -> anyhow::Result<ExitCode> {
    let (a, b) = (open(old)?, open(new)?);
    let d = hedge_lists::diff(&a, &b, names).context("cannot use the index")?;
    let mut summary = Rows::new(&["category", "added", "removed", "recategorised"]);
    let mut detail = Rows::new(&["category", "name", "change", "from"]);
    for (id, c) in &d.categories {
        if category
            .as_ref()
            .is_some_and(|want| id != want && !id.starts_with(&format!("{want}/")))
        {
            continue;
        }
        summary.push(vec![
            id.clone(),
            c.added.to_string(),
            c.removed.to_string(),
            c.recategorised.to_string(),
        ]);
        for n in &c.names {
            detail.push(vec![
                id.clone(),
                n.name.clone(),
                n.change.as_str().into(),
                n.from.clone().unwrap_or_default(),
            ]);
        }
    }
    println!(
        "{} ({}) → {} ({})",
        old.display(),
        a.version(),
        new.display(),
        b.version()
    );
    output::print(&summary.render(format))?;
    if names > 0 && !detail.rows.is_empty() {
        output::print(&detail.render(format))?;
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn progress_bar() -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} {msg:24} [{bar:30}] {bytes}/{total_bytes} {elapsed}",
        )
        .expect("a valid template")
        .progress_chars("=> "),
    );
    bar
}

fn usage(e: hedge_lists::Error) -> anyhow::Error {
    anyhow::Error::new(crate::cli::UsageError(e.to_string()))
}

pub fn open(path: &Path) -> anyhow::Result<Index> {
    Index::open(path).with_context(|| "cannot use the index")
}

pub fn verify(path: &Path) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let index = open(path)?;
    // Loading checks what lookups rely on; walking every name checks the rest (the key
    // count, every key a valid name): what `lists diff` and the compile's change record need.
    index
        .for_each_name(|_, _| {})
        .context("cannot use the index")?;
    let meta = index.meta();
    println!(
        "{}: ok — format v{}, version {}, built {} by {}, {}, {}, {}, {} bytes, verified in {:.1} ms",
        path.display(),
        hedge_lists::FORMAT_VERSION,
        meta.version,
        output::utc_time(meta.built_at),
        meta.built_by,
        counted(index.len(), "name"),
        counted(meta.sets.len() as u64, "label set"),
        counted(index.taxonomy().len() as u64, "category"),
        thousands(index.file_len()),
        started.elapsed().as_secs_f64() * 1000.0
    );
    // Columns as wide as their longest value, so any source name lines up.
    let width = |field: fn(&hedge_lists::SourceInfo) -> &str| {
        let widths = meta.sources.iter().map(|s| field(s).chars().count());
        widths.max().unwrap_or(0)
    };
    let (name_w, format_w) = (width(|s| &s.name), width(|s| &s.format));
    for s in &meta.sources {
        println!(
            "  source {:<name_w$} {:<format_w$} sha256:{} ({})",
            s.name, s.format, s.digest, s.origin
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn stats(path: &Path, format: Format) -> anyhow::Result<ExitCode> {
    let index = open(path)?;
    let meta = index.meta();
    let mut per_label = vec![0u64; meta.labels.len()];
    for (set, &n) in meta.set_names.iter().enumerate() {
        for &l in &meta.sets[set] {
            per_label[l as usize] += n;
        }
    }
    let mut rows = Rows::new(&["kind", "name", "names"]);
    for (id, n) in lists_history::category_counts(&index) {
        rows.push(vec!["category".into(), id, output::count_cell(n, format)]);
    }
    for (label, n) in meta.labels.iter().zip(&per_label) {
        if *n > 0 {
            let kind = if label.allow { "allow list" } else { "list" };
            rows.push(vec![
                kind.into(),
                label.path(),
                output::count_cell(*n, format),
            ]);
        }
    }
    rows.push(vec![
        "total".into(),
        "distinct names".into(),
        output::count_cell(index.len(), format),
    ]);
    rows.push(vec![
        "total".into(),
        "folded into a listed parent with the same labels".into(),
        output::count_cell(meta.folded, format),
    ]);
    output::print(&rows.render(format))?;
    Ok(ExitCode::SUCCESS)
}
