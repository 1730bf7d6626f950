//! `hedge lookup`: which categories is a name in, and which list said so?

use std::io::{BufRead, Write};
use std::process::ExitCode;

use hedge_lists::Index;

use crate::cli::{LookupArgs, LookupFormat};

pub fn run(args: LookupArgs) -> anyhow::Result<ExitCode> {
    let index = match &args.index {
        Some(path) => super::lists::open(path)?,
        None => crate::starter::index()?,
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    print_all(&args, &index, &mut out)?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Every name of `args` (`-`: each line of standard input), in the chosen format.
fn print_all(args: &LookupArgs, index: &Index, out: &mut impl Write) -> std::io::Result<()> {
    if args.format == LookupFormat::Tsv {
        writeln!(out, "name\tmatched\tcategories\tsources")?;
    }
    for name in &args.names {
        if name == "-" {
            for line in std::io::stdin().lock().lines() {
                let line = line?;
                let line = line.trim();
                if !line.is_empty() && !line.starts_with('#') {
                    print_one(index, line, args.format, out)?;
                }
            }
        } else {
            print_one(index, name, args.format, out)?;
        }
    }
    Ok(())
}

/// One name's verdict, in the chosen format.
fn print_one(
    index: &Index,
    input: &str,
    format: LookupFormat,
    out: &mut impl Write,
) -> std::io::Result<()> {
    // Unicode input is looked up as punycode; anything else as typed (case-insensitively).
    let ascii = if input.is_ascii() {
        input.to_string()
    } else {
        hedge_lists::normalize(input).unwrap_or_else(|_| input.to_string())
    };
    let hit = index.lookup(&ascii);
    let (matched, categories, sources) = match hit {
        Some(m) => {
            let cats: Vec<&str> = index
                .categories(m.set)
                .iter()
                .map(|&c| index.taxonomy().id(c))
                .collect();
            let labels: Vec<String> = index
                .labels(m.set)
                .map(|l| {
                    if l.allow {
                        format!("{} (allow)", l.path())
                    } else {
                        l.path()
                    }
                })
                .collect();
            (
                m.suffix.to_ascii_lowercase(),
                cats.join(","),
                labels.join(","),
            )
        }
        None => ("-".to_string(), String::new(), String::new()),
    };
    match format {
        LookupFormat::Tsv => {
            let dash = |s: &str| {
                if s.is_empty() {
                    "-".to_string()
                } else {
                    s.to_string()
                }
            };
            writeln!(
                out,
                "{input}\t{matched}\t{}\t{}",
                dash(&categories),
                dash(&sources)
            )
        }
        LookupFormat::Json => {
            let split = |s: &str| -> Vec<String> {
                if s.is_empty() {
                    vec![]
                } else {
                    s.split(',').map(String::from).collect()
                }
            };
            let v = serde_json::json!({
                "name": input,
                "matched": if hit.is_some() { serde_json::Value::from(matched) } else { serde_json::Value::Null },
                "categories": split(&categories),
                "sources": split(&sources),
                "index": index.version(),
            });
            writeln!(out, "{v}")
        }
        LookupFormat::Text if hit.is_none() => writeln!(out, "{input}: not listed"),
        LookupFormat::Text => writeln!(
            out,
            "{input}: listed as {matched}\n  categories: {categories}\n  sources:    {sources}"
        ),
    }
}
