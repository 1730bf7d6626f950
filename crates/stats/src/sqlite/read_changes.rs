//! The reads of the list-change history that `hedge lists compile` records: per
//! compilation and category ([`Store::list_changes`](crate::Store::list_changes)), and the
//! changed names of a period (`hedge report changes`).

use std::collections::HashMap;

use jiff::Timestamp;

use super::{SqliteStore, category_filter, timestamp_column, ts_text};
use crate::error::Error;
use crate::store::{
    CategoryChange, ChangeKind, ChangedName, ChangedNames, ChangesQuery, ListChange, NameChange,
    UnrecordedNames,
};

impl SqliteStore {
    /// [`Store::list_changes`](crate::Store::list_changes).
    pub(super) fn read_list_changes(
        &self,
        since: Option<Timestamp>,
    ) -> Result<Vec<ListChange>, Error> {
        let err = self.err("reading list changes");
        let since = since.map(ts_text).unwrap_or_default();
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, compiled_at, old_version, new_version, category, added, removed, \
                 recategorised FROM list_changes WHERE compiled_at >= ?1 \
                 ORDER BY compiled_at, id",
            )
            .map_err(&err)?;
        let mut names_stmt = self
            .conn
            .prepare(
                "SELECT name, change, from_category FROM list_change_names \
                 WHERE change_id = ?1 ORDER BY change, name",
            )
            .map_err(&err)?;
        let rows = stmt
            .query_map([since], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, i64>(5)?,
                    r.get::<_, i64>(6)?,
                    r.get::<_, i64>(7)?,
                ))
            })
            .map_err(&err)?;
        let mut out: Vec<ListChange> = Vec::new();
        let mut ts_cache: HashMap<String, Timestamp> = HashMap::new();
        for row in rows {
            let (id, at, old, new, category, added, removed, recat) = row.map_err(&err)?;
            let compiled_at = match ts_cache.get(&at) {
                Some(t) => *t,
                None => {
                    let t: Timestamp = at.parse().map_err(|e| {
                        Error::Invalid(format!(
                            "statistics store {}: list change {id} has a bad time {at:?}: {e}",
                            self.path.display()
                        ))
                    })?;
                    ts_cache.insert(at.clone(), t);
                    t
                }
            };
            let names = names_stmt
                .query_map([id], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, Option<String>>(2)?,
                    ))
                })
                .map_err(&err)?
                .filter_map(|r| match r {
                    Ok((name, change, from_category)) => ChangeKind::parse(&change).map(|change| {
                        Ok(NameChange {
                            name,
                            change,
                            from_category,
                        })
                    }),
                    Err(e) => Some(Err(e)),
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(&err)?;
            let cat = CategoryChange {
                category,
                added: added.max(0) as u64,
                removed: removed.max(0) as u64,
                recategorised: recat.max(0) as u64,
                names,
            };
            match out.last_mut() {
                Some(last)
                    if last.compiled_at == compiled_at
                        && last.old_version == old
                        && last.new_version == new =>
                {
                    last.categories.push(cat)
                }
                _ => out.push(ListChange {
                    compiled_at,
                    old_version: old,
                    new_version: new,
                    categories: vec![cat],
                }),
            }
        }
        Ok(out)
    }

    /// The names that the list compilations of a period added, removed or recategorised
    /// (`hedge report changes`). Reads only the period's rows: the category filter and the
    /// time range are SQL, and a removed name's new categories come from the same
    /// compilation's rows through the primary key.
    pub fn changed_names(&self, q: &ChangesQuery) -> Result<ChangedNames, Error> {
        let mut filter = String::from("lc.compiled_at >= ? AND lc.compiled_at < ?");
        let mut args = vec![ts_text(q.from), ts_text(q.until)];
        let compilations = self.changes_rows(
            &format!(
                "SELECT count(DISTINCT lc.compiled_at || ' ' || lc.new_version) \
                 FROM list_changes lc WHERE {filter}"
            ),
            &args,
            |r| r.get::<_, i64>(0),
        )?;
        if let Some(c) = &q.category {
            let mut sql = String::new();
            category_filter(&mut sql, &mut args, c);
            filter.push_str(&sql.replace("category", "lc.category"));
        }
        let names = self.changes_rows(
            &format!(
                "SELECT lc.compiled_at, lc.old_version, lc.new_version, lc.category, n.name, \
                        n.change, n.from_category, \
                        CASE WHEN n.change = 'removed' THEN \
                            (SELECT group_concat(lc2.category, ',') \
                             FROM list_changes lc2 JOIN list_change_names n2 ON n2.change_id = lc2.id \
                             WHERE lc2.compiled_at = lc.compiled_at \
                               AND lc2.new_version = lc.new_version \
                               AND n2.name = n.name AND n2.change = 'recategorised') \
                        END \
                 FROM list_changes lc JOIN list_change_names n ON n.change_id = lc.id \
                 WHERE {filter} \
                 ORDER BY lc.compiled_at, lc.id, n.change, n.name"
            ),
            &args,
            |r| {
                Ok(ChangedName {
                    compiled_at: timestamp_column(r, 0)?,
                    old_version: r.get(1)?,
                    new_version: r.get(2)?,
                    category: r.get(3)?,
                    name: r.get(4)?,
                    change: change_column(r, 5)?,
                    from_category: r.get(6)?,
                    to_category: r.get(7)?,
                })
            },
        )?;
        let unrecorded = self.changes_rows(
            &format!(
                "SELECT lc.compiled_at, lc.category, lc.added + lc.removed + lc.recategorised, \
                        (SELECT count(*) FROM list_change_names n WHERE n.change_id = lc.id) \
                 FROM list_changes lc WHERE {filter} \
                 ORDER BY lc.compiled_at, lc.id"
            ),
            &args,
            |r| {
                Ok(UnrecordedNames {
                    compiled_at: timestamp_column(r, 0)?,
                    category: r.get(1)?,
                    changed: r.get::<_, i64>(2)?.max(0) as u64,
                    recorded: r.get::<_, i64>(3)?.max(0) as u64,
                })
            },
        )?;
        Ok(ChangedNames {
            compilations: compilations.first().map_or(0, |n| (*n).max(0) as u64),
            names,
            unrecorded: unrecorded
                .into_iter()
                .filter(|u| u.changed > u.recorded)
                .collect(),
        })
    }

    fn changes_rows<T>(
        &self,
        sql: &str,
        args: &[String],
        row: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, Error> {
        let err = self.err("reading list changes");
        let mut stmt = self.conn.prepare(sql).map_err(&err)?;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(args), row)
            .map_err(&err)?;
        rows.collect::<Result<_, _>>().map_err(&err)
    }
}

/// Column `i` as a [`ChangeKind`] (the table's CHECK allows no other value).
fn change_column(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<ChangeKind> {
    let text: String = r.get(i)?;
    ChangeKind::parse(&text).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Text,
            format!("{text:?} is not a change").into(),
        )
    })
}
