//! docs/configuration.md documents exactly the keys `hedge.toml` accepts.
//!
//! The keys come from the config structs themselves: serde-reflection traces their
//! `Deserialize` impls (the names serde matches, renames included) from the top-level
//! [`hedge::Config`] down through every nested table. The documented keys come from the key
//! tables of docs/configuration.md: a table whose first column is `key`, under a heading that
//! names its TOML table (`` ## `[upstream]` ``, `` ### … (`[[upstream.servers]]`) ``; a
//! `##` heading with a plain `` `name` `` documents top-level keys, a `###` heading without a
//! table inherits its parent's). A row's key is relative to its section unless it is
//! written in full (`stats.query_log.enabled`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde_reflection::{
    ContainerFormat, Format, FormatHolder, Registry, Samples, Tracer, TracerConfig,
};

const DOC: &str = "docs/configuration.md";
const DOC_TEXT: &str = include_str!("../docs/configuration.md");

/// A key path (`upstream.servers.tls_name`) and what the structs say it is.
#[derive(Debug)]
struct StructKey {
    /// The struct that declares it (`ForwardServer`).
    owner: String,
    /// A nested table (a struct, or an array of them) rather than a value.
    table: bool,
}

/// Every key of `hedge.toml`, by dotted path, as the config structs accept it.
fn struct_keys() -> BTreeMap<String, StructKey> {
    let mut tracer = Tracer::new(TracerConfig::default());
    let samples = Samples::new();
    tracer
        .trace_type::<hedge::Config>(&samples)
        .expect("trace the Deserialize impl of hedge::Config");
    // The tracer explores every variant of the top-level type only; the enums inside
    // (`mode`, `protocol`, addresses) stay partly traced. Their variants are values, not
    // keys, so the struct fields this test reads are complete all the same.
    let registry = tracer.registry_unchecked();
    let mut keys = BTreeMap::new();
    collect(&registry, "Config", "", &mut keys);
    assert!(
        keys.len() > 40,
        "the trace found only {} keys: {keys:?}",
        keys.len()
    );
    keys
}

fn collect(
    registry: &Registry,
    container: &str,
    prefix: &str,
    out: &mut BTreeMap<String, StructKey>,
) {
    let Some(ContainerFormat::Struct(fields)) = registry.get(container) else {
        panic!("{container} is not a struct with named fields in the trace");
    };
    for field in fields {
        let path = join(prefix, &field.name);
        assert!(
            !field.value.is_unknown(),
            "the trace did not reach the type of `{path}` ({container})"
        );
        let nested = nested_struct(registry, &field.value);
        out.insert(
            path.clone(),
            StructKey {
                owner: container.to_string(),
                table: nested.is_some(),
            },
        );
        if let Some(name) = nested {
            collect(registry, name, &path, out);
        }
    }
}

