//! What `hedge policy diff` prints: the changes a new configuration makes, and their impact
//! on the stored counts, as text, Markdown, CSV or JSON.

use std::fmt::Write as _;

use serde::Serialize;

use super::{Format, Rows, thousands};

/// Said for a profile whose allowed queries of the period were not counted per domain.
pub const NEWLY_BLOCKED_NOT_COUNTED: &str = "not estimated: the period has no allowed-query counts per domain (statistics written before hedge counted them, or `stats.count_allowed = false`)";

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

/// A stored allowed domain that the new configuration would block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BlockImpact {
    pub domain: String,
    /// Allowed queries in the period.
    pub queries: u64,
    /// How the new configuration would block it.
    pub new_decision: String,
}

/// A profile's allowed queries that the new configuration would block.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NewlyBlocked {
    /// Allowed queries the new configuration would block.
    pub would_block: u64,
    /// Allowed queries to names the current configuration blocks now (list changes since):
    /// not the new configuration's doing, left out.
    pub already_blocked_now: u64,
    /// Allowed queries counted as `(other)` (past an interval's cap of names): not
    /// re-decided.
    pub unnamed: u64,
    /// The largest of `would_block`, largest first.
    pub top_domains: Vec<BlockImpact>,
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
    /// Allowed queries counted in the period.
    pub allowed_queries: u64,
    /// Of which the new configuration would block: null when not estimated (see
    /// `newly_blocked_note`, or `note` for the whole profile).
    pub newly_blocked: Option<NewlyBlocked>,
    /// Why `newly_blocked` is null, for a profile otherwise estimated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub newly_blocked_note: Option<&'static str>,
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
        // No row at all when not counted: an empty cell is not a zero.
        let Some(n) = &p.newly_blocked else {
            continue;
        };
        rows.push(vec![
            p.profile.clone(),
            "impact".into(),
            "(total)".into(),
            "allowed → blocked".into(),
            n.would_block.to_string(),
        ]);
        for d in &n.top_domains {
            rows.push(vec![
                p.profile.clone(),
                "impact".into(),
                d.domain.clone(),
                format!("allowed → {}", d.new_decision),
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
        match (&p.newly_blocked, p.newly_blocked_note) {
            (Some(n), _) => newly_blocked_text(&mut out, p, n, code),
            (None, Some(why)) => {
                let _ = writeln!(out, "  Newly blocked: {why}");
            }
            (None, None) => {}
        }
    }
    out
}

/// The allowed queries a profile's new configuration would block, for a person.
fn newly_blocked_text(out: &mut String, p: &ProfileImpact, n: &NewlyBlocked, code: &str) {
    let _ = writeln!(
        out,
        "  {} of {} allowed queries would have been blocked",
        thousands(n.would_block),
        thousands(p.allowed_queries)
    );
    if n.already_blocked_now > 0 {
        let _ = writeln!(
            out,
            "  ({} more were to names the current configuration blocks now)",
            thousands(n.already_blocked_now)
        );
    }
    if n.unnamed > 0 {
        let _ = writeln!(
            out,
            "  ({} were counted without their name, past an interval's cap, and not re-decided)",
            thousands(n.unnamed)
        );
    }
    for d in &n.top_domains {
        let _ = writeln!(
            out,
            "  - {code}{}{code}: {} (allowed; now {})",
            d.domain,
            thousands(d.queries),
            d.new_decision
        );
    }
}
