//! The FST lookup must agree with a naive model: a HashMap of listed names and a walk over the
//! query's suffixes, on random and adversarial names.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use std::collections::{BTreeSet, HashMap};

use hedge_lists::{Compiler, Format, Index, Taxonomy, normalize};
use proptest::prelude::*;

const CATEGORIES: [&str; 3] = ["gambling", "violence", "adult-material/nudity"];

/// Labels chosen to collide: shared prefixes (`bet`/`alphabet`), `-`, `_`, digits, punycode.
fn label() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("bet".to_string()),
        Just("alphabet".to_string()),
        Just("com".to_string()),
        Just("co".to_string()),
        Just("uk".to_string()),
        Just("www".to_string()),
        Just("x-y".to_string()),
        Just("a_b".to_string()),
        Just("xn--bcher-kva".to_string()),
        "[a-c0-9-]{1,4}",
    ]
}

fn listed_name() -> impl Strategy<Value = String> {
    prop::collection::vec(label(), 2..5).prop_map(|l| l.join("."))
}

/// Query names: listed-like names plus case changes, trailing dots, empty labels, Unicode,
/// very long names and bytes that are not valid in names.
fn query() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::collection::vec(label(), 1..7).prop_map(|l| l.join(".")),
        1 => (prop::collection::vec(label(), 1..5), any::<bool>()).prop_map(|(l, dot)| {
            let s = l.join(".").to_ascii_uppercase();
            if dot { s + "." } else { s }
        }),
        1 => prop::collection::vec(prop_oneof![label(), Just(String::new()), Just("bücher".to_string()), Just("a b".into()), Just("\u{0}".into()), Just("*".into())], 1..6).prop_map(|l| l.join(".")),
        1 => (label(), 1..60usize).prop_map(|(l, n)| vec![l; n].join(".")),
        1 => "\\PC{0,40}",
    ]
}

/// The model's answer: the union of the categories of every listed name the longest listed
/// suffix is equal to or below, and the shortest of those names with the same union (the
/// compiler folds a name into a parent with the same labels; here a source is a category).
fn model(
    listed: &HashMap<String, BTreeSet<&'static str>>,
    q: &str,
) -> Option<(String, BTreeSet<&'static str>)> {
    let q = q.strip_suffix('.').unwrap_or(q).to_ascii_lowercase();
    let labels: Vec<&str> = q.split('.').collect();
    let mut best = None;
    for k in 1..=labels.len() {
        if labels[labels.len() - k].is_empty() {
            break;
        }
        let suffix = labels[labels.len() - k..].join(".");
        if listed.contains_key(&suffix) {
            best = Some(suffix);
        }
    }
    let best = best?;
    let parts: Vec<&str> = best.split('.').collect();
    // (suffix, union so far) for each listed suffix of `best`, shortest first.
    let mut chain: Vec<(String, BTreeSet<&'static str>)> = Vec::new();
    for k in 1..=parts.len() {
        let suffix = parts[parts.len() - k..].join(".");
        if let Some(c) = listed.get(&suffix) {
            let mut cats = chain.last().map(|(_, c)| c.clone()).unwrap_or_default();
            cats.extend(c.iter().copied());
            chain.push((suffix, cats));
        }
    }
    let cats = chain.last()?.1.clone();
    chain.into_iter().find(|(_, c)| *c == cats)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]
    #[test]
    fn fst_lookup_agrees_with_the_naive_model(
        lists in prop::collection::vec(prop::collection::vec(listed_name(), 0..40), 3),
        queries in prop::collection::vec(query(), 1..60),
    ) {
        let taxonomy = Taxonomy::builtin();
        let mut compiler = Compiler::new(&taxonomy);
        let mut listed: HashMap<String, BTreeSet<&'static str>> = HashMap::new();
        for (i, names) in lists.iter().enumerate() {
            plain(&mut compiler, &format!("s{i}"), CATEGORIES[i], names.join("\n").as_bytes());
            for n in names {
                listed.entry(normalize(n).unwrap()).or_default().insert(CATEGORIES[i]);
            }
        }
        let index = index_of(compiler);
        prop_assert_eq!(index.len(), listed.len() as u64);
        for q in queries.iter().chain(listed.keys()) {
            let got = index.lookup(q).map(|m| {
                let cats: BTreeSet<&str> = index.categories(m.set).iter().map(|&c| index.taxonomy().id(c)).collect();
                (m.suffix.to_ascii_lowercase(), cats)
            });
            let want = model(&listed, q).map(|(s, c)| (s, c.into_iter().collect::<BTreeSet<&str>>()));
            prop_assert_eq!(got, want, "query {:?}", q);
        }
    }
}