/// The struct a field holds, through `Option` and `Vec`, if it is one (a TOML table).
fn nested_struct<'a>(registry: &Registry, format: &'a Format) -> Option<&'a str> {
    match format {
        Format::Option(inner) | Format::Seq(inner) => nested_struct(registry, inner),
        Format::TypeName(name) => match registry.get(name) {
            Some(ContainerFormat::Struct(_)) => Some(name),
            _ => None,
        },
        _ => None,
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

/// A key row or a table heading of the doc, with its 1-based line.
#[derive(Debug)]
struct Documented {
    line: usize,
    /// The TOML table of the section it is in ("" for the top level).
    section: String,
}

#[derive(Debug, Default)]
struct DocKeys {
    /// Dotted key path → where its row is.
    keys: BTreeMap<String, Documented>,
    /// Dotted table path → the heading that names it.
    tables: BTreeMap<String, Documented>,
    /// Rows that cannot be placed (a key table outside any config section, a duplicate).
    errors: Vec<String>,
}

/// The keys and tables docs/configuration.md documents.
fn doc_keys(text: &str) -> DocKeys {
    let mut doc = DocKeys::default();
    // The section of the enclosing `##` heading, and of the current (`##` or `###`) one;
    // None under a heading that is not about a config table ("Checking a configuration").
    let mut h2: Option<String> = None;
    let mut section: Option<String> = None;
    let mut in_code = false;
    let mut in_key_table = false;
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if line.starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            continue;
        }
        if let Some(heading) = line.strip_prefix("## ") {
            h2 = heading_section(heading, true);
            section = h2.clone();
            register_tables(&mut doc, heading, n);
            continue;
        }
        if let Some(heading) = line.strip_prefix("### ") {
            section = heading_section(heading, false).or_else(|| h2.clone());
            register_tables(&mut doc, heading, n);
            continue;
        }
        if !line.starts_with('|') {
            in_key_table = false;
            continue;
        }
        let first = line.split('|').nth(1).unwrap_or("").trim();
        if first == "key" {
            in_key_table = true;
            continue;
        }
        if !in_key_table || first.starts_with("---") {
            continue;
        }
        let Some(key) = backticked(first).next() else {
            doc.errors.push(format!(
                "{DOC}:{n}: a key row without a `key` in its first column"
            ));
            continue;
        };
        let Some(section) = section.clone() else {
            doc.errors.push(format!(
                "{DOC}:{n}: key `{key}` is in a key table under a heading that names no config table"
            ));
            continue;
        };
        let path = if key.contains('.') {
            key.to_string()
        } else {
            join(&section, key)
        };
        if !section.is_empty() && !path.starts_with(&format!("{section}.")) {
            doc.errors.push(format!(
                "{DOC}:{n}: key `{key}` is documented under `[{section}]`, which it is not part of"
            ));
        }
        if let Some(first) = doc.keys.get(&path) {
            doc.errors.push(format!(
                "{DOC}:{n}: key `{path}` is documented twice (first on line {})",
                first.line
            ));
            continue;
        }
        doc.keys.insert(path, Documented { line: n, section });
    }
    doc
}

/// The TOML tables a heading names: `` `[stats]` and `[stats.query_log]` `` → stats,
/// stats.query_log. The first is the section its key tables belong to.
fn heading_tables(heading: &str) -> Vec<String> {
    backticked(heading)
        .filter(|t| t.starts_with('['))
        .map(|t| t.trim_matches(|c| c == '[' || c == ']').to_string())
        .collect()
}

/// The section a heading opens: its first table; for a `##` heading naming a plain key
/// (`` `index` ``), the top level (""); None when it names neither.
fn heading_section(heading: &str, top: bool) -> Option<String> {
    match heading_tables(heading).into_iter().next() {
        Some(table) => Some(table),
        None => (top && backticked(heading).next().is_some()).then(String::new),
    }
}

fn register_tables(doc: &mut DocKeys, heading: &str, line: usize) {
    for table in heading_tables(heading) {
        doc.tables.entry(table.clone()).or_insert(Documented {
            line,
            section: table,
        });
    }
}

/// The `code spans` of a line of Markdown.
fn backticked(text: &str) -> impl Iterator<Item = &str> {
    text.split('`').skip(1).step_by(2)
}

fn section_name(section: &str) -> String {
    if section.is_empty() {
        "the top level".to_string()
    } else {
        format!("`[{section}]`")
    }
}

/// Every disagreement between the structs and the doc, one line each.
fn drift(text: &str) -> Vec<String> {
    let structs = struct_keys();
    let doc = doc_keys(text);
    let mut errors = doc.errors.clone();
    for (path, at) in &doc.keys {
        if !structs.contains_key(path) {
            let parent = path.rsplit_once('.').map_or("", |(p, _)| p);
            let known: Vec<&str> = structs
                .keys()
                .filter(|k| k.rsplit_once('.').map_or("", |(p, _)| p) == parent)
                .map(|k| k.rsplit('.').next().unwrap_or(k))
                .collect();
            errors.push(format!(
                "{DOC}:{}: key `{path}` is documented under {} but the config structs have no such key (that table has: {})",
                at.line,
                section_name(&at.section),
                known.join(", ")
            ));
        }
    }
    for (path, at) in &doc.tables {
        if !structs.get(path).is_some_and(|k| k.table) {
            errors.push(format!(
                "{DOC}:{}: heading names table `[{path}]`, which the config structs do not have",
                at.line
            ));
        }
    }
    for (path, key) in &structs {
        let documented =
            doc.keys.contains_key(path) || (key.table && doc.tables.contains_key(path));
        if !documented {
            let parent = path.rsplit_once('.').map_or("", |(p, _)| p);
            let what = if key.table { "table" } else { "key" };
            errors.push(format!(
                "{DOC}: {what} `{path}` of {} (struct {}) is not documented: add a row to the key table under {}'s heading",
                section_name(parent),
                key.owner,
                section_name(parent)
            ));
        }
    }
    errors
}

