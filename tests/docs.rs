//! The operator docs agree with the program.
//!
//! Commands: every `hedge …` command line in README.md and docs/*.md (a code span that starts
//! with `hedge `, or a code-block line that runs `hedge`) names subcommands, flags and flag
//! values that `hedge --help` has, and so does every `--flag` in the `option` tables under a
//! `` `hedge …` `` heading.
//!
//! Keys: docs/configuration.md documents exactly the keys `hedge.toml` accepts.
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
use std::path::{Path, PathBuf};

use clap::CommandFactory;

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

// ---- Commands and flags named in the docs ----

/// README.md and docs/*.md: (path relative to the repository, text).
fn operator_docs() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .expect("docs/")
        .map(|e| e.expect("docs/ entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    paths.sort();
    paths.insert(0, root.join("README.md"));
    paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("read a doc");
            let name = p.strip_prefix(&root).unwrap_or(&p).display().to_string();
            (name, text)
        })
        .collect()
}

/// What a doc says about the command line, with its 1-based line.
#[derive(Debug, PartialEq)]
enum Mention {
    /// The words after `hedge` of a command line.
    Command(usize, Vec<String>),
    /// The flags of an `option` table row, and the command its heading names.
    Options(usize, Vec<String>, Vec<String>),
}

/// The words of a command as a doc writes it: `$ `/`# ` prompts and `runuser … --` dropped;
/// None when the line does not run `hedge` (or a path ending in `/hedge`).
fn hedge_words(line: &str) -> Option<Vec<String>> {
    let mut line = line.trim();
    for prompt in ["$ ", "# "] {
        line = line.strip_prefix(prompt).unwrap_or(line);
    }
    if line.starts_with("runuser ") {
        line = line.split_once(" -- ")?.1;
    }
    let mut words = line.split_whitespace();
    let program = words.next()?;
    (program == "hedge" || program.ends_with("/hedge")).then(|| words.map(str::to_string).collect())
}

fn mentions(text: &str) -> Vec<Mention> {
    let mut out = Vec::new();
    let mut in_code = false;
    // A code-block line ending in `\` continues on the next: (its first line, the text so far).
    let mut pending: Option<(usize, String)> = None;
    let mut heading_command: Option<Vec<String>> = None;
    let mut in_option_table = false;
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            let (first, joined) = match pending.take() {
                Some((first, before)) => (first, format!("{before} {}", line.trim())),
                None => (n, line.to_string()),
            };
            if let Some(rest) = joined.trim_end().strip_suffix('\\') {
                pending = Some((first, rest.to_string()));
            } else if let Some(words) = hedge_words(&joined) {
                out.push(Mention::Command(first, words));
            }
            continue;
        }
        if line.starts_with('#') {
            heading_command = backticked(line).find_map(hedge_words);
            in_option_table = false;
        }
        if line.starts_with('|') {
            let first = line.split('|').nth(1).unwrap_or("").trim();
            if first == "option" {
                in_option_table = true;
            } else if in_option_table && let Some(command) = &heading_command {
                let flags: Vec<String> = backticked(first)
                    .flat_map(|span| span.split([' ', ',']))
                    .filter(|w| w.starts_with('-'))
                    .map(str::to_string)
                    .collect();
                if !flags.is_empty() {
                    out.push(Mention::Options(n, command.clone(), flags));
                }
            }
        } else {
            in_option_table = false;
        }
        for span in backticked(line) {
            if let Some(words) = hedge_words(span) {
                out.push(Mention::Command(n, words));
            }
        }
    }
    out
}

/// The flag a word names (`[--format` → `--format`, `--out=x` → `--out`), if it is one.
fn flag_of(word: &str) -> Option<&str> {
    let word = word
        .trim_start_matches('[')
        .trim_end_matches([']', ',', ')']);
    let word = word.split_once('=').map_or(word, |(flag, _)| flag);
    (word.starts_with('-') && word.len() > 1 && word != "--").then_some(word)
}

fn find_arg<'a>(command: &'a clap::Command, flag: &str) -> Option<&'a clap::Arg> {
    command
        .get_arguments()
        .find(|a| match flag.strip_prefix("--") {
            Some(long) => a.get_long() == Some(long),
            None => flag.len() == 2 && a.get_short() == flag.chars().nth(1),
        })
}