/// Adds `text` as the plain-format source `source`, whose names go in `category`.
fn plain(c: &mut Compiler<'_>, source: &str, category: &str, text: &[u8]) {
    c.add_text(source, Format::Plain, &[category.into()], text, "t")
        .unwrap();
}

/// The index of all that `c` was given.
fn index_of(c: Compiler<'_>) -> Index {
    Index::from_bytes(c.finish(&mut |_| {}).unwrap().bytes).unwrap()
}

/// The listed suffix a lookup of `name` finds, and its categories.
fn listed_as<'i>(index: &'i Index, name: &'i str) -> (&'i str, Vec<&'i str>) {
    let m = index.lookup(name).unwrap();
    let cats = index.categories(m.set).iter();
    (m.suffix, cats.map(|&c| index.taxonomy().id(c)).collect())
}

#[test]
fn suffix_matching_respects_label_boundaries() {
    let taxonomy = Taxonomy::builtin();
    let mut c = Compiler::new(&taxonomy);
    plain(&mut c, "g", "gambling", b"bet.com\nexample-foo.com\n");
    plain(&mut c, "v", "violence", b"www.bet.com\nexample.com\n");
    let index = index_of(c);
    assert!(index.lookup("alphabet.com").is_none());
    assert!(index.lookup("com").is_none());
    assert_eq!(index.lookup("x.y.bet.com").unwrap().suffix, "bet.com");
    // www.bet.com inherits bet.com's category from another source.
    assert_eq!(
        listed_as(&index, "a.www.bet.com"),
        ("www.bet.com", vec!["gambling", "violence"])
    );
    // `example-foo.com` sorts between `example.com` and its subdomains; inheritance must survive.
    c = Compiler::new(&taxonomy);
    plain(&mut c, "v", "violence", b"example.com\n");
    plain(
        &mut c,
        "g",
        "gambling",
        b"example-foo.com\nwww.example.com\n",
    );
    let index = index_of(c);
    let m = index.lookup("www.example.com").unwrap();
    assert_eq!(index.categories(m.set).len(), 2);
}

#[test]
fn allow_entries_cancel_the_same_sources_block_below_them() {
    let taxonomy = Taxonomy::builtin();
    let mut c = Compiler::new(&taxonomy);
    c.add_text(
        "ab",
        Format::Adblock,
        &["productivity/advertisements".into()],
        b"||ads.com^\n@@||ok.ads.com^\n",
        "t",
    )
    .unwrap();
    let index = index_of(c);
    assert_eq!(
        index
            .categories(index.lookup("x.ads.com").unwrap().set)
            .len(),
        1
    );
    let ok = index.lookup("www.ok.ads.com").unwrap();
    assert!(
        index.categories(ok.set).is_empty(),
        "allowed by the source's exception"
    );
    assert!(index.labels(ok.set).any(|l| l.allow));
}

