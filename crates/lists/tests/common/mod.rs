//! Index building shared by the index tests.

#![allow(dead_code, clippy::unwrap_used)] // each test file uses part of it; tests fail loudly

use hedge_lists::{Compiler, Format, Taxonomy};

/// The bytes of an index of `text`, one plain-format list whose names are all gambling.
pub fn gambling_index_bytes(text: &str) -> Vec<u8> {
    let taxonomy = Taxonomy::builtin();
    let mut c = Compiler::new(&taxonomy);
    c.add_text(
        "s",
        Format::Plain,
        &["gambling".into()],
        text.as_bytes(),
        "t",
    )
    .unwrap();
    c.finish(&mut |_| {}).unwrap().bytes
}
