//! Rendering a [`Report`] as a terminal table, CSV, JSON or Markdown.

use std::fmt::Write as _;
use std::str::FromStr;

use comfy_table::{CellAlignment, ContentArrangement, Table, presets};

use crate::error::Error;
use crate::report::{Cell, Dim, Report};

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Boxed tables for a terminal, with thousands separators.
    Table,
    /// One tidy CSV table with a header: a `section` column (`row`, `total`, `grand-total`,
    /// `top-domain`), one column per dimension, and `count`.
    Csv,
    /// The [`Report`] serialised as pretty JSON.
    Json,
    /// Markdown tables, to paste into a response or a web page.
    Markdown,
}

impl FromStr for Format {
    type Err = Error;

    fn from_str(s: &str) -> Result<Format, Error> {
        match s.to_ascii_lowercase().as_str() {
            "table" => Ok(Format::Table),
            "csv" => Ok(Format::Csv),
            "json" => Ok(Format::Json),
            "markdown" | "md" => Ok(Format::Markdown),
            _ => Err(Error::Invalid(format!(
                "unknown format {s:?}; use table, csv, json or markdown"
            ))),
        }
    }
}

/// Renders `report`; the text ends with a newline.
pub fn render(report: &Report, format: Format) -> String {
    match format {
        Format::Table => table(report),
        Format::Csv => csv(report),
        Format::Json => {
            let mut s = serde_json::to_string_pretty(report)
                .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
            s.push('\n');
            s
        }
        Format::Markdown => markdown(report),
    }
}

/// `1234567` → `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn pretty(c: Cell) -> String {
    match c {
        Cell::Count(n) => thousands(n),
        hidden => hidden.to_string(),
    }
}

fn period_dim(r: &Report) -> Option<Dim> {
    r.by.iter()
        .copied()
        .find(|d| matches!(d, Dim::Month | Dim::Day))
}

/// The period totals add something only when rows break periods down further.
fn show_period_totals(r: &Report) -> bool {
    period_dim(r).is_some() && r.by.len() > 1
}

fn title(r: &Report) -> String {
    let mut s = format!("Queries from {} to {}", r.from, r.to);
    if let Some(a) = r.action {
        let _ = write!(s, ", {a}");
    }
    if let Some(p) = &r.profile {
        let _ = write!(s, ", profile {p}");
    }
    if let Some(c) = &r.category {
        let _ = write!(s, ", category {c} (and below)");
    }
    s
}

fn notes(r: &Report) -> Vec<String> {
    let mut notes = Vec::new();
    if r.by.contains(&Dim::Category) {
        notes.push(
            "A category's count includes the categories under it, so rows overlap; the totals \
             count each query once."
                .to_owned(),
        );
    }
    if let Some(k) = r.suppress_below {
        notes.push(format!(
            "Counts below {k} are shown as <{k}; counts shown as [c] are at least {k} and \
             withheld so that no small count can be worked out from the totals."
        ));
        if r.top_domains.is_some() {
            notes.push(format!(
                "Domains blocked fewer than {k} times are not listed."
            ));
        }
    }
    notes
}

fn new_table(headers: Vec<String>) -> Table {
    let mut t = Table::new();
    t.load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(headers);
    t
}

fn right_align_last(t: &mut Table) {
    let last = t.column_count().saturating_sub(1);
    if let Some(col) = t.column_mut(last) {
        col.set_cell_alignment(CellAlignment::Right);
    }
}

