//! Parser tests per format, on real snippets of the shipped sources (UT1, the Block List
//! Project, ShadowWhisperer) and on synthetic files whose headers state what to expect.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use std::path::Path;

use hedge_lists::{Compiled, Compiler, Index, ListStats, Manifest, Taxonomy};

fn data() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .display()
        .to_string()
}

/// Compiles a one-source manifest and returns the result, its index and the source's lists.
fn compile(source_toml: &str) -> (Compiled, Index) {
    let taxonomy = Taxonomy::builtin();
    let text = source_toml.replace("DATA", &data());
    let manifest = Manifest::from_toml(&text, Path::new("/x/sources.toml"), &taxonomy).unwrap();
    let mut c = Compiler::new(&taxonomy);
    c.add_manifest(&manifest, &mut |_| {}).unwrap();
    let compiled = c.finish(&mut |_| {}).unwrap();
    let index = Index::from_bytes(compiled.bytes.clone()).unwrap();
    (compiled, index)
}

/// Compiles one source of one file, `DATA/<file>`, whose names all go in `category`.
fn compile_file(name: &str, format: &str, file: &str, category: &str) -> (Compiled, Index) {
    compile(&format!(
        "[[source]]\nname = \"{name}\"\nformat = \"{format}\"\npath = \"DATA/{file}\"\n\
         category = [\"{category}\"]\n"
    ))
}

fn list<'a>(c: &'a Compiled, name: &str) -> &'a ListStats {
    c.meta.sources[0]
        .lists
        .iter()
        .find(|l| l.name == name)
        .unwrap_or_else(|| panic!("no list {name}"))
}

fn listed(index: &Index, name: &str) -> bool {
    index
        .lookup(name)
        .is_some_and(|m| m.suffix.eq_ignore_ascii_case(name.trim_end_matches('.')))
}

#[test]
fn ut1_directory_plain_gzip_zstd_and_urls() {
    let (c, index) = compile(
        r#"[[source]]
name = "ut1"
format = "ut1"
path = "DATA/ut1"
[source.categories]
dating = ["society-and-lifestyles/personals-and-dating"]
gambling = ["gambling"]
agressif = ["intolerance", "violence"]
doh = ["information-technology/encrypted-dns-resolvers"]
"#,
    );
    // dynamic-dns is not mapped: skipped with a notice, not read.
    assert!(
        c.notices.iter().any(|n| n.contains("dynamic-dns")),
        "{:?}",
        c.notices
    );
    assert!(
        c.meta.sources[0]
            .lists
            .iter()
            .all(|l| l.name != "dynamic-dns")
    );
    let gambling = list(&c, "gambling");
    assert_eq!(
        (gambling.kept, gambling.ip_literals),
        (38, 3),
        "gzip file read transparently"
    );
    assert_eq!(gambling.paths, 5, "urls entries with a path are counted");
    assert!(
        c.notices
            .iter()
            .any(|n| n.contains("5 URL entries with a path cannot be enforced")),
        "{:?}",
        c.notices
    );
    let agressif = list(&c, "agressif");
    assert_eq!(
        (agressif.kept, agressif.ip_literals),
        (25, 5),
        "zstd file read transparently"
    );
    let doh = list(&c, "doh");
    assert_eq!(doh.ip_literals, 9);
    // Every kept name is findable, with its categories.
    let first_gambling = gzip_first_line(&format!("{}/ut1/gambling/domains.gz", data()));
    let www = format!("www.{first_gambling}");
    let hit = index.lookup(&www).unwrap();
    let cats: Vec<&str> = index
        .categories(hit.set)
        .iter()
        .map(|&c| index.taxonomy().id(c))
        .collect();
    assert_eq!(cats, vec!["gambling"]);
    assert_eq!(index.labels(hit.set).next().unwrap().path(), "ut1/gambling");
    // The urls file's hosts were not blocked.
    let urls = std::fs::read_to_string(format!("{}/ut1/gambling/urls", data())).unwrap();
    for line in urls.lines().filter(|l| l.contains('/')) {
        let host = line.split('/').next().unwrap();
        assert!(
            !listed(&index, host),
            "{host} must not be blocked for a path entry"
        );
    }
}

fn gzip_first_line(path: &str) -> String {
    use std::io::Read;
    let mut text = String::new();
    flate2_read(path).read_to_string(&mut text).unwrap();
    text.lines().next().unwrap().to_string()
}

fn flate2_read(path: &str) -> impl std::io::Read {
    // The test reads the gzip file the same way a user would check it: with gzip.
    let out = std::process::Command::new("gzip")
        .args(["-dc", path])
        .output()
        .unwrap();
    std::io::Cursor::new(out.stdout)
}

