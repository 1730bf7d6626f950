//! The round trip of a list file: every list format reader (plain, hosts, adblock, UT1, RPZ)
//! through the public compiler (lines, parse, normalise, build), then the index it wrote
//! must load and answer lookups. Slow (a few hundred inputs a second: each input writes and
//! reads back the metadata with the whole taxonomy); `list_formats` fuzzes the readers fast.
#![no_main]

use hedge_lists::{Compiler, Index, Taxonomy};
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

static TAXONOMY: LazyLock<Taxonomy> = LazyLock::new(Taxonomy::builtin);

fuzz_target!(|data: &[u8]| {
    let Some((format, text)) = hedge_fuzz::list_input(data) else {
        return;
    };
    let mut compiler = Compiler::new(&TAXONOMY);
    if compiler
        .add_text("fuzz", format, &["gambling".into()], text, "fuzz.txt")
        .is_err()
    {
        return;
    }
    let Ok(compiled) = compiler.finish(&mut |_| {}) else {
        return;
    };
    let names = compiled.meta.names;
    let index = Index::from_bytes(compiled.bytes).expect("a compiled index must load");
    assert_eq!(index.meta().names, names);
    // Every listed name is found; words of the input are looked up as queries would be.
    let mut count = 0;
    index.for_each_name(|key, _| {
        count += 1;
        let name = hedge_lists::name_from_key(key);
        assert!(index.lookup(&name).is_some(), "{name} listed but not found");
    })
    .expect("a compiled index must walk");
    assert_eq!(count, names);
    for word in String::from_utf8_lossy(text).split_whitespace().take(64) {
        let _ = index.lookup(word);
    }
});
