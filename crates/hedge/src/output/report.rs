//! `hedge report`'s [`Report`] as a table, CSV, JSON or Markdown: a title, the rows, the
//! period totals, the grand total, the top blocked domains and notes on reading them.

use std::fmt::Write as _;

use hedge_stats::{Cell, Dim, Report};

use super::{Format, Layout, Rows, csv, json, markdown, thousands};

/// Renders `report`; the text ends with a newline.
pub fn render(report: &Report, format: Format) -> String {
    match format {
        Format::Table => table(report),
        Format::Csv => csv(csv_records(report)),
        Format::Json => json(report),
        Format::Markdown => markdown_document(report),
    }
}

/// A count with thousands separators, or how it is hidden (`<K`, `[c]`).
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

/// The tables of a report, as they are printed: the rows, the period totals (when they add
/// something) and the top blocked domains, each with its header.
struct Tables {
    rows: Option<Rows>,
    totals: Option<Rows>,
    top_domains: Option<Rows>,
}

impl Tables {
    fn of(r: &Report, domain_heading: &str) -> Tables {
        let rows = (!r.by.is_empty()).then(|| {
            let mut header: Vec<&str> = r.by.iter().map(|d| d.as_str()).collect();
            header.push("count");
            let mut t = Rows::new(&header);
            for row in &r.rows {
                let mut cells: Vec<String> = r.by.iter().map(|d| row.get(*d).to_owned()).collect();
                cells.push(pretty(row.count));
                t.push(cells);
            }
            t
        });
        let totals = show_period_totals(r).then(|| {
            let dim = period_dim(r).map_or("period", Dim::as_str);
            let mut t = Rows::new(&[dim, "total"]);
            for p in &r.totals {
                t.push(vec![p.period.clone(), pretty(p.count)]);
            }
            t
        });
        let top_domains = r.top_domains.as_ref().map(|domains| {
            let mut t = Rows::new(&["#", domain_heading, "category", "count"]);
            for (i, d) in domains.iter().enumerate() {
                t.push(vec![
                    (i + 1).to_string(),
                    d.domain.clone(),
                    d.category.clone(),
                    thousands(d.count),
                ]);
            }
            t
        });
        Tables {
            rows,
            totals,
            top_domains,
        }
    }
}

fn table(r: &Report) -> String {
    let tables = Tables::of(r, "blocked domain");
    let mut out = title(r);
    out.push_str("\n\n");
    for t in [&tables.rows, &tables.totals].into_iter().flatten() {
        let _ = writeln!(out, "{}\n", t.table(Layout::Document));
    }
    let _ = writeln!(out, "Total: {}", pretty(r.total));
    if let Some(t) = &tables.top_domains {
        let _ = writeln!(out, "\nTop blocked domains\n{}", t.table(Layout::Document));
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

fn markdown_document(r: &Report) -> String {
    let tables = Tables::of(r, "domain");
    let md = |t: &Rows| markdown(&t.header, &t.rows, Layout::Document) + "\n";
    let mut out = format!("## {}\n\n", title(r));
    for t in [&tables.rows, &tables.totals].into_iter().flatten() {
        out.push_str(&md(t));
    }
    let _ = writeln!(out, "**Total: {}**\n", pretty(r.total));
    if let Some(t) = &tables.top_domains {
        out.push_str("### Top blocked domains\n\n");
        out.push_str(&md(t));
    }
    for n in notes(r) {
        let _ = writeln!(out, "_{n}_\n");
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

/// One tidy CSV table: a `section` column (`row`, `total`, `grand-total`, `top-domain`), one
/// column per dimension (and `domain`, `category` for the top domains), and `count`. Counts
/// have no separators; hidden ones are `<K` or `[c]`.
fn csv_records(r: &Report) -> Vec<Vec<String>> {
    let mut cols: Vec<&str> = vec!["section"];
    cols.extend(r.by.iter().map(|d| d.as_str()));
    if r.top_domains.is_some() {
        cols.push("domain");
        if !r.by.contains(&Dim::Category) {
            cols.push("category");
        }
    }
    cols.push("count");
    let record = |value: &dyn Fn(&str) -> String| cols.iter().map(|c| value(c)).collect();
    let mut out: Vec<Vec<String>> = vec![cols.iter().map(|c| c.to_string()).collect()];
    for row in &r.rows {
        out.push(record(&|c| match c {
            "section" => "row".into(),
            "count" => row.count.to_string(),
            c => c
                .parse::<Dim>()
                .map(|d| row.get(d).to_owned())
                .unwrap_or_default(),
        }));
    }
    let pd = period_dim(r).map(Dim::as_str);
    for t in r.totals.iter().filter(|_| pd.is_some()) {
        out.push(record(&|c| match c {
            "section" => "total".into(),
            "count" => t.count.to_string(),
            c if Some(c) == pd => t.period.clone(),
            _ => String::new(),
        }));
    }
    out.push(record(&|c| match c {
        "section" => "grand-total".into(),
        "count" => r.total.to_string(),
        _ => String::new(),
    }));
    for d in r.top_domains.iter().flatten() {
        out.push(record(&|c| match c {
            "section" => "top-domain".into(),
            "domain" => d.domain.clone(),
            "category" => d.category.clone(),
            "count" => d.count.to_string(),
            _ => String::new(),
        }));
    }
    out
}
