//! Schedules and live overrides as text, for `hedge policy show`.

use std::fmt::Write as _;

use crate::{Policy, ProfileId};

impl Policy {
    /// One profile's schedules, one line each, the active ones marked: what `policy show`
    /// lists under the profile. Empty when it has none.
    pub fn schedules_text(&self, profile: ProfileId) -> String {
        let p = self.profile(profile);
        let taxonomy = self.index().taxonomy();
        let mut out = String::new();
        for (i, s) in p.schedules.iter().enumerate() {
            let now = if p.active.contains(&i) {
                " (in force now)"
            } else {
                ""
            };
            let _ = writeln!(out, "- {}{now}", s.describe(taxonomy));
        }
        if !out.is_empty() {
            let _ = writeln!(out, "(times are local, time zone {})", self.zone_name());
        }
        out
    }

    /// The live grants and local recategorisations, one line each (`policy show` after the
    /// procedure). Empty when there are none.
    pub fn overrides_text(&self) -> String {
        let mut out = String::new();
        for g in &self.overrides().grants {
            let _ = writeln!(
                out,
                "- granted: `{}` for profile `{}` ({})",
                g.name,
                g.profile,
                g.terms()
            );
        }
        for r in &self.overrides().recategorised {
            let _ = writeln!(
                out,
                "- recategorised: `{}` {} `{}` for every profile",
                r.name,
                if r.add { "into" } else { "out of" },
                r.category
            );
        }
        out
    }

    /// The schedule zone's IANA name (`Europe/London`), or its offset when it has none.
    pub fn zone_name(&self) -> String {
        self.zone()
            .iana_name()
            .map_or_else(|| format!("{:?}", self.zone()), str::to_string)
    }
}
