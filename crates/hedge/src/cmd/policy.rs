//! `hedge policy show`: what each profile blocks, generated from the live configuration, with
//! the unblock procedure and the staff's live grants and local recategorisations.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use hedge_lists::CategoryIdx;
use hedge_policy::{Mode, Policy, Profile};
use hedge_stats::{ActiveGrant, ActiveOverrides, LocalRecategorisation};
use serde_json::json;

use crate::cli::PolicyFormat;
use crate::config;
use crate::output::{self, Format, Rows};

/// One category line of a profile: (id, name, depth 0/1, status). With `every_child`, each
/// child of a listed root is listed (CSV and JSON, read by programs); without, only those
/// whose status differs from their fully blocked root's (the Markdown a person reads).
/// The published policy: what `block` and `allow` say at all times, never what a schedule in
/// force at this moment adds or lifts (the schedules are listed on their own).
fn category_lines(
    p: &Profile,
    taxonomy: &hedge_lists::Taxonomy,
    every_child: bool,
) -> Vec<(String, String, u8, &'static str)> {
    let mut out = Vec::new();
    for root in (0..taxonomy.len() as CategoryIdx).filter(|&c| taxonomy.parent(c).is_none()) {
        let children: Vec<CategoryIdx> = taxonomy.children(root).collect();
        let blocked_children = children
            .iter()
            .filter(|&&c| p.is_blocked_unscheduled(c))
            .count();
        let status = match (p.is_blocked_unscheduled(root), blocked_children) {
            (false, 0) => continue,
            (true, n) if n == children.len() => "blocked",
            (true, _) => "blocked, with exceptions",
            (false, _) => "not blocked; some children blocked",
        };
        out.push((
            taxonomy.id(root).to_string(),
            taxonomy.def(root).name.clone(),
            0,
            status,
        ));
        for c in children {
            let s = if p.is_blocked_unscheduled(c) {
                "blocked"
            } else {
                "allowed"
            };
            if every_child
                || p.is_blocked_unscheduled(c) != p.is_blocked_unscheduled(root)
                || status != "blocked"
            {
                out.push((
                    taxonomy.id(c).to_string(),
                    taxonomy.def(c).name.clone(),
                    1,
                    s,
                ));
            }
        }
    }
    out
}

/// How `policy show` marks a custom entry with a URL path.
const NOT_ENFORCEABLE: &str = "listed, not enforceable by DNS";

pub(super) fn extras(p: &Profile) -> Vec<(&'static str, String)> {
    vec![
        ("safesearch", p.safesearch.to_string()),
        (
            "youtube_restrict",
            format!("{:?}", p.youtube).to_lowercase(),
        ),
        ("block_doh_canary", p.block_doh_canary.to_string()),
        ("block_private_relay", p.block_private_relay.to_string()),
        ("block_ddr", p.block_ddr.to_string()),
    ]
}

pub fn show(
    config: Option<PathBuf>,
    only: Option<String>,
    format: PolicyFormat,
) -> anyhow::Result<ExitCode> {
    let loaded = config::load(config.as_deref())?;
    let checked = config::check(&loaded)?;
    let policy = &checked.policy;
    let profiles: Vec<&Profile> = policy
        .profiles()
        .iter()
        .filter(|p| only.as_ref().is_none_or(|o| &p.name == o))
        .collect();
    if profiles.is_empty() {
        crate::usage!("no profile `{}`", only.unwrap_or_default());
    }
    let taxonomy = policy.index().taxonomy();
    let local = super::requests::live_decisions(&loaded, jiff::Timestamp::now())?;
    let procedure = loaded
        .config
        .portal
        .as_ref()
        .and_then(|p| p.procedure.as_deref());
    let text = match format {
        PolicyFormat::Markdown => {
            let mut out = markdown(policy, &profiles);
            markdown_local(&mut out, procedure, &local, &profiles);
            out
        }
        PolicyFormat::Csv => {
            let mut rows = rows(&profiles, taxonomy);
            local_rows(&mut rows, procedure, &local, &profiles);
            rows.render(Format::Csv)
        }
        PolicyFormat::Json => output::json(&json(&profiles, taxonomy, procedure, &local)),
    };
    output::print(&text)?;
    Ok(ExitCode::SUCCESS)
}

fn grants_of<'a>(local: &'a ActiveOverrides, p: &Profile) -> Vec<&'a ActiveGrant> {
    local
        .grants
        .iter()
        .filter(|g| g.profile == p.name)
        .collect()
}

fn grant_status(g: &ActiveGrant) -> String {
    let until = g.until.map_or_else(
        || "until revoked".to_owned(),
        |u| format!("until {}", output::requests::time(u)),
    );
    let request = g
        .request
        .map(|r| format!(", request #{r}"))
        .unwrap_or_default();
    format!(
        "allowed {until} (grant #{}{request}, by {})",
        g.id, g.granted_by
    )
}

