//! What `hedge policy diff` prints: the changes a new configuration makes, and their impact
//! on the stored counts, as text, Markdown, CSV or JSON.

use std::fmt::Write as _;

use serde::Serialize;

use super::{Format, Rows, thousands};

/// Said wherever the impact is printed: the number is not there, and why.
pub const NEWLY_BLOCKED_NOT_ESTIMATED: &str = "Newly blocked queries cannot be estimated: hedge counts blocked queries per domain, not allowed ones. The categories and domains the new configuration newly blocks are listed above.";

/// One difference in one profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub profile: String,
    /// `profile`, `setting` (mode, action, …), `category`, `blocked domain`,
    /// `allowed domain`, `blocked url`, `schedule`.
    pub kind: &'static str,
    pub item: String,
    /// `newly blocked`, `newly allowed`, `added`, `removed`, `old → new`, ...
    pub change: String,
}

/// A stored blocked domain that the new configuration would allow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DomainImpact {
    pub domain: String,
    /// The category it was blocked for.
    pub category: String,
    /// Blocked queries in the period.
    pub queries: u64,
    /// What the new configuration would do instead.
    pub new_decision: String,
}

/// One profile's impact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProfileImpact {
    pub profile: String,
    /// Blocked queries counted in the period.
    pub blocked_queries: u64,
    /// Of which the new configuration would allow (or rewrite) this many.
    pub would_allow: u64,
    /// Blocked queries to names the current configuration no longer blocks either (list
    /// changes or grants since): not the new configuration's doing, left out.
    pub already_allowed_now: u64,
    /// The largest of `would_allow`, largest first.
    pub top_domains: Vec<DomainImpact>,
    /// Why this profile's impact was not estimated, when it was not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The impact on the stored counts of a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Impact {
    pub from: String,
    pub to: String,
    /// Why there are no numbers (no statistics file), when there are none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unavailable: Option<String>,
    pub profiles: Vec<ProfileImpact>,
    /// Always null: see `newly_blocked_note`.
    pub newly_blocked_queries: Option<u64>,
    pub newly_blocked_note: &'static str,
}

/// Everything `policy diff` found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyDiff {
    pub current: String,
    pub new: String,
    pub changes: Vec<Change>,
    pub impact: Impact,
}

/// One row per change and per impact figure: `profile,kind,item,change,queries`.
pub fn csv(diff: &PolicyDiff) -> String {
    let mut rows = Rows::new(&["profile", "kind", "item", "change", "queries"]);
    for c in &diff.changes {
        rows.push(vec![
            c.profile.clone(),
            c.kind.into(),
            c.item.clone(),
            c.change.clone(),
            String::new(),
        ]);
    }
    for p in &diff.impact.profiles {
        if p.note.is_some() {
            continue;
        }
        rows.push(vec![
            p.profile.clone(),
            "impact".into(),
            "(total)".into(),
            "blocked → allowed".into(),
            p.would_allow.to_string(),
        ]);
        for d in &p.top_domains {
            rows.push(vec![
                p.profile.clone(),
                "impact".into(),
                d.domain.clone(),
                format!("blocked ({}) → {}", d.category, d.new_decision),
                d.queries.to_string(),
            ]);
        }
    }
    rows.render(Format::Csv)
}

/// For a person (`markdown`: as a document).
pub fn text(diff: &PolicyDiff, markdown: bool) -> String {
    let (h1, h2, code) = if markdown {
        ("# ", "## ", "`")
    } else {
        ("", "", "")
    };
    let mut out = format!(
        "{h1}What {code}{}{code} would change against {code}{}{code}\n\n",
        diff.new, diff.current
    );
    let mut profiles: Vec<&str> = diff.changes.iter().map(|c| c.profile.as_str()).collect();
    profiles.dedup();
    if profiles.is_empty() {
        out.push_str("No change to any profile.\n\n");
    }
    for p in profiles {
        let _ = writeln!(out, "{h2}Profile {code}{p}{code}\n");
        for c in diff.changes.iter().filter(|c| c.profile == p) {
            let _ = writeln!(out, "- {} {code}{}{code}: {}", c.kind, c.item, c.change);
        }
        out.push('\n');
    }
    let i = &diff.impact;
    let _ = writeln!(out, "{h2}Impact on the queries of {} to {}\n", i.from, i.to);
    if let Some(why) = &i.unavailable {
        let _ = writeln!(out, "{why}");
    }
    for p in &i.profiles {
        if let Some(note) = &p.note {
            let _ = writeln!(out, "- {code}{}{code}: {note}", p.profile);
            continue;
        }
        let _ = writeln!(
            out,
            "- {code}{}{code}: {} of {} blocked queries would have been allowed",
            p.profile,
            thousands(p.would_allow),
            thousands(p.blocked_queries)
        );
        if p.already_allowed_now > 0 {
            let _ = writeln!(
                out,
                "  ({} more were to names the current configuration no longer blocks either)",
                thousands(p.already_allowed_now)
            );
        }
        for d in &p.top_domains {
            let _ = writeln!(
                out,
                "  - {code}{}{code}: {} (blocked for {}; now {})",
                d.domain,
                thousands(d.queries),
                d.category,
                d.new_decision
            );
        }
    }
    let _ = writeln!(out, "\n{}", i.newly_blocked_note);
    out
}