#[test]
fn hosts_real_and_mixed() {
    let (c, index) = compile_file("blp", "hosts", "blocklistproject-gambling.txt", "gambling");
    let l = list(&c, "blp");
    assert_eq!((l.kept, l.invalid), (56, 0));
    assert_eq!(index.len(), 56);
    let (c, index) = compile_file("mixed", "hosts", "hosts-mixed.txt", "gambling");
    let l = list(&c, "mixed");
    assert_eq!(l.kept, 11, "{l:?} {:?}", c.warnings);
    for n in [
        "a.example",
        "b.example",
        "c.example",
        "tab.example",
        "tabs.example",
        "mixed.example",
        "upper.example",
        "dot.example",
        "comment.example",
        "v6.example",
        "single.example",
    ] {
        assert!(listed(&index, n), "{n}");
    }
    assert!(!listed(&index, "localhost") && l.ignored >= 5, "{l:?}");
    assert_eq!(l.ip_literals, 3, "{l:?}");
}

#[test]
fn plain_with_trailing_comments_and_separator_lines() {
    let (c, index) = compile_file(
        "sw",
        "plain",
        "shadowwhisperer-risk.txt",
        "extended-protection/elevated-exposure",
    );
    let l = list(&c, "sw");
    assert_eq!((l.kept, l.invalid), (17, 1), "{l:?} {:?}", c.warnings);
    assert!(
        c.warnings[0].reason.contains("single label") && c.warnings[0].entry == "apkcafe-vn",
        "{:?}",
        c.warnings
    );
    assert!(
        c.warnings[0].location.contains("shadowwhisperer-risk.txt:"),
        "warnings name file:line"
    );
    assert_eq!(index.len(), 17);
}

#[test]
fn adblock_rules() {
    let (c, index) = compile_file(
        "ab",
        "adblock",
        "adblock.txt",
        "productivity/advertisements",
    );
    let l = list(&c, "ab");
    // The header counts the path rule as unsupported; hedge counts it as a path entry.
    assert_eq!(
        (l.kept, l.allows, l.unsupported, l.paths),
        (5, 2, 9, 1),
        "{l:?} {:?}",
        c.warnings
    );
    for n in [
        "ads.example",
        "tracker.example.net",
        "deep.sub.example.org",
        "thirdparty.example",
        "upper.example",
    ] {
        assert!(
            !index.categories(index.lookup(n).unwrap().set).is_empty(),
            "{n} blocked"
        );
    }
    for n in ["good.example", "cdn.partner.example"] {
        let set = index.lookup(n).unwrap().set;
        assert!(
            index.categories(set).is_empty() && index.labels(set).any(|l| l.allow),
            "{n} allowed"
        );
    }
}

#[test]
fn rpz_zone() {
    let (c, index) = compile_file("rpz", "rpz", "zone.rpz", "gambling");
    let l = list(&c, "rpz");
    assert_eq!(l.unsupported, 4, "{l:?} {:?}", c.warnings);
    for n in [
        "casino.example",
        "nodata.example",
        "ttl.example",
        "absolute.example",
        "upper.example",
        "wildonly.example",
        "multi.example",
    ] {
        let q = format!("x.{n}");
        let m = index.lookup(&q).unwrap_or_else(|| panic!("{n}"));
        assert!(!index.categories(m.set).is_empty(), "{n} blocked");
    }
    let pass = index.lookup("passthru.example").unwrap();
    assert!(index.categories(pass.set).is_empty());
}

#[test]
fn bad_lines_are_counted_warnings_with_file_and_line() {
    let (c, index) = compile_file("bad", "plain", "bad-lines.txt", "violence");
    let l = list(&c, "bad");
    assert_eq!(l.kept, 9, "{l:?} {:?}", c.warnings);
    assert_eq!((l.ip_literals, l.paths), (2, 2), "{l:?}");
    assert_eq!(l.invalid, 5, "{:?}", c.warnings);
    let text = std::fs::read_to_string(format!("{}/bad-lines.txt", data())).unwrap();
    for w in &c.warnings {
        let line: usize = w.location.rsplit(':').next().unwrap().parse().unwrap();
        let above = text.lines().nth(line - 2).unwrap();
        assert!(
            above.starts_with("# BAD"),
            "{w} is not below a BAD marker: {above}"
        );
    }
    for n in [
        "good.example.com",
        "xn--bcher-kva.de",
        "xn--5cab8c.no",
        "bücher.de",
    ] {
        let ascii = hedge_lists::normalize(n).unwrap();
        assert!(listed(&index, &ascii), "{n}");
    }
}
