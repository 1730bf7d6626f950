//! What a report asks: the range, the breakdown, the filters and the suppression threshold.

use std::fmt;
use std::str::FromStr;

use jiff::civil::Date;
use serde::Serialize;

use crate::action::Action;
use crate::error::Error;
use crate::store::Grain;

/// A month (`2025-01`) or a day (`2025-01-31`), as the start or end of a range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    /// A calendar month: from its first day, or to its last.
    Month {
        /// Year.
        year: i16,
        /// Month, 1–12.
        month: i8,
    },
    /// One day.
    Day(Date),
}

impl Period {
    /// The first day of the period.
    pub fn first_day(self) -> Date {
        match self {
            Period::Month { year, month } => Date::constant(year, month, 1),
            Period::Day(d) => d,
        }
    }

    /// The last day of the period.
    pub fn last_day(self) -> Date {
        match self {
            Period::Month { .. } => self.first_day().last_of_month(),
            Period::Day(d) => d,
        }
    }
}

impl FromStr for Period {
    type Err = Error;

    fn from_str(s: &str) -> Result<Period, Error> {
        let bad = || {
            Error::Invalid(format!(
                "{s:?} is not a month (YYYY-MM, e.g. 2025-01) or a day (YYYY-MM-DD)"
            ))
        };
        let s = s.trim();
        match s.len() {
            7 => {
                let (y, m) = s.split_once('-').ok_or_else(bad)?;
                let year: i16 = y.parse().map_err(|_| bad())?;
                let month: i8 = m.parse().map_err(|_| bad())?;
                if !(1..=12).contains(&month) || !(1..=9999).contains(&year) || y.len() != 4 {
                    return Err(bad());
                }
                Ok(Period::Month { year, month })
            }
            10 => s.parse::<Date>().map(Period::Day).map_err(|_| bad()),
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Period::Month { year, month } => write!(f, "{year:04}-{month:02}"),
            Period::Day(d) => write!(f, "{d}"),
        }
    }
}

/// A dimension to break counts down by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Dim {
    /// Calendar month (`YYYY-MM`).
    Month,
    /// Day (`YYYY-MM-DD`).
    Day,
    /// Profile name.
    Profile,
    /// Category id, rolled up the tree.
    Category,
    /// Action.
    Action,
}

impl Dim {
    /// The lower-case name used on the command line and as a column heading.
    pub fn as_str(self) -> &'static str {
        match self {
            Dim::Month => "month",
            Dim::Day => "day",
            Dim::Profile => "profile",
            Dim::Category => "category",
            Dim::Action => "action",
        }
    }

    /// Parses a comma-separated list such as `month,profile,category`.
    pub fn parse_list(s: &str) -> Result<Vec<Dim>, Error> {
        s.split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::parse)
            .collect()
    }
}

impl FromStr for Dim {
    type Err = Error;

    fn from_str(s: &str) -> Result<Dim, Error> {
        [
            Dim::Month,
            Dim::Day,
            Dim::Profile,
            Dim::Category,
            Dim::Action,
        ]
        .into_iter()
        .find(|d| d.as_str().eq_ignore_ascii_case(s))
        .ok_or_else(|| {
            Error::Invalid(format!(
                "cannot break a report down by {s:?}; use month, day, profile, category or \
                     action"
            ))
        })
    }
}

/// What to report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportQuery {
    /// Start of the range (a month starts on its first day).
    pub from: Period,
    /// End of the range, inclusive (a month ends on its last day).
    pub to: Period,
    /// Dimensions to break counts down by, in column order. Empty: only the total.
    pub by: Vec<Dim>,
    /// Only this profile.
    pub profile: Option<String>,
    /// Only this category and everything under it.
    pub category: Option<String>,
    /// Only this action (`blocked` for "blocked requests").
    pub action: Option<Action>,
    /// Also list this many most-blocked domains.
    pub top_domains: Option<usize>,
    /// Show counts below this as `<K` (see the module docs).
    pub suppress_below: Option<u64>,
}

impl ReportQuery {
    /// Everything in the range, as one total.
    pub fn new(from: Period, to: Period) -> ReportQuery {
        ReportQuery {
            from,
            to,
            by: Vec::new(),
            profile: None,
            category: None,
            action: None,
            top_domains: None,
            suppress_below: None,
        }
    }

    pub(super) fn grain(&self) -> Option<Grain> {
        if self.by.contains(&Dim::Day) {
            Some(Grain::Day)
        } else if self.by.contains(&Dim::Month) {
            Some(Grain::Month)
        } else {
            None
        }
    }

    pub(super) fn validate(&self) -> Result<(Date, Date), Error> {
        let (from, to) = (self.from.first_day(), self.to.last_day());
        if from > to {
            return Err(Error::Invalid(format!(
                "the report starts ({}) after it ends ({})",
                self.from, self.to
            )));
        }
        if self.by.contains(&Dim::Day) && self.by.contains(&Dim::Month) {
            return Err(Error::Invalid(
                "break a report down by month or by day, not both".into(),
            ));
        }
        for (i, d) in self.by.iter().enumerate() {
            if self.by[..i].contains(d) {
                return Err(Error::Invalid(format!(
                    "{} appears twice in the breakdown",
                    d.as_str()
                )));
            }
        }
        if let Some(k) = self.suppress_below
            && k < 3
        {
            return Err(Error::Invalid(format!(
                "--suppress-below {k}: use at least 3 (with zeros shown, \"<2\" could only \
                     mean 1)"
            )));
        }
        if self.by.contains(&Dim::Day) && (to - from).get_days() > 3660 {
            return Err(Error::Invalid(
                "a day-by-day report covers at most ten years; break it down by month".into(),
            ));
        }
        Ok((from, to))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_parse() {
        assert_eq!(
            "2025-01".parse::<Period>().expect("month"),
            Period::Month {
                year: 2025,
                month: 1
            }
        );
        let d = "2025-02-28".parse::<Period>().expect("day");
        assert_eq!(d.first_day(), Date::constant(2025, 2, 28));
        let m = "2024-02".parse::<Period>().expect("month");
        assert_eq!(m.last_day(), Date::constant(2024, 2, 29));
        for bad in ["2025-13", "2025-1", "25-01", "2025-02-30", "january"] {
            assert!(bad.parse::<Period>().is_err(), "{bad}");
        }
    }
}
