//! What the policy tests share: an index built from a few names per category.

use std::sync::Arc;

use hedge_lists::{Compiler, Format, Index, Taxonomy};

/// An index of the builtin taxonomy listing `names` (one a line) under each category.
pub fn index_of(lists: &[(&str, &str)]) -> Arc<Index> {
    let t = Taxonomy::builtin();
    let mut c = Compiler::new(&t);
    for (cat, names) in lists {
        c.add_text(
            &cat.replace('/', "-"),
            Format::Plain,
            &[cat.to_string()],
            names.as_bytes(),
            "t",
        )
        .expect("a test list compiles");
    }
    Arc::new(Index::from_bytes(c.finish(&mut |_| {}).expect("compile").bytes).expect("index"))
}