fn recategorisation_status(r: &LocalRecategorisation) -> String {
    let into = if r.add { "into" } else { "out of" };
    format!(
        "{into} {} (by {}, {})",
        r.category,
        r.by,
        output::requests::time(r.at)
    )
}

/// The unblock procedure (FOI Q5), then the staff's live decisions: printed when there is
/// something to print.
fn markdown_local(
    out: &mut String,
    procedure: Option<&str>,
    local: &ActiveOverrides,
    profiles: &[&Profile],
) {
    if let Some(text) = procedure {
        let _ = writeln!(
            out,
            "## How to ask for a blocked site

{}
",
            text.trim()
        );
    }
    let grants: Vec<&ActiveGrant> = profiles.iter().flat_map(|p| grants_of(local, p)).collect();
    if !grants.is_empty() {
        out.push_str(
            "## Live grants

Names allowed by a staff decision on top of the categories above.

",
        );
        for g in grants {
            let _ = writeln!(
                out,
                "- `{}` on `{}`: {}",
                g.name,
                g.profile,
                grant_status(g)
            );
        }
        out.push('\n');
    }
    if !local.recategorised.is_empty() {
        out.push_str(
            "## Local recategorisations

For every profile, whatever the lists say.

",
        );
        for r in &local.recategorised {
            let _ = writeln!(out, "- `{}`: {}", r.name, recategorisation_status(r));
        }
        out.push('\n');
    }
}

/// The procedure, grants and recategorisations as rows; the procedure and recategorisations
/// apply to every profile, so each profile gets them (as its `setting` rows).
fn local_rows(
    rows: &mut Rows,
    procedure: Option<&str>,
    local: &ActiveOverrides,
    profiles: &[&Profile],
) {
    for p in profiles {
        if let Some(text) = procedure {
            rows.push(vec![
                p.name.clone(),
                "procedure".into(),
                text.trim().to_owned(),
                String::new(),
            ]);
        }
        for g in grants_of(local, p) {
            rows.push(vec![
                p.name.clone(),
                "grant".into(),
                g.name.clone(),
                grant_status(g),
            ]);
        }
        for r in &local.recategorised {
            rows.push(vec![
                p.name.clone(),
                "recategorised".into(),
                r.name.clone(),
                recategorisation_status(r),
            ]);
        }
    }
}

/// What a blocked name gets: `nxdomain`, `redirect to 192.0.2.1, 2001:db8::1`, ...
pub(super) fn block_action(p: &Profile) -> String {
    let a = crate::output::config_word(p.action);
    if p.redirect_to.is_empty() {
        return a;
    }
    let to: Vec<String> = p.redirect_to.iter().map(|i| i.to_string()).collect();
    format!("{a} to {}", to.join(", "))
}

/// The policy as a document a person reads (and an FOI answer quotes).
fn markdown(policy: &Policy, profiles: &[&Profile]) -> String {
    let mut out = format!(
        "# Filtering policy\n\nGenerated by `hedge policy show` from the live configuration; index {} ({}).\n\n",
        policy.index().version(),
        hedge_lists::counted(policy.index().len(), "name")
    );
    for p in profiles {
        markdown_profile(&mut out, p, policy.index().taxonomy());
        let schedules = policy
            .profile_id(&p.name)
            .map(|id| policy.schedules_text(id))
            .unwrap_or_default();
        if !schedules.is_empty() {
            let _ = writeln!(out, "### Schedules\n\n{schedules}");
        }
    }
    out
}

fn markdown_profile(out: &mut String, p: &Profile, taxonomy: &hedge_lists::Taxonomy) {
    let _ = writeln!(out, "## Profile `{}`\n", p.name);
    if p.lineage.len() > 1 {
        let _ = writeln!(out, "Inherits: {}\n", p.lineage[1..].join(" → "));
    }
    out.push_str(match p.mode {
        Mode::Allowlist => {
            "Mode: **walled garden** — only the sites below (and their subdomains) resolve.\n\n"
        }
        Mode::Filter => "Mode: filter.\n\n",
    });
    let _ = writeln!(
        out,
        "Blocked names get: `{}` (TTL {} s).\n",
        block_action(p),
        p.block_ttl
    );
    if p.mode == Mode::Filter {
        out.push_str("### Categories\n\n");
        for (id, name, depth, status) in category_lines(p, taxonomy, false) {
            let indent = "  ".repeat(usize::from(depth));
            let _ = writeln!(out, "{indent}- {name} (`{id}`): {status}");
        }
        out.push('\n');
    }
    markdown_list(out, "Custom blocked domains", &p.block_entries);
    if !p.block_path_entries.is_empty() {
        out.push_str("### Custom blocked URLs that DNS cannot enforce\n\n");
        out.push_str(
            "In the policy, but a DNS filter sees only the host name, not the path: an HTTP proxy would have to block these.\n\n",
        );
        for e in &p.block_path_entries {
            let _ = writeln!(out, "- `{e}` ({NOT_ENFORCEABLE})");
        }
        out.push('\n');
    }
    let garden = if p.mode == Mode::Allowlist {
        "Walled garden"
    } else {
        "Custom allowed domains"
    };
    markdown_list(out, garden, &p.allow_entries);
    out.push_str("### Enforcement\n\n");
    for (k, v) in extras(p) {
        let _ = writeln!(out, "- {k}: {v}");
    }
    out.push('\n');
}

