//! `hedge lists compile | verify | stats`.

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use hedge_lists::{write_atomic, Compiler, Index, Manifest, Progress, Taxonomy};
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::{CompileArgs, TableFormat};
use crate::output::{thousands, Rows};

pub fn compile(args: CompileArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let taxonomy = match &args.taxonomy {
        Some(path) => Taxonomy::load(path).map_err(usage)?,
        None => Taxonomy::builtin(),
    };
    let manifest = Manifest::load(&args.sources, &taxonomy).map_err(usage)?;
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
    let mut compiler = Compiler::new(&taxonomy);
    compiler.add_manifest(&manifest, &mut on_progress)?;
    let compiled = compiler.finish(&mut on_progress)?;
    bar.finish_and_clear();
    write_atomic(&args.out, &compiled.bytes)?;

    let mut rows = Rows::new(&["source/list", "categories", "lines", "names", "duplicates", "allows", "warnings", "IP literals", "paths", "unsupported"]);
    for s in &compiled.meta.sources {
        for l in &s.lists {
            let label = if l.name == s.name { s.name.clone() } else { format!("{}/{}", s.name, l.name) };
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
    eprint!("{}", rows.render(TableFormat::Table));
    for notice in &compiled.notices {
        eprintln!("notice: {notice}");
    }
    for w in compiled.warnings.iter().take(args.show_warnings) {
        eprintln!("warning: {w}");
    }
    let shown = compiled.warnings.len().min(args.show_warnings) as u64;
    if compiled.warning_count > shown {
        eprintln!("… and {} more warnings (use --show-warnings N to see more)", thousands(compiled.warning_count - shown));
    }
    let names = compiled.meta.names.max(1);
    println!(
        "wrote {}: {} names, {} label sets, {} bytes ({:.1} bytes/name), version {}, in {:.2} s",
        args.out.display(),
        thousands(compiled.meta.names),
        compiled.meta.sets.len(),
        thousands(compiled.bytes.len() as u64),
        compiled.bytes.len() as f64 / names as f64,
        compiled.meta.version,
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

fn progress_bar() -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg:24} [{bar:30}] {bytes}/{total_bytes} {elapsed}")
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
    let meta = index.meta();
    println!(
        "{}: ok — format v{}, version {}, built {} by {}, {} names, {} label sets, {} categories, {} bytes, verified in {:.1} ms",
        path.display(),
        hedge_lists::FORMAT_VERSION,
        meta.version,
        timestamp(meta.built_at),
        meta.built_by,
        thousands(meta.names),
        meta.sets.len(),
        index.taxonomy().len(),
        thousands(index.file_len()),
        started.elapsed().as_secs_f64() * 1000.0
    );
    for s in &meta.sources {
        println!("  source {:<18} {:<8} sha256:{} ({})", s.name, s.format, s.digest, s.origin);
    }
    Ok(ExitCode::SUCCESS)
}

pub fn stats(path: &Path, format: TableFormat) -> anyhow::Result<ExitCode> {
    let index = open(path)?;
    let meta = index.meta();
    let taxonomy = index.taxonomy();
    let mut per_category = vec![0u64; taxonomy.len()];
    let mut per_label = vec![0u64; meta.labels.len()];
    for (set, &n) in meta.set_names.iter().enumerate() {
        for &c in index.categories(set as u32) {
            per_category[usize::from(c)] += n;
        }
        for &l in &meta.sets[set] {
            per_label[l as usize] += n;
        }
    }
    let mut rows = Rows::new(&["kind", "name", "names"]);
    for (i, n) in per_category.iter().enumerate() {
        rows.push(vec!["category".into(), taxonomy.defs()[i].id.clone(), n.to_string()]);
    }
    for (label, n) in meta.labels.iter().zip(&per_label) {
        if *n > 0 {
            let kind = if label.allow { "allow list" } else { "list" };
            rows.push(vec![kind.into(), label.path(), n.to_string()]);
        }
    }
    rows.push(vec!["total".into(), "distinct names".into(), meta.names.to_string()]);
    print!("{}", rows.render(format));
    Ok(ExitCode::SUCCESS)
}

pub fn timestamp(secs: u64) -> String {
    jiff::Timestamp::from_second(secs as i64).map_or_else(|_| secs.to_string(), |t| t.strftime("%Y-%m-%d %H:%M:%SZ").to_string())
}
