//! The reads of the counts: sums for a report, the top blocked domains (monthly totals
//! and daily counts combined), and what the store holds.

use std::collections::HashMap;

use jiff::civil::Date;
use rusqlite::OptionalExtension;

use super::{SqliteStore, category_filter};
use crate::action::Action;
use crate::batch::OTHER_DOMAIN;
use crate::error::Error;
use crate::store::{CountRow, CountsQuery, DomainCount, DomainsQuery, Grain};

impl SqliteStore {
    /// [`Store::counts`](crate::Store::counts).
    pub(super) fn sum_counts(&self, q: &CountsQuery) -> Result<Vec<CountRow>, Error> {
        let period = match q.grain {
            None => "NULL",
            Some(Grain::Month) => "substr(day, 1, 7)",
            Some(Grain::Day) => "day",
        };
        let col = |on: bool, name: &'static str| if on { name } else { "NULL" };
        let mut sql = format!(
            "SELECT {period}, {}, {}, {}, SUM(n) FROM counts WHERE 1 = 1",
            col(q.by_profile, "profile"),
            col(q.by_category, "category"),
            col(q.by_action, "action"),
        );
        let mut args = Vec::new();
        range_filter(&mut sql, &mut args, q.from, q.to);
        if let Some(p) = &q.profile {
            sql.push_str(" AND profile = ?");
            args.push(p.clone());
        }
        if let Some(c) = &q.category {
            category_filter(&mut sql, &mut args, c);
        }
        if let Some(a) = q.action {
            sql.push_str(" AND action = ?");
            args.push(a.as_str().to_owned());
        }
        sql.push_str(" GROUP BY 1, 2, 3, 4");
        let err = self.err("summing counts");
        let mut stmt = self.conn.prepare(&sql).map_err(&err)?;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(&args), |r| {
                Ok((
                    r.get::<_, Option<String>>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, i64>(4)?,
                ))
            })
            .map_err(&err)?;
        let mut out = Vec::new();
        for row in rows {
            let (period, profile, category, action, n) = row.map_err(&err)?;
            let action = match action {
                None => None,
                Some(a) => Some(a.parse::<Action>().map_err(|_| {
                    Error::Invalid(format!(
                        "statistics store {}: unknown action {a:?} in the counts table (written \
                         by a newer hedge?)",
                        self.path.display()
                    ))
                })?),
            };
            if n <= 0 {
                continue;
            }
            out.push(CountRow {
                period,
                profile,
                category,
                action,
                n: n as u64,
            });
        }
        Ok(out)
    }

    /// [`Store::top_blocked_domains`](crate::Store::top_blocked_domains).
    pub(super) fn rank_blocked_domains(&self, q: &DomainsQuery) -> Result<Vec<DomainCount>, Error> {
        if q.limit == 0 {
            return Ok(Vec::new());
        }
        // Whole months come from the monthly totals, the days at either end from the daily
        // counts; the two are added up per (domain, category).
        let (months, days) = split_range(q.from, q.to);
        let mut per: HashMap<(String, String), u64> = HashMap::new();
        let err = self.err("ranking blocked domains");
        let mut add = |table: &str, range: Option<(String, String)>| -> Result<(), Error> {
            let column = if table == "blocked_domains" {
                "day"
            } else {
                "month"
            };
            let mut sql = format!("SELECT domain, category, SUM(n) FROM {table} WHERE domain <> ?");
            let mut args = vec![OTHER_DOMAIN.to_owned()];
            if let Some((from, to)) = range {
                sql.push_str(&format!(" AND {column} >= ? AND {column} <= ?"));
                args.push(from);
                args.push(to);
            }
            if let Some(p) = &q.profile {
                sql.push_str(" AND profile = ?");
                args.push(p.clone());
            }
            if let Some(c) = &q.category {
                category_filter(&mut sql, &mut args, c);
            }
            sql.push_str(" GROUP BY domain, category");
            let mut stmt = self.conn.prepare(&sql).map_err(&err)?;
            let rows = stmt
                .query_map(rusqlite::params_from_iter(&args), |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                    ))
                })
                .map_err(&err)?;
            for row in rows {
                let (domain, category, n) = row.map_err(&err)?;
                *per.entry((domain, category)).or_insert(0) += n.max(0) as u64;
            }
            Ok(())
        };
        match months {
            Some(m) => add("blocked_domains_monthly", m)?,
            None if days.is_empty() => add("blocked_domains_monthly", None)?,
            None => {}
        }
        for d in days {
            add("blocked_domains", Some(d))?;
        }
        // Per domain: the total, and the category with the most blocks (ties: by name).
        let mut by_domain: HashMap<String, (u64, String, u64)> = HashMap::new();
        for ((domain, category), n) in per {
            let e = by_domain
                .entry(domain)
                .or_insert_with(|| (0, String::new(), 0));
            e.0 += n;
            if n > e.2 || (n == e.2 && (e.1.is_empty() || category < e.1)) {
                e.1 = category;
                e.2 = n;
            }
        }
        let mut out: Vec<DomainCount> = by_domain
            .into_iter()
            .filter(|(_, (n, _, _))| *n > 0 && *n >= q.min_count)
            .map(|(domain, (n, category, _))| DomainCount {
                domain,
                category,
                n,
            })
            .collect();
        out.sort_unstable_by(|a, b| b.n.cmp(&a.n).then_with(|| a.domain.cmp(&b.domain)));
        out.truncate(q.limit);
        Ok(out)
    }

    /// The first and last UTC day (`YYYY-MM-DD`) that have query counts; `None` when the
    /// store holds none (a new store, or one only `hedge lists compile` wrote to).
    pub fn counted_days(&self) -> Result<Option<(String, String)>, Error> {
        self.conn
            .query_row("SELECT MIN(day), MAX(day) FROM counts", [], |r| {
                Ok(r.get::<_, Option<String>>(0)?
                    .zip(r.get::<_, Option<String>>(1)?))
            })
            .map_err(self.err("reading the counted days"))
    }

    /// Rows in a table, for tests and `hedge` diagnostics.
    #[doc(hidden)]
    pub fn row_count(&self, table: &str) -> Result<u64, Error> {
        if !matches!(
            table,
            "counts"
                | "blocked_domains"
                | "blocked_domains_monthly"
                | "allowed_domains"
                | "list_changes"
                | "list_change_names"
                | "unblock_requests"
                | "unblock_request_contacts"
                | "grants"
                | "recategorisations"
                | "audit_log"
                | "query_log"
        ) {
            return Err(Error::Invalid(format!("no table {table:?}")));
        }
        self.conn
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| {
                r.get::<_, i64>(0)
            })
            .optional()
            .map(|n| n.unwrap_or(0).max(0) as u64)
            .map_err(self.err("counting rows"))
    }
}

