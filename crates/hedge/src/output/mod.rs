//! Everything hedge prints as rows and columns, in one place: the `--format` choice, the
//! terminal table, CSV (the `csv` crate), JSON, Markdown and thousands separators. The
//! commands build [`Rows`] (or, for `hedge report`, a [`hedge_stats::Report`]: see
//! [`report`]) and print what this module renders.

pub mod policy_diff;
pub mod report;
pub mod requests;

use std::io::{IsTerminal, Write};

use comfy_table::{CellAlignment, ContentArrangement, Table, presets};
use serde::Serialize;

/// How a command prints a table (`--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A text table.
    Table,
    /// CSV with a header line (RFC 4180; fields quoted only when they must be).
    Csv,
    /// Pretty JSON.
    Json,
    /// Markdown tables.
    Markdown,
}

/// `--format`, else a table on a terminal and CSV into a pipe or file.
pub fn default_format(format: Option<Format>) -> Format {
    match format {
        Some(f) => f,
        None if std::io::stdout().is_terminal() => Format::Table,
        None => Format::Csv,
    }
}

/// How a text table is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// For a person at a terminal: boxes that fit its width; when piped, plain ASCII in
    /// Markdown style, which greps and pastes well.
    Terminal,
    /// For a document (a report that is copied into an answer): UTF-8 boxes wherever it goes,
    /// never wrapped, the count (the last column) right-aligned.
    Document,
}

/// A rectangular result: a header and rows of cells.
pub struct Rows {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Rows {
    pub fn new(header: &[&str]) -> Rows {
        Rows {
            header: header.iter().map(|s| s.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    pub fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }

    /// The rows in `format`, ending with a newline. JSON is an array of objects keyed by the
    /// header, with cells that are whole numbers as numbers.
    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Table => format!("{}\n", self.table(Layout::Terminal)),
            Format::Csv => csv(std::iter::once(&self.header).chain(&self.rows)),
            Format::Json => json(&self.objects()),
            Format::Markdown => markdown(&self.header, &self.rows, Layout::Terminal),
        }
    }

    /// A text table, without a final newline.
    pub fn table(&self, layout: Layout) -> String {
        let mut t = Table::new();
        let (preset, arrangement) = match layout {
            Layout::Terminal if std::io::stdout().is_terminal() => {
                (presets::UTF8_FULL_CONDENSED, ContentArrangement::Dynamic)
            }
            Layout::Terminal => (presets::ASCII_MARKDOWN, ContentArrangement::Dynamic),
            Layout::Document => (presets::UTF8_FULL_CONDENSED, ContentArrangement::Disabled),
        };
        t.load_preset(preset)
            .set_content_arrangement(arrangement)
            .set_header(&self.header);
        for r in &self.rows {
            t.add_row(r);
        }
        if layout == Layout::Document {
            let last = t.column_count().saturating_sub(1);
            if let Some(col) = t.column_mut(last) {
                col.set_cell_alignment(CellAlignment::Right);
            }
        }
        t.to_string()
    }

    fn objects(&self) -> Vec<serde_json::Map<String, serde_json::Value>> {
        let cell = |c: &String| {
            c.parse::<u64>()
                .map(serde_json::Value::from)
                .unwrap_or_else(|_| c.clone().into())
        };
        self.rows
            .iter()
            .map(|r| {
                let pairs = self.header.iter().zip(r);
                pairs.map(|(h, c)| (h.clone(), cell(c))).collect()
            })
            .collect()
    }
}

/// Writes `text` to standard output. A reader that has stopped reading (`| head`) ends the
/// command through SIGPIPE, whose default action `cmd::run` restores.
pub fn print(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// Records as CSV, one line each (`\n`), quoted where RFC 4180 requires it.
pub fn csv<R, F>(records: impl IntoIterator<Item = R>) -> String
where
    R: IntoIterator<Item = F>,
    F: AsRef<[u8]>,
{
    let mut w = csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(Vec::new());
    for r in records {
        // Writing to memory fails only for a record of no fields at all, which none is.
        let _ = w.write_record(r);
    }
    let bytes = w.into_inner().unwrap_or_default();
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// `value` as pretty JSON, ending with a newline.
pub fn json<T: Serialize + ?Sized>(value: &T) -> String {
    let mut s =
        serde_json::to_string_pretty(value).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}

/// A Markdown table, each line ending with a newline. In a [`Layout::Document`] the last
/// column (the count) is right-aligned.
pub fn markdown(header: &[impl AsRef<str>], rows: &[Vec<String>], layout: Layout) -> String {
    let line = |cells: &mut dyn Iterator<Item = String>| {
        format!("| {} |\n", cells.collect::<Vec<_>>().join(" | "))
    };
    let n = header.len();
    let align = (0..n).map(|i| {
        let right = layout == Layout::Document && i + 1 == n;
        if right { "--:" } else { "---" }.to_owned()
    });
    let mut out = line(&mut header.iter().map(|h| md_escape(h.as_ref())));
    out.push_str(&line(&mut align.into_iter()));
    for r in rows {
        out.push_str(&line(&mut r.iter().map(|c| md_escape(c))));
    }
    out
}

/// A cell's text made safe inside a Markdown table row: `|` escaped, line breaks as `<br>`
/// (a raw one would end the row).
fn md_escape(s: &str) -> String {
    s.replace('|', "\\|")
        .replace("\r\n", "<br>")
        .replace(['\n', '\r'], "<br>")
}

/// Seconds since the Unix epoch as UTC time: `2026-01-31 02:00:00Z`.
pub fn utc_time(secs: u64) -> String {
    jiff::Timestamp::from_second(secs as i64).map_or_else(
        |_| secs.to_string(),
        |t| t.strftime("%Y-%m-%d %H:%M:%SZ").to_string(),
    )
}

/// `1 profile`, `3 profiles`: a count and its noun, for sentences (in hedge-lists, so that
/// the crates below hedge say it the same way).
pub fn counted(n: usize, noun: &str) -> String {
    hedge_lists::counted(n as u64, noun)
}

/// A config value's name as hedge.toml writes it (`Recursive` → `recursive`): the enums
/// are `rename_all = "lowercase"`.
pub fn config_word(value: impl std::fmt::Debug) -> String {
    format!("{value:?}").to_lowercase()
}

/// A count as a cell in `format`: with thousands separators where a person reads it (a
/// table, Markdown), bare digits where a program does (CSV, and JSON's numbers).
pub fn count_cell(n: u64, format: Format) -> String {
    match format {
        Format::Table | Format::Markdown => thousands(n),
        Format::Csv | Format::Json => n.to_string(),
    }
}

/// `1234567` → `1,234,567` (in hedge-lists, which prints counts too).
pub use hedge_lists::thousands;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(u64::MAX), "18,446,744,073,709,551,615");
    }

    #[test]
    fn csv_quotes_only_when_needed() {
        let fields = [
            "adult-material",
            "a,b",
            "say \"hi\"",
            "two\nlines",
            "cr\r",
            "",
        ];
        assert_eq!(
            csv([fields]),
            "adult-material,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",\"cr\r\",\n"
        );
    }

    #[test]
    fn markdown_cells_cannot_break_the_table() {
        let rows = vec![vec!["a|b".to_owned(), "two\nlines".to_owned()]];
        assert_eq!(
            markdown(&["x", "count"], &rows, Layout::Document),
            "| x | count |\n| --- | --: |\n| a\\|b | two<br>lines |\n"
        );
    }
}
