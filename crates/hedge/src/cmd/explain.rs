//! `hedge explain`: the decision chain for one name in one profile, as `serve` decides it.
//!
//! `serve` decides the name, and for an allowed name resolves it and decides every CNAME
//! target in the answer (CNAME cloaking). Explain does the same through the configured
//! upstream, so its verdict is the server's; `--offline` stops at the name itself.

use std::fmt::Write as _;
use std::process::ExitCode;
use std::str::FromStr;
use std::time::Duration;

use hedge_dns::Upstream;
use hedge_policy::{Decision, Explanation, Policy, ProfileId};
use hickory_proto::rr::{Name, RData, RecordType};

use crate::cli::ExplainArgs;
use crate::config::{self, Loaded};
use crate::output;

pub fn run(args: ExplainArgs) -> anyhow::Result<ExitCode> {
    let loaded = config::load(args.config.as_deref())?;
    let checked = config::check(&loaded)?;
    let at = match &args.at {
        None => hedge_policy::Timestamp::now(),
        Some(text) => parse_at(text, checked.policy.zone())?,
    };
    // The staff's grants and local recategorisations, as `serve` applies them.
    let stored = super::requests::live_decisions(&loaded, at)?;
    let (overrides, errors) = checked
        .policy
        .applicable(&crate::requests_watch::overrides_of(&stored));
    for e in errors {
        eprintln!("hedge explain: staff decision not applied: {e}");
    }
    let live = checked.policy.with_overrides(&overrides, at)?;
    let policy = &live;
    let Some(profile) = policy.profile_id(&args.profile) else {
        let names: Vec<&str> = policy.profiles().iter().map(|p| p.name.as_str()).collect();
        crate::usage!(
            "no profile `{}`; profiles: {}",
            args.profile,
            names.join(", ")
        );
    };
    let name = if args.name.is_ascii() {
        args.name.clone()
    } else {
        hedge_lists::normalize(&args.name).unwrap_or(args.name.clone())
    };
    let name = name.trim_end_matches('.').to_string();
    let qtype = args.qtype.to_ascii_uppercase();
    let Ok(rtype) = RecordType::from_str(&qtype) else {
        crate::usage!("unknown query type `{}`; e.g. A, AAAA, MX, TXT", args.qtype);
    };
    let e = policy.explain(profile, &name);
    let query = format!("{name} {qtype}");
    // Only an allowed name is resolved by `serve`; every other verdict is final here.
    let mut out = String::new();
    let code = if args.offline || !matches!(e.decision, Decision::Allow(_)) {
        let how = if args.offline {
            " (offline: from the index and custom lists alone; CNAME targets not checked)"
        } else {
            ""
        };
        let _ = write!(out, "{query}: {}{how}\n{e}", e.verdict);
        ExitCode::SUCCESS
    } else {
        match resolve_chain(&loaded, &name, rtype) {
            Err(why) => {
                let _ = write!(
                    out,
                    "{query}: {} (OFFLINE DECISION: the upstream failed, so CNAME targets \
                     could not be checked as `serve` does)\n{e}  → upstream: {why}\n",
                    e.verdict
                );
                eprintln!(
                    "hedge explain: the upstream failed ({why}); the verdict above is the offline decision"
                );
                ExitCode::FAILURE
            }
            Ok(chain) => {
                let how = describe_chain(&loaded, &name, &chain);
                write_resolved(&mut out, policy, profile, (&query, &e), &chain, &how);
                ExitCode::SUCCESS
            }
        }
    };
    output::print(&out)?;
    Ok(code)
}

/// `--at`: an instant (`…Z`, `…+01:00`) or a local date and time in the schedule zone.
fn parse_at(text: &str, zone: &hedge_policy::TimeZone) -> anyhow::Result<hedge_policy::Timestamp> {
    if let Ok(t) = text.parse::<hedge_policy::Timestamp>() {
        return Ok(t);
    }
    match text.parse::<jiff::civil::DateTime>() {
        Ok(local) => Ok(local
            .to_zoned(zone.clone())
            .map_err(|e| anyhow::Error::new(crate::cli::UsageError(format!("--at {text}: {e}"))))?
            .timestamp()),
        Err(_) => crate::usage!(
            "--at {text}: not a time; write 2026-12-07T10:00 (local, in the configured timezone) or 2026-12-07T10:00:00Z"
        ),
    }
}

/// The verdict on `query`, a name that was resolved (its CNAME `chain`, resolved as `how`
/// says): the first blocked CNAME target decides, as in `serve`.
fn write_resolved(
    out: &mut String,
    policy: &Policy,
    profile: ProfileId,
    (query, e): (&str, &Explanation),
    chain: &[String],
    how: &str,
) {
    let blocked = blocked_target(policy, profile, chain);
    let _ = match &blocked {
        Some(target) => writeln!(out, "{query}: blocked (via CNAME {target})"),
        None => writeln!(out, "{query}: {}", e.verdict),
    };
    let _ = writeln!(out, "{e}  → {how}");
    match blocked {
        Some(target) => {
            let t = policy.explain(profile, &target);
            let _ = writeln!(
                out,
                "  → CNAME target `{target}` decides: {} (the server answers as for a block of the name)",
                t.verdict
            );
            for step in t.steps.iter().skip(1) {
                let _ = writeln!(out, "      {step}");
            }
        }
        None if !chain.is_empty() => {
            out.push_str("  → every CNAME target is allowed in this profile\n");
        }
        None => {}
    }
}

/// The CNAME targets of `name`'s answer, in order, through the configured upstream.
fn resolve_chain(loaded: &Loaded, name: &str, rtype: RecordType) -> Result<Vec<String>, String> {
    let cfg = loaded.upstream();
    let timeout = Duration::from_millis(cfg.timeout_ms);
    let qname = Name::from_ascii(format!("{name}.")).map_err(|e| format!("`{name}`: {e}"))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let upstream = Upstream::new(&cfg).map_err(|e| e.to_string())?;
        let resolved = tokio::time::timeout(timeout, upstream.resolve(&qname, rtype))
            .await
            .map_err(|_| format!("no upstream answer within {} ms", cfg.timeout_ms))?
            .map_err(|e| e.to_string())?;
        Ok(resolved
            .answers
            .iter()
            .filter_map(|r| match &r.data {
                RData::CNAME(target) => Some(target.0.to_ascii().trim_end_matches('.').to_string()),
                _ => None,
            })
            .collect())
    })
}

/// The first CNAME target the profile blocks: the one `serve` sinkholes the answer for
/// (the same rule, `Policy::decide_cname_target`, in the same order).
fn blocked_target(policy: &Policy, profile: ProfileId, chain: &[String]) -> Option<String> {
    chain
        .iter()
        .find(|t| matches!(policy.decide_cname_target(profile, t), Decision::Block(_)))
        .cloned()
}

fn describe_chain(loaded: &Loaded, name: &str, chain: &[String]) -> String {
    let via = format!(
        "resolved through the configured upstream ({:?})",
        loaded.config.upstream.mode
    )
    .to_lowercase();
    if chain.is_empty() {
        format!("{via}: no CNAME in the answer")
    } else {
        format!("{via}: CNAME chain {name} → {}", chain.join(" → "))
    }
}