#[test]
fn diff_reports_added_removed_and_recategorised_names() {
    let taxonomy = Taxonomy::builtin();
    let build = |gambling: &str, violence: &str| {
        let mut c = Compiler::new(&taxonomy);
        plain(&mut c, "g", "gambling", gambling.as_bytes());
        plain(&mut c, "v", "violence", violence.as_bytes());
        index_of(c)
    };
    let old = build("bet.com\nstays.com\nmoves.com\n", "");
    let new = build("stays.com\nnew.com\n", "moves.com\n");
    let d = hedge_lists::diff(&old, &new, 10).unwrap();
    let g = &d.categories["gambling"];
    assert_eq!((g.added, g.removed, g.recategorised), (1, 2, 0));
    let v = &d.categories["violence"];
    assert_eq!((v.added, v.removed, v.recategorised), (0, 0, 1));
    assert_eq!(v.names[0].name, "moves.com");
    assert_eq!(v.names[0].from.as_deref(), Some("gambling"));
    assert!(
        g.names
            .iter()
            .any(|n| n.name == "bet.com" && n.change == hedge_lists::Change::Removed)
    );
    assert!(
        hedge_lists::diff(&new, &new, 10)
            .unwrap()
            .categories
            .is_empty()
    );

    // www.bet.com is folded into bet.com once both are listed: still in gambling, not removed.
    let (before, after) = (
        build("www.bet.com\n", ""),
        build("bet.com\nwww.bet.com\n", ""),
    );
    let g = &hedge_lists::diff(&before, &after, 10).unwrap().categories["gambling"];
    assert_eq!((g.added, g.removed, g.recategorised), (1, 0, 0));
    assert_eq!(g.names[0].name, "bet.com");
    let g = &hedge_lists::diff(&after, &before, 10).unwrap().categories["gambling"];
    assert_eq!((g.added, g.removed, g.recategorised), (0, 1, 0));
    assert_eq!(g.names[0].name, "bet.com");
}

#[test]
fn names_with_their_parents_labels_are_folded_into_it() {
    let taxonomy = Taxonomy::builtin();
    let compile = |keep_covered: bool| {
        let mut c = Compiler::new(&taxonomy);
        c.keep_covered(keep_covered);
        let gambling = b"bet.com\nwww.bet.com\nx.www.bet.com\nother.com\n";
        plain(&mut c, "g", "gambling", gambling);
        plain(&mut c, "v", "violence", b"www.bet.com\n");
        c.finish(&mut |_| {}).unwrap()
    };
    let compiled = compile(false);
    // x.www.bet.com has www.bet.com's labels (its own gambling and both inherited).
    assert_eq!((compiled.meta.names, compiled.meta.folded), (3, 1));
    let index = Index::from_bytes(compiled.bytes).unwrap();
    assert_eq!(index.len(), 4);
    assert_eq!(
        listed_as(&index, "a.x.www.bet.com"),
        ("www.bet.com", vec!["gambling", "violence"])
    );
    assert_eq!(index.lookup("www.bet.com").unwrap().suffix, "www.bet.com");

    // Asked to, the compiler keeps it, and lookups name it.
    let compiled = compile(true);
    assert_eq!((compiled.meta.names, compiled.meta.folded), (4, 0));
    let index = Index::from_bytes(compiled.bytes).unwrap();
    let m = index.lookup("a.x.www.bet.com").unwrap();
    assert_eq!(m.suffix, "x.www.bet.com");
}

/// Lookups start past the top-level label when the index has few of them; with more than
/// the shortcut keeps, they walk from the root, with the same answers.
#[test]
fn lookups_agree_with_many_top_level_labels() {
    let taxonomy = Taxonomy::builtin();
    for tlds in [3, 5_000] {
        let names: String = (0..tlds).map(|i| format!("n.t{i}\nbet.t{i}\n")).collect();
        let mut c = Compiler::new(&taxonomy);
        plain(&mut c, "g", "gambling", names.as_bytes());
        let index = index_of(c);
        let last = tlds - 1;
        assert_eq!(
            index.lookup(&format!("A.N.T{last}.")).unwrap().suffix,
            format!("N.T{last}")
        );
        assert!(index.lookup(&format!("alphabet.t{last}")).is_none());
        assert!(index.lookup(&format!("t{last}")).is_none());
        assert!(index.lookup(&format!("n.t{tlds}")).is_none());
        assert!(index.lookup("n.t").is_none());
    }
}