fn table(r: &Report) -> String {
    let mut out = title(r);
    out.push_str("\n\n");
    if !r.by.is_empty() {
        let mut headers: Vec<String> = r.by.iter().map(|d| d.as_str().to_owned()).collect();
        headers.push("count".into());
        let mut t = new_table(headers);
        for row in &r.rows {
            let mut cells: Vec<String> = r.by.iter().map(|d| row.get(*d).to_owned()).collect();
            cells.push(pretty(row.count));
            t.add_row(cells);
        }
        right_align_last(&mut t);
        let _ = writeln!(out, "{t}\n");
        if show_period_totals(r) {
            let dim = period_dim(r).map_or("period", Dim::as_str);
            let mut t = new_table(vec![dim.to_owned(), "total".into()]);
            for p in &r.totals {
                t.add_row(vec![p.period.clone(), pretty(p.count)]);
            }
            right_align_last(&mut t);
            let _ = writeln!(out, "{t}\n");
        }
    }
    let _ = writeln!(out, "Total: {}", pretty(r.total));
    if let Some(domains) = &r.top_domains {
        let mut t = new_table(vec![
            "#".into(),
            "blocked domain".into(),
            "category".into(),
            "count".into(),
        ]);
        for (i, d) in domains.iter().enumerate() {
            t.add_row(vec![
                (i + 1).to_string(),
                d.domain.clone(),
                d.category.clone(),
                thousands(d.count),
            ]);
        }
        right_align_last(&mut t);
        let _ = writeln!(out, "\nTop blocked domains\n{t}");
    }
    let notes = notes(r);
    if !notes.is_empty() {
        out.push('\n');
        for n in notes {
            let _ = writeln!(out, "{n}");
        }
    }
    out
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) || s.starts_with(' ') || s.ends_with(' ') {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

fn csv(r: &Report) -> String {
    let mut cols: Vec<&str> = vec!["section"];
    cols.extend(r.by.iter().map(|d| d.as_str()));
    let domains = r.top_domains.as_deref().unwrap_or_default();
    if r.top_domains.is_some() {
        cols.push("domain");
        if !r.by.contains(&Dim::Category) {
            cols.push("category");
        }
    }
    cols.push("count");
    let mut out = cols.join(",");
    out.push('\n');
    let mut line = |values: &dyn Fn(&str) -> String| {
        let fields: Vec<String> = cols.iter().map(|c| csv_field(&values(c))).collect();
        out.push_str(&fields.join(","));
        out.push('\n');
    };
    for row in &r.rows {
        line(&|c| match c {
            "section" => "row".into(),
            "count" => row.count.to_string(),
            "domain" => String::new(),
            c => c
                .parse::<Dim>()
                .map(|d| row.get(d).to_owned())
                .unwrap_or_default(),
        });
    }
    if period_dim(r).is_some() {
        let pd = period_dim(r).map_or("", Dim::as_str);
        for t in &r.totals {
            line(&|c| match c {
                "section" => "total".into(),
                "count" => t.count.to_string(),
                c if c == pd => t.period.clone(),
                _ => String::new(),
            });
        }
    }
    line(&|c| match c {
        "section" => "grand-total".into(),
        "count" => r.total.to_string(),
        _ => String::new(),
    });
    for d in domains {
        line(&|c| match c {
            "section" => "top-domain".into(),
            "domain" => d.domain.clone(),
            "category" => d.category.clone(),
            "count" => d.count.to_string(),
            _ => String::new(),
        });
    }
    out
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|")
}

fn md_table(out: &mut String, headers: &[&str], rows: impl Iterator<Item = Vec<String>>) {
    let _ = writeln!(out, "| {} |", headers.join(" | "));
    let align: Vec<&str> = (0..headers.len())
        .map(|i| if i + 1 == headers.len() { "--:" } else { "---" })
        .collect();
    let _ = writeln!(out, "| {} |", align.join(" | "));
    for r in rows {
        let cells: Vec<String> = r.iter().map(|c| md_escape(c)).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out.push('\n');
}

fn markdown(r: &Report) -> String {
    let mut out = format!("## {}\n\n", title(r));
    if !r.by.is_empty() {
        let mut headers: Vec<&str> = r.by.iter().map(|d| d.as_str()).collect();
        headers.push("count");
        md_table(
            &mut out,
            &headers,
            r.rows.iter().map(|row| {
                let mut v: Vec<String> = r.by.iter().map(|d| row.get(*d).to_owned()).collect();
                v.push(pretty(row.count));
                v
            }),
        );
        if show_period_totals(r) {
            let dim = period_dim(r).map_or("period", Dim::as_str);
            md_table(
                &mut out,
                &[dim, "total"],
                r.totals
                    .iter()
                    .map(|t| vec![t.period.clone(), pretty(t.count)]),
            );
        }
    }
    let _ = writeln!(out, "**Total: {}**\n", pretty(r.total));
    if let Some(domains) = &r.top_domains {
        out.push_str("### Top blocked domains\n\n");
        md_table(
            &mut out,
            &["#", "domain", "category", "count"],
            domains.iter().enumerate().map(|(i, d)| {
                vec![
                    (i + 1).to_string(),
                    d.domain.clone(),
                    d.category.clone(),
                    thousands(d.count),
                ]
            }),
        );
    }
    for n in notes(r) {
        let _ = writeln!(out, "_{n}_\n");
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn csv_quotes_only_when_needed() {
        assert_eq!(csv_field("adult-material"), "adult-material");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
