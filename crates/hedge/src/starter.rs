//! The starter index: small real lists embedded in the binary, compiled at start-up (a few
//! milliseconds), so `hedge serve` and `hedge lookup` work on a fresh machine with no files.

use std::path::Path;

use anyhow::{Context, bail};
use hedge_lists::{Compiler, Index, Manifest, Taxonomy};

include!(concat!(env!("OUT_DIR"), "/starter.rs"));

/// An embedded file by its path relative to `lists/` (`custom/child.txt`).
pub fn file(rel: &str) -> Option<&'static [u8]> {
    FILES.iter().find(|(p, _)| *p == rel).map(|(_, b)| *b)
}

/// Compiles the embedded starter lists into an in-memory index.
pub fn index() -> anyhow::Result<Index> {
    let taxonomy = Taxonomy::builtin();
    let manifest = Manifest::from_toml(MANIFEST, Path::new("starter.toml"), &taxonomy)
        .context("embedded lists/starter.toml")?;
    let mut compiler = Compiler::new(&taxonomy);
    for spec in &manifest.sources {
        let Some(path) = &spec.path else {
            bail!("starter source `{}` has no path", spec.name)
        };
        let rel = path.to_string_lossy();
        let Some(bytes) = file(&rel) else {
            bail!("starter source `{}`: {rel} is not embedded", spec.name)
        };
        let Some(cats) = &spec.category else {
            bail!(
                "starter source `{}` must be a single list with `category`",
                spec.name
            )
        };
        compiler.add_text(
            &spec.name,
            spec.format,
            cats,
            bytes,
            &format!("lists/{rel}"),
        )?;
    }
    let compiled = compiler.finish(&mut |_| {})?;
    Ok(Index::from_bytes(compiled.bytes)?)
}
