//! The configuration loader: TOML into `Config`, then every check `serve` and
//! `check-config` run, against the starter index built once. Files a config names are read
//! from deploy/ (its custom lists); configs naming absolute paths or `..` are parsed but
//! not checked, so the fuzzer never reads the machine's files (/dev/zero and the like).
#![no_main]

use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, LazyLock};

use hedge_lists::Index;
use libfuzzer_sys::fuzz_target;

static STARTER: LazyLock<Arc<Index>> =
    LazyLock::new(|| Arc::new(hedge::fuzz::starter_index().expect("the starter index")));

static CONFIG_PATH: LazyLock<PathBuf> =
    LazyLock::new(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/fuzz.toml"));

fn stays_inside(p: &Path) -> bool {
    p.components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(loaded) = hedge::fuzz::parse(text, "fuzz.toml", Some(&CONFIG_PATH)) else {
        return;
    };
    let c = &loaded.config;
    let files = c
        .profiles
        .iter()
        .flat_map(|p| p.block_domain_files.iter().chain(&p.allow_domain_files));
    if !files.chain(&c.upstream.root_hints).all(|p| stays_inside(p)) {
        return;
    }
    let _ = hedge::fuzz::check_with_index(&loaded, STARTER.clone());
});
