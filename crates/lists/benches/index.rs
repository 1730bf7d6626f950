//! Index benchmarks over the real lists in `../shared/data` (UT1 + Block List Project +
//! ShadowWhisperer + chadmayfield, about 2.5 million names), or `$HEDGE_DATA`.
//!
//! `cargo bench -p hedge-lists` measures compile time, open + verify, and lookups (hits,
//! misses, deep subdomains), and prints peak RSS and bytes per name. Without the data it
//! says so and runs on a small synthetic list, so `cargo bench -- --test` never rots.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use hedge_lists::{Compiler, Format, Index, Manifest, Taxonomy};

fn data_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("HEDGE_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    dir.join("ut1").is_dir().then_some(dir)
}

/// The repository manifest with its data paths pointed at `data`.
fn manifest(taxonomy: &Taxonomy, data: &Path) -> Manifest {
    let repo_lists = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../lists/sources.toml");
    let text = std::fs::read_to_string(&repo_lists).expect("lists/sources.toml");
    let text = text.replace("../../shared/data", &data.display().to_string());
    let mut m = Manifest::from_toml(&text, &repo_lists, taxonomy).expect("a valid manifest");
    m.sources
        .retain(|s| s.path.as_ref().is_some_and(|p| p.exists()));
    m
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

fn build(taxonomy: &Taxonomy) -> (Vec<u8>, Vec<String>) {
    let mut c = Compiler::new(taxonomy);
    let Some(data) = data_dir() else {
        eprintln!(
            "NOTE: ../shared/data not found (set HEDGE_DATA): benchmarking a synthetic 100k-name list instead"
        );
        let text: String = (0..100_000)
            .map(|i| format!("site{i}.example{}.com\n", i % 97))
            .collect();
        c.add_text(
            "synthetic",
            Format::Plain,
            &["gambling".into()],
            text.as_bytes(),
            "synthetic",
        )
        .expect("compile");
        let sample = (0..1000)
            .map(|i| format!("site{}.example{}.com", i * 97, (i * 97) % 97))
            .collect();
        return (c.finish(&mut |_| {}).expect("finish").bytes, sample);
    };
    c.add_manifest(&manifest(taxonomy, &data), &mut |_| {})
        .expect("compile");
    let compiled = c.finish(&mut |_| {}).expect("finish");
    let index = Index::from_bytes(compiled.bytes.clone()).expect("valid");
    let mut sample = Vec::new();
    let mut n = 0u64;
    index
        .for_each_name(|key, _| {
            n += 1;
            if n.is_multiple_of(997) {
                sample.push(hedge_lists::name_from_key(key));
            }
        })
        .expect("a compiled index walks");
    (compiled.bytes, sample)
}

fn benches(c: &mut Criterion) {
    let taxonomy = Taxonomy::builtin();
    let started = Instant::now();
    let (bytes, hits) = build(&taxonomy);
    let compile_s = started.elapsed().as_secs_f64();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bench.hidx");
    std::fs::write(&path, &bytes).expect("write index");
    let index = Index::open(&path).expect("valid index");
    println!(
        "index: {} names, {} bytes, {:.2} bytes/name; first compile {:.2} s; peak RSS {:.0} MiB",
        index.len(),
        bytes.len(),
        bytes.len() as f64 / index.len().max(1) as f64,
        compile_s,
        peak_rss_mib()
    );

    let mut g = c.benchmark_group("index");
    g.sample_size(10);
    g.bench_function("compile", |b| {
        b.iter(|| black_box(build(&taxonomy).0.len()))
    });
    g.bench_function("open_verify", |b| {
        b.iter(|| black_box(Index::open(&path).expect("valid").len()))
    });
    g.finish();

    let misses: Vec<String> = hits
        .iter()
        .map(|h| format!("{h}-not-listed.invalid"))
        .collect();
    let deep: Vec<String> = hits
        .iter()
        .map(|h| format!("a.b.c.d.e.f.g.h.{h}"))
        .collect();
    let mut g = c.benchmark_group("lookup");
    let hot: Vec<String> = hits.iter().take(8).cloned().collect();
    for (name, set) in [
        ("hit", &hits),
        ("hit_cache_hot", &hot),
        ("miss", &misses),
        ("deep_subdomain", &deep),
    ] {
        let mut i = 0;
        g.bench_function(name, |b| {
            b.iter(|| {
                i = (i + 1) % set.len();
                black_box(index.lookup(&set[i]).is_some())
            })
        });
    }
    g.finish();
}

criterion_group!(index, benches);
criterion_main!(index);
