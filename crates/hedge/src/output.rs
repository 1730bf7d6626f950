//! Rendering rows as a terminal table, CSV, JSON or Markdown.

use std::io::IsTerminal;

use comfy_table::{ContentArrangement, Table, presets};

use crate::cli::TableFormat;

/// A simple rectangular result: a header and rows of cells.
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

    pub fn render(&self, format: TableFormat) -> String {
        match format {
            TableFormat::Table => {
                let mut t = Table::new();
                t.load_preset(if std::io::stdout().is_terminal() {
                    presets::UTF8_FULL_CONDENSED
                } else {
                    presets::ASCII_MARKDOWN
                });
                t.set_content_arrangement(ContentArrangement::Dynamic);
                t.set_header(&self.header);
                for r in &self.rows {
                    t.add_row(r);
                }
                format!("{t}\n")
            }
            TableFormat::Csv => {
                let mut out = String::new();
                for r in std::iter::once(&self.header).chain(&self.rows) {
                    let cells: Vec<String> = r.iter().map(|c| csv_cell(c)).collect();
                    out.push_str(&cells.join(","));
                    out.push('\n');
                }
                out
            }
            TableFormat::Json => {
                let objects: Vec<serde_json::Map<String, serde_json::Value>> = self
                    .rows
                    .iter()
                    .map(|r| {
                        self.header
                            .iter()
                            .zip(r)
                            .map(|(h, c)| {
                                let v = c
                                    .parse::<u64>()
                                    .map(serde_json::Value::from)
                                    .unwrap_or_else(|_| c.clone().into());
                                (h.clone(), v)
                            })
                            .collect()
                    })
                    .collect();
                serde_json::to_string_pretty(&objects).unwrap_or_default() + "\n"
            }
            TableFormat::Markdown => {
                let mut out = format!(
                    "| {} |\n|{}\n",
                    self.header.join(" | "),
                    "---|".repeat(self.header.len())
                );
                for r in &self.rows {
                    let cells: Vec<String> = r.iter().map(|c| c.replace('|', "\\|")).collect();
                    out.push_str(&format!("| {} |\n", cells.join(" | ")));
                }
                out
            }
        }
    }
}

fn csv_cell(c: &str) -> String {
    if c.contains([',', '"', '\n']) {
        format!("\"{}\"", c.replace('"', "\"\""))
    } else {
        c.to_string()
    }
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