fn report(errors: &[String]) -> String {
    let mut out = String::new();
    for e in errors {
        let _ = writeln!(out, "  {e}");
    }
    out
}

#[test]
fn configuration_md_documents_exactly_the_config_keys() {
    let errors = drift(DOC_TEXT);
    assert!(
        errors.is_empty(),
        "docs/configuration.md and the config structs disagree:\n{}",
        report(&errors)
    );
}

#[test]
fn every_table_and_key_of_the_structs_is_found() {
    let keys = struct_keys();
    let tables: BTreeSet<&str> = keys
        .iter()
        .filter(|(_, k)| k.table)
        .map(|(p, _)| p.as_str())
        .collect();
    let expected = BTreeSet::from([
        "listener",
        "listener.network",
        "metrics",
        "portal",
        "profile",
        "profile.schedule",
        "server",
        "stats",
        "stats.query_log",
        "upstream",
        "upstream.servers",
    ]);
    assert_eq!(tables, expected);
    for leaf in [
        "index",
        "timezone",
        "profile.block_ddr",
        "profile.schedule.from",
        "upstream.servers.ca_file",
        "stats.query_log.hash_key",
        "metrics.listen",
    ] {
        assert!(keys.get(leaf).is_some_and(|k| !k.table), "{leaf} not found");
    }
}

#[test]
fn a_key_missing_from_the_doc_is_named() {
    let row = "| `tcp_idle_ms` |";
    assert!(DOC_TEXT.contains(row));
    let without: String = DOC_TEXT
        .lines()
        .filter(|l| !l.starts_with(row))
        .map(|l| format!("{l}\n"))
        .collect();
    let errors = drift(&without);
    assert_eq!(errors.len(), 1, "{}", report(&errors));
    assert!(
        errors[0]
            .contains("key `server.tcp_idle_ms` of `[server]` (struct Limits) is not documented"),
        "{}",
        errors[0]
    );
}

#[test]
fn a_key_the_structs_do_not_have_is_named_with_its_line() {
    let row = "| `tcp_idle_ms` |";
    let mut line = 0;
    let mut with_bogus = String::new();
    for (i, l) in DOC_TEXT.lines().enumerate() {
        with_bogus.push_str(l);
        with_bogus.push('\n');
        if l.starts_with(row) {
            with_bogus.push_str("| `tcp_idle_secs` | integer | `10` | A key hedge never had. |\n");
            line = i + 2;
        }
    }
    assert!(line > 0);
    let errors = drift(&with_bogus);
    assert_eq!(errors.len(), 1, "{}", report(&errors));
    assert!(
        errors[0].starts_with(&format!(
            "docs/configuration.md:{line}: key `server.tcp_idle_secs` is documented under `[server]` but the config structs have no such key"
        )),
        "{}",
        errors[0]
    );
}

#[test]
fn a_table_missing_from_the_doc_is_named() {
    // The whole [metrics] section gone: its heading and its one key.
    let without: String = DOC_TEXT
        .lines()
        .filter(|l| !l.contains("[metrics]`") && !l.starts_with("| `metrics.listen`"))
        .map(|l| format!("{l}\n"))
        .collect();
    let errors = drift(&without);
    assert!(
        errors.iter().any(|e| e.contains("key `metrics.listen`"))
            && errors.iter().any(|e| e.contains("table `metrics`")),
        "{}",
        report(&errors)
    );
}
