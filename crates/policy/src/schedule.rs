//! Schedules: per-profile time rules (`[[profile.schedule]]`) that block or allow categories
//! on some days between two local times, in the configured time zone.
//!
//! A [`crate::Policy`] is built for one moment: the rules active then are folded into each
//! profile's category flags when it is built, so `decide` does no time work. Whoever serves
//! it swaps in a policy rebuilt at [`crate::Policy::next_change`] (hedge's `live_policy`).
//!
//! Local times are civil times: `09:00` is nine o'clock on the wall clock whatever the UTC
//! offset, so a rule keeps its local hours across daylight-saving changes. A window that
//! starts in the hour skipped in spring starts when the clocks jump; one that starts in the
//! hour repeated in autumn starts at its first occurrence.

use std::fmt;

use hedge_lists::{CategoryIdx, Taxonomy};
use jiff::civil::{DateTime, Time};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{Timestamp, ToSpan};

use crate::PolicyError;
use crate::config::ScheduleConfig;

/// Day names as written in `days`, Monday first (jiff's Monday-zero offsets).
const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// One checked `[[profile.schedule]]` rule.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// The rule's name, shown by `explain` and `policy show`.
    pub name: String,
    /// Active on these weekdays, Monday first.
    days: [bool; 7],
    /// Start, inclusive (local wall-clock time).
    from: Time,
    /// End, exclusive; None for `24:00`, the end of the day.
    to: Option<Time>,
    /// Categories blocked while active.
    pub block: Vec<CategoryIdx>,
    /// Categories allowed while active (a block of another active rule wins).
    pub allow: Vec<CategoryIdx>,
    /// The rule as written, for `policy show`.
    pub config: ScheduleConfig,
}

impl Schedule {
    /// Checks a rule of `profile` against the taxonomy; errors name the rule and the key.
    pub(crate) fn parse(
        profile: &str,
        cfg: &ScheduleConfig,
        taxonomy: &Taxonomy,
    ) -> Result<Schedule, PolicyError> {
        let err = |key: &str, problem: String| {
            PolicyError::at(
                profile,
                &format!("schedule.{key}"),
                format!("schedule `{}`: {problem}", cfg.name),
            )
        };
        if cfg.name.trim().is_empty() {
            return Err(PolicyError::at(
                profile,
                "schedule.name",
                "every schedule needs a name, e.g. name = \"school hours\"".into(),
            ));
        }
        let days = parse_days(&cfg.days).map_err(|p| err("days", p))?;
        let from = parse_time(&cfg.from)
            .and_then(|t| t.ok_or_else(|| "24:00 is only allowed in `to`".to_string()))
            .map_err(|p| err("from", p))?;
        let to = parse_time(&cfg.to).map_err(|p| err("to", p))?;
        if to.is_some_and(|to| to <= from) {
            return Err(err(
                "to",
                format!(
                    "`{}` is not after from = `{}`; a window must end later the same day (split a window across midnight into two rules, the first ending at \"24:00\")",
                    cfg.to, cfg.from
                ),
            ));
        }
        if cfg.block.is_empty() && cfg.allow.is_empty() {
            return Err(err(
                "block",
                "the rule changes nothing: give `block` or `allow` categories".into(),
            ));
        }
        let category = |key: &str, id: &String| {
            taxonomy.get(id).ok_or_else(|| {
                err(
                    key,
                    format!(
                        "unknown category `{id}`{}; the ids are in lists/categories.toml",
                        crate::did_you_mean(taxonomy, id)
                    ),
                )
            })
        };
        let block = cfg
            .block
            .iter()
            .map(|id| category("block", id))
            .collect::<Result<Vec<_>, _>>()?;
        let allow = cfg
            .allow
            .iter()
            .map(|id| category("allow", id))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(both) = block.iter().find(|c| allow.contains(c)) {
            return Err(err(
                "allow",
                format!(
                    "`{}` is in both block and allow of the same rule",
                    taxonomy.id(*both)
                ),
            ));
        }
        Ok(Schedule {
            name: cfg.name.clone(),
            days,
            from,
            to,
            block,
            allow,
            config: cfg.clone(),
        })
    }

    /// Whether the rule is active at a local wall-clock time.
    pub fn is_active(&self, local: DateTime) -> bool {
        let day = usize::from(local.weekday().to_monday_zero_offset() as u8);
        self.days[day] && local.time() >= self.from && self.to.is_none_or(|to| local.time() < to)
    }

    /// Whether the rule is active at an instant in `zone`.
    pub fn is_active_at(&self, zone: &TimeZone, at: Timestamp) -> bool {
        self.is_active(zone.to_datetime(at))
    }

    /// Every instant after `now` (within the coming eight days) at which this rule may
    /// start or stop, passed to `each`. A civil time the zone repeats or skips gives both
    /// of its instants: an extra candidate only costs a re-evaluation, a missed one a
    /// rule applied an hour late.
    fn boundaries_after(&self, zone: &TimeZone, now: Timestamp, each: &mut impl FnMut(Timestamp)) {
        let today = zone.to_datetime(now).date();
        for offset in -1..=8i32 {
            let Ok(date) = today.checked_add(offset.days()) else {
                continue;
            };
            if !self.days[usize::from(date.weekday().to_monday_zero_offset() as u8)] {
                continue;
            }
            let end = match self.to {
                Some(to) => Some(date.to_datetime(to)),
                None => date
                    .tomorrow()
                    .ok()
                    .map(|d| d.to_datetime(Time::midnight())),
            };
            for dt in std::iter::once(date.to_datetime(self.from)).chain(end) {
                for t in instants(zone, dt) {
                    if t > now {
                        each(t);
                    }
                }
            }
        }
    }