fn markdown_list(out: &mut String, title: &str, entries: &[String]) {
    if !entries.is_empty() {
        let _ = writeln!(out, "### {title}\n");
        for e in entries {
            let _ = writeln!(out, "- `{e}`");
        }
        out.push('\n');
    }
}

/// One row per setting, category and entry (`profile,kind,item,status`), for programs.
fn rows(profiles: &[&Profile], taxonomy: &hedge_lists::Taxonomy) -> Rows {
    let mut rows = Rows::new(&["profile", "kind", "item", "status"]);
    for p in profiles {
        let mut row = |kind: &str, item: String, status: &str| {
            rows.push(vec![p.name.clone(), kind.into(), item, status.into()]);
        };
        row("action", block_action(p), "");
        for (id, _, _, status) in category_lines(p, taxonomy, true) {
            row("category", id, status);
        }
        for e in &p.block_entries {
            row("domain", e.clone(), "blocked");
        }
        for e in &p.block_path_entries {
            row("url", e.clone(), NOT_ENFORCEABLE);
        }
        let allowed = if p.mode == Mode::Allowlist {
            "walled garden"
        } else {
            "allowed"
        };
        for e in &p.allow_entries {
            row("domain", e.clone(), allowed);
        }
        for (k, v) in extras(p) {
            row("setting", k.into(), &v);
        }
        for (rule, in_force) in schedule_lines(p, taxonomy) {
            row("schedule", rule, schedule_status(in_force));
        }
    }
    rows
}

/// Each time rule of a profile, described, and whether it is in force now: listed apart from
/// the categories, which are the policy at all times.
fn schedule_lines(p: &Profile, taxonomy: &hedge_lists::Taxonomy) -> Vec<(String, bool)> {
    p.schedules
        .iter()
        .map(|s| {
            let in_force = p.active_schedules().any(|a| std::ptr::eq(a, s));
            (s.describe(taxonomy), in_force)
        })
        .collect()
}

fn schedule_status(in_force: bool) -> &'static str {
    if in_force {
        "in force now"
    } else {
        "not in force now"
    }
}

fn json(
    profiles: &[&Profile],
    taxonomy: &hedge_lists::Taxonomy,
    procedure: Option<&str>,
    local: &ActiveOverrides,
) -> Vec<serde_json::Value> {
    let category = |(id, name, _, status): (String, String, u8, &str)| json!({"id": id, "name": name, "status": status});
    profiles
        .iter()
        .map(|p| {
            let enforcement: serde_json::Map<_, _> = extras(p)
                .into_iter()
                .map(|(k, v)| (k.to_string(), serde_json::Value::String(v)))
                .collect();
            let mut v = json!({
                "profile": p.name,
                "inherits": &p.lineage[1..],
                "mode": format!("{:?}", p.mode).to_lowercase(),
                "action": block_action(p),
                "block_ttl": p.block_ttl,
                "categories": category_lines(p, taxonomy, true).into_iter().map(category).collect::<Vec<_>>(),
                "blocked_domains": p.block_entries,
                "blocked_urls_not_enforceable_by_dns": p.block_path_entries,
                "allowed_domains": p.allow_entries,
                "enforcement": enforcement,
            });
            // Only when there are some: a policy without them reads as before.
            let schedules = schedule_lines(p, taxonomy);
            if !schedules.is_empty() {
                v["schedules"] = schedules
                    .into_iter()
                    .map(|(rule, in_force)| json!({"rule": rule, "in_force_now": in_force}))
                    .collect();
            }
            if let Some(text) = procedure {
                v["procedure"] = json!(text.trim());
            }
            let grants = grants_of(local, p);
            if !grants.is_empty() {
                v["grants"] = json!(grants);
            }
            if !local.recategorised.is_empty() {
                v["recategorised"] = json!(local.recategorised);
            }
            v
        })
        .collect()
}