/// What is wrong with `hedge <words>`, if anything.
fn check_words(root: &clap::Command, words: &[String]) -> Option<String> {
    let mut command = root;
    let mut path = vec!["hedge".to_string()];
    let mut descending = true;
    let mut i = 0;
    while i < words.len() {
        let word = words[i].as_str();
        if word.starts_with('#') || ["|", "&&", ";", ">", "2>"].contains(&word) {
            break;
        }
        i += 1;
        if let Some(flag) = flag_of(word) {
            let Some(arg) = find_arg(command, flag) else {
                return Some(format!("`{}` has no flag `{flag}`", path.join(" ")));
            };
            let values: Vec<String> = arg
                .get_possible_values()
                .iter()
                .map(|v| v.get_name().to_string())
                .collect();
            let takes_value = arg.get_num_args().is_some_and(|n| n.takes_values());
            if takes_value && !word.contains('=') && i < words.len() {
                let value = words[i].trim_start_matches('[').trim_end_matches(']');
                i += 1;
                let placeholder =
                    value.chars().any(|c| c.is_ascii_uppercase()) || value.contains(['…', '<']);
                if !values.is_empty() && !placeholder {
                    for v in value.split('|') {
                        if !values.iter().any(|known| known == v) {
                            return Some(format!(
                                "`{} {flag}` takes {}, not `{v}`",
                                path.join(" "),
                                values.join(", ")
                            ));
                        }
                    }
                }
            }
            continue;
        }
        if !descending || !command.has_subcommands() {
            descending = false;
            continue;
        }
        // `hedge requests grant/deny`: each of them a subcommand.
        let names: Vec<&str> = word.split('/').collect();
        let found: Vec<&clap::Command> = names
            .iter()
            .filter_map(|n| command.find_subcommand(n))
            .collect();
        if found.len() != names.len() {
            let known: Vec<&str> = command
                .get_subcommands()
                .filter(|c| !c.is_hide_set() && c.get_name() != "help")
                .map(|c| c.get_name())
                .collect();
            return Some(format!(
                "`{}` has no subcommand `{word}` (it has: {})",
                path.join(" "),
                known.join(", ")
            ));
        }
        if found.len() > 1 {
            return None;
        }
        command = found[0];
        path.push(word.to_string());
    }
    None
}

/// Every command line or option row of the docs that `hedge` would not take, one line each.
fn command_drift(docs: &[(String, String)]) -> Vec<String> {
    let mut root = hedge::cli::Cli::command();
    root.build();
    let mut errors = Vec::new();
    for (name, text) in docs {
        for mention in mentions(text) {
            match mention {
                Mention::Command(line, words) => {
                    if let Some(e) = check_words(&root, &words) {
                        errors.push(format!("{name}:{line}: `hedge {}`: {e}", words.join(" ")));
                    }
                }
                Mention::Options(line, command, flags) => {
                    // One flag at a time: `-o, --out FILE` names one option twice.
                    for flag in flags {
                        let mut words = command.clone();
                        words.push(flag);
                        if let Some(e) = check_words(&root, &words) {
                            errors.push(format!(
                                "{name}:{line}: option table of `hedge {}`: {e}",
                                command.join(" ")
                            ));
                        }
                    }
                }
            }
        }
    }
    errors
}

#[test]
fn every_command_and_flag_the_docs_name_exists() {
    let docs = operator_docs();
    assert!(docs.len() > 5, "found only {} docs", docs.len());
    let commands = docs
        .iter()
        .flat_map(|(_, text)| mentions(text))
        .filter(|m| matches!(m, Mention::Command(..)))
        .count();
    assert!(commands > 50, "found only {commands} command lines");
    let errors = command_drift(&docs);
    assert!(
        errors.is_empty(),
        "the docs name commands or flags hedge does not have:\n{}",
        report(&errors)
    );
}

#[test]
fn a_wrong_flag_subcommand_or_value_in_a_doc_is_named_with_its_line() {
    let doc = "# Try\n\
        \n\
        Run `hedge lists compile --sources s.toml --out x.hidx` first.\n\
        \n\
        ```console\n\
        $ hedge requests grant 12 --profiles child\n\
        # runuser -u hedge -- hedge lists compiles \\\n\
              --out x.hidx\n\
        $ hedge policy show --format yaml\n\
        ```\n\
        \n\
        ### `hedge lists update`\n\
        \n\
        | option | default |\n\
        |---|---|\n\
        | `--cache DIR` | beside it |\n\
        | `--cache-dir DIR` | none |\n";
    let errors = command_drift(&[("x.md".to_string(), doc.to_string())]);
    assert_eq!(
        errors,
        [
            "x.md:6: `hedge requests grant 12 --profiles child`: `hedge requests grant` has no flag `--profiles`",
            "x.md:7: `hedge lists compiles --out x.hidx`: `hedge lists` has no subcommand `compiles` (it has: compile, update, history, verify, diff, stats)",
            "x.md:9: `hedge policy show --format yaml`: `hedge policy show --format` takes markdown, csv, json, not `yaml`",
            "x.md:17: option table of `hedge lists update`: `hedge lists update` has no flag `--cache-dir`",
        ],
        "{}",
        report(&errors)
    );
}