    /// The rule as one line: `mon-fri 09:00–15:30: block games`.
    pub fn describe(&self, taxonomy: &Taxonomy) -> String {
        let ids = |cs: &[CategoryIdx]| {
            cs.iter()
                .map(|&c| taxonomy.id(c))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut what = Vec::new();
        if !self.block.is_empty() {
            what.push(format!("block {}", ids(&self.block)));
        }
        if !self.allow.is_empty() {
            what.push(format!("allow {}", ids(&self.allow)));
        }
        format!(
            "`{}`: {} {}–{}: {}",
            self.name,
            DaySet(&self.days),
            clock(self.from),
            self.to.map_or_else(|| "24:00".to_string(), clock),
            what.join("; ")
        )
    }
}

/// The earliest instant after `now` at which any of `schedules` may start or stop, or the
/// zone's offset changes (a window may start in a skipped hour).
pub(crate) fn next_boundary<'s>(
    schedules: impl Iterator<Item = &'s Schedule>,
    zone: &TimeZone,
    now: Timestamp,
) -> Option<Timestamp> {
    let mut next: Option<Timestamp> = None;
    let mut any = false;
    let mut keep = |t: Timestamp| next = Some(next.map_or(t, |n| n.min(t)));
    for s in schedules {
        any = true;
        s.boundaries_after(zone, now, &mut keep);
    }
    if any && let Some(t) = zone.following(now).next() {
        keep(t.timestamp());
    }
    next
}

/// The instants a civil datetime names in `zone`: one, or two around a transition.
fn instants(zone: &TimeZone, dt: DateTime) -> Vec<Timestamp> {
    let offsets = match zone.to_ambiguous_timestamp(dt).offset() {
        AmbiguousOffset::Unambiguous { offset } => vec![offset],
        AmbiguousOffset::Gap { before, after } | AmbiguousOffset::Fold { before, after } => {
            vec![before, after]
        }
    };
    offsets
        .into_iter()
        .filter_map(|o| o.to_timestamp(dt).ok())
        .collect()
}

/// `days`: day names (`mon`…`sun`) and ranges (`mon-fri`); empty means every day.
fn parse_days(days: &[String]) -> Result<[bool; 7], String> {
    if days.is_empty() {
        return Ok([true; 7]);
    }
    let day = |s: &str| {
        let s = s.trim().to_ascii_lowercase();
        DAYS.iter()
            .position(|d| s.len() >= 3 && (s == *d || (s.starts_with(d) && s.ends_with("day"))))
            .ok_or_else(|| {
                format!("`{s}` is not a day; use mon, tue, wed, thu, fri, sat, sun or a range such as \"mon-fri\"")
            })
    };
    let mut set = [false; 7];
    for entry in days {
        match entry.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (day(a)?, day(b)?);
                if a > b {
                    return Err(format!(
                        "`{entry}` runs backwards; write the days of the week in order (\"sat-sun\", or \"fri\" and \"mon\" separately)"
                    ));
                }
                set[a..=b].iter_mut().for_each(|d| *d = true);
            }
            None => set[day(entry)?] = true,
        }
    }
    Ok(set)
}

/// `HH:MM` or `HH:MM:SS` (24-hour); `24:00` is None, the end of the day.
fn parse_time(s: &str) -> Result<Option<Time>, String> {
    if s.trim() == "24:00" {
        return Ok(None);
    }
    let bad = || format!("`{s}` is not a time; write 24-hour HH:MM, e.g. \"09:00\" or \"15:30\"");
    let parts: Vec<&str> = s.trim().split(':').collect();
    let field = |i: usize, max_len: usize| -> Result<i8, String> {
        match parts.get(i) {
            None => Ok(0),
            Some(p)
                if !p.is_empty() && p.len() <= max_len && p.bytes().all(|b| b.is_ascii_digit()) =>
            {
                p.parse().map_err(|_| bad())
            }
            Some(_) => Err(bad()),
        }
    };
    if !(2..=3).contains(&parts.len())
        || parts[1].len() != 2
        || parts.get(2).is_some_and(|p| p.len() != 2)
    {
        return Err(bad());
    }
    Time::new(field(0, 2)?, field(1, 2)?, field(2, 2)?, 0)
        .map(Some)
        .map_err(|_| bad())
}

/// A time as written back: `09:00`, or `09:00:30` when it has seconds.
fn clock(t: Time) -> String {
    if t.second() == 0 {
        t.strftime("%H:%M").to_string()
    } else {
        t.strftime("%H:%M:%S").to_string()
    }
}

/// Days as written back: `mon-fri`, `sat, sun`, `every day`.
struct DaySet<'a>(&'a [bool; 7]);

impl fmt::Display for DaySet<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.iter().all(|&d| d) {
            return f.write_str("every day");
        }
        let mut parts = Vec::new();
        let mut i = 0;
        while i < 7 {
            if !self.0[i] {
                i += 1;
                continue;
            }
            let start = i;
            while i + 1 < 7 && self.0[i + 1] {
                i += 1;
            }
            parts.push(if i - start >= 2 {
                format!("{}-{}", DAYS[start], DAYS[i])
            } else if i > start {
                format!("{}, {}", DAYS[start], DAYS[i])
            } else {
                DAYS[start].to_string()
            });
            i += 1;
        }
        f.write_str(&parts.join(", "))
    }
}
