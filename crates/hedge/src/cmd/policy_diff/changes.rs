//! The differences between two policies built on one index, profile by profile.

use hedge_lists::{CategoryIdx, Taxonomy};
use hedge_policy::{Mode, Policy, Profile, Schedule};

use crate::output::policy_diff::Change;

/// Every difference, profiles in the current policy's order, then the added ones.
pub fn changes(current: &Policy, new: &Policy) -> Vec<Change> {
    let taxonomy = new.index().taxonomy();
    let mut out = Vec::new();
    for old in current.profiles() {
        match new.profiles().iter().find(|p| p.name == old.name) {
            Some(p) => profile(&mut out, taxonomy, old, p),
            None => push(&mut out, old, "profile", &old.name, "removed".into()),
        }
    }
    for p in new.profiles() {
        if current.profile_id(&p.name).is_none() {
            push(&mut out, p, "profile", &p.name, "added".into());
        }
    }
    out
}

fn push(out: &mut Vec<Change>, p: &Profile, kind: &'static str, item: &str, change: String) {
    out.push(Change {
        profile: p.name.clone(),
        kind,
        item: item.to_owned(),
        change,
    });
}

fn mode(p: &Profile) -> &'static str {
    match p.mode {
        Mode::Filter => "filter",
        Mode::Allowlist => "walled garden",
    }
}

fn profile(out: &mut Vec<Change>, taxonomy: &Taxonomy, old: &Profile, new: &Profile) {
    let mut changed = |kind: &'static str, item: &str, a: String, b: String| {
        if a != b {
            push(out, new, kind, item, format!("{a} → {b}"));
        }
    };
    changed("setting", "mode", mode(old).into(), mode(new).into());
    changed(
        "setting",
        "action",
        super::super::policy::block_action(old),
        super::super::policy::block_action(new),
    );
    changed(
        "setting",
        "block_ttl",
        old.block_ttl.to_string(),
        new.block_ttl.to_string(),
    );
    let new_extras = super::super::policy::extras(new);
    for ((key, a), (_, b)) in super::super::policy::extras(old)
        .into_iter()
        .zip(new_extras)
    {
        changed("setting", key, a, b);
    }
    // Categories only decide in a filter; a walled garden's are moot.
    if new.mode == Mode::Filter {
        categories(out, taxonomy, old, new);
    }
    let garden = new.mode == Mode::Allowlist;
    entries(
        out,
        new,
        "blocked domain",
        &old.block_entries,
        &new.block_entries,
        ("newly blocked", "no longer blocked"),
    );
    entries(
        out,
        new,
        "blocked url",
        &old.block_path_entries,
        &new.block_path_entries,
        (
            "added (not enforceable by DNS)",
            "removed (not enforceable by DNS)",
        ),
    );
    entries(
        out,
        new,
        if garden {
            "walled garden"
        } else {
            "allowed domain"
        },
        &old.allow_entries,
        &new.allow_entries,
        ("newly allowed", "no longer allowed"),
    );
    schedules(out, taxonomy, old, new);
}

/// Blocked (without schedules) in one and not the other. A root whose children all changed
/// its way is listed alone.
fn categories(out: &mut Vec<Change>, taxonomy: &Taxonomy, old: &Profile, new: &Profile) {
    let status = |c: CategoryIdx| {
        let (a, b) = (old.is_blocked_unscheduled(c), new.is_blocked_unscheduled(c));
        (a != b).then_some(b)
    };
    let mut line = |c: CategoryIdx, blocked: bool| {
        let name = format!("{} ({})", taxonomy.def(c).name, taxonomy.id(c));
        let change = if blocked {
            "newly blocked"
        } else {
            "newly allowed"
        };
        push(out, new, "category", &name, change.into());
    };
    for root in (0..taxonomy.len() as CategoryIdx).filter(|&c| taxonomy.parent(c).is_none()) {
        let root_change = status(root);
        let children: Vec<(CategoryIdx, Option<bool>)> =
            taxonomy.children(root).map(|c| (c, status(c))).collect();
        if let Some(b) = root_change {
            line(root, b);
        }
        if root_change.is_some() && children.iter().all(|&(_, s)| s == root_change) {
            continue;
        }
        for (c, s) in children {
            if let Some(b) = s {
                line(c, b);
            }
        }
    }
}

fn entries(
    out: &mut Vec<Change>,
    p: &Profile,
    kind: &'static str,
    old: &[String],
    new: &[String],
    (added, removed): (&str, &str),
) {
    for e in new.iter().filter(|e| !old.contains(e)) {
        push(out, p, kind, e, added.into());
    }
    for e in old.iter().filter(|e| !new.contains(e)) {
        push(out, p, kind, e, removed.into());
    }
}

/// A rule without its name (the change's item): `mon-fri 09:00–15:30: block games`.
fn rule(s: &Schedule, taxonomy: &Taxonomy) -> String {
    let text = s.describe(taxonomy);
    let named = format!("`{}`: ", s.name);
    text.strip_prefix(&named).map(str::to_owned).unwrap_or(text)
}

/// Schedules by name: added, removed, or written differently.
fn schedules(out: &mut Vec<Change>, taxonomy: &Taxonomy, old: &Profile, new: &Profile) {
    for s in &new.schedules {
        let now = rule(s, taxonomy);
        match old.schedules.iter().find(|o| o.name == s.name) {
            None => push(out, new, "schedule", &s.name, format!("added: {now}")),
            Some(o) => {
                let before = rule(o, taxonomy);
                if before != now {
                    push(out, new, "schedule", &s.name, format!("{before} → {now}"));
                }
            }
        }
    }
    for o in &old.schedules {
        if !new.schedules.iter().any(|s| s.name == o.name) {
            let before = rule(o, taxonomy);
            push(out, new, "schedule", &o.name, format!("removed: {before}"));
        }
    }
}