/// Appends `AND` clauses for a day range (either end may be open).
fn range_filter(sql: &mut String, args: &mut Vec<String>, from: Option<Date>, to: Option<Date>) {
    if let Some(from) = from {
        sql.push_str(" AND day >= ?");
        args.push(from.to_string());
    }
    if let Some(to) = to {
        sql.push_str(" AND day <= ?");
        args.push(to.to_string());
    }
}

/// An inclusive range of days or months, as text.
type Range = (String, String);

/// `(whole months, leftover day ranges)`; whole months: `None` = none, `Some(None)` = all.
type Split = (Option<Option<Range>>, Vec<Range>);

/// Splits a day range into whole months (`YYYY-MM` bounds) and the day ranges
/// (`YYYY-MM-DD` bounds) left over at either end. Open ends count as whole months.
fn split_range(from: Option<Date>, to: Option<Date>) -> Split {
    let month = |d: Date| format!("{:04}-{:02}", d.year(), d.month());
    let (from, to) = match (from, to) {
        (None, None) => return (Some(None), Vec::new()),
        (f, t) => (
            f.unwrap_or(Date::MIN).max(Date::constant(1, 1, 1)),
            t.unwrap_or(Date::MAX).min(Date::constant(9999, 12, 31)),
        ),
    };
    if from > to {
        return (None, Vec::new());
    }
    let first_full = if from.day() == 1 {
        Some(from)
    } else {
        from.last_of_month().tomorrow().ok()
    };
    let last_full = if to == to.last_of_month() {
        Some(to)
    } else {
        to.first_of_month().yesterday().ok()
    };
    match (first_full, last_full) {
        (Some(a), Some(b)) if a <= b => {
            let mut days = Vec::new();
            if from < a
                && let Ok(end) = a.yesterday()
            {
                days.push((from.to_string(), end.to_string()));
            }
            if b < to
                && let Ok(start) = b.tomorrow()
            {
                days.push((start.to_string(), to.to_string()));
            }
            (Some(Some((month(a), month(b)))), days)
        }
        _ => (None, vec![(from.to_string(), to.to_string())]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Option<Date> {
        Some(s.parse().expect("test date"))
    }

    fn pair(a: &str, b: &str) -> (String, String) {
        (a.to_owned(), b.to_owned())
    }

    #[test]
    fn ranges_split_into_whole_months_and_edge_days() {
        assert_eq!(
            split_range(d("2025-01-01"), d("2025-12-31")),
            (Some(Some(pair("2025-01", "2025-12"))), vec![])
        );
        assert_eq!(
            split_range(d("2025-01-15"), d("2025-03-10")),
            (
                Some(Some(pair("2025-02", "2025-02"))),
                vec![
                    pair("2025-01-15", "2025-01-31"),
                    pair("2025-03-01", "2025-03-10")
                ]
            )
        );
        assert_eq!(
            split_range(d("2025-01-15"), d("2025-01-20")),
            (None, vec![pair("2025-01-15", "2025-01-20")])
        );
        assert_eq!(
            split_range(d("2025-01-15"), d("2025-02-20")),
            (None, vec![pair("2025-01-15", "2025-02-20")])
        );
        assert_eq!(split_range(None, None), (Some(None), vec![]));
    }
}
