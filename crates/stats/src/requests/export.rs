//! The requests of a period for publication (FOI Q6 and Q7), suppressed as reports are.

use std::collections::BTreeMap;

use jiff::civil::Date;
use rusqlite::params;

use crate::error::Error;
use crate::report::Cell;
use crate::requests::rows::status_column;
use crate::requests::types::{ExportQuery, ExportRow, RequestExport, RequestStatus};
use crate::sqlite::SqliteStore;
use crate::suppression::{Equation, suppress};

impl SqliteStore {
    /// The requests made in a period, for publication (FOI Q6 and Q7): name, category,
    /// profile, times requested, decision and its day. Nothing about the requesters, not
    /// even a request's number.
    pub fn export(&self, q: &ExportQuery) -> Result<RequestExport, Error> {
        if q.from > q.to {
            return Err(Error::Invalid(format!(
                "the period starts ({}) after it ends ({})",
                q.from, q.to
            )));
        }
        if q.suppress_below == Some(0) {
            return Err(Error::Invalid(
                "suppress below 0 hides nothing; give K of at least 1".to_owned(),
            ));
        }
        let err = self.err("exporting unblock requests");
        let until =
            q.to.tomorrow()
                .map(|d| d.to_string())
                .unwrap_or_else(|_| "9".into());
        let mut stmt = self
            .conn
            .prepare(
                "SELECT domain, category, profile, status, substr(decided_at, 1, 10), \
                 SUM(count) FROM unblock_requests WHERE requested_at >= ?1 AND requested_at < ?2 \
                 GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 3, 4, 5",
            )
            .map_err(&err)?;
        let rows = stmt
            .query_map(params![q.from.to_string(), until], |r| {
                let day: Option<String> = r.get(4)?;
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, String>(2)?,
                    status_column(r, 3)?,
                    day.and_then(|d| d.parse::<Date>().ok()),
                    r.get::<_, i64>(5)?.max(0) as u64,
                ))
            })
            .map_err(&err)?;
        let rows: Vec<_> = rows.collect::<Result<_, _>>().map_err(&err)?;
        Ok(publish(q, rows))
    }
}

type RawExportRow = (
    String,
    Option<String>,
    String,
    RequestStatus,
    Option<Date>,
    u64,
);

/// The export's cells, suppressed as asked: rows below K are left out and counted per
/// decision; then `decision total = listed rows + unlisted` and `total = Σ decision totals`
/// go through the report's suppression.
fn publish(q: &ExportQuery, raw: Vec<RawExportRow>) -> RequestExport {
    let k = q.suppress_below;
    let listed: Vec<RawExportRow> = raw
        .iter()
        .filter(|r| k.is_none_or(|k| r.5 >= k))
        .cloned()
        .collect();
    let mut unlisted: BTreeMap<RequestStatus, u64> = BTreeMap::new();
    let mut totals: BTreeMap<RequestStatus, u64> = BTreeMap::new();
    for r in &raw {
        *totals.entry(r.3).or_default() += r.5;
        if k.is_some_and(|k| r.5 < k) {
            *unlisted.entry(r.3).or_default() += r.5;
        }
    }
    // Cells: listed rows, then per status (unlisted, total), then the grand total.
    let mut values: Vec<u64> = listed.iter().map(|r| r.5).collect();
    let statuses: Vec<RequestStatus> = totals.keys().copied().collect();
    let mut equations = Vec::new();
    let grand = values.len() + 2 * statuses.len();
    let mut grand_parts = Vec::new();
    for s in &statuses {
        let u = values.len();
        values.push(unlisted.get(s).copied().unwrap_or(0));
        values.push(totals[s]);
        let mut parts: Vec<usize> = (0..listed.len()).filter(|&i| listed[i].3 == *s).collect();
        if k.is_some() {
            parts.push(u);
        }
        equations.push(Equation {
            total: u + 1,
            parts,
        });
        grand_parts.push(u + 1);
    }
    values.push(totals.values().sum());
    equations.push(Equation {
        total: grand,
        parts: grand_parts,
    });
    let hidden = match k {
        Some(k) => suppress(&values, &equations, k),
        None => vec![false; values.len()],
    };
    let cell = |i: usize| match (hidden[i], k) {
        (true, Some(k)) if values[i] < k => Cell::Suppressed { below: k },
        (true, _) => Cell::Withheld,
        (false, _) => Cell::Count(values[i]),
    };
    let rows = listed
        .iter()
        .enumerate()
        .map(|(i, r)| ExportRow {
            name: r.0.clone(),
            category: r.1.clone(),
            profile: r.2.clone(),
            requests: cell(i),
            decision: r.3,
            decided_on: r.4,
        })
        .collect();
    let base = listed.len();
    RequestExport {
        from: q.from,
        to: q.to,
        suppress_below: k,
        rows,
        unlisted: if k.is_some() {
            statuses
                .iter()
                .enumerate()
                .map(|(j, s)| (*s, cell(base + 2 * j)))
                .collect()
        } else {
            Vec::new()
        },
        totals: statuses
            .iter()
            .enumerate()
            .map(|(j, s)| (*s, cell(base + 2 * j + 1)))
            .collect(),
        total: cell(grand),
    }
}
